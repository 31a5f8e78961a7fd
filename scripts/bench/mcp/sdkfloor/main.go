// Command sdkfloor is the reference of the tools/call benchmark in
// scripts/bench/mcp/mcp.sh: the official Go MCP SDK alone, serving one tool
// over Streamable HTTP the way Gatehouse does (stateful sessions, SSE
// answers, an in-memory event store), whose handler makes the same REST
// call with a shared keep-alive client and returns the body as text. No
// templates, no gateway, no Redis: what Gatehouse costs above this is its
// own. With -json it answers with application/json instead, to measure what
// the SSE framing and the event store cost.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18312", "listen address; the endpoint is /mcp")
	upstream := flag.String("upstream", "http://127.0.0.1:18301/data/2.5/weather", "the REST URL the tool calls")
	apiKey := flag.String("api-key", "bench-key", "x-api-key header sent upstream")
	jsonResponse := flag.Bool("json", false, "answer POSTs with application/json instead of an SSE stream (no event store)")
	flag.Parse()

	hc := &http.Client{
		Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, DisableCompression: true},
		Timeout:   30 * time.Second,
	}
	server := mcp.NewServer(&mcp.Implementation{Name: "weather-server", Version: "1"}, nil)
	server.AddTool(&mcp.Tool{
		Name:        "get_weather",
		Description: "Current weather of a city",
		InputSchema: map[string]any{
			"type":     "object",
			"required": []string{"city"},
			"properties": map[string]any{
				"city":  map[string]any{"type": "string"},
				"units": map[string]any{"type": "string", "default": "metric"},
				"lang":  map[string]any{"type": "string", "default": "zh_cn"},
			},
		},
	}, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		r, err := http.NewRequestWithContext(ctx, http.MethodGet, *upstream+"?city=Paris&units=metric&lang=zh_cn", nil)
		if err != nil {
			return nil, err
		}
		r.Header.Set("X-Api-Key", *apiKey)
		resp, err := hc.Do(r)
		if err != nil {
			return nil, fmt.Errorf("call the upstream: %w", err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read the upstream answer: %w", err)
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(body)}}, IsError: resp.StatusCode >= 400}, nil
	})
	opts := &mcp.StreamableHTTPOptions{DisableLocalhostProtection: true, JSONResponse: *jsonResponse}
	if !*jsonResponse {
		opts.EventStore = mcp.NewMemoryEventStore(nil)
	}
	handler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, opts)
	mux := http.NewServeMux()
	mux.Handle("/mcp", handler)
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
