package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/redistest"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi/memstore"
)

// stores returns the two kinds of backing the package supports.
func stores(t *testing.T) map[string]RedisFunc {
	srv := redistest.Start(t)
	rc := srv.Client()
	return map[string]RedisFunc{
		"redis":  func() redis.UniversalClient { return rc },
		"memory": func() redis.UniversalClient { return nil },
	}
}

func TestRegistryRoundTripAndExpiry(t *testing.T) {
	for name, rf := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			reg := NewRegistry(rf, NewMemory(memstore.New(0)), time.Second)
			_, err := reg.Get(ctx, "missing")
			require.ErrorIs(t, err, ErrNotFound)

			rec := &Record{
				ID: "s1", Server: "weather", Transport: TransportStreamable, Owner: "gw-a/1",
				State: &mcp.ServerSessionState{
					InitializeParams:          &mcp.InitializeParams{ProtocolVersion: "2025-06-18", ClientInfo: &mcp.Implementation{Name: "c", Version: "1"}},
					NegotiatedProtocolVersion: "2025-06-18",
					LogLevel:                  "debug",
				},
				Consumer:          "alice",
				UpstreamSessionID: "up-1",
				CreatedAt:         time.Now().UTC().Truncate(time.Second),
			}
			require.NoError(t, reg.Put(ctx, rec))
			got, err := reg.Get(ctx, "s1")
			require.NoError(t, err)
			require.Equal(t, rec.Consumer, got.Consumer)
			require.Equal(t, "2025-06-18", got.State.NegotiatedProtocolVersion)
			require.Equal(t, "c", got.State.InitializeParams.ClientInfo.Name)
			require.Equal(t, mcp.LoggingLevel("debug"), got.State.LogLevel)
			require.Equal(t, "up-1", got.UpstreamSessionID)

			require.NoError(t, reg.Update(ctx, "s1", func(r *Record) { r.UpstreamSessionID = "up-2" }))
			got, err = reg.Get(ctx, "s1")
			require.NoError(t, err)
			require.Equal(t, "up-2", got.UpstreamSessionID)

			gone, err := reg.TouchMany(ctx, []string{"s1", "nope"})
			require.NoError(t, err)
			require.Equal(t, []string{"nope"}, gone)

			// Without use the record expires.
			require.Eventually(t, func() bool {
				_, err := reg.Get(ctx, "s1")
				return errors.Is(err, ErrNotFound)
			}, 5*time.Second, 50*time.Millisecond)
			require.ErrorIs(t, reg.Touch(ctx, "s1"), ErrNotFound)

			require.NoError(t, reg.Put(ctx, rec))
			require.NoError(t, reg.Delete(ctx, "s1"))
			_, err = reg.Get(ctx, "s1")
			require.ErrorIs(t, err, ErrNotFound)
			ended, err := reg.Ended(ctx, "s1")
			require.NoError(t, err)
			require.True(t, ended, "a deleted session is known to have ended")
			if name == "redis" {
				ended, err = reg.Ended(ctx, "lost")
				require.NoError(t, err)
				require.False(t, ended, "a record Redis lost is not an ended session")
			}
		})
	}
}

func TestRegistryNoticesLostDataAndRestoresOnlyWhatIsMissing(t *testing.T) {
	srv := redistest.Start(t)
	rc := srv.Client()
	reg := NewRegistry(func() redis.UniversalClient { return rc }, NewMemory(memstore.New(0)), time.Minute)
	ctx := context.Background()

	lost, err := reg.MarkAlive(ctx, "gw-a/1", time.Minute)
	require.NoError(t, err)
	require.True(t, lost, "nothing was recorded before the first check")
	lost, err = reg.MarkAlive(ctx, "gw-a/1", time.Minute)
	require.NoError(t, err)
	require.False(t, lost)

	held := []*Record{{ID: "s1", Server: "w", UpstreamSessionID: "up-old"}, {ID: "s2", Server: "w"}}
	for _, r := range held {
		require.NoError(t, reg.Put(ctx, r))
	}
	srv.FlushAll()
	lost, err = reg.MarkAlive(ctx, "gw-a/1", time.Minute)
	require.NoError(t, err)
	require.True(t, lost, "a flushed Redis is noticed")

	// Another instance wrote s1 again meanwhile, with a newer upstream
	// session: restoring must not take it back.
	require.NoError(t, reg.Put(ctx, &Record{ID: "s1", Server: "w", UpstreamSessionID: "up-new"}))
	n, err := reg.Restore(ctx, held)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	got, err := reg.Get(ctx, "s1")
	require.NoError(t, err)
	require.Equal(t, "up-new", got.UpstreamSessionID)
	_, err = reg.Get(ctx, "s2")
	require.NoError(t, err, "the lost record is back")
	ttl, err := rc.TTL(ctx, recordKey("s2")).Result()
	require.NoError(t, err)
	require.Greater(t, ttl, time.Duration(0), "a restored record still expires")
}

func TestRegistryRedisDownNamesRedis(t *testing.T) {
	srv := redistest.Start(t)
	rc := srv.Client()
	reg := NewRegistry(func() redis.UniversalClient { return rc }, NewMemory(memstore.New(0)), time.Minute)
	srv.Stop()
	_, err := reg.Get(context.Background(), "x")
	require.ErrorIs(t, err, ErrUnavailable)
	require.Contains(t, err.Error(), "redis")
	require.Contains(t, err.Error(), "Settings → Redis")
	require.ErrorIs(t, reg.Put(context.Background(), &Record{ID: "x"}), ErrUnavailable)
}

func collect(t *testing.T, seq func(func([]byte, error) bool)) ([]string, error) {
	t.Helper()
	var out []string
	var ferr error
	seq(func(b []byte, err error) bool {
		if err != nil {
			ferr = err
			return false
		}
		out = append(out, string(b))
		return true
	})
	return out, ferr
}

func TestEventStoreReplaysAfterIndex(t *testing.T) {
	for name, rf := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			mem := NewMemory(memstore.New(0))
			es := NewEventStore(rf, mem, time.Minute, 1000)
			require.NoError(t, es.Open(ctx, "sess", "st"))
			require.NoError(t, es.Append(ctx, "sess", "st", nil)) // priming event, index 0
			for i := 1; i <= 4; i++ {
				require.NoError(t, es.Append(ctx, "sess", "st", fmt.Appendf(nil, "e%d", i)))
			}
			got, err := collect(t, es.After(ctx, "sess", "st", 2))
			require.NoError(t, err)
			require.Equal(t, []string{"e3", "e4"}, got)
			got, err = collect(t, es.After(ctx, "sess", "st", 4))
			require.NoError(t, err)
			require.Empty(t, got)
			got, err = collect(t, es.After(ctx, "sess", "st", 0))
			require.NoError(t, err)
			require.Equal(t, []string{"e1", "e2", "e3", "e4"}, got)

			// Another store on the same backing (another instance) sees the events.
			other := NewEventStore(rf, mem, time.Minute, 1000)
			got, err = collect(t, other.After(ctx, "sess", "st", 3))
			require.NoError(t, err)
			require.Equal(t, []string{"e4"}, got)

			// A local close keeps the events; Delete removes them.
			require.NoError(t, es.SessionClosed(ctx, "sess"))
			got, err = collect(t, other.After(ctx, "sess", "st", 3))
			require.NoError(t, err)
			require.Equal(t, []string{"e4"}, got)
			require.NoError(t, es.Delete(ctx, "sess"))
			got, _ = collect(t, other.After(ctx, "sess", "st", 0))
			require.Empty(t, got)
		})
	}
}

func TestEventStoreReportsPurgedEvents(t *testing.T) {
	srv := redistest.Start(t)
	rc := srv.Client()
	es := NewEventStore(func() redis.UniversalClient { return rc }, NewMemory(memstore.New(0)), time.Minute, 5)
	ctx := context.Background()
	for i := range 500 {
		require.NoError(t, es.Append(ctx, "s", "x", fmt.Appendf(nil, "%d", i)))
	}
	_, err := collect(t, es.After(ctx, "s", "x", 0))
	require.ErrorIs(t, err, mcp.ErrEventsPurged)
	_, err = collect(t, es.After(ctx, "s", "x", 492))
	require.ErrorIs(t, err, mcp.ErrEventsPurged, "event 493 went: the stream keeps its last 5 (6 until the next trim)")
	got, err := collect(t, es.After(ctx, "s", "x", 494))
	require.NoError(t, err)
	require.Equal(t, []string{"495", "496", "497", "498", "499"}, got)
	got, err = collect(t, es.After(ctx, "s", "x", 497))
	require.NoError(t, err)
	require.Equal(t, []string{"498", "499"}, got)
	// Events are bytes: spaces, newlines and binary data come back whole.
	odd := []byte("7 x\n\x00\xff \r\nend ")
	require.NoError(t, es.AppendEvents(ctx, "s", "odd", nil, odd))
	got, err = collect(t, es.After(ctx, "s", "odd", -1))
	require.NoError(t, err)
	require.Equal(t, []string{"", string(odd)}, got)
}

// A session makes a stream per call, kept for the session's time to live:
// in Redis each must cost about its events, not the 4 KiB or more a Redis
// stream preallocates, or a busy gateway fills Redis with gigabytes.
func TestRedisEventsCostAboutTheirSize(t *testing.T) {
	srv := redistest.Start(t)
	rc := srv.Client()
	es := NewEventStore(func() redis.UniversalClient { return rc }, NewMemory(memstore.New(0)), time.Hour, 1000)
	ctx := context.Background()
	used := func() int64 {
		info, err := rc.Info(ctx, "memory").Result()
		require.NoError(t, err)
		for line := range strings.Lines(info) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				require.NoError(t, err)
				return n
			}
		}
		t.Fatal("no used_memory in INFO memory")
		return 0
	}
	answer := []byte(`{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"` + strings.Repeat("w", 140) + `"}]}}`)
	const calls = 2000
	before := used()
	for i := range calls {
		require.NoError(t, es.OpenAppend(ctx, fmt.Sprintf("SESSION%022d", i%32), fmt.Sprintf("STREAM%020d", i), nil, answer))
	}
	perCall := (used() - before) / calls
	t.Logf("%d B of Redis memory per call stream (%d B answer)", perCall, len(answer))
	// Keys, the session's list of its latest streams and Redis's bookkeeping
	// add some 530 B to the answer; a Redis stream would add over 4 KiB.
	require.Less(t, perCall, int64(len(answer)+1000))
}

func TestMemoryEventStoreTrimsAndExpires(t *testing.T) {
	ctx := context.Background()
	rf := func() redis.UniversalClient { return nil }
	mem := NewMemory(memstore.New(0))
	es := NewEventStore(rf, mem, time.Minute, 5)
	for i := range 500 {
		require.NoError(t, es.Append(ctx, "s", "x", fmt.Appendf(nil, "%d", i)))
	}
	_, err := collect(t, es.After(ctx, "s", "x", 0))
	require.ErrorIs(t, err, mcp.ErrEventsPurged, "a stream keeps its last maxLen events")
	got, err := collect(t, NewEventStore(rf, mem, time.Minute, 5).After(ctx, "s", "x", 497))
	require.NoError(t, err)
	require.Equal(t, []string{"498", "499"}, got, "another instance of the process replays them")

	short := NewEventStore(rf, mem, 100*time.Millisecond, 5)
	require.NoError(t, short.Append(ctx, "t", "x", []byte("a")))
	require.NoError(t, short.Append(ctx, "t", "x", []byte("b")))
	require.Eventually(t, func() bool {
		got, err := collect(t, short.After(ctx, "t", "x", 0))
		return err == nil && len(got) == 0
	}, 5*time.Second, 20*time.Millisecond, "events expire after their time to live")
}

func TestHandoffDeliversEachMessageOnceInOrder(t *testing.T) {
	for name, rf := range stores(t) {
		t.Run(name, func(t *testing.T) { testHandoffDeliversEachMessageOnceInOrder(t, rf) })
	}
}

func testHandoffDeliversEachMessageOnceInOrder(t *testing.T, rf RedisFunc) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	mem := NewMemory(memstore.New(0))
	a := NewHandoff(rf, mem, "gw-a/1", logger)
	b := NewHandoff(rf, mem, "gw-b/1", logger)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var got []string
	var closed []string
	wg.Go(func() {
		a.Run(ctx, func(m Message) {
			mu.Lock()
			got = append(got, string(m.Body))
			mu.Unlock()
		}, func(id string) {
			mu.Lock()
			closed = append(closed, id)
			mu.Unlock()
		})
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	require.Eventually(t, a.Subscribed, 5*time.Second, 10*time.Millisecond)

	const n = 500
	for i := range n {
		require.NoError(t, b.Send(ctx, a.Owner(), Message{Session: "s", Body: fmt.Appendf(nil, "%d", i)}, time.Second))
	}
	require.NoError(t, b.PublishClosed(ctx, "gone"))
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == n && len(closed) == 1
	}, 10*time.Second, 10*time.Millisecond)
	mu.Lock()
	for i := range n {
		require.Equal(t, fmt.Sprint(i), got[i])
	}
	require.Equal(t, []string{"gone"}, closed)
	mu.Unlock()

	// Nobody listens for a stopped owner.
	err := b.Send(ctx, "gw-c/1", Message{Session: "s", Body: []byte(`1`)}, 50*time.Millisecond)
	require.ErrorIs(t, err, ErrNoReceiver)
}

func TestHandoffRecoversAfterRedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	rc := srv.Client()
	rf := func() redis.UniversalClient { return rc }
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	mem := NewMemory(memstore.New(0))
	a := NewHandoff(rf, mem, "gw-a/1", logger)
	b := NewHandoff(rf, mem, "gw-b/1", logger)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	received := make(chan string, 10)
	wg.Go(func() {
		a.Run(ctx, func(m Message) { received <- string(m.Body) }, func(string) {})
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	require.Eventually(t, a.Subscribed, 5*time.Second, 10*time.Millisecond)

	srv.Restart()
	// The sender retries while the owner resubscribes.
	require.Eventually(t, func() bool {
		return b.Send(ctx, a.Owner(), Message{Session: "s", Body: []byte(`"after"`)}, 2*time.Second) == nil
	}, 20*time.Second, 100*time.Millisecond)
	select {
	case m := <-received:
		require.Equal(t, `"after"`, m)
	case <-time.After(10 * time.Second):
		t.Fatal("message published after the restart never arrived")
	}
}

func TestHandoffRunStopsAtOnceWhenCancelled(t *testing.T) {
	srv := redistest.Start(t)
	rc := srv.Client()
	a := NewHandoff(func() redis.UniversalClient { return rc }, NewMemory(memstore.New(0)), "gw-a/1", slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		a.Run(ctx, func(Message) {}, func(string) {})
	}()
	require.Eventually(t, a.Subscribed, 5*time.Second, 10*time.Millisecond)

	// Run waits for messages in 2 s slices; cancelling must not wait for
	// the slice to end (each closed instance delayed admin changes by it).
	cancel()
	select {
	case <-stopped:
	case <-time.After(time.Second):
		t.Fatal("Run still listening 1 s after its context ended")
	}
	require.False(t, a.Subscribed())
}

// A session lists only its latest streams for Delete, so a long session
// does not grow a record per call; Delete removes those streams' events.
func TestASessionListsOnlyItsLatestStreams(t *testing.T) {
	for name, rf := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			mem := NewMemory(memstore.New(0))
			es := NewEventStore(rf, mem, time.Minute, 1000)
			n := trackedStreams + trackedStreams/4 + 44 // Redis trims the list once on the way
			for i := range n {
				// As the SDK does: open the stream, then append to it.
				require.NoError(t, es.Open(ctx, "long", fmt.Sprint("call", i)))
				require.NoError(t, es.Append(ctx, "long", fmt.Sprint("call", i), []byte("answer")))
				require.NoError(t, es.Append(ctx, "long", fmt.Sprint("call", i), []byte("more")), "a stream is listed once")
			}
			var listedKeys []string
			if rc := rf(); rc != nil {
				keys, err := rc.LRange(ctx, streamListKey("long"), 0, -1).Result()
				require.NoError(t, err)
				listedKeys = keys
			} else {
				for _, k := range listed(mem.store, streamListKey("long")) {
					listedKeys = append(listedKeys, string(k))
				}
			}
			if rf() == nil {
				require.Len(t, listedKeys, trackedStreams, "the list keeps the latest streams only")
			} else {
				// Trimmed when a quarter over.
				require.GreaterOrEqual(t, len(listedKeys), trackedStreams, "the list keeps the latest streams")
				require.LessOrEqual(t, len(listedKeys), trackedStreams+trackedStreams/4, "the list keeps the latest streams only")
			}
			for i, k := range listedKeys {
				require.Equal(t, streamKey("long", fmt.Sprint("call", n-len(listedKeys)+i)), k, "the latest streams, in order")
			}

			require.NoError(t, es.Delete(ctx, "long"))
			for _, i := range []int{n - len(listedKeys), n - 1} {
				got, err := collect(t, es.After(ctx, "long", fmt.Sprint("call", i), -1))
				require.NoError(t, err)
				require.Empty(t, got, "Delete removed the listed streams' events")
			}
		})
	}
}

// Trimming a session's list of streams is housekeeping: when Redis
// refuses it, the calls' answers are still stored and no error reaches
// the caller; the session's next new stream trims the list.
func TestARefusedListTrimLosesNoAnswer(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	admin := srv.Client()
	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", "notrim", "on", ">pw", "~*", "&*", "+@all", "-ltrim").Err())
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "notrim", Password: "pw"})
	t.Cleanup(func() { _ = rc.Close() })
	es := NewEventStore(func() redis.UniversalClient { return rc }, NewMemory(memstore.New(0)), time.Minute, 1000)

	n := trackedStreams + trackedStreams/4 + 10
	for i := range n {
		require.NoError(t, es.OpenAppend(ctx, "s", fmt.Sprint("call", i), []byte("answer")), "append %d", i)
	}
	got, err := collect(t, es.After(ctx, "s", fmt.Sprint("call", n-1), -1))
	require.NoError(t, err)
	require.Equal(t, []string{"answer"}, got, "the last call's answer is stored")
	listed, err := admin.LLen(ctx, streamListKey("s")).Result()
	require.NoError(t, err)
	require.EqualValues(t, n, listed, "the refused trims left the list whole")

	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", "notrim", "+ltrim").Err())
	require.NoError(t, es.OpenAppend(ctx, "s", "next", []byte("answer")))
	listed, err = admin.LLen(ctx, streamListKey("s")).Result()
	require.NoError(t, err)
	require.EqualValues(t, trackedStreams, listed, "the next new stream trimmed the list")
}

// In Redis a stream's events, its trimmed count and the session's list of
// streams all live the store's time to live from the last append, so none
// outlives the others and nothing stays forever.
func TestRedisEventsExpireTogether(t *testing.T) {
	srv := redistest.Start(t)
	rc := srv.Client()
	ttl := 40 * time.Second
	es := NewEventStore(func() redis.UniversalClient { return rc }, NewMemory(memstore.New(0)), ttl, 4)
	ctx := context.Background()
	require.NoError(t, es.OpenAppend(ctx, "sess", "st", []byte("first")))
	for i := range 20 { // trimmed on the way: the count exists
		require.NoError(t, es.AppendEvents(ctx, "sess", "st", fmt.Appendf(nil, "%d", i)))
	}
	key := streamKey("sess", "st")
	for _, k := range []string{key, baseKey(key), streamListKey("sess")} {
		left, err := rc.PTTL(ctx, k).Result()
		require.NoError(t, err)
		require.Greater(t, left, ttl-5*time.Second, "%s expires with the store's time to live", k)
		require.LessOrEqual(t, left, ttl, k)
	}
	n, err := rc.LLen(ctx, key).Result()
	require.NoError(t, err)
	require.LessOrEqual(t, n, int64(5), "trimmed to its last 4 (5 until the next trim)")
	require.NoError(t, es.AppendEvents(ctx, "sess", "st"), "no events: nothing to do")
}

// Appends that overlap share a transaction (one round trip for Redis and
// the gateway instead of one per call), and each caller still gets its
// own append's result: stored as if alone, or its own error.
func TestOverlappingAppendsShareATransaction(t *testing.T) {
	srv := redistest.Start(t)
	rc := srv.Client()
	es := NewEventStore(func() redis.UniversalClient { return rc }, NewMemory(memstore.New(0)), time.Minute, 1000)
	ctx := context.Background()
	// Session 7's stream key holds a string: its RPUSH fails in the batch.
	require.NoError(t, rc.Set(ctx, streamKey("s7", "st7"), "not a list", 0).Err())
	require.NoError(t, rc.ConfigResetStat(ctx).Err())
	// While Redis holds writes, the first append waits in Redis and the
	// others queue behind it.
	require.NoError(t, rc.Do(ctx, "CLIENT", "PAUSE", "300", "WRITE").Err())
	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = es.OpenAppend(ctx, fmt.Sprint("s", i), fmt.Sprint("st", i), nil, fmt.Appendf(nil, "answer %d", i))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if i == 7 {
			require.ErrorIs(t, err, ErrUnavailable)
			require.ErrorContains(t, err, "WRONGTYPE", "the failing append gets its own error")
			continue
		}
		require.NoError(t, err, "append %d", i)
		got, err := collect(t, es.After(ctx, fmt.Sprint("s", i), fmt.Sprint("st", i), -1))
		require.NoError(t, err)
		require.Equal(t, []string{"", fmt.Sprint("answer ", i)}, got, "append %d stored whole", i)
		listedKeys, err := rc.LRange(ctx, streamListKey(fmt.Sprint("s", i)), 0, -1).Result()
		require.NoError(t, err)
		require.Equal(t, []string{streamKey(fmt.Sprint("s", i), fmt.Sprint("st", i))}, listedKeys)
		left, err := rc.PTTL(ctx, streamKey(fmt.Sprint("s", i), fmt.Sprint("st", i))).Result()
		require.NoError(t, err)
		require.Greater(t, left, 50*time.Second)
	}
	stats, err := rc.Info(ctx, "commandstats").Result()
	require.NoError(t, err)
	var execs int
	for line := range strings.Lines(stats) {
		if rest, ok := strings.CutPrefix(line, "cmdstat_exec:calls="); ok {
			execs, err = strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
			require.NoError(t, err)
		}
	}
	t.Logf("%d appends in %d transactions", n, execs)
	require.LessOrEqual(t, execs, 4, "overlapping appends share transactions")

	// Redis gone: every caller gets an error that names Redis; none waits
	// for the others forever.
	srv.Stop()
	for i := range n {
		wg.Go(func() { errs[i] = es.AppendEvents(ctx, "s", fmt.Sprint("down", i), []byte("x")) })
	}
	wg.Wait()
	for _, err := range errs {
		require.ErrorIs(t, err, ErrUnavailable)
	}
}

// On a Redis Cluster, sessions live in different slots and a transaction
// cannot span them: overlapping appends each go alone, and all are
// stored.
func TestClusterAppendsOfManySessionsAreStored(t *testing.T) {
	srv := redistest.StartCluster(t)
	rc := srv.ClusterClient()
	es := NewEventStore(func() redis.UniversalClient { return rc }, NewMemory(memstore.New(0)), time.Minute, 1000)
	ctx := context.Background()
	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = es.OpenAppend(ctx, fmt.Sprint("s", i), "st", nil, fmt.Appendf(nil, "answer %d", i))
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "append %d", i)
		got, err := collect(t, es.After(ctx, fmt.Sprint("s", i), "st", -1))
		require.NoError(t, err)
		require.Equal(t, []string{"", fmt.Sprint("answer ", i)}, got)
	}
	require.NoError(t, es.Delete(ctx, "s3"))
	got, _ := collect(t, es.After(ctx, "s3", "st", -1))
	require.Empty(t, got, "Delete works on a cluster")
}

// A session that began on a build that listed its streams in a sorted set
// (before 2026-12-06) loses those streams' events on DELETE too.
func TestDeleteRemovesStreamsListedByEarlierBuilds(t *testing.T) {
	srv := redistest.Start(t)
	rc := srv.Client()
	es := NewEventStore(func() redis.UniversalClient { return rc }, NewMemory(memstore.New(0)), time.Minute, 1000)
	ctx := context.Background()
	old := streamKey("sess", "old")
	require.NoError(t, rc.RPush(ctx, old, "", "answer").Err())
	require.NoError(t, rc.ZAdd(ctx, legacyStreamSetKey("sess"), redis.Z{Score: 1, Member: old}).Err())
	require.NoError(t, es.OpenAppend(ctx, "sess", "new", nil, []byte("answer")))

	require.NoError(t, es.Delete(ctx, "sess"))
	for _, k := range []string{old, streamKey("sess", "new"), legacyStreamSetKey("sess"), streamListKey("sess")} {
		n, err := rc.Exists(ctx, k).Result()
		require.NoError(t, err)
		require.Zero(t, n, "%s is gone", k)
	}
}

// A stream the SDK opens is listed by its first append, in that append's
// round trip: opening costs Redis nothing, and a stream that never gets
// an event is not listed.
func TestOpeningAStreamCostsNoRoundTrip(t *testing.T) {
	srv := redistest.Start(t)
	rc := srv.Client()
	es := NewEventStore(func() redis.UniversalClient { return rc }, NewMemory(memstore.New(0)), time.Minute, 1000)
	ctx := context.Background()
	require.NoError(t, rc.ConfigResetStat(ctx).Err())
	require.NoError(t, es.Open(ctx, "sess", "call"))
	require.NoError(t, es.Open(ctx, "sess", "quiet"))
	require.NoError(t, es.Open(ctx, "sess", ""))
	require.NoError(t, es.Append(ctx, "sess", "call", []byte("answer")))
	require.NoError(t, es.Append(ctx, "sess", "call", []byte("more")))

	stats, err := rc.Info(ctx, "commandstats").Result()
	require.NoError(t, err)
	require.Contains(t, stats, "cmdstat_exec:calls=2,", "one transaction per append, none for Open")
	streams, err := es.Streams(ctx, "sess")
	require.NoError(t, err)
	require.Equal(t, []string{"call"}, streams, "listed once, at its first append; the quiet ones not at all")

	// Closed here: what was opened and never appended is forgotten.
	require.NoError(t, es.SessionClosed(ctx, "sess"))
	require.NoError(t, es.Append(ctx, "sess", "", []byte("late")))
	streams, err = es.Streams(ctx, "sess")
	require.NoError(t, err)
	require.Equal(t, []string{"call"}, streams)
	require.Empty(t, es.opened)
}
