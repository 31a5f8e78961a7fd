package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/pluginhost"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
)

// The catalog is tested with a hand-made report: the bundled plugin is not
// opened here (plugin.Open has no place in a -race test binary); the
// pluginhost tests open real plugins.

func sum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

type catalogEnv struct {
	catalog *pluginCatalog
	store   *store.Store
	bundled string // the bundled address of plugin "a"
	dir     string
	cache   string
}

func newCatalogEnv(t *testing.T, client *http.Client) *catalogEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	data := []byte("bundled a")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.so"), data, 0o600))
	m := &pluginhost.Manifest{Plugins: []pluginhost.Artifact{{Name: "a", File: "a.so", SHA256: sum(data), Version: "1.0.0", ABIVersion: 1, Required: true}}}
	require.NoError(t, m.Write(dir))

	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	bundled := pluginhost.DefaultAddress(dir, "a")
	require.NoError(t, st.EnsurePluginAddress(ctx, "a", bundled))

	cache := filepath.Join(t.TempDir(), "plugins")
	report := &pluginhost.Report{
		Dir:      dir,
		Plugins:  []pluginhost.Result{{Name: "a", Address: bundled, Path: filepath.Join(dir, "a.so"), Required: true, Status: pluginhost.StatusVerified, SHA256: sum(data)}},
		Resolver: &pluginhost.Resolver{CacheDir: cache, HTTPClient: client},
	}
	return &catalogEnv{catalog: &pluginCatalog{report: report, store: st}, store: st, bundled: bundled, dir: dir, cache: cache}
}

func (e *catalogEnv) stored(t *testing.T) string {
	t.Helper()
	all, err := e.store.PluginAddresses(context.Background())
	require.NoError(t, err)
	return all["a"].ImageAddress
}

func TestSetImageAddressDownloadsAndChecksHTTPSBeforeStoring(t *testing.T) {
	artifact := []byte("plugin a, version 2")
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/a.so" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(artifact)
	}))
	t.Cleanup(srv.Close)
	env := newCatalogEnv(t, srv.Client())
	ctx := context.Background()

	refusals := []struct {
		address string
		want    []string
	}{
		{srv.URL + "/a.so#sha256=" + strings.Repeat("0", 64), []string{
			"failed verification at step sha256", "expected sha256 " + strings.Repeat("0", 64) + ", got " + sum(artifact),
			"change the #sha256= pin only if you trust the new file",
		}},
		{srv.URL + "/missing.so#sha256=" + sum(artifact), []string{"status 404 Not Found", "check the URL in the image address"}},
		{srv.URL + "/a.so", []string{"must pin the artifact's digest with #sha256="}},
	}
	for _, tt := range refusals {
		_, err := env.catalog.SetImageAddress(ctx, "a", tt.address)
		var ae *addressError
		require.ErrorAs(t, err, &ae, "%s is the user's to correct (400 on imageAddress)", tt.address)
		require.Equal(t, "imageAddress", ae.FieldPath())
		t.Log(err)
		for _, w := range tt.want {
			require.Contains(t, err.Error(), w)
		}
		require.Equal(t, env.bundled, env.stored(t), "a refused address stores nothing")
	}

	good := srv.URL + "/a.so#sha256=" + sum(artifact)
	p, err := env.catalog.SetImageAddress(ctx, "a", good)
	require.NoError(t, err)
	require.Equal(t, good, p.ImageAddress)
	require.True(t, p.RestartRequired)
	require.Equal(t, "verified", p.Status, "the running artifact stays loaded")
	require.Equal(t, good, env.stored(t))
	data, err := os.ReadFile(filepath.Join(env.cache, sum(artifact)+".so"))
	require.NoError(t, err, "the artifact is downloaded now, so that the next start needs no network")
	require.Equal(t, artifact, data)
}

func TestSetImageAddressRefusesWhatTheNextStartWould(t *testing.T) {
	env := newCatalogEnv(t, nil)
	ctx := context.Background()

	// A copy outside the plugin dir is not in the manifest: only a pin
	// says which file is trusted, as at start.
	copyPath := filepath.Join(t.TempDir(), "a.so")
	data, err := os.ReadFile(filepath.Join(env.dir, "a.so"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(copyPath, data, 0o600))
	_, err = env.catalog.SetImageAddress(ctx, "a", "file://"+copyPath)
	var ae *addressError
	require.ErrorAs(t, err, &ae)
	require.Contains(t, err.Error(), `pin the file you trust by appending "#sha256=`+sum(data)+`"`)
	require.Equal(t, env.bundled, env.stored(t))

	pinned := "file://" + copyPath + "#sha256=" + sum(data)
	p, err := env.catalog.SetImageAddress(ctx, "a", pinned)
	require.NoError(t, err)
	require.True(t, p.RestartRequired)
	require.Equal(t, pinned, env.stored(t))

	// The bundled file, changed since the manifest was written, is refused.
	require.NoError(t, os.WriteFile(filepath.Join(env.dir, "a.so"), []byte("tampered"), 0o600))
	_, err = env.catalog.SetImageAddress(ctx, "a", env.bundled)
	require.ErrorAs(t, err, &ae)
	require.Contains(t, err.Error(), "failed verification at step sha256")
	require.Equal(t, pinned, env.stored(t))

	_, err = env.catalog.SetImageAddress(ctx, "a", "file:///nonexistent/a.so#sha256="+sum(data))
	require.ErrorAs(t, err, &ae)
	require.Contains(t, err.Error(), "/nonexistent/a.so: expected a plugin file, got no such file")

	_, err = env.catalog.SetImageAddress(ctx, "nope", pinned)
	require.True(t, errors.Is(err, store.ErrNotFound))
}

func TestSetImageAddressRefusesAnUnreachableRegistry(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	env := newCatalogEnv(t, nil)
	host := strings.TrimPrefix(closed.URL, "http://")
	_, err := env.catalog.SetImageAddress(context.Background(), "a", "oci://"+host+"/acme/a:1.0")
	var ae *addressError
	require.ErrorAs(t, err, &ae)
	t.Log(err)
	require.Contains(t, err.Error(), "fetch manifest 1.0 from "+host+"/acme/a")
	require.Contains(t, err.Error(), "check that registry "+host+" is reachable from this machine")
	require.Equal(t, env.bundled, env.stored(t))
}
