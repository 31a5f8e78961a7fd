package redisx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/server/internal/health"
)

// ErrClosed is returned by Apply after Close.
var ErrClosed = errors.New("redis manager is closed")

// ManagerOptions configure a Manager. Zero durations take the defaults.
type ManagerOptions struct {
	// Logger receives state changes (component=redis). Required.
	Logger *slog.Logger
	// Interval between health probes while Redis answers; default 5s.
	Interval time.Duration
	// RetryInterval between probes while Redis does not answer, so that a
	// recovery shows soon; default 1s.
	RetryInterval time.Duration
	// RetireAfter is how long a replaced client stays open so that commands
	// already running on it can finish; default 5s.
	RetireAfter time.Duration
}

// Manager holds the process's one Redis client, replaces it when the
// settings change and probes it in the background. It is safe for
// concurrent use. Redis being down never makes a Manager method fail: the
// client reconnects by itself and the probe reports the state.
type Manager struct {
	log  *slog.Logger
	opts ManagerOptions

	// mu serialises Apply and Close; readers use the atomics only.
	mu     sync.Mutex
	closed bool
	gen    uint64
	cur    atomic.Pointer[active]
	status atomic.Pointer[Status]

	kick   chan struct{}
	stop   chan struct{}
	ctx    context.Context // cancelled by Close; bounds probes
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// active is one applied configuration.
type active struct {
	client   redis.UniversalClient
	settings Settings
	gen      uint64
}

// Status is the outcome of the latest background probe.
type Status struct {
	// Configured is false while no settings were applied.
	Configured bool
	// Checked is false until the first probe of the current settings ended.
	Checked   bool
	Diagnosis Diagnosis
	CheckedAt time.Time
	gen       uint64
}

// NewManager returns a manager without a client and starts its probe
// goroutine, which Close stops.
func NewManager(opts ManagerOptions) (*Manager, error) {
	if opts.Logger == nil {
		return nil, errors.New("redis manager: a logger is required")
	}
	if opts.Interval < 0 || opts.RetryInterval < 0 || opts.RetireAfter < 0 {
		return nil, fmt.Errorf("redis manager: negative interval in %+v", opts)
	}
	if opts.Interval == 0 {
		opts.Interval = 5 * time.Second
	}
	if opts.RetryInterval == 0 {
		opts.RetryInterval = time.Second
	}
	if opts.RetireAfter == 0 {
		opts.RetireAfter = 5 * time.Second
	}
	m := &Manager{
		log:  opts.Logger.With("component", "redis"),
		opts: opts,
		kick: make(chan struct{}, 1),
		stop: make(chan struct{}),
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.wg.Add(1)
	go m.run()
	return m, nil
}

// Client returns the current client, or nil while Redis is not configured
// or after Close. The client is replaced when the settings change: call
// Client for each use instead of keeping the result. Callers never close it.
func (m *Manager) Client() redis.UniversalClient {
	if a := m.cur.Load(); a != nil {
		return a.client
	}
	return nil
}

// Apply validates s (errors.Join of *FieldError), builds a client for it and
// makes it the current one. The replaced client is closed after
// RetireAfter, so that commands running on it finish. Apply does not wait
// for Redis: the probe that it starts reports whether Redis answers.
func (m *Manager) Apply(ctx context.Context, s Settings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s = s.clone()
	c, err := build(s, false)
	if err != nil {
		return err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		_ = c.Close()
		return ErrClosed
	}
	m.gen++
	old := m.cur.Swap(&active{client: c, settings: s, gen: m.gen})
	if old != nil {
		m.wg.Add(1)
		go m.retire(old.client)
	}
	m.mu.Unlock()
	m.log.InfoContext(ctx, "redis client configured", "settings", s)
	select {
	case m.kick <- struct{}{}:
	default:
	}
	return nil
}

func (m *Manager) retire(c redis.UniversalClient) {
	defer m.wg.Done()
	t := time.NewTimer(m.opts.RetireAfter)
	defer t.Stop()
	select {
	case <-t.C:
	case <-m.stop:
	}
	if err := c.Close(); err != nil {
		m.log.Warn("closing the replaced redis client failed", "error", err)
	}
}

// Status returns the latest probe of the current settings.
func (m *Manager) Status() Status {
	a := m.cur.Load()
	if a == nil {
		return Status{}
	}
	st := m.status.Load()
	if st == nil || st.gen != a.gen {
		return Status{Configured: true}
	}
	return *st
}

// Health reports Redis as one health component: ok with the server version
// and latency, down with the diagnosis and what to check, not_configured
// when no settings were applied. It has the signature of health.Check and
// returns the latest background probe without calling Redis. Redis is not
// critical: when it is down the report is degraded, not down.
func (m *Manager) Health(context.Context) []health.Component {
	c := health.Component{Name: "redis", Kind: "redis"}
	a := m.cur.Load()
	st := m.Status()
	switch {
	case a == nil:
		c.Status = health.StatusNotConfigured
		c.Message = "Redis is not configured (Settings → Redis, or GATEHOUSE_REDIS_ADDR); MCP sessions are kept in memory on this instance"
	case !st.Checked:
		c.Status = health.StatusDegraded
		c.Message = "checking the connection to " + describe(a.settings)
	case st.Diagnosis.OK:
		c.Status = health.StatusOK
		c.Message = st.Diagnosis.Message
	default:
		c.Status = health.StatusDown
		c.Message = st.Diagnosis.Message + " — " + st.Diagnosis.Hint
	}
	return []health.Component{c}
}

// Close stops the probe, closes the current client and any replaced client
// still open, and makes Client return nil. It is safe to call twice.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.stop)
	m.cancel()
	a := m.cur.Swap(nil)
	m.mu.Unlock()
	m.wg.Wait()
	if a == nil {
		return nil
	}
	if err := a.client.Close(); err != nil {
		return fmt.Errorf("close redis client: %w", err)
	}
	m.log.Info("redis client closed")
	return nil
}

// run probes the current client until Close: at once after each Apply, then
// every Interval while Redis answers and every RetryInterval while not.
func (m *Manager) run() {
	defer m.wg.Done()
	t := time.NewTimer(m.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-m.kick:
		case <-t.C:
		}
		t.Reset(m.probe())
	}
}

// probe checks the current client once, records the outcome and logs a
// change of state. It returns when to probe next.
func (m *Manager) probe() time.Duration {
	a := m.cur.Load()
	if a == nil {
		return m.opts.Interval
	}
	dialT, readT, writeT := a.settings.timeouts()
	ctx, cancel := context.WithTimeout(m.ctx, dialT+readT+writeT)
	d := check(ctx, a.client, a.settings, false)
	cancel()
	if m.ctx.Err() != nil {
		return m.opts.Interval
	}
	if m.cur.Load() != a {
		// The settings changed while probing; their own probe is queued.
		return m.opts.RetryInterval
	}
	st := &Status{Configured: true, Checked: true, Diagnosis: d, CheckedAt: time.Now().UTC(), gen: a.gen}
	prev := m.status.Swap(st)
	changed := prev == nil || prev.gen != a.gen || prev.Diagnosis.Code != d.Code
	switch {
	case changed && d.OK:
		m.log.Info("redis reachable", "server_version", d.ServerVersion, "server_mode", d.Mode,
			"latency_ms", d.LatencyMS, "target", describe(a.settings))
	case changed:
		m.log.Warn("redis unreachable; the client keeps retrying", "code", string(d.Code),
			"message", d.Message, "hint", d.Hint, "target", describe(a.settings))
	}
	if d.OK {
		return m.opts.Interval
	}
	return m.opts.RetryInterval
}
