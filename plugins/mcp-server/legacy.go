package main

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/front"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/legacysse"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/session"
)

// legacySessions is the instance's session table as the legacy SSE
// transport sees it.
type legacySessions struct{ in *instance }

// Admit implements legacysse.Sessions.
func (l legacySessions) Admit(w http.ResponseWriter, r *http.Request) (func(), bool) {
	return l.in.admitSession(w, r, nil)
}

// Open implements legacysse.Sessions.
func (l legacySessions) Open(rec session.Record, st *legacysse.Stream) error {
	in := l.in
	s := newLocalSession(in, rec)
	s.sse = st
	// Registered before the endpoint event goes out, so that the client's
	// first POST finds the session.
	in.addSession(s)
	ss, err := in.server.Connect(sessionContext(s), st, nil)
	if err != nil {
		in.logger.Warn("legacy SSE session did not start", "session_id", rec.ID, "error", err)
		return err
	}
	s.ss.Store(ss)
	return nil
}

// Release implements legacysse.Sessions.
func (l legacySessions) Release(id string) {
	if s := l.in.localSession(id); s != nil && s.sse != nil {
		<-l.in.retire(s, true)
	}
}

// Lookup implements legacysse.Sessions.
func (l legacySessions) Lookup(id string) (*legacysse.Stream, string, bool) {
	s := l.in.localSession(id)
	if s == nil {
		return nil, "", false
	}
	return s.sse, s.consumer, true
}

// Message implements legacysse.Sessions: the tools/call fast path.
func (l legacySessions) Message(ctx context.Context, id string, st *legacysse.Stream, msg jsonrpc.Message, h http.Header) bool {
	s := l.in.localSession(id)
	if s == nil || s.sse != st {
		return false
	}
	if c, ok := l.in.fastCallOf(s, msg); ok {
		return l.in.serveFastLegacy(ctx, s, st, c, h)
	}
	noteCancel(s, msg)
	return l.in.rawIntakeMessage(s, msg)
}

// WriteSessionError implements legacysse.Sessions.
func (l legacySessions) WriteSessionError(w http.ResponseWriter, id string, err error) {
	l.in.writeSessionError(w, id, err)
}

// NoteError implements legacysse.Sessions.
func (l legacySessions) NoteError(err error) { l.in.noteError(err) }

// receiveHandoff takes a message another instance received for a session
// whose stream is here. It must not block.
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
	in.legacy.Receive(in.ctx, s.sse, m)
}

// injectAnswers gives the SDK handler a client's answers that another
// instance received, as if the client had posted them here.
func (in *instance) injectAnswers(s *localSession, m session.Message) {
	ctx, cancel := context.WithTimeout(in.ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.path, bytes.NewReader(in.rawIntake(ctx, s, m.Body)))
	if err != nil {
		return
	}
	req.Header = m.Header
	req.Header.Set(front.SessionIDHeader, s.id)
	rw := &recorder{header: http.Header{}}
	in.streamable.ServeHTTP(rw, req)
	if rw.status != http.StatusAccepted {
		in.metrics.handoffs.WithLabelValues(in.name, "dropped").Inc()
		in.logger.Warn("handed-over answer refused", "session_id", s.id, "status", rw.status, "body", rw.body.String())
		return
	}
	in.metrics.handoffs.WithLabelValues(in.name, "received").Inc()
}

var _ legacysse.Sessions = legacySessions{}
