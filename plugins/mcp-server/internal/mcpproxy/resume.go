package mcpproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/front"
)

// resumeRT is the round tripper of one upstream Streamable HTTP session.
// It lets the SDK client adopt an upstream session another instance
// created (or that this instance created before a restart), and it
// re-initializes the upstream session when the upstream forgot it (404),
// so that the client never notices:
//
//   - while resuming, the client's initialize is answered with the stored
//     initialize result and the stored session id, and its initialized
//     notification with 202, without reaching the upstream;
//   - every request carries the current upstream session id, whatever id
//     the client learned;
//   - an upstream 404 for the session replays the stored initialize request
//     and the initialized notification, then retries once with the new id;
//   - once detached, the client's closing DELETE is not sent, so that the
//     upstream session survives this instance letting go of it.
type resumeRT struct {
	base http.RoundTripper

	mu          sync.Mutex
	sessionID   string
	initRequest []byte          // the JSON-RPC initialize request last sent
	initResult  json.RawMessage // its result
	resuming    bool
	detached    bool
	// changed is called (without mu) when the upstream session changes:
	// a new session id, initialize request and result.
	changed func(id string, initRequest []byte, initResult json.RawMessage)
}

// resume makes the next initialize adopt an existing upstream session.
func (rt *resumeRT) resume(id string, initRequest []byte, initResult json.RawMessage) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.sessionID, rt.initRequest, rt.initResult = id, initRequest, initResult
	rt.resuming = id != "" && len(initResult) > 0 && len(initRequest) > 0
}

func (rt *resumeRT) detach() {
	rt.mu.Lock()
	rt.detached = true
	rt.mu.Unlock()
}

func (rt *resumeRT) current() string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.sessionID
}

type rpcHead struct {
	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
}

func (rt *resumeRT) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Method == http.MethodPost && req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	var head rpcHead
	if body != nil {
		_ = json.Unmarshal(body, &head)
	}

	rt.mu.Lock()
	switch {
	case rt.resuming && head.Method == "initialize":
		resp := synthesize(req, http.StatusOK, "application/json",
			fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"result":%s}`, head.ID, rt.initResult))
		resp.Header.Set(front.SessionIDHeader, rt.sessionID)
		rt.mu.Unlock()
		return resp, nil
	case rt.resuming && head.Method == "notifications/initialized":
		rt.resuming = false
		rt.mu.Unlock()
		return synthesize(req, http.StatusAccepted, "", nil), nil
	case rt.detached && req.Method == http.MethodDelete:
		rt.mu.Unlock()
		return synthesize(req, http.StatusNoContent, "", nil), nil
	}
	sid := rt.sessionID
	rt.mu.Unlock()

	if head.Method == "initialize" {
		return rt.initialize(req, body)
	}
	resp, err := rt.send(req, body, sid)
	if err != nil || resp.StatusCode != http.StatusNotFound || sid == "" || req.Method == http.MethodDelete {
		return resp, err
	}
	// The upstream forgot the session: start a new one and retry once.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	newID, err := rt.reinitialize(req.Context(), req, sid)
	if err != nil {
		return nil, err
	}
	return rt.send(req, body, newID)
}

// send sends req with body and upstream session id sid.
func (rt *resumeRT) send(req *http.Request, body []byte, sid string) (*http.Response, error) {
	r := req.Clone(req.Context())
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	if sid != "" {
		r.Header.Set(front.SessionIDHeader, sid)
	} else {
		r.Header.Del(front.SessionIDHeader)
	}
	return rt.base.RoundTrip(r)
}

// initialize sends a real initialize and remembers it and its result, for
// resumption elsewhere and re-initialization.
func (rt *resumeRT) initialize(req *http.Request, body []byte) (*http.Response, error) {
	resp, err := rt.send(req, body, "")
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read upstream initialize response: %w", err)
	}
	result := initializeResult(resp.Header.Get("Content-Type"), data)
	id := resp.Header.Get(front.SessionIDHeader)
	rt.mu.Lock()
	rt.sessionID, rt.initRequest, rt.initResult = id, body, result
	changed := rt.changed
	rt.mu.Unlock()
	if changed != nil && result != nil {
		changed(id, body, result)
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	resp.ContentLength = int64(len(data))
	return resp, nil
}

// initializeResult finds the initialize result in a JSON or SSE response.
func initializeResult(contentType string, data []byte) json.RawMessage {
	var payloads [][]byte
	if strings.HasPrefix(contentType, "text/event-stream") {
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			if d, ok := bytes.CutPrefix(line, []byte("data:")); ok {
				payloads = append(payloads, bytes.TrimSpace(d))
			}
		}
	} else {
		payloads = [][]byte{data}
	}
	for _, p := range payloads {
		var h rpcHead
		if json.Unmarshal(p, &h) == nil && len(h.Result) > 0 {
			return h.Result
		}
	}
	return nil
}

// reinitialize replaces the upstream session stale with a new one, unless
// another request already did.
func (rt *resumeRT) reinitialize(ctx context.Context, orig *http.Request, stale string) (string, error) {
	rt.mu.Lock()
	id, initRequest, result, err := rt.reinitializeLocked(ctx, orig, stale)
	changed := rt.changed
	rt.mu.Unlock()
	if err == nil && id != stale && changed != nil {
		changed(id, initRequest, result)
	}
	return id, err
}

func (rt *resumeRT) reinitializeLocked(ctx context.Context, orig *http.Request, stale string) (string, []byte, json.RawMessage, error) {
	if rt.sessionID != stale {
		return rt.sessionID, rt.initRequest, rt.initResult, nil
	}
	if len(rt.initRequest) == 0 {
		return "", nil, nil, fmt.Errorf("upstream lost session %q and no initialize request is known to start a new one", stale)
	}
	post := func(body []byte, sid string) (*http.Response, error) {
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, orig.URL.String(), bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "application/json, text/event-stream")
		if v := orig.Header.Get("Authorization"); v != "" {
			r.Header.Set("Authorization", v)
		}
		if sid != "" {
			r.Header.Set(front.SessionIDHeader, sid)
		}
		return rt.base.RoundTrip(r)
	}
	resp, err := post(rt.initRequest, "")
	if err != nil {
		return "", nil, nil, fmt.Errorf("re-initialize upstream session: %w", err)
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", nil, nil, fmt.Errorf("re-initialize upstream session: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(data))
	}
	id := resp.Header.Get(front.SessionIDHeader)
	result := initializeResult(resp.Header.Get("Content-Type"), data)
	resp, err = post([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`), id)
	if err != nil {
		return "", nil, nil, fmt.Errorf("re-initialize upstream session: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	rt.sessionID = id
	if result != nil {
		rt.initResult = result
	}
	return id, rt.initRequest, rt.initResult, nil
}

func synthesize(req *http.Request, status int, contentType string, body []byte) *http.Response {
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

// sameOriginRedirect follows an upstream MCP server's redirects only to
// the same scheme and host: the session id and any credential of the
// upstream URL must not reach another host. A redirect elsewhere is the
// upstream's answer, which the SDK reports as an error.
func sameOriginRedirect(req *http.Request, via []*http.Request) error {
	if !strings.EqualFold(req.URL.Scheme, via[0].URL.Scheme) || !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
		return http.ErrUseLastResponse
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}
