package control

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
)

// The served snapshot is built from the change and the store's answer, not
// read back: it must carry exactly the versions the store holds, for the
// objects a change wrote and for those it left alone.
func TestServedVersionsAreTheStoredOnes(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	gw := gateway.New(nil, nil)
	t.Cleanup(gw.Close)
	c := New(Options{Store: st, Gateway: gw, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, c.Load(ctx))
	svc := func(name, url string) spec.Service {
		return spec.Service{Name: name, Endpoints: []spec.Endpoint{{URL: url}}}
	}
	servedIsStored := func() {
		t.Helper()
		served, _ := c.Snapshot()
		stored, err := c.Stored(ctx)
		require.NoError(t, err)
		require.ElementsMatch(t, stored.Services, served.Services)
		require.ElementsMatch(t, stored.LLMProviders, served.LLMProviders)
	}

	n, err := c.Replace(ctx, "admin", spec.Snapshot{Services: []spec.Service{svc("a", "http://127.0.0.1:1"), svc("b", "http://127.0.0.1:2")}})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	servedIsStored()

	// The file changes b only, and carries stale versions: a keeps 1.
	stale := svc("a", "http://127.0.0.1:1")
	stale.Version = 7
	n, err = c.Replace(ctx, "admin", spec.Snapshot{Services: []spec.Service{stale, svc("b", "http://127.0.0.1:3")}})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	servedIsStored()
	served, _ := c.Snapshot()
	require.Equal(t, int64(1), served.Services[0].Version)
	require.Equal(t, int64(2), served.Services[1].Version)

	// What a file leaves nil is served as the store reads it back: empty.
	_, err = c.Replace(ctx, "admin", spec.Snapshot{Services: served.Services, LLMProviders: []spec.LLMProvider{{Name: "local", Type: "ollama", Endpoint: "http://127.0.0.1:11434"}}})
	require.NoError(t, err)
	served, _ = c.Snapshot()
	require.NotNil(t, served.LLMProviders[0].Tokens)
	servedIsStored()

	objs, err := c.Apply(ctx, "admin", []Change{{Kind: spec.KindService, Name: "a", Object: svc("a", "http://127.0.0.1:4"), ExpectVersion: 1}})
	require.NoError(t, err)
	require.Equal(t, []spec.Object{spec.Service{Name: "a", Endpoints: []spec.Endpoint{{URL: "http://127.0.0.1:4"}}, Version: 2}}, objs,
		"Apply answers with what it stored")
	servedIsStored()
}
