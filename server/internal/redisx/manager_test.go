package redisx

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

// valueIn reads key from db of the server at addr with a client of its own.
func valueIn(t *testing.T, addr string, db int, key string) string {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, DB: db, Password: secretPassword})
	defer func() { _ = c.Close() }()
	v, err := c.Get(context.Background(), key).Result()
	if errors.Is(err, redis.Nil) {
		return ""
	}
	require.NoError(t, err)
	return v
}

func TestManagerNotConfigured(t *testing.T) {
	m, _ := newTestManager(t, ManagerOptions{})
	require.Nil(t, m.Client(), "no client until settings are applied")
	c := m.Health(context.Background())
	require.Len(t, c, 1)
	require.Equal(t, "not_configured", string(c[0].Status))
	require.Contains(t, c[0].Message, "Settings → Redis")
	require.False(t, m.Status().Configured)
}

// TestManagerAppliesAndSwaps applies settings, uses the client (db
// honoured), then switches to another server without a restart; the old
// client is closed once commands on it had time to finish.
func TestManagerAppliesAndSwaps(t *testing.T) {
	a := testenv.StartRedis(t, "--requirepass", secretPassword)
	b := testenv.StartRedis(t, "--requirepass", secretPassword)
	m, logs := newTestManager(t, ManagerOptions{Interval: 100 * time.Millisecond, RetireAfter: 200 * time.Millisecond})
	ctx := context.Background()

	sa := standalone(a.Addr)
	sa.Password, sa.DB = secretPassword, 3
	require.NoError(t, m.Apply(ctx, sa))
	msg := waitStatus(t, m, "ok", 10*time.Second)
	require.Contains(t, msg, "Redis "+installedVersion(t))
	require.Contains(t, msg, a.Addr)
	st := m.Status()
	require.True(t, st.Checked)
	require.Equal(t, CodeOK, st.Diagnosis.Code)

	first := m.Client()
	require.NoError(t, first.Set(ctx, "greeting", "from a", 0).Err())
	require.Equal(t, "from a", valueIn(t, a.Addr, 3, "greeting"), "the value lands in db 3")
	require.Empty(t, valueIn(t, a.Addr, 0, "greeting"), "and not in db 0")

	sb := standalone(b.Addr)
	sb.Password = secretPassword
	require.NoError(t, m.Apply(ctx, sb))
	require.NotSame(t, first, m.Client())
	require.NoError(t, m.Client().Set(ctx, "greeting", "from b", 0).Err())
	require.Equal(t, "from b", valueIn(t, b.Addr, 0, "greeting"))
	require.Equal(t, "from a", valueIn(t, a.Addr, 3, "greeting"), "a is no longer written to")
	msg = waitStatus(t, m, "ok", 10*time.Second)
	require.Contains(t, msg, b.Addr, "health follows the new settings")

	testenv.WaitFor(t, 5*time.Second, "the replaced client to be closed", func() bool {
		return errors.Is(first.Ping(ctx).Err(), redis.ErrClosed)
	})
	require.NotContains(t, logs.String(), secretPassword, "the password is never logged")
	require.Contains(t, logs.String(), "redis client configured")
}

func TestManagerRefusesInvalidSettingsAndKeepsTheClient(t *testing.T) {
	r := testenv.StartRedis(t)
	m, _ := newTestManager(t, ManagerOptions{})
	ctx := context.Background()
	require.NoError(t, m.Apply(ctx, standalone(r.Addr)))
	before := m.Client()

	bad := standalone(r.Addr)
	bad.Mode, bad.DB = ModeCluster, 2
	err := m.Apply(ctx, bad)
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "db", fe.FieldPath())
	require.Same(t, before, m.Client(), "a refused change leaves the running client")
	require.NoError(t, m.Client().Ping(ctx).Err())
}

// TestManagerRecoversWhenRedisReturns stops redis-server under a configured
// manager: health turns down with a diagnosis, and when the server is back
// on the same port the same client serves again, without any Apply.
func TestManagerRecoversWhenRedisReturns(t *testing.T) {
	r := testenv.StartRedis(t)
	m, logs := newTestManager(t, ManagerOptions{Interval: 100 * time.Millisecond, RetryInterval: 100 * time.Millisecond})
	ctx := context.Background()
	require.NoError(t, m.Apply(ctx, standalone(r.Addr)))
	waitStatus(t, m, "ok", 10*time.Second)
	client := m.Client()
	require.NoError(t, client.Set(ctx, "k", "v1", 0).Err())

	r.Stop()
	msg := waitStatus(t, m, "down", 10*time.Second)
	require.Contains(t, msg, r.Addr)
	require.Contains(t, msg, "connection refused")
	require.Contains(t, msg, "is Redis running and reachable")
	require.Equal(t, CodeConnectionRefused, m.Status().Diagnosis.Code)
	require.Error(t, client.Get(ctx, "k").Err(), "commands fail while Redis is down")
	require.Contains(t, logs.String(), "redis unreachable")

	r.Start()
	waitStatus(t, m, "ok", 10*time.Second)
	require.Same(t, client, m.Client(), "recovery needs no new client")
	require.NoError(t, client.Set(ctx, "k", "v2", 0).Err(), "the same client serves again")
	require.Equal(t, "v2", client.Get(ctx, "k").Val())
	require.Contains(t, logs.String(), "redis reachable")
}

func TestManagerSentinelHonoursDB(t *testing.T) {
	master := testenv.StartRedis(t)
	s := startSentinel(t, "primary", master.Port)
	m, _ := newTestManager(t, ManagerOptions{Interval: 100 * time.Millisecond})
	ctx := context.Background()
	settings := standalone(s.Addr)
	settings.Mode, settings.MasterName, settings.DB = ModeSentinel, "primary", 6
	require.NoError(t, m.Apply(ctx, settings))
	require.NoError(t, m.Client().Set(ctx, "via", "sentinel", 0).Err())
	c := redis.NewClient(&redis.Options{Addr: master.Addr, DB: 6})
	defer func() { _ = c.Close() }()
	require.Equal(t, "sentinel", c.Get(ctx, "via").Val(), "the master found through the Sentinel holds the value in db 6")
	require.Contains(t, waitStatus(t, m, "ok", 10*time.Second), `master "primary"`)
}

func TestManagerClusterServesKeysOnTheCluster(t *testing.T) {
	node := startClusterNode(t)
	m, _ := newTestManager(t, ManagerOptions{Interval: 100 * time.Millisecond})
	ctx := context.Background()
	s := standalone(node.Addr)
	s.Mode = ModeCluster
	require.NoError(t, m.Apply(ctx, s))
	for _, k := range []string{"a", "b", "c", "{user}:1"} {
		require.NoError(t, m.Client().Set(ctx, k, k, 0).Err())
		require.Equal(t, k, m.Client().Get(ctx, k).Val())
	}
	require.Contains(t, waitStatus(t, m, "ok", 10*time.Second), "cluster seeds "+node.Addr)
}

func TestManagerClose(t *testing.T) {
	r := testenv.StartRedis(t)
	m, err := NewManager(ManagerOptions{Logger: testLogger(), RetireAfter: time.Hour})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, m.Apply(ctx, standalone(r.Addr)))
	replaced := m.Client()
	require.NoError(t, m.Apply(ctx, standalone(r.Addr)))
	current := m.Client()

	done := make(chan error, 1)
	go func() { done <- m.Close() }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return: a goroutine of the manager was not stopped")
	}
	require.Nil(t, m.Client(), "no client after Close")
	require.ErrorIs(t, replaced.Ping(ctx).Err(), redis.ErrClosed, "Close does not wait RetireAfter for the replaced client")
	require.ErrorIs(t, current.Ping(ctx).Err(), redis.ErrClosed)
	require.ErrorIs(t, m.Apply(ctx, standalone(r.Addr)), ErrClosed)
	require.NoError(t, m.Close(), "a second Close is harmless")
}

func TestNewManagerRefusesBadOptions(t *testing.T) {
	_, err := NewManager(ManagerOptions{})
	require.Error(t, err)
	_, err = NewManager(ManagerOptions{Logger: testLogger(), Interval: -time.Second})
	require.Error(t, err)
}
