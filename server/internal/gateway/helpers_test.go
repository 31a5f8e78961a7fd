package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/h1server"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// backend is an upstream on loopback that answers with what it saw.
type backend struct {
	*httptest.Server
	name string
	hits atomic.Int64
	mu   sync.Mutex
	seen []seenRequest
}

type seenRequest struct {
	Backend    string      `json:"backend"`
	Method     string      `json:"method"`
	Path       string      `json:"path"`
	Host       string      `json:"host"`
	RemoteAddr string      `json:"remoteAddr"`
	Header     http.Header `json:"header"`
}

// newBackend starts a backend; handle, when not nil, serves instead of
// the echo (hits are counted either way).
func newBackend(t *testing.T, name string, handle http.HandlerFunc) *backend {
	t.Helper()
	b := &backend{name: name}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		s := seenRequest{Backend: name, Method: r.Method, Path: r.URL.Path, Host: r.Host, RemoteAddr: r.RemoteAddr, Header: r.Header.Clone()}
		b.mu.Lock()
		b.seen = append(b.seen, s)
		b.mu.Unlock()
		if handle != nil {
			handle(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) last() seenRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seen[len(b.seen)-1]
}

// harness is a Gateway behind a loopback listener.
type harness struct {
	t   *testing.T
	gw  *Gateway
	srv *httptest.Server
	reg *prometheus.Registry
	hc  *http.Client
}

// newHarness is a harness on the engine GATEHOUSE_GATEWAY_ENGINE names
// ("std" when unset): make test runs this package on both.
func newHarness(t *testing.T) *harness {
	engine := os.Getenv("GATEHOUSE_GATEWAY_ENGINE")
	if engine == "" {
		engine = "std"
	}
	return newHarnessOn(t, engine)
}

// newHarnessOn is newHarness with the listener served by engine ("std":
// net/http, "fast": h1server with Gateway.ServeDirect, as gatehouse runs
// it).
func newHarnessOn(t *testing.T, engine string) *harness {
	t.Helper()
	reg := prometheus.NewRegistry()
	gw := New(slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	srv := httptest.NewUnstartedServer(gw)
	srv.Config.ConnState = gw.ConnState
	h := &harness{t: t, gw: gw, srv: srv, reg: reg, hc: &http.Client{Timeout: 10 * time.Second}}
	if engine == "fast" {
		fast := &h1server.Server{Std: srv.Config, Direct: gw}
		srv.URL = "http://" + srv.Listener.Addr().String()
		done := make(chan error, 1)
		go func() { done <- fast.Serve(srv.Listener) }()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = fast.Shutdown(ctx)
			if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("serve: %v", err)
			}
			gw.Close()
		})
		return h
	}
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		gw.Close()
	})
	return h
}

// apply compiles snap against the current table and swaps it in.
func (h *harness) apply(snap spec.Snapshot, opts CompileOptions) *Table {
	h.t.Helper()
	opts.Previous = h.gw.Table()
	tbl, err := Compile(context.Background(), snap, opts)
	require.NoError(h.t, err)
	h.gw.Swap(tbl)
	return tbl
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r response) seen(t *testing.T) seenRequest {
	t.Helper()
	var s seenRequest
	require.NoError(t, json.Unmarshal([]byte(r.body), &s), r.body)
	return s
}

// errorCode returns error.code of a gateway JSON error body.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	require.Equal(t, "application/json; charset=utf-8", r.header.Get("Content-Type"), r.body)
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.body), &e), r.body)
	require.NotEmpty(t, e.Error.Message)
	return e.Error.Code
}

func (h *harness) do(method, host, path string, body io.Reader, header map[string]string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, body)
	require.NoError(h.t, err)
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := h.hc.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (h *harness) get(path string) response { return h.do(http.MethodGet, "", path, nil, nil) }

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func svc(name string, urls ...string) spec.Service {
	s := spec.Service{Name: name}
	for _, u := range urls {
		s.Endpoints = append(s.Endpoints, spec.Endpoint{URL: u})
	}
	return s
}

func prefixRoute(name, prefix, service string) spec.Route {
	return spec.Route{Name: name, Path: spec.PathMatch{Type: spec.PathPrefix, Value: prefix}, Service: service}
}

// closedURL returns an http URL on which nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

// metricValue returns the value of a counter or gauge with labels, or of
// a histogram's sample count.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}

// fakePlugin is a pluginapi.Plugin whose instances record what happens
// to them.
type fakePlugin struct {
	info pluginapi.Info
	// newErr, when set, is returned by New.
	newErr error
	// handler, when set, builds the instance's handler.
	handler func(name string, next http.Handler) http.Handler
	mu      sync.Mutex
	made    []*fakeInstance
}

func (p *fakePlugin) Info() pluginapi.Info          { return p.info }
func (p *fakePlugin) ConfigSchema() json.RawMessage { return json.RawMessage(`{"type":"object"}`) }

func (p *fakePlugin) New(_ context.Context, config json.RawMessage, _ pluginapi.Host) (pluginapi.Instance, error) {
	if p.newErr != nil {
		return nil, p.newErr
	}
	var cfg struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(config, &cfg); err != nil {
		return nil, &pluginapi.ConfigError{Field: "name", Message: err.Error()}
	}
	in := &fakeInstance{plugin: p, name: cfg.Name}
	p.mu.Lock()
	p.made = append(p.made, in)
	p.mu.Unlock()
	return in, nil
}

type fakeInstance struct {
	plugin   *fakePlugin
	name     string
	handlers atomic.Int32
	closed   atomic.Int32
	closeLog *closeLog
}

// closeLog records the order in which instances are closed.
type closeLog struct {
	mu    sync.Mutex
	names []string
}

func (c *closeLog) add(n string) {
	c.mu.Lock()
	c.names = append(c.names, n)
	c.mu.Unlock()
}

func (in *fakeInstance) Handler(next http.Handler) http.Handler {
	in.handlers.Add(1)
	if in.plugin.handler != nil {
		return in.plugin.handler(in.name, next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Add("X-Chain", in.name)
		next.ServeHTTP(w, r)
	})
}

func (in *fakeInstance) Close() error {
	in.closed.Add(1)
	if in.closeLog != nil {
		in.closeLog.add(in.name)
	}
	return nil
}

// pluginSet serves CompileOptions.NewInstance and PluginInfo from fakes.
type pluginSet map[string]*fakePlugin

func (ps pluginSet) options() CompileOptions {
	return CompileOptions{
		NewInstance: func(ctx context.Context, pi spec.PluginInstance) (pluginapi.Instance, error) {
			p, ok := ps[pi.Plugin]
			if !ok {
				return nil, fmt.Errorf("unknown plugin %q", pi.Plugin)
			}
			// Instances learn their own name from the config, so that
			// tests can see which one ran.
			cfg := pi.Config
			if string(cfg) == "{}" {
				cfg = json.RawMessage(`{"name":"` + pi.Name + `"}`)
			}
			return p.New(ctx, cfg, nil)
		},
		PluginInfo: func(name string) (pluginapi.Info, bool) {
			p, ok := ps[name]
			if !ok {
				return pluginapi.Info{}, false
			}
			return p.Info(), true
		},
	}
}

func (ps pluginSet) instances() []*fakeInstance {
	var out []*fakeInstance
	for _, p := range ps {
		p.mu.Lock()
		out = append(out, p.made...)
		p.mu.Unlock()
	}
	return out
}

func chainOf(s seenRequest) string { return strings.Join(s.Header.Values("X-Chain"), ",") }
