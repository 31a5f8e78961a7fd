// Package gateway is the data plane: it compiles a spec.Snapshot into an
// immutable route table (routes, upstream pools, plugin chains) and serves
// the gateway listener from the current table, swapping tables atomically
// when the configuration changes.
package gateway

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/server/internal/clientip"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// Error codes of the responses the gateway writes itself.
const (
	CodeRouteNotFound       = "route_not_found"
	CodeUpstreamUnavailable = "upstream_unavailable"
	CodeUpstreamTimeout     = "upstream_timeout"
	CodeGatewayNotReady     = "gateway_not_ready"
)

// RequestIDHeader carries the request id: kept when the client sends one,
// generated otherwise, passed to plugins and upstreams and returned to the
// client.
const RequestIDHeader = "X-Request-Id"

const unmatchedLabel = "(unmatched)"

// Gateway is the http.Handler of the gateway listener. It serves every
// request from the table current when the request arrived; Swap replaces
// the table without disturbing requests in flight. It is safe for
// concurrent use.
type Gateway struct {
	table     atomic.Pointer[Table]
	logger    *slog.Logger
	metrics   *metrics
	accessLog bool
	clientIP  clientip.Resolver

	bodyGrace   time.Duration
	bodyMinRate int

	// retired holds the tables replaced while requests still ran on them
	// (streams, mostly), until they close, so that Drain reaches them.
	mu      sync.Mutex
	retired map[*Table]struct{}
}

// New returns a Gateway without a table: until the first Swap it answers
// 503 gateway_not_ready. Its metrics are registered on reg (nil: not
// exported); registering twice on one registry reuses the collectors.
func New(logger *slog.Logger, reg prometheus.Registerer) *Gateway {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "gateway")
	return &Gateway{logger: logger, metrics: newMetrics(reg, logger)}
}

// Swap makes t the table that serves new requests. The previous table is
// closed (plugin instances, pool references) once the requests in flight
// on it are done. The Gateway owns t from now on; do not swap one table
// into two gateways.
func (g *Gateway) Swap(t *Table) {
	if t == nil {
		return
	}
	t.metrics = g.metrics
	t.activate()
	old := g.table.Swap(t)
	if old != nil && old != t {
		g.retire(old)
	}
	g.logger.Info("route table applied", "routes", t.routes, "services", len(t.pools), "plugin_instances", len(t.instances))
}

// LogRequests turns the access log on or off: with it, every request
// served ends with one line in the log ("gateway request": method, host,
// path without the query, status, duration, route, client and request id),
// at INFO, or WARN for statuses from 400. Call it before serving.
func (g *Gateway) LogRequests(on bool) { g.accessLog = on }

// TrustProxies sets the proxies whose X-Forwarded-For and X-Real-IP are
// believed; from anyone else these headers are replaced by the connection's
// peer address. Call it before serving.
func (g *Gateway) TrustProxies(r clientip.Resolver) { g.clientIP = r }

// LimitBodyReads bounds how slowly a client may send a request body: the
// time spent waiting for it may not exceed grace plus one second per
// minRate bytes received (0 turns either part off). A body cut by the limit
// is answered 408 and never counts against the upstream. Call it before
// serving.
func (g *Gateway) LimitBodyReads(grace time.Duration, minRate int) {
	g.bodyGrace, g.bodyMinRate = grace, minRate
}

// Table returns the table that serves now, or nil before the first Swap.
// Pass it as CompileOptions.Previous.
func (g *Gateway) Table() *Table { return g.table.Load() }

// Drain asks every plugin instance and mount that holds long-lived
// streams (pluginapi.Drainer) to end them cleanly: those of the serving
// table and of replaced tables that streams still use. The process calls
// it when shutdown begins, so that streams do not hold the drain until its
// timeout; ordinary requests in flight are not touched.
func (g *Gateway) Drain() {
	if t := g.table.Load(); t != nil {
		t.drain()
	}
	g.mu.Lock()
	retired := make([]*Table, 0, len(g.retired))
	for t := range g.retired {
		retired = append(retired, t)
	}
	g.mu.Unlock()
	for _, t := range retired {
		t.drain()
	}
}

// Close stops serving: later requests get 503 gateway_not_ready, and the
// current table is closed once its requests are done. Call it after the
// listener has drained, at shutdown.
func (g *Gateway) Close() {
	if old := g.table.Swap(nil); old != nil {
		g.retire(old)
	}
}

// retire retires t, keeping it for Drain until it closes.
func (g *Gateway) retire(t *Table) {
	g.mu.Lock()
	if g.retired == nil {
		g.retired = make(map[*Table]struct{})
	}
	g.retired[t] = struct{}{}
	g.mu.Unlock()
	t.onClosed = func() {
		g.mu.Lock()
		delete(g.retired, t)
		g.mu.Unlock()
	}
	t.retire()
}

// ConnState tracks open client connections for the
// gatehouse_gateway_active_connections gauge; set it as the gateway
// listener's http.Server.ConnState.
func (g *Gateway) ConnState(_ net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		g.metrics.activeConns.Inc()
	case http.StateHijacked, http.StateClosed:
		g.metrics.activeConns.Dec()
	}
}

// acquire returns the current table with a request counted on it, or nil.
func (g *Gateway) acquire() *Table {
	for {
		t := g.table.Load()
		if t == nil {
			return nil
		}
		t.refs.Add(1)
		if !t.retired.Load() {
			return t
		}
		// Retired between the load and the count: let it close and take
		// the new one.
		t.done()
		if g.table.Load() == t {
			// Closed while still current (Table.Close misused): refuse
			// rather than spin.
			return nil
		}
	}
}

// ServeHTTP routes the request through the current table.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	st, r := g.begin(w, r)
	t := g.acquire()
	if t == nil {
		pluginapi.WriteError(w, http.StatusServiceUnavailable, CodeGatewayNotReady,
			"the gateway has no configuration yet; retry in a moment")
		g.finish(r, unmatchedLabel, http.StatusServiceUnavailable, start)
		return
	}
	defer t.done()

	host := normalizeHost(r.Host)
	path := r.URL.Path
	if clean := spec.CleanPath(path); clean != path && strings.HasPrefix(path, "/") {
		// Route and forward the canonical path, so that "/public/../admin"
		// cannot slip past the plugins of "/admin".
		r.URL.Path, r.URL.RawPath, path = clean, "", clean
	}
	e := t.router.match(host, path, r.Method, stdHeader(r.Header))
	if e == nil {
		pluginapi.WriteError(w, http.StatusNotFound, CodeRouteNotFound,
			fmt.Sprintf("no route matches %s %s on host %q; check the domains, path, methods and headers of your routes", r.Method, path, host))
		g.finish(r, unmatchedLabel, http.StatusNotFound, start)
		return
	}
	sw := &st.sw
	sw.ResponseWriter = w
	defer func() {
		// Deferred so that an aborted stream (http.ErrAbortHandler) is
		// still counted.
		status := sw.status
		if status == 0 {
			status = http.StatusOK
			if r.Header.Get("Upgrade") != "" {
				status = http.StatusSwitchingProtocols
			}
		}
		g.finish(r, e.target.label, status, start)
	}()
	e.target.chainFor(t.domains, host).serve(sw, r)
}

// begin makes r ready for routing and the chain: the request id (the
// client's, or a new one) on the request and the answer, and sanitize's
// header. The state it returns holds the status writer.
func (g *Gateway) begin(w http.ResponseWriter, r *http.Request) (*served, *http.Request) {
	// One allocation for the request's own state: the values of the
	// headers the gateway sets and the status writer.
	st := &served{}
	vals := st.vals[:]
	id := r.Header.Get(RequestIDHeader)
	if id == "" || len(id) > 128 {
		id = newRequestID()
		vals[0] = id
		r.Header[RequestIDHeader] = vals[0:1:1]
	}
	vals[1] = id
	w.Header()[RequestIDHeader] = vals[1:2:2]
	g.sanitize(r, vals[2:3:3])
	return st, g.wrapBody(w, r)
}

// allowedClientHeaders are the X-Gatehouse-* headers a client may send:
// X-Gatehouse-Allow-Tools only narrows the MCP tools it is shown.
var allowedClientHeaders = map[string]bool{"X-Gatehouse-Allow-Tools": true}

// sanitize removes what a client must not decide: the headers Gatehouse
// and its plugins set for upstreams (X-Gatehouse-*, such as the consumer
// key-auth found), and forwarding headers unless they come from a trusted
// proxy. X-Real-IP is then set to the client's address, in realIP (a
// one-value slice).
func (g *Gateway) sanitize(r *http.Request, realIP []string) {
	for k := range r.Header {
		if gatehouseHeader(k) {
			delete(r.Header, k)
		}
	}
	client := g.clientIP.ClientIP(r)
	if !g.clientIP.FromTrustedProxy(r) {
		delete(r.Header, "X-Forwarded-For")
		delete(r.Header, "Forwarded")
	}
	realIP[0] = client
	r.Header["X-Real-Ip"] = realIP
}

// gatehouseHeader reports the X-Gatehouse-* headers a client may not
// send (key canonical).
func gatehouseHeader(k string) bool {
	return len(k) > 12 && strings.EqualFold(k[:12], "X-Gatehouse-") && !allowedClientHeaders[k]
}

// finish counts a served request in the metrics and, with the access log
// on, writes its line.
func (g *Gateway) finish(r *http.Request, route string, status int, start time.Time) {
	elapsed := time.Since(start)
	g.metrics.observe(route, status, elapsed)
	if !g.accessLog {
		return
	}
	client := r.Header.Get("X-Real-Ip")
	if client == "" {
		client = clientip.Peer(r)
	}
	g.logRequest(r.Context(), r.Method, r.Host, r.URL.Path, client, r.Header.Get(RequestIDHeader), route, status, elapsed)
}

// logRequest writes a request's access log line.
func (g *Gateway) logRequest(ctx context.Context, method, host, path, client, id, route string, status int, elapsed time.Duration) {
	level := slog.LevelInfo
	if status >= 400 {
		level = slog.LevelWarn
	}
	g.logger.LogAttrs(ctx, level, "gateway request",
		slog.String("method", method),
		slog.String("host", host),
		slog.String("path", path),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		slog.String("route", route),
		slog.String("client", client),
		slog.String("request_id", id))
}

// proxyErrorHandler answers a failed upstream call with a JSON error.
func (t *Table) proxyErrorHandler(p *pool) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		id := r.Header.Get(RequestIDHeader)
		berr := clientBodyError(r.Context())
		if berr == nil && r.Context().Err() != nil {
			berr = awaitClientBodyError(r.Context())
		}
		if berr != nil {
			writeBodyError(w, berr)
			t.logger.Info("client request body failed", "service", p.name, "request_id", id, "error", berr.Error())
			return
		}
		if r.Context().Err() != nil {
			// The client went away; nobody reads an answer. 499 is
			// nginx's "client closed request", for metrics and logs.
			w.WriteHeader(499)
			t.logger.Debug("client closed request", "service", p.name, "request_id", id)
			return
		}
		var ne net.Error
		switch {
		case errors.Is(err, errNoEndpoint):
			pluginapi.WriteError(w, http.StatusServiceUnavailable, CodeUpstreamUnavailable,
				fmt.Sprintf("service %q has no healthy endpoint; check its endpoints and health check", p.name))
		case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
			pluginapi.WriteError(w, http.StatusGatewayTimeout, CodeUpstreamTimeout,
				fmt.Sprintf("service %q did not answer within %s; check the upstream or raise the service's timeout", p.name, p.timeout))
		default:
			pluginapi.WriteError(w, http.StatusBadGateway, CodeUpstreamUnavailable,
				fmt.Sprintf("service %q could not be reached; see gateway.log for request id %s", p.name, id))
		}
		t.logger.Warn("upstream request failed", "service", p.name, "method", r.Method, "path", r.URL.Path,
			"request_id", id, "error", err.Error())
	}
}

func newRequestID() string {
	var id [32]byte
	fillRequestID(&id)
	return string(id[:])
}

// fillRequestID writes a new request id into id: 128 random bits in hex.
func fillRequestID(id *[32]byte) {
	var b [16]byte
	a, c := rand.Uint64(), rand.Uint64()
	for i := 0; i < 8; i++ {
		b[i] = byte(a >> (8 * i))
		b[8+i] = byte(c >> (8 * i))
	}
	hex.Encode(id[:], b[:])
}

// served is what ServeHTTP keeps for one request, allocated at once.
type served struct {
	vals [3]string // of the headers the gateway sets
	sw   statusWriter
}

// statusWriter records the status for metrics. Unwrap lets
// http.ResponseController (used by the reverse proxy for flushing and
// upgrades) reach the connection's writer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 && code >= 200 || code == http.StatusSwitchingProtocols {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush lets plugins that assert http.Flusher stream.
func (s *statusWriter) Flush() {
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// metrics are the gateway's Prometheus collectors.
type metrics struct {
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	upstreamErrors *prometheus.CounterVec
	activeConns    prometheus.Gauge
	direct         prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, logger *slog.Logger) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_gateway_requests_total",
			Help: "Requests served by the gateway, by route and status code.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_gateway_request_duration_seconds",
			Help:    "Time from request to the end of the response, by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_gateway_upstream_errors_total",
			Help: "Failed upstream attempts (connection errors, timeouts, 502/503/504, no healthy endpoint), by service.",
		}, []string{"service"}),
		activeConns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gatehouse_gateway_active_connections",
			Help: "Open client connections on the gateway listener, without those a plugin took over (legacy MCP SSE streams: see gatehouse_mcp_active_sessions).",
		}),
		direct: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_gateway_direct_requests_total",
			Help: "Requests the fast engine forwarded from their parsed head (routes without plugins to plain-http services; docs/adr/0006), included in gatehouse_gateway_requests_total.",
		}),
	}
	if reg == nil {
		return m
	}
	m.requests = register(reg, m.requests, logger)
	m.duration = register(reg, m.duration, logger)
	m.upstreamErrors = register(reg, m.upstreamErrors, logger)
	m.activeConns = register(reg, m.activeConns, logger)
	m.direct = register(reg, m.direct, logger)
	return m
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C, logger *slog.Logger) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		logger.Error("register gateway metric", "error", err.Error())
	}
	return c
}

func (m *metrics) observe(route string, status int, elapsed time.Duration) {
	m.requests.WithLabelValues(route, statusLabel(status)).Inc()
	m.duration.WithLabelValues(route).Observe(elapsed.Seconds())
}

// statusLabels holds the label of every status code, so that counting a
// request does not format one.
var statusLabels = func() (l [600]string) {
	for i := range l {
		l[i] = strconv.Itoa(i)
	}
	return l
}()

func statusLabel(code int) string {
	if code >= 0 && code < len(statusLabels) {
		return statusLabels[code]
	}
	return strconv.Itoa(code)
}
