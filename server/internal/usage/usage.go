// Package usage is the host's side of consumer usage (issue #14): it rolls
// the counters the ai-consumer plugin keeps in Redis (layout in
// server/pluginapi/usage.go) up into the database, puts them back after
// Redis lost its data, and reads, tops up and resets them for the admin
// API.
//
// The database never goes back: a rollup writes absolute values, and a
// stored counter only takes a larger value or the value of a newer
// generation (a reset). While the epoch key is missing (Redis restarted
// empty, or its first use) nothing is written; one instance adds the
// database's figures of the periods Redis would still hold to whatever
// was counted since the loss, then sets the epoch.
package usage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/server/internal/store"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// Errors callers branch on.
var (
	// ErrUnavailable means Redis is not configured or not reachable, or
	// it lost its data and the counters are being restored: nothing was
	// changed.
	ErrUnavailable = errors.New("usage counters unavailable")
)

// Defaults.
const (
	// DefaultInterval is how often the counters are rolled up.
	DefaultInterval = time.Minute
	// DefaultEpochCheck is how often the epoch key is checked.
	DefaultEpochCheck = 5 * time.Second
	// batchSize is how many hashes one step of a rollup drains, reads and
	// writes in one transaction.
	batchSize = 1000
	// restoreLock is held by the instance that restores the counters.
	restoreLock = pluginapi.UsageKeyPrefix + "restore-lock"
	// restoreLockTTL bounds a restore; a crashed restorer's lock expires.
	restoreLockTTL = time.Minute
	// probeTimeout bounds the ping that tells a read whether Redis is up.
	probeTimeout = 500 * time.Millisecond
	// finalRollupTimeout bounds the rollup at shutdown.
	finalRollupTimeout = 10 * time.Second
)

// Options configure a Usage.
type Options struct {
	// Redis returns the current client, or nil while Redis is not
	// configured.
	Redis func() redis.UniversalClient
	Store *store.Store
	// Logger gets component=usage.
	Logger *slog.Logger
	// Interval is how often Run rolls up (DefaultInterval when 0);
	// EpochCheck how often it checks the epoch (DefaultEpochCheck when 0).
	Interval, EpochCheck time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Usage rolls up, restores, reads, tops up and resets consumer usage. Its
// methods are safe for concurrent use, and several processes may run
// them on one Redis and one database at once.
type Usage struct {
	o   Options
	log *slog.Logger

	mu      sync.Mutex
	failing string // the last failure logged, so that an outage is logged once

	// beforeWrite runs between reading hashes and writing them (tests
	// race a reset against it).
	beforeWrite func()
}

// New returns a Usage; it starts nothing (Run does).
func New(o Options) (*Usage, error) {
	if o.Redis == nil || o.Store == nil || o.Logger == nil {
		return nil, errors.New("usage.New: Redis, Store and Logger are required")
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.EpochCheck <= 0 {
		o.EpochCheck = DefaultEpochCheck
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Usage{o: o, log: o.Logger.With("component", "usage")}, nil
}

// Run checks the epoch every EpochCheck and rolls up every Interval until
// ctx ends, then rolls up once more (the shutdown's last rollup).
func (u *Usage) Run(ctx context.Context) {
	epoch := time.NewTicker(u.o.EpochCheck)
	defer epoch.Stop()
	roll := time.NewTicker(u.o.Interval)
	defer roll.Stop()
	u.report("restore", u.CheckEpoch(ctx))
	for {
		select {
		case <-ctx.Done():
			last, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalRollupTimeout)
			_, err := u.Rollup(last)
			cancel()
			if err != nil && !errors.Is(err, ErrUnavailable) {
				u.log.Warn("the last rollup before shutdown failed; the counters stay in Redis for the next instance", "error", err)
			}
			return
		case <-epoch.C:
			u.report("restore", u.CheckEpoch(ctx))
		case <-roll.C:
			_, err := u.Rollup(ctx)
			u.report("rollup", err)
		}
	}
}

// report logs a failure once per outage: again only after a success or
// when it changes kind. Redis not configured is not a failure.
func (u *Usage) report(what string, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case err == nil:
		if u.failing != "" {
			u.log.Info("consumer usage counters work again")
		}
		u.failing = ""
	case errors.Is(err, ErrUnavailable) && u.o.Redis() == nil:
	default:
		kind := what + ": " + err.Error()
		if errors.Is(err, ErrUnavailable) {
			kind = "unavailable"
		}
		if kind != u.failing {
			u.failing = kind
			u.log.Warn("consumer usage "+what+" failed; retrying", "error", err)
		}
	}
}

// client returns the Redis client or ErrUnavailable.
func (u *Usage) client() (redis.UniversalClient, error) {
	c := u.o.Redis()
	if c == nil {
		return nil, fmt.Errorf("%w: Redis is not configured (Settings → Redis)", ErrUnavailable)
	}
	return c, nil
}

// epoch returns the epoch, "" when it is missing.
func epoch(ctx context.Context, c redis.UniversalClient) (string, error) {
	v, err := c.Get(ctx, pluginapi.UsageEpochKey).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("%w: Redis: %v", ErrUnavailable, err)
	}
	return v, nil
}

// Rollup drains the dirty set and writes the counters of the hashes in it
// into the database, in batches of one transaction each; it returns how
// many hashes it wrote. Hashes it could not write go back into the dirty
// set. While the epoch is missing it writes nothing (ErrUnavailable).
func (u *Usage) Rollup(ctx context.Context) (int, error) {
	c, err := u.client()
	if err != nil {
		return 0, err
	}
	// Keys marked again while the rollup runs wait for the next one, so
	// that a busy Redis cannot keep a rollup going for ever.
	pending, err := c.SCard(ctx, pluginapi.UsageDirtyKey).Result()
	if err != nil {
		return 0, fmt.Errorf("%w: Redis: %v", ErrUnavailable, err)
	}
	written := 0
	for pending > 0 {
		n := min(pending, batchSize)
		pending -= n
		e, err := epoch(ctx, c)
		if err != nil {
			return written, err
		}
		if e == "" {
			return written, fmt.Errorf("%w: Redis lost its data; the counters are being restored", ErrUnavailable)
		}
		keys, err := c.SPopN(ctx, pluginapi.UsageDirtyKey, n).Result()
		if err != nil {
			return written, fmt.Errorf("%w: Redis: %v", ErrUnavailable, err)
		}
		if len(keys) == 0 {
			break
		}
		w, err := u.roll(ctx, c, e, keys)
		if err != nil {
			u.markDirty(ctx, c, keys)
			return written, err
		}
		written += w
	}
	return written, nil
}

// markDirty puts keys back into the dirty set (a failed rollup).
func (u *Usage) markDirty(ctx context.Context, c redis.UniversalClient, keys []string) {
	members := make([]any, len(keys))
	for i, k := range keys {
		members[i] = k
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := c.SAdd(ctx, pluginapi.UsageDirtyKey, members...).Err(); err != nil {
		u.log.Warn("could not mark usage counters for the next rollup; they are written when they change again", "keys", len(keys), "error", err)
	}
}

// roll reads keys and writes them in one transaction, if the epoch is
// still e after reading (else Redis lost its data meanwhile and what was
// read may be the new, smaller counters).
func (u *Usage) roll(ctx context.Context, c redis.UniversalClient, e string, keys []string) (int, error) {
	pipe := c.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.HGetAll(ctx, k)
	}
	after := pipe.Get(ctx, pluginapi.UsageEpochKey)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("%w: Redis: %v", ErrUnavailable, err)
	}
	if after.Val() != e {
		return 0, fmt.Errorf("%w: Redis lost its data during the rollup; the counters are being restored", ErrUnavailable)
	}
	rows := make([]store.UsageRow, 0, 3*len(keys))
	written := 0
	for i, k := range keys {
		consumer, periodID, ok := parseKey(k)
		h := cmds[i].Val()
		// An expired hash reads empty: nothing to write (never zeros).
		if !ok || len(h) == 0 {
			continue
		}
		rows = append(rows, parseHash(consumer, periodID, h).rows()...)
		written++
	}
	if u.beforeWrite != nil {
		u.beforeWrite()
	}
	if err := u.o.Store.WriteUsage(ctx, rows); err != nil {
		return 0, fmt.Errorf("write consumer usage into the database: %w", err)
	}
	return written, nil
}

// CheckEpoch restores the counters when the epoch is missing: the
// instance that takes the restore lock adds the database's figures of the
// periods Redis would still hold to the hashes (keeping what was counted
// since the loss), then sets a new epoch. Others leave it to that one.
func (u *Usage) CheckEpoch(ctx context.Context) error {
	c, err := u.client()
	if err != nil {
		return err
	}
	if e, err := epoch(ctx, c); err != nil || e != "" {
		return err
	}
	token := randomID()
	ok, err := c.SetNX(ctx, restoreLock, token, restoreLockTTL).Result()
	if err != nil {
		return fmt.Errorf("%w: Redis: %v", ErrUnavailable, err)
	}
	if !ok {
		return nil
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = unlockScript.Run(ctx, c, []string{restoreLock}, token).Err()
	}()
	// Another instance may have finished a restore just before the lock.
	if e, err := epoch(ctx, c); err != nil || e != "" {
		return err
	}
	start := time.Now()
	periods := livePeriods(u.o.Now())
	rows, err := u.o.Store.UsageOfPeriods(ctx, periods...)
	if err != nil {
		return fmt.Errorf("read consumer usage from the database to restore Redis: %w", err)
	}
	type group struct{ consumer, periodID string }
	byHash := map[group][]store.UsageRow{}
	var order []group
	for _, r := range rows {
		g := group{r.Consumer, r.PeriodID}
		if _, seen := byHash[g]; !seen {
			order = append(order, g)
		}
		byHash[g] = append(byHash[g], r)
	}
	for len(order) > 0 {
		batch := order[:min(len(order), batchSize)]
		order = order[len(batch):]
		pipe := c.Pipeline()
		for _, g := range batch {
			counters := countersFromRows(g.consumer, g.periodID, byHash[g])
			end, _ := periodEnd(g.periodID)
			args := append([]any{counters.Generation, end.Add(keyLifetime).UnixMilli()}, counters.fields()...)
			// EVAL, not EVALSHA: a pipeline cannot fall back when the
			// script cache went with Redis's data.
			restoreScript.Eval(ctx, pipe, []string{pluginapi.UsageKey(g.consumer, g.periodID)}, args...)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("%w: Redis: restore the counters: %v", ErrUnavailable, err)
		}
	}
	if err := c.Set(ctx, pluginapi.UsageEpochKey, randomID(), 0).Err(); err != nil {
		return fmt.Errorf("%w: Redis: %v", ErrUnavailable, err)
	}
	u.log.Info("consumer usage counters restored from the database", "hashes", len(byHash), "periods", periods,
		"duration_ms", time.Since(start).Milliseconds())
	return nil
}

// ready returns the client when the counters can be changed: Redis
// answers and holds the epoch (restoring first if it is missing).
func (u *Usage) ready(ctx context.Context) (redis.UniversalClient, error) {
	c, err := u.client()
	if err != nil {
		return nil, err
	}
	e, err := epoch(ctx, c)
	if err == nil && e == "" {
		if err = u.CheckEpoch(ctx); err == nil {
			e, err = epoch(ctx, c)
		}
	}
	if err != nil {
		return nil, err
	}
	if e == "" {
		return nil, fmt.Errorf("%w: Redis lost its data and another instance is restoring the counters; try again in a few seconds", ErrUnavailable)
	}
	return c, nil
}

// Period is one period of a consumer's usage.
type Period struct {
	// Name is "day" or "month"; ID the period's id ("m2026-12").
	Name, ID   string
	Start, End time.Time
}

// CurrentPeriod returns the period named period ("day" or "month") that
// is running now.
func (u *Usage) CurrentPeriod(period string) Period {
	id, start, end := pluginapi.UsagePeriod(period, u.o.Now())
	return Period{Name: period, ID: id, Start: start, End: end}
}

// Source says where figures were read.
type Source struct {
	// Name is "redis" or "database".
	Name string
	// Note says, for the database, why Redis was not read and that the
	// figures may lag by up to one rollup interval.
	Note string
}

// Read returns the counters of consumers in period periodID, from Redis
// when it answers and holds the epoch, else from the database. Every
// consumer asked for has an entry (zeros when it spent nothing).
func (u *Usage) Read(ctx context.Context, periodID string, consumers ...string) (map[string]Counters, Source, error) {
	out, err := u.readRedis(ctx, periodID, consumers)
	if err == nil {
		return out, Source{Name: "redis"}, nil
	}
	src := Source{Name: "database", Note: fmt.Sprintf("%v; these figures are the database's, which may lag by up to one rollup interval (%s)",
		err, u.o.Interval)}
	rows, dbErr := u.o.Store.UsageOfPeriods(ctx, periodID)
	if dbErr != nil {
		return nil, src, fmt.Errorf("read consumer usage from the database: %w", dbErr)
	}
	byConsumer := map[string][]store.UsageRow{}
	for _, r := range rows {
		byConsumer[r.Consumer] = append(byConsumer[r.Consumer], r)
	}
	out = make(map[string]Counters, len(consumers))
	for _, name := range consumers {
		out[name] = countersFromRows(name, periodID, byConsumer[name])
	}
	return out, src, nil
}

func (u *Usage) readRedis(ctx context.Context, periodID string, consumers []string) (map[string]Counters, error) {
	c, err := u.client()
	if err != nil {
		return nil, err
	}
	// A Redis that does not answer a ping at once is down: the read goes
	// to the database without waiting out the client's dial retries
	// (seconds per read, the console's usage drawer waited for them).
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	err = c.Ping(pctx).Err()
	cancel()
	if err != nil {
		return nil, fmt.Errorf("Redis is not reachable (%v)", err)
	}
	pipe := c.Pipeline()
	ep := pipe.Get(ctx, pluginapi.UsageEpochKey)
	cmds := make([]*redis.MapStringStringCmd, len(consumers))
	for i, name := range consumers {
		cmds[i] = pipe.HGetAll(ctx, pluginapi.UsageKey(name, periodID))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("Redis is not reachable (%v)", err)
	}
	if ep.Val() == "" {
		return nil, errors.New("Redis lost its data and the counters are being restored")
	}
	out := make(map[string]Counters, len(consumers))
	for i, name := range consumers {
		out[name] = parseHash(name, periodID, cmds[i].Val())
	}
	return out, nil
}

// TopUp adds tokens and micros to consumer's allowance of period periodID
// and writes the hash into the database at once. It fails with
// ErrUnavailable, changing nothing, when Redis cannot take it.
func (u *Usage) TopUp(ctx context.Context, consumer, periodID string, tokens, micros int64) error {
	c, err := u.ready(ctx)
	if err != nil {
		return err
	}
	key := pluginapi.UsageKey(consumer, periodID)
	end, ok := periodEnd(periodID)
	if !ok {
		return fmt.Errorf("top up: %q is not a period id", periodID)
	}
	if err := topUpScript.Run(ctx, c, []string{key}, tokens, micros, end.Add(keyLifetime).UnixMilli()).Err(); err != nil {
		return fmt.Errorf("%w: Redis: %v", ErrUnavailable, err)
	}
	u.persist(ctx, c, key)
	return nil
}

// Reset zeroes consumer's settled counters and top-ups of period periodID
// (reservations of requests in flight stay) in Redis and the database. A
// rollup that read the counters before cannot bring them back: the reset
// starts a new generation. It fails with ErrUnavailable, changing
// nothing, when Redis cannot take it.
func (u *Usage) Reset(ctx context.Context, consumer, periodID string) error {
	c, err := u.ready(ctx)
	if err != nil {
		return err
	}
	key := pluginapi.UsageKey(consumer, periodID)
	end, ok := periodEnd(periodID)
	if !ok {
		return fmt.Errorf("reset: %q is not a period id", periodID)
	}
	gen, err := resetScript.Run(ctx, c, []string{key}, end.Add(keyLifetime).UnixMilli()).Int64()
	if err != nil {
		return fmt.Errorf("%w: Redis: %v", ErrUnavailable, err)
	}
	if err := u.o.Store.ResetUsage(ctx, consumer, periodID, gen); err != nil {
		u.markDirty(ctx, c, []string{key})
		return fmt.Errorf("reset consumer usage in the database (Redis is reset; the next rollup finishes it): %w", err)
	}
	u.persist(ctx, c, key)
	return nil
}

// persist writes key's hash into the database now, so that a change made
// by an administrator survives a Redis loss before the next rollup; on
// failure the next rollup writes it.
func (u *Usage) persist(ctx context.Context, c redis.UniversalClient, key string) {
	e, err := epoch(ctx, c)
	if err == nil && e != "" {
		if _, err = u.roll(ctx, c, e, []string{key}); err == nil {
			return
		}
	}
	u.markDirty(ctx, c, []string{key})
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// The scripts touch one hash each, so that they run on Redis Cluster.
var (
	// restoreScript adds the database's figures to a hash that no restore
	// has touched since the loss (no generation field yet), sets its
	// generation and its expiry. ARGV: generation, expiry (ms), then
	// field/value pairs.
	restoreScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], 'gen') == 1 then return 0 end
for i = 3, #ARGV, 2 do
  if ARGV[i+1] ~= '0' then redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i+1]) end
end
redis.call('HSET', KEYS[1], 'gen', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1`)

	// topUpScript adds to the top-ups. ARGV: tokens, micros, expiry (ms).
	topUpScript = redis.NewScript(`
redis.call('HINCRBY', KEYS[1], 'topup_tokens', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'topup_micros', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 1`)

	// resetScript starts a new generation: every field but the
	// reservations and the generation goes. ARGV: expiry (ms). Returns the
	// new generation.
	resetScript = redis.NewScript(`
local gen = redis.call('HINCRBY', KEYS[1], 'gen', 1)
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if f ~= 'gen' and f ~= 'rtokens' and f ~= 'rmicros' then redis.call('HDEL', KEYS[1], f) end
end
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return gen`)

	unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)
)
