package h1client

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
)

// writeRequest writes req in wire form into buf, as req.Write does:
// through appendRequest when it can, through req.Write otherwise.
func writeRequest(buf *bytes.Buffer, req *http.Request) error {
	if ok, err := appendRequest(buf, req); ok {
		return err
	}
	return req.Write(buf)
}

// appendRequest writes req into buf byte for byte as req.Write would, for
// the requests it knows to write that way (appendRequestHead), and closes
// req.Body. ok false means it wrote nothing and left req alone: the caller
// writes req with req.Write. With ok, err is the error req.Write would
// return, from the body (a read error, or a length other than
// ContentLength).
//
// It exists because req.Write is a measurable share of the gateway's CPU
// (a pooled header sorter, a strings.Replacer per value, fmt); for a
// request in memory it does the same with no allocation.
func appendRequest(buf *bytes.Buffer, req *http.Request) (ok bool, err error) {
	// Most heads fit; the append below then writes into buf's own memory.
	buf.Grow(1 << 10)
	head, ok := appendRequestHead(buf.AvailableBuffer(), req)
	if !ok {
		return false, nil
	}
	buf.Write(head)
	body := req.Body
	if body == nil || body == http.NoBody {
		return true, nil
	}
	return true, appendBody(buf, body, int(req.ContentLength))
}

// appendBody appends the n bytes of body to buf and closes body, with
// net/http's transferWriter.writeBody outcome: it reads n bytes, then the
// rest to its end, and fails on a read error, a Close error, or a body of
// another length than n, in that order.
func appendBody(buf *bytes.Buffer, body io.ReadCloser, n int) error {
	// One byte more than n: room to read the byte that tells a body
	// longer than announced, without allocating.
	buf.Grow(n + 1)
	p := buf.AvailableBuffer()[:n+1]
	var got int
	var err error
	for got < n && err == nil {
		var m int
		m, err = body.Read(p[got:n])
		got += m
	}
	buf.Write(p[:got])
	if err == io.EOF {
		err = nil
	}
	extra := 0
	if err == nil {
		extra, err = body.Read(p[n:])
		if err == nil {
			var rest int64
			rest, err = io.Copy(io.Discard, body)
			extra += int(rest)
		} else if err == io.EOF {
			err = nil
		}
	}
	if err != nil {
		_ = body.Close()
		return err
	}
	if err := body.Close(); err != nil {
		return err
	}
	if got+extra != n {
		return fmt.Errorf("http: ContentLength=%d with Body length %d", n, got+extra)
	}
	return nil
}

// maxHeadKeys is the most header keys appendRequestHead sorts (on the
// stack); a request with more goes through req.Write.
const maxHeadKeys = 32

// appendRequestHead appends req's request line and header section, up to
// and including the blank line, to dst, byte for byte as req.Write writes
// them. ok false means req is not one it handles the same way for sure
// (then dst is returned unchanged): a client trace that watches the write,
// CONNECT, a method that is not a token, an opaque URL, a host that
// net/http would clear or convert to Punycode, control bytes in the
// request URI, a Transfer-Encoding or Trailer, a body whose length is not
// known and at most MaxBody, Close with a Connection header of its own,
// more than maxHeadKeys header keys.
func appendRequestHead(dst []byte, req *http.Request) ([]byte, bool) {
	if trace := httptrace.ContextClientTrace(req.Context()); trace != nil &&
		(trace.WroteHeaderField != nil || trace.WroteHeaders != nil || trace.WroteRequest != nil) {
		// Only these see req.Write; the reverse proxy's trace
		// (Got1xxResponse) does not.
		return dst, false
	}
	u := req.URL
	if u == nil || u.Opaque != "" || len(req.TransferEncoding) > 0 || len(req.Trailer) > 0 {
		return dst, false
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	if method == http.MethodConnect || !validToken(method) {
		return dst, false
	}
	switch req.Body {
	case nil, http.NoBody:
		if req.ContentLength != 0 {
			return dst, false
		}
	default:
		if req.ContentLength <= 0 || req.ContentLength > MaxBody {
			return dst, false
		}
	}
	if req.Close && len(req.Header["Connection"]) > 0 {
		// net/http looks for a "close" token in it.
		return dst, false
	}
	host := req.Host
	if host == "" {
		host = u.Host
	}
	for i := 0; i < len(host); i++ {
		if !validHostByte(host[i]) {
			return dst, false
		}
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if hasCTL(path) || hasCTL(u.RawQuery) {
		return dst, false
	}

	// The header keys to write, sorted (insertion sort: a few dozen
	// keys at most, already in a stack array).
	var keys [maxHeadKeys]string
	nk := 0
	for k := range req.Header {
		switch k {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		if nk == len(keys) {
			return dst, false
		}
		i := nk
		for i > 0 && keys[i-1] > k {
			keys[i] = keys[i-1]
			i--
		}
		keys[i] = k
		nk++
	}

	dst = append(dst, method...)
	dst = append(dst, ' ')
	dst = append(dst, path...)
	if u.ForceQuery || u.RawQuery != "" {
		dst = append(dst, '?')
		dst = append(dst, u.RawQuery...)
	}
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = appendHostNoZone(dst, host)
	dst = append(dst, "\r\n"...)

	ua := "Go-http-client/1.1"
	if vv, ok := req.Header["User-Agent"]; ok {
		ua = ""
		if len(vv) > 0 {
			ua = vv[0]
		}
	}
	if ua != "" {
		dst = appendField(dst, "User-Agent", ua)
	}
	if req.Close {
		dst = append(dst, "Connection: close\r\n"...)
	}
	switch {
	case req.ContentLength > 0:
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, req.ContentLength, 10)
		dst = append(dst, "\r\n"...)
	case method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch:
		dst = append(dst, "Content-Length: 0\r\n"...)
	}
	for _, k := range keys[:nk] {
		if !validToken(k) {
			// net/http drops it.
			continue
		}
		for _, v := range req.Header[k] {
			dst = appendField(dst, k, v)
		}
	}
	return append(dst, "\r\n"...), true
}

// appendHostNoZone appends host without an IPv6 zone, like net/http's
// removeZone: "[fe80::1%en0]:8080" as "[fe80::1]:8080".
func appendHostNoZone(dst []byte, host string) []byte {
	if len(host) == 0 || host[0] != '[' {
		return append(dst, host...)
	}
	end := -1
	for i := len(host) - 1; i >= 0; i-- {
		if host[i] == ']' {
			end = i
			break
		}
	}
	for j := end - 1; j >= 0; j-- {
		if host[j] == '%' {
			dst = append(dst, host[:j]...)
			return append(dst, host[end:]...)
		}
	}
	return append(dst, host...)
}

// appendField appends the header line "key: value\r\n" with value as
// net/http writes it: CR and LF as spaces, leading and trailing ASCII
// space trimmed.
func appendField(dst []byte, key, v string) []byte {
	for len(v) > 0 && isSpace(v[0]) {
		v = v[1:]
	}
	for len(v) > 0 && isSpace(v[len(v)-1]) {
		v = v[:len(v)-1]
	}
	dst = append(dst, key...)
	dst = append(dst, ": "...)
	start := len(dst)
	dst = append(dst, v...)
	for i := start; i < len(dst); i++ {
		if dst[i] == '\r' || dst[i] == '\n' {
			dst[i] = ' '
		}
	}
	return append(dst, "\r\n"...)
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// hasCTL reports whether s has a byte net/http refuses in a request URI.
func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// validToken reports whether s is an RFC 7230 token, as
// httpguts.ValidHeaderFieldName checks it.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		case b == '!', b == '#', b == '$', b == '%', b == '&', b == '\'', b == '*', b == '+',
			b == '-', b == '.', b == '^', b == '_', b == '`', b == '|', b == '~':
		default:
			return false
		}
	}
	return true
}

// validHostByte reports whether b may appear in a Host header as
// httpguts.ValidHostHeader checks it; any other byte (or a non-ASCII one,
// which net/http converts to Punycode) is left to req.Write.
func validHostByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	switch b {
	case '!', '$', '%', '&', '(', ')', '*', '+', ',', '-', '.', ':', ';', '=', '[', '\'', ']', '_', '~':
		return true
	}
	return false
}
