package h1server

import (
	"errors"
	"io"
	"net/http"
	"sync"
)

// errBadChunk: chunked framing this engine refuses (extensions, trailers,
// oversized or malformed sizes); the connection closes after the response.
var errBadChunk = errors.New("h1server: malformed or unsupported chunked encoding")

// maxChunkLine bounds a chunk-size line; hex digits only, no extensions.
const maxChunkLine = 18

// bodyReader reads a request body from the connection's buffer, then
// straight from the connection.
type bodyReader struct {
	mu      sync.Mutex // a read, and retire
	c       *conn
	chunked bool
	remain  int64 // bytes left in the body (identity) or in the chunk
	inChunk bool  // chunked: between a size line and the chunk's CRLF
	done    bool
	failed  bool
	err     error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	if b.done {
		return 0, io.EOF
	}
	if b.chunked && b.remain == 0 {
		if err := b.nextChunk(); err != nil {
			return 0, b.fail(err)
		}
		if b.done {
			return 0, io.EOF
		}
	}
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	c := b.c
	var n int
	if c.r < c.w {
		n = copy(p, c.buf[c.r:c.w])
		c.r += n
	} else {
		var err error
		n, err = c.rwc.Read(p)
		if n == 0 && err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, b.fail(err)
		}
	}
	b.remain -= int64(n)
	if b.remain == 0 {
		if !b.chunked {
			b.done = true
			return n, io.EOF
		}
		if err := b.expectCRLF(); err != nil {
			return n, b.fail(err)
		}
	}
	return n, nil
}

// Arrived reports whether the rest of the body is in memory (an identity
// body that came in with its head): reading it neither waits for the
// client nor fails.
func (b *bodyReader) Arrived() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return false
	}
	return b.done || (!b.chunked && b.remain <= int64(b.c.w-b.c.r))
}

func (b *bodyReader) fail(err error) error {
	b.err, b.failed, b.done = err, true, true
	return err
}

func (b *bodyReader) Close() error { return nil }

// state reports whether the body was read to its end (or failed), and
// whether it failed.
func (b *bodyReader) state() (done, failed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.done, b.failed
}

// retire ends the body once its request is over: later reads fail with
// http.ErrBodyReadAfterClose, as they do on net/http's bodies.
func (b *bodyReader) retire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		b.err = http.ErrBodyReadAfterClose
	}
	b.done = true
}

// need makes n unread bytes available in the buffer.
func (b *bodyReader) need(n int) error {
	c := b.c
	for c.w-c.r < n {
		if err := c.fill(len(c.buf)); err != nil {
			if err == errHeadTooBig {
				return errBadChunk
			}
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

func (b *bodyReader) expectCRLF() error {
	if err := b.need(2); err != nil {
		return err
	}
	c := b.c
	if c.buf[c.r] != '\r' || c.buf[c.r+1] != '\n' {
		return errBadChunk
	}
	c.r += 2
	return nil
}

// nextChunk reads a chunk-size line: 1 to 16 hex digits, CRLF. The last
// chunk must be followed by CRLF at once (no trailers).
func (b *bodyReader) nextChunk() error {
	c := b.c
	var size int64
	digits := 0
	for {
		if c.r == c.w {
			if err := b.need(1); err != nil {
				return err
			}
		}
		ch := c.buf[c.r]
		var v byte
		switch {
		case '0' <= ch && ch <= '9':
			v = ch - '0'
		case 'a' <= ch && ch <= 'f':
			v = ch - 'a' + 10
		case 'A' <= ch && ch <= 'F':
			v = ch - 'A' + 10
		case ch == '\r' && digits > 0:
			c.r++
			if err := b.need(1); err != nil {
				return err
			}
			if c.buf[c.r] != '\n' {
				return errBadChunk
			}
			c.r++
			if size == 0 {
				if err := b.expectCRLF(); err != nil {
					return err
				}
				b.done = true
				return nil
			}
			b.remain = size
			return nil
		default:
			return errBadChunk
		}
		digits++
		if digits > 15 {
			return errBadChunk // 2^60 bytes and more: never a real chunk
		}
		size = size<<4 | int64(v)
		c.r++
	}
}
