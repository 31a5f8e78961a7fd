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

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/front"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/legacysse"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/mcpproxy"
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
	def     *restmcp.Definition
	rest    *restmcp.Server // the compiled definition (type rest: the tools)
	backend backend         // the REST tools or the proxied MCP server
	host    pluginapi.Host
	logger  *slog.Logger
	opts    options
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
	auth       *front.Authenticator
	door       *front.Door       // origin, auth, routing to the transports
	legacy     *legacysse.Server // legacy HTTP+SSE
	metrics    *metrics
	// fast: tools/call of REST tools takes the fast path (fastpath.go);
	// fastServed counts the calls it served.
	fast       bool
	fastServed atomic.Int64

	stores // shared by the instances: registry, events, handoff, limits
	table  // the sessions held here

	// restoreNow asks watchRegistry to write back every record held here
	// (a record was found missing).
	restoreNow chan struct{}
	health     health

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	// drained is cancelled by Drain (and by Close): long-lived streams end.
	drained context.Context
	drain   context.CancelFunc
	wg      sync.WaitGroup
	closed  atomic.Bool
	// workers run the fast path's calls.
	workers *workers
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
		def:         def,
		rest:        srv,
		host:        host,
		logger:      logger,
		opts:        opts,
		redactor:    redactor,
		owner:       host.InstanceID() + "/" + rand.Text()[:10],
		name:        def.Name,
		path:        strings.TrimSuffix(def.Path, "/"),
		ssePath:     def.SSEPath,
		messagePath: def.MessagePath(),
		table: table{
			sessions: make(map[string]*localSession),
			building: make(map[string]*rebuild),
			closing:  make(map[string]chan struct{}),
		},
		health:     health{redactor: redactor},
		restoreNow: make(chan struct{}, 1),
		ctx:        ctx,
		cancel:     cancel,
	}
	in.drained, in.drain = context.WithCancel(ctx)
	in.workers = newWorkers(ctx, &in.wg)
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
	if in.auth, err = front.NewAuthenticator(def.Auth, in.path, host.HTTPClient, logger); err != nil {
		return nil, err
	}
	if rl := def.RateLimit; rl != nil && rl.ToolCallsPerMinute > 0 {
		in.limiter = session.NewLimiter(host.Redis, opts.memory, rl.ToolCallsPerMinute, time.Minute, rl.FailOpen)
	}
	in.initLimiter = session.NewLimiter(host.Redis, opts.memory, def.Limits().InitializePerMinute, time.Minute, true)
	in.backend = &restTools{in: in, rest: srv}
	if def.Type == restmcp.TypeMCPProxy {
		p, err := mcpproxy.New(def, mcpproxy.Env{
			Ctx:        in.ctx,
			Logger:     logger,
			SDKLogger:  sdkLogger(logger),
			Redactor:   redactor,
			HTTPClient: host.HTTPClient,
			Registry:   in.registry,
			Owner:      in.owner,
			Version:    pluginVersion,
			AllowsTool: srv.AllowsTool,
			NoteError:  in.noteError,
			Push: func(s mcpproxy.Session, method string, params any) bool {
				return in.pushToStreamHolder(s.(*localSession), method, params)
			},
			SessionFrom: func(ctx context.Context) mcpproxy.Session { return proxySession(sessionFrom(ctx)) },
		})
		if err != nil {
			return nil, err
		}
		in.backend = &proxied{p: p}
	}
	in.fast = def.FastPath()
	in.legacy = &legacysse.Server{
		Name:        in.name,
		SSEPath:     in.ssePath,
		MessagePath: in.messagePath,
		Owner:       in.owner,
		MaxBody:     opts.maxBodyBytes,
		HandoffWait: opts.handoffWait,
		Registry:    in.registry,
		Handoff:     in.handoff,
		Sessions:    legacySessions{in},
		Handoffs:    func(result string) { in.metrics.handoffs.WithLabelValues(in.name, result).Inc() },
		Drained:     in.drained,
		Logger:      logger,
	}
	in.door = &front.Door{
		Name:        in.name,
		Path:        in.path,
		SSEPath:     in.ssePath,
		MessagePath: in.messagePath,
		Domains:     def.Domains,
		Enabled:     def.IsEnabled(),
		Peer:        def.Type != restmcp.TypeMCPProxy && srv.ReadsRequest(),
		Auth:        in.auth,
		Streamable:  in.serveStreamable,
		SSE:         in.legacy.ServeSSE,
		Message:     in.legacy.ServeMessage,
		Closed:      in.closed.Load,
		Draining:    func() bool { return in.drained.Err() != nil },
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
		in.door.Serve(w, r, next)
	})
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
	if in.drained.Err() == nil && in.legacy.Detached() > 0 {
		in.logger.Info("configuration changed: legacy SSE streams stay open on the previous version until they end",
			"streams", in.legacy.Detached())
		for _, s := range in.allSessions() {
			if s.sse == nil {
				in.retire(s, false)
			}
		}
		go func() {
			in.legacy.WaitDetached()
			in.shutdown()
		}()
		return nil
	}
	in.shutdown()
	return nil
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
	in.legacy.Wait()
	in.backend.close()
	in.wg.Wait()
	in.events.Close()
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
			if !s.sse.ReleaseIfGone() {
				_ = s.sse.Ping()
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
					_ = s.Update(in.ctx, func(*session.Record) {})
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
		rec := s.Record()
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

// noteError records a serving error for health.
func (in *instance) noteError(err error) { in.health.note(err) }

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
	st := pluginapi.MCPStatus{Name: in.name, Type: in.def.Type, Tools: in.backend.toolCount()}
	in.mu.Lock()
	st.Sessions = len(in.sessions)
	in.mu.Unlock()
	st.LastError, st.LastErrorAt = in.health.last()
	for _, w := range in.rest.Warnings() {
		st.Warnings = append(st.Warnings, pluginapi.ConfigWarning{Field: w.Field, Message: w.Message})
	}
	return st
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
		front.WriteError(w, http.StatusNotFound, rpcID, front.CodeNotFound,
			fmt.Sprintf("session %q not found (expired, ended, or never created): start a new session with initialize", id))
	case errors.Is(err, session.ErrForbidden):
		front.WriteError(w, http.StatusForbidden, rpcID, front.CodeForbidden,
			fmt.Sprintf("session %q belongs to another consumer", id))
	case errors.Is(err, session.ErrUnavailable):
		in.noteError(err)
		in.logger.Error("session store unavailable", "session_id", id, "error", err)
		front.WriteError(w, http.StatusServiceUnavailable, rpcID, front.CodeUnavailable, err.Error())
	default:
		in.noteError(err)
		in.logger.Error("serve session", "session_id", id, "error", err)
		front.WriteError(w, http.StatusInternalServerError, rpcID, front.CodeInternalError, err.Error())
	}
}

var (
	_ pluginapi.Instance       = (*instance)(nil)
	_ pluginapi.SessionCounter = (*instance)(nil)
	_ pluginapi.StatusReporter = (*instance)(nil)
	_ pluginapi.Drainer        = (*instance)(nil)
)
