package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/front"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/legacysse"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/mcpproxy"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/session"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/restmcp"
)

// stores are where sessions live beyond this instance: Redis, or the
// host's shared store without it.
type stores struct {
	registry *session.Registry
	events   *session.EventStore
	handoff  *session.Handoff
	limiter  *session.Limiter // tool calls per consumer; nil: no limit
	// initLimiter counts initialize (new sessions) per client address.
	initLimiter *session.Limiter
}

// table is the sessions this instance holds a copy of.
type table struct {
	mu       sync.Mutex
	sessions map[string]*localSession
	building map[string]*rebuild
	closing  map[string]chan struct{} // sessions being closed, by id
	// initializing counts sessions being created, for the session cap.
	initializing atomic.Int64
}

// health is the last serving error, for the status the admin API shows.
type health struct {
	redactor *restmcp.Redactor
	mu       sync.Mutex
	err      string
	at       time.Time
}

func (h *health) note(err error) {
	msg := h.redactor.Redact(err.Error())
	h.mu.Lock()
	h.err, h.at = msg, time.Now()
	h.mu.Unlock()
}

func (h *health) last() (string, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err, h.at
}

func (in *instance) allSessions() []*localSession {
	in.mu.Lock()
	defer in.mu.Unlock()
	all := make([]*localSession, 0, len(in.sessions))
	for _, s := range in.sessions {
		all = append(all, s)
	}
	return all
}

// legacySessions returns the legacy SSE sessions held here.
func (in *instance) legacySessions() []*localSession {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []*localSession
	for _, s := range in.sessions {
		if s.sse != nil {
			out = append(out, s)
		}
	}
	return out
}

// sessionEndedElsewhere drops the local copy of a session that another
// instance ended (DELETE) or that expired.
func (in *instance) sessionEndedElsewhere(id string) {
	if s := in.localSession(id); s != nil {
		in.retire(s, false)
	}
}

// retire takes s out of service: it leaves the session map at once and is
// closed in the background (closing waits for its requests in flight). A
// rebuild of the same id waits for the close, because the SDK handler
// forgets a closed session by id. With global the session's upstream ends
// too. The returned channel is closed when s is closed.
func (in *instance) retire(s *localSession, global bool) <-chan struct{} {
	done := make(chan struct{})
	in.mu.Lock()
	if in.sessions[s.id] == s {
		delete(in.sessions, s.id)
	}
	prev := in.closing[s.id]
	in.closing[s.id] = done
	in.mu.Unlock()
	// Owned by in.closing: Close waits for every entry.
	go func() {
		if prev != nil {
			<-prev
		}
		s.close(global)
		in.mu.Lock()
		if in.closing[s.id] == done {
			delete(in.closing, s.id)
		}
		in.mu.Unlock()
		close(done)
	}()
	return done
}

func (in *instance) localSession(id string) *localSession {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.sessions[id]
}

func (in *instance) addSession(s *localSession) {
	in.mu.Lock()
	in.sessions[s.id] = s
	in.mu.Unlock()
	if s.counted.CompareAndSwap(false, true) {
		in.metrics.sessions.WithLabelValues(in.name, string(s.transport)).Inc()
	}
}

// localSession is this instance's copy of one MCP session.
type localSession struct {
	id        string
	transport session.Transport
	in        *instance
	consumer  string

	sse *legacysse.Stream // legacy SSE
	ss  atomic.Pointer[mcp.ServerSession]

	recMu sync.Mutex
	rec   session.Record

	upstream mcpproxy.Slot // mcp-proxy, connected on first use
	fast     inflight      // tools/call served by the fast path

	lastUsed   atomic.Int64 // unix nanoseconds
	lastTouch  atomic.Int64
	active     atomic.Int32 // HTTP requests being served
	streams    atomic.Int32 // standalone GET streams attached here
	counted    atomic.Bool  // counted in the active sessions gauge
	initFailed atomic.Bool  // initialize answered but could not be recorded
	closeOnce  sync.Once

	// Notifications pushed by other instances for the standalone stream
	// held here, sent in order by sendPushes.
	pushMu  sync.Mutex
	pushQ   [][]byte
	pushing bool

	// outQ holds, in order, notifications for a stream another instance
	// holds that could not be handed to it yet; outRetrying is set while
	// retryHandoff works through them (see push.go).
	outMu       sync.Mutex
	outQ        [][]byte
	outRetrying bool
}

func newLocalSession(in *instance, rec session.Record) *localSession {
	s := &localSession{id: rec.ID, transport: rec.Transport, in: in, consumer: rec.Consumer, rec: rec}
	now := time.Now().UnixNano()
	s.lastUsed.Store(now)
	s.lastTouch.Store(now)
	return s
}

// ID implements mcpproxy.Session.
func (s *localSession) ID() string { return s.id }

// Streamable implements mcpproxy.Session.
func (s *localSession) Streamable() bool { return s.transport == session.TransportStreamable }

// ServerSession implements mcpproxy.Session.
func (s *localSession) ServerSession() *mcp.ServerSession { return s.ss.Load() }

// Upstream implements mcpproxy.Session.
func (s *localSession) Upstream() *mcpproxy.Slot { return &s.upstream }

// Record returns a copy of the session's registry record.
func (s *localSession) Record() session.Record {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	r := s.rec
	return r
}

// Update changes the record and writes it to the registry. Updates of one
// session are written in order.
func (s *localSession) Update(ctx context.Context, fn func(*session.Record)) error {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	fn(&s.rec)
	if err := s.in.registry.Put(ctx, &s.rec); err != nil {
		s.in.noteError(err)
		return err
	}
	return nil
}

// touch marks the session used and, now and then, refreshes its registry
// time to live. It reports ErrNotFound when the registry lost the session.
func (s *localSession) touch(ctx context.Context) error {
	now := time.Now().UnixNano()
	s.lastUsed.Store(now)
	if time.Duration(now-s.lastTouch.Load()) < s.in.opts.touchEvery {
		return nil
	}
	s.lastTouch.Store(now)
	err := s.in.registry.Touch(ctx, s.id)
	if errors.Is(err, session.ErrNotFound) {
		return s.heal(ctx)
	}
	if errors.Is(err, session.ErrUnavailable) {
		// Serving a session held here does not need Redis.
		s.in.noteError(err)
		return nil
	}
	return err
}

// heal writes the record of a session held here back to the registry
// when the registry lost it (Redis restarted without its data), unless the
// session ended. It returns ErrNotFound for an ended session.
func (s *localSession) heal(ctx context.Context) error {
	ended, err := s.in.registry.Ended(ctx, s.id)
	if err != nil {
		s.in.noteError(err)
		return nil
	}
	if ended {
		return session.ErrNotFound
	}
	if err := s.Update(ctx, func(*session.Record) {}); err != nil {
		return nil // noted by update; the session still works here
	}
	s.in.logger.Info("session record restored in the registry", "session_id", s.id)
	// Redis lost one record: it lost the others held here too.
	s.in.restoreSoon()
	return nil
}

// closeLocal ends this instance's copy; the registry keeps the session.
func (s *localSession) closeLocal() { s.close(false) }

// close ends the local copy; with global it also ends the upstream session
// of an mcp-proxy.
func (s *localSession) close(global bool) {
	s.closeOnce.Do(func() {
		if s.sse != nil {
			_ = s.sse.Close()
		}
		if ss := s.ss.Load(); ss != nil {
			_ = ss.Close()
		}
		s.fast.cancelAll()
		s.upstream.Close(global)
		if s.counted.Load() {
			s.in.metrics.sessions.WithLabelValues(s.in.name, string(s.transport)).Dec()
		}
	})
}

type sessionKey struct{}

// sessionContext is the context a session's handlers run in.
func sessionContext(s *localSession) context.Context {
	ctx := front.WithIdentity(context.Background(), front.Identity{Consumer: s.consumer})
	return context.WithValue(ctx, sessionKey{}, s)
}

func sessionFrom(ctx context.Context) *localSession {
	s, _ := ctx.Value(sessionKey{}).(*localSession)
	return s
}

// bind ties a new streamable session to the SDK session the handler
// created for it.
func (s *localSession) bind(ss *mcp.ServerSession) {
	s.recMu.Lock()
	if s.id == "" {
		s.id = ss.ID()
		s.rec.ID = s.id
	}
	s.recMu.Unlock()
	s.ss.Store(ss)
}
