package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/legacysse"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/mcpproxy"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/session"
)

// A client keeps one standalone GET stream per Streamable HTTP session, on
// one instance, while the messages the server sends it outside any request
// (an mcp-proxy upstream's list changes, logs and progress) arrive on
// whichever instance serves the session's upstream. Each instance records
// in the registry which session streams it holds; an instance that
// produces such a message for a stream held elsewhere pushes it to the
// holder through the handoff, which sends it on the stream (and stores it
// for Last-Event-ID replay, as for its own messages).

// maxQueuedPushes bounds the notifications waiting, for one session, to be
// handed to the instance holding its stream or sent on the stream held
// here.
const maxQueuedPushes = legacysse.MaxQueuedMessages

// holderTTL is how long the registry remembers a stream holder that
// stopped refreshing it (its heartbeat): an instance that died without
// releasing its streams is skipped after that.
func (in *instance) holderTTL() time.Duration {
	return max(3*in.opts.heartbeat, 10*time.Second)
}

// isStandaloneGET reports whether a GET with this Last-Event-ID attaches
// the session's standalone stream rather than resuming a request's.
func isStandaloneGET(lastEventID []string) bool {
	return len(lastEventID) == 0 || strings.HasPrefix(lastEventID[0], "_")
}

// holdStream records that this instance holds the standalone stream of s
// until the returned func is called.
func (in *instance) holdStream(ctx context.Context, s *localSession) func() {
	s.streams.Add(1)
	if err := in.registry.HoldStreams(ctx, []string{s.id}, in.owner, in.holderTTL()); err != nil {
		// The stream works; messages produced elsewhere wait in the event
		// store until the client resumes.
		in.noteError(err)
	}
	return func() {
		if s.streams.Add(-1) > 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := in.registry.ReleaseStream(ctx, s.id, in.owner); err != nil {
			in.noteError(err)
		}
	}
}

// pushToStreamHolder sends a server-to-client notification for the
// standalone stream of s to the instance holding that stream, when that is
// another instance. It reports whether it took the message; if not, the
// caller sends it here (the event store keeps it for the client's next GET).
//
// A message it cannot hand over at once is kept and retried in order
// (retryHandoff) rather than sent here: sending it here would append it to
// the stream's stored events behind the holder's back, and the holder's
// event ids, counted by the SDK in its memory, would then be one behind the
// store — a client resuming with Last-Event-ID would see an event twice.
func (in *instance) pushToStreamHolder(s *localSession, method string, params any) bool {
	if s == nil || s.transport != session.TransportStreamable || s.streams.Load() > 0 {
		return false
	}
	body, err := json.Marshal(struct {
		JSONRPC string `json:"jsonrpc"`
		Method  string `json:"method"`
		Params  any    `json:"params,omitempty"`
	}{"2.0", method, params})
	if err != nil {
		return false
	}
	s.outMu.Lock()
	if s.outRetrying {
		// Earlier messages wait: keep the order.
		if len(s.outQ) >= maxQueuedPushes {
			s.outMu.Unlock()
			in.metrics.handoffs.WithLabelValues(in.name, "dropped").Inc()
			in.logger.Warn("notification dropped: too many wait for the instance holding the session's stream", "session_id", s.id)
			return true
		}
		s.outQ = append(s.outQ, body)
		s.outMu.Unlock()
		return true
	}
	s.outMu.Unlock()
	ctx, cancel := context.WithTimeout(in.ctx, 5*time.Second)
	defer cancel()
	holder, err := in.registry.StreamHolder(ctx, s.id)
	if err != nil {
		in.noteError(err)
		return false
	}
	if holder == "" || holder == in.owner {
		return false
	}
	if err := in.handoff.Send(ctx, holder, session.Message{Session: s.id, Body: body, Push: true}, in.opts.handoffWait); err != nil {
		in.logger.Debug("push to the instance holding the stream failed; retrying", "session_id", s.id, "method", method, "error", err)
		s.outMu.Lock()
		s.outQ = append(s.outQ, body)
		start := !s.outRetrying
		s.outRetrying = true
		s.outMu.Unlock()
		if start {
			in.wg.Go(s.retryHandoff)
		}
		return true
	}
	in.metrics.handoffs.WithLabelValues(in.name, "sent").Inc()
	return true
}

// retryHandoff hands the kept notifications of s to the instance holding
// its stream, in order, until none is left. While that instance stays
// registered as the holder, it keeps trying (it may be reconnecting to
// Redis); once no other instance holds the stream (it released it, or its
// registration expired after holderTTL without a heartbeat), the messages
// are sent here, where the event store keeps them for the client's next
// GET — safe then, as the next stream to attach reads its ids from the
// store. The instance's shutdown ends it.
func (s *localSession) retryHandoff() {
	in := s.in
	backoff := 20 * time.Millisecond
	for {
		s.outMu.Lock()
		if len(s.outQ) == 0 {
			s.outQ, s.outRetrying = nil, false
			s.outMu.Unlock()
			return
		}
		body := s.outQ[0]
		s.outMu.Unlock()

		sent := false
		ctx, cancel := context.WithTimeout(in.ctx, 5*time.Second)
		holder, err := in.registry.StreamHolder(ctx, s.id)
		switch {
		case err != nil:
			in.noteError(err)
		case holder == "" || holder == in.owner || s.streams.Load() > 0:
			result := "received"
			if err := s.sendPush(body); err != nil {
				result = "dropped"
				in.logger.Warn("notification for the session's stream not sent", "session_id", s.id, "error", err)
			}
			in.metrics.handoffs.WithLabelValues(in.name, result).Inc()
			sent = true
		default:
			if in.handoff.Send(ctx, holder, session.Message{Session: s.id, Body: body, Push: true}, in.opts.handoffWait) == nil {
				in.metrics.handoffs.WithLabelValues(in.name, "sent").Inc()
				sent = true
			}
		}
		cancel()
		if sent {
			backoff = 20 * time.Millisecond
			s.outMu.Lock()
			s.outQ = s.outQ[1:]
			s.outMu.Unlock()
			continue
		}
		if s.ss.Load() == nil && in.localSession(s.id) == nil {
			// The session ended here: nothing is left to send from.
			s.outMu.Lock()
			in.metrics.handoffs.WithLabelValues(in.name, "lost").Add(float64(len(s.outQ)))
			s.outQ, s.outRetrying = nil, false
			s.outMu.Unlock()
			return
		}
		t := time.NewTimer(backoff)
		select {
		case <-in.ctx.Done():
			t.Stop()
			s.outMu.Lock()
			in.metrics.handoffs.WithLabelValues(in.name, "lost").Add(float64(len(s.outQ)))
			s.outQ, s.outRetrying = nil, false
			s.outMu.Unlock()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, time.Second)
	}
}

// receivePush takes a notification another instance pushed for a stream
// held here. It must not block: the session sends its pushes in order on a
// goroutine of its own.
func (in *instance) receivePush(m session.Message) {
	s := in.localSession(m.Session)
	if s == nil || s.ss.Load() == nil {
		// The stream ended meanwhile: keep the message for the client's
		// next GET, as the SDK keeps what it cannot deliver.
		in.wg.Go(func() {
			ctx, cancel := context.WithTimeout(in.ctx, 5*time.Second)
			defer cancel()
			if err := in.events.Append(ctx, m.Session, "", m.Body); err != nil {
				in.metrics.handoffs.WithLabelValues(in.name, "dropped").Inc()
				in.noteError(err)
				return
			}
			in.metrics.handoffs.WithLabelValues(in.name, "received").Inc()
		})
		return
	}
	s.pushMu.Lock()
	if len(s.pushQ) >= maxQueuedPushes {
		s.pushMu.Unlock()
		in.metrics.handoffs.WithLabelValues(in.name, "dropped").Inc()
		in.logger.Warn("pushed notification dropped: too many queued for the session's stream", "session_id", s.id)
		return
	}
	s.pushQ = append(s.pushQ, m.Body)
	start := !s.pushing
	s.pushing = true
	s.pushMu.Unlock()
	if start {
		in.wg.Go(s.sendPushes)
	}
}

// sendPushes sends the queued pushes of s until none is left.
func (s *localSession) sendPushes() {
	for {
		s.pushMu.Lock()
		if len(s.pushQ) == 0 {
			s.pushQ = nil
			s.pushing = false
			s.pushMu.Unlock()
			return
		}
		body := s.pushQ[0]
		s.pushQ = s.pushQ[1:]
		s.pushMu.Unlock()
		result := "received"
		if err := s.sendPush(body); err != nil {
			result = "dropped"
			s.in.logger.Warn("pushed notification not sent", "session_id", s.id, "error", err)
		}
		s.in.metrics.handoffs.WithLabelValues(s.in.name, result).Inc()
	}
}

// sendPush sends one pushed notification on the session's standalone
// stream.
func (s *localSession) sendPush(body []byte) error {
	msg, err := jsonrpc.DecodeMessage(body)
	if err != nil {
		return fmt.Errorf("decode pushed message: %w", err)
	}
	req, ok := msg.(*jsonrpc.Request)
	if !ok || req.IsCall() {
		return fmt.Errorf("pushed message is not a notification")
	}
	ss := s.ss.Load()
	if ss == nil {
		return fmt.Errorf("session closed")
	}
	// Without a request in the context, the SDK sends it on the standalone
	// stream, with the params as the upstream wrote them.
	ctx, cancel := context.WithTimeout(s.in.ctx, 10*time.Second)
	defer cancel()
	return mcpproxy.NotifyRaw(ctx, ss, req.Method, req.Params)
}
