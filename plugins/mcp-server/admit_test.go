package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/front"
)

// A flood of unauthenticated initialize calls cannot make a server hold
// unbounded sessions: the per-address rate answers 429, the cap 503, each
// a JSON-RPC error that says which limit and what to do.
func TestSessionFloodIsBounded(t *testing.T) {
	backend := startBackend(t)
	type rpcErr struct {
		ID    json.RawMessage `json:"id"`
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	cases := []struct {
		name     string
		limits   string
		status   int
		code     int
		contains string
	}{
		{"initialize rate per address", `"sessions": {"initializePerMinute": 5, "max": 100}`, http.StatusTooManyRequests, front.CodeRateLimited, "sessions.initializePerMinute"},
		{"sessions per server", `"sessions": {"initializePerMinute": 100, "max": 5}`, http.StatusServiceUnavailable, front.CodeUnavailable, "sessions.max"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, rc := startRedis(t)
			g := startGateway(t, newTestHost(t, "gw-a", rc), restDefinition("weather", backend.srv.URL, ", "+tc.limits), testOptions())
			endpoint := g.url("/mcp-servers/weather")
			inOneMinute() // the initialize rate is counted per minute
			for i := range 5 {
				status, body := rawPOST(t, endpoint, "", initializeBody)
				require.Equal(t, http.StatusOK, status, "initialize %d: %s", i, body)
			}
			for range 20 {
				status, body := rawPOST(t, endpoint, "", initializeBody)
				require.Equal(t, tc.status, status, body)
				var resp rpcErr
				require.NoError(t, json.Unmarshal([]byte(body), &resp), body)
				require.JSONEq(t, `1`, string(resp.ID))
				require.Equal(t, tc.code, resp.Error.Code)
				require.Contains(t, resp.Error.Message, tc.contains)
			}
			require.Equal(t, 5, g.inst.MCPStatus().Sessions, "no session was made beyond the limit")
		})
	}
}

// A tools/call whose arguments do not fit the input schema is a JSON-RPC
// -32602 error naming the argument, and nothing reaches the upstream.
func TestInvalidArgumentsAreInvalidParams(t *testing.T) {
	backend := startBackend(t)
	g := startGateway(t, newTestHost(t, "gw-a", nil), restDefinition("weather", backend.srv.URL, ""), testOptions())
	cs := connect(t, g.url("/mcp-servers/weather"), nil, nil)
	for _, args := range []map[string]any{
		{"city": map[string]any{"nested": "object"}},
		{"city": "Paris", "units": "kelvin"},
	} {
		_, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "get_weather", Arguments: args})
		var we *jsonrpc.Error
		require.ErrorAs(t, err, &we, "%v", args)
		require.Equal(t, int64(jsonrpc.CodeInvalidParams), we.Code)
		require.Contains(t, we.Message, "argument")
	}
	_, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"n": "seven"}})
	var we *jsonrpc.Error
	require.ErrorAs(t, err, &we)
	require.Contains(t, we.Message, `argument "n"`)
	require.Zero(t, backend.calls.Load(), "an invalid call reached the upstream")
}
