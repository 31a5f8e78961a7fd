package main

import (
	"context"
	"io"
	"net/http"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxQueuedMessages bounds the client messages waiting for one legacy SSE
// session; a client that floods beyond it loses the excess.
const maxQueuedMessages = 8192

// sseTransport is the server side of one legacy HTTP+SSE (2024-11-05)
// session: writes become "message" events on the hanging GET response,
// reads come from messages posted to <path>/message, on this instance or
// handed over from another one. Unlike the SDK's SSEServerTransport it
// accepts messages that did not arrive as an HTTP request on this
// instance, and it reports its session id.
type sseTransport struct {
	id       string
	endpoint string

	// mu guards w and closed: writes must not happen after the GET handler
	// returned.
	mu     sync.Mutex
	w      http.ResponseWriter
	rc     *http.ResponseController
	closed bool
	done   chan struct{}

	qmu    sync.Mutex
	queue  []jsonrpc.Message
	signal chan struct{} // one token when queue may be non-empty
}

func newSSETransport(id, endpoint string, w http.ResponseWriter) *sseTransport {
	return &sseTransport{
		id:       id,
		endpoint: endpoint,
		w:        w,
		rc:       http.NewResponseController(w),
		done:     make(chan struct{}),
		signal:   make(chan struct{}, 1),
	}
}

// Connect implements mcp.Transport: it sends the endpoint event.
func (t *sseTransport) Connect(context.Context) (mcp.Connection, error) {
	if err := t.writeEvent("endpoint", []byte(t.endpoint)); err != nil {
		return nil, err
	}
	return t, nil
}

// SupportsProtocolVersion implements mcp.ProtocolVersionSupporter: the
// HTTP+SSE transport is not part of 2026-07-28.
func (t *sseTransport) SupportsProtocolVersion(version string) bool {
	return version < "2026-07-28"
}

// deliver queues a client message. It never blocks; it reports false when
// the session is closed or its queue is full.
func (t *sseTransport) deliver(msg jsonrpc.Message) bool {
	select {
	case <-t.done:
		return false
	default:
	}
	t.qmu.Lock()
	if len(t.queue) >= maxQueuedMessages {
		t.qmu.Unlock()
		return false
	}
	t.queue = append(t.queue, msg)
	t.qmu.Unlock()
	select {
	case t.signal <- struct{}{}:
	default:
	}
	return true
}

// Read implements mcp.Connection.
func (t *sseTransport) Read(ctx context.Context) (jsonrpc.Message, error) {
	for {
		t.qmu.Lock()
		if len(t.queue) > 0 {
			msg := t.queue[0]
			t.queue[0] = nil
			t.queue = t.queue[1:]
			if len(t.queue) == 0 {
				t.queue = nil // release the backing array of a burst
			}
			t.qmu.Unlock()
			return msg, nil
		}
		t.qmu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.done:
			return nil, io.EOF
		case <-t.signal:
		}
	}
}

// Write implements mcp.Connection.
func (t *sseTransport) Write(ctx context.Context, msg jsonrpc.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := jsonrpc.EncodeMessage(msg)
	if err != nil {
		return err
	}
	return t.writeEvent("message", data)
}

func (t *sseTransport) writeEvent(name string, data []byte) error {
	buf := make([]byte, 0, len("event: \ndata: \n\n")+len(name)+len(data))
	buf = append(buf, "event: "...)
	buf = append(buf, name...)
	buf = append(buf, "\ndata: "...)
	buf = append(buf, data...)
	buf = append(buf, "\n\n"...)
	return t.write(buf)
}

// ping writes an SSE comment so that proxies keep an idle stream open.
func (t *sseTransport) ping() error { return t.write([]byte(": ping\n\n")) }

func (t *sseTransport) write(b []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return io.EOF
	}
	if _, err := t.w.Write(b); err != nil {
		return err
	}
	_ = t.rc.Flush()
	return nil
}

// Close implements mcp.Connection. It ends the hanging GET.
func (t *sseTransport) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.closed {
		t.closed = true
		close(t.done)
	}
	return nil
}

// SessionID implements mcp.Connection.
func (t *sseTransport) SessionID() string { return t.id }

var (
	_ mcp.Transport                = (*sseTransport)(nil)
	_ mcp.Connection               = (*sseTransport)(nil)
	_ mcp.ProtocolVersionSupporter = (*sseTransport)(nil)
)
