package mcpproxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"sync"
	"time"
)

// notificationFlushWait bounds how long a proxied call's result waits for
// the upstream notifications received before it to be forwarded.
const notificationFlushWait = time.Second

// notesInFlight counts the request-related notifications (progress, log
// messages) of an upstream session that arrived but were not yet
// forwarded. The SDK client delivers a call's result as soon as it is
// read, while its notification handlers run later from a queue, in order:
// counting at arrival (notingRT) and at handling lets a call wait for
// the notifications that preceded its result.
type notesInFlight struct {
	mu       sync.Mutex
	received uint64
	done     uint64
	signal   chan struct{} // closed when done grows
}

func (n *notesInFlight) arrived() {
	n.mu.Lock()
	n.received++
	n.mu.Unlock()
}

func (n *notesInFlight) handled() {
	n.mu.Lock()
	n.done++
	if n.signal != nil {
		close(n.signal)
		n.signal = nil
	}
	n.mu.Unlock()
}

// flush waits up to wait until every notification that arrived so far was
// handled. When the wait ends early (a notification the SDK dropped), it
// stops counting those, so that later calls do not wait for them.
func (n *notesInFlight) flush(ctx context.Context, wait time.Duration) {
	n.mu.Lock()
	target := n.received
	n.mu.Unlock()
	var timer *time.Timer
	for {
		n.mu.Lock()
		if n.done >= target {
			n.mu.Unlock()
			return
		}
		if n.signal == nil {
			n.signal = make(chan struct{})
		}
		ch := n.signal
		n.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		}
		select {
		case <-ch:
			continue
		case <-timer.C:
		case <-ctx.Done():
		}
		n.mu.Lock()
		if n.done < target {
			n.done = target
		}
		n.mu.Unlock()
		return
	}
}

// notingRT counts the progress and log notifications in the SSE answers
// of an upstream as the SDK client reads them.
type notingRT struct {
	base  http.RoundTripper
	notes *notesInFlight
}

func (rt *notingRT) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.base.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/event-stream" {
		pr, pw := io.Pipe()
		body := resp.Body
		go rt.scan(body, pw)
		resp.Body = &pipeBody{PipeReader: pr, src: body}
	}
	return resp, nil
}

// scan copies an SSE body to w event by event, counting an event's
// notification before the event is passed on.
func (rt *notingRT) scan(src io.Reader, w *io.PipeWriter) {
	br := bufio.NewReaderSize(src, 32<<10)
	var event []byte
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A long line: pass it on as it comes.
			event = append(event, line...)
			continue
		}
		event = append(event, line...)
		if err == nil && len(bytes.TrimRight(line, "\r\n")) > 0 {
			continue // the event goes on
		}
		if len(event) > 0 {
			if isRelatedNotification(event) {
				rt.notes.arrived()
			}
			if _, werr := w.Write(event); werr != nil {
				_ = w.CloseWithError(werr)
				return
			}
			event = event[:0]
		}
		if err != nil {
			_ = w.CloseWithError(err)
			return
		}
	}
}

// isRelatedNotification reports whether an SSE event carries a progress
// or log notification.
func isRelatedNotification(event []byte) bool {
	if !bytes.Contains(event, []byte("notifications/progress")) && !bytes.Contains(event, []byte("notifications/message")) {
		return false
	}
	var data []byte
	for line := range bytes.SplitSeq(event, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if rest, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			data = append(data, bytes.TrimPrefix(rest, []byte(" "))...)
			data = append(data, '\n')
		}
	}
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if json.Unmarshal(data, &m) != nil || m.ID != nil {
		return false
	}
	return m.Method == "notifications/progress" || m.Method == "notifications/message"
}

// pipeBody is the body the SDK reads: closing it closes the upstream body
// too, which ends the copy.
type pipeBody struct {
	*io.PipeReader
	src io.Closer
}

func (b *pipeBody) Close() error {
	_ = b.PipeReader.Close()
	return b.src.Close()
}
