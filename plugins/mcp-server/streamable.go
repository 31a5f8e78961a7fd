package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/front"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/session"
)

// metaProtocolKey is the _meta key of a stateless (2026-07-28) request.
const metaProtocolKey = "io.modelcontextprotocol/protocolVersion"

// supportedVersions are the protocol versions the SDK serves (its
// SupportedProtocolVersions copies them on every call).
var supportedVersions = mcp.SupportedProtocolVersions()

// serveStreamable serves POST, GET and DELETE at the server's path.
func (in *instance) serveStreamable(w http.ResponseWriter, r *http.Request) {
	pv := r.Header.Get(front.ProtocolVersionHeader)
	if pv != "" && pv < front.StatelessVersion && !slices.Contains(supportedVersions, pv) {
		front.WriteError(w, http.StatusBadRequest, nil, front.CodeInvalidRequest,
			fmt.Sprintf("unsupported %s %q; supported: %s", front.ProtocolVersionHeader, pv, strings.Join(supportedVersions, ", ")))
		return
	}
	if pv >= front.StatelessVersion {
		// 2026-07-28 and later: every request stands alone.
		in.serveStateless(w, r, nil)
		return
	}
	switch r.Method {
	case http.MethodPost:
		in.servePOST(w, r)
	case http.MethodGet:
		in.serveGET(w, r)
	case http.MethodDelete:
		in.serveDELETE(w, r)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		front.WriteError(w, http.StatusMethodNotAllowed, nil, front.CodeInvalidRequest, "method not allowed: use POST, GET or DELETE")
	}
}

// serveStateless serves a request of the stateless protocol (2026-07-28).
// body is the request body when the caller read it already, else nil. A
// subscriptions/listen request holds its answer open as long as the
// subscription lasts: Drain ends it after its current event, like the
// streams of sessions, so that the client listens again on another
// instance; while draining, new ones are refused with 503.
func (in *instance) serveStateless(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method == http.MethodPost {
		if body == nil {
			var ok bool
			if body, ok = front.ReadBody(w, r, in.opts.maxBodyBytes); !ok {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		if c, ok := in.statelessFastCall(r, body); ok {
			in.serveFastStateless(w, r, c)
			return
		}
		if id, ok := listenRequest(body); ok {
			if in.drained.Err() != nil {
				front.WriteError(w, http.StatusServiceUnavailable, id, front.CodeUnavailable,
					fmt.Sprintf("MCP server %q on this gateway instance is shutting down; retry to reach another instance", in.name))
				return
			}
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			stop := context.AfterFunc(in.drained, cancel)
			defer stop()
			r = r.WithContext(ctx)
		}
	}
	in.stateless.ServeHTTP(w, r)
}

// listenMethod opens a stream that lasts as long as a subscription.
const listenMethod = "subscriptions/listen"

// listenRequest reports whether body (one JSON-RPC message or a batch)
// holds a subscriptions/listen request, and returns its id.
func listenRequest(body []byte) (json.RawMessage, bool) {
	if !bytes.Contains(body, []byte(listenMethod)) {
		return nil, false
	}
	type msg struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	var msgs []msg
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if json.Unmarshal(trimmed, &msgs) != nil {
			return nil, false
		}
	} else {
		var m msg
		if json.Unmarshal(trimmed, &m) != nil {
			return nil, false
		}
		msgs = []msg{m}
	}
	for _, m := range msgs {
		if m.Method == listenMethod && m.ID != nil {
			return m.ID, true
		}
	}
	return nil, false
}

// bodyKind says what a POST without a session id carries.
type bodyKind int

const (
	kindOther bodyKind = iota
	kindInitialize
	kindStateless
	kindMalformed
)

// classify looks at the JSON-RPC message(s) of a POST without a session.
// It returns the kind, the id of the first message and the params of an
// initialize request.
func classify(body []byte) (bodyKind, json.RawMessage, json.RawMessage) {
	type msg struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	var msgs []msg
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &msgs); err != nil || len(msgs) == 0 {
			return kindMalformed, nil, nil
		}
	} else {
		var m msg
		if err := json.Unmarshal(trimmed, &m); err != nil {
			return kindMalformed, nil, nil
		}
		msgs = []msg{m}
	}
	kind := kindOther
	var params json.RawMessage
	for _, m := range msgs {
		if m.Method == "" && m.ID == nil {
			return kindMalformed, nil, nil
		}
		var p struct {
			Meta map[string]any `json:"_meta"`
		}
		_ = json.Unmarshal(m.Params, &p)
		if _, ok := p.Meta[metaProtocolKey]; ok || m.Method == "server/discover" {
			return kindStateless, m.ID, nil
		}
		if m.Method == "initialize" {
			kind, params = kindInitialize, m.Params
		}
	}
	return kind, msgs[0].ID, params
}

func (in *instance) servePOST(w http.ResponseWriter, r *http.Request) {
	if !front.IsJSONContent(r) {
		front.WriteError(w, http.StatusUnsupportedMediaType, nil, front.CodeInvalidRequest, "Content-Type must be application/json")
		return
	}
	if jsonOK, sseOK := front.Accepts(r); !jsonOK || !sseOK {
		front.WriteError(w, http.StatusNotAcceptable, nil, front.CodeInvalidRequest,
			"Accept must list both application/json and text/event-stream")
		return
	}
	sid := r.Header.Get(front.SessionIDHeader)
	if sid == "" {
		body, ok := front.ReadBody(w, r, in.opts.maxBodyBytes)
		if !ok {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		kind, id, params := classify(body)
		switch kind {
		case kindMalformed:
			front.WriteError(w, http.StatusBadRequest, nil, front.CodeParseError, "body is not a JSON-RPC message")
		case kindStateless:
			in.serveStateless(w, r, body)
		case kindInitialize:
			in.newStreamableSession(w, r, id, params)
		default:
			front.WriteError(w, http.StatusBadRequest, id, front.CodeInvalidRequest,
				"Mcp-Session-Id header is required: send initialize first to start a session")
		}
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, in.opts.maxBodyBytes)
	s, err := in.lookup(r.Context(), sid, front.IdentityFrom(r.Context()))
	if err != nil {
		in.writeSessionError(w, sid, err)
		return
	}
	if err := s.touch(r.Context()); err != nil {
		in.sessionEndedElsewhere(sid)
		in.writeSessionError(w, sid, err)
		return
	}
	if in.backend.stateful() {
		body, ok := front.ReadBody(w, r, in.opts.maxBodyBytes)
		if !ok {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if in.forwardAnswers(r, sid, body) {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		if body = in.rawIntake(r.Context(), s, body); body == nil {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	s.active.Add(1)
	defer s.active.Add(-1)
	if in.fast && len(r.Header.Values("Last-Event-ID")) == 0 {
		body, ok := in.readSDKBody(w, r)
		if !ok {
			return
		}
		if msg, ok := fastMessage(body); ok {
			if c, ok := in.fastCallOf(s, msg); ok {
				// It ends an SSE answer at drain itself.
				in.serveFastPOST(w, r, s, c)
				return
			}
		} else if bytes.Contains(body, []byte(`"notifications/cancelled"`)) {
			if msg, err := jsonrpc.DecodeMessage(body); err == nil {
				noteCancel(s, msg)
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if !in.opts.jsonResponse && in.drained.Err() == nil {
		// Drain ends the SSE answer; the client resumes it elsewhere with
		// Last-Event-ID while the request finishes here.
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		stop := context.AfterFunc(in.drained, cancel)
		defer stop()
		r = r.WithContext(ctx)
	}
	in.streamable.ServeHTTP(w, r)
}

// forwardAnswers hands a client's answers to server-to-client requests to
// the instance that sent those requests, when that is another instance. It
// reports whether it did.
func (in *instance) forwardAnswers(r *http.Request, sid string, body []byte) bool {
	if !answersOnly(body) {
		return false
	}
	ctx := r.Context()
	owner, err := in.registry.Requester(ctx, sid)
	if err != nil || owner == "" || owner == in.owner {
		return false
	}
	if err := in.handoff.Send(ctx, owner, session.Message{Session: sid, Body: body, Header: r.Header.Clone()}, in.opts.handoffWait); err != nil {
		in.metrics.handoffs.WithLabelValues(in.name, "lost").Inc()
		return false
	}
	in.metrics.handoffs.WithLabelValues(in.name, "sent").Inc()
	return true
}

// answersOnly reports whether body holds only JSON-RPC responses.
func answersOnly(body []byte) bool {
	if !bytes.Contains(body, []byte(`"result"`)) && !bytes.Contains(body, []byte(`"error"`)) {
		return false
	}
	type msg struct {
		ID     json.RawMessage `json:"id"`
		Method *string         `json:"method"`
	}
	var msgs []msg
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if json.Unmarshal(trimmed, &msgs) != nil {
			return false
		}
	} else {
		var m msg
		if json.Unmarshal(trimmed, &m) != nil {
			return false
		}
		msgs = []msg{m}
	}
	for _, m := range msgs {
		if m.Method != nil || m.ID == nil {
			return false
		}
	}
	return len(msgs) > 0
}

// newStreamableSession starts a session with the initialize request in r.
// The SDK handler creates the session; the initialize middleware binds it
// to s and registers it (see instance.receive).
func (in *instance) newStreamableSession(w http.ResponseWriter, r *http.Request, rpcID, params json.RawMessage) {
	done, ok := in.admitSession(w, r, rpcID)
	if !ok {
		return
	}
	defer done()
	ctx := r.Context()
	if err := in.registry.Ping(ctx); err != nil {
		in.writeSessionErrorFor(w, "", rpcID, err)
		return
	}
	id := front.IdentityFrom(ctx)
	s := newLocalSession(in, session.Record{
		Server:           in.name,
		Transport:        session.TransportStreamable,
		Owner:            in.owner,
		Consumer:         id.Consumer,
		AllowTools:       r.Header.Get(front.AllowToolsHeader),
		InitializeParams: params,
		CreatedAt:        time.Now().UTC(),
	})
	s.active.Add(1)
	in.streamable.ServeHTTP(w, r.WithContext(context.WithValue(ctx, sessionKey{}, s)))
	s.active.Add(-1)
	ss := s.ss.Load()
	if ss != nil && (ss.InitializeParams() == nil || s.initFailed.Load()) {
		// initialize failed (bad params, upstream down, registry down):
		// nothing to keep.
		in.endSession(context.WithoutCancel(ctx), s)
	}
}

// lookup returns this instance's copy of session sid, rebuilding it from
// the registry when another instance created it.
func (in *instance) lookup(ctx context.Context, sid string, id front.Identity) (*localSession, error) {
	in.mu.Lock()
	for {
		if s := in.sessions[sid]; s != nil {
			in.mu.Unlock()
			if s.transport != session.TransportStreamable {
				return nil, session.ErrNotFound
			}
			if s.consumer != id.Consumer {
				return nil, session.ErrForbidden
			}
			return s, nil
		}
		done := in.closing[sid]
		if done == nil {
			break
		}
		// A copy is closing: rebuild after it is gone.
		in.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		in.mu.Lock()
	}
	b := in.building[sid]
	if b == nil {
		b = &rebuild{done: make(chan struct{})}
		in.building[sid] = b
		in.mu.Unlock()
		b.sess, b.err = in.rebuild(ctx, sid)
		in.mu.Lock()
		delete(in.building, sid)
		if b.err == nil {
			if cur := in.sessions[sid]; cur != nil {
				// Added meanwhile (cannot happen for streamable today).
				b.sess = cur
			} else {
				in.sessions[sid] = b.sess
			}
		}
		in.mu.Unlock()
		close(b.done)
		if b.err == nil {
			b.sess.counted.Store(true)
			in.metrics.sessions.WithLabelValues(in.name, string(b.sess.transport)).Inc()
		}
	} else {
		in.mu.Unlock()
		select {
		case <-b.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if b.err != nil {
		return nil, b.err
	}
	if b.sess.consumer != id.Consumer {
		return nil, session.ErrForbidden
	}
	return b.sess, nil
}

// rebuild recreates a session this instance does not hold from its
// registry record: the SDK handler sees the client's initialize again (and
// its initialized notification and log level), answered by a server whose
// next session id is the recorded one. The answers go nowhere.
func (in *instance) rebuild(ctx context.Context, sid string) (*localSession, error) {
	rec, err := in.registry.Get(ctx, sid)
	if err != nil {
		return nil, err
	}
	if rec.Server != in.name || rec.Transport != session.TransportStreamable || rec.State == nil {
		// Another server's session, a legacy SSE session (bound to its
		// stream), or one whose initialize never succeeded.
		return nil, session.ErrNotFound
	}
	params := rec.InitializeParams
	if len(params) == 0 {
		if params, err = json.Marshal(rec.State.InitializeParams); err != nil {
			return nil, fmt.Errorf("rebuild session: %w", err)
		}
	}
	srv, err := in.buildServer(func() string { return sid })
	if err != nil {
		return nil, fmt.Errorf("rebuild session: %w", err)
	}
	s := newLocalSession(in, *rec)
	base := context.WithValue(sessionContext(s), rebuildServerKey{}, srv)
	version := rec.State.NegotiatedProtocolVersion

	status, hdr, body := in.replay(base, "", "", `{"jsonrpc":"2.0","id":"gatehouse-rebuild","method":"initialize","params":`+string(params)+`}`)
	if status != http.StatusOK || hdr.Get(front.SessionIDHeader) != sid {
		if ss := s.ss.Load(); ss != nil {
			_ = ss.Close()
		}
		return nil, fmt.Errorf("rebuild session %q: replayed initialize answered HTTP %d: %s", sid, status, body)
	}
	steps := []struct {
		when   bool
		body   string
		status int
	}{
		{rec.State.InitializedParams != nil, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, http.StatusAccepted},
		{rec.State.LogLevel != "", `{"jsonrpc":"2.0","id":"gatehouse-rebuild-level","method":"logging/setLevel","params":{"level":` + strconv.Quote(string(rec.State.LogLevel)) + `}}`, http.StatusOK},
	}
	for _, st := range steps {
		if !st.when {
			continue
		}
		if status, _, body := in.replay(base, sid, version, st.body); status != st.status {
			s.closeLocal()
			return nil, fmt.Errorf("rebuild session %q: replay answered HTTP %d: %s", sid, status, body)
		}
	}
	in.metrics.rebuilds.WithLabelValues(in.name).Inc()
	in.logger.Debug("session rebuilt from registry", "session_id", sid, "created_by", rec.Owner)
	return s, nil
}

type rebuildServerKey struct{}

// serverFor is the SDK handler's getServer: the instance's server, or the
// one of a session being rebuilt.
func (in *instance) serverFor(r *http.Request) *mcp.Server {
	if srv, ok := r.Context().Value(rebuildServerKey{}).(*mcp.Server); ok {
		return srv
	}
	return in.server
}

// replay sends one message to the SDK handler as if a client had, and
// returns the answer.
func (in *instance) replay(ctx context.Context, sid, version, body string) (int, http.Header, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(front.ReplayHeader, "1")
	if sid != "" {
		req.Header.Set(front.SessionIDHeader, sid)
	}
	if version != "" {
		req.Header.Set(front.ProtocolVersionHeader, version)
	}
	rw := &recorder{header: http.Header{}}
	in.streamable.ServeHTTP(rw, req)
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	return rw.status, rw.header, rw.body.String()
}

// recorder is a ResponseWriter that keeps the status, header and the
// start of the body.
type recorder struct {
	header http.Header
	status int
	body   strings.Builder
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	if r.body.Len() < 4096 {
		r.body.Write(b[:min(len(b), 4096-r.body.Len())])
	}
	return len(b), nil
}
func (r *recorder) Flush() {}

func (in *instance) serveGET(w http.ResponseWriter, r *http.Request) {
	if _, sseOK := front.Accepts(r); !sseOK {
		front.WriteError(w, http.StatusNotAcceptable, nil, front.CodeInvalidRequest, "Accept must list text/event-stream for GET")
		return
	}
	sid := r.Header.Get(front.SessionIDHeader)
	if sid == "" {
		front.WriteError(w, http.StatusBadRequest, nil, front.CodeInvalidRequest,
			"GET needs an Mcp-Session-Id header (or use the legacy SSE endpoint "+in.ssePath+")")
		return
	}
	s, err := in.lookup(r.Context(), sid, front.IdentityFrom(r.Context()))
	if err != nil {
		in.writeSessionError(w, sid, err)
		return
	}
	if err := s.touch(r.Context()); err != nil {
		in.sessionEndedElsewhere(sid)
		in.writeSessionError(w, sid, err)
		return
	}
	s.active.Add(1)
	defer func() {
		s.active.Add(-1)
		s.lastUsed.Store(time.Now().UnixNano())
	}()
	// End the stream when the instance drains or stops, so that the client
	// resumes elsewhere.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(in.drained, cancel)
	defer stop()
	if isStandaloneGET(r.Header.Values("Last-Event-ID")) {
		// Other instances push the session's notifications here.
		release := in.holdStream(ctx, s)
		defer release()
	}
	in.streamable.ServeHTTP(w, r.WithContext(ctx))
}

func (in *instance) serveDELETE(w http.ResponseWriter, r *http.Request) {
	sid := r.Header.Get(front.SessionIDHeader)
	if sid == "" {
		front.WriteError(w, http.StatusBadRequest, nil, front.CodeInvalidRequest, "DELETE needs an Mcp-Session-Id header")
		return
	}
	ctx := r.Context()
	id := front.IdentityFrom(ctx)
	s := in.localSession(sid)
	if s == nil {
		rec, err := in.registry.Get(ctx, sid)
		if err == nil && (rec.Server != in.name || rec.Transport != session.TransportStreamable) {
			err = session.ErrNotFound
		}
		if err == nil && rec.Consumer != id.Consumer {
			err = session.ErrForbidden
		}
		if err != nil {
			in.writeSessionError(w, sid, err)
			return
		}
		if in.backend.stateful() {
			// Rebuild, to end the upstream session too.
			if s, err = in.lookup(ctx, sid, id); err != nil {
				in.writeSessionError(w, sid, err)
				return
			}
		}
	} else if s.consumer != id.Consumer || s.transport != session.TransportStreamable {
		in.writeSessionError(w, sid, session.ErrForbidden)
		return
	}
	if s != nil && in.backend.stateful() {
		// Resume the upstream session if this copy never used it, so that
		// ending the session ends it upstream.
		if err := in.backend.endSession(ctx, s); err != nil {
			in.logger.Warn("upstream session not ended; the upstream will expire it", "session_id", sid, "error", err)
		}
	}
	if s != nil {
		in.endSession(ctx, s)
	} else if err := in.forgetSession(ctx, sid); err != nil {
		in.writeSessionError(w, sid, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// endSession ends a session for good: locally, in the registry, its events,
// on other instances and upstream.
func (in *instance) endSession(ctx context.Context, s *localSession) {
	<-in.retire(s, true)
	if err := in.forgetSession(ctx, s.id); err != nil {
		in.noteError(err)
		in.logger.Warn("session ended locally but not in the registry; it will expire", "session_id", s.id, "error", err)
	}
}

func (in *instance) forgetSession(ctx context.Context, sid string) error {
	return errors.Join(
		in.registry.Delete(ctx, sid),
		in.events.Delete(ctx, sid),
		in.handoff.PublishClosed(ctx, sid),
	)
}
