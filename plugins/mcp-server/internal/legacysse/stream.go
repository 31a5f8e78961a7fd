package legacysse

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// MaxQueuedMessages bounds the client messages waiting for one legacy SSE
// session; a client that floods beyond it loses the excess.
const MaxQueuedMessages = 8192

// Stream is the server side of one legacy HTTP+SSE (2024-11-05)
// session: writes become "message" events on the hanging GET response,
// reads come from messages posted to <path>/message, on this instance or
// handed over from another one. Unlike the SDK's SSEServerTransport it
// accepts messages that did not arrive as an HTTP request on this
// instance, and it reports its session id.
//
// The stream is written either through the GET handler's
// http.ResponseWriter, the handler staying until the stream ends, or,
// when the connection was taken over (hijacked, see detach), straight to
// the connection with chunked framing written here: then no goroutine of
// net/http waits for the stream, and a client that went away is noticed
// at the next keep-alive pass (see ReleaseIfGone), or when a write fails.
type Stream struct {
	id       string
	endpoint string

	// mu guards w, conn and closed: writes must not happen after the GET
	// handler returned or the connection was closed.
	mu     sync.Mutex
	w      http.ResponseWriter
	rc     *http.ResponseController
	conn   net.Conn // the taken-over connection; nil on the handler path
	closed bool
	done   chan struct{}
	// ended runs once when a taken-over stream ends (closed, or a write
	// failed); it must not block.
	ended func()

	qmu    sync.Mutex
	queue  []jsonrpc.Message
	signal chan struct{} // one token when queue may be non-empty
}

// streamWriteTimeout bounds one write to a taken-over stream: a client
// that reads nothing for this long is taken for gone.
const streamWriteTimeout = 30 * time.Second

// NewStream returns the stream of session id, announcing endpoint as
// where to post messages, written to w.
func NewStream(id, endpoint string, w http.ResponseWriter) *Stream {
	return &Stream{
		id:       id,
		endpoint: endpoint,
		w:        w,
		rc:       http.NewResponseController(w),
		done:     make(chan struct{}),
		signal:   make(chan struct{}, 1),
	}
}

// Detach takes the connection of the GET over from net/http and writes
// the response header on it, so that the handler can return while the
// stream stays open. It reports false, with nothing written, when the
// connection cannot be taken over (HTTP/2, HTTP/1.0, a writer without
// Hijack): the stream then lives on the handler path. header holds the
// headers to send besides the ones of an SSE stream; ended runs once when
// the stream ends.
func (t *Stream) Detach(r *http.Request, header http.Header, ended func()) (bool, error) {
	if r.ProtoMajor != 1 || r.ProtoMinor != 1 {
		return false, nil
	}
	conn, _, err := t.rc.Hijack()
	if err != nil {
		// Hijack fails before taking anything over: the handler path
		// still works.
		return false, nil
	}
	// Anything the client sent after the GET (its buffered part is
	// dropped with net/http's reader) is not read: the messages of a
	// legacy session come as POSTs on other connections.
	var b []byte
	b = append(b, "HTTP/1.1 200 OK\r\n"...)
	for k, vs := range header {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "Trailer":
			continue
		}
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, headerNewlines.Replace(v)...)
			b = append(b, "\r\n"...)
		}
	}
	b = append(b, "Date: "...)
	b = time.Now().UTC().AppendFormat(b, http.TimeFormat)
	b = append(b, "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"...)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.w, t.rc, t.conn, t.ended = nil, nil, conn, ended
	_ = conn.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	if _, err := conn.Write(b); err != nil {
		_ = conn.Close()
		t.conn = nil
		return true, err
	}
	return true, nil
}

// Connect implements mcp.Transport: it sends the endpoint event.
func (t *Stream) Connect(context.Context) (mcp.Connection, error) {
	if err := t.writeEvent("endpoint", []byte(t.endpoint)); err != nil {
		return nil, err
	}
	return t, nil
}

// SupportsProtocolVersion implements mcp.ProtocolVersionSupporter: the
// HTTP+SSE transport is not part of 2026-07-28.
func (t *Stream) SupportsProtocolVersion(version string) bool {
	return version < "2026-07-28"
}

// Deliver queues a client message. It never blocks; it reports false when
// the session is closed or its queue is full.
func (t *Stream) Deliver(msg jsonrpc.Message) bool {
	select {
	case <-t.done:
		return false
	default:
	}
	t.qmu.Lock()
	if len(t.queue) >= MaxQueuedMessages {
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
func (t *Stream) Read(ctx context.Context) (jsonrpc.Message, error) {
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
func (t *Stream) Write(ctx context.Context, msg jsonrpc.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := jsonrpc.EncodeMessage(msg)
	if err != nil {
		return err
	}
	return t.writeEvent("message", data)
}

// Send writes an encoded JSON-RPC message as Write does.
func (t *Stream) Send(data []byte) error { return t.writeEvent("message", data) }

func (t *Stream) writeEvent(name string, data []byte) error {
	buf := make([]byte, 0, len("event: \ndata: \n\n")+len(name)+len(data))
	buf = append(buf, "event: "...)
	buf = append(buf, name...)
	buf = append(buf, "\ndata: "...)
	buf = append(buf, data...)
	buf = append(buf, "\n\n"...)
	return t.write(buf)
}

// Ping writes an SSE comment so that proxies keep an idle stream open.
func (t *Stream) Ping() error { return t.write([]byte(": ping\n\n")) }

// ReleaseIfGone ends a taken-over stream whose client closed its
// connection, and reports whether it did. Nothing reads a taken-over
// connection, so without this check a client that went away would be
// noticed only when a write fails, one or two keep-alive comments later
// (the first write after the close often still succeeds). It does not
// block and consumes nothing.
func (t *Stream) ReleaseIfGone() bool {
	t.mu.Lock()
	if t.closed || t.conn == nil || !peerClosed(t.conn) {
		t.mu.Unlock()
		return false
	}
	ended := t.endLocked(false)
	t.mu.Unlock()
	ended()
	return true
}

// peerClosed reports whether the peer of c closed the connection (end of
// file) or the connection failed, with one non-blocking, non-consuming
// read. Bytes waiting to be read say nothing: it reports false, as for a
// connection it cannot inspect.
func peerClosed(c net.Conn) bool {
	if nc, ok := c.(interface{ NetConn() net.Conn }); ok {
		// TLS: the state of the transport underneath.
		c = nc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK || rerr == syscall.EINTR:
		case rerr != nil:
			closed = true
		case n == 0:
			closed = true // end of file
		}
		return true
	})
	return err == nil && closed
}

func (t *Stream) write(b []byte) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return io.EOF
	}
	if t.conn == nil {
		defer t.mu.Unlock()
		if _, err := t.w.Write(b); err != nil {
			return err
		}
		_ = t.rc.Flush()
		return nil
	}
	// One chunk per event, written at once.
	var size [20]byte
	chunk := net.Buffers{strconv.AppendInt(size[:0], int64(len(b)), 16), crlf, b, crlf}
	_ = t.conn.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	_, err := chunk.WriteTo(t.conn)
	if err == nil {
		t.mu.Unlock()
		return nil
	}
	// The client went away (or stopped reading): the stream ends.
	ended := t.endLocked(false)
	t.mu.Unlock()
	ended()
	return err
}

var crlf = []byte("\r\n")

// headerNewlines keeps a header value on its line, as net/http does.
var headerNewlines = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ")

// endLocked marks the transport closed and closes a taken-over
// connection, with the last chunk first when clean. It returns what to
// run once t.mu is released.
func (t *Stream) endLocked(clean bool) func() {
	if t.closed {
		return func() {}
	}
	t.closed = true
	close(t.done)
	if t.conn == nil {
		return func() {}
	}
	if clean {
		_ = t.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = t.conn.Write([]byte("0\r\n\r\n"))
	}
	_ = t.conn.Close()
	t.conn = nil
	if t.ended == nil {
		return func() {}
	}
	return t.ended
}

// Close implements mcp.Connection. It ends the stream.
func (t *Stream) Close() error {
	t.mu.Lock()
	ended := t.endLocked(true)
	t.mu.Unlock()
	ended()
	return nil
}

// Done is closed when the stream ends.
func (t *Stream) Done() <-chan struct{} { return t.done }

// SessionID implements mcp.Connection.
func (t *Stream) SessionID() string { return t.id }

var (
	_ mcp.Transport                = (*Stream)(nil)
	_ mcp.Connection               = (*Stream)(nil)
	_ mcp.ProtocolVersionSupporter = (*Stream)(nil)
)
