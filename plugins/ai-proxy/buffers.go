package main

import (
	"bytes"
	"io"
	"net/http"
	"sync"
)

// maxPooledAnswer is the largest answer buffer kept for reuse; a rare
// huge answer's buffer is left to the garbage collector.
const maxPooledAnswer = 256 << 10

// answerBufs holds the buffers non-streamed answers are read into. An
// answer is written to the client before its buffer goes back.
var answerBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getAnswerBuf() *bytes.Buffer { return answerBufs.Get().(*bytes.Buffer) }

func putAnswerBuf(b *bytes.Buffer) {
	if b.Cap() > maxPooledAnswer {
		return
	}
	b.Reset()
	answerBufs.Put(b)
}

// readAnswer reads a provider's answer (at most maxAnswerBytes) into buf
// and returns its bytes, which stay valid until buf is reused.
func readAnswer(buf *bytes.Buffer, resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n > 0 && n <= maxAnswerBytes {
		buf.Grow(int(n) + 1) // +1: the read that sees io.EOF needs room
	}
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, maxAnswerBytes))
	return buf.Bytes(), err
}

// readRequestBody reads at most limit bytes of r's body into a slice sized
// from Content-Length, so that a body of known length is read without
// the regrowth io.ReadAll does. The slice is the call's own: the
// transport may still read it after the provider answered, so it is not
// pooled.
func readRequestBody(r *http.Request, limit int64) ([]byte, error) {
	n := r.ContentLength
	if n <= 0 || n >= limit {
		return io.ReadAll(io.LimitReader(r.Body, limit))
	}
	body := make([]byte, n, n+1)
	if _, err := io.ReadFull(r.Body, body); err != nil {
		return nil, err
	}
	// Content-Length is the whole body: net/http's body reader answers
	// io.EOF here; a body longer than announced is read on, as before.
	var one [1]byte
	m, err := r.Body.Read(one[:])
	if m == 0 && err == io.EOF {
		return body, nil
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	body = append(body, one[:m]...)
	rest, err := io.ReadAll(io.LimitReader(r.Body, limit-int64(len(body))))
	return append(body, rest...), err
}
