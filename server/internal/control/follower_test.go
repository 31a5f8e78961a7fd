package control

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

// memoryNotifier connects the instances of one test as Redis pub/sub
// connects processes: an announcement reaches every watcher.
type memoryNotifier struct {
	mu       sync.Mutex
	watchers map[chan<- struct{}]struct{}
	fail     error
	notified []int64
}

func (n *memoryNotifier) Notify(_ context.Context, rev int64) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail != nil {
		return n.fail
	}
	n.notified = append(n.notified, rev)
	for w := range n.watchers {
		select {
		case w <- struct{}{}:
		default:
		}
	}
	return nil
}

func (n *memoryNotifier) Watch(ctx context.Context, changed chan<- struct{}) {
	n.mu.Lock()
	if n.watchers == nil {
		n.watchers = map[chan<- struct{}]struct{}{}
	}
	n.watchers[changed] = struct{}{}
	n.mu.Unlock()
	<-ctx.Done()
	n.mu.Lock()
	delete(n.watchers, changed)
	n.mu.Unlock()
}

type followed struct {
	ctl *Control
	gw  *gateway.Gateway
	log *testenv.Buffer
}

// newInstances returns n instances sharing one database, each announcing
// its changes through notifier (when not nil) and following the others.
func newInstances(t *testing.T, n int, notifier Notifier, interval time.Duration) []followed {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.SharedDatabase(t), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		stop()
		wg.Wait()
	})
	var out []followed
	for range n {
		gw := gateway.New(nil, nil)
		t.Cleanup(gw.Close)
		buf := &testenv.Buffer{}
		log := slog.New(slog.NewTextHandler(buf, nil))
		opts := Options{Store: st, Gateway: gw, Logger: log}
		if notifier != nil {
			opts.Changed = Announcer(notifier, log)
		}
		c := New(opts)
		require.NoError(t, c.Load(ctx))
		f := NewFollower(c, FollowerOptions{Notifier: notifier, Interval: interval, Logger: log})
		wg.Go(func() { f.Run(runCtx) })
		out = append(out, followed{ctl: c, gw: gw, log: buf})
	}
	return out
}

func addService(t *testing.T, c *Control, name string) {
	t.Helper()
	_, err := c.Apply(context.Background(), "admin", []Change{{Kind: spec.KindService, Name: name,
		Object: spec.Service{Name: name, Endpoints: []spec.Endpoint{{URL: "http://127.0.0.1:9"}}}, ExpectVersion: -1}})
	require.NoError(t, err)
}

func servesServices(f followed, n int) func() bool {
	return func() bool {
		snap, _ := f.ctl.Snapshot()
		return len(snap.Services) == n
	}
}

// With a notifier, a change on one instance is served by the other at
// once: the poll interval is an hour, so only the announcement can bring it.
func TestFollowerAppliesAnnouncedChanges(t *testing.T) {
	n := &memoryNotifier{}
	inst := newInstances(t, 2, n, time.Hour)
	addService(t, inst[0].ctl, "a")
	testenv.WaitFor(t, 5*time.Second, "instance B serves the service added on A", servesServices(inst[1], 1))
	require.Contains(t, inst[1].log.String(), `msg="configuration synced from another instance" component=control trigger=pubsub`)

	addService(t, inst[1].ctl, "b")
	testenv.WaitFor(t, 5*time.Second, "instance A serves the service added on B", servesServices(inst[0], 2))
	n.mu.Lock()
	require.Len(t, n.notified, 2, "every change is announced once")
	n.mu.Unlock()
}

// Without announcements (Redis down or not configured) the other instance
// still catches up, by polling.
func TestFollowerPollsWhenAnnouncementsFail(t *testing.T) {
	n := &memoryNotifier{fail: errors.New("redis: connection refused")}
	inst := newInstances(t, 2, n, 50*time.Millisecond)
	addService(t, inst[0].ctl, "a")
	testenv.WaitFor(t, 5*time.Second, "instance B serves the service added on A by polling", servesServices(inst[1], 1))
	require.Contains(t, inst[1].log.String(), "trigger=poll")
	require.Contains(t, inst[0].log.String(), "could not announce the configuration change; other instances pick it up by polling")
}

// Run returns when its context ends, after the notifier's watch returned:
// nothing it started outlives it.
func TestFollowerRunStopsWithItsContext(t *testing.T) {
	n := &memoryNotifier{}
	inst := newInstances(t, 1, nil, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	f := NewFollower(inst[0].ctl, FollowerOptions{Notifier: n, Logger: slog.New(slog.DiscardHandler)})
	go func() {
		f.Run(ctx)
		close(done)
	}()
	testenv.WaitFor(t, 5*time.Second, "the follower watches", func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		return len(n.watchers) == 1
	})
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	require.Empty(t, n.watchers, "the watch ended with Run")
}
