package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkProxyToolCall is one client's tools/call through mcp-proxy to a
// Go SDK server on Streamable HTTP, one call at a time: what the raw hook
// (rawhook.go) adds or saves on the proxy's hot path.
//
//	go test -run XXX -bench ProxyToolCall -count 5 ./plugins/mcp-server/
func BenchmarkProxyToolCall(b *testing.B) {
	s := mcp.NewServer(&mcp.Implementation{Name: "up", Version: "1"}, nil)
	type addIn struct {
		A int `json:"a"`
		B int `json:"b"`
	}
	mcp.AddTool(s, &mcp.Tool{Name: "add"}, func(_ context.Context, _ *mcp.CallToolRequest, in addIn) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprint(in.A + in.B)}}}, nil, nil
	})
	up := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	b.Cleanup(up.Close)
	def := fmt.Sprintf(`{"name": "up", "type": "mcp-proxy", "server": {"name": "up", "transport": "http", "mcpServerURL": %q}}`, up.URL)
	g := startGateway(b, newTestHost(b, "gw-a", nil), def, defaultOptions())
	c := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: g.url("/mcp-servers/up")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cs.Close() })
	params := &mcp.CallToolParams{Name: "add", Arguments: map[string]any{"a": 1, "b": 2}}
	b.ResetTimer()
	for b.Loop() {
		res, err := cs.CallTool(context.Background(), params)
		if err != nil || res.IsError {
			b.Fatal(err, res)
		}
	}
}
