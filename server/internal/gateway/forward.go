package gateway

import (
	"context"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/net/http/httpguts"

	"github.com/gatehouse-dev/gatehouse/server/internal/h1client"
	"github.com/gatehouse-dev/gatehouse/server/internal/h1server"
)

// serviceProxy is the final handler of the routes of one service: it sends
// the request to the service's pool and copies the answer back.
//
// The common case is forwarded by forward: a request h1client sends (no
// upgrade, no Expect, no body or a known length up to h1client.MaxBody)
// to a service whose endpoints are all plain http. forward makes the same
// upstream request and gives the same answer as httputil.ReverseProxy
// (TestForwardMatchesReverseProxy), without what ReverseProxy spends on
// generality: no request clone or client trace per request (the outgoing
// request and its header are pooled), the answer's hop-by-hop headers
// skipped while it is copied. Everything else goes to the ReverseProxy.
type serviceProxy struct {
	rp      *httputil.ReverseProxy
	rt      *roundTripper
	onError func(http.ResponseWriter, *http.Request, error)
	bufs    *bufferPool
	plain   bool // every endpoint is plain http: h1client sends
	// direct: ServeDirect may forward to this service (ADR 0006): plain,
	// every endpoint's Host field is one h1client writes itself
	// (endpoint.hostField), and the balancer needs no request (no
	// consistent hashing).
	direct bool
}

func (s *serviceProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.plain && forwardable(r) {
		s.forward(w, r)
		return
	}
	s.rp.ServeHTTP(w, r)
}

// forwardable reports whether forward may take r: what h1client sends,
// with a query that ReverseProxy would pass unchanged.
func forwardable(r *http.Request) bool {
	h := r.Header
	if len(h["Upgrade"]) > 0 || len(h["Expect"]) > 0 || r.Method == http.MethodConnect || r.URL.Opaque != "" {
		return false
	}
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody &&
		(r.ContentLength < 0 || r.ContentLength > h1client.MaxBody) {
		return false
	}
	return cleanQuery(r.URL.RawQuery)
}

// cleanQuery reports whether ReverseProxy would keep q as it is: no ';'
// and no malformed escape (it re-encodes such queries).
func cleanQuery(q string) bool {
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case ';':
			return false
		case '%':
			if i+2 >= len(q) || !isHex(q[i+1]) || !isHex(q[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// outbound is the pooled upstream request of one forward.
type outbound struct {
	req  http.Request
	url  url.URL
	hdr  http.Header
	body noCloseBody
	w    http.ResponseWriter // for 1xx answers
	opts h1client.Options
	xff  [1]string
	xfh  [1]string
}

var outboundPool = sync.Pool{New: func() any { return &outbound{hdr: make(http.Header, 16)} }}

// noCloseBody keeps the upstream exchange from closing the client's body,
// as ReverseProxy does.
type noCloseBody struct{ io.ReadCloser }

func (noCloseBody) Close() error { return nil }

var (
	forwardedHTTP  = []string{"http"}
	forwardedHTTPS = []string{"https"}
	teTrailers     = []string{"trailers"}
	noUserAgent    = []string{""}
)

// isHopHeader reports the hop-by-hop headers ReverseProxy removes both
// ways, besides those the Connection header names.
func isHopHeader(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// forward sends r upstream and copies the answer to w.
func (s *serviceProxy) forward(w http.ResponseWriter, r *http.Request) {
	o := outboundPool.Get().(*outbound)
	o.build(r)
	o.w = w
	o.opts = h1client.Options{Interim: o, HandlerScoped: h1server.HandlerScoped(r.Context())}
	res, err := s.rt.roundTrip(&o.req, &o.opts)
	if err != nil {
		s.onError(w, &o.req, err)
		o.release()
		return
	}
	s.respond(w, r, res, o)
}

// respond copies the answer res to r to w, as ReverseProxy does; o, when
// not nil, is the outbound request it answers, released once the body is
// copied.
func (s *serviceProxy) respond(w http.ResponseWriter, r *http.Request, res *http.Response, o *outbound) {
	h := w.Header()
	copyHeaderExcept(h, res.Header, connectionNamed(res.Header["Connection"], res.Header))
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		h.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(res.StatusCode)
	if err := s.copyBody(w, res); err != nil {
		defer res.Body.Close()
		if r.Context().Value(http.ServerContextKey) == nil {
			// Not under a server (a handler test): ReverseProxy logs
			// instead of aborting.
			s.rp.ErrorLog.Printf("suppressing panic for copyResponse error in test; copy error: %v", err)
			return
		}
		panic(http.ErrAbortHandler)
	}
	res.Body.Close()
	if o != nil {
		o.release()
	}
	if len(res.Trailer) > 0 {
		// Chunked, so that the trailer can follow.
		_ = http.NewResponseController(w).Flush()
	}
	prefix := ""
	if len(res.Trailer) != announced {
		prefix = http.TrailerPrefix
	}
	for k, vv := range res.Trailer {
		for _, v := range vv {
			h.Add(prefix+k, v)
		}
	}
}

// build makes o the upstream request for r, as ReverseProxy's clone,
// hop-by-hop removal and the table's Rewrite would.
func (o *outbound) build(r *http.Request) {
	o.req = *r
	o.url = *r.URL
	o.req.URL = &o.url
	o.req.Header = o.hdr
	o.req.Close = false
	if r.ContentLength == 0 {
		o.req.Body = nil
	} else if r.Body != nil {
		o.body.ReadCloser = r.Body
		o.req.Body = &o.body
	}
	in := r.Header
	named := connectionNamed(in["Connection"], in)
	for k, vv := range in {
		switch k {
		case "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto":
			continue
		}
		if isHopHeader(k) || named != nil && named[k] {
			continue
		}
		o.hdr[k] = vv
	}
	if httpguts.HeaderValuesContainsToken(in["Te"], "trailers") {
		o.hdr["Te"] = teTrailers
	}
	// The table's Rewrite: append the peer to the X-Forwarded-For that
	// sanitize kept (a trusted proxy's), like nginx's
	// $proxy_add_x_forwarded_for; then X-Forwarded-Host and -Proto.
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior := in["X-Forwarded-For"]; len(prior) > 0 {
			ip = strings.Join(prior, ", ") + ", " + ip
		}
		o.xff[0] = ip
		o.hdr["X-Forwarded-For"] = o.xff[:]
	}
	o.xfh[0] = r.Host
	o.hdr["X-Forwarded-Host"] = o.xfh[:]
	if r.TLS == nil {
		o.hdr["X-Forwarded-Proto"] = forwardedHTTP
	} else {
		o.hdr["X-Forwarded-Proto"] = forwardedHTTPS
	}
	if _, ok := o.hdr["User-Agent"]; !ok {
		// No Go default User-Agent upstream.
		o.hdr["User-Agent"] = noUserAgent
	}
}

// Interim passes a 1xx answer (103 Early Hints) to the client as
// ReverseProxy does: the response header is sent with it, then cleared.
func (o *outbound) Interim(code int, header http.Header) error {
	passInterim(o.w, code, header)
	return nil
}

// passInterim writes a 1xx answer to w with header, then clears w's
// header for the final answer.
func passInterim(w http.ResponseWriter, code int, header http.Header) {
	h := w.Header()
	for k, vv := range header {
		for _, v := range vv {
			h.Add(k, v)
		}
	}
	w.WriteHeader(code)
	clear(h)
}

// release returns o to the pool: nothing refers to it once the answer is
// copied.
func (o *outbound) release() {
	clear(o.hdr)
	hdr := o.hdr
	*o = outbound{hdr: hdr}
	outboundPool.Put(o)
}

// copyBody copies the answer's body, flushing after every write for
// streams (text/event-stream, or no length) as ReverseProxy does.
func (s *serviceProxy) copyBody(w http.ResponseWriter, res *http.Response) error {
	dst := io.Writer(w)
	if streamed(res) {
		rc := http.NewResponseController(w)
		// The head goes out at once, even if the body waits.
		_ = rc.Flush()
		dst = flushWriter{w: w, rc: rc}
	}
	bp := s.bufs.get()
	defer s.bufs.put(bp)
	buf := *bp
	for {
		nr, rerr := res.Body.Read(buf)
		if rerr != nil && rerr != io.EOF && rerr != context.Canceled {
			s.rp.ErrorLog.Printf("httputil: ReverseProxy read error during body copy: %v", rerr)
		}
		if nr > 0 {
			nw, werr := dst.Write(buf[:nr])
			if werr != nil {
				return werr
			}
			if nw != nr {
				return io.ErrShortWrite
			}
		}
		if rerr != nil {
			if rerr == io.EOF {
				return nil
			}
			return rerr
		}
	}
}

// streamed reports whether the answer is flushed as it comes.
func streamed(res *http.Response) bool {
	if res.ContentLength == -1 {
		return true
	}
	ct := res.Header["Content-Type"]
	if len(ct) == 0 || !containsFold(ct[0], "event-stream") {
		return false
	}
	base, _, _ := mime.ParseMediaType(ct[0])
	return base == "text/event-stream"
}

type flushWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	_ = f.rc.Flush()
	return n, err
}

// connectionNamed returns the canonical names listed in Connection
// values of h, or nil for none. The usual values (keep-alive, close) name
// no header to remove unless h has a "Close" header, so they allocate
// nothing.
func connectionNamed(values []string, h http.Header) map[string]bool {
	var named map[string]bool
	for _, v := range values {
		for f := range strings.SplitSeq(v, ",") {
			f = strings.Trim(f, " \t\r\n")
			if f == "" || asciiFold(f, "keep-alive") { // hop-by-hop anyway
				continue
			}
			if _, ok := h["Close"]; !ok && asciiFold(f, "close") {
				continue
			}
			if named == nil {
				named = make(map[string]bool)
			}
			named[http.CanonicalHeaderKey(f)] = true
		}
	}
	return named
}

// asciiFold reports whether s equals lower, a lower-case ASCII word, in
// any ASCII case (http.CanonicalHeaderKey folds ASCII letters only).
func asciiFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// copyHeaderExcept adds src's headers to dst, without the hop-by-hop
// ones, those named, and X-Request-Id (the gateway set its own).
func copyHeaderExcept(dst, src http.Header, named map[string]bool) {
	for k, vv := range src {
		if isHopHeader(k) || named != nil && named[k] || k == RequestIDHeader {
			continue
		}
		if old, ok := dst[k]; ok {
			dst[k] = append(old, vv...)
		} else {
			// src is the exchange's own header, dropped after the copy.
			dst[k] = vv
		}
	}
}

// containsFold reports whether s contains sub, ignoring case.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
