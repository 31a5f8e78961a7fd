package app

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

// An announcement published through one instance's notifier reaches the
// watch of another, also after the Redis client was replaced (settings
// changed) — and without a client nothing fails.
func TestRedisNotifierFollowsTheClient(t *testing.T) {
	a := testenv.StartRedis(t)
	b := testenv.StartRedis(t)
	ca := redis.NewClient(&redis.Options{Addr: a.Addr})
	cb := redis.NewClient(&redis.Options{Addr: b.Addr})
	t.Cleanup(func() { _ = ca.Close(); _ = cb.Close() })

	var current atomic.Pointer[redis.Client]
	client := func() redis.UniversalClient {
		if c := current.Load(); c != nil {
			return c
		}
		return nil
	}
	n := redisNotifier{client: client, recheck: 20 * time.Millisecond}
	require.NoError(t, n.Notify(context.Background(), 1), "no client: nothing to announce, no error")

	ctx, cancel := context.WithCancel(context.Background())
	changed := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Go(func() { n.Watch(ctx, changed) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})

	// Announce until the watch has subscribed and passes one on.
	announced := func(c *redis.Client) {
		t.Helper()
		testenv.WaitFor(t, 5*time.Second, "the announcement reaches the watch", func() bool {
			require.NoError(t, c.Publish(context.Background(), configChannel, "7").Err())
			select {
			case <-changed:
				return true
			case <-time.After(50 * time.Millisecond):
				return false
			}
		})
	}
	current.Store(ca)
	announced(ca)
	current.Store(cb)
	announced(cb)

	// Notify publishes on the current client's server.
	sub := cb.Subscribe(context.Background(), configChannel)
	t.Cleanup(func() { _ = sub.Close() })
	_, err := sub.Receive(context.Background())
	require.NoError(t, err)
	require.NoError(t, n.Notify(context.Background(), 42))
	msg, err := sub.ReceiveMessage(context.Background())
	require.NoError(t, err)
	require.Equal(t, "42", msg.Payload)
}
