package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"
)

func TestLegacySSEWithTheGoSDKClient(t *testing.T) {
	backend := startBackend(t)
	g := startGateway(t, newTestHost(t, "gw-a", nil), restDefinition("weather", backend.srv.URL, ""), testOptions())
	for _, version := range []string{"", "2024-11-05"} {
		t.Run("version "+version, func(t *testing.T) {
			c := mcp.NewClient(&mcp.Implementation{Name: "sse-client", Version: "1"}, nil)
			ctx := context.Background()
			cs, err := c.Connect(ctx, &mcp.SSEClientTransport{Endpoint: g.url("/mcp-servers/weather/sse")}, &mcp.ClientSessionOptions{ProtocolVersion: version})
			require.NoError(t, err)
			defer cs.Close()
			if version != "" {
				require.Equal(t, version, cs.InitializeResult().ProtocolVersion)
			}
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_weather", Arguments: map[string]any{"city": "Kyiv"}})
			require.NoError(t, err)
			require.Equal(t, "Kyiv: 21.5 C", textOf(t, res))
			// A stream whose client went away is released at the next
			// keep-alive pass.
			require.Eventually(t, func() bool { return g.inst.ActiveSessions()["sse"] == 1 }, 5*time.Second, 10*time.Millisecond)
		})
	}
	require.Eventually(t, func() bool { return g.inst.ActiveSessions()["sse"] == 0 }, 5*time.Second, 10*time.Millisecond,
		"closing the stream ends the session")
}

// legacyStream is a raw legacy SSE client.
type legacyStream struct {
	events   <-chan sseEvent
	endpoint string
	cancel   context.CancelFunc
}

func openLegacy(t *testing.T, sseURL string) *legacyStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sseURL, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	events := readEvents(resp.Body)
	ev := <-events
	require.Equal(t, "endpoint", ev.name)
	require.Contains(t, ev.data, "/mcp-servers/weather/message?sessionId=")
	return &legacyStream{events: events, endpoint: ev.data, cancel: cancel}
}

type rpcMessage struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// next returns the next JSON-RPC message on the stream.
func (l *legacyStream) next(t *testing.T) rpcMessage {
	t.Helper()
	select {
	case ev, ok := <-l.events:
		require.True(t, ok, "stream ended")
		require.Equal(t, "message", ev.name)
		var m rpcMessage
		require.NoError(t, json.Unmarshal([]byte(ev.data), &m), ev.data)
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("no message on the SSE stream within 20s")
	}
	return rpcMessage{}
}

func postTo(t *testing.T, client *http.Client, url, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func TestLegacySSEMessagesPostedToAnotherInstanceArriveExactlyOnce(t *testing.T) {
	backend := startBackend(t)
	_, rc := startRedis(t)
	def := restDefinition("weather", backend.srv.URL, "")
	a := startGateway(t, newTestHost(t, "gw-a", rc), def, testOptions())
	b := startGateway(t, newTestHost(t, "gw-b", rc), def, testOptions())
	require.Eventually(t, a.inst.handoff.Subscribed, 5*time.Second, 10*time.Millisecond)

	stream := openLegacy(t, a.url("/mcp-servers/weather/sse"))
	postURL := b.url(stream.endpoint) // the stream is on A, every POST goes to B
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 128, MaxIdleConnsPerHost: 128}}

	require.Equal(t, http.StatusAccepted, postTo(t, client, postURL, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`))
	m := stream.next(t)
	require.JSONEq(t, `0`, string(m.ID))
	require.Contains(t, string(m.Result), `"protocolVersion":"2024-11-05"`)
	require.Equal(t, http.StatusAccepted, postTo(t, client, postURL, `{"jsonrpc":"2.0","method":"notifications/initialized"}`))

	const n = 1000
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() {
			statuses[i] = postTo(t, client, postURL, fmt.Sprintf(
				`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"n":%d}}}`, i+1, i+1))
		})
	}
	wg.Wait()
	for i, s := range statuses {
		require.Equal(t, http.StatusAccepted, s, "POST %d", i+1)
	}

	seen := make(map[int]int, n)
	for len(seen) < n {
		m := stream.next(t)
		var id int
		require.NoError(t, json.Unmarshal(m.ID, &id))
		seen[id]++
		require.Equal(t, 1, seen[id], "answer %d arrived twice", id)
		require.Nil(t, m.Error)
		var res mcp.CallToolResult
		require.NoError(t, json.Unmarshal(m.Result, &res))
		require.Equal(t, fmt.Sprintf("echo %d", id), res.Content[0].(*mcp.TextContent).Text)
	}
	for i := 1; i <= n; i++ {
		require.Equal(t, 1, seen[i], "answer %d", i)
	}
	// Nothing else is pending: the next message is the answer to a ping.
	require.Equal(t, http.StatusAccepted, postTo(t, client, postURL, `{"jsonrpc":"2.0","id":"last","method":"ping"}`))
	m = stream.next(t)
	require.JSONEq(t, `"last"`, string(m.ID))

	require.Equal(t, float64(n+3), counterValue(t, b.host.reg, "gatehouse_mcp_cross_instance_handoffs_total", map[string]string{"result": "sent"}))
	requireCounterSoon(t, a.host.reg, "gatehouse_mcp_cross_instance_handoffs_total", map[string]string{"result": "received"}, float64(n+3))

	// When the stream ends, its messages have nowhere to go.
	stream.cancel()
	require.Eventually(t, func() bool {
		return postTo(t, client, postURL, `{"jsonrpc":"2.0","id":"late","method":"ping"}`) == http.StatusNotFound
	}, 10*time.Second, 20*time.Millisecond)
}
