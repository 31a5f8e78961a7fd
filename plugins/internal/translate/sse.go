package translate

import (
	"bytes"
	"fmt"

	"github.com/tidwall/gjson"
)

// maxEventBytes bounds one SSE event, so that a provider that never ends
// an event cannot grow the buffer without limit.
const maxEventBytes = 8 << 20

// sseEvent is one Server-Sent Event. Its slices are valid until the next
// call to next or push.
type sseEvent struct {
	name    []byte // the event field, nil when none
	data    []byte // data lines joined by "\n"
	hasData bool
	raw     []byte // the event's bytes as received, up to and including its blank line
}

// sseReader reassembles SSE events from bytes fed in arbitrary pieces:
// LF, CRLF and CR line ends, comments, multi-line data.
type sseReader struct {
	buf     []byte
	pos     int // start of the next unread line
	scan    int // r.buf[r.pos:r.scan] holds no line end
	evStart int // start of the current event in buf
	name    []byte
	data    []byte
	hasData bool
}

func (r *sseReader) push(p []byte) {
	if r.evStart > 0 {
		n := copy(r.buf, r.buf[r.evStart:])
		r.buf = r.buf[:n]
		r.pos -= r.evStart
		r.scan = max(r.scan-r.evStart, 0)
		r.evStart = 0
	}
	r.buf = append(r.buf, p...)
}

// next returns the next complete event. At eof, an event missing its
// closing blank line still counts. ok is false when more bytes are needed.
func (r *sseReader) next(eof bool) (ev sseEvent, ok bool, err error) {
	for {
		rest := r.buf[r.pos:]
		// Bytes before r.scan are known to hold no line end: a long line
		// fed in small pieces is scanned once, not once per piece.
		from := max(r.scan-r.pos, 0)
		i := bytes.IndexAny(rest[from:], "\r\n")
		if i >= 0 {
			i += from
		} else {
			r.scan = len(r.buf)
		}
		var line []byte
		switch {
		case i < 0:
			if len(r.buf)-r.evStart > maxEventBytes {
				return ev, false, fmt.Errorf("%w: an event of the provider's stream is longer than %d bytes", ErrBadResponse, maxEventBytes)
			}
			if !eof {
				return ev, false, nil
			}
			if len(rest) == 0 {
				return r.dispatch(true)
			}
			line = rest
			r.pos = len(r.buf)
		case rest[i] == '\r' && i+1 == len(rest) && !eof:
			return ev, false, nil // a "\n" may follow in the next piece
		default:
			line = rest[:i]
			end := i + 1
			if rest[i] == '\r' && end < len(rest) && rest[end] == '\n' {
				end++
			}
			r.pos += end
		}
		if len(line) == 0 {
			if ev, ok, err = r.dispatch(false); ok || err != nil {
				return ev, ok, err
			}
			continue
		}
		if r.pos-r.evStart > maxEventBytes {
			return ev, false, fmt.Errorf("%w: an event of the provider's stream is longer than %d bytes", ErrBadResponse, maxEventBytes)
		}
		r.field(line)
	}
}

func (r *sseReader) field(line []byte) {
	if line[0] == ':' {
		return // comment
	}
	name, value := line, []byte(nil)
	if c := bytes.IndexByte(line, ':'); c >= 0 {
		name, value = line[:c], line[c+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "data":
		if r.hasData {
			r.data = append(r.data, '\n')
		}
		r.data = append(r.data, value...)
		r.hasData = true
	case "event":
		r.name = append(r.name[:0], value...)
	}
}

// dispatch ends the current event. Blank lines between events and
// comment-only events come back as events without data (pass-through
// forwards their bytes).
func (r *sseReader) dispatch(eof bool) (sseEvent, bool, error) {
	raw := r.buf[r.evStart:r.pos]
	if len(raw) == 0 {
		return sseEvent{}, false, nil
	}
	ev := sseEvent{data: r.data, hasData: r.hasData, raw: raw}
	if len(r.name) > 0 {
		ev.name = r.name
	}
	if eof && !bytes.HasSuffix(raw, []byte("\n\n")) && !bytes.HasSuffix(raw, []byte("\r\n\r\n")) {
		// An event the provider left open counts only when its data is
		// whole (some servers end without the last blank line); a torn one
		// is dropped, as the SSE spec says, and the stream counts as cut.
		if !ev.hasData || string(ev.data) != "[DONE]" && !gjson.ValidBytes(ev.data) {
			r.evStart = r.pos
			return sseEvent{}, false, nil
		}
		// Close it for the client's parser.
		ev.raw = append(append([]byte(nil), raw...), "\n\n"...)
		if bytes.HasSuffix(raw, []byte("\n")) {
			ev.raw = ev.raw[:len(ev.raw)-1]
		}
	}
	r.evStart = r.pos
	r.data = r.data[:0]
	r.name = r.name[:0]
	r.hasData = false
	return ev, true, nil
}
