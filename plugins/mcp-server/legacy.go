package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/session"
)

// serveSSE serves GET <ssePath>: a legacy HTTP+SSE (2024-11-05) session
// that lives as long as this response.
func (in *instance) serveSSE(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		writeJSONRPCError(w, http.StatusMethodNotAllowed, nil, jsonrpcInvalidRequest,
			"the SSE endpoint takes GET; post messages to "+in.messagePath)
		return
	}
	done, ok := in.admitSession(w, r, nil)
	if !ok {
		return
	}
	// Counted as initializing until held (addSession) or failed.
	release := sync.OnceFunc(done)
	defer release()
	ctx := r.Context()
	id := identityFrom(ctx)
	rec := session.Record{
		ID:         rand.Text(),
		Server:     in.name,
		Transport:  session.TransportSSE,
		Owner:      in.owner,
		Consumer:   id.consumer,
		AllowTools: r.Header.Get(allowToolsHeader),
		CreatedAt:  time.Now().UTC(),
	}
	if err := in.registry.Put(ctx, &rec); err != nil {
		in.writeSessionError(w, rec.ID, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set("X-Accel-Buffering", "no")

	s := newLocalSession(in, rec)
	s.sse = newSSETransport(rec.ID, in.messagePath+"?sessionId="+rec.ID, w)
	// An idle stream costs no goroutine of net/http when its connection is
	// taken over; the session then ends in endLegacy, when the stream does.
	detached, err := s.sse.detach(r, h, func() { in.endLegacy(s) })
	if err != nil {
		// The client went away before the header was written.
		in.deleteLegacyRecord(rec.ID)
		return
	}
	if detached {
		in.detachedStreams.Add(1)
		// Registered before the endpoint event goes out, so that the
		// client's first POST finds the session.
		in.addSession(s)
		release()
		ss, err := in.server.Connect(sessionContext(s), s.sse, nil)
		if err != nil {
			in.logger.Warn("legacy SSE session did not start", "session_id", rec.ID, "error", err)
			_ = s.sse.Close()
			return
		}
		s.ss.Store(ss)
		if in.drained.Err() != nil {
			// Drain ran before the session was registered.
			_ = s.sse.Close()
		}
		return
	}

	h.Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	in.addSession(s)
	release()
	defer func() {
		<-in.retire(s, true)
		in.deleteLegacyRecord(rec.ID)
	}()
	ss, err := in.server.Connect(sessionContext(s), s.sse, nil)
	if err != nil {
		in.logger.Warn("legacy SSE session did not start", "session_id", rec.ID, "error", err)
		return
	}
	s.ss.Store(ss)
	select {
	case <-ctx.Done():
	case <-s.sse.done:
	case <-in.drained.Done():
	}
}

// endLegacy releases the session of a taken-over legacy stream that ended
// (closed, drained, or its client went away), as serveSSE does when a
// stream on the handler path ends. It does not block.
func (in *instance) endLegacy(s *localSession) {
	in.legacyEnding.Add(1)
	go func() {
		defer in.legacyEnding.Done()
		<-in.retire(s, true)
		in.deleteLegacyRecord(s.id)
		if in.detachedStreams.Add(-1) == 0 {
			select {
			case in.streamsEnded <- struct{}{}:
			default:
			}
		}
	}()
}

// deleteLegacyRecord removes an ended legacy session from the registry:
// its messages have nowhere to go any more.
func (in *instance) deleteLegacyRecord(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := in.registry.Delete(ctx, id); err != nil {
		in.noteError(err)
	}
}

// serveMessage serves POST <path>/message?sessionId=…: a client message
// for a legacy SSE session, delivered to the instance holding its stream.
func (in *instance) serveMessage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeJSONRPCError(w, http.StatusMethodNotAllowed, nil, jsonrpcInvalidRequest, "the message endpoint takes POST")
		return
	}
	q := r.URL.Query()
	sid := q.Get("sessionId")
	if sid == "" {
		sid = q.Get("sessionid")
	}
	if sid == "" {
		writeJSONRPCError(w, http.StatusBadRequest, nil, jsonrpcInvalidRequest,
			"sessionId query parameter is required: open "+in.ssePath+" first and post to the endpoint it announces")
		return
	}
	if !isJSONContent(r) {
		writeJSONRPCError(w, http.StatusUnsupportedMediaType, nil, jsonrpcInvalidRequest, "Content-Type must be application/json")
		return
	}
	body, ok := in.readBody(w, r)
	if !ok {
		return
	}
	msg, err := jsonrpc.DecodeMessage(body)
	if err != nil {
		writeJSONRPCError(w, http.StatusBadRequest, nil, jsonrpcParseError, "body is not a JSON-RPC message: "+err.Error())
		return
	}
	ctx := r.Context()
	id := identityFrom(ctx)
	if s := in.localSession(sid); s != nil {
		if s.transport != session.TransportSSE {
			in.writeSessionError(w, sid, session.ErrNotFound)
			return
		}
		if s.consumer != id.consumer {
			in.writeSessionError(w, sid, errSessionForbidden)
			return
		}
		setExtra(msg, r.Header)
		if !s.sse.deliver(msg) {
			writeJSONRPCError(w, http.StatusServiceUnavailable, nil, codeUnavailable,
				fmt.Sprintf("session %q cannot take more messages now (closed or %d queued)", sid, maxQueuedMessages))
			return
		}
		w.WriteHeader(http.StatusAccepted)
		return
	}
	rec, err := in.registry.Get(ctx, sid)
	if err == nil && (rec.Server != in.name || rec.Transport != session.TransportSSE) {
		err = session.ErrNotFound
	}
	if err == nil && rec.Consumer != id.consumer {
		err = errSessionForbidden
	}
	if err != nil {
		in.writeSessionError(w, sid, err)
		return
	}
	err = in.handoff.Send(ctx, rec.Owner, session.Message{Session: sid, Body: body, Header: r.Header.Clone()}, in.opts.handoffWait)
	switch {
	case errors.Is(err, session.ErrNoReceiver):
		in.metrics.handoffs.WithLabelValues(in.name, "lost").Inc()
		writeJSONRPCError(w, http.StatusNotFound, nil, codeNotFound,
			fmt.Sprintf("session %q: the instance holding its SSE stream is gone; open %s again", sid, in.ssePath))
	case err != nil:
		in.writeSessionError(w, sid, err)
	default:
		in.metrics.handoffs.WithLabelValues(in.name, "sent").Inc()
		w.WriteHeader(http.StatusAccepted)
	}
}

// receiveHandoff takes a message another instance received for a legacy
// session whose stream is here. It must not block.
func (in *instance) receiveHandoff(m session.Message) {
	if m.Push {
		in.receivePush(m)
		return
	}
	s := in.localSession(m.Session)
	if s != nil && s.sse == nil {
		// Answers to requests this instance sent on a streamable session.
		in.wg.Go(func() { in.injectAnswers(s, m) })
		return
	}
	if s == nil {
		in.metrics.handoffs.WithLabelValues(in.name, "dropped").Inc()
		in.logger.Warn("handed-over message for a session whose stream ended", "session_id", m.Session)
		return
	}
	msg, err := jsonrpc.DecodeMessage(m.Body)
	if err != nil {
		in.logger.Error("drop malformed handed-over message", "session_id", m.Session, "error", err)
		return
	}
	setExtra(msg, m.Header)
	if !s.sse.deliver(msg) {
		in.metrics.handoffs.WithLabelValues(in.name, "dropped").Inc()
		in.logger.Warn("handed-over message dropped: session closed or queue full", "session_id", m.Session)
		return
	}
	in.metrics.handoffs.WithLabelValues(in.name, "received").Inc()
}

// injectAnswers gives the SDK handler a client's answers that another
// instance received, as if the client had posted them here.
func (in *instance) injectAnswers(s *localSession, m session.Message) {
	ctx, cancel := context.WithTimeout(in.ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.path, bytes.NewReader(m.Body))
	if err != nil {
		return
	}
	req.Header = m.Header
	req.Header.Set(sessionIDHeader, s.id)
	rw := &recorder{header: http.Header{}}
	in.streamable.ServeHTTP(rw, req)
	if rw.status != http.StatusAccepted {
		in.metrics.handoffs.WithLabelValues(in.name, "dropped").Inc()
		in.logger.Warn("handed-over answer refused", "session_id", s.id, "status", rw.status, "body", rw.body.String())
		return
	}
	in.metrics.handoffs.WithLabelValues(in.name, "received").Inc()
}

// setExtra gives the message's handlers the header of the POST that
// carried it, as the streamable transport does.
func setExtra(msg jsonrpc.Message, h http.Header) {
	if req, ok := msg.(*jsonrpc.Request); ok {
		req.Extra = &mcp.RequestExtra{Header: h}
	}
}
