package admin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/health"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
	"github.com/gatehouse-dev/gatehouse/server/internal/usage"
)

type noPlugins struct{}

func (noPlugins) List(context.Context) ([]PluginStatus, error) { return []PluginStatus{}, nil }
func (noPlugins) SetImageAddress(context.Context, string, string) (PluginStatus, error) {
	return PluginStatus{}, store.ErrNotFound
}

func newTestServer(t *testing.T) *Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"), log)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	u, err := usage.New(usage.Options{Redis: func() redis.UniversalClient { return nil }, Store: st, Logger: log})
	require.NoError(t, err)
	s, err := New(Options{
		Usage: u,
		Store: st, Logger: log, JWTSecret: []byte("0123456789abcdef0123456789abcdef"), JWTLifetime: time.Hour,
		LogFile: filepath.Join(t.TempDir(), "gateway.log"), Health: health.NewChecker("test"),
		Plugins: noPlugins{}, Registry: prometheus.NewRegistry(),
		Console: fstest.MapFS{
			"index.html":         {Data: []byte("<!doctype html><div id=root></div>")},
			"assets/app-1a2b.js": {Data: []byte("console.log(1)")},
		},
	})
	require.NoError(t, err)
	return s
}

// publicRoutes are the only endpoints that answer without credentials.
var publicRoutes = map[string]bool{
	"GET /healthz":            true,
	"GET /readyz":             true,
	"GET /api/v1/auth/status": true,
	"POST /api/v1/auth/init":  true,
	"POST /api/v1/auth/login": true,
	"GET /api/v1/*path":       true, // the JSON 404 for unknown API paths
	"POST /api/v1/*path":      true,
	"PUT /api/v1/*path":       true,
	"PATCH /api/v1/*path":     true,
	"DELETE /api/v1/*path":    true,
	"HEAD /api/v1/*path":      true,
	"OPTIONS /api/v1/*path":   true,
	"CONNECT /api/v1/*path":   true,
	"TRACE /api/v1/*path":     true,
}

// TestEveryRegisteredRouteRequiresAuth walks the routes gin has registered,
// so that an endpoint added later cannot be left unprotected by accident.
func TestEveryRegisteredRouteRequiresAuth(t *testing.T) {
	s := newTestServer(t)
	routes := s.Routes()
	require.Greater(t, len(routes), 10)
	checked := 0
	for _, r := range routes {
		key := r.Method + " " + r.Path
		if publicRoutes[key] {
			continue
		}
		path := strings.NewReplacer(":name", "x", ":id", "1", ":tool", "t", "*path", "x").Replace(r.Path)
		req := httptest.NewRequest(r.Method, path, nil)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		require.Equal(t, http.StatusUnauthorized, rec.Code, "%s must require credentials", key)
		require.Contains(t, rec.Body.String(), `"code":"unauthorized"`)
		checked++
	}
	require.Greater(t, checked, 5)
}

func TestUnknownAPIPathIsJSON404(t *testing.T) {
	s := newTestServer(t)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/no-such-thing", nil))
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Contains(t, rec.Body.String(), `"code":"not_found"`)
}

func TestConsoleServesSPAWithCachingAndCSP(t *testing.T) {
	s := newTestServer(t)
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	for _, p := range []string{"/", "/routes/edit/x"} {
		rec := get(p)
		require.Equal(t, http.StatusOK, rec.Code, p)
		require.Contains(t, rec.Body.String(), `id=root`, "client-side routes fall back to index.html")
		require.Equal(t, "no-cache", rec.Header().Get("Cache-Control"))
		require.Contains(t, rec.Header().Get("Content-Security-Policy"), "default-src 'self'")
	}
	rec := get("/assets/app-1a2b.js")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Header().Get("Cache-Control"), "immutable")
	require.Equal(t, http.StatusNotFound, get("/assets/missing.js").Code, "a missing asset is a 404, not index.html")
}

func TestLoginLimiterWindow(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLoginLimiter(3, time.Minute, 100, time.Hour)
	l.now = func() time.Time { return now }
	blocked := func(addr string) time.Duration { d, _ := l.blocked(addr, "u"); return d }
	for range 3 {
		require.Zero(t, blocked("a"))
		l.fail("a", "u")
	}
	require.Equal(t, time.Minute, blocked("a"))
	require.Zero(t, blocked("b"), "other addresses are not affected")
	now = now.Add(61 * time.Second)
	require.Zero(t, blocked("a"), "the block ends with the window")
}

// Made-up HTTP methods from strangers cannot add time series without end:
// they are counted as the method "other".
func TestMadeUpMethodsDoNotGrowTheMetrics(t *testing.T) {
	s := newTestServer(t)
	for i := 0; i < 50; i++ {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("X"+strconv.Itoa(i), "/api/v1/health", nil))
	}
	s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))
	methods := map[string]bool{}
	ch := make(chan prometheus.Metric, 1000)
	s.metrics.requests.Collect(ch)
	close(ch)
	for m := range ch {
		var d dto.Metric
		require.NoError(t, m.Write(&d))
		for _, l := range d.GetLabel() {
			if l.GetName() == "method" {
				methods[l.GetValue()] = true
			}
		}
	}
	require.Equal(t, map[string]bool{"other": true, "GET": true}, methods)
}
