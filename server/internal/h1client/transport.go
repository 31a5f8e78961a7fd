// Package h1client is the upstream HTTP/1.1 client for plain-http
// endpoints: the whole exchange on the caller's goroutine, over a
// keep-alive pool. The gateway's service proxies and the client the host
// gives plugins (pluginapi.Host.HTTPClient) both send through it what it
// may send (Eligible), and everything else through net/http's Transport.
package h1client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/rawpoll"
)

// Transport is the upstream client for plain-http endpoints: HTTP/1.1 over
// a keep-alive pool, with the whole exchange on the caller's goroutine.
//
// net/http's Transport hands every request to a writer goroutine and every
// response to a reader goroutine of the connection; for a proxy that is two
// goroutine hand-offs per request on top of the client side's own work, and
// the largest cost left in the proxy benchmark. Transport writes the
// request and reads the response itself, and returns the connection to the
// pool when the response body has been read to its end.
//
// It takes only what it can do safely in that shape (Eligible): no TLS, no
// upgrade, no Expect: 100-continue, and a request body of known, small size
// (so that writing it cannot stall while the upstream answers early). An
// http.Transport serves everything else (see RoundTripper).
type Transport struct {
	dial          func(ctx context.Context, network, addr string) (net.Conn, error)
	headerTimeout time.Duration // 0: none
	idleTimeout   time.Duration
	maxIdle       int // per address

	mu     sync.Mutex
	idle   map[string][]*upConn // by dial address, oldest first
	closed bool
}

var noOptions Options

// notCancelled is the stop of an exchange without a cancellation hook: the
// hook never ran.
func notCancelled() bool { return true }

// MaxBody is the largest request body Transport sends; it fits the
// socket buffers, so a write never waits for the upstream to read.
const MaxBody = 64 << 10

func New(dial func(ctx context.Context, network, addr string) (net.Conn, error), headerTimeout time.Duration) *Transport {
	return &Transport{
		dial:          dial,
		headerTimeout: headerTimeout,
		idleTimeout:   90 * time.Second,
		maxIdle:       1024,
		idle:          make(map[string][]*upConn),
	}
}

// Eligible reports whether Transport may send req.
func Eligible(req *http.Request) bool {
	if req.URL.Scheme != "http" || req.Header.Get("Upgrade") != "" || req.Header.Get("Expect") != "" {
		return false
	}
	if req.Body == nil || req.Body == http.NoBody {
		return true
	}
	return req.ContentLength > 0 && req.ContentLength <= MaxBody
}

// conn is one upstream connection.
type upConn struct {
	addr   string // the dial address: the pool's key
	conn   net.Conn
	poll   *rawpoll.Poller // nil: not a socket; requests go through conn
	br     *bufio.Reader   // reads in
	out    bytes.Buffer    // the request being sent
	idleAt time.Time
	// abort fails the read or write in progress on conn: the hook of a
	// cancelled request's context, made once per connection.
	abort func()

	// in holds what send read with the request's write; br reads it
	// before the connection.
	in rawpoll.Reader

	answer Answer // a plain answer being read (Pending.Answer)
}

func newConn(addr string, conn net.Conn) *upConn {
	c := &upConn{addr: addr, conn: conn}
	c.abort = func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) }
	if sc, ok := conn.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.poll = rawpoll.NewPoller(raw)
		}
	}
	c.in.Conn = conn
	c.br = bufio.NewReaderSize(&c.in, 32<<10)
	return c
}

// send writes the request in c.out and waits for the first bytes of the
// answer, with rawpoll.Poller.WriteThenRead on a socket (no read that can only
// fail between the request and its answer), plainly otherwise; the answer
// is then read through br. wrote reports whether the whole request went
// out.
func (c *upConn) send() (wrote bool, err error) {
	b := c.out.Bytes()
	if c.poll != nil {
		var n int
		b, n, err = c.poll.WriteThenRead(b, c.in.First[:])
		if len(b) == 0 {
			c.in.Pending = c.in.First[:n]
			if err != nil && failedWrite(err) {
				return false, err
			}
			if err != nil && err != io.EOF {
				err = &net.OpError{Op: "read", Net: "tcp", Addr: c.conn.RemoteAddr(), Err: err}
			}
			return true, err
		}
	}
	if _, err = c.conn.Write(b); err != nil {
		return false, err
	}
	return true, nil
}

// failedWrite reports whether err is the write(2) of a request failing.
func failedWrite(err error) bool {
	var se *os.SyscallError
	return errors.As(err, &se) && se.Syscall == "write"
}

// errStale marks a failure on a kept-alive connection before any byte of
// the answer arrived: the upstream had most likely closed it while idle.
type errStale struct{ err error }

func (e *errStale) Error() string { return e.err.Error() }
func (e *errStale) Unwrap() error { return e.err }

// Send sends req to addr (host:port) and returns the response. The
// response body must be read to its end or closed. 1xx answers go to the
// Got1xxResponse hook of the request's client trace (httptrace).
func (t *Transport) Send(req *http.Request, addr string) (*http.Response, error) {
	return t.SendWith(req, addr, nil)
}

// Interim receives the 1xx answers (103 Early Hints) that come before the
// final answer of an exchange; an error ends the exchange.
type Interim interface {
	Interim(code int, header http.Header) error
}

// Options are what a caller adds to one exchange.
type Options struct {
	// Interim, when not nil, receives the 1xx answers instead of the
	// request's client trace: a caller that passes them on saves a trace
	// and a context per request.
	Interim Interim
	// HandlerScoped promises that the request's context is cancelled only
	// after the exchange has ended (see h1server.HandlerScoped): no hook
	// for its cancellation is set up.
	HandlerScoped bool
}

// SendWith is Send with opts (nil: none).
func (t *Transport) SendWith(req *http.Request, addr string, opts *Options) (*http.Response, error) {
	if opts == nil {
		opts = &noOptions
	}
	for attempt := 0; ; attempt++ {
		c, reused, err := t.get(req.Context(), addr)
		if err != nil {
			return nil, err
		}
		resp, err := t.exchange(c, req, opts)
		if err == nil {
			return resp, nil
		}
		var stale *errStale
		if !errors.As(err, &stale) {
			return nil, err
		}
		// Like net/http: try once more on a new connection when sending
		// the request again is safe.
		if !reused || attempt > 0 || req.Context().Err() != nil || !replayable(req) {
			return nil, stale.err
		}
		if req.Body != nil && req.Body != http.NoBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, stale.err
			}
			r := *req
			r.Body = body
			req = &r
		}
	}
}

// replayable reports whether req may be sent again after a kept-alive
// connection failed before answering: the upstream may have acted on it,
// so only methods that are safe to repeat, with a body that can be read
// again.
func replayable(req *http.Request) bool {
	if !Replayable(req.Method, req.Header.Get("Idempotency-Key") != "" || req.Header.Get("X-Idempotency-Key") != "") {
		return false
	}
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// exchange writes req on c and reads the answer's header.
func (t *Transport) exchange(c *upConn, req *http.Request, opts *Options) (*http.Response, error) {
	ctx := req.Context()
	if t.headerTimeout > 0 {
		_ = c.conn.SetDeadline(time.Now().Add(t.headerTimeout))
	}
	// Cancelling the request (the client went away, a plugin's deadline)
	// fails any read or write in progress.
	stop := notCancelled
	if !opts.HandlerScoped && ctx.Done() != nil {
		stop = context.AfterFunc(ctx, c.abort)
	}
	c.out.Reset()
	if err := writeRequest(&c.out, req); err != nil {
		// Writing into memory fails only on the request: its body.
		return abandon(ctx, c, stop, fmt.Errorf("write request: %w", err))
	}
	if err := c.transmit(); err != nil {
		return abandon(ctx, c, stop, err)
	}
	return t.answer(c, req, opts, stop)
}

// abandon ends a failed exchange on c: its cancellation hook stopped, c
// closed. The error is ctx's when ctx was cancelled, err otherwise.
func abandon(ctx context.Context, c *upConn, stop func() bool, err error) (*http.Response, error) {
	stop()
	c.close()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, err
}

// transmit sends the request in c.out and waits for the first byte of the
// answer. Its errors are errStale: nothing of the answer arrived.
func (c *upConn) transmit() error {
	wrote, err := c.send()
	if c.out.Cap() > 16<<10 {
		c.out = bytes.Buffer{}
	}
	if !wrote {
		return &errStale{fmt.Errorf("write request: %w", err)}
	}
	if err == nil {
		_, err = c.br.Peek(1)
	}
	if err != nil {
		return &errStale{fmt.Errorf("read response: %w", err)}
	}
	return nil
}

// answer reads the answer to req on c, whose first byte has arrived, and
// returns it with a body that releases c. stop ends the exchange's
// cancellation hook.
func (t *Transport) answer(c *upConn, req *http.Request, opts *Options, stop func() bool) (*http.Response, error) {
	ctx := req.Context()
	fail := func(err error) (*http.Response, error) { return abandon(ctx, c, stop, err) }
	var err error
	var resp *http.Response
	for {
		resp, err = readResponse(c.br, req)
		if err != nil {
			return fail(fmt.Errorf("read response: %w", err))
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		// 1xx informational answers (103 Early Hints) go to the client
		// through the reverse proxy's trace; 100 Continue is dropped.
		if opts.Interim != nil {
			if err := opts.Interim.Interim(resp.StatusCode, resp.Header); err != nil {
				return fail(err)
			}
		} else if trace := httptrace.ContextClientTrace(ctx); trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(resp.StatusCode, textproto.MIMEHeader(resp.Header)); err != nil {
				return fail(err)
			}
		}
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// Never asked for (upgrades take the http.Transport path).
		return fail(errors.New("read response: unexpected 101 Switching Protocols"))
	}
	if buffered := bodyBuffered(resp, c.br); !buffered {
		if t.headerTimeout > 0 {
			// The timeout covers the wait for the header; the body may
			// take as long as it streams. A body already read needs no
			// clearing: the next exchange sets its own deadline, and
			// alive clears it for the idle check.
			_ = c.conn.SetDeadline(time.Time{})
			if ctx.Err() != nil {
				// Cancelled while the deadline was being cleared.
				return fail(ctx.Err())
			}
		}
		if opts.HandlerScoped && ctx.Done() != nil {
			// The exchange needed no hook, but a body still to be read
			// may stream after the handler's first flush, from which on
			// the engine cancels the context when the client leaves: the
			// body's reads stop then.
			stop = context.AfterFunc(ctx, c.abort)
		}
	}
	b := &respBody{t: t, c: c, rc: resp.Body, stop: stop, keep: !resp.Close && !req.Close}
	if resp.Body == http.NoBody {
		b.finish(true)
		return resp, nil
	}
	resp.Body = b
	return resp, nil
}

// bodyBuffered reports whether the whole body of resp is in br: reading it
// needs no read on the connection.
func bodyBuffered(resp *http.Response, br *bufio.Reader) bool {
	return resp.Body == http.NoBody || resp.ContentLength >= 0 && len(resp.TransferEncoding) == 0 &&
		int64(br.Buffered()) >= resp.ContentLength
}

// body is a response body that returns its connection to the pool when
// read to the end, and closes the connection when closed early or failed.
type respBody struct {
	t    *Transport
	c    *upConn
	rc   io.ReadCloser
	stop func() bool
	keep bool // the exchange allows reusing the connection
	done atomic.Bool
}

func (b *respBody) Read(p []byte) (int, error) {
	if b.done.Load() {
		return 0, http.ErrBodyReadAfterClose
	}
	n, err := b.rc.Read(p)
	if err != nil {
		b.finish(errors.Is(err, io.EOF))
	}
	return n, err
}

func (b *respBody) Close() error {
	b.finish(false)
	return nil
}

// finish releases the connection once: back to the pool after a clean end
// of a reusable exchange whose cancellation hook had not fired, closed
// otherwise.
func (b *respBody) finish(clean bool) {
	if !b.done.CompareAndSwap(false, true) {
		return
	}
	if stopped := b.stop(); clean && stopped && b.keep && b.c.br.Buffered() == 0 && len(b.c.in.Pending) == 0 {
		b.t.put(b.c)
		return
	}
	b.c.close()
}

// get returns an idle connection to addr, or dials one.
func (t *Transport) get(ctx context.Context, addr string) (*upConn, bool, error) {
	now := time.Now()
	t.mu.Lock()
	list := t.idle[addr]
	for len(list) > 0 {
		c := list[len(list)-1]
		list[len(list)-1] = nil
		list = list[:len(list)-1]
		idle := now.Sub(c.idleAt)
		if idle >= t.idleTimeout {
			c.close()
			continue
		}
		t.idle[addr] = list
		t.mu.Unlock()
		if idle < CheckIdleAfter || c.alive() {
			return c, true, nil
		}
		c.close()
		t.mu.Lock()
		list = t.idle[addr]
	}
	t.idle[addr] = list
	t.mu.Unlock()

	conn, err := t.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	return newConn(addr, conn), false, nil
}

// put keeps c for reuse, unless the pool is full or closed. It also
// closes the oldest idle connection of addr once it has idled too long, so
// that a pool that shrank does not keep sockets forever.
func (t *Transport) put(c *upConn) {
	addr := c.addr
	c.idleAt = time.Now()
	t.mu.Lock()
	list := t.idle[addr]
	if len(list) > 0 && c.idleAt.Sub(list[0].idleAt) >= t.idleTimeout {
		list[0].close()
		list = append(list[:0], list[1:]...)
	}
	if t.closed || len(list) >= t.maxIdle {
		t.idle[addr] = list
		t.mu.Unlock()
		c.close()
		return
	}
	t.idle[addr] = append(list, c)
	t.mu.Unlock()
}

// Close closes the idle connections and keeps no more: connections in use
// are closed when their exchange ends instead of returning to the pool.
func (t *Transport) Close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.CloseIdle()
}

// CloseIdle closes the connections that wait in the pool now.
func (t *Transport) CloseIdle() {
	t.mu.Lock()
	idle := t.idle
	t.idle = make(map[string][]*upConn)
	t.mu.Unlock()
	for _, list := range idle {
		for _, c := range list {
			c.close()
		}
	}
}

func (c *upConn) close() { _ = c.conn.Close() }

// CheckIdleAfter is how long a connection may idle before it is checked
// with alive on reuse. Upstreams close idle keep-alive connections after a
// few seconds (Node.js after 5 s): a request written to such a connection
// would fail, and one that is not safe to repeat could not be retried.
const CheckIdleAfter = 250 * time.Millisecond

// alive reports whether the upstream has neither closed c nor sent
// anything unasked on it, without blocking: one non-consuming read.
func (c *upConn) alive() bool {
	if c.br.Buffered() > 0 || len(c.in.Pending) > 0 {
		return false
	}
	sc, ok := c.conn.(syscall.Conn)
	if !ok {
		return true
	}
	// The last exchange may have left its deadline (bodyBuffered); a read
	// past it would fail.
	_ = c.conn.SetDeadline(time.Time{})
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Nothing to read yet: open and quiet. A byte, end of file (no
		// error) or an error: not reusable.
		alive = rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK
		return true
	})
	return err == nil && alive
}
