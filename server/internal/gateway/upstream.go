package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/server/internal/h1client"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

// errNoEndpoint is returned when every endpoint of a service is unhealthy.
var errNoEndpoint = errors.New("no healthy endpoint")

// sharedTransport is an http.Transport shared by the pools of one service
// across configuration versions, so that keep-alive connections survive a
// change. It is closed when the last pool releases it.
type sharedTransport struct {
	t       *http.Transport
	h1      *h1client.Transport // plain-http requests that h1client.Eligible accepts
	timeout time.Duration
	mu      sync.Mutex
	refs    int
}

func newTransport(timeout time.Duration) *sharedTransport {
	dial := &net.Dialer{Timeout: min(timeout, 10*time.Second), KeepAlive: 30 * time.Second}
	return &sharedTransport{
		timeout: timeout,
		refs:    1,
		h1:      h1client.New(dial.DialContext, timeout),
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
		s.h1.Close()
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
	// hostField is the Host field h1client writes for this endpoint, or
	// nil when it would leave the request to net/http.
	hostField []byte

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
		hostField, ok := h1client.AppendHostField(nil, u.Host)
		if !ok {
			hostField = nil
		}
		p.endpoints = append(p.endpoints, &endpoint{
			hostField: hostField,
			raw:       e.URL,
			scheme:    u.Scheme,
			host:      u.Host,
			dialAddr:  dialAddr(u),
			basePath:  strings.TrimRight(u.Path, "/"),
			weight:    e.EffectiveWeight(),
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
func dialAddr(u *url.URL) string { return h1client.DialAddr(u.Host, u.Scheme) }

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
