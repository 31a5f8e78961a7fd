package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/session"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/restmcp"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// options are the tunables of an instance. The defaults suit production;
// tests shorten them.
type options struct {
	// maxBodyBytes limits a request body (413 beyond).
	maxBodyBytes int64
	// sessionTTL is how long a session lives in the registry after its
	// last use, and how long its events stay resumable.
	sessionTTL time.Duration
	// maxEvents bounds the events kept per stream for resumption.
	maxEvents int64
	// idleTimeout closes a streamable session's local copy after this long
	// without requests; the session stays in the registry.
	idleTimeout time.Duration
	// heartbeat is the period of SSE keep-alive comments and registry
	// refreshes of streams held open.
	heartbeat time.Duration
	// touchEvery throttles registry refreshes on use.
	touchEvery time.Duration
	// registryCheck is how often an instance checks that Redis still has
	// the session records it holds; when Redis lost them (restarted
	// without its data, flushed), the instance writes them back.
	registryCheck time.Duration
	// handoffWait is how long a legacy message waits for the owner of the
	// stream to be subscribed.
	handoffWait time.Duration
	// closeTimeout bounds how long Close waits for in-flight requests.
	closeTimeout time.Duration
	// jsonResponse answers Streamable HTTP requests with application/json
	// instead of an SSE stream; server-to-client messages then travel on
	// the client's GET stream only, and answers cannot be resumed.
	jsonResponse bool
	// memory holds sessions, events, the handoff and rate-limit counters
	// while Redis is not configured; nil: the host's shared store, which
	// every instance of this plugin in the process shares, as instances of
	// several processes share Redis (a configuration change replaces the
	// instances, and the new ones serve the sessions of the old ones).
	memory *session.Memory
}

func defaultOptions() options {
	return options{
		maxBodyBytes:  4 << 20,
		sessionTTL:    30 * time.Minute,
		maxEvents:     1000,
		idleTimeout:   10 * time.Minute,
		heartbeat:     15 * time.Second,
		touchEvery:    30 * time.Second,
		registryCheck: time.Second,
		handoffWait:   time.Second,
		closeTimeout:  30 * time.Second,
	}
}

// instance serves one MCP server definition: Streamable HTTP (sessions and
// stateless), legacy HTTP+SSE, and the protected resource metadata.
type instance struct {
	def    *restmcp.Definition
	rest   *restmcp.Server // the compiled definition (type rest: the tools)
	proxy  *proxy          // type mcp-proxy
	host   pluginapi.Host
	logger *slog.Logger
	opts   options
	// redactor masks the credentials of an mcp-proxy's upstream URL in
	// logs and error messages.
	redactor *restmcp.Redactor
	// owner names this plugin instance in this process among all others
	// sharing Redis or, without Redis, the process memory; it receives
	// handed-over legacy SSE messages.
	owner string

	name        string
	path        string
	ssePath     string
	messagePath string

	server     *mcp.Server
	streamable *mcp.StreamableHTTPHandler // sessions (up to 2025-11-25)
	stateless  *mcp.StreamableHTTPHandler // 2026-07-28 and later
	registry   *session.Registry
	events     *session.EventStore
	handoff    *session.Handoff
	auth       *authenticator
	limiter    *session.Limiter
	// initLimiter counts initialize (new sessions) per client address;
	// initializing counts sessions being created, for the session cap.
	initLimiter  *session.Limiter
	initializing atomic.Int64
	metrics      *metrics

	mu       sync.Mutex
	sessions map[string]*localSession
	building map[string]*rebuild
	closing  map[string]chan struct{} // sessions being closed, by id

	// restoreNow asks watchRegistry to write back every record held here
	// (a record was found missing).
	restoreNow chan struct{}

	lastErrMu sync.Mutex
	lastErr   string
	lastErrAt time.Time

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	// drained is cancelled by Drain (and by Close): long-lived streams end.
	drained context.Context
	drain   context.CancelFunc
	wg      sync.WaitGroup
	closed  atomic.Bool

	// detachedStreams counts the legacy SSE streams whose connection was
	// taken over from net/http (see sseTransport.detach); streamsEnded
	// gets a token when it falls to zero. legacyEnding tracks their
	// sessions being released (endLegacy).
	detachedStreams atomic.Int64
	streamsEnded    chan struct{}
	legacyEnding    sync.WaitGroup
}

// rebuild is a session being rebuilt from the registry; concurrent requests
// for the same session wait for it.
type rebuild struct {
	done chan struct{}
	sess *localSession
	err  error
}

func newInstance(srv *restmcp.Server, host pluginapi.Host, opts options) (_ *instance, err error) {
	def := srv.Definition()
	// The host's logger already names the plugin (its component).
	logger := host.Logger()
	redactor := restmcp.NewRedactor(def.Server.MCPServerURL)
	if !redactor.Empty() {
		logger = slog.New(redactingHandler{h: logger.Handler(), r: redactor})
	}
	logger = logger.With("mcp_server", def.Name)
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{
		def:          def,
		rest:         srv,
		host:         host,
		logger:       logger,
		opts:         opts,
		redactor:     redactor,
		owner:        host.InstanceID() + "/" + rand.Text()[:10],
		name:         def.Name,
		path:         strings.TrimSuffix(def.Path, "/"),
		ssePath:      def.SSEPath,
		messagePath:  def.MessagePath(),
		sessions:     make(map[string]*localSession),
		building:     make(map[string]*rebuild),
		closing:      make(map[string]chan struct{}),
		restoreNow:   make(chan struct{}, 1),
		streamsEnded: make(chan struct{}, 1),
		ctx:          ctx,
		cancel:       cancel,
	}
	in.drained, in.drain = context.WithCancel(ctx)
	defer func() {
		if err != nil {
			_ = in.Close()
		}
	}()
	if in.path == "" {
		in.path = "/"
	}
	if opts.memory == nil {
		opts.memory = session.NewMemory(host.SharedStore())
		in.opts.memory = opts.memory
	}
	in.registry = session.NewRegistry(host.Redis, opts.memory, opts.sessionTTL)
	in.events = session.NewEventStore(host.Redis, opts.memory, opts.sessionTTL, opts.maxEvents)
	in.handoff = session.NewHandoff(host.Redis, opts.memory, in.owner, logger)
	if in.metrics, err = registerMetrics(host.Metrics()); err != nil {
		return nil, err
	}
	if in.auth, err = newAuthenticator(def.Auth, in.path, host.HTTPClient, logger); err != nil {
		return nil, err
	}
	if rl := def.RateLimit; rl != nil && rl.ToolCallsPerMinute > 0 {
		in.limiter = session.NewLimiter(host.Redis, opts.memory, rl.ToolCallsPerMinute, time.Minute, rl.FailOpen)
	}
	in.initLimiter = session.NewLimiter(host.Redis, opts.memory, def.Limits().InitializePerMinute, time.Minute, true)
	if def.Type == restmcp.TypeMCPProxy {
		if in.proxy, err = newProxy(in); err != nil {
			return nil, err
		}
	}
	if in.server, err = in.buildServer(nil); err != nil {
		return nil, err
	}
	in.streamable = mcp.NewStreamableHTTPHandler(in.serverFor, &mcp.StreamableHTTPOptions{
		EventStore:                 in.events,
		JSONResponse:               opts.jsonResponse,
		Logger:                     sdkLogger(logger),
		DisableLocalhostProtection: true, // checked in front, once for every transport
		MaxRequestBodyBytes:        opts.maxBodyBytes,
	})
	in.stateless = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return in.server }, &mcp.StreamableHTTPOptions{
		Stateless:                  true,
		JSONResponse:               opts.jsonResponse,
		Logger:                     sdkLogger(logger),
		DisableLocalhostProtection: true,
		MaxRequestBodyBytes:        opts.maxBodyBytes,
	})

	in.wg.Go(func() { in.handoff.Run(in.ctx, in.receiveHandoff, in.sessionEndedElsewhere) })
	in.wg.Go(in.housekeeping)
	in.wg.Go(in.watchRegistry)
	return in, nil
}

// sdkLogger returns a logger for the SDK, which logs every session at Info.
func sdkLogger(l *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{h: l.Handler(), min: slog.LevelWarn})
}

type levelFilter struct {
	h   slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.h.Enabled(ctx, l)
}
func (f levelFilter) Handle(ctx context.Context, r slog.Record) error { return f.h.Handle(ctx, r) }
func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{h: f.h.WithAttrs(a), min: f.min}
}
func (f levelFilter) WithGroup(n string) slog.Handler {
	return levelFilter{h: f.h.WithGroup(n), min: f.min}
}

// Handler implements pluginapi.Instance. The instance is terminal: it calls
// next only for paths that are not its own.
func (in *instance) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.serveHTTP(w, r, next)
	})
}

func (in *instance) serveHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	p := r.URL.Path
	if in.auth.isMetadataPath(p) {
		in.auth.serveMetadata(w, r)
		return
	}
	var route func(http.ResponseWriter, *http.Request)
	switch {
	case p == in.ssePath:
		route = in.serveSSE
	case p == in.messagePath:
		route = in.serveMessage
	case p == in.path || p == in.path+"/":
		route = in.serveStreamable
	default:
		if next != nil {
			next.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
		return
	}
	if in.closed.Load() {
		writeJSONRPCError(w, http.StatusServiceUnavailable, nil, codeUnavailable,
			fmt.Sprintf("MCP server %q is being reconfigured or stopped; retry", in.name))
		return
	}
	if r.Method == http.MethodGet && in.drained.Err() != nil && (p == in.ssePath || r.Header.Get(protocolVersionHeader) < statelessVersion) {
		// A stream opened now would end at once: send the client elsewhere.
		writeJSONRPCError(w, http.StatusServiceUnavailable, nil, codeUnavailable,
			fmt.Sprintf("MCP server %q on this gateway instance is shutting down; retry to reach another instance", in.name))
		return
	}
	if !in.def.IsEnabled() {
		writeJSONRPCError(w, http.StatusServiceUnavailable, nil, codeUnavailable,
			fmt.Sprintf("MCP server %q is disabled; enable it in the console or with enabled: true", in.name))
		return
	}
	if err := checkHostAndOrigin(r, in.def.Domains); err != nil {
		writeJSONRPCError(w, http.StatusForbidden, nil, codeForbidden, err.Error())
		return
	}
	id, ok := in.auth.authenticate(w, r)
	if !ok {
		return
	}
	// The peer address reaches tools (getRealIP) through the header the SDK
	// hands them; a client cannot set it.
	r.Header.Del(replayHeader)
	r.Header.Set(peerHeader, r.RemoteAddr)
	r = r.WithContext(withIdentity(r.Context(), id))
	route(w, r)
}

// Drain implements pluginapi.Drainer: legacy SSE streams, Streamable HTTP
// GET streams, SSE answers in progress and stateless subscriptions/listen
// streams finish their current event and end, so that clients reconnect
// (resume with Last-Event-ID, or listen again) on another instance. Streamable sessions stay in the registry; requests being served
// go on, and their answers reach the event store for resumption. New
// streams are refused with 503. Close still has to be called.
func (in *instance) Drain() {
	if in.drained.Err() == nil {
		in.logger.Info("ending MCP streams for shutdown")
	}
	in.drain()
	// Legacy streams on the handler path end when their handler sees
	// drained; taken-over ones have no goroutine watching it.
	for _, s := range in.legacySessions() {
		_ = s.sse.Close()
	}
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

// Close implements pluginapi.Instance. Local sessions end; streamable
// sessions stay in the registry so that another instance (or the next
// configuration version) serves them.
//
// Legacy SSE streams whose connection was taken over from net/http hold
// no request on the gateway's table, so the table is retired (and this
// instance closed) by the next configuration change while they are open.
// Unless the instance was drained (shutdown), those streams go on, as
// streams on the handler path do by holding the table: their messages
// reach them through the registry and the handoff like those of any
// other instance, and the instance closes when the last one ends.
func (in *instance) Close() error {
	if !in.closed.CompareAndSwap(false, true) {
		return nil
	}
	if in.drained.Err() == nil && in.detachedStreams.Load() > 0 {
		in.logger.Info("configuration changed: legacy SSE streams stay open on the previous version until they end",
			"streams", in.detachedStreams.Load())
		for _, s := range in.allSessions() {
			if s.sse == nil {
				in.retire(s, false)
			}
		}
		go func() {
			for in.detachedStreams.Load() > 0 {
				<-in.streamsEnded
			}
			in.shutdown()
		}()
		return nil
	}
	in.shutdown()
	return nil
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

// shutdown ends every local session and what runs in the background.
func (in *instance) shutdown() {
	in.cancel()
	for _, s := range in.allSessions() {
		in.retire(s, false)
	}
	in.mu.Lock()
	closing := make([]chan struct{}, 0, len(in.closing))
	for _, done := range in.closing {
		closing = append(closing, done)
	}
	in.mu.Unlock()
	t := time.NewTimer(in.opts.closeTimeout)
	defer t.Stop()
wait:
	for _, done := range closing {
		select {
		case <-done:
		case <-t.C:
			in.logger.Warn("sessions still busy after close timeout; leaving them to finish", "timeout", in.opts.closeTimeout.String())
			break wait
		}
	}
	in.legacyEnding.Wait()
	if in.proxy != nil {
		in.proxy.close()
	}
	in.wg.Wait()
}

// housekeeping keeps legacy streams alive, refreshes the registry for
// streams held open and closes idle local copies of streamable sessions.
func (in *instance) housekeeping() {
	t := time.NewTicker(in.opts.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-in.ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		var keep, held []string
		var idle, legacy []*localSession
		in.mu.Lock()
		for id, s := range in.sessions {
			if s.streams.Load() > 0 {
				held = append(held, id)
			}
			switch {
			case s.sse != nil:
				legacy = append(legacy, s)
				keep = append(keep, id)
			case s.active.Load() > 0:
				keep = append(keep, id)
			case now.Sub(time.Unix(0, s.lastUsed.Load())) > in.opts.idleTimeout:
				idle = append(idle, s)
			}
		}
		in.mu.Unlock()
		// Outside in.mu: a write waits for a slow client. A client that
		// closed its connection is released now; a failed write ends the
		// stream of one that went away otherwise.
		for _, s := range legacy {
			if !s.sse.releaseIfGone() {
				_ = s.sse.ping()
			}
		}
		for _, s := range idle {
			in.retire(s, false)
		}
		if len(held) > 0 {
			ctx, cancel := context.WithTimeout(in.ctx, in.opts.heartbeat)
			if err := in.registry.HoldStreams(ctx, held, in.owner, in.holderTTL()); err != nil {
				in.noteError(err)
			}
			cancel()
		}
		if len(keep) > 0 {
			ctx, cancel := context.WithTimeout(in.ctx, in.opts.heartbeat)
			gone, err := in.registry.TouchMany(ctx, keep)
			cancel()
			if err != nil {
				in.noteError(err)
				continue
			}
			for _, id := range gone {
				s := in.localSession(id)
				if s == nil {
					continue
				}
				if s.sse != nil {
					// Legacy records are written once; restore them.
					_ = s.update(in.ctx, func(*session.Record) {})
					continue
				}
				if err := s.heal(in.ctx); errors.Is(err, session.ErrNotFound) {
					// Deleted elsewhere while a stream was open here.
					in.sessionEndedElsewhere(id)
				}
			}
		}
	}
}

// aliveTTL is how long the registry remembers that an instance checked
// it (see session.Registry.MarkAlive): long enough that a slow check is
// not taken for lost data; a false alarm only costs a restore that writes
// nothing.
func (in *instance) aliveTTL() time.Duration {
	return max(30*time.Second, 10*in.opts.registryCheck)
}

// watchRegistry writes the records of the sessions held here back to the
// registry as soon as Redis is found to have lost them: it restarted
// without its data, was flushed, or the configured Redis changed. Without
// this another instance would answer 404 for those sessions until the
// next heartbeat or touch rewrote each record.
func (in *instance) watchRegistry() {
	t := time.NewTicker(in.opts.registryCheck)
	defer t.Stop()
	pending := false // a restore failed: retry on the next check
	for {
		force := false
		select {
		case <-in.ctx.Done():
			return
		case <-t.C:
		case <-in.restoreNow:
			force = true
		}
		if !in.registry.Remote() {
			// Memory loses nothing.
			continue
		}
		ctx, cancel := context.WithTimeout(in.ctx, 5*time.Second)
		lost, err := in.registry.MarkAlive(ctx, in.owner, in.aliveTTL())
		if err == nil && (lost || force || pending) {
			err = in.restoreRecords(ctx)
			pending = err != nil
		}
		cancel()
		if err != nil {
			// Noted for health; requests report Redis errors themselves.
			in.noteError(err)
		}
	}
}

// restoreRecords writes back the registry records of the sessions held
// here that the registry lost.
func (in *instance) restoreRecords(ctx context.Context) error {
	in.mu.Lock()
	recs := make([]*session.Record, 0, len(in.sessions))
	var held []string
	for _, s := range in.sessions {
		rec := s.record()
		if rec.ID == "" {
			continue
		}
		recs = append(recs, &rec)
		if s.streams.Load() > 0 {
			held = append(held, rec.ID)
		}
	}
	in.mu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	n, err := in.registry.Restore(ctx, recs)
	if n > 0 {
		in.logger.Info("session records restored in the registry after Redis lost them", "sessions", n)
	}
	return errors.Join(err, in.registry.HoldStreams(ctx, held, in.owner, in.holderTTL()))
}

// restoreSoon asks watchRegistry to restore every record held here now.
func (in *instance) restoreSoon() {
	select {
	case in.restoreNow <- struct{}{}:
	default:
	}
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

// noteError records a serving error for health.
func (in *instance) noteError(err error) {
	in.lastErrMu.Lock()
	in.lastErr = in.redactor.Redact(err.Error())
	in.lastErrAt = time.Now()
	in.lastErrMu.Unlock()
}

// ActiveSessions implements pluginapi.SessionCounter.
func (in *instance) ActiveSessions() map[string]int {
	out := map[string]int{string(session.TransportStreamable): 0, string(session.TransportSSE): 0}
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, s := range in.sessions {
		out[string(s.transport)]++
	}
	return out
}

// MCPStatus implements pluginapi.StatusReporter.
func (in *instance) MCPStatus() pluginapi.MCPStatus {
	st := pluginapi.MCPStatus{Name: in.name, Type: in.def.Type, Tools: len(in.rest.Tools())}
	if in.proxy != nil {
		st.Tools = in.proxy.toolCount()
	}
	in.mu.Lock()
	st.Sessions = len(in.sessions)
	in.mu.Unlock()
	in.lastErrMu.Lock()
	st.LastError, st.LastErrorAt = in.lastErr, in.lastErrAt
	in.lastErrMu.Unlock()
	for _, w := range in.rest.Warnings() {
		st.Warnings = append(st.Warnings, pluginapi.ConfigWarning{Field: w.Field, Message: w.Message})
	}
	return st
}

// localSession is this instance's copy of one MCP session.
type localSession struct {
	id        string
	transport session.Transport
	in        *instance
	consumer  string

	sse *sseTransport // legacy SSE
	ss  atomic.Pointer[mcp.ServerSession]

	recMu sync.Mutex
	rec   session.Record

	upMu sync.Mutex
	up   *upstream // mcp-proxy, created on first use

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

// record returns a copy of the session's registry record.
func (s *localSession) record() session.Record {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	r := s.rec
	return r
}

// update changes the record and writes it to the registry. Updates of one
// session are written in order.
func (s *localSession) update(ctx context.Context, fn func(*session.Record)) error {
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
	if err := s.update(ctx, func(*session.Record) {}); err != nil {
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
		s.upMu.Lock()
		up := s.up
		s.up = nil
		s.upMu.Unlock()
		if up != nil {
			up.close(global)
		}
		if s.counted.Load() {
			s.in.metrics.sessions.WithLabelValues(s.in.name, string(s.transport)).Dec()
		}
	})
}

// identity is who sent a request, as authentication found.
type identity struct {
	consumer string
}

type identityKey struct{}

func withIdentity(ctx context.Context, id identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

func identityFrom(ctx context.Context) identity {
	id, _ := ctx.Value(identityKey{}).(identity)
	return id
}

type sessionKey struct{}

// sessionContext is the context a session's handlers run in.
func sessionContext(s *localSession) context.Context {
	ctx := withIdentity(context.Background(), identity{consumer: s.consumer})
	return context.WithValue(ctx, sessionKey{}, s)
}

func sessionFrom(ctx context.Context) *localSession {
	s, _ := ctx.Value(sessionKey{}).(*localSession)
	return s
}

// JSON-RPC error codes the front uses besides the standard ones.
const (
	codeUnavailable = -32001 // a store or upstream is unavailable
	codeForbidden   = -32003
	codeNotFound    = -32004 // session not found
	codeRateLimited = -32029
)

// writeJSONRPCError writes a JSON-RPC error response with an HTTP status.
func writeJSONRPCError(w http.ResponseWriter, status int, id json.RawMessage, code int, msg string) {
	if id == nil {
		id = json.RawMessage("null")
	}
	body, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}{JSONRPC: "2.0", ID: id, Error: struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, msg}})
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeSessionError answers a failed session lookup.
func (in *instance) writeSessionError(w http.ResponseWriter, id string, err error) {
	in.writeSessionErrorFor(w, id, nil, err)
}

// writeSessionErrorFor answers a failed session lookup for the JSON-RPC
// request rpcID (nil when unknown).
func (in *instance) writeSessionErrorFor(w http.ResponseWriter, id string, rpcID json.RawMessage, err error) {
	switch {
	case errors.Is(err, session.ErrNotFound):
		writeJSONRPCError(w, http.StatusNotFound, rpcID, codeNotFound,
			fmt.Sprintf("session %q not found (expired, ended, or never created): start a new session with initialize", id))
	case errors.Is(err, errSessionForbidden):
		writeJSONRPCError(w, http.StatusForbidden, rpcID, codeForbidden,
			fmt.Sprintf("session %q belongs to another consumer", id))
	case errors.Is(err, session.ErrUnavailable):
		in.noteError(err)
		in.logger.Error("session store unavailable", "session_id", id, "error", err)
		writeJSONRPCError(w, http.StatusServiceUnavailable, rpcID, codeUnavailable, err.Error())
	default:
		in.noteError(err)
		in.logger.Error("serve session", "session_id", id, "error", err)
		writeJSONRPCError(w, http.StatusInternalServerError, rpcID, jsonrpcInternalError, err.Error())
	}
}

const jsonrpcInternalError = -32603

var errSessionForbidden = errors.New("session belongs to another consumer")

var (
	_ pluginapi.Instance       = (*instance)(nil)
	_ pluginapi.SessionCounter = (*instance)(nil)
	_ pluginapi.StatusReporter = (*instance)(nil)
	_ pluginapi.Drainer        = (*instance)(nil)
)

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
