package h1server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// response is the http.ResponseWriter of one request: the head and up to
// one buffer of body go out in one vectored write.
type response struct {
	c      *conn
	req    *http.Request
	header http.Header

	status      int
	wroteHeader bool
	headSent    bool // the head is on the wire: body goes out as it comes
	chunked     bool
	bodyAllowed bool  // not HEAD
	declared    int64 // Content-Length set by the handler, or -1
	written     int64
	closeAfter  bool
	hijacked    bool
	trailers    []string

	head []byte
	out  []byte // body not yet written
	err  error
	// The values of the header fields the engine adds (Content-Type,
	// Date, Content-Length), kept here rather than allocated: the header
	// map and the response are pooled together, and neither is the
	// handler's once it has returned.
	added [3]string

	// A request is watched from the first flush of its answer on: a read
	// of the idle connection that ends when the client leaves (cancel) or
	// when the handler returns (unwatch).
	body     *bodyReader
	ctx      *scopedCtx
	cancel   context.CancelFunc
	watching bool
	watched  chan watchResult
}

type watchResult struct {
	b   byte
	n   int
	err error
}

// watch starts watching the connection, once, for an answer being
// flushed whose request body has been read and after which nothing was
// sent yet (a client that pipelines is still there).
func (w *response) watch() {
	c := w.c
	if w.watching || w.hijacked || !w.body.done || c.r != c.w {
		return
	}
	w.watching = true
	w.ctx.watched.Store(true)
	w.watched = make(chan watchResult, 1)
	_ = c.rwc.SetReadDeadline(time.Time{}) // a body read limit's is over
	go func() {
		var b [1]byte
		n, err := c.rwc.Read(b[:])
		if n == 0 && err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			w.cancel() // the client left
		}
		w.watched <- watchResult{b: b[0], n: n, err: err}
	}()
}

// unwatch stops the watch when the handler returned; it reports whether
// the client is still there. A byte the watch read (the next request's)
// goes back into the connection's buffer.
func (w *response) unwatch() bool {
	c := w.c
	_ = c.rwc.SetReadDeadline(time.Unix(1, 0))
	r := <-w.watched
	_ = c.rwc.SetReadDeadline(time.Time{})
	w.watching = false
	if r.n == 1 {
		if c.w == len(c.buf) {
			c.r, c.w = 0, 0
		}
		c.buf[c.w] = r.b
		c.w++
		return true
	}
	return errors.Is(r.err, os.ErrDeadlineExceeded)
}

const outLimit = 4096

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.hijacked || w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic("invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code >= 100 && code < 200 && code != 101 {
		// Interim responses go out at once, as with net/http.
		w.head = appendStatus(w.head[:0], code)
		w.head = appendHeader(w.head, w.header)
		w.head = append(w.head, "\r\n"...)
		_, w.err = w.c.rwc.Write(w.head)
		w.head = w.head[:0]
		return
	}
	w.wroteHeader, w.status = true, code
	w.declared = -1
	if cl := w.header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.declared = n
		} else {
			w.header.Del("Content-Length")
		}
	}
	if hasToken(w.header["Connection"], "close") {
		w.closeAfter = true
	}
}

func (w *response) bodyAllowedForStatus() bool {
	s := w.status
	return !(s >= 100 && s <= 199 || s == 204 || s == 304)
}

func (w *response) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !w.bodyAllowedForStatus() {
		return 0, http.ErrBodyNotAllowed
	}
	if w.declared >= 0 && w.written+int64(len(p)) > w.declared {
		return 0, http.ErrContentLength
	}
	if w.err != nil {
		return 0, w.err
	}
	w.written += int64(len(p))
	if !w.bodyAllowed {
		return len(p), nil
	}
	if !w.headSent {
		if len(w.out)+len(p) <= outLimit {
			w.out = append(w.out, p...)
			return len(p), nil
		}
		if err := w.sendHead(false, p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if err := w.writeBody(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *response) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

// sendHead writes the head, the buffered body and p. final: the handler
// returned, so the length of what is buffered is the whole body.
func (w *response) sendHead(final bool, p []byte) error {
	h := w.header
	if _, ok := h["Content-Type"]; !ok && w.bodyAllowedForStatus() && (len(w.out) > 0 || len(p) > 0) && h.Get("Transfer-Encoding") == "" {
		sniff := w.out
		if len(sniff) == 0 {
			sniff = p
		}
		w.added[0] = http.DetectContentType(sniff)
		h["Content-Type"] = w.added[0:1:1]
	}
	if _, ok := h["Date"]; !ok {
		w.added[1] = httpDate()
		h["Date"] = w.added[1:2:2]
	}
	if tr := h["Trailer"]; len(tr) > 0 {
		for _, v := range tr {
			for _, k := range strings.Split(v, ",") {
				if k = strings.TrimSpace(k); k != "" {
					w.trailers = append(w.trailers, http.CanonicalHeaderKey(k))
				}
			}
		}
	}
	switch {
	case !w.bodyAllowedForStatus():
		h.Del("Transfer-Encoding")
		if w.status != 304 {
			h.Del("Content-Length")
		}
	case w.declared >= 0:
		h.Del("Transfer-Encoding")
	case final && len(w.trailers) == 0 && (w.bodyAllowed || w.written > 0):
		w.added[2] = strconv.FormatInt(w.written, 10)
		h["Content-Length"] = w.added[2:3:3]
		h.Del("Transfer-Encoding")
	case !w.bodyAllowed:
		// HEAD whose length is not known: no framing headers.
	default:
		w.chunked = true
		h.Del("Content-Length")
		h["Transfer-Encoding"] = chunkedTE
	}
	if w.closeAfter && !hasToken(h["Connection"], "close") {
		h.Del("Connection")
		h["Connection"] = closeValue
	}
	w.head = appendStatus(w.head[:0], w.status)
	w.head = appendHeader(w.head, h)
	w.head = append(w.head, "\r\n"...)
	w.headSent = true
	if !w.bodyAllowed || !w.bodyAllowedForStatus() {
		w.out = w.out[:0]
		return w.writev(w.head)
	}
	if w.chunked {
		body := append(w.out, p...)
		w.out = w.out[:0]
		if len(body) == 0 {
			return w.writev(w.head)
		}
		var size [20]byte
		sz := strconv.AppendInt(size[:0], int64(len(body)), 16)
		w.head = append(append(w.head, sz...), "\r\n"...)
		err := w.writev(w.head, body, crlf)
		w.out = body[:0]
		return err
	}
	if final && !w.closeAfter && w.err == nil {
		// The whole response: the connection sends it when it next waits
		// for a request (conn.sendAndFill), saving a read that can only
		// fail.
		c := w.c
		c.setOut(w.head, w.out)
		w.out = w.out[:0]
		return nil
	}
	err := w.writev(w.head, w.out, p)
	w.out = w.out[:0]
	return err
}

var (
	crlf       = []byte("\r\n")
	closeValue = []string{"close"}
)

func (w *response) writeBody(p []byte) error {
	if !w.chunked {
		return w.writev(p)
	}
	var size [20]byte
	sz := strconv.AppendInt(size[:0], int64(len(p)), 16)
	sz = append(sz, '\r', '\n')
	return w.writev(sz, p, crlf)
}

func (w *response) writev(bufs ...[]byte) error {
	if w.err != nil {
		return w.err
	}
	nb := net.Buffers(bufs)
	_, err := nb.WriteTo(w.c.rwc)
	if err != nil {
		w.err = err
		w.closeAfter = true
	}
	return err
}

// FlushError writes the head and what is buffered.
func (w *response) FlushError() error {
	if w.hijacked {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	err := w.err
	if !w.headSent {
		err = w.sendHead(false, nil)
	} else if len(w.out) > 0 {
		err = w.writeBody(w.out)
		w.out = w.out[:0]
	}
	if err == nil {
		w.watch()
	}
	return err
}

func (w *response) Flush() { _ = w.FlushError() }

// finish completes the response once the handler returned.
func (w *response) finish() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headSent {
		if err := w.sendHead(true, nil); err != nil {
			return err
		}
	} else if len(w.out) > 0 {
		if err := w.writeBody(w.out); err != nil {
			return err
		}
		w.out = w.out[:0]
	}
	if w.chunked {
		tail := append(w.head[:0], "0\r\n"...)
		for _, k := range w.trailers {
			for _, v := range w.header[k] {
				tail = appendField(tail, k, v)
			}
		}
		for k, vs := range w.header {
			if rest, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
				for _, v := range vs {
					tail = appendField(tail, http.CanonicalHeaderKey(rest), v)
				}
			}
		}
		tail = append(tail, "\r\n"...)
		if err := w.writev(tail); err != nil {
			return err
		}
	}
	if w.declared >= 0 && w.written != w.declared && w.bodyAllowed && w.bodyAllowedForStatus() {
		// Short body: the client would wait for the rest; close instead.
		w.closeAfter = true
	}
	return w.err
}

// SetReadDeadline serves http.ResponseController (the body read limits).
func (w *response) SetReadDeadline(t time.Time) error { return w.c.rwc.SetReadDeadline(t) }

// SetWriteDeadline serves http.ResponseController.
func (w *response) SetWriteDeadline(t time.Time) error { return w.c.rwc.SetWriteDeadline(t) }

// Hijack hands the connection to the handler, with what was read of it.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	if w.headSent {
		return nil, nil, errors.New("h1server: Hijack after the response started")
	}
	w.hijacked = true
	c := w.c
	pending := append([]byte(nil), c.buf[c.r:c.w]...)
	c.r = c.w
	c.srv.connState(c.rwc, http.StateHijacked)
	hc := &handedConn{Conn: c.rwc, pending: pending}
	// The connection is the handler's from now on.
	c.hijackedConn = true
	return c.rwc, bufio.NewReadWriter(bufio.NewReader(hc), bufio.NewWriter(c.rwc)), nil
}

func appendStatus(b []byte, code int) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	if t := http.StatusText(code); t != "" {
		b = append(b, t...)
	} else {
		b = append(b, "status code "...)
		b = strconv.AppendInt(b, int64(code), 10)
	}
	return append(b, "\r\n"...)
}

// appendHeader writes the fields with net/http's sanitising: invalid names
// are dropped, CR and LF in values become spaces.
func appendHeader(b []byte, h http.Header) []byte {
	for k, vs := range h {
		if !validName(k) || strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		for _, v := range vs {
			b = appendField(b, k, v)
		}
	}
	return b
}

func appendField(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	start := len(b)
	b = append(b, strings.TrimSpace(v)...)
	for i := start; i < len(b); i++ {
		if b[i] == '\r' || b[i] == '\n' {
			b[i] = ' '
		}
	}
	return append(b, "\r\n"...)
}

func validName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !tchar[k[i]] {
			return false
		}
	}
	return true
}

func hasToken(vs []string, tok string) bool {
	for _, v := range vs {
		for f := range strings.SplitSeq(v, ",") {
			if asciiEqualFold(strings.TrimSpace(f), tok) {
				return true
			}
		}
	}
	return false
}

type cachedDate struct {
	sec int64
	v   string
}

var dateCache atomic.Pointer[cachedDate]

// httpDate is the Date value, formatted once a second.
func httpDate() string {
	now := time.Now()
	sec := now.Unix()
	if d := dateCache.Load(); d != nil && d.sec == sec {
		return d.v
	}
	v := now.UTC().Format(http.TimeFormat)
	dateCache.Store(&cachedDate{sec, v})
	return v
}

var _ io.StringWriter = (*response)(nil)
