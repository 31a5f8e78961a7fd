package redisx

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/store"
	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

const settingsKey = "redis.settings"

// openStore opens a real SQLite database that several services share, as
// instances share one database.
func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func newTestService(t *testing.T, st *store.Store, bootAddr, bootPassword string) (*Service, *testenv.Buffer) {
	t.Helper()
	logs := &testenv.Buffer{}
	s, err := NewService(context.Background(), ServiceOptions{
		Store: st.SettingKey(settingsKey), Logger: slog.New(slog.NewTextHandler(logs, nil)),
		BootstrapAddr: bootAddr, BootstrapPassword: bootPassword,
		Manager: ManagerOptions{Interval: 100 * time.Millisecond, RetireAfter: 100 * time.Millisecond},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, logs
}

// setThrough writes through the service's current client and reads the
// value back from the server at addr with a client of its own.
func requireClientReaches(t *testing.T, s *Service, addr string) {
	t.Helper()
	c := s.Client()
	require.NotNil(t, c, "a client is configured")
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "probe", addr, 0).Err())
	require.Equal(t, addr, valueIn(t, addr, 0, "probe"), "the client talks to %s", addr)
}

func TestServiceBootstrapsOnceAndKeepsTheFirstValue(t *testing.T) {
	a := testenv.StartRedis(t, "--requirepass", secretPassword)
	b := testenv.StartRedis(t, "--requirepass", secretPassword)
	st := openStore(t)

	first, logs := newTestService(t, st, a.Addr, secretPassword)
	require.Contains(t, logs.String(), "redis settings stored from GATEHOUSE_REDIS_ADDR")
	requireClientReaches(t, first, a.Addr)
	got, configured, err := first.Get(context.Background())
	require.NoError(t, err)
	require.True(t, configured)
	require.Equal(t, []string{a.Addr}, got.Addresses)
	require.NotContains(t, logs.String(), secretPassword, "the password never reaches the log")

	// A second instance started with another address keeps what is stored.
	second, logs2 := newTestService(t, st, b.Addr, secretPassword)
	require.Contains(t, logs2.String(), "GATEHOUSE_REDIS_ADDR ignored: Redis settings are stored already")
	requireClientReaches(t, second, a.Addr)
}

func TestServiceRefusesAnUnusableBootstrapAddress(t *testing.T) {
	st := openStore(t)
	_, err := NewService(context.Background(), ServiceOptions{
		Store: st.SettingKey(settingsKey), Logger: slog.New(slog.DiscardHandler), BootstrapAddr: "no-port-here",
	})
	require.ErrorContains(t, err, `GATEHOUSE_REDIS_ADDR="no-port-here" is not usable`)
	_, found, err := st.SettingKey(settingsKey).Load(context.Background())
	require.NoError(t, err)
	require.False(t, found, "nothing is stored")
}

func TestServiceNotConfigured(t *testing.T) {
	s, logs := newTestService(t, openStore(t), "", "")
	require.Nil(t, s.Client())
	got, configured, err := s.Get(context.Background())
	require.NoError(t, err)
	require.False(t, configured)
	require.Equal(t, Defaults(), got)
	require.Contains(t, logs.String(), "redis is not configured")
	require.Equal(t, "not_configured", string(s.Health(context.Background())[0].Status))
}

func TestServicePutKeepsOrReplacesThePassword(t *testing.T) {
	a := testenv.StartRedis(t, "--requirepass", secretPassword)
	st := openStore(t)
	s, _ := newTestService(t, st, a.Addr, secretPassword)
	ctx := context.Background()

	// nil keeps the stored password: the new db works with it.
	next := standalone(a.Addr)
	next.DB = 2
	applied, err := s.Put(ctx, next, nil)
	require.NoError(t, err)
	require.Equal(t, secretPassword, applied.Password)
	require.NoError(t, s.Client().Set(ctx, "k", "v", 0).Err())
	require.Equal(t, "v", valueIn(t, a.Addr, 2, "k"), "the new db is in force")

	// Invalid settings change nothing: neither the store nor the client.
	before, _, err := st.SettingKey(settingsKey).Load(ctx)
	require.NoError(t, err)
	client := s.Client()
	bad := standalone(a.Addr)
	bad.DB = -1
	_, err = s.Put(ctx, bad, nil)
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "db", fe.Field)
	after, _, err := st.SettingKey(settingsKey).Load(ctx)
	require.NoError(t, err)
	require.Equal(t, before, after, "a refused Put stores nothing")
	require.Same(t, client, s.Client(), "a refused Put keeps the running client")

	// "" clears the password.
	empty := ""
	applied, err = s.Put(ctx, standalone(a.Addr), &empty)
	require.NoError(t, err)
	require.Empty(t, applied.Password)
	got, _, err := s.Get(ctx)
	require.NoError(t, err)
	require.Empty(t, got.Password)
}

// Settings saved on one instance are applied by another sharing the
// database when it syncs.
func TestServiceSyncFollowsAnotherInstance(t *testing.T) {
	a := testenv.StartRedis(t, "--requirepass", secretPassword)
	b := testenv.StartRedis(t, "--requirepass", secretPassword)
	st := openStore(t)
	one, _ := newTestService(t, st, a.Addr, secretPassword)
	two, logs := newTestService(t, st, "", "")
	requireClientReaches(t, two, a.Addr)

	_, err := one.Put(context.Background(), standalone(b.Addr), nil)
	require.NoError(t, err)
	requireClientReaches(t, one, b.Addr)

	two.Sync(context.Background())
	requireClientReaches(t, two, b.Addr)
	require.Contains(t, logs.String(), "redis settings changed by another instance applied")

	// Nothing new: Sync keeps the client.
	c := two.Client()
	two.Sync(context.Background())
	require.Same(t, c, two.Client())
}

// Stored settings that cannot be read leave Redis off with a health
// message that says what to do, until settings are saved again.
func TestServiceUnreadableSettingsAreReportedAndRepaired(t *testing.T) {
	a := testenv.StartRedis(t, "--requirepass", secretPassword)
	st := openStore(t)
	ctx := context.Background()
	require.NoError(t, st.SettingKey(settingsKey).Save(ctx, "{not json"))

	s, _ := newTestService(t, st, "", "")
	require.Nil(t, s.Client())
	h := s.Health(ctx)
	require.Len(t, h, 1)
	require.Equal(t, "down", string(h[0].Status))
	require.Contains(t, h[0].Message, "the stored Redis settings are unreadable")
	require.Contains(t, h[0].Message, "save the settings again in Settings → Redis")
	_, _, err := s.Get(ctx)
	require.ErrorIs(t, err, ErrUnreadableSettings)

	// Saving again repairs it; the unreadable password is not reused.
	fresh := standalone(a.Addr)
	pw := secretPassword
	_, err = s.Put(ctx, fresh, &pw)
	require.NoError(t, err)
	requireClientReaches(t, s, a.Addr)
	testenv.WaitFor(t, 10*time.Second, "redis reported healthy", func() bool {
		return s.Health(ctx)[0].Status == "ok"
	})
}
