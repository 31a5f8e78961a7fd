package h1server

import (
	"net"
	"net/http"
	"net/url"
)

// Direct answers requests from their parsed head, without the objects a
// handler gets, when it can: a proxy's shortcut for the plain case.
type Direct interface {
	// ServeDirect answers x and returns true, or returns false to let
	// the handler answer it. It answers with x.Respond, or with the
	// objects of x.Standard, which it may take at any point before it
	// has responded: what it writes to them is finished as a handler's
	// answer, and if it then returns false, the handler gets them.
	ServeDirect(x *Exchange) bool
}

// Exchange is a request offered to Server.Direct: its parsed head, which
// the engine framed as it frames any request, and the means to answer.
// It is valid during ServeDirect only.
type Exchange struct {
	c    *conn
	h    *head
	last bool
	q    *request // built by Standard
	keep bool     // answered with Respond, and the connection may go on
}

// Method is the request's method.
func (x *Exchange) Method() string { return x.h.method }

// Host is the Host header's value.
func (x *Exchange) Host() string { return x.h.host }

// URL is the parsed request target (origin-form); do not change it.
func (x *Exchange) URL() *url.URL { return x.h.url }

// Fields is the number of header fields, Host excluded.
func (x *Exchange) Fields() int { return x.h.n }

// Field returns the i-th header field in the order received, with its
// name in canonical form and its value without surrounding spaces.
func (x *Exchange) Field(i int) (name, value string) { return x.h.names[i], x.h.values[i] }

// Get returns the first value of the header field name (canonical), or "".
func (x *Exchange) Get(name string) string {
	for i := 0; i < x.h.n; i++ {
		if x.h.names[i] == name {
			return x.h.values[i]
		}
	}
	return ""
}

// RemoteAddr is the client's address, as http.Request.RemoteAddr.
func (x *Exchange) RemoteAddr() string { return x.c.peer() }

// Last reports whether the connection closes after this answer: the
// client asked for it, or the server is closing or at its limit of
// requests per connection. The answer's head must then say
// "Connection: close".
func (x *Exchange) Last() bool { return x.last }

// Respond sends the whole answer: head (status line, fields and the blank
// line, as they go on the wire) and body. The engine adds nothing to it;
// unless it is the last, it goes out with the wait for the next request.
func (x *Exchange) Respond(head, body []byte) {
	c := x.c
	if !x.last && len(head)+len(body) <= 16<<10 {
		c.setOut(head, body)
		x.keep = true
		return
	}
	nb := net.Buffers{head, body}
	if _, err := nb.WriteTo(c.rwc); err == nil && !x.last {
		x.keep = true
	}
}

// Standard returns the response writer and request a handler would get
// for this request, built on the first call.
func (x *Exchange) Standard() (http.ResponseWriter, *http.Request) {
	if x.q == nil {
		x.q = x.c.prepare(x.h, x.last)
	}
	return &x.q.w, x.q.req
}

// AppendStatusLine appends the status line the engine writes for code.
func AppendStatusLine(b []byte, code int) []byte { return appendStatus(b, code) }

// Date is the Date value the engine adds to answers that have none.
func Date() string { return httpDate() }
