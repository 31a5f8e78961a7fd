package session

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/redistest"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi/memstore"
)

// Appends take a connection of their own, dialled as the client dials
// its: with its credentials and into its database.
func TestAppendsUseTheClientsCredentialsAndDatabase(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	admin := srv.Client()
	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", "gw", "on", ">s3cret-pw", "~*", "&*", "+@all").Err())
	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", "default", "off").Err(), "no anonymous access")
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "gw", Password: "s3cret-pw", DB: 3})
	t.Cleanup(func() { _ = rc.Close() })
	es := NewEventStore(func() redis.UniversalClient { return rc }, NewMemory(memstore.New(0)), time.Minute, 1000)
	t.Cleanup(es.Close)

	require.NoError(t, es.OpenAppend(ctx, "sess", "call", []byte("answer")))
	got, err := collect(t, es.After(ctx, "sess", "call", -1))
	require.NoError(t, err)
	require.Equal(t, []string{"answer"}, got)
	n, err := rc.Exists(ctx, streamKey("sess", "call"), streamListKey("sess")).Result()
	require.NoError(t, err)
	require.EqualValues(t, 2, n, "stored in the client's database")
	in0 := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "gw", Password: "s3cret-pw"})
	t.Cleanup(func() { _ = in0.Close() })
	n, err = in0.DBSize(ctx).Result()
	require.NoError(t, err)
	require.Zero(t, n, "nothing in database 0")

	// A wrong password is Redis's answer, named, and not the password.
	bad := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "gw", Password: "wrong-pw"})
	t.Cleanup(func() { _ = bad.Close() })
	es2 := NewEventStore(func() redis.UniversalClient { return bad }, NewMemory(memstore.New(0)), time.Minute, 1000)
	err = es2.OpenAppend(ctx, "sess", "x", []byte("answer"))
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorContains(t, err, "WRONGPASS")
	require.NotContains(t, err.Error(), "wrong-pw")
}

// A restart of Redis closes the appends' kept connection: the next batch
// finds it closed before any answer and goes again on a new one, so no
// call's answer is lost to it.
func TestAppendsSurviveARedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	rc := srv.Client()
	es := NewEventStore(func() redis.UniversalClient { return rc }, NewMemory(memstore.New(0)), time.Minute, 1000)
	t.Cleanup(es.Close)
	ctx := context.Background()
	require.NoError(t, es.OpenAppend(ctx, "sess", "before", []byte("one")))
	srv.Restart()
	require.NoError(t, es.OpenAppend(ctx, "sess", "after", []byte("two")), "the first append after the restart is stored")
	got, err := collect(t, es.After(ctx, "sess", "after", -1))
	require.NoError(t, err)
	require.Equal(t, []string{"two"}, got)
}

// When the Redis settings change, the gateway hands the store another
// client: appends go where the new one points, and the old connection is
// closed.
func TestAppendsFollowANewClient(t *testing.T) {
	a, b := redistest.Start(t), redistest.Start(t)
	ca, cb := a.Client(), b.Client()
	current := redis.UniversalClient(ca)
	es := NewEventStore(func() redis.UniversalClient { return current }, NewMemory(memstore.New(0)), time.Minute, 1000)
	ctx := context.Background()
	require.NoError(t, es.OpenAppend(ctx, "sess", "one", []byte("to a")))
	require.Equal(t, 1, appendConnections(t, ca), "the store's connection to a")

	current = cb
	require.NoError(t, es.OpenAppend(ctx, "sess", "two", []byte("to b")))
	n, err := cb.Exists(ctx, streamKey("sess", "two")).Result()
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "stored on the new Redis")
	n, err = ca.Exists(ctx, streamKey("sess", "two")).Result()
	require.NoError(t, err)
	require.Zero(t, n, "not on the old one")
	// Redis sees a closed connection when its event loop next runs.
	require.Eventually(t, func() bool { return appendConnections(t, ca) == 0 }, 5*time.Second, 10*time.Millisecond,
		"the connection to the old Redis is closed")
	require.Equal(t, 1, appendConnections(t, cb))

	es.Close()
	require.Eventually(t, func() bool { return appendConnections(t, cb) == 0 }, 5*time.Second, 10*time.Millisecond, "Close closes it")
	require.NoError(t, es.OpenAppend(ctx, "sess", "three", []byte("again")), "and the store stays usable")
	es.Close()
}

// appendConnections counts the clients of rc's Redis whose last command
// was EXEC: the appends' connection (the test's own client runs CLIENT
// LIST).
func appendConnections(t *testing.T, rc *redis.Client) int {
	t.Helper()
	list, err := rc.ClientList(context.Background()).Result()
	if err != nil { // not require: it also runs in Eventually's goroutine
		t.Errorf("CLIENT LIST: %v", err)
		return -1
	}
	n := 0
	for line := range strings.Lines(list) {
		if strings.Contains(line, " cmd=exec ") {
			n++
		}
	}
	return n
}

// BenchmarkAppend is one call's append (a new stream with its answer)
// on Redis, alone.
func BenchmarkAppend(b *testing.B) {
	srv := redistest.Start(b)
	rc := srv.Client()
	for _, name := range []string{"own-connection", "go-redis"} {
		b.Run(name, func(b *testing.B) {
			es := NewEventStore(func() redis.UniversalClient { return rc }, NewMemory(memstore.New(0)), time.Minute, 1000)
			b.Cleanup(es.Close)
			ctx := context.Background()
			answer := []byte(`{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"Paris: 21.5 C"}]}}`)
			streams := make([]string, 1024)
			for i := range streams {
				streams[i] = fmt.Sprint("call", i)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				a := pendingAppends.Get().(*pendingAppend)
				a.key, a.listKey, a.open, a.events = streamKey("sess", streams[i%len(streams)]), streamListKey("sess"), true, [][]byte{nil, answer}
				batch := []*pendingAppend{a}
				if name == "go-redis" {
					es.sendPipelined(ctx, rc, batch)
				} else {
					es.sendBatch(ctx, rc, batch)
				}
				if a.err != nil {
					b.Fatal(a.err)
				}
				a.events = nil
				pendingAppends.Put(a)
			}
		})
	}
}

// After a Sentinel failover the old master is a replica that refuses
// writes (READONLY) while the client's dialer already reaches the new
// one: appends refused whole drop their connection, and the next ones
// go where the dialer leads.
func TestAppendsFollowTheDialerAfterARefusal(t *testing.T) {
	oldMaster, newMaster := redistest.Start(t), redistest.Start(t)
	ctx := context.Background()
	var mu sync.Mutex
	target := oldMaster.Addr
	rc := redis.NewClient(&redis.Options{Addr: "failover-client", Dialer: func(ctx context.Context, network, _ string) (net.Conn, error) {
		mu.Lock()
		addr := target
		mu.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}})
	t.Cleanup(func() { _ = rc.Close() })
	es := NewEventStore(func() redis.UniversalClient { return rc }, NewMemory(memstore.New(0)), time.Minute, 1000)
	t.Cleanup(es.Close)
	require.NoError(t, es.OpenAppend(ctx, "sess", "one", []byte("answer")))

	// The failover: the old master follows an address nobody serves
	// (read-only from now on), the dialer leads to the new master.
	require.NoError(t, oldMaster.Client().Do(ctx, "REPLICAOF", "127.0.0.1", "1").Err())
	mu.Lock()
	target = newMaster.Addr
	mu.Unlock()
	err := es.OpenAppend(ctx, "sess", "two", []byte("answer"))
	require.ErrorContains(t, err, "READONLY", "the replica refused it")
	require.NoError(t, es.OpenAppend(ctx, "sess", "three", []byte("answer")), "the next append reaches the new master")
	n, err := newMaster.Client().Exists(ctx, streamKey("sess", "three")).Result()
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
}

// hiddenSocket is a connection that is not a syscall.Conn, as a TLS
// connection is not.
type hiddenSocket struct{ net.Conn }

// Appends are stored whatever the dialer's connection is: a socket,
// written and awaited without a system call the scheduler is told about;
// one that is not (TLS), through its own Write and Read; and a batch
// larger than the socket takes at once, whose rest goes the plain way.
func TestAppendsOnEveryKindOfConnection(t *testing.T) {
	srv := redistest.Start(t)
	big := []byte(strings.Repeat("x", 1<<20))
	for _, tc := range []struct {
		name   string
		wrap   func(net.Conn) net.Conn
		event  []byte
		socket bool
	}{
		{"socket", func(c net.Conn) net.Conn { return c }, []byte("answer"), true},
		{"not a socket", func(c net.Conn) net.Conn { return hiddenSocket{c} }, []byte("answer"), false},
		{"batch larger than the socket's buffer", func(c net.Conn) net.Conn {
			_ = c.(*net.TCPConn).SetWriteBuffer(4096)
			return c
		}, big, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := redis.NewClient(&redis.Options{Addr: srv.Addr, Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
				var d net.Dialer
				c, err := d.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return tc.wrap(c), nil
			}})
			t.Cleanup(func() { _ = rc.Close() })
			es := NewEventStore(func() redis.UniversalClient { return rc }, NewMemory(memstore.New(0)), time.Minute, 1000)
			t.Cleanup(es.Close)
			ctx := context.Background()
			for i := range 3 {
				require.NoError(t, es.OpenAppend(ctx, "sess", fmt.Sprint("call-", tc.name, i), tc.event))
			}
			es.conn.mu.Lock()
			require.Equal(t, tc.socket, es.conn.poll != nil, "written with rawpoll on a socket only")
			es.conn.mu.Unlock()
			for i := range 3 {
				got, err := collect(t, es.After(ctx, "sess", fmt.Sprint("call-", tc.name, i), -1))
				require.NoError(t, err)
				require.Equal(t, []string{string(tc.event)}, got)
			}
		})
	}
}

// A Redis that takes no commands holds an append no longer than the
// client's read timeout, on a socket too (where the wait is rawpoll's).
func TestAppendsWaitNoLongerThanTheReadTimeout(t *testing.T) {
	srv := redistest.Start(t)
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr, ReadTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = rc.Close() })
	es := NewEventStore(func() redis.UniversalClient { return rc }, NewMemory(memstore.New(0)), time.Minute, 1000)
	t.Cleanup(es.Close)
	ctx := context.Background()
	require.NoError(t, es.OpenAppend(ctx, "sess", "first", []byte("one")), "the connection is dialled")
	require.NoError(t, srv.Client().Do(ctx, "CLIENT", "PAUSE", "3000", "ALL").Err())
	t.Cleanup(func() { _ = srv.Client().Do(ctx, "CLIENT", "UNPAUSE").Err() })
	start := time.Now()
	err := es.OpenAppend(ctx, "sess", "second", []byte("two"))
	require.ErrorIs(t, err, ErrUnavailable)
	require.Less(t, time.Since(start), 2*time.Second, "given up after the read timeout, not when Redis came back")
}
