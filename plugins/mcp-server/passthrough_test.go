package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/rawrpc"
)

// enumSchema is an elicitation schema clients accept (a titled
// multi-select enum, as the conformance suite's elicitation-sep1330-enums
// asks for) that the Go SDK's client refuses, with a member of its own.
var enumSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"titledMulti": map[string]any{
			"type": "array", "minItems": 1,
			"items": map[string]any{
				"type":  "string",
				"anyOf": []any{map[string]any{"const": "v1", "title": "First"}, map[string]any{"const": "v2", "title": "Second"}},
			},
		},
	},
	"x-ui": map[string]any{"order": []any{"titledMulti"}},
}

// TestProxyPassesElicitationAsTheUpstreamSentIt checks that an upstream's
// elicitation request reaches the client as the upstream sent it, and the
// client's answer gets back, on both upstream transports: the proxy's own
// SDK client would refuse the schema.
func TestProxyPassesElicitationAsTheUpstreamSentIt(t *testing.T) {
	for _, sse := range []bool{false, true} {
		t.Run(map[bool]string{false: "upstream http", true: "upstream sse"}[sse], func(t *testing.T) {
			s := mcp.NewServer(&mcp.Implementation{Name: "elicits", Version: "1"}, nil)
			mcp.AddTool(s, &mcp.Tool{Name: "choose", Description: "Asks the user to choose"},
				func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
					res, err := req.Session.Elicit(ctx, &mcp.ElicitParams{Message: "Pick some", RequestedSchema: enumSchema})
					if err != nil {
						return nil, nil, fmt.Errorf("elicitation failed: %w", err)
					}
					return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "action=" + res.Action}}}, nil, nil
				})
			get := func(*http.Request) *mcp.Server { return s }
			var h http.Handler = mcp.NewStreamableHTTPHandler(get, nil)
			endpoint := "/mcp"
			if sse {
				h, endpoint = mcp.NewSSEHandler(get, nil), "/sse"
			}
			up := httptest.NewServer(h)
			t.Cleanup(func() {
				up.CloseClientConnections()
				up.Close()
			})
			transport := map[bool]string{false: "http", true: "sse"}[sse]
			def := fmt.Sprintf(`{"name": "elicits", "type": "mcp-proxy", "server": {"name": "elicits", "transport": %q, "mcpServerURL": %q}}`,
				transport, up.URL+endpoint)
			_, rc := startRedis(t)
			g := startGateway(t, newTestHost(t, "gw-a", rc), def, testOptions())

			// The test's client declares elicitation and sees the request
			// before its own SDK would check it.
			var mu sync.Mutex
			var asked []json.RawMessage
			c := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1.0"}, &mcp.ClientOptions{
				ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
					return nil, fmt.Errorf("not reached")
				},
			})
			c.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
				return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
					if method != "elicitation/create" {
						return next(ctx, method, req)
					}
					data, err := json.Marshal(req.GetParams())
					require.NoError(t, err)
					mu.Lock()
					asked = append(asked, data)
					mu.Unlock()
					return &mcp.ElicitResult{Action: "decline"}, nil
				}
			})
			cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: g.url("/mcp-servers/elicits")},
				&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
			require.NoError(t, err)
			t.Cleanup(func() { _ = cs.Close() })

			res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "choose", Arguments: map[string]any{}})
			require.NoError(t, err)
			require.Equal(t, "action=decline", textOf(t, res), "the client's answer reached the upstream")
			mu.Lock()
			defer mu.Unlock()
			require.Len(t, asked, 1)
			var got struct {
				Message         string          `json:"message"`
				RequestedSchema json.RawMessage `json:"requestedSchema"`
			}
			require.NoError(t, json.Unmarshal(asked[0], &got))
			want, err := json.Marshal(enumSchema)
			require.NoError(t, err)
			require.Equal(t, "Pick some", got.Message)
			require.JSONEq(t, string(want), string(got.RequestedSchema), "the schema as the upstream sent it")
		})
	}
}

// TestProxyPassesResultsAsTheUpstreamWroteThem checks that results reach the
// client as the upstream wrote them: members the SDK's types do not know, a
// content type they do not know, structured content no schema describes.
func TestProxyPassesResultsAsTheUpstreamWroteThem(t *testing.T) {
	results := map[string]string{
		"tools/list": `{"tools":[{"name":"holo","description":"d","inputSchema":{"type":"object"},"x-vendor":{"cost":0.25}},` +
			`{"name":"hidden","inputSchema":{"type":"object"}}],"x-list":"kept"}`,
		"tools/call": `{"content":[{"type":"hologram","frames":[1,2,3]},{"type":"text","text":"<b>&</b>","x-a":{"k":"v"}}],` +
			`"structuredContent":{"n":1.5},"x-vendor":{"trace":"abc"},"_meta":{"com.example/cost":7}}`,
		"resources/read": `{"contents":[{"uri":"x://a","text":"t","x-hash":"abc"}],"x-r":1}`,
	}
	var mu sync.Mutex
	received := map[string]json.RawMessage{}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&msg) != nil {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		mu.Lock()
		received[msg.Method] = msg.Params
		mu.Unlock()
		w.Header().Set("Mcp-Session-Id", "up-1")
		if len(msg.ID) == 0 {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		result := results[msg.Method]
		if msg.Method == "initialize" {
			result = `{"protocolVersion":"2025-11-25","capabilities":{"tools":{},"resources":{}},"serverInfo":{"name":"raw","version":"1"}}`
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, msg.ID, result)
	}))
	t.Cleanup(up.Close)
	def := fmt.Sprintf(`{"name": "raw", "type": "mcp-proxy", "server": {"name": "raw", "transport": "http", "mcpServerURL": %q},
  "tools": [{"name": "holo", "description": "described by the gateway"}]}`, up.URL)
	_, rc := startRedis(t)
	g := startGateway(t, newTestHost(t, "gw-a", rc), def, testOptions())

	// A client that keeps results as raw JSON too (rawrpc), so that what
	// the gateway sent is what the test sees.
	c := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1.0"}, nil)
	require.NoError(t, rawrpc.Register(c))
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint:   g.url("/mcp-servers/raw"),
		HTTPClient: &http.Client{Transport: rawrpc.RT{Base: http.DefaultTransport}},
	}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	ctx := context.Background()

	res, err := rawrpc.Call(ctx, cs, "tools/list", json.RawMessage(`{}`))
	require.NoError(t, err)
	require.JSONEq(t, `{"tools":[{"name":"holo","description":"described by the gateway","inputSchema":{"type":"object"},"x-vendor":{"cost":0.25}}],"x-list":"kept"}`,
		string(res.JSON), "the allowlist and its description applied, everything else as the upstream wrote it")

	params := `{"name":"holo","arguments":{"big":12345678901234567890},"_meta":{"progressToken":"p-1"}}`
	res, err = rawrpc.Call(ctx, cs, "tools/call", json.RawMessage(params))
	require.NoError(t, err)
	require.JSONEq(t, results["tools/call"], string(res.JSON))
	mu.Lock()
	require.JSONEq(t, params, string(received["tools/call"]), "the client's params as it sent them")
	mu.Unlock()
	require.Equal(t, 1.0, counterValue(t, g.host.reg, "gatehouse_mcp_tool_calls_total", map[string]string{"tool": "holo", "outcome": "ok"}))

	res, err = rawrpc.Call(ctx, cs, "resources/read", json.RawMessage(`{"uri":"x://a"}`))
	require.NoError(t, err)
	require.JSONEq(t, results["resources/read"], string(res.JSON))

	_, err = rawrpc.Call(ctx, cs, "tools/call", json.RawMessage(`{"name":"hidden","arguments":{}}`))
	require.ErrorContains(t, err, `unknown tool "hidden"`, "the allowlist still holds")
}

func TestIsToolErrorReadsRawResults(t *testing.T) {
	require.True(t, isToolError(&rawrpc.Result{JSON: json.RawMessage(`{"content":[],"isError":true}`)}))
	require.False(t, isToolError(&rawrpc.Result{JSON: json.RawMessage(`{"content":[{"type":"hologram"}]}`)}))
	require.True(t, isToolError(&mcp.CallToolResult{IsError: true}))
	require.False(t, isToolError(nil))
}
