package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

// mcpPost posts one JSON-RPC message to the gateway and returns the status,
// the Mcp-Session-Id header and the body.
func mcpPost(t *testing.T, g *testenv.Gatehouse, path, sid, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest("POST", g.GatewayURL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Mcp-Session-Id"), string(b)
}

// sseEventReader reads the events of a raw legacy SSE stream.
type sseEventReader struct {
	conn net.Conn
	r    *bufio.Reader
}

func (s *sseEventReader) next(t *testing.T) (name, data string) {
	t.Helper()
	require.NoError(t, s.conn.SetReadDeadline(time.Now().Add(20*time.Second)))
	for {
		line, err := s.r.ReadString('\n')
		require.NoError(t, err)
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && name != "":
			return name, data
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
}

// Without Redis (the default of make run) every configuration change, even
// a route that has nothing to do with MCP, starts new MCP server instances:
// sessions started before it must still be served after it.
func TestMCPSessionsSurviveAnUnrelatedChangeWithoutRedis(t *testing.T) {
	g := testenv.StartGatehouse(t, testenv.Options{Env: bootstrapEnv()})
	api := g.Login(t, adminUser, adminPass)
	yaml, err := os.ReadFile(filepath.Join(testenv.Root(t), "plugins/mcp-server/restmcp/testdata/higress/mcp-time.yaml"))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, api.DoContentType(t, "POST", "/mcp-servers", "application/yaml", yaml, nil).StatusCode)

	// A Streamable HTTP session.
	status, sid, body := mcpPost(t, g, "/mcp-servers/time", "",
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	require.Equal(t, http.StatusOK, status, body)
	require.NotEmpty(t, sid)
	status, _, body = mcpPost(t, g, "/mcp-servers/time", sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	require.Equal(t, http.StatusAccepted, status, body)

	// A legacy SSE stream.
	u, err := url.Parse(g.GatewayURL)
	require.NoError(t, err)
	conn, err := net.Dial("tcp", u.Host)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	_, err = fmt.Fprintf(conn, "GET /mcp-servers/time/sse HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", u.Host)
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	stream := &sseEventReader{conn: conn, r: bufio.NewReader(resp.Body)}
	name, endpoint := stream.next(t)
	require.Equal(t, "endpoint", name)
	post := func(body string) int {
		req, err := http.NewRequest("POST", g.GatewayURL+endpoint, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusAccepted, post(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`))
	name, _ = stream.next(t)
	require.Equal(t, "message", name)
	require.Equal(t, http.StatusAccepted, post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))

	// An unrelated change.
	echo := backend(t, "echo")
	require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/services", map[string]any{"name": "echo", "endpoints": []map[string]any{{"url": echo.URL, "weight": 1}}}, nil).StatusCode)
	require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/routes", map[string]any{"name": "echo", "path": map[string]string{"type": "prefix", "value": "/echo"}, "service": "echo"}, nil).StatusCode)
	status, got, _ := gatewayGet(t, g, "", "/echo/hi")
	require.Equal(t, http.StatusOK, status, "the change is in force: %s", got)

	status, _, body = mcpPost(t, g, "/mcp-servers/time", sid, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	require.Equal(t, http.StatusOK, status, "the session started before the change: %s", body)
	require.Contains(t, body, "get-current-time")

	require.Equal(t, http.StatusAccepted, post(`{"jsonrpc":"2.0","id":3,"method":"tools/list"}`), "a message for the legacy stream opened before the change")
	name, data := stream.next(t)
	require.Equal(t, "message", name)
	require.Contains(t, data, `"id":3`)
	require.Contains(t, data, "get-current-time")
}
