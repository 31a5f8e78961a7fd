// Package sse reads Server-Sent Events for the MCP benchmark clients in
// scripts/bench/mcp: the legacy HTTP+SSE stream and the SSE answers of
// Streamable HTTP. It handles what Gatehouse writes (event, id, data
// lines, comments); it is not a general SSE client.
package sse

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// Event is one event of a stream.
type Event struct {
	// Name is the event field ("message" when the event had none).
	Name string
	// ID is the id field, empty when the event had none.
	ID string
	// Data is the data field; several data lines are joined with "\n".
	Data []byte
}

// Reader reads events from a stream. It is not safe for concurrent use.
type Reader struct {
	br *bufio.Reader
}

// NewReader returns a Reader over r with a buffer of size bytes (at least
// 512), so that an idle reader can be kept small.
func NewReader(r io.Reader, size int) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, max(size, 512))}
}

// Next returns the next event, or an error when the stream ends (io.EOF
// when it ended between events).
func (r *Reader) Next() (Event, error) {
	var ev Event
	var data bytes.Buffer
	seen := false
	for {
		line, err := r.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: gather it.
			long := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				line, err = r.br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil {
			if err == io.EOF && seen {
				return ev, io.ErrUnexpectedEOF
			}
			return ev, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if !seen {
				continue
			}
			if ev.Name == "" {
				ev.Name = "message"
			}
			ev.Data = data.Bytes()
			return ev, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		seen = true
		switch string(field) {
		case "event":
			ev.Name = string(value)
		case "id":
			ev.ID = string(value)
		case "data":
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.Write(value)
		case "retry":
		default:
			return ev, fmt.Errorf("sse: unknown field %q", field)
		}
	}
}
