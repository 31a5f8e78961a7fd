package gateway

import (
	"net/http"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/server/internal/h1client"
	"github.com/gatehouse-dev/gatehouse/server/internal/h1server"
)

// The heads the direct path writes from fields: the upstream request's, as
// outbound.build and h1client would write it for the same request, and
// the client's answer's, as forward and the engine's writer would.

// maxDirectKeys bounds the upstream header fields: the engine's 64 and
// the five the gateway sets.
const maxDirectKeys = 64 + 5

// directKey is one header field of the upstream request: the client's
// field src, or, with src < 0, one the gateway sets.
type directKey struct {
	name string
	src  int
}

const (
	setForwardedFor = -1 - iota
	setForwardedHost
	setForwardedProto
	setRealIP
	setRequestID
)

// appendUpstreamHead appends the head forward sends to ep: the client's
// fields after sanitize and outbound.build's rules, as h1client writes an
// http.Request (request line, Host, User-Agent, Content-Length, then the
// fields sorted by name, the values of one name in the order received).
func (d *direct) appendUpstreamHead(dst []byte, ep *endpoint, attempt int) []byte {
	x := d.x
	u := x.URL()
	method := x.Method()
	dst = append(dst, method...)
	dst = append(dst, ' ')
	if ep.basePath != "" || attempt > 0 {
		var out url.URL
		out.Path = ep.basePath + u.Path
		if u.RawPath != "" {
			out.RawPath = ep.basePath + u.RawPath
		}
		dst = appendEscapedPath(dst, &out)
	} else {
		dst = appendEscapedPath(dst, u)
	}
	if u.ForceQuery || u.RawQuery != "" {
		dst = append(dst, '?')
		dst = append(dst, u.RawQuery...)
	}
	dst = append(dst, " HTTP/1.1\r\n"...)
	dst = append(dst, ep.hostField...)

	keys := d.keys[:0]
	add := func(name string, src int) {
		i := len(keys)
		keys = append(keys, directKey{})
		for i > 0 && keys[i-1].name > name {
			keys[i] = keys[i-1]
			i--
		}
		keys[i] = directKey{name: name, src: src}
	}
	ua, closeNamed := -1, false
	for i := 0; i < x.Fields(); i++ {
		if k, v := x.Field(i); k == "Connection" && v != "" && asciiFold(v, "close") {
			closeNamed = true
		}
	}
	for i := 0; i < x.Fields(); i++ {
		k, _ := x.Field(i)
		switch k {
		case "User-Agent":
			if ua < 0 {
				ua = i
			}
			continue
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer",
			"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip":
			continue
		case RequestIDHeader:
			if d.idGen {
				continue
			}
		case "Close":
			if closeNamed {
				continue
			}
		}
		if isHopHeader(k) || gatehouseHeader(k) {
			continue
		}
		add(k, i)
	}
	add("X-Forwarded-For", setForwardedFor)
	add("X-Forwarded-Host", setForwardedHost)
	add("X-Forwarded-Proto", setForwardedProto)
	add("X-Real-Ip", setRealIP)
	if d.idGen {
		add(RequestIDHeader, setRequestID)
	}

	if ua >= 0 {
		if _, v := x.Field(ua); v != "" {
			dst = appendLine(dst, "User-Agent", v)
		}
	}
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		dst = append(dst, "Content-Length: 0\r\n"...)
	}
	for _, k := range keys {
		switch k.src {
		case setForwardedFor:
			// The peer, after a trusted proxy's own list, like nginx's
			// $proxy_add_x_forwarded_for.
			dst = append(dst, "X-Forwarded-For: "...)
			for _, v := range d.prior {
				dst = append(append(dst, v...), ", "...)
			}
			dst = append(append(dst, d.peer...), "\r\n"...)
		case setRealIP:
			dst = appendLine(dst, k.name, d.client)
		case setForwardedHost:
			dst = appendLine(dst, k.name, x.Host())
		case setForwardedProto:
			dst = appendLine(dst, k.name, "http")
		case setRequestID:
			dst = append(dst, RequestIDHeader+": "...)
			dst = append(append(dst, d.genID[:]...), "\r\n"...)
		default:
			_, v := x.Field(k.src)
			dst = appendLine(dst, k.name, v)
		}
	}
	return append(dst, "\r\n"...)
}

// appendEscapedPath appends u's path as http.Request.Write sends it.
func appendEscapedPath(dst []byte, u *url.URL) []byte {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	return append(dst, p...)
}

// appendLine appends the field "name: value\r\n"; the values here come
// from the engine's parser (no CR, LF or surrounding space) or the
// gateway.
func appendLine(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// plainForClient reports whether the client's answer can be written from
// a's fields as they are: none is named Close (which an HTTP/1.0 answer's
// Connection: close would name, for forward to drop).
func plainForClient(a *h1client.Answer) bool {
	for i := 0; i < a.Fields(); i++ {
		if name, _, _ := a.Field(i); len(name) == 5 && asciiFold(string(name), "close") {
			return false
		}
	}
	return true
}

// appendClientHead appends the head of the client's answer as forward and
// the engine's response writer make it from a: the upstream's fields
// without the hop-by-hop ones and its X-Request-Id, names in canonical
// form; then the request id, Date and a sniffed Content-Type when the
// upstream sent none, and Connection: close on the connection's last
// answer. A 204's Content-Length is dropped, as net/http drops it.
func (d *direct) appendClientHead(dst []byte, a *h1client.Answer, last bool) []byte {
	dst = h1server.AppendStatusLine(dst, a.Status)
	hasDate, hasType := false, false
	for i := 0; i < a.Fields(); i++ {
		name, value, canonical := a.Field(i)
		start := len(dst)
		dst = append(dst, name...)
		if !canonical {
			canonicalize(dst[start:])
		}
		k := dst[start:]
		switch {
		case isHopHeader(string(k)) || string(k) == RequestIDHeader ||
			a.Status == http.StatusNoContent && string(k) == "Content-Length":
			dst = dst[:start]
			continue
		case string(k) == "Date":
			hasDate = true
		case string(k) == "Content-Type":
			hasType = true
		}
		dst = append(dst, ": "...)
		dst = append(dst, value...)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, RequestIDHeader+": "...)
	dst = append(d.appendID(dst), "\r\n"...)
	if !hasDate {
		dst = appendLine(dst, "Date", h1server.Date())
	}
	if !hasType && len(a.Body) > 0 {
		dst = appendLine(dst, "Content-Type", http.DetectContentType(a.Body))
	}
	if last {
		dst = append(dst, "Connection: close\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// canonicalize rewrites a header name, a token, in place as
// http.CanonicalHeaderKey spells it.
func canonicalize(b []byte) {
	upper := true
	for i, c := range b {
		if upper && 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		} else if !upper && 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
		upper = c == '-'
	}
}
