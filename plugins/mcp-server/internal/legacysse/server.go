// Package legacysse is the legacy HTTP+SSE transport (protocol 2024-11-05):
// GET <ssePath> opens a stream that announces where to post messages, and
// POST <path>/message?sessionId=… delivers a client message to the stream's
// session, on this instance or, through the session handoff, on the
// instance holding the stream.
package legacysse

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/front"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/session"
)

// Sessions is what the transport needs from the plugin's table of local
// sessions.
type Sessions interface {
	// Admit decides whether the client of r may open one more session; when
	// it may not, it answers itself. On true, done must be called once the
	// session is held or has failed.
	Admit(w http.ResponseWriter, r *http.Request) (done func(), ok bool)
	// Open holds a new legacy session for rec whose messages go through st,
	// before the endpoint event goes out, and connects the MCP server to
	// it (which sends the endpoint event).
	Open(rec session.Record, st *Stream) error
	// Release takes the legacy session id held here out of service and
	// returns once it is closed.
	Release(id string)
	// Lookup returns the stream and consumer of a session held here;
	// found is false when no session id is held here, and st is nil for a
	// session of another transport.
	Lookup(id string) (st *Stream, consumer string, found bool)
	// Message may take a client message for a legacy session held here and
	// serve it itself (the tools/call fast path), answering on st; it
	// reports whether it did. It must not block.
	Message(ctx context.Context, id string, st *Stream, msg jsonrpc.Message, header http.Header) bool
	// WriteSessionError answers a failed session lookup.
	WriteSessionError(w http.ResponseWriter, id string, err error)
	// NoteError records a serving error for health.
	NoteError(err error)
}

// Server serves the legacy transport of one MCP server.
type Server struct {
	Name        string
	SSEPath     string
	MessagePath string
	Owner       string
	MaxBody     int64
	HandoffWait time.Duration
	Registry    *session.Registry
	Handoff     *session.Handoff
	Sessions    Sessions
	// Handoffs counts handed-over messages by result (sent, lost,
	// received, dropped).
	Handoffs func(result string)
	// Drained is cancelled when the instance drains: streams end.
	Drained context.Context
	Logger  *slog.Logger

	// detached counts the streams whose connection was taken over from
	// net/http (see Stream.Detach); ended gets a token when it falls to
	// zero. ending tracks their sessions being released.
	detached atomic.Int64
	ended    chan struct{}
	ending   sync.WaitGroup
	initOnce sync.Once
}

func (s *Server) init() {
	s.initOnce.Do(func() { s.ended = make(chan struct{}, 1) })
}

// Detached returns the number of open streams whose connection was taken
// over from net/http: they hold no request of the gateway.
func (s *Server) Detached() int64 { return s.detached.Load() }

// WaitDetached returns once no taken-over stream is open.
func (s *Server) WaitDetached() {
	s.init()
	for s.detached.Load() > 0 {
		<-s.ended
	}
}

// Wait waits for the sessions of ended streams to be released.
func (s *Server) Wait() { s.ending.Wait() }

// ServeSSE serves GET <ssePath>: a legacy HTTP+SSE (2024-11-05) session
// that lives as long as this response.
func (s *Server) ServeSSE(w http.ResponseWriter, r *http.Request) {
	s.init()
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		front.WriteError(w, http.StatusMethodNotAllowed, nil, front.CodeInvalidRequest,
			"the SSE endpoint takes GET; post messages to "+s.MessagePath)
		return
	}
	done, ok := s.Sessions.Admit(w, r)
	if !ok {
		return
	}
	// Counted as initializing until held or failed.
	release := sync.OnceFunc(done)
	defer release()
	ctx := r.Context()
	id := front.IdentityFrom(ctx)
	rec := session.Record{
		ID:         rand.Text(),
		Server:     s.Name,
		Transport:  session.TransportSSE,
		Owner:      s.Owner,
		Consumer:   id.Consumer,
		AllowTools: r.Header.Get(front.AllowToolsHeader),
		CreatedAt:  time.Now().UTC(),
	}
	if err := s.Registry.Put(ctx, &rec); err != nil {
		s.Sessions.WriteSessionError(w, rec.ID, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set("X-Accel-Buffering", "no")

	st := NewStream(rec.ID, s.MessagePath+"?sessionId="+rec.ID, w)
	// An idle stream costs no goroutine of net/http when its connection is
	// taken over; the session then ends in endDetached, when the stream
	// does.
	detached, err := st.Detach(r, h, func() { s.endDetached(rec.ID) })
	if err != nil {
		// The client went away before the header was written.
		s.deleteRecord(rec.ID)
		return
	}
	if detached {
		s.detached.Add(1)
		err := s.Sessions.Open(rec, st)
		release()
		if err != nil {
			_ = st.Close()
			return
		}
		if s.Drained.Err() != nil {
			// Drain ran before the session was registered.
			_ = st.Close()
		}
		return
	}

	h.Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	err = s.Sessions.Open(rec, st)
	release()
	defer func() {
		s.Sessions.Release(rec.ID)
		s.deleteRecord(rec.ID)
	}()
	if err != nil {
		return
	}
	select {
	case <-ctx.Done():
	case <-st.Done():
	case <-s.Drained.Done():
	}
}

// endDetached releases the session of a taken-over stream that ended
// (closed, drained, or its client went away), as ServeSSE does when a
// stream on the handler path ends. It does not block.
func (s *Server) endDetached(id string) {
	s.ending.Add(1)
	go func() {
		defer s.ending.Done()
		s.Sessions.Release(id)
		s.deleteRecord(id)
		if s.detached.Add(-1) == 0 {
			select {
			case s.ended <- struct{}{}:
			default:
			}
		}
	}()
}

// deleteRecord removes an ended legacy session from the registry: its
// messages have nowhere to go any more.
func (s *Server) deleteRecord(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Registry.Delete(ctx, id); err != nil {
		s.Sessions.NoteError(err)
	}
}

// ServeMessage serves POST <path>/message?sessionId=…: a client message
// for a legacy SSE session, delivered to the instance holding its stream.
func (s *Server) ServeMessage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		front.WriteError(w, http.StatusMethodNotAllowed, nil, front.CodeInvalidRequest, "the message endpoint takes POST")
		return
	}
	q := r.URL.Query()
	sid := q.Get("sessionId")
	if sid == "" {
		sid = q.Get("sessionid")
	}
	if sid == "" {
		front.WriteError(w, http.StatusBadRequest, nil, front.CodeInvalidRequest,
			"sessionId query parameter is required: open "+s.SSEPath+" first and post to the endpoint it announces")
		return
	}
	if !front.IsJSONContent(r) {
		front.WriteError(w, http.StatusUnsupportedMediaType, nil, front.CodeInvalidRequest, "Content-Type must be application/json")
		return
	}
	body, ok := front.ReadBody(w, r, s.MaxBody)
	if !ok {
		return
	}
	msg, err := jsonrpc.DecodeMessage(body)
	if err != nil {
		front.WriteError(w, http.StatusBadRequest, nil, front.CodeParseError, "body is not a JSON-RPC message: "+err.Error())
		return
	}
	ctx := r.Context()
	id := front.IdentityFrom(ctx)
	if st, consumer, found := s.Sessions.Lookup(sid); found {
		if st == nil {
			s.Sessions.WriteSessionError(w, sid, session.ErrNotFound)
			return
		}
		if consumer != id.Consumer {
			s.Sessions.WriteSessionError(w, sid, session.ErrForbidden)
			return
		}
		if s.Sessions.Message(ctx, sid, st, msg, r.Header) {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		SetExtra(msg, r.Header)
		if !st.Deliver(msg) {
			front.WriteError(w, http.StatusServiceUnavailable, nil, front.CodeUnavailable,
				fmt.Sprintf("session %q cannot take more messages now (closed or %d queued)", sid, MaxQueuedMessages))
			return
		}
		w.WriteHeader(http.StatusAccepted)
		return
	}
	rec, err := s.Registry.Get(ctx, sid)
	if err == nil && (rec.Server != s.Name || rec.Transport != session.TransportSSE) {
		err = session.ErrNotFound
	}
	if err == nil && rec.Consumer != id.Consumer {
		err = session.ErrForbidden
	}
	if err != nil {
		s.Sessions.WriteSessionError(w, sid, err)
		return
	}
	err = s.Handoff.Send(ctx, rec.Owner, session.Message{Session: sid, Body: body, Header: r.Header.Clone()}, s.HandoffWait)
	switch {
	case errors.Is(err, session.ErrNoReceiver):
		s.Handoffs("lost")
		front.WriteError(w, http.StatusNotFound, nil, front.CodeNotFound,
			fmt.Sprintf("session %q: the instance holding its SSE stream is gone; open %s again", sid, s.SSEPath))
	case err != nil:
		s.Sessions.WriteSessionError(w, sid, err)
	default:
		s.Handoffs("sent")
		w.WriteHeader(http.StatusAccepted)
	}
}

// Receive delivers a message another instance received for the session
// of st, whose stream is here. It does not block.
func (s *Server) Receive(ctx context.Context, st *Stream, m session.Message) {
	msg, err := jsonrpc.DecodeMessage(m.Body)
	if err != nil {
		s.Logger.Error("drop malformed handed-over message", "session_id", m.Session, "error", err)
		s.Handoffs("dropped")
		return
	}
	if s.Sessions.Message(ctx, m.Session, st, msg, m.Header) {
		s.Handoffs("received")
		return
	}
	SetExtra(msg, m.Header)
	if !st.Deliver(msg) {
		s.Handoffs("dropped")
		s.Logger.Warn("handed-over message dropped: session closed or queue full", "session_id", m.Session)
		return
	}
	s.Handoffs("received")
}

// SetExtra gives the message's handlers the header of the POST that
// carried it, as the streamable transport does.
func SetExtra(msg jsonrpc.Message, h http.Header) {
	if req, ok := msg.(*jsonrpc.Request); ok {
		req.Extra = &mcp.RequestExtra{Header: h}
	}
}
