package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// CodeInvalidRequestBody and CodeRequestBodyTimeout answer requests whose
// body the client failed to send: malformed framing, a connection closed
// early, or a body sent slower than the minimum rate.
const (
	CodeInvalidRequestBody = "invalid_request_body"
	CodeRequestBodyTimeout = "request_body_timeout"
)

// clientBody wraps a client's request body. It remembers the first error
// reading it, so that a failed upstream call can be told apart from a
// client that sent a broken body (which is no fault of the upstream and
// must never count toward its ejection), and it enforces the body read
// limits: the time spent waiting for the client may not exceed grace plus
// one second per minRate bytes received.
type clientBody struct {
	io.ReadCloser
	rc      *http.ResponseController // nil, or &rcv: no deadlines to keep
	rcv     http.ResponseController
	grace   time.Duration
	minRate int64

	n       int64
	waited  time.Duration
	done    bool
	failure atomic.Pointer[error]
	// failed is closed once failure is set.
	failed chan struct{}
}

type clientBodyKey struct{}

// arrivedBody is a body that may already be in memory (the fast engine's,
// when the client sent it with the request's head). Reading such a body
// neither waits for the client nor fails, so it needs no clientBody.
type arrivedBody interface{ Arrived() bool }

// wrapBody installs a clientBody on r and returns the request to serve.
func (g *Gateway) wrapBody(w http.ResponseWriter, r *http.Request) *http.Request {
	if r.Body == nil || r.Body == http.NoBody {
		return r
	}
	if b, ok := r.Body.(arrivedBody); ok && b.Arrived() {
		return r
	}
	cb := &clientBody{ReadCloser: r.Body, grace: g.bodyGrace, minRate: int64(g.bodyMinRate), failed: make(chan struct{})}
	if cb.grace > 0 || cb.minRate > 0 {
		cb.rcv = *http.NewResponseController(w)
		cb.rc = &cb.rcv
	}
	r = r.WithContext(context.WithValue(r.Context(), clientBodyKey{}, cb))
	r.Body = cb
	return r
}

func (b *clientBody) Read(p []byte) (int, error) {
	if b.done {
		return b.ReadCloser.Read(p)
	}
	var start time.Time
	if b.rc != nil {
		start = time.Now()
		allowed := b.grace - b.waited
		if b.minRate > 0 {
			allowed += time.Duration(b.n * int64(time.Second) / b.minRate)
		}
		if allowed <= 0 {
			allowed = time.Millisecond
		}
		// net/http sets it on the connection (HTTP/1) or the stream (HTTP/2).
		_ = b.rc.SetReadDeadline(start.Add(allowed))
	}
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if b.rc != nil {
		b.waited += time.Since(start)
	}
	if err != nil {
		b.done = true
		if b.rc != nil && errors.Is(err, io.EOF) {
			// After a failure the deadline stays, so that the server
			// does not wait for the rest of the body either.
			_ = b.rc.SetReadDeadline(time.Time{})
		}
		if !errors.Is(err, io.EOF) {
			b.failure.Store(&err)
			close(b.failed)
		}
	}
	return n, err
}

// clientBodyError returns the error the client's body failed with, or nil.
func clientBodyError(ctx context.Context) error {
	cb, ok := ctx.Value(clientBodyKey{}).(*clientBody)
	if !ok {
		return nil
	}
	if e := cb.failure.Load(); e != nil {
		return *e
	}
	return nil
}

// awaitClientBodyError is clientBodyError for a request whose context was
// cancelled: a failed read on the client's connection cancels the context
// inside the read, just before the read returns its error, so the error
// may arrive a moment after the cancellation is seen. It waits at most
// briefly, which only matters when the context ended for another reason
// while a body read was still blocked.
func awaitClientBodyError(ctx context.Context) error {
	cb, ok := ctx.Value(clientBodyKey{}).(*clientBody)
	if !ok {
		return nil
	}
	t := time.NewTimer(100 * time.Millisecond)
	defer t.Stop()
	select {
	case <-cb.failed:
		return *cb.failure.Load()
	case <-t.C:
		return nil
	}
}

// writeBodyError answers a request whose body could not be read.
func writeBodyError(w http.ResponseWriter, err error) {
	// The rest of the body is not read: the connection cannot serve
	// another request.
	w.Header().Set("Connection", "close")
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		pluginapi.WriteError(w, http.StatusRequestTimeout, CodeRequestBodyTimeout,
			"the request body arrived too slowly; send it faster (see GATEHOUSE_BODY_MIN_RATE and GATEHOUSE_BODY_READ_TIMEOUT)")
		return
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		pluginapi.WriteError(w, http.StatusRequestEntityTooLarge, CodeInvalidRequestBody, "the request body is too large")
		return
	}
	pluginapi.WriteError(w, http.StatusBadRequest, CodeInvalidRequestBody,
		"the request body could not be read (malformed chunked encoding, or shorter than its Content-Length); nothing was sent on")
}
