package h1server

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
)

// The parser accepts a strict subset of HTTP/1.1: what it is not sure to
// frame exactly as net/http does goes to net/http (errHandOff), and only
// the framing that net/http tolerates but a proxy must not (both
// Content-Length and Transfer-Encoding) is refused here.

var (
	// errHandOff: the head is valid for this parser's caller only through
	// net/http; the connection goes there with the bytes read so far.
	errHandOff = errors.New("h1server: hand off to net/http")
	// errNeedMore: the head is not complete in the buffer yet.
	errNeedMore = errors.New("h1server: incomplete head")
	// errBothLengths: Content-Length and Transfer-Encoding together (400).
	errBothLengths = errors.New("h1server: both Content-Length and Transfer-Encoding")
)

// maxHeaders bounds the header lines this parser handles; more go to net/http.
const maxHeaders = 64

// head is one parsed request head; strings point into one copy of the
// head's bytes.
type head struct {
	method, target, host string
	url                  *url.URL
	names, values        [maxHeaders]string
	n                    int
	contentLength        int64 // -1 with chunked
	chunked              bool
	close                bool // Connection: close
	stream               bool // a POST (or other non-GET) that accepts text/event-stream
	size                 int  // bytes of the head, CRLFCRLF included
}

var methods = map[string]string{
	"GET": "GET", "POST": "POST", "PUT": "PUT", "DELETE": "DELETE",
	"PATCH": "PATCH", "HEAD": "HEAD", "OPTIONS": "OPTIONS",
}

// tchar reports the token characters of RFC 9110 §5.6.2.
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return
}()

// hostChar is the conservative set of Host bytes handled here.
var hostChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range ".-_:[]" {
		t[c] = true
	}
	return
}()

// parseHead parses the head at the start of b. It returns errNeedMore
// when b holds no complete head, errHandOff when net/http must decide,
// errBothLengths to refuse.
func parseHead(b []byte, h *head) error {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		// A bare LF anywhere makes the framing net/http's to decide.
		for i, c := range b {
			if c == '\n' && (i == 0 || b[i-1] != '\r') {
				return errHandOff
			}
		}
		return errNeedMore
	}
	raw := b[:end+2]
	// Every byte of the head: printable ASCII, SP, HT, or the CRLF line ends.
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\r' {
			if i+1 >= len(raw) || raw[i+1] != '\n' {
				return errHandOff
			}
			i++
			continue
		}
		if c == '\n' || (c < 0x20 && c != '\t') || c >= 0x7f {
			return errHandOff
		}
	}
	s := string(raw) // the one copy the request's strings share
	*h = head{contentLength: 0, size: end + 4}

	// Request line: METHOD SP origin-form SP HTTP/1.1.
	le := indexCRLF(s)
	line := s[:le]
	sp1 := indexByte(line, ' ')
	if sp1 <= 0 {
		return errHandOff
	}
	m, ok := methods[line[:sp1]]
	if !ok {
		return errHandOff
	}
	rest := line[sp1+1:]
	sp2 := indexByte(rest, ' ')
	if sp2 <= 0 || rest[sp2+1:] != "HTTP/1.1" {
		return errHandOff
	}
	target := rest[:sp2]
	if target[0] != '/' || (len(target) > 1 && target[1] == '/') {
		return errHandOff
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= 0x20 || c >= 0x7f || c == '#' {
			return errHandOff
		}
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return errHandOff
	}
	h.method, h.target, h.url = m, target, u

	var nHost, nCL, nTE int
	s = s[le+2:]
	for len(s) > 0 {
		le = indexCRLF(s)
		line = s[:le]
		s = s[le+2:]
		if line[0] == ' ' || line[0] == '\t' {
			return errHandOff // obs-fold
		}
		colon := indexByte(line, ':')
		if colon <= 0 {
			return errHandOff
		}
		name := line[:colon]
		for i := 0; i < len(name); i++ {
			if !tchar[name[i]] {
				return errHandOff // space before the colon among others
			}
		}
		value := trimOWS(line[colon+1:])
		if h.n == maxHeaders {
			return errHandOff
		}
		cname := canonical(name)
		switch cname {
		case "Host":
			nHost++
			for i := 0; i < len(value); i++ {
				if !hostChar[value[i]] {
					return errHandOff
				}
			}
			h.host = value
			continue // net/http moves Host out of the header map
		case "Content-Length":
			nCL++
			if len(value) == 0 || len(value) > 18 {
				return errHandOff
			}
			var n int64
			for i := 0; i < len(value); i++ {
				c := value[i]
				if c < '0' || c > '9' {
					return errHandOff
				}
				n = n*10 + int64(c-'0')
			}
			h.contentLength = n
		case "Transfer-Encoding":
			nTE++
			if !asciiEqualFold(value, "chunked") {
				if nCL > 0 {
					return errBothLengths
				}
				return errHandOff
			}
			h.chunked = true
			continue // net/http keeps it in Request.TransferEncoding only
		case "Connection":
			switch {
			case asciiEqualFold(value, "close"):
				h.close = true
			case asciiEqualFold(value, "keep-alive"):
			default:
				return errHandOff // upgrade, lists, hop-by-hop names
			}
		case "Upgrade", "Expect", "Te", "Trailer", "Http2-Settings":
			return errHandOff
		case "Accept":
			// A stream must notice a client that leaves while it is
			// silent. Long-lived streams (GET) go to net/http, whose
			// background read does; a POST (an MCP call) is served
			// here, its context not handler-scoped from the start (its
			// upstream calls hook their cancellation) and its
			// connection watched from the answer's first flush on
			// (response.watch), as any request's is.
			if containsFold(value, "text/event-stream") {
				if m == "GET" || m == "HEAD" {
					return errHandOff
				}
				h.stream = true
			}
		}
		h.names[h.n], h.values[h.n] = cname, value
		h.n++
	}
	if nCL > 0 && nTE > 0 {
		return errBothLengths
	}
	if nHost != 1 || nCL > 1 || nTE > 1 {
		return errHandOff
	}
	if h.chunked {
		h.contentLength = -1
	}
	return nil
}

func indexCRLF(s string) int {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '\r' && s[i+1] == '\n' {
			return i
		}
	}
	return len(s)
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if asciiEqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// common interns the canonical names of frequent headers.
var common = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control",
		"Connection", "Content-Length", "Content-Type", "Cookie", "Host", "Origin", "Referer", "Transfer-Encoding",
		"User-Agent", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-Ip", "X-Request-Id",
		"Upgrade", "Expect", "Te", "Trailer", "Http2-Settings", "Keep-Alive", "Api-Key", "X-Api-Key", "Anthropic-Version"} {
		m[k] = k
		m[http.CanonicalHeaderKey(k)] = http.CanonicalHeaderKey(k)
	}
	return m
}()

func canonical(name string) string {
	if c, ok := common[name]; ok {
		return c
	}
	return http.CanonicalHeaderKey(name)
}
