package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/front"
)

func TestStreamableSessionServesRESTTools(t *testing.T) {
	backend := startBackend(t)
	_, rc := startRedis(t)
	for name, client := range map[string]redis.UniversalClient{"redis": rc, "memory": nil} {
		t.Run(name, func(t *testing.T) {
			host := newTestHost(t, "gw-a", client)
			g := startGateway(t, host, restDefinition("weather", backend.srv.URL, ""), testOptions())
			cs := connect(t, g.url("/mcp-servers/weather"), nil, nil)
			ctx := context.Background()

			require.Equal(t, "2025-11-25", cs.InitializeResult().ProtocolVersion)
			require.NotEmpty(t, cs.ID(), "a session id was assigned")

			lt, err := cs.ListTools(ctx, nil)
			require.NoError(t, err)
			var names []string
			for _, tl := range lt.Tools {
				names = append(names, tl.Name)
			}
			require.ElementsMatch(t, []string{"get_weather", "echo"}, names, "allowTools hides secret_tool")
			var weather *mcp.Tool
			for _, tl := range lt.Tools {
				if tl.Name == "get_weather" {
					weather = tl
				}
			}
			schema, err := json.Marshal(weather.InputSchema)
			require.NoError(t, err)
			require.JSONEq(t, `{"type":"object","properties":{
				"city":{"type":"string","description":"City name"},
				"units":{"type":"string","enum":["metric","imperial"],"default":"metric"}},
				"required":["city"]}`, string(schema))

			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_weather", Arguments: map[string]any{"city": "Paris"}})
			require.NoError(t, err)
			require.False(t, res.IsError, "result: %+v", res.Content)
			require.Equal(t, "Paris: 21.5 C", textOf(t, res))

			res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"n": 7}})
			require.NoError(t, err)
			require.Equal(t, "echo 7", textOf(t, res))

			_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "secret_tool"})
			require.ErrorContains(t, err, `unknown tool "secret_tool"`)

			_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{}})
			require.ErrorContains(t, err, `needs "n"`, "a missing required argument is refused")

			require.NoError(t, cs.Ping(ctx, nil))
			require.Equal(t, 1, g.inst.ActiveSessions()["streamable"])

			require.Equal(t, 2.0, counterValue(t, host.reg, "gatehouse_mcp_tool_calls_total", map[string]string{"server": "weather", "outcome": "ok"}))
			require.Equal(t, 1.0, counterValue(t, host.reg, "gatehouse_mcp_tool_calls_total", map[string]string{"server": "weather", "outcome": "denied"}))
			require.Equal(t, 1.0, counterValue(t, host.reg, "gatehouse_mcp_tool_call_duration_seconds", map[string]string{"server": "weather", "tool": "get_weather"}))
			require.Equal(t, 1.0, counterValue(t, host.reg, "gatehouse_mcp_active_sessions", map[string]string{"server": "weather", "transport": "streamable"}))

			require.NoError(t, cs.Close())
			require.Eventually(t, func() bool { return g.inst.ActiveSessions()["streamable"] == 0 }, 5*time.Second, 10*time.Millisecond)
			require.Equal(t, 0.0, counterValue(t, host.reg, "gatehouse_mcp_active_sessions", map[string]string{"server": "weather", "transport": "streamable"}))
		})
	}
}

func TestSessionCreatedOnOneInstanceIsServedByAnother(t *testing.T) {
	backend := startBackend(t)
	_, rc := startRedis(t)
	def := restDefinition("weather", backend.srv.URL, "")
	a := startGateway(t, newTestHost(t, "gw-a", rc), def, testOptions())
	b := startGateway(t, newTestHost(t, "gw-b", rc), def, testOptions())

	// initialize and notifications/initialized reach A, everything after B.
	sw := &switchingTransport{first: mustURL(t, a.srv.URL), then: mustURL(t, b.srv.URL), n: 2, base: http.DefaultTransport}
	cs := connect(t, a.url("/mcp-servers/weather"), &http.Client{Transport: sw}, &mcp.ClientOptions{})
	ctx := context.Background()
	sid := cs.ID()

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_weather", Arguments: map[string]any{"city": "Oslo"}})
	require.NoError(t, err)
	require.Equal(t, "Oslo: 21.5 C", textOf(t, res))
	require.Equal(t, 1.0, counterValue(t, b.host.reg, "gatehouse_mcp_session_rebuilds_total", nil), "B rebuilt the session from the registry")
	require.Equal(t, 1, a.inst.ActiveSessions()["streamable"])
	require.Equal(t, 1, b.inst.ActiveSessions()["streamable"])

	// The rebuilt session keeps the negotiated version: B answers as
	// 2025-11-25 would (no error on a call that 2025-11-25 allows).
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"n": 3}})
	require.NoError(t, err)
	require.Equal(t, "echo 3", textOf(t, res))

	// Ending the session on B ends A's copy too.
	require.NoError(t, cs.Close())
	require.Eventually(t, func() bool { return a.inst.ActiveSessions()["streamable"] == 0 }, 5*time.Second, 10*time.Millisecond)
	status, body := rawPOST(t, a.url("/mcp-servers/weather"), sid, `{"jsonrpc":"2.0","id":9,"method":"tools/list"}`)
	require.Equal(t, http.StatusNotFound, status, body)
	require.Contains(t, body, "not found")
}

func TestStatelessRequestsOf20260728(t *testing.T) {
	backend := startBackend(t)
	g := startGateway(t, newTestHost(t, "gw-a", nil), restDefinition("weather", backend.srv.URL, ""), testOptions())
	c := mcp.NewClient(&mcp.Implementation{Name: "new-client", Version: "1"}, nil)
	ctx := context.Background()
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: g.url("/mcp-servers/weather")}, nil)
	require.NoError(t, err)
	defer cs.Close()
	require.Equal(t, "2026-07-28", cs.InitializeResult().ProtocolVersion, "the newest version is negotiated, not an old one")
	require.Empty(t, cs.ID(), "no session in the stateless protocol")
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_weather", Arguments: map[string]any{"city": "Rome"}})
	require.NoError(t, err)
	require.Equal(t, "Rome: 21.5 C", textOf(t, res))
	require.Equal(t, 0, g.inst.ActiveSessions()["streamable"])
}

// rawPOST posts one JSON-RPC message and returns the status and body.
func rawPOST(t *testing.T, url, sid, body string) (int, string) {
	t.Helper()
	resp := mcpPost(t, url, sid, "", body)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

func TestRedisDownGivesClearErrorAndRecovers(t *testing.T) {
	backend := startBackend(t)
	rs, rc := startRedis(t)
	g := startGateway(t, newTestHost(t, "gw-a", rc), restDefinition("weather", backend.srv.URL, ""), testOptions())
	endpoint := g.url("/mcp-servers/weather")

	rs.Stop()
	status, body := rawPOST(t, endpoint, "", initializeBody)
	require.Equal(t, http.StatusServiceUnavailable, status)
	var resp struct {
		ID    json.RawMessage `json:"id"`
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &resp), body)
	require.JSONEq(t, `1`, string(resp.ID), "the client matches the error to its initialize")
	require.Contains(t, resp.Error.Message, "redis")
	require.Contains(t, resp.Error.Message, "Settings → Redis")

	rs.Restart()
	require.Eventually(t, func() bool {
		status, _ := rawPOST(t, endpoint, "", initializeBody)
		return status == http.StatusOK
	}, 20*time.Second, 100*time.Millisecond, "initialize works again once Redis is back")
	cs := connect(t, endpoint, nil, nil)
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"n": 1}})
	require.NoError(t, err)
	require.Equal(t, "echo 1", textOf(t, res))
}

func TestFrontRefusesBadRequests(t *testing.T) {
	backend := startBackend(t)
	o := testOptions()
	o.maxBodyBytes = 1 << 10
	g := startGateway(t, newTestHost(t, "gw-a", nil), restDefinition("weather", backend.srv.URL, ""), o)
	endpoint := g.url("/mcp-servers/weather")

	do := func(method, body string, hdr map[string]string) (int, string) {
		req, err := http.NewRequest(method, endpoint, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name   string
		method string
		body   string
		hdr    map[string]string
		status int
		says   string
	}{
		{"foreign origin", "POST", initializeBody, map[string]string{"Origin": "https://evil.example"}, 403, "Origin"},
		{"body too large", "POST", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"x":"` + strings.Repeat("a", 2048) + `"}}`, nil, 413, "exceeds"},
		{"unsupported protocol version", "POST", initializeBody, map[string]string{"Mcp-Protocol-Version": "1999-01-01"}, 400, "unsupported"},
		{"no session", "POST", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, nil, 400, "initialize first"},
		{"unknown session", "POST", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, map[string]string{"Mcp-Session-Id": "nope"}, 404, "not found"},
		{"not JSON", "POST", `hello`, nil, 400, "JSON-RPC"},
		{"wrong content type", "POST", initializeBody, map[string]string{"Content-Type": "text/plain"}, 415, "application/json"},
		{"GET without session", "GET", "", nil, 400, "Mcp-Session-Id"},
		{"DELETE unknown session", "DELETE", "", map[string]string{"Mcp-Session-Id": "nope"}, 404, "not found"},
		{"PUT", "PUT", "", nil, 405, "not allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(tc.method, tc.body, tc.hdr)
			require.Equal(t, tc.status, status, body)
			require.Contains(t, strings.ToLower(body), strings.ToLower(tc.says))
		})
	}
}

// sseEvent is one parsed server-sent event.
type sseEvent struct {
	name, id, data string
}

// readEvents parses SSE events from r, sending them to the returned
// channel until r ends.
func readEvents(r io.Reader) <-chan sseEvent {
	ch := make(chan sseEvent, 1024)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" || ev.data != "" || ev.id != "" {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event:"):
				ev.name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "id:"):
				ev.id = strings.TrimSpace(strings.TrimPrefix(line, "id:"))
			case strings.HasPrefix(line, "data:"):
				ev.data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
			}
		}
	}()
	return ch
}

func TestStreamResumesOnAnotherInstanceWithLastEventID(t *testing.T) {
	backend := startBackend(t)
	_, rc := startRedis(t)
	def := restDefinition("weather", backend.srv.URL, "")
	a := startGateway(t, newTestHost(t, "gw-a", rc), def, testOptions())
	b := startGateway(t, newTestHost(t, "gw-b", rc), def, testOptions())

	// Initialize on A with a raw client to see event ids.
	req, _ := http.NewRequest(http.MethodPost, a.url("/mcp-servers/weather"), strings.NewReader(initializeBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	sid := resp.Header.Get(front.SessionIDHeader)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.NotEmpty(t, sid)
	status, _ := rawPOST(t, a.url("/mcp-servers/weather"), sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	require.Equal(t, http.StatusAccepted, status)

	// A call on A: the client reads only the priming event, then the
	// connection "breaks".
	req, _ = http.NewRequest(http.MethodPost, a.url("/mcp-servers/weather"),
		strings.NewReader(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_weather","arguments":{"city":"Lima"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(front.SessionIDHeader, sid)
	req.Header.Set(front.ProtocolVersionHeader, "2025-11-25")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	events := readEvents(resp.Body)
	prime := <-events
	require.Equal(t, "prime", prime.name)
	require.NotEmpty(t, prime.id)
	resp.Body.Close()

	// Resume on B after the priming event: the answer is replayed.
	require.Eventually(t, func() bool {
		req, _ := http.NewRequest(http.MethodGet, b.url("/mcp-servers/weather"), nil)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set(front.SessionIDHeader, sid)
		req.Header.Set(front.ProtocolVersionHeader, "2025-11-25")
		req.Header.Set("Last-Event-ID", prime.id)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		for ev := range readEvents(resp.Body) {
			if ev.name == "message" && strings.Contains(ev.data, `"id":2`) {
				require.Contains(t, ev.data, "Lima: 21.5 C")
				return true
			}
		}
		return false // the call on A had not answered yet
	}, 10*time.Second, 50*time.Millisecond)
}

func TestStoppedInstanceLeavesSessionsToTheOthers(t *testing.T) {
	backend := startBackend(t)
	_, rc := startRedis(t)
	def := restDefinition("weather", backend.srv.URL, "")
	a := startGateway(t, newTestHost(t, "gw-a", rc), def, testOptions())
	b := startGateway(t, newTestHost(t, "gw-b", rc), def, testOptions())
	sw := &switchingTransport{first: mustURL(t, a.srv.URL), then: mustURL(t, b.srv.URL), n: 1 << 30, base: http.DefaultTransport}
	cs := connect(t, a.url("/mcp-servers/weather"), &http.Client{Transport: sw}, nil)
	ctx := context.Background()
	_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"n": 1}})
	require.NoError(t, err)
	require.Equal(t, 1, a.inst.ActiveSessions()["streamable"])

	// A stops (SIGTERM, or a new configuration version replaces it); the
	// load balancer sends new connections to B.
	sw.onlyTo.Store(mustURL(t, b.srv.URL))
	require.NoError(t, a.inst.Close())
	require.Equal(t, 0.0, counterValue(t, a.host.reg, "gatehouse_mcp_active_sessions", nil))
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"n": 2}})
	require.NoError(t, err)
	require.Equal(t, "echo 2", textOf(t, res))
	require.Equal(t, 1, b.inst.ActiveSessions()["streamable"])
}

func TestRedisRestartedMidSession(t *testing.T) {
	backend := startBackend(t)
	rs, rc := startRedis(t)
	def := restDefinition("weather", backend.srv.URL, "")
	a := startGateway(t, newTestHost(t, "gw-a", rc), def, testOptions())
	b := startGateway(t, newTestHost(t, "gw-b", rc), def, testOptions())
	sw := &switchingTransport{first: mustURL(t, a.srv.URL), then: mustURL(t, b.srv.URL), n: 1 << 30, base: http.DefaultTransport}
	cs := connect(t, a.url("/mcp-servers/weather"), &http.Client{Transport: sw}, nil)
	ctx := context.Background()

	rs.Restart() // empty: the registry lost every record
	require.Eventually(t, func() bool {
		_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"n": 1}})
		return err == nil
	}, 20*time.Second, 100*time.Millisecond, "the instance holding the session keeps serving it")
	// Serving it wrote its record back: another instance can take over.
	sw.onlyTo.Store(mustURL(t, b.srv.URL))
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"n": 3}})
	require.NoError(t, err)
	require.Equal(t, "echo 3", textOf(t, res))
}

func TestSessionRecordsComeBackAtOnceWhenRedisLosesThem(t *testing.T) {
	backend := startBackend(t)
	def := restDefinition("weather", backend.srv.URL, "")
	for _, loss := range []string{"flushall", "restart"} {
		t.Run(loss, func(t *testing.T) {
			rs, rc := startRedis(t)
			// Production timers: the heartbeat and the touch would restore
			// the record only 15 s and 30 s later.
			o := testOptions()
			o.heartbeat = 15 * time.Second
			o.touchEvery = 30 * time.Second
			a := startGateway(t, newTestHost(t, "gw-a", rc), def, o)
			b := startGateway(t, newTestHost(t, "gw-b", rc), def, o)
			c := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, nil)
			ctx := context.Background()
			// No standalone stream: only A holds the session.
			cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: a.url("/mcp-servers/weather"), DisableStandaloneSSE: true},
				&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
			require.NoError(t, err)
			t.Cleanup(func() { _ = cs.Close() })
			_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"n": 1}})
			require.NoError(t, err)
			require.Equal(t, 0, b.inst.ActiveSessions()["streamable"])

			if loss == "flushall" {
				rs.FlushAll()
			} else {
				rs.Restart()
			}
			// A load balancer now sends the client to B, which must find the
			// session well before A's next heartbeat.
			var body string
			require.Eventually(t, func() bool {
				var status int
				status, body = rawPOST(t, b.url("/mcp-servers/weather"), cs.ID(),
					`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"n":5}}}`)
				return status == http.StatusOK
			}, 5*time.Second, 50*time.Millisecond, "B does not find the session held by A")
			require.Contains(t, body, "echo 5")
			require.Equal(t, 1.0, counterValue(t, b.host.reg, "gatehouse_mcp_session_rebuilds_total", nil))
		})
	}
}

func TestIdleLocalCopyIsClosedAndRebuiltOnUse(t *testing.T) {
	backend := startBackend(t)
	_, rc := startRedis(t)
	o := testOptions()
	o.idleTimeout = 100 * time.Millisecond
	g := startGateway(t, newTestHost(t, "gw-a", rc), restDefinition("weather", backend.srv.URL, ""), o)
	c := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, nil)
	ctx := context.Background()
	// No standalone stream, so that the session can go idle.
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: g.url("/mcp-servers/weather"), DisableStandaloneSSE: true},
		&mcp.ClientSessionOptions{ProtocolVersion: "2025-06-18"})
	require.NoError(t, err)
	defer cs.Close()
	require.Eventually(t, func() bool { return g.inst.ActiveSessions()["streamable"] == 0 }, 5*time.Second, 20*time.Millisecond)
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"n": 8}})
	require.NoError(t, err)
	require.Equal(t, "echo 8", textOf(t, res))
	require.Equal(t, 1.0, counterValue(t, g.host.reg, "gatehouse_mcp_session_rebuilds_total", nil))
}
