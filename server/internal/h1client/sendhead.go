package h1client

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// SendHead sends a request without a body whose head the caller wrote
// (request line, header fields and the blank line, exactly as they go on
// the wire) to addr, and returns when the first bytes of the answer have
// arrived. It is Send's exchange, split where the answer starts, so that
// a caller can take a plain answer without an http.Response
// (Pending.Answer) and read any other one as Send returns it
// (Pending.Response). replay allows one more try on a new connection when
// a kept-alive one failed before answering, as Send allows it for the
// requests it deems safe to repeat (see Replayable).
//
// The exchange has no cancellation hook: the caller waits for it, as a
// handler-scoped one does (Options.HandlerScoped).
func (t *Transport) SendHead(addr string, head []byte, replay bool) (Pending, error) {
	for attempt := 0; ; attempt++ {
		c, reused, err := t.get(context.Background(), addr)
		if err != nil {
			return Pending{}, err
		}
		if t.headerTimeout > 0 {
			_ = c.conn.SetDeadline(time.Now().Add(t.headerTimeout))
		}
		c.out.Reset()
		c.out.Write(head)
		err = c.transmit()
		if err == nil {
			return Pending{t: t, c: c}, nil
		}
		c.close()
		if !reused || attempt > 0 || !replay {
			var stale *errStale
			if errors.As(err, &stale) {
				err = stale.err
			}
			return Pending{}, err
		}
	}
}

// Replayable reports whether a request without a body may be sent again
// after a kept-alive connection failed before answering, as Send decides
// it: a method safe to repeat, or an idempotency key.
func Replayable(method string, hasIdempotencyKey bool) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return hasIdempotencyKey
}

// Pending is an exchange whose answer has begun to arrive. Read it once,
// with Answer or Response.
type Pending struct {
	t *Transport
	c *upConn
}

// Response reads the answer as Send returns it, req being the request the
// head was written from (its method tells the answer to a HEAD), with
// opts as SendWith's (the exchange has no cancellation hook: set
// HandlerScoped when req's context is handler-scoped, so that a body
// still to be read stops when it is cancelled). The response's body
// releases the connection as Send's does.
func (p Pending) Response(req *http.Request, opts *Options) (*http.Response, error) {
	if opts == nil {
		opts = &noOptions
	}
	return p.t.answer(p.c, req, opts, notCancelled)
}

// Answer returns the answer when it is a plain one, whole in memory: a
// head that readResponse parses itself (see there), no Pragma field, and
// a body framed by its Content-Length or absent by rule (head: the
// request was a HEAD), already read. It returns nil, consuming nothing,
// for any other answer; read that one with Response.
//
// The answer and its bytes belong to the connection: use them before
// Done, which releases it.
func (p Pending) Answer(head bool) *Answer {
	c := p.c
	a := &c.answer
	s := &a.s
	if !scanResponse(c.br, head, s) || s.pragma || s.length < 0 || int64(len(s.buf)-s.pos) < s.length {
		return nil
	}
	a.c, a.t = c, p.t
	a.Status = s.status
	a.Body = s.buf[s.pos : s.pos+int(s.length)]
	return a
}

// Answer is a plain answer, read without an http.Response.
type Answer struct {
	Status int
	Body   []byte // all of it; empty for none

	s scanned
	c *upConn
	t *Transport
}

// StatusLine is the status line's code and reason, as http.Response.Status.
func (a *Answer) StatusLine() string { return string(a.s.buf[9:a.s.statusEnd]) }

// Fields is the number of header fields.
func (a *Answer) Fields() int { return a.s.nlines }

// Field returns the i-th header field as it came, name and value (without
// surrounding spaces); canonical reports whether the name is spelled as
// http.CanonicalHeaderKey would spell it. The bytes are valid until Done.
func (a *Answer) Field(i int) (name, value []byte, canonical bool) {
	l := &a.s.lines[i]
	return a.s.buf[l.name:l.nameEnd], a.s.buf[l.value:l.valueEnd], l.canonical
}

// Done releases the connection: back to the pool when the exchange allows
// it and nothing follows the answer, closed otherwise.
func (a *Answer) Done() {
	c := a.c
	_, _ = c.br.Discard(a.s.pos + int(a.s.length))
	keep := !a.s.closing && c.br.Buffered() == 0 && len(c.in.Pending) == 0
	a.s.buf, a.Body, a.c = nil, nil, nil
	if keep {
		a.t.put(c)
		return
	}
	c.close()
}

// Close releases the connection of an exchange whose answer will not be
// read.
func (p Pending) Close() { p.c.close() }

// AppendHostField appends the Host field Send writes for a request to
// host, "Host: host\r\n"; ok false (dst unchanged) when host has a byte
// that Send would leave to net/http, which may convert or refuse it.
func AppendHostField(dst []byte, host string) (_ []byte, ok bool) {
	for i := 0; i < len(host); i++ {
		if !validHostByte(host[i]) {
			return dst, false
		}
	}
	dst = append(dst, "Host: "...)
	dst = appendHostNoZone(dst, host)
	return append(dst, "\r\n"...), true
}
