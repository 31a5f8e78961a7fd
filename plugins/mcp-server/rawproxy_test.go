package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The raw hook of mcp-proxy (issue #10 §4): both ends below are written by
// hand, so that what one sends with members, capabilities and methods the
// SDK does not know is exactly what the other receives.

// rawMsg is one JSON-RPC message as written.
type rawMsg struct {
	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  json.RawMessage `json:"error,omitempty"`
}

func (m rawMsg) encode() []byte {
	out := map[string]json.RawMessage{"jsonrpc": json.RawMessage(`"2.0"`)}
	if m.ID != nil {
		out["id"] = m.ID
	}
	if m.Method != "" {
		out["method"], _ = json.Marshal(m.Method)
	}
	for k, v := range map[string]json.RawMessage{"params": m.Params, "result": m.Result, "error": m.Error} {
		if v != nil {
			out[k] = v
		}
	}
	data, _ := json.Marshal(out)
	return data
}

// readSSE calls fn with the data of each event of an SSE body.
func readSSE(r io.Reader, fn func(name string, data []byte)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var data []byte
	name := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if len(data) > 0 {
				fn(name, data)
			}
			data, name = nil, ""
		case strings.HasPrefix(line, "data:"):
			if data != nil {
				data = append(data, '\n')
			}
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")...)
			if data == nil {
				data = []byte{}
			}
		case strings.HasPrefix(line, "event:"):
			name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		}
	}
}

// Messages with members, capabilities and methods the SDK's types do not
// know.
const (
	rawInitResult = `{"protocolVersion":"2025-11-25","capabilities":{"tools":{"listChanged":true},` +
		`"tasks":{"list":{},"requests":{"tools":{"call":{}}}},"x-up":{"a":1}},` +
		`"serverInfo":{"name":"rawup","version":"1","x-build":"b7"},"instructions":"up","x-init":true}`
	rawProgress     = `{"progressToken":"tok-1","progress":1,"total":2,"x-p":{"deep":[1,2]}}`
	rawLog          = `{"level":"warning","logger":"up","data":{"n":12345678901234567890},"x-l":true}`
	rawUpdated      = `{"uri":"x://a","x-u":"unrelated"}`
	rawSampling     = `{"messages":[{"role":"user","content":{"type":"text","text":"q?","x-c":1}}],"maxTokens":5,"x-s":{"deep":true}}`
	rawCallResult   = `{"content":[{"type":"text","text":"done"}],"x-vendor":{"trace":"abc"}}`
	rawVendorResult = `{"ok":true,"x-r":["r"]}`
)

// rawUpstream is an MCP server written by hand, on Streamable HTTP or
// legacy SSE, that records what it receives and sends messages the SDK's
// types do not know.
type rawUpstream struct {
	*httptest.Server
	sse bool

	mu       sync.Mutex
	received map[string][]json.RawMessage // method → params
	answers  map[string]json.RawMessage   // id → result
	answered map[string]chan struct{}
	stream   func([]byte) // the legacy SSE stream
}

func startRawUpstream(t *testing.T, sse bool) *rawUpstream {
	u := &rawUpstream{sse: sse, received: map[string][]json.RawMessage{}, answers: map[string]json.RawMessage{},
		answered: map[string]chan struct{}{"\"s-1\"": make(chan struct{})}}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(func() {
		u.CloseClientConnections()
		u.Close()
	})
	return u
}

func (u *rawUpstream) endpoint() string {
	if u.sse {
		return u.URL + "/sse"
	}
	return u.URL + "/mcp"
}

func (u *rawUpstream) got(method string) []json.RawMessage {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]json.RawMessage(nil), u.received[method]...)
}

func (u *rawUpstream) serve(w http.ResponseWriter, r *http.Request) {
	if u.sse && r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "text/event-stream")
		var mu sync.Mutex
		closed := false
		write := func(event string, data []byte) {
			mu.Lock()
			defer mu.Unlock()
			if closed {
				return
			}
			_, _ = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data)
			w.(http.Flusher).Flush()
		}
		u.mu.Lock()
		u.stream = func(b []byte) { write("message", b) }
		u.mu.Unlock()
		write("endpoint", []byte("/message"))
		<-r.Context().Done()
		mu.Lock()
		closed = true
		mu.Unlock()
		return
	}
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	var m rawMsg
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	u.mu.Lock()
	if m.Method != "" {
		u.received[m.Method] = append(u.received[m.Method], m.Params)
	} else if m.Result != nil {
		u.answers[string(m.ID)] = m.Result
		if ch := u.answered[string(m.ID)]; ch != nil {
			close(ch)
			delete(u.answered, string(m.ID))
		}
	}
	stream := u.stream
	u.mu.Unlock()
	w.Header().Set("Mcp-Session-Id", "up-1")
	if m.ID == nil || m.Method == "" {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if u.sse {
		w.WriteHeader(http.StatusAccepted)
		go u.answer(context.WithoutCancel(r.Context()), m, stream)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	var mu sync.Mutex
	u.answer(r.Context(), m, func(b []byte) {
		mu.Lock()
		defer mu.Unlock()
		_, _ = fmt.Fprintf(w, "data: %s\n\n", b)
		w.(http.Flusher).Flush()
	})
}

// answer answers call m through send; tools/call "echo" first sends
// notifications and a sampling request, and waits for its answer.
func (u *rawUpstream) answer(ctx context.Context, m rawMsg, send func([]byte)) {
	result := `{}`
	switch m.Method {
	case "initialize":
		result = rawInitResult
	case "tools/list":
		result = `{"tools":[{"name":"echo","inputSchema":{"type":"object"}},{"name":"hidden","inputSchema":{"type":"object"}}]}`
	case "vendor/thing":
		result = rawVendorResult
	case "tools/call":
		send(rawMsg{Method: "notifications/progress", Params: json.RawMessage(rawProgress)}.encode())
		send(rawMsg{Method: "notifications/message", Params: json.RawMessage(rawLog)}.encode())
		send(rawMsg{Method: "notifications/resources/updated", Params: json.RawMessage(rawUpdated)}.encode())
		u.mu.Lock()
		done := u.answered[`"s-1"`]
		u.mu.Unlock()
		if done != nil {
			send(rawMsg{ID: json.RawMessage(`"s-1"`), Method: "sampling/createMessage", Params: json.RawMessage(rawSampling)}.encode())
			select {
			case <-done:
			case <-ctx.Done():
				return
			}
		}
		result = rawCallResult
	}
	send(rawMsg{ID: m.ID, Result: json.RawMessage(result)}.encode())
}

// rawClient is an MCP client written by hand, on Streamable HTTP or the
// legacy SSE transport, that records every message it receives.
type rawClient struct {
	t        *testing.T
	base     string // the server's path on the gateway
	legacy   bool
	answerTo string // where answers are posted (Streamable HTTP), "" for base
	session  string
	postURL  string // legacy: the announced endpoint
	incoming chan rawMsg
	wg       sync.WaitGroup
	cancel   context.CancelFunc
	ctx      context.Context
}

func newRawClient(t *testing.T, base string, legacy bool) *rawClient {
	ctx, cancel := context.WithCancel(context.Background())
	c := &rawClient{t: t, base: base, legacy: legacy, incoming: make(chan rawMsg, 64), ctx: ctx, cancel: cancel}
	t.Cleanup(func() {
		cancel()
		c.wg.Wait()
	})
	if legacy {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/sse", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		endpoint := make(chan string, 1)
		c.wg.Go(func() {
			defer resp.Body.Close()
			readSSE(resp.Body, func(name string, data []byte) {
				if name == "endpoint" {
					endpoint <- string(data)
					return
				}
				c.deliver(data)
			})
		})
		select {
		case e := <-endpoint:
			u, err := url.Parse(base)
			require.NoError(t, err)
			c.postURL = u.Scheme + "://" + u.Host + e
		case <-time.After(10 * time.Second):
			t.Fatal("no endpoint event")
		}
	}
	return c
}

func (c *rawClient) deliver(data []byte) {
	var m rawMsg
	require.NoError(c.t, json.Unmarshal(data, &m), "a JSON-RPC message: %s", data)
	select {
	case c.incoming <- m:
	case <-c.ctx.Done():
	}
}

// send posts one message; for Streamable HTTP it reads the answer stream
// in the background.
func (c *rawClient) send(m rawMsg) {
	c.t.Helper()
	url := c.base
	if c.legacy {
		url = c.postURL
	} else if m.Method == "" && c.answerTo != "" {
		url = c.answerTo
	}
	req, err := http.NewRequestWithContext(c.ctx, http.MethodPost, url, bytes.NewReader(m.encode()))
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if c.session != "" {
		req.Header.Set("Mcp-Session-Id", c.session)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	if c.legacy || resp.StatusCode == http.StatusAccepted {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(c.t, http.StatusAccepted, resp.StatusCode, "%s", body)
		return
	}
	require.Equal(c.t, http.StatusOK, resp.StatusCode)
	if sid := resp.Header.Get("Mcp-Session-Id"); sid != "" {
		c.session = sid
	}
	c.wg.Go(func() {
		defer resp.Body.Close()
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			data, _ := io.ReadAll(resp.Body)
			c.deliver(data)
			return
		}
		readSSE(resp.Body, func(_ string, data []byte) { c.deliver(data) })
	})
}

// listen opens the standalone stream (Streamable HTTP).
func (c *rawClient) listen() {
	req, err := http.NewRequestWithContext(c.ctx, http.MethodGet, c.base, nil)
	require.NoError(c.t, err)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", c.session)
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	require.Equal(c.t, http.StatusOK, resp.StatusCode)
	c.wg.Go(func() {
		defer resp.Body.Close()
		readSSE(resp.Body, func(_ string, data []byte) { c.deliver(data) })
	})
}

// until returns the messages received up to the answer with id; onRequest
// answers the requests among them.
func (c *rawClient) until(id string, onRequest func(rawMsg)) (rawMsg, []rawMsg) {
	c.t.Helper()
	var seen []rawMsg
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m := <-c.incoming:
			if m.Method == "" && string(m.ID) == id {
				return m, seen
			}
			seen = append(seen, m)
			if m.Method != "" && m.ID != nil && onRequest != nil {
				onRequest(m)
			}
		case <-timeout:
			c.t.Fatalf("no answer to %s; received %v", id, seen)
		}
	}
}

// first returns the first of list as a string, "" for none.
func first[T ~[]byte | ~string](list []T) string {
	if len(list) == 0 {
		return ""
	}
	return string(list[0])
}

func paramsOf(msgs []rawMsg, method string) []string {
	var out []string
	for _, m := range msgs {
		if m.Method == method {
			out = append(out, string(m.Params))
		}
	}
	return out
}

// TestProxyPassesEverythingAsWritten checks, on Streamable HTTP and legacy
// SSE upstreams and on both client transports, that members, capabilities,
// methods and notifications the SDK's types do not know arrive on the
// other side as they were written; that the allowlist still filters
// tools/list and refuses hidden tools; and that a client's answer posted
// to another instance arrives as written too.
func TestProxyPassesEverythingAsWritten(t *testing.T) {
	for _, tc := range []struct {
		name            string
		upSSE, legacy   bool
		answerElsewhere bool
	}{
		{name: "upstream http, client streamable"},
		{name: "upstream sse, client streamable", upSSE: true},
		{name: "upstream http, client legacy sse", legacy: true},
		{name: "upstream sse, client legacy sse", upSSE: true, legacy: true},
		{name: "upstream http, answer posted to another instance", answerElsewhere: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := startRawUpstream(t, tc.upSSE)
			transport := map[bool]string{false: "http", true: "sse"}[tc.upSSE]
			def := fmt.Sprintf(`{"name": "rawup", "type": "mcp-proxy", "server": {"name": "rawup", "transport": %q, "mcpServerURL": %q},
  "tools": [{"name": "echo"}]}`, transport, up.endpoint())
			_, rc := startRedis(t)
			g := startGateway(t, newTestHost(t, "gw-a", rc), def, testOptions())
			c := newRawClient(t, g.url("/mcp-servers/rawup"), tc.legacy)
			if tc.answerElsewhere {
				b := startGateway(t, newTestHost(t, "gw-b", rc), def, testOptions())
				require.Eventually(t, func() bool { return g.inst.handoff.Subscribed() && b.inst.handoff.Subscribed() }, 5*time.Second, 10*time.Millisecond)
				c.answerTo = b.url("/mcp-servers/rawup")
			}

			// initialize: the client's capabilities and members reach the
			// upstream; the upstream's reach the client.
			initParams := `{"protocolVersion":"2025-11-25","capabilities":{"sampling":{"x-s":1},"elicitation":{},` +
				`"tasks":{"requests":{"sampling":{"createMessage":{}}}},"x-client":{"b":2}},` +
				`"clientInfo":{"name":"raw-client","version":"1","x-c":1},"x-extra":"e"}`
			c.send(rawMsg{ID: json.RawMessage(`1`), Method: "initialize", Params: json.RawMessage(initParams)})
			res, _ := c.until("1", nil)
			var gotInit, wantInit map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(res.Result, &gotInit))
			require.NoError(t, json.Unmarshal([]byte(rawInitResult), &wantInit))
			for _, k := range []string{"capabilities", "serverInfo", "instructions", "x-init"} {
				assert.JSONEq(t, string(wantInit[k]), string(gotInit[k]), "initialize result member %s", k)
			}
			c.send(rawMsg{Method: "notifications/initialized"})
			require.Eventually(t, func() bool { return len(up.got("initialize")) == 1 }, 10*time.Second, 10*time.Millisecond)
			var sentInit, upInit map[string]json.RawMessage
			require.NoError(t, json.Unmarshal([]byte(initParams), &sentInit))
			require.NoError(t, json.Unmarshal([]byte(first(up.got("initialize"))), &upInit))
			for _, k := range []string{"clientInfo", "x-extra"} {
				assert.JSONEq(t, string(sentInit[k]), string(upInit[k]), "initialize params member %s", k)
			}
			// Every capability but tasks (see upstreamInitParams).
			assert.JSONEq(t, `{"sampling":{"x-s":1},"elicitation":{},"x-client":{"b":2}}`, string(upInit["capabilities"]))
			if !tc.legacy {
				c.listen()
			}

			// tools/list: the allowlist still filters.
			c.send(rawMsg{ID: json.RawMessage(`2`), Method: "tools/list", Params: json.RawMessage(`{"x-list":1}`)})
			res, _ = c.until("2", nil)
			assert.JSONEq(t, `{"tools":[{"name":"echo","inputSchema":{"type":"object"}}]}`, string(res.Result))
			assert.JSONEq(t, `{"x-list":1}`, first(up.got("tools/list")))

			// tools/call: params as written; the upstream's notifications and
			// sampling request as written, the client's answer as written.
			callParams := `{"name":"echo","arguments":{"big":12345678901234567890},"task":{"ttl":1000},"x-call":{"k":[1,2]},"_meta":{"progressToken":"tok-1"}}`
			answer := `{"role":"assistant","model":"m","content":{"type":"text","text":"hi","x-t":1},"x-answer":{"z":null}}`
			c.send(rawMsg{ID: json.RawMessage(`"c-3"`), Method: "tools/call", Params: json.RawMessage(callParams)})
			var sampled []string
			res, seen := c.until(`"c-3"`, func(m rawMsg) {
				sampled = append(sampled, string(m.Params))
				c.send(rawMsg{ID: m.ID, Result: json.RawMessage(answer)})
			})
			assert.JSONEq(t, rawCallResult, string(res.Result))
			assert.JSONEq(t, callParams, first(up.got("tools/call")), "the client's params as written")
			require.Len(t, sampled, 1)
			assert.JSONEq(t, rawSampling, sampled[0], "the upstream's sampling request as written")
			up.mu.Lock()
			assert.JSONEq(t, answer, string(up.answers[`"s-1"`]), "the client's answer as written")
			up.mu.Unlock()
			require.Len(t, paramsOf(seen, "notifications/progress"), 1, "progress before the result")
			assert.JSONEq(t, rawProgress, first(paramsOf(seen, "notifications/progress")))
			require.Len(t, paramsOf(seen, "notifications/message"), 1, "log message before the result")
			assert.JSONEq(t, rawLog, first(paramsOf(seen, "notifications/message")))

			// A method the SDK does not know, and the unrelated notification
			// (on the standalone stream) meanwhile.
			c.send(rawMsg{ID: json.RawMessage(`4`), Method: "vendor/thing", Params: json.RawMessage(`{"q":1,"x":[true]}`)})
			res, seen2 := c.until("4", nil)
			assert.JSONEq(t, rawVendorResult, string(res.Result))
			assert.JSONEq(t, `{"q":1,"x":[true]}`, first(up.got("vendor/thing")))
			updated := append(paramsOf(seen, "notifications/resources/updated"), paramsOf(seen2, "notifications/resources/updated")...)
			require.Len(t, updated, 1)
			assert.JSONEq(t, rawUpdated, updated[0])

			// The client's notifications, known or not, as written.
			c.send(rawMsg{Method: "notifications/vendor", Params: json.RawMessage(`{"n":1,"x":{"y":"z"}}`)})
			c.send(rawMsg{Method: "notifications/progress", Params: json.RawMessage(`{"progressToken":"s-tok","progress":0.5,"x-cp":1}`)})
			require.Eventually(t, func() bool {
				return len(up.got("notifications/vendor")) == 1 && len(up.got("notifications/progress")) == 1
			}, 10*time.Second, 10*time.Millisecond)
			assert.JSONEq(t, `{"n":1,"x":{"y":"z"}}`, first(up.got("notifications/vendor")))
			assert.JSONEq(t, `{"progressToken":"s-tok","progress":0.5,"x-cp":1}`, first(up.got("notifications/progress")))

			// The allowlist refuses a hidden tool; nothing reaches the upstream.
			c.send(rawMsg{ID: json.RawMessage(`5`), Method: "tools/call", Params: json.RawMessage(`{"name":"hidden","arguments":{}}`)})
			res, _ = c.until("5", nil)
			require.Contains(t, string(res.Error), `unknown tool \"hidden\"`)
			// Nor can a hidden tool slip through names the upstream may read
			// otherwise than the gateway (repeated, or spelled in other case).
			for i, params := range []string{`{"name":"hidden","Name":"echo"}`, `{"name":"echo","name":"hidden"}`, `{"name":1}`} {
				id := fmt.Sprintf(`"dup-%d"`, i)
				c.send(rawMsg{ID: json.RawMessage(id), Method: "tools/call", Params: json.RawMessage(params)})
				res, _ = c.until(id, nil)
				require.Contains(t, string(res.Error), `one string member`, params)
			}
			require.Len(t, up.got("tools/call"), 1)
			require.Equal(t, 1.0, counterValue(t, g.host.reg, "gatehouse_mcp_tool_calls_total", map[string]string{"tool": "echo", "outcome": "ok"}))
		})
	}
}
