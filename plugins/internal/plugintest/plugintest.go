// Package plugintest gives the tests of plugins a pluginapi.Host: one
// simulated gateway instance whose logs and metrics the tests can read.
package plugintest

import (
	"bytes"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi/memstore"
)

// Host is a pluginapi.Host for one simulated gateway instance. It is safe
// for concurrent use; set Log before a plugin is built on it.
type Host struct {
	// Logs holds what Log wrote.
	Logs *Buffer
	// Log is the plugin's logger: text lines at INFO and above into Logs.
	// A test that wants other lines replaces it, writing into Logs.
	Log *slog.Logger
	// Registry is where the plugin registers its metrics.
	Registry *prometheus.Registry

	mu  sync.Mutex
	rdb redis.UniversalClient
}

// NewHost returns a host with a Redis client of its own for redisAddr,
// closed when t ends, or without Redis when redisAddr is empty.
func NewHost(t testing.TB, redisAddr string) *Host {
	t.Helper()
	h := &Host{Logs: &Buffer{}, Registry: prometheus.NewRegistry()}
	h.Log = slog.New(slog.NewTextHandler(h.Logs, nil))
	if redisAddr != "" {
		rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{redisAddr}, MaxRetries: -1})
		t.Cleanup(func() { _ = rdb.Close() })
		h.rdb = rdb
	}
	return h
}

// SetRedis makes rdb the client Redis returns from now on, as when the
// gateway's Redis settings change.
func (h *Host) SetRedis(rdb redis.UniversalClient) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rdb = rdb
}

// Logger implements pluginapi.Host.
func (h *Host) Logger() *slog.Logger { return h.Log }

// Redis implements pluginapi.Host.
func (h *Host) Redis() redis.UniversalClient {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rdb
}

// HTTPClient implements pluginapi.Host.
func (h *Host) HTTPClient() *http.Client { return http.DefaultClient }

// Metrics implements pluginapi.Host.
func (h *Host) Metrics() prometheus.Registerer { return h.Registry }

// InstanceID implements pluginapi.Host.
func (h *Host) InstanceID() string { return "test" }

// SharedStore implements pluginapi.Host: a new empty store on every call.
func (h *Host) SharedStore() pluginapi.SharedStore { return memstore.New(0) }

// Buffer is a log destination safe for concurrent writes.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns all that was written.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ pluginapi.Host = (*Host)(nil)
