package mcpproxy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/rawrpc"
)

// inboundRT reads what an upstream session sends in SSE (the answers to
// requests, the standalone stream, a legacy SSE upstream's stream) before
// the SDK client does, event by event:
//
//   - a notification goes to the client right here, as the upstream wrote
//     it, and so before the result that follows it (the SDK client would
//     decode it into its types, drop it when it does not know it, and
//     hand the result over before the notifications it queued); the SDK
//     client gets the event without its data, which keeps its id for
//     resumption (or nothing, from a legacy SSE upstream, whose client
//     takes every event for a message). notifications/cancelled stays with
//     the SDK client: it names the upstream's request ids, which only the
//     SDK sessions translate;
//   - the params of the upstream's sampling and elicitation requests are
//     tagged (rawrpc.Tag), so that passRequests sends them as written;
//   - the initialize result of a legacy SSE upstream is kept as written.
type inboundRT struct {
	base http.RoundTripper
	u    *upstream
	// keepIDs: the SDK client resumes streams from event ids (Streamable
	// HTTP upstreams).
	keepIDs bool
}

func (rt *inboundRT) RoundTrip(req *http.Request) (*http.Response, error) {
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

// scan copies an SSE body to w event by event, handling each event (see
// inboundRT) before it is passed on.
func (rt *inboundRT) scan(src io.Reader, w *io.PipeWriter) {
	br := bufio.NewReaderSize(src, 32<<10)
	var event []byte
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A long line: read on.
			event = append(event, line...)
			continue
		}
		event = append(event, line...)
		if err == nil && len(bytes.TrimRight(line, "\r\n")) > 0 {
			continue // the event goes on
		}
		if len(event) > 0 {
			out := rt.handle(event)
			if len(out) > 0 {
				if _, werr := w.Write(out); werr != nil {
					_ = w.CloseWithError(werr)
					return
				}
			}
			event = event[:0]
		}
		if err != nil {
			_ = w.CloseWithError(err)
			return
		}
	}
}

// handle returns what the SDK client gets of one SSE event.
func (rt *inboundRT) handle(event []byte) []byte {
	var data, rest []byte
	name := ""
	for line := range bytes.SplitSeq(event, []byte("\n")) {
		trimmed := bytes.TrimRight(line, "\r")
		if d, ok := bytes.CutPrefix(trimmed, []byte("data:")); ok {
			data = append(data, bytes.TrimPrefix(d, []byte(" "))...)
			data = append(data, '\n')
			continue
		}
		if n, ok := bytes.CutPrefix(trimmed, []byte("event:")); ok {
			name = string(bytes.TrimSpace(n))
		}
		if len(trimmed) > 0 {
			rest = append(rest, line...)
			rest = append(rest, '\n')
		}
	}
	if len(data) == 0 || (name != "" && name != "message") {
		return event
	}
	if !bytes.Contains(data, []byte(`"method"`)) && !rt.u.awaitingInit() {
		return event // a result: the SDK client reads it
	}
	msgs, _, err := rawrpc.Split(data)
	if err != nil || len(msgs) != 1 {
		return event
	}
	m := msgs[0]
	switch {
	case m.IsNotification() && m.Method != "notifications/cancelled":
		rt.u.notify(m.Method, m.Params)
		if !rt.keepIDs || !bytes.Contains(rest, []byte("id:")) {
			return nil
		}
		return append(rest, '\n')
	case m.IsCall() && (m.Method == "sampling/createMessage" || m.Method == "elicitation/create"):
		tagged, err := rawrpc.Tag(m.Params)
		if err != nil {
			return event
		}
		out := rest
		for line := range bytes.SplitSeq(rawrpc.Request(m.ID, m.Method, tagged), []byte("\n")) {
			out = append(out, "data: "...)
			out = append(out, line...)
			out = append(out, '\n')
		}
		return append(out, '\n')
	case m.Method == "" && m.Result != nil:
		rt.u.sawResult(m.ID, m.Result)
	}
	return event
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

// initIDRT notes the id of the SDK client's initialize request, so that
// inboundRT knows its result when it comes on a legacy SSE upstream's
// stream.
type initIDRT struct {
	base http.RoundTripper
	u    *upstream
}

func (rt *initIDRT) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && req.GetBody != nil {
		if body, err := req.GetBody(); err == nil {
			data, _ := io.ReadAll(io.LimitReader(body, 1<<20))
			_ = body.Close()
			if bytes.Contains(data, []byte(`"initialize"`)) {
				var m struct {
					ID     json.RawMessage `json:"id"`
					Method string          `json:"method"`
				}
				if json.Unmarshal(data, &m) == nil && m.Method == "initialize" {
					rt.u.mu.Lock()
					rt.u.initID = m.ID
					rt.u.mu.Unlock()
				}
			}
		}
	}
	return rt.base.RoundTrip(req)
}
