package gateway

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/server/internal/h1client"
	"github.com/gatehouse-dev/gatehouse/server/internal/h1server"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

// ServeDirect is the fast engine's shortcut for routes without plugins
// (ADR 0006): a request without a body, on a route whose chain is empty
// and whose service takes plain HTTP (chain.direct), is forwarded from the
// engine's parsed head, without the http.Request, header maps and context
// that ServeHTTP and forward build. The upstream request and the client's
// answer are those of forward (TestForwardMatchesReverseProxy); an answer
// that is not plain (streamed, chunked, interim, large) and an upstream
// failure are finished by forward's and ServeHTTP's own code, on the
// objects the engine builds then (Exchange.Standard). It returns false,
// having done nothing, for every other request: the engine then builds the
// request and calls ServeHTTP.
func (g *Gateway) ServeDirect(x *h1server.Exchange) bool {
	u := x.URL()
	if !cleanQuery(u.RawQuery) || spec.CleanPath(u.Path) != u.Path {
		return false
	}
	ip, _, err := net.SplitHostPort(x.RemoteAddr())
	if err != nil {
		return false
	}
	t := g.acquire()
	if t == nil {
		return false
	}
	defer t.done()
	d := directPool.Get().(*direct)
	defer d.release()
	d.x, d.g, d.peer, d.client, d.start = x, g, ip, ip, time.Now()
	if !g.clientIP.Empty() && !d.trustPeer() {
		return false
	}
	d.setID(x.Get(RequestIDHeader))
	host := normalizeHost(x.Host())
	e := t.router.match(host, u.Path, x.Method(), d)
	if e == nil {
		return false
	}
	sp := e.target.chainFor(t.domains, host).direct
	if sp == nil {
		return false
	}
	d.route = e.target.label
	d.forward(sp)
	return true
}

// direct is the state of one request ServeDirect forwards, pooled.
type direct struct {
	g      *Gateway
	x      *h1server.Exchange
	peer   string // the connection's peer address
	client string // the client's address (X-Real-Ip): the peer's, or as a trusted proxy says
	route  string
	start  time.Time
	// From a trusted proxy: its X-Forwarded-For values, kept and
	// extended, and its Forwarded, kept for routing, as sanitize keeps
	// them.
	trusted  bool
	priorBuf [maxPriorHops]string
	prior    []string

	clientID string   // the client's X-Request-Id, when kept
	genID    [32]byte // the generated one otherwise
	idGen    bool

	up   []byte // the upstream request's head
	down []byte // the client's answer's head
	keys [maxDirectKeys]directKey

	// The standard objects, once the request needs them (standard).
	sw *statusWriter
	r  *http.Request
}

var directPool = sync.Pool{New: func() any {
	return &direct{up: make([]byte, 0, 1024), down: make([]byte, 0, 1024)}
}}

func (d *direct) release() {
	if cap(d.up) > 16<<10 || cap(d.down) > 16<<10 {
		return
	}
	*d = direct{up: d.up[:0], down: d.down[:0]}
	directPool.Put(d)
}

// maxPriorHops bounds the X-Forwarded-For fields of a trusted proxy's
// request that the direct path takes.
const maxPriorHops = 8

// trustPeer finds the client's address when the gateway trusts proxies,
// as sanitize does: the peer's, unless the peer is a trusted proxy, whose
// X-Forwarded-For (or X-Real-Ip) then says. It reports false to decline
// the request (a peer address that does not parse, more forwarding
// fields than it keeps).
func (d *direct) trustPeer() bool {
	g, x := d.g, d.x
	a, err := netip.ParseAddr(d.peer)
	if err != nil {
		return false
	}
	if !g.clientIP.Trusts(a) {
		return true
	}
	d.trusted = true
	d.prior = d.priorBuf[:0]
	realIP, sawRealIP := "", false
	for i := 0; i < x.Fields(); i++ {
		switch k, v := x.Field(i); k {
		case "X-Forwarded-For":
			if len(d.prior) == maxPriorHops {
				return false
			}
			d.prior = append(d.prior, v)
		case "X-Real-Ip":
			if !sawRealIP {
				realIP, sawRealIP = v, true
			}
		}
	}
	d.client = g.clientIP.ClientIPOf(d.peer, d.prior, realIP)
	return true
}

// setID keeps the client's request id, or generates one, as ServeHTTP.
func (d *direct) setID(id string) {
	if id != "" && len(id) <= 128 {
		d.clientID, d.idGen = id, false
		return
	}
	fillRequestID(&d.genID)
	d.idGen = true
}

// appendID appends the request id.
func (d *direct) appendID(dst []byte) []byte {
	if d.idGen {
		return append(dst, d.genID[:]...)
	}
	return append(dst, d.clientID...)
}

// id returns the request id as a string (an allocation for a generated
// one: only logs and the standard path need it).
func (d *direct) id() string {
	if d.idGen {
		return string(d.genID[:])
	}
	return d.clientID
}

// hasValue answers routing's header matches as ServeHTTP's header would,
// after sanitize: X-Real-Ip is the client's address, forwarding headers
// (unless from a trusted proxy) and the X-Gatehouse-* headers a client
// may not send are gone, and a generated request id replaces the
// client's.
func (d *direct) hasValue(key, value string) bool {
	switch {
	case key == "X-Real-Ip":
		return value == d.client
	case key == RequestIDHeader && d.idGen:
		return value == string(d.genID[:])
	case (key == "X-Forwarded-For" || key == "Forwarded") && !d.trusted, gatehouseHeader(key):
		return false
	}
	for i := 0; i < d.x.Fields(); i++ {
		if k, v := d.x.Field(i); k == key && v == value {
			return true
		}
	}
	return false
}

// forward sends the request to sp's service and answers the client.
func (d *direct) forward(sp *serviceProxy) {
	x := d.x
	method := x.Method()
	isHead := method == http.MethodHead
	replay := h1client.Replayable(method, x.Get("Idempotency-Key") != "" || x.Get("X-Idempotency-Key") != "")
	var (
		answer *h1client.Answer
		res    *http.Response
	)
	send := func(ep *endpoint, attempt int) (int, error) {
		d.up = d.appendUpstreamHead(d.up[:0], ep, attempt)
		p, err := sp.rt.pool.transport.h1.SendHead(ep.dialAddr, d.up, replay)
		if err != nil {
			return 0, err
		}
		// A plain answer is written from its fields, unless an earlier
		// attempt's answer made the request take the standard objects.
		if d.sw == nil {
			if a := p.Answer(isHead); a != nil && plainForClient(a) {
				answer = a
				return a.Status, nil
			}
		}
		// Not plain: read as forward reads it, with 1xx answers passed
		// to the client.
		sw, r := d.standard()
		res, err = p.Response(r, &h1client.Options{Interim: interimTo{sw}, HandlerScoped: h1server.HandlerScoped(r.Context())})
		if err != nil {
			return 0, err
		}
		return res.StatusCode, nil
	}
	drop := func() string {
		if answer != nil {
			line := answer.StatusLine()
			answer.Done()
			answer = nil
			return line
		}
		_, _ = io.CopyN(io.Discard, res.Body, 64<<10)
		_ = res.Body.Close()
		return res.Status
	}
	ep, tracked, err := sp.rt.try(nil, method, true, send, drop)
	switch {
	case err != nil:
		sw, r := d.standard()
		sp.onError(sw, r, err)
		d.finish(sw.status)
	case answer != nil:
		status := answer.Status
		d.down = d.appendClientHead(d.down[:0], answer, x.Last())
		x.Respond(d.down, answer.Body)
		answer.Done()
		if tracked {
			ep.inflight.Add(-1)
		}
		d.finish(status)
	default:
		if tracked {
			res.Body = &inflightBody{ReadCloser: res.Body, ep: ep}
		}
		defer func() { d.finish(d.sw.status) }()
		sp.respond(d.sw, d.r, res, nil)
	}
}

// standard returns the objects a handler gets for the request, made
// ready as ServeHTTP makes them (the same request id, sanitize's header),
// built on the first call.
func (d *direct) standard() (*statusWriter, *http.Request) {
	if d.sw != nil {
		return d.sw, d.r
	}
	w, r := d.x.Standard()
	if d.idGen {
		r.Header[RequestIDHeader] = []string{d.id()}
	}
	st, r := d.g.begin(w, r)
	st.sw.ResponseWriter = w
	d.sw, d.r = &st.sw, r
	return d.sw, d.r
}

// finish counts the request and logs it, as Gateway.finish does.
func (d *direct) finish(status int) {
	if status == 0 {
		status = http.StatusOK
	}
	elapsed := time.Since(d.start)
	g := d.g
	g.metrics.observe(d.route, status, elapsed)
	g.metrics.direct.Inc()
	if g.accessLog {
		u := d.x.URL()
		g.logRequest(context.Background(), d.x.Method(), d.x.Host(), u.Path, d.client, d.id(), d.route, status, elapsed)
	}
}

// interimTo passes 1xx answers to the client's writer, as outbound does.
type interimTo struct{ w http.ResponseWriter }

func (i interimTo) Interim(code int, header http.Header) error {
	passInterim(i.w, code, header)
	return nil
}
