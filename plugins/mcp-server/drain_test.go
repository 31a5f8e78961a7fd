package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/front"
)

// openStream sends req and returns its SSE events; the test fails unless
// the answer is 200.
func openStream(t *testing.T, req *http.Request) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	require.NoError(t, err)
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return readEvents(resp.Body)
}

// endsWithin reads events until the stream ends, failing if it is still
// open after d. It returns the events read.
func endsWithin(t *testing.T, events <-chan sseEvent, d time.Duration, what string) []sseEvent {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	var got []sseEvent
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return got
			}
			got = append(got, ev)
		case <-timer.C:
			t.Fatalf("%s still open %s after Drain", what, d)
		}
	}
}

func TestDrainEndsStreamsAndKeepsSessions(t *testing.T) {
	// The REST backend answers only when the test lets it, so that a tool
	// call is in progress while the instance drains.
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"city": r.URL.Query().Get("city"), "temp": 3})
	}))
	t.Cleanup(backend.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	_, rc := startRedis(t)
	def := restDefinition("weather", backend.URL, "")
	a := startGateway(t, newTestHost(t, "gw-a", rc), def, testOptions())
	b := startGateway(t, newTestHost(t, "gw-b", rc), def, testOptions())
	endpoint := a.url("/mcp-servers/weather")

	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(initializeBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	sid := resp.Header.Get(front.SessionIDHeader)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.NotEmpty(t, sid)
	status, _ := rawPOST(t, endpoint, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	require.Equal(t, http.StatusAccepted, status)

	// A GET stream, a tool call answering over SSE and a legacy SSE stream.
	get, _ := http.NewRequest(http.MethodGet, endpoint, nil)
	get.Header.Set("Accept", "text/event-stream")
	get.Header.Set(front.SessionIDHeader, sid)
	get.Header.Set(front.ProtocolVersionHeader, "2025-11-25")
	getEvents := openStream(t, get)

	call, _ := http.NewRequest(http.MethodPost, endpoint,
		strings.NewReader(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_weather","arguments":{"city":"Bern"}}}`))
	call.Header.Set("Content-Type", "application/json")
	call.Header.Set("Accept", "application/json, text/event-stream")
	call.Header.Set(front.SessionIDHeader, sid)
	call.Header.Set(front.ProtocolVersionHeader, "2025-11-25")
	callEvents := openStream(t, call)
	prime := <-callEvents
	require.Equal(t, "prime", prime.name)

	legacy := openLegacy(t, a.url("/mcp-servers/weather/sse"))

	a.inst.Drain()

	endsWithin(t, getEvents, 5*time.Second, "Streamable HTTP GET stream")
	require.Empty(t, endsWithin(t, callEvents, 5*time.Second, "SSE answer in progress"), "the call had not answered yet")
	endsWithin(t, legacy.events, 5*time.Second, "legacy SSE stream")

	// The session stays in Redis, and new streams go elsewhere.
	rec, err := b.inst.registry.Get(context.Background(), sid)
	require.NoError(t, err)
	require.Equal(t, "weather", rec.Server)
	again, _ := http.NewRequest(http.MethodGet, endpoint, nil)
	again.Header = get.Header.Clone()
	resp, err = http.DefaultClient.Do(again)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, "1", resp.Header.Get("Retry-After"))

	// The call finishes on A; the client resumes its answer on B.
	close(release)
	require.Eventually(t, func() bool {
		req, _ := http.NewRequest(http.MethodGet, b.url("/mcp-servers/weather"), nil)
		req.Header = get.Header.Clone()
		req.Header.Set("Last-Event-ID", prime.id)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		for ev := range readEvents(resp.Body) {
			if ev.name == "message" && strings.Contains(ev.data, `"id":2`) {
				require.Contains(t, ev.data, "Bern")
				return true
			}
		}
		return false
	}, 10*time.Second, 50*time.Millisecond)

	// Requests still work on the drained instance until it closes.
	status, body := rawPOST(t, endpoint, sid, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"n":4}}}`)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, "echo 4")
}

func TestCloseDoesNotWaitForTheHandoffSubscription(t *testing.T) {
	backend := startBackend(t)
	_, rc := startRedis(t)
	g := startGateway(t, newTestHost(t, "gw-a", rc), restDefinition("weather", backend.srv.URL, ""), testOptions())
	require.Eventually(t, g.inst.handoff.Subscribed, 5*time.Second, 10*time.Millisecond)

	// Every configuration change closes the previous instance: Close must
	// not wait for the subscription's receive timeout (2 s).
	closed := make(chan error, 1)
	go func() { closed <- g.inst.Close() }()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(time.Second):
		t.Fatal("Close still running 1 s later while Redis is up")
	}
}

// listenBody is a 2026-07-28 subscriptions/listen request for prompt list
// changes.
const listenBody = `{"jsonrpc":"2.0","id":7,"method":"subscriptions/listen","params":{"notifications":{"promptsListChanged":true},` +
	`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`

func listenRequest2026(t *testing.T, endpoint string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(listenBody))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(front.ProtocolVersionHeader, "2026-07-28")
	req.Header.Set("Mcp-Method", "subscriptions/listen")
	return req
}

func TestDrainEndsStatelessListenStreams(t *testing.T) {
	backend := startBackend(t)
	g := startGateway(t, newTestHost(t, "gw-a", nil), restDefinition("weather", backend.srv.URL, ""), testOptions())
	endpoint := g.url("/mcp-servers/weather")
	// No definition makes the server agree to a subscription yet (REST
	// tools do not change within a configuration version); a prompt gives
	// it a list to announce changes of, so that the stream stays open.
	prompt := func(name string) {
		g.inst.server.AddPrompt(&mcp.Prompt{Name: name}, func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{}, nil
		})
	}
	prompt("first")

	events := openStream(t, listenRequest2026(t, endpoint))
	ack := <-events
	require.Contains(t, ack.data, `"notifications/subscriptions/acknowledged"`)
	require.Contains(t, ack.data, `"promptsListChanged":true`, "the subscription is live")
	prompt("second")
	changed := <-events
	require.Contains(t, changed.data, `"notifications/prompts/list_changed"`)

	g.inst.Drain()
	endsWithin(t, events, 5*time.Second, "subscriptions/listen stream")

	// A new listen goes to another instance; other stateless requests are
	// still served here until the instance closes.
	resp, err := http.DefaultClient.Do(listenRequest2026(t, endpoint))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, string(body))
	require.Equal(t, "1", resp.Header.Get("Retry-After"))
	require.Contains(t, string(body), `"id":7`)
	require.Contains(t, string(body), "shutting down")

	c := mcp.NewClient(&mcp.Implementation{Name: "new-client", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: endpoint}, nil)
	require.NoError(t, err)
	defer cs.Close()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"n": 6}})
	require.NoError(t, err)
	require.Equal(t, "echo 6", textOf(t, res))
}
