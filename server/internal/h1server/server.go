package h1server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/rawpoll"
)

// Server serves plain HTTP/1.1 itself and hands every other connection,
// with the bytes it already read, to Std on the same listener.
type Server struct {
	// Std serves what this engine does not; its Handler, ConnState,
	// ReadHeaderTimeout and IdleTimeout are this engine's too.
	Std *http.Server
	// MaxRequestsPerConn closes a connection after that many requests (0: no limit).
	MaxRequestsPerConn int
	// MaxHeadBytes is the largest head read here; a bigger one goes to
	// net/http, whose MaxHeaderBytes answers 431.
	MaxHeadBytes int
	Log          *slog.Logger
	// Direct, when set, is offered every request without a body before
	// an http.Request is built for it (see Exchange).
	Direct Direct

	mu       sync.Mutex
	conns    map[*conn]struct{}
	ln       net.Listener
	fallback *chanListener
	closing  atomic.Bool
	wg       sync.WaitGroup
	stdDone  chan struct{}
}

const defaultMaxHead = 64 << 10

// Serve accepts connections on ln until Shutdown or Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	s.conns = map[*conn]struct{}{}
	s.fallback = newChanListener(ln.Addr())
	s.stdDone = make(chan struct{})
	s.mu.Unlock()
	go func() {
		defer close(s.stdDone)
		_ = s.Std.Serve(s.fallback)
	}()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		cc := &conn{srv: s, rwc: c}
		s.mu.Lock()
		s.conns[cc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go cc.serve()
	}
}

// Shutdown stops accepting, closes idle connections, waits for the
// active ones to finish their request, then shuts net/http's side down.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	stdErr := make(chan error, 1)
	go func() { stdErr <- s.Std.Shutdown(ctx) }()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		s.wakeIdle()
		select {
		case <-done:
			return <-stdErr
		case <-ctx.Done():
			<-stdErr
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Close closes the listener and every connection now.
func (s *Server) Close() error {
	s.closing.Store(true)
	s.mu.Lock()
	if s.ln != nil {
		_ = s.ln.Close()
	}
	for c := range s.conns {
		_ = c.rwc.Close()
	}
	s.mu.Unlock()
	return s.Std.Close()
}

func (s *Server) wakeIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.idle.Load() {
			_ = c.rwc.SetReadDeadline(time.Unix(1, 0))
		}
	}
}

func (s *Server) connState(c net.Conn, st http.ConnState) {
	if f := s.Std.ConnState; f != nil {
		f(c, st)
	}
}

// conn is one client connection served here.
type conn struct {
	srv  *Server
	rwc  net.Conn
	idle atomic.Bool
	// hijackedConn: a handler took the connection over.
	hijackedConn bool

	buf  []byte // read buffer; buf[r:w] is unread
	r, w int

	baseCtx    context.Context // server and local address values, set on the first request
	remoteAddr string

	exchange Exchange // the request being offered to Server.Direct

	poll *rawpoll.Poller // nil: not a socket
	// pendingOut is a complete response not written yet: the next wait
	// for a request writes it first.
	pendingOut []byte
	outBuf     *[]byte // pendingOut's pool entry
}

// flushOut writes pendingOut.
func (c *conn) flushOut() error {
	if len(c.pendingOut) == 0 {
		return nil
	}
	_, err := c.rwc.Write(c.pendingOut)
	c.trimOut()
	return err
}

// trimOut drops pendingOut; its buffer goes back to the pool, so that an
// idle connection holds none.
func (c *conn) trimOut() {
	if c.pendingOut == nil {
		return
	}
	if cap(c.pendingOut) <= 16<<10 && c.outBuf != nil {
		*c.outBuf = c.pendingOut[:0]
		outPool.Put(c.outBuf)
	}
	c.pendingOut, c.outBuf = nil, nil
}

var outPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// setOut makes head followed by body the pending response.
func (c *conn) setOut(head, body []byte) {
	if c.pendingOut == nil {
		c.outBuf = outPool.Get().(*[]byte)
		c.pendingOut = (*c.outBuf)[:0]
	}
	c.pendingOut = append(append(c.pendingOut, head...), body...)
}

// sendAndFill writes pendingOut and waits for the next bytes from the
// client, the buffer being empty, with WriteThenRead on a socket (no read
// that can only fail between a response and the next request), plainly
// otherwise.
func (c *conn) sendAndFill(limit int) error {
	if c.poll == nil {
		if err := c.flushOut(); err != nil {
			return err
		}
		return c.fill(limit)
	}
	c.r, c.w = 0, 0
	rest, n, err := c.poll.WriteThenRead(c.pendingOut, c.buf)
	if len(rest) > 0 {
		c.pendingOut = rest
		if err := c.flushOut(); err != nil {
			return err
		}
		return c.fill(limit)
	}
	c.trimOut()
	c.w = n
	return err
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// fill reads more bytes into buf, growing it up to max.
func (c *conn) fill(limit int) error {
	if c.r > 0 && c.r == c.w {
		c.r, c.w = 0, 0
	}
	if c.w == len(c.buf) {
		if c.r > 0 {
			c.w = copy(c.buf, c.buf[c.r:c.w])
			c.r = 0
		} else {
			if len(c.buf) >= limit {
				return errHeadTooBig
			}
			nb := make([]byte, min(2*len(c.buf), limit))
			copy(nb, c.buf[:c.w])
			c.buf = nb
		}
	}
	n, err := c.rwc.Read(c.buf[c.w:])
	c.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

var errHeadTooBig = errors.New("h1server: head larger than the engine's buffer")

func (c *conn) serve() {
	s := c.srv
	bp := bufPool.Get().(*[]byte)
	c.buf = *bp
	handedOff, announced := false, false
	if sc, ok := c.rwc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.poll = rawpoll.NewPoller(raw)
		}
	}
	defer func() {
		if !handedOff && !c.hijackedConn {
			_ = c.flushOut()
			_ = c.rwc.Close()
			if announced {
				s.connState(c.rwc, http.StateClosed)
			}
		}
		if len(c.buf) == 4096 {
			*bp = c.buf
			bufPool.Put(bp)
		}
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.wg.Done()
	}()
	maxHead := s.MaxHeadBytes
	if maxHead <= 0 {
		maxHead = defaultMaxHead
	}
	var h head
	for served := 0; ; served++ {
		// Wait for the next request: keep-alive idle, then the head
		// timeout once a head is incomplete. A deadline is set only where
		// a read may wait, and cleared before the handler runs.
		deadline := false
		if served > 0 {
			if s.closing.Load() {
				return
			}
			c.idle.Store(true)
			if d := s.Std.IdleTimeout; d > 0 {
				_ = c.rwc.SetReadDeadline(time.Now().Add(d))
				deadline = true
			}
			if c.r == c.w && len(c.pendingOut) > 0 {
				if err := c.sendAndFill(maxHead); err != nil {
					return
				}
			}
			if err := c.flushOut(); err != nil { // pipelined: answer first
				return
			}
			if c.r == c.w {
				if err := c.fill(maxHead); err != nil {
					return
				}
			}
			c.idle.Store(false)
			if s.closing.Load() {
				return
			}
		}
		var err error
		for headTimed := false; ; {
			err = parseHead(c.buf[c.r:c.w], &h)
			if err != errNeedMore {
				break
			}
			if d := s.Std.ReadHeaderTimeout; d > 0 && !headTimed {
				_ = c.rwc.SetReadDeadline(time.Now().Add(d))
				headTimed, deadline = true, true
			}
			if ferr := c.fill(maxHead); ferr != nil {
				if ferr == errHeadTooBig {
					err = errHandOff
					break
				}
				return // timeout, EOF, reset: net/http closes silently too
			}
		}
		switch err {
		case nil:
		case errHandOff:
			if c.flushOut() != nil {
				return
			}
			if announced {
				s.connState(c.rwc, http.StateClosed)
			}
			_ = c.rwc.SetReadDeadline(time.Time{})
			pending := append([]byte(nil), c.buf[c.r:c.w]...)
			if !s.fallback.deliver(&handedConn{Conn: c.rwc, pending: pending}) {
				handedOff = false
				return
			}
			handedOff = true
			return
		default: // errBothLengths
			_, _ = io.WriteString(c.rwc, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request: both Content-Length and Transfer-Encoding")
			return
		}
		if !announced {
			announced = true
			s.connState(c.rwc, http.StateNew)
		}
		s.connState(c.rwc, http.StateActive)
		c.r += h.size
		if deadline {
			_ = c.rwc.SetReadDeadline(time.Time{})
		}
		last := h.close || s.closing.Load() || (s.MaxRequestsPerConn > 0 && served+1 >= s.MaxRequestsPerConn)
		if !c.serveRequest(&h, last) {
			return
		}
		s.connState(c.rwc, http.StateIdle)
	}
}

// serveRequest answers the request of h, through Direct when it takes it,
// through the handler otherwise; it reports whether the connection may
// serve another request.
func (c *conn) serveRequest(h *head, last bool) (keep bool) {
	if d := c.srv.Direct; d != nil && h.contentLength == 0 && !h.stream {
		x := &c.exchange
		*x = Exchange{c: c, h: h, last: last}
		served, panicked := false, true
		func() {
			defer c.recoverHandler()
			served = d.ServeDirect(x)
			panicked = false
		}()
		q := x.q
		x.c, x.h, x.q = nil, nil, nil
		switch {
		case q != nil:
			// It answered through the objects a handler gets (or
			// declined after building them): finished as a handler's.
			defer q.release()
			if !served && !panicked {
				panicked = c.runHandler(q)
			}
			return c.complete(q, panicked)
		case panicked:
			return false
		case served:
			return x.keep
		}
	}
	q := c.prepare(h, last)
	defer q.release()
	return c.complete(q, c.runHandler(q))
}

// prepare builds the request and response writer a handler gets for h.
func (c *conn) prepare(h *head, last bool) *request {
	s := c.srv
	q := reqPool.Get().(*request)
	r := &q.r
	u := h.url
	// The header is the handler's to keep, as net/http's is: a goroutine
	// it starts may read it after it returns (the MCP SDK reads a posted
	// message's header while it handles the message), so it is never
	// reused for another request.
	hdr := make(http.Header, h.n)
	vals := make([]string, h.n)
	for i := 0; i < h.n; i++ {
		vals[i] = h.values[i]
		name := h.names[i]
		if old, ok := hdr[name]; ok {
			hdr[name] = append(old, vals[i])
		} else {
			hdr[name] = vals[i : i+1 : i+1]
		}
	}
	if c.baseCtx == nil {
		// Once per connection, like net/http's connection context.
		c.baseCtx = context.WithValue(context.WithValue(context.Background(),
			http.ServerContextKey, s.Std), http.LocalAddrContextKey, c.rwc.LocalAddr())
	}
	cctx, cancel := context.WithCancel(c.baseCtx)
	q.cancel = cancel
	ctx := &scopedCtx{Context: cctx}
	ctx.watched.Store(h.stream)
	*r = http.Request{
		Method: h.method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: hdr, Host: h.host, RequestURI: h.target, RemoteAddr: c.peer(),
		ContentLength: h.contentLength, Close: last,
	}
	r = r.WithContext(ctx)
	q.req = r
	var body *bodyReader
	if h.chunked || h.contentLength > 0 {
		// Not pooled: a goroutine the handler started may still hold it
		// (an http.Transport may read a request body after RoundTrip
		// returns); once the handler has returned and the rest is
		// drained, its reads fail, as net/http's do, and never reach the
		// next request's bytes.
		body = &bodyReader{c: c}
		q.retire = body
		if h.chunked {
			r.TransferEncoding = chunkedTE
			body.chunked = true
		} else {
			body.remain = h.contentLength
		}
		r.Body = body
	} else {
		// No body: the handler gets http.NoBody, never this reader, so
		// the pooled one serves.
		body = &q.noBody
		*body = bodyReader{c: c, done: true}
		r.Body = http.NoBody
	}
	w := &q.w
	*w = response{c: c, req: r, header: q.rhdr, head: w.head[:0], out: w.out[:0], closeAfter: last,
		body: body, ctx: ctx, cancel: cancel}
	w.bodyAllowed = r.Method != "HEAD"
	return q
}

// peer is the client's address, as RemoteAddr gives it to handlers.
func (c *conn) peer() string {
	if c.remoteAddr == "" {
		c.remoteAddr = c.rwc.RemoteAddr().String()
	}
	return c.remoteAddr
}

// runHandler runs the handler on q; it reports whether the handler
// panicked.
func (c *conn) runHandler(q *request) (panicked bool) {
	defer c.recoverHandler()
	panicked = true
	c.srv.Std.Handler.ServeHTTP(&q.w, q.req)
	return false
}

// recoverHandler logs a handler's panic, other than http.ErrAbortHandler,
// and stops it there.
func (c *conn) recoverHandler() {
	if v := recover(); v != nil && v != http.ErrAbortHandler {
		if l := c.srv.Log; l != nil {
			l.Error("panic serving a gateway request", "panic", v, "remote", c.peer())
		}
	}
}

// complete ends q's response once its handler returned; it reports
// whether the connection may serve another request.
func (c *conn) complete(q *request, panicked bool) (keep bool) {
	w := &q.w
	body := w.body
	if w.hijacked {
		return false
	}
	if w.watching && !w.unwatch() {
		return false // the client left
	}
	if panicked {
		return false
	}
	if err := w.finish(); err != nil {
		return false
	}
	if w.closeAfter {
		return false
	}
	// What the handler left of the body is read and dropped, up to a bound.
	if done, _ := body.state(); !done {
		if c.flushOut() != nil {
			return false
		}
		_ = c.rwc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := io.CopyN(io.Discard, body, 256<<10+1)
		_ = c.rwc.SetReadDeadline(time.Time{})
		if done, _ := body.state(); n > 256<<10 || (err != nil && err != io.EOF) || !done {
			return false
		}
	}
	_, failed := body.state()
	return !failed
}

var chunkedTE = []string{"chunked"}

// scopedCtx is the context of a request the engine serves: its type tells
// it from the contexts derived from it.
type scopedCtx struct {
	context.Context
	// watched: the engine watches the connection and cancels the context
	// when the client leaves (response.watch) — a request that accepts a
	// stream from the start, any other from the first flush of its answer.
	watched atomic.Bool
}

// HandlerScoped reports whether ctx is the context of a request this
// engine serves, as it gave it to the handler, and neither the handler
// has returned nor the engine watches the connection yet. Unlike
// net/http, the engine does not watch the connection while a handler
// runs until the handler flushes an answer (or, for a request that
// accepts text/event-stream, from the start): until then such a context
// is cancelled only when the handler returns, and a call the handler
// makes with it need not watch for its cancellation. A call whose answer
// may stream after a flush must still stop when the context is cancelled
// (h1client hooks a body it has not read whole). A context derived from
// it (a plugin's deadline) is not handler-scoped.
func HandlerScoped(ctx context.Context) bool {
	s, ok := ctx.(*scopedCtx)
	return ok && !s.watched.Load() && s.Err() == nil
}

// request is the pooled set of objects one request uses.
// What a handler may keep after it returns (the request's header, URL
// and strings) is not among them: only what net/http's handlers may not
// use after they return (the response writer and its header).
type request struct {
	r      http.Request
	req    *http.Request // r with its context: what the handler gets
	rhdr   http.Header
	w      response
	noBody bodyReader // the server's reader of a request without a body
	cancel context.CancelFunc
	retire *bodyReader // a body reader to retire when the request ends
}

var reqPool = sync.Pool{New: func() any {
	return &request{rhdr: make(http.Header, 16),
		w: response{head: make([]byte, 0, 512), out: make([]byte, 0, 4096)}}
}}

func (q *request) release() {
	if q.retire != nil {
		q.retire.retire()
	}
	q.cancel()
	// A hijacked connection's handler keeps the writer; only a request
	// that ended normally goes back to the pool.
	if q.w.hijacked || len(q.rhdr) > 64 || cap(q.w.out) > 64<<10 {
		return
	}
	clear(q.rhdr)
	q.r = http.Request{}
	q.req, q.cancel, q.retire = nil, nil, nil
	q.w = response{head: q.w.head[:0], out: q.w.out[:0]}
	q.noBody = bodyReader{}
	reqPool.Put(q)
}

// chanListener is the listener net/http's server accepts handed-off
// connections from.
type chanListener struct {
	addr   net.Addr
	ch     chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newChanListener(a net.Addr) *chanListener {
	return &chanListener{addr: a, ch: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) deliver(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// handedConn replays the bytes read before the hand-off.
type handedConn struct {
	net.Conn
	pending []byte
}

func (c *handedConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
