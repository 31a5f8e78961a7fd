package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/redistest"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/front"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/session"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/restmcp"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi/memstore"
)

// testHost is a pluginapi.Host for one simulated gateway instance.
type testHost struct {
	id     string
	logger *slog.Logger
	reg    *prometheus.Registry
	client *http.Client

	mu     sync.Mutex
	rc     redis.UniversalClient
	shared pluginapi.SharedStore
}

func newTestHost(t testing.TB, id string, rc redis.UniversalClient) *testHost {
	t.Helper()
	return &testHost{
		id:     id,
		logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		reg:    prometheus.NewRegistry(),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}},
		rc:     rc,
		shared: memstore.New(0),
	}
}

func (h *testHost) Logger() *slog.Logger { return h.logger }
func (h *testHost) Redis() redis.UniversalClient {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rc
}
func (h *testHost) HTTPClient() *http.Client           { return h.client }
func (h *testHost) Metrics() prometheus.Registerer     { return h.reg }
func (h *testHost) InstanceID() string                 { return h.id }
func (h *testHost) SharedStore() pluginapi.SharedStore { return h.shared }
func (h *testHost) setRedis(rc redis.UniversalClient)  { h.mu.Lock(); h.rc = rc; h.mu.Unlock() }

var _ pluginapi.Host = (*testHost)(nil)

// testWriter sends logs to t.Log until the test ends.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// testOptions shortens the instance's timers for tests.
func testOptions() options {
	o := defaultOptions()
	o.heartbeat = 200 * time.Millisecond
	o.touchEvery = 0
	o.closeTimeout = 5 * time.Second
	// Each test's instances share their own memory, not other tests'.
	o.memory = session.NewMemory(memstore.New(0))
	return o
}

// gateway is one simulated gateway instance serving one definition.
type gateway struct {
	host *testHost
	inst *instance
	srv  *httptest.Server
}

// startGateway compiles def (JSON) and serves it on a new test server.
func startGateway(t testing.TB, host *testHost, def string, opts options) *gateway {
	t.Helper()
	d, err := restmcp.Parse([]byte(def), "application/json")
	require.NoError(t, err)
	srv, err := restmcp.Compile(d)
	require.NoError(t, err)
	inst, err := newInstance(srv, host, opts)
	require.NoError(t, err)
	hs := httptest.NewServer(inst.Handler(http.NotFoundHandler()))
	g := &gateway{host: host, inst: inst, srv: hs}
	t.Cleanup(func() {
		hs.CloseClientConnections()
		_ = inst.Close()
		hs.Close()
	})
	return g
}

func (g *gateway) url(path string) string { return g.srv.URL + path }

// mcpPost posts a JSON-RPC body to an MCP endpoint as a Streamable HTTP
// client does, on session sid and with the protocol version header unless
// they are empty. The caller closes the answer's body.
func mcpPost(t testing.TB, endpoint, sid, version, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if sid != "" {
		req.Header.Set(front.SessionIDHeader, sid)
	}
	if version != "" {
		req.Header.Set(front.ProtocolVersionHeader, version)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	return resp
}

// startRedis starts a redis-server for the test and returns a client.
func startRedis(t testing.TB) (*redistest.Server, redis.UniversalClient) {
	t.Helper()
	srv := redistest.Start(t)
	return srv, srv.Client()
}

// restBackend is the REST API behind REST-to-MCP tools.
type restBackend struct {
	srv   *httptest.Server
	calls atomic.Int64
}

func startBackend(t testing.TB) *restBackend {
	t.Helper()
	b := &restBackend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.calls.Add(1)
		switch r.URL.Path {
		case "/weather":
			if r.Header.Get("X-Api-Key") != "secret" {
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"error":"bad key"}`)
				return
			}
			city := r.URL.Query().Get("city")
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"city": city, "temp": 21.5, "auth": r.Header.Get("Authorization")})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// restDefinition is a REST-to-MCP definition in Higress's format.
func restDefinition(name, backend string, extra string) string {
	return fmt.Sprintf(`{
  "name": %q,
  "server": {"name": %q, "config": {"apiKey": "secret"}},
  "tools": [
    {"name": "get_weather", "description": "Current weather of a city",
     "args": [{"name": "city", "type": "string", "required": true, "description": "City name"},
              {"name": "units", "type": "string", "enum": ["metric", "imperial"], "default": "metric"}],
     "requestTemplate": {"url": %q, "method": "GET", "argsToUrlParam": true,
                         "headers": [{"key": "X-Api-Key", "value": "{{.config.apiKey}}"}]},
     "responseTemplate": {"body": "{{.city}}: {{.temp}} C"}},
    {"name": "echo", "description": "Echo a number",
     "args": [{"name": "n", "type": "integer", "required": true}],
     "responseTemplate": {"body": "echo {{.args.n}}"}},
    {"name": "secret_tool", "description": "Hidden by allowTools",
     "responseTemplate": {"body": "hidden"}}
  ],
  "allowTools": ["get_weather", "echo"]%s
}`, name, name, backend+"/weather", extra)
}

// connect opens a Go SDK client session on endpoint with a pre-2026
// protocol, so that it uses a session.
func connect(t *testing.T, endpoint string, hc *http.Client, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	if hc == nil {
		hc = http.DefaultClient
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1.0"}, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// switchingTransport sends the first n requests to one gateway and the rest
// to another, as a load balancer without affinity would.
type switchingTransport struct {
	first  *url.URL
	then   *url.URL
	n      int64
	count  atomic.Int64
	base   http.RoundTripper
	onlyTo atomic.Pointer[url.URL]
}

func (s *switchingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	target := s.then
	if s.count.Add(1) <= s.n {
		target = s.first
	}
	if p := s.onlyTo.Load(); p != nil {
		target = p
	}
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host, r2.Host = target.Scheme, target.Host, target.Host
	return s.base.RoundTrip(r2)
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

func textOf(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	require.NotEmpty(t, res.Content)
	tc, ok := res.Content[0].(*mcp.TextContent)
	require.True(t, ok, "content is %T", res.Content[0])
	return tc.Text
}

// requireCounterSoon waits for metric name to reach want. Both instances
// count a handed-over message after it went on (the sender once the
// receiver has it, the receiver once it delivered it), so a client can see
// the answer a moment before a counter moves.
func requireCounterSoon(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string, want float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for counterValue(t, reg, name, labels) != want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.Equal(t, want, counterValue(t, reg, name, labels), "%s%v", name, labels)
}

// counterValue sums the samples of metric name whose labels match.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// inOneMinute waits for the next minute when the current one has less
// than 10 s left, so that what a test counts in the limiters' fixed
// one-minute windows falls in one window.
func inOneMinute() {
	if next := time.Now().Truncate(time.Minute).Add(time.Minute); time.Until(next) < 10*time.Second {
		time.Sleep(time.Until(next))
	}
}
