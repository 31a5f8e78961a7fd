package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/front"
)

// The benchmarks compare a REST-to-MCP tools/call over Streamable HTTP
// with the same REST call made directly, with 32 concurrent clients.
// Figures for docs/BENCHMARKS.md come from scripts/bench; these are for
// finding regressions:
//
//	go test -run XXX -bench . -benchtime 5s ./plugins/mcp-server/

func benchClients(b *testing.B) {
	b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
}

func BenchmarkDirectREST(b *testing.B) {
	backend := startBackend(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	url := backend.srv.URL + "/weather?city=Paris&units=metric"
	benchClients(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("X-Api-Key", "secret")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

func BenchmarkToolCallStreamable(b *testing.B) {
	for _, store := range []string{"memory", "redis"} {
		b.Run(store, func(b *testing.B) {
			backend := startBackend(b)
			var rc redis.UniversalClient
			if store == "redis" {
				_, rc = startRedis(b)
			}
			g := startGateway(b, newTestHost(b, "gw-a", rc), restDefinition("weather", backend.srv.URL, ""), defaultOptions())
			endpoint := g.url("/mcp-servers/weather")
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			benchClients(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				c := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
				cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc, DisableStandaloneSSE: true},
					&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
				if err != nil {
					b.Error(err)
					return
				}
				defer cs.Close()
				params := &mcp.CallToolParams{Name: "get_weather", Arguments: map[string]any{"city": "Paris"}}
				for pb.Next() {
					res, err := cs.CallTool(context.Background(), params)
					if err != nil || res.IsError {
						b.Errorf("call: %v %+v", err, res)
						return
					}
				}
			})
		})
	}
}

// BenchmarkToolCallRawClient measures the gateway alone: each client posts
// a prepared tools/call on its session and reads the answer.
func BenchmarkToolCallRawClient(b *testing.B) {
	for _, name := range []string{"memory/fast", "memory/sdk", "redis/fast", "redis/sdk"} {
		store, path, _ := strings.Cut(name, "/")
		b.Run(name, func(b *testing.B) {
			backend := startBackend(b)
			var rc redis.UniversalClient
			if store == "redis" {
				_, rc = startRedis(b)
			}
			extra := ""
			if path == "sdk" {
				extra = `, "toolCallFastPath": false`
			}
			g := startGateway(b, newTestHost(b, "gw-a", rc), restDefinition("weather", backend.srv.URL, extra), defaultOptions())
			endpoint := g.url("/mcp-servers/weather")
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			body := []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_weather","arguments":{"city":"Paris"}}}`)
			benchClients(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				c := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
				cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc, DisableStandaloneSSE: true},
					&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
				if err != nil {
					b.Error(err)
					return
				}
				defer cs.Close()
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Accept", "application/json, text/event-stream")
					req.Header.Set(front.SessionIDHeader, cs.ID())
					req.Header.Set(front.ProtocolVersionHeader, "2025-11-25")
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					data, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || !bytes.Contains(data, []byte("Paris: 21.5 C")) {
						b.Errorf("answer %d: %s", resp.StatusCode, data)
						return
					}
				}
			})
		})
	}
}

// BenchmarkIdleLegacySessions opens b.N legacy SSE sessions over raw TCP
// connections (so that the client side holds almost nothing) and reports
// the memory the gateway holds per idle session:
//
//	go test -run XXX -bench IdleLegacy -benchtime 2000x ./plugins/mcp-server/
func BenchmarkIdleLegacySessions(b *testing.B) {
	backend := startBackend(b)
	g := startGateway(b, newTestHost(b, "gw-a", nil), restDefinition("weather", backend.srv.URL, ""), defaultOptions())
	addr := g.srv.Listener.Addr().String()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	conns := make([]net.Conn, 0, b.N)
	buf := make([]byte, 512)
	for range b.N {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.WriteString(c, "GET /mcp-servers/weather/sse HTTP/1.1\r\nHost: "+addr+"\r\nAccept: text/event-stream\r\n\r\n"); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	used := (after.HeapInuse + after.StackInuse) - (before.HeapInuse + before.StackInuse)
	b.ReportMetric(float64(used)/float64(b.N), "bytes/session")
	if got := g.inst.ActiveSessions()["sse"]; got != b.N {
		b.Fatalf("%d sessions open, want %d", got, b.N)
	}
	for _, c := range conns {
		_ = c.Close()
	}
}
