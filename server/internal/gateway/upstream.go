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
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

// Passive ejection: an endpoint that fails this many attempts in a row
// (connection error, timeout, or 502/503/504) gets no traffic for
// ejectFor, unless every endpoint of its service is out.
const (
	ejectAfterFailures = 5
	ejectFor           = 10 * time.Second
)

// errNoEndpoint is returned when every endpoint of a service is unhealthy.
var errNoEndpoint = errors.New("no healthy endpoint")

// sharedTransport is an http.Transport shared by the pools of one service
// across configuration versions, so that keep-alive connections survive a
// change. It is closed when the last pool releases it.
type sharedTransport struct {
	t       *http.Transport
	h1      *h1Transport // plain-http requests that h1Eligible accepts
	timeout time.Duration
	mu      sync.Mutex
	refs    int
}

func newTransport(timeout time.Duration) *sharedTransport {
	dial := &net.Dialer{Timeout: min(timeout, 10*time.Second), KeepAlive: 30 * time.Second}
	return &sharedTransport{
		timeout: timeout,
		refs:    1,
		h1:      newH1Transport(dial.DialContext, timeout),
		t: &http.Transport{
			// Upstream calls ignore HTTP_PROXY: a gateway talks to its
			// services directly, like nginx.
			Proxy:                 nil,
			DialContext:           dial.DialContext,
			MaxIdleConns:          0,
			MaxIdleConnsPerHost:   1024,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
			ResponseHeaderTimeout: timeout,
			// Pass the client's Accept-Encoding through and the
			// upstream's encoding back, never recompress.
			DisableCompression: true,
			ForceAttemptHTTP2:  true,
			WriteBufferSize:    32 << 10,
			ReadBufferSize:     32 << 10,
		},
	}
}

func (s *sharedTransport) acquire() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refs == 0 {
		return false
	}
	s.refs++
	return true
}

func (s *sharedTransport) release() {
	s.mu.Lock()
	s.refs--
	last := s.refs == 0
	s.mu.Unlock()
	if last {
		s.t.CloseIdleConnections()
		s.h1.close()
	}
}

// endpoint is one upstream URL and its live state.
type endpoint struct {
	raw      string
	scheme   string
	host     string
	dialAddr string // host with the scheme's default port when it has none
	basePath string // without trailing '/', "" for none
	weight   int

	inflight     atomic.Int64
	failures     atomic.Int32 // consecutive passive failures
	ejectedUntil atomic.Int64 // unix nanoseconds
	down         atomic.Bool  // marked unhealthy by the active health check
}

// pool is the upstream side of one service: endpoints, their state, a
// load balancer and a transport. A pool is shared by every table that has
// the same service definition, so its state survives configuration
// changes that do not touch it. Tables hold references; the last release
// stops the health check and releases the transport.
type pool struct {
	name      string
	key       string // the service definition without version
	endpoints []*endpoint
	policy    string
	retries   int
	timeout   time.Duration
	hashOn    *spec.HashOn
	hashKey   string // canonical header key for header hashing
	health    *spec.HealthCheck
	transport *sharedTransport
	logger    *slog.Logger
	now       func() time.Time

	rr       atomic.Uint64
	schedule []int       // weighted round-robin order
	ring     []ringPoint // consistent-hash ring
	mu       sync.Mutex  // guards refs, closed and the health check
	refs     int
	closed   bool
	hcStop   chan struct{}
	hcDone   chan struct{}
}

func serviceKey(s spec.Service) string {
	s.Version = 0
	b, _ := json.Marshal(s)
	return string(b)
}

func newPool(s spec.Service, st *sharedTransport, logger *slog.Logger) (*pool, error) {
	p := &pool{
		name:      s.Name,
		key:       serviceKey(s),
		policy:    orDefault(s.LoadBalancer, spec.LBRoundRobin),
		retries:   s.Retries,
		timeout:   s.TimeoutDuration(),
		hashOn:    s.HashOn,
		health:    s.HealthCheck,
		transport: st,
		logger:    logger.With("service", s.Name),
		now:       time.Now,
		refs:      1,
	}
	if p.hashOn != nil && p.hashOn.Type == spec.HashOnHeader {
		p.hashKey = http.CanonicalHeaderKey(p.hashOn.Name)
	}
	for _, e := range s.Endpoints {
		u, err := url.Parse(e.URL)
		if err != nil {
			return nil, fmt.Errorf("service %q: endpoint %q: %w", s.Name, e.URL, err)
		}
		p.endpoints = append(p.endpoints, &endpoint{
			raw:      e.URL,
			scheme:   u.Scheme,
			host:     u.Host,
			dialAddr: dialAddr(u),
			basePath: strings.TrimRight(u.Path, "/"),
			weight:   e.EffectiveWeight(),
		})
	}
	p.schedule = wrrSchedule(p.endpoints)
	if p.policy == spec.LBConsistentHash {
		p.ring = buildRing(p.endpoints)
	}
	return p, nil
}

// dialAddr is u's host:port, with the scheme's default port when u has
// none.
func dialAddr(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// acquire adds a table's reference; false when the pool is already closed.
func (p *pool) acquire() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.refs++
	return true
}

// release drops a table's reference; the last one stops the health check
// and releases the transport.
func (p *pool) release() {
	p.mu.Lock()
	p.refs--
	if p.refs > 0 || p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	stop, done := p.hcStop, p.hcDone
	p.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	p.transport.release()
}

// activate starts the active health check once, if configured.
func (p *pool) activate() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.health == nil || p.closed || p.hcStop != nil {
		return
	}
	p.hcStop, p.hcDone = make(chan struct{}), make(chan struct{})
	go p.runHealthCheck(p.hcStop, p.hcDone)
}

// available reports whether ep may get traffic; ejection is ignored in
// panic mode (every endpoint ejected).
func (ep *endpoint) available(now int64, ignoreEjection bool) bool {
	if ep.down.Load() {
		return false
	}
	return ignoreEjection || ep.ejectedUntil.Load() <= now
}

// pick chooses an endpoint for req that is not in tried, or -1.
func (p *pool) pick(req *http.Request, tried []int) int {
	now := p.now().UnixNano()
	if i := p.pickWith(req, tried, now, false); i >= 0 {
		return i
	}
	// Panic mode: when passive ejection took every endpoint out, trying
	// one beats refusing every request until the cool-down ends.
	return p.pickWith(req, tried, now, true)
}

func (p *pool) pickWith(req *http.Request, tried []int, now int64, panicMode bool) int {
	ok := func(i int) bool {
		return p.endpoints[i].available(now, panicMode) && !slices.Contains(tried, i)
	}
	switch p.policy {
	case spec.LBLeastRequest:
		n := len(p.endpoints)
		start := int(p.rr.Add(1) % uint64(n))
		best := -1
		for k := 0; k < n; k++ {
			i := (start + k) % n
			if !ok(i) {
				continue
			}
			if best < 0 {
				best = i
				continue
			}
			a, b := p.endpoints[i], p.endpoints[best]
			if a.inflight.Load()*int64(b.weight) < b.inflight.Load()*int64(a.weight) {
				best = i
			}
		}
		return best
	case spec.LBConsistentHash:
		if key := p.hashKeyOf(req); key != "" {
			return p.ringPick(hash64(key), ok)
		}
	}
	n := len(p.schedule)
	start := p.rr.Add(1) - 1
	for k := 0; k < n; k++ {
		if i := p.schedule[(start+uint64(k))%uint64(n)]; ok(i) {
			return i
		}
	}
	return -1
}

func (p *pool) hashKeyOf(req *http.Request) string {
	switch p.hashOn.Type {
	case spec.HashOnHeader:
		if v := req.Header[p.hashKey]; len(v) > 0 {
			return v[0]
		}
	case spec.HashOnCookie:
		if c, err := req.Cookie(p.hashOn.Name); err == nil {
			return c.Value
		}
	case spec.HashOnClientAddress:
		// The gateway set X-Real-Ip to the client's address.
		if v := req.Header["X-Real-Ip"]; len(v) > 0 {
			return v[0]
		}
		host, _, err := net.SplitHostPort(req.RemoteAddr)
		if err != nil {
			return req.RemoteAddr
		}
		return host
	}
	return ""
}

// wrrSchedule expands the weights into a smooth weighted round-robin
// order (nginx's algorithm), scaled down to at most 4096 slots.
func wrrSchedule(eps []*endpoint) []int {
	weights := make([]int, len(eps))
	total := 0
	for i, e := range eps {
		weights[i] = e.weight
		total += e.weight
	}
	g := 0
	for _, w := range weights {
		g = gcd(g, w)
	}
	total = 0
	for i := range weights {
		weights[i] /= g
		total += weights[i]
	}
	if total > 4096 {
		total = 0
		maxW := slices.Max(weights)
		for i := range weights {
			weights[i] = max(1, weights[i]*(4096/len(weights))/maxW)
			total += weights[i]
		}
	}
	current := make([]int, len(weights))
	out := make([]int, 0, total)
	for len(out) < total {
		best := 0
		for i, w := range weights {
			current[i] += w
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		out = append(out, best)
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

type ringPoint struct {
	hash uint64
	ep   int
}

// buildRing places 160 points per unit of weight (scaled to at most
// 40000 points in all) on the consistent-hash ring.
func buildRing(eps []*endpoint) []ringPoint {
	total := 0
	for _, e := range eps {
		total += e.weight
	}
	per := 160
	if total*per > 40000 {
		per = max(1, 40000/total)
	}
	var ring []ringPoint
	for i, e := range eps {
		for v := 0; v < e.weight*per; v++ {
			ring = append(ring, ringPoint{hash: hash64(e.raw + "#" + strconv.Itoa(v)), ep: i})
		}
	}
	slices.SortFunc(ring, func(a, b ringPoint) int {
		if a.hash < b.hash {
			return -1
		}
		if a.hash > b.hash {
			return 1
		}
		return a.ep - b.ep
	})
	return ring
}

func (p *pool) ringPick(h uint64, ok func(int) bool) int {
	n := len(p.ring)
	start, _ := slices.BinarySearchFunc(p.ring, h, func(pt ringPoint, h uint64) int {
		if pt.hash < h {
			return -1
		}
		if pt.hash > h {
			return 1
		}
		return 0
	})
	for k := 0; k < n; k++ {
		if i := p.ring[(start+k)%n].ep; ok(i) {
			return i
		}
	}
	return -1
}

// hash64 is FNV-1a, stable across processes so that several gateway
// instances send one key to the same endpoint.
func hash64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	// Finalize (murmur3 fmix64) to spread similar keys over the ring.
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// succeeded and failed keep the passive ejection state.
func (p *pool) succeeded(ep *endpoint) {
	if ep.failures.Load() != 0 {
		ep.failures.Store(0)
	}
}

func (p *pool) failed(ep *endpoint) {
	if n := ep.failures.Add(1); n >= ejectAfterFailures {
		ep.failures.Store(0)
		ep.ejectedUntil.Store(p.now().Add(ejectFor).UnixNano())
		p.logger.Warn("endpoint ejected after consecutive failures",
			"endpoint", ep.raw, "failures", n, "cooldown", ejectFor.String())
	}
}

// isIdempotent reports whether a request may be sent again.
func isIdempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}

// upstreamError describes a failed attempt for the error handler.
type upstreamError struct {
	service  string
	endpoint string
	err      error
}

func (e *upstreamError) Error() string {
	return fmt.Sprintf("service %q endpoint %s: %v", e.service, e.endpoint, e.err)
}

func (e *upstreamError) Unwrap() error { return e.err }

// roundTripper sends a proxied request to the pool's endpoints, retrying
// idempotent requests on another endpoint.
type roundTripper struct {
	pool  *pool
	table *Table
}

func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	p := rt.pool
	canRetry := p.retries > 0 && isIdempotent(req.Method) &&
		(req.Body == nil || req.Body == http.NoBody || req.GetBody != nil)
	var triedBuf [4]int
	tried := triedBuf[:0]
	var lastErr error
	path, rawPath := req.URL.Path, req.URL.RawPath
	next := p.pick(req, tried)
	for attempt := 0; ; attempt++ {
		i := next
		if i < 0 {
			if lastErr != nil {
				return nil, lastErr
			}
			rt.table.countUpstreamError(p.name)
			return nil, &upstreamError{service: p.name, endpoint: "-", err: errNoEndpoint}
		}
		tried = append(tried, i)
		ep := p.endpoints[i]
		out := req
		if attempt > 0 {
			// The failed attempt may still hold req: send a copy.
			out = new(http.Request)
			*out = *req
			u := *req.URL
			out.URL = &u
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, lastErr
				}
				out.Body = body
			}
		}
		out.URL.Scheme = ep.scheme
		out.URL.Host = ep.host
		if ep.basePath != "" || attempt > 0 {
			out.URL.Path = ep.basePath + path
			if rawPath != "" {
				out.URL.RawPath = ep.basePath + rawPath
			}
		}
		out.Host = ""

		tracking := p.policy == spec.LBLeastRequest
		if tracking {
			ep.inflight.Add(1)
		}
		var resp *http.Response
		var err error
		if h1Eligible(out) {
			resp, err = p.transport.h1.roundTrip(out, ep.dialAddr)
		} else {
			resp, err = p.transport.t.RoundTrip(out)
		}
		failed := err != nil
		if err == nil {
			switch resp.StatusCode {
			case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
				failed = true
			}
		}
		if !failed {
			p.succeeded(ep)
			if tracking {
				if resp.StatusCode == http.StatusSwitchingProtocols {
					ep.inflight.Add(-1)
				} else {
					resp.Body = &inflightBody{ReadCloser: resp.Body, ep: ep}
				}
			}
			return resp, nil
		}
		if tracking {
			ep.inflight.Add(-1)
		}
		if err != nil && (req.Context().Err() != nil || clientBodyError(req.Context()) != nil) {
			// The client went away or sent a broken body: not the
			// endpoint's fault.
			return nil, err
		}
		p.failed(ep)
		rt.table.countUpstreamError(p.name)
		if err != nil {
			lastErr = &upstreamError{service: p.name, endpoint: ep.raw, err: err}
		}
		next = -1
		if canRetry && attempt < p.retries && req.Context().Err() == nil {
			next = p.pick(req, tried)
		}
		if next < 0 {
			if err != nil {
				return nil, lastErr
			}
			// The upstream's own 5xx answer goes back to the client.
			return resp, nil
		}
		if resp != nil {
			// Drain a little so that the connection can be reused.
			_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
			_ = resp.Body.Close()
			lastErr = &upstreamError{service: p.name, endpoint: ep.raw, err: fmt.Errorf("upstream answered %s", resp.Status)}
		}
	}
}

// inflightBody ends an endpoint's in-flight count when the response body
// is closed.
type inflightBody struct {
	io.ReadCloser
	ep   *endpoint
	once sync.Once
}

func (b *inflightBody) Close() error {
	b.once.Do(func() { b.ep.inflight.Add(-1) })
	return b.ReadCloser.Close()
}

// runHealthCheck probes every endpoint each interval until stop closes.
func (p *pool) runHealthCheck(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	healthyN, unhealthyN := p.health.Thresholds()
	client := &http.Client{
		Transport: p.transport.t,
		Timeout:   p.health.TimeoutDuration(),
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	ok := make([]int, len(p.endpoints))
	bad := make([]int, len(p.endpoints))
	ticker := time.NewTicker(p.health.IntervalDuration())
	defer ticker.Stop()
	for {
		var wg sync.WaitGroup
		results := make([]error, len(p.endpoints))
		for i, ep := range p.endpoints {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = p.probe(ctx, client, ep)
			}()
		}
		wg.Wait()
		if ctx.Err() != nil {
			return
		}
		for i, ep := range p.endpoints {
			if results[i] == nil {
				ok[i]++
				bad[i] = 0
				if ep.down.Load() && ok[i] >= healthyN {
					ep.down.Store(false)
					p.logger.Info("endpoint healthy again", "endpoint", ep.raw)
				}
				continue
			}
			bad[i]++
			ok[i] = 0
			if !ep.down.Load() && bad[i] >= unhealthyN {
				ep.down.Store(true)
				p.logger.Warn("endpoint unhealthy: health check failed", "endpoint", ep.raw,
					"path", p.health.Path, "error", results[i].Error())
			}
		}
		select {
		case <-stop:
			return
		case <-ticker.C:
		}
	}
}

func (p *pool) probe(ctx context.Context, client *http.Client, ep *endpoint) error {
	u := url.URL{Scheme: ep.scheme, Host: ep.host, Path: ep.basePath + p.health.Path}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "gatehouse-health-check")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	_ = resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("GET %s answered %s", u.String(), resp.Status)
	}
	return nil
}
