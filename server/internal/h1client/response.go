package h1client

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"strings"
	"sync"
)

// maxHeaderLines is the most header lines readResponse parses itself; a
// longer head goes to http.ReadResponse.
const maxHeaderLines = 64

// readResponse reads a response to req from br, like http.ReadResponse and
// with the same result, but cheaper for the heads upstreams send: a
// complete head already in br's buffer, HTTP/1.1 or HTTP/1.0, a final
// status (200–599), well-formed header lines (token names, visible ASCII
// values, CRLF line ends, no obs-fold), at most maxHeaderLines of them,
// and a body framed by one Content-Length, by Transfer-Encoding: chunked,
// or absent by rule (HEAD, 204, 304). Connection may only say close or
// keep-alive; Trailer must be absent.
//
// Anything else — a head not yet read, 1xx, a body delimited by the end of
// the connection, an unusual or hostile head — is left untouched in br and
// read by http.ReadResponse, which then decides and reports errors.
func readResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	if resp := parseResponse(br, req); resp != nil {
		return resp, nil
	}
	return http.ReadResponse(br, req)
}

// headerLine is one header line: offsets into the head, which
// parseResponse keeps under 64 KiB. They are small so that the lines fit
// a small stack frame: the goroutine of an idle gateway connection keeps
// the stack its deepest request needed.
type headerLine struct {
	name, nameEnd, value, valueEnd uint16
	canonical                      bool // the name is written as CanonicalMIMEHeaderKey would
}

// responseWithBody allocates a response and its body at once.
type responseWithBody struct {
	resp http.Response
	body wireBody
}

// scanned is a response head that parseResponse reads itself, before it
// becomes an http.Response: offsets into buf, the bytes br holds.
type scanned struct {
	buf                    []byte
	status, minor          int
	statusEnd              int // at the CR of the status line
	lines                  [maxHeaderLines]headerLine
	nlines                 int
	te                     int   // the line of Transfer-Encoding: chunked, or -1
	contentLength          int64 // -1: none
	pragma                 bool
	hasClose, hasKeepAlive bool
	pos                    int   // the size of the head, its blank line included
	length                 int64 // the bytes of body that follow the head; -1: chunked
	closing                bool  // the connection closes after the body
}

// scanResponse scans the head br holds into s, without consuming it. It
// reports false when the head is not one parseResponse reads itself.
// head: the answer is to a HEAD request.
func scanResponse(br *bufio.Reader, head bool, s *scanned) bool {
	n := min(br.Buffered(), math.MaxUint16)
	if n == 0 {
		return false
	}
	buf, _ := br.Peek(n)
	s.buf = buf

	// Status line: "HTTP/1.x DDD" and an optional " reason".
	const minStatusLine = len("HTTP/1.1 200\r\n")
	if len(buf) < minStatusLine || string(buf[:7]) != "HTTP/1." || buf[7] != '0' && buf[7] != '1' || buf[8] != ' ' {
		return false
	}
	s.minor = int(buf[7] - '0')
	d0, d1, d2 := buf[9], buf[10], buf[11]
	if d0 < '2' || d0 > '5' || !isDigit(d1) || !isDigit(d2) {
		return false
	}
	s.status = int(d0-'0')*100 + int(d1-'0')*10 + int(d2-'0')
	statusEnd := bytes.IndexByte(buf, '\n')
	if statusEnd < minStatusLine-1 || buf[statusEnd-1] != '\r' {
		return false
	}
	statusEnd-- // at the CR
	if statusEnd > 12 {
		if buf[12] != ' ' {
			return false
		}
		for _, c := range buf[13:statusEnd] {
			if !isValueByte(c) {
				return false
			}
		}
	}
	s.statusEnd = statusEnd

	// Header lines, up to the empty line.
	s.nlines, s.te, s.contentLength = 0, -1, -1
	s.pragma, s.hasClose, s.hasKeepAlive = false, false, false
	pos := statusEnd + 2
	for {
		rest := buf[pos:]
		eol := bytes.IndexByte(rest, '\n')
		if eol < 1 || rest[eol-1] != '\r' {
			// Not all here yet, or a bare LF.
			return false
		}
		if eol == 1 {
			pos += 2
			break
		}
		if s.nlines == maxHeaderLines {
			return false
		}
		line := rest[:eol-1]
		i, canonical, upper := 0, true, true
		for ; i < len(line) && isTokenByte(line[i]); i++ {
			c := line[i]
			if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
				canonical = false
			}
			upper = c == '-'
		}
		if i == 0 || i == len(line) || line[i] != ':' {
			return false
		}
		name := line[:i]
		v := i + 1
		for _, c := range line[v:] {
			if !isValueByte(c) {
				return false
			}
		}
		ve := len(line)
		for v < ve && (line[v] == ' ' || line[v] == '\t') {
			v++
		}
		for ve > v && (line[ve-1] == ' ' || line[ve-1] == '\t') {
			ve--
		}
		value := line[v:ve]

		switch {
		case equalFoldLower(name, "content-length"):
			if s.contentLength >= 0 || len(value) == 0 || len(value) > 18 {
				return false
			}
			s.contentLength = 0
			for _, c := range value {
				if !isDigit(c) {
					return false
				}
				s.contentLength = s.contentLength*10 + int64(c-'0')
			}
		case equalFoldLower(name, "transfer-encoding"):
			// net/http ignores it in HTTP/1.0 and refuses all but a
			// single "chunked".
			if s.te >= 0 || s.minor == 0 || !equalFoldLower(value, "chunked") {
				return false
			}
			s.te = s.nlines
		case equalFoldLower(name, "connection"):
			switch {
			case equalFoldLower(value, "close"):
				s.hasClose = true
			case equalFoldLower(value, "keep-alive"):
				s.hasKeepAlive = true
			default:
				return false
			}
		case equalFoldLower(name, "trailer"):
			return false
		case equalFoldLower(name, "pragma"):
			s.pragma = true
		}
		s.lines[s.nlines] = headerLine{
			name: uint16(pos), nameEnd: uint16(pos + i), value: uint16(pos + v), valueEnd: uint16(pos + ve),
			canonical: canonical,
		}
		s.nlines++
		pos += eol + 1
	}
	s.pos = pos

	// Framing, as net/http's readTransfer decides it.
	chunked := s.te >= 0
	if chunked && s.contentLength >= 0 {
		return false
	}
	bodyAllowed := s.status != http.StatusNoContent && s.status != http.StatusNotModified
	switch {
	case head || !bodyAllowed:
		s.length = 0
	case chunked:
		s.length = -1
	case s.contentLength >= 0:
		s.length = s.contentLength
	default:
		// Delimited by the end of the connection.
		return false
	}
	s.closing = s.hasClose
	if s.minor == 0 {
		s.closing = s.hasClose || !s.hasKeepAlive
	}
	return true
}

// parseResponse returns the response whose head br holds, with its head
// consumed, or nil, with nothing consumed, when the head is not one
// readResponse reads itself.
func parseResponse(br *bufio.Reader, req *http.Request) *http.Response {
	var sc scanned
	head := req != nil && req.Method == http.MethodHead
	if !scanResponse(br, head, &sc) {
		return nil
	}
	buf, pos, nlines, te := sc.buf, sc.pos, sc.nlines, sc.te
	lines := &sc.lines

	// One string holds the head, with canonical names; the response's
	// strings are parts of it.
	var sb strings.Builder
	sb.Grow(pos)
	last := 0
	for i := range nlines {
		l := &lines[i]
		if l.canonical {
			continue
		}
		sb.Write(buf[last:l.name])
		upper := true
		for _, c := range buf[l.name:l.nameEnd] {
			if upper && 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			} else if !upper && 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			_ = sb.WriteByte(c)
			upper = c == '-'
		}
		last = int(l.nameEnd)
	}
	sb.Write(buf[last:pos])
	s := sb.String()

	header := make(http.Header, nlines)
	values := make([]string, nlines)
	var transferEncoding []string
	for i := range nlines {
		l := &lines[i]
		if i == te {
			// net/http moves it from the header to TransferEncoding.
			values[i] = "chunked"
			transferEncoding = values[i : i+1 : i+1]
			continue
		}
		key := s[l.name:l.nameEnd]
		value := s[l.value:l.valueEnd]
		if vv, ok := header[key]; ok {
			header[key] = append(vv, value)
			continue
		}
		values[i] = value
		header[key] = values[i : i+1 : i+1]
	}
	if sc.minor != 0 && sc.hasClose {
		header.Del("Connection")
	}
	if sc.pragma {
		if hp := header["Pragma"]; len(hp) > 0 && hp[0] == "no-cache" {
			if _, ok := header["Cache-Control"]; !ok {
				header["Cache-Control"] = []string{"no-cache"}
			}
		}
	}

	length := sc.length
	contentLengthField := length
	if head {
		contentLengthField = sc.contentLength
	}
	var resp *http.Response
	if length == 0 {
		resp = &http.Response{Body: http.NoBody}
	} else {
		rb := &responseWithBody{}
		resp = &rb.resp
		rb.body = wireBody{br: br, n: length, closing: sc.closing}
		if length < 0 {
			rb.body.chunks = httputil.NewChunkedReader(br)
			rb.body.trailerFor = resp
		}
		resp.Body = &rb.body
	}
	resp.Status = s[9:sc.statusEnd]
	resp.StatusCode = sc.status
	resp.Proto = s[:8]
	resp.ProtoMajor = 1
	resp.ProtoMinor = sc.minor
	resp.Header = header
	resp.ContentLength = contentLengthField
	resp.TransferEncoding = transferEncoding
	resp.Close = sc.closing
	resp.Request = req
	_, _ = br.Discard(pos)
	return resp
}

// wireBody is a response body read from the connection's reader: the
// Content-Length bytes after the head, or the chunked encoding and its
// trailer. It returns what net/http's body returns, and reads br as far:
// after io.EOF the reader is at the next response. Read and Close may be
// called concurrently.
type wireBody struct {
	br         *bufio.Reader
	chunks     io.Reader      // the chunked encoding; nil: n bytes
	trailerFor *http.Response // chunked: the response that receives the trailer, until read
	n          int64          // bytes left
	closing    bool           // the connection closes after the body

	mu     sync.Mutex
	sawEOF bool
	closed bool
}

func (b *wireBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.readLocked(p)
}

func (b *wireBody) readLocked(p []byte) (int, error) {
	if b.sawEOF {
		return 0, io.EOF
	}
	if b.chunks != nil {
		n, err := b.chunks.Read(p)
		if err == io.EOF {
			b.sawEOF = true
			if b.trailerFor != nil {
				if terr := readTrailer(b.br, b.trailerFor); terr != nil {
					// Like net/http: neither this body nor the
					// connection may be read any further.
					err = terr
					b.sawEOF = false
					b.closed = true
				}
				b.trailerFor = nil
			}
		}
		return n, err
	}
	// io.LimitReader's reads, and net/http's end: io.EOF with the last
	// byte, io.ErrUnexpectedEOF when the connection ends early.
	if b.n <= 0 {
		b.sawEOF = true
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.br.Read(p)
	b.n -= int64(n)
	if err == io.EOF {
		b.sawEOF = true
		if b.n > 0 {
			err = io.ErrUnexpectedEOF
		}
	}
	if err == nil && n > 0 && b.n == 0 {
		err = io.EOF
		b.sawEOF = true
	}
	return n, err
}

// Close reads the rest of the body, so that the connection could be
// reused, unless it closes anyway; then reads fail.
func (b *wireBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	var err error
	switch {
	case b.sawEOF:
	case b.trailerFor == nil && b.closing:
	default:
		_, err = io.Copy(io.Discard, lockedBody{b})
	}
	b.closed = true
	return err
}

// lockedBody reads a wireBody whose mutex is held.
type lockedBody struct{ b *wireBody }

func (l lockedBody) Read(p []byte) (int, error) {
	if l.b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	return l.b.readLocked(p)
}

var errTrailerEOF = errors.New("http: unexpected EOF reading trailer")

// readTrailer reads what follows the last chunk, the trailer section, as
// net/http does, into resp.Trailer.
func readTrailer(br *bufio.Reader, resp *http.Response) error {
	buf, err := br.Peek(2)
	if string(buf) == "\r\n" {
		_, _ = br.Discard(2)
		return nil
	}
	if len(buf) < 2 {
		return errTrailerEOF
	}
	if err != nil {
		return err
	}
	// A trailer must fit the reader's buffer.
	if !seeUpcomingDoubleCRLF(br) {
		return errors.New("http: suspiciously long trailer after chunked body")
	}
	hdr, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil {
		if err == io.EOF {
			return errTrailerEOF
		}
		return err
	}
	if resp.Trailer == nil {
		resp.Trailer = http.Header(hdr)
	} else {
		maps.Copy(resp.Trailer, http.Header(hdr))
	}
	return nil
}

// seeUpcomingDoubleCRLF reports whether br's buffer, filled as far as it
// goes, holds a CRLFCRLF.
func seeUpcomingDoubleCRLF(br *bufio.Reader) bool {
	for size := 4; ; size++ {
		// Peek fails once the buffer is full.
		buf, err := br.Peek(size)
		if bytes.HasSuffix(buf, []byte("\r\n\r\n")) {
			return true
		}
		if err != nil {
			return false
		}
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isValueByte reports whether c may be in a header value readResponse
// parses: visible ASCII, SP or HT.
func isValueByte(c byte) bool { return '\x20' <= c && c < '\x7f' || c == '\t' }

// isTokenByte reports whether c is a tchar (RFC 9110, 5.6.2).
func isTokenByte(c byte) bool {
	// A 128-bit set: c tests the low word when below 64, the high one
	// below 128, neither (a shift of 64 or more gives 0) above.
	const mask = 0 |
		(1<<10-1)<<'0' | (1<<26-1)<<'a' | (1<<26-1)<<'A' |
		1<<'!' | 1<<'#' | 1<<'$' | 1<<'%' | 1<<'&' | 1<<'\'' | 1<<'*' |
		1<<'+' | 1<<'-' | 1<<'.' | 1<<'^' | 1<<'_' | 1<<'`' | 1<<'|' | 1<<'~'
	return (uint64(1)<<c)&(mask&(1<<64-1))|(uint64(1)<<(c-64))&(mask>>64) != 0
}

// equalFoldLower reports whether b equals the lower-case ASCII lower,
// ignoring ASCII case.
func equalFoldLower(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
