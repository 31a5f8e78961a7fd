package admin

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/health"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The console reading its own files is logged at DEBUG, so that at the
// default INFO level gateway.log (and the console's Logs view) shows what
// people did, not the console loading itself; API requests stay at INFO.
func TestConsoleFilesAreLoggedAtDebug(t *testing.T) {
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	s, err := New(Options{
		Store: st, Logger: log, JWTSecret: []byte("0123456789abcdef0123456789abcdef"), JWTLifetime: time.Hour,
		LogFile: filepath.Join(t.TempDir(), "gateway.log"), Health: health.NewChecker("test"),
		Plugins: noPlugins{}, Registry: prometheus.NewRegistry(),
		Console: fstest.MapFS{
			"index.html":         {Data: []byte("<!doctype html><div id=root></div>")},
			"favicon.svg":        {Data: []byte("<svg/>")},
			"assets/app-1a2b.js": {Data: []byte("console.log(1)")},
		},
	})
	require.NoError(t, err)

	levelOf := func(path string) string {
		t.Helper()
		before := len(logs.String())
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		line := logs.String()[before:]
		require.Contains(t, line, "path="+path, "the request is logged")
		for _, l := range []string{"DEBUG", "INFO", "WARN", "ERROR"} {
			if bytes.Contains([]byte(line), []byte("level="+l)) {
				return l
			}
		}
		t.Fatalf("no level in %q", line)
		return ""
	}
	require.Equal(t, "DEBUG", levelOf("/assets/app-1a2b.js"))
	require.Equal(t, "DEBUG", levelOf("/favicon.svg"))
	require.Equal(t, "DEBUG", levelOf("/"))
	require.Equal(t, "INFO", levelOf("/api/v1/auth/status"))
	require.Equal(t, "WARN", levelOf("/api/v1/no-such-thing"), "a failed API request keeps its level")
}
