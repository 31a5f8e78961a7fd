package usage

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/store"
	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// rig is one Redis and one SQLite database, as several gatehouse
// instances share them.
type rig struct {
	t      testing.TB
	redis  *testenv.Redis
	client *redis.Client
	dbPath string
	now    time.Time
}

func newRig(t testing.TB) *rig {
	t.Helper()
	r := &rig{t: t, redis: testenv.StartRedis(t), dbPath: filepath.Join(t.TempDir(), "gatehouse.db"),
		now: testNow}
	r.client = redis.NewClient(&redis.Options{Addr: r.redis.Addr})
	t.Cleanup(func() { _ = r.client.Close() })
	return r
}

// instance is one gatehouse's Usage: its own database handle and Redis
// client on the shared ones.
func (r *rig) instance() (*Usage, *store.Store) {
	r.t.Helper()
	log := slog.New(slog.DiscardHandler)
	st, err := store.Open(context.Background(), r.dbPath, log)
	require.NoError(r.t, err)
	r.t.Cleanup(func() { _ = st.Close() })
	c := redis.NewClient(&redis.Options{Addr: r.redis.Addr})
	r.t.Cleanup(func() { _ = c.Close() })
	u, err := New(Options{Redis: func() redis.UniversalClient { return c }, Store: st, Logger: log,
		Now: func() time.Time { return r.now }})
	require.NoError(r.t, err)
	return u, st
}

// spend counts an answer as the ai-consumer plugin does (pluginapi's
// layout): settled totals and the model's fields, the key marked dirty.
func (r *rig) spend(consumer, periodID, model string, in, out, cached, micros int64) {
	r.t.Helper()
	ctx := context.Background()
	key := pluginapi.UsageKey(consumer, periodID)
	pipe := r.client.TxPipeline()
	pipe.HIncrBy(ctx, key, pluginapi.UsageTokens, in+out)
	pipe.HIncrBy(ctx, key, pluginapi.UsageMicros, micros)
	pipe.HIncrBy(ctx, key, pluginapi.UsageRequests, 1)
	pipe.HIncrBy(ctx, key, pluginapi.UsageModelField(model, "in"), in)
	pipe.HIncrBy(ctx, key, pluginapi.UsageModelField(model, "out"), out)
	pipe.HIncrBy(ctx, key, pluginapi.UsageModelField(model, "cached"), cached)
	pipe.HIncrBy(ctx, key, pluginapi.UsageModelField(model, "micros"), micros)
	pipe.HIncrBy(ctx, key, pluginapi.UsageModelField(model, "req"), 1)
	pipe.SAdd(ctx, pluginapi.UsageDirtyKey, key)
	_, err := pipe.Exec(ctx)
	require.NoError(r.t, err)
}

func (r *rig) hash(consumer, periodID string) map[string]string {
	r.t.Helper()
	h, err := r.client.HGetAll(context.Background(), pluginapi.UsageKey(consumer, periodID)).Result()
	require.NoError(r.t, err)
	return h
}

// dbTotals is the totals row of consumer's period, zero when none.
func dbTotals(t testing.TB, st *store.Store, consumer, periodID string) store.UsageRow {
	t.Helper()
	rows, err := st.ConsumerUsage(context.Background(), consumer, periodID)
	require.NoError(t, err)
	for _, r := range rows {
		if r.Model == "" {
			return r
		}
	}
	return store.UsageRow{}
}

// The tests count in the current periods, from the real clock: Redis
// expires a hash 48 h after its period ends, by its own clock, and only
// live periods are restored or topped up.
var (
	testNow             = time.Now().UTC()
	month, _, _         = pluginapi.UsagePeriod(pluginapi.PeriodMonth, testNow)
	today, _, todayEnds = pluginapi.UsagePeriod(pluginapi.PeriodDay, testNow)
)

func TestRollupWritesTheCountersIntoTheDatabase(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	u, st := r.instance()
	require.NoError(t, u.CheckEpoch(ctx), "the first use sets the epoch")

	r.spend("team-a", month, "gpt-4o-mini", 1000, 200, 100, 270)
	r.spend("team-a", month, "gpt-4o", 10, 5, 0, 75)
	r.spend("team-a:b", month, "vendor/model:v1", 7, 3, 0, 1)
	n, err := u.Rollup(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Zero(t, r.client.SCard(ctx, pluginapi.UsageDirtyKey).Val(), "the dirty set is drained")

	rows, err := st.ConsumerUsage(ctx, "team-a", month)
	require.NoError(t, err)
	require.Len(t, rows, 3)
	got := map[string]store.UsageRow{}
	for _, row := range rows {
		row.UpdatedAt = time.Time{}
		got[row.Model] = row
	}
	require.Equal(t, store.UsageRow{Consumer: "team-a", PeriodID: month, InputTokens: 1010, OutputTokens: 205, CachedTokens: 100,
		Tokens: 1215, Micros: 345, Requests: 2}, got[""])
	require.Equal(t, store.UsageRow{Consumer: "team-a", PeriodID: month, Model: "gpt-4o-mini", InputTokens: 1000, OutputTokens: 200,
		CachedTokens: 100, Tokens: 1200, Micros: 270, Requests: 1}, got["gpt-4o-mini"])
	other, err := st.ConsumerUsage(ctx, "team-a:b", month)
	require.NoError(t, err)
	require.Len(t, other, 2)
	require.Equal(t, "vendor/model:v1", other[1].Model, "a model name with ':' and '/' is kept whole")

	// Only what changed is written again, with its absolute values.
	r.spend("team-a", month, "gpt-4o", 10, 5, 0, 75)
	n, err = u.Rollup(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.EqualValues(t, 1230, dbTotals(t, st, "team-a", month).Tokens)
	require.EqualValues(t, 3, dbTotals(t, st, "team-a", month).Requests)
}

func TestRedisLossIsRestoredWithoutLosingAnything(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	u, st := r.instance()
	require.NoError(t, u.CheckEpoch(ctx))
	day := today
	r.spend("team-a", month, "gpt-4o", 1000, 500, 0, 7500)
	r.spend("team-a", day, "gpt-4o", 1000, 500, 0, 7500)
	require.NoError(t, u.TopUp(ctx, "team-a", month, 0, 5_000_000))
	_, err := u.Rollup(ctx)
	require.NoError(t, err)
	before := dbTotals(t, st, "team-a", month)
	require.EqualValues(t, 1500, before.Tokens)
	require.EqualValues(t, 5_000_000, before.TopUpMicros)

	// Redis restarts empty; requests go on and are counted in the new,
	// empty hashes before any restore.
	r.redis.Stop()
	r.redis.Start()
	r.spend("team-a", month, "gpt-4o", 100, 50, 0, 750)
	_, err = u.Rollup(ctx)
	require.ErrorIs(t, err, ErrUnavailable, "no rollup while the epoch is missing")
	require.Equal(t, before.Tokens, dbTotals(t, st, "team-a", month).Tokens, "the smaller new counters never reach the database")

	// Two instances check the epoch at once: one restores, once.
	u2, _ := r.instance()
	var wg sync.WaitGroup
	for _, x := range []*Usage{u, u2} {
		wg.Go(func() { require.NoError(t, x.CheckEpoch(ctx)) })
	}
	wg.Wait()
	require.NoError(t, u.CheckEpoch(ctx))
	h := r.hash("team-a", month)
	require.Equal(t, "1650", h[pluginapi.UsageTokens], "database figures added to what was counted since the loss")
	require.Equal(t, "8250", h[pluginapi.UsageMicros])
	require.Equal(t, "5000000", h[pluginapi.UsageTopUpMicros], "the top-up survives")
	require.Equal(t, "1100", h[pluginapi.UsageModelField("gpt-4o", "in")])
	require.Equal(t, "2", h[pluginapi.UsageRequests])
	require.Equal(t, "1500", r.hash("team-a", day)[pluginapi.UsageTokens], "the day's counters are restored too")
	ttl := r.client.PTTL(ctx, pluginapi.UsageKey("team-a", month)).Val()
	require.Greater(t, ttl, time.Duration(0), "a restored hash expires")

	_, err = u.Rollup(ctx)
	require.NoError(t, err)
	after := dbTotals(t, st, "team-a", month)
	require.EqualValues(t, 1650, after.Tokens)
	require.EqualValues(t, 8250, after.Micros)
	require.EqualValues(t, 5_000_000, after.TopUpMicros)
}

func TestConcurrentRollupsNeverLoseOrLowerTheDatabase(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	u1, st := r.instance()
	u2, _ := r.instance()
	require.NoError(t, u1.CheckEpoch(ctx))

	const consumers, answers = 5, 60
	stop := make(chan struct{})
	var rollers sync.WaitGroup
	var failed atomic.Value
	for _, u := range []*Usage{u1, u2} {
		rollers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := u.Rollup(ctx); err != nil {
					failed.Store(err)
				}
			}
		})
	}
	// A reader watches that no consumer's tokens ever go down.
	var watcher sync.WaitGroup
	watcher.Go(func() {
		last := map[string]int64{}
		for {
			select {
			case <-stop:
				return
			default:
			}
			rows, err := st.UsageOfPeriods(ctx, month)
			if err != nil {
				failed.Store(err)
				return
			}
			for _, row := range rows {
				k := row.Consumer + "/" + row.Model
				if row.Tokens < last[k] {
					failed.Store(fmt.Errorf("%s went down from %d to %d", k, last[k], row.Tokens))
				}
				last[k] = row.Tokens
			}
		}
	})
	var spenders sync.WaitGroup
	for c := range consumers {
		spenders.Go(func() {
			for range answers {
				r.spend(fmt.Sprintf("c%d", c), month, "m", 3, 2, 1, 10)
			}
		})
	}
	spenders.Wait()
	close(stop)
	rollers.Wait()
	watcher.Wait()
	if err := failed.Load(); err != nil {
		t.Fatal(err)
	}
	_, err := u2.Rollup(ctx)
	require.NoError(t, err)
	for c := range consumers {
		row := dbTotals(t, st, fmt.Sprintf("c%d", c), month)
		require.EqualValues(t, 5*answers, row.Tokens)
		require.EqualValues(t, answers, row.Requests)
		require.EqualValues(t, 10*answers, row.Micros)
	}
}

func TestResetIsNotUndoneByARollupInFlight(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	u1, st := r.instance()
	u2, _ := r.instance()
	require.NoError(t, u1.CheckEpoch(ctx))
	r.spend("team-a", month, "gpt-4o", 1000, 500, 0, 7500)
	require.NoError(t, u1.TopUp(ctx, "team-a", month, 100, 1_000_000))
	r.spend("team-a", month, "gpt-4o", 1000, 500, 0, 7500)

	// u1's rollup has read the old counters when u2 resets them.
	u1.beforeWrite = func() {
		u1.beforeWrite = nil
		require.NoError(t, u2.Reset(ctx, "team-a", month))
	}
	_, err := u1.Rollup(ctx)
	require.NoError(t, err)
	check := func(when string) {
		t.Helper()
		rows, err := st.ConsumerUsage(ctx, "team-a", month)
		require.NoError(t, err)
		for _, row := range rows {
			require.Zero(t, row.Tokens+row.Micros+row.Requests+row.TopUpMicros+row.TopUpTokens, "%s: %+v", when, row)
			require.EqualValues(t, 1, row.Generation)
		}
		h := r.hash("team-a", month)
		require.Equal(t, map[string]string{"gen": "1"}, h, when)
	}
	check("right after the reset")
	_, err = u1.Rollup(ctx)
	require.NoError(t, err)
	check("after the next rollup")

	// Spending after the reset counts from zero, and a top-up after it too.
	r.spend("team-a", month, "gpt-4o", 10, 5, 0, 75)
	require.NoError(t, u2.TopUp(ctx, "team-a", month, 0, 2_000_000))
	_, err = u1.Rollup(ctx)
	require.NoError(t, err)
	row := dbTotals(t, st, "team-a", month)
	require.EqualValues(t, 15, row.Tokens)
	require.EqualValues(t, 2_000_000, row.TopUpMicros)

	// A Redis loss after the reset restores the new generation.
	r.redis.Stop()
	r.redis.Start()
	require.NoError(t, u2.CheckEpoch(ctx))
	h := r.hash("team-a", month)
	require.Equal(t, "1", h["gen"])
	require.Equal(t, "15", h[pluginapi.UsageTokens])
}

func TestTopUpIsInTheDatabaseAtOnce(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	u, st := r.instance()
	// The first top-up ever restores (sets the epoch) on the way.
	require.NoError(t, u.TopUp(ctx, "team-a", today, 1000, 0))
	require.NoError(t, u.TopUp(ctx, "team-a", today, 500, 3))
	row := dbTotals(t, st, "team-a", today)
	require.EqualValues(t, 1500, row.TopUpTokens)
	require.EqualValues(t, 3, row.TopUpMicros)
	end := todayEnds.Add(48 * time.Hour)
	require.EqualValues(t, end.Unix(), r.client.ExpireTime(ctx, pluginapi.UsageKey("team-a", today)).Val()/time.Second,
		"the hash expires 48 h after its period, as the plugin's")

	r.redis.Stop()
	require.ErrorIs(t, u.TopUp(ctx, "team-a", today, 1, 1), ErrUnavailable)
	require.ErrorIs(t, u.Reset(ctx, "team-a", today), ErrUnavailable)
	require.EqualValues(t, 1500, dbTotals(t, st, "team-a", today).TopUpTokens, "nothing changed")
}

func TestReadFallsBackToTheDatabase(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	u, _ := r.instance()
	require.NoError(t, u.CheckEpoch(ctx))
	r.spend("team-a", month, "gpt-4o", 1000, 500, 100, 7500)
	_, err := u.Rollup(ctx)
	require.NoError(t, err)
	r.spend("team-a", month, "gpt-4o", 1, 1, 0, 1)

	got, src, err := u.Read(ctx, month, "team-a", "idle")
	require.NoError(t, err)
	require.Equal(t, "redis", src.Name)
	require.EqualValues(t, 1502, got["team-a"].Tokens)
	require.EqualValues(t, 1001, got["team-a"].InputTokens())
	require.Empty(t, got["idle"].Models)

	r.redis.Stop()
	got, src, err = u.Read(ctx, month, "team-a", "idle")
	require.NoError(t, err)
	require.Equal(t, "database", src.Name)
	require.Contains(t, src.Note, "Redis is not reachable")
	require.Contains(t, src.Note, "one rollup interval")
	require.EqualValues(t, 1500, got["team-a"].Tokens)
	require.EqualValues(t, 100, got["team-a"].CachedTokens())
	require.Equal(t, []ModelCounters{{Model: "gpt-4o", InputTokens: 1000, OutputTokens: 500, CachedTokens: 100, Micros: 7500, Requests: 1}}, got["team-a"].Models)
}

func TestLivePeriods(t *testing.T) {
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	require.Equal(t, []string{"d2026-12-02", "d2026-12-01", "d2026-11-30", "m2026-12", "m2026-11"}, livePeriods(at("2026-12-02T15:00:00Z")))
	require.Equal(t, []string{"d2026-12-10", "d2026-12-09", "d2026-12-08", "m2026-12"}, livePeriods(at("2026-12-10T00:00:00Z")))
}
