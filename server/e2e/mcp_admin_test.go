package e2e

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

// TestMCPServerAdminLifecycle drives an MCP server through the admin API:
// Higress YAML as it is, tools, dry-run render, try it, status, and a bad
// template refused with its tool and field named while the good server
// keeps serving.
func TestMCPServerAdminLifecycle(t *testing.T) {
	g := testenv.StartGatehouse(t, testenv.Options{Env: bootstrapEnv()})
	api := g.Login(t, adminUser, adminPass)
	yaml, err := os.ReadFile(filepath.Join(testenv.Root(t), "plugins/mcp-server/restmcp/testdata/higress/mcp-time.yaml"))
	require.NoError(t, err)

	var created struct {
		Name, Path, SSEPath string
		Version             int64
	}
	resp := api.DoContentType(t, "POST", "/mcp-servers", "application/yaml", yaml, &created)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Equal(t, "time", created.Name)
	require.Equal(t, "/mcp-servers/time", created.Path)
	require.Equal(t, "/mcp-servers/time/sse", created.SSEPath)

	var tools struct {
		Items []struct {
			Name        string
			InputSchema map[string]any
		}
	}
	require.Equal(t, http.StatusOK, api.Do(t, "GET", "/mcp-servers/time/tools", nil, &tools).StatusCode)
	require.Len(t, tools.Items, 1)
	require.Equal(t, "get-current-time", tools.Items[0].Name)

	var result struct {
		Content []struct{ Type, Text string }
		IsError bool
	}
	require.Equal(t, http.StatusOK, api.Do(t, "POST", "/mcp-servers/time/tools/get-current-time/call", map[string]any{"arguments": map[string]string{"timeZone": "UTC"}}, &result).StatusCode)
	require.False(t, result.IsError)
	require.NotEmpty(t, result.Content[0].Text)

	var e apiErr
	resp = api.Do(t, "POST", "/mcp-servers/time/tools/nope/call", map[string]any{"arguments": map[string]string{}}, &e)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Equal(t, "tool_not_found", e.Error.Code)

	var status struct {
		Name     string
		Tools    int
		Sessions int
	}
	require.Equal(t, http.StatusOK, api.Do(t, "GET", "/mcp-servers/time/status", nil, &status).StatusCode)
	require.Equal(t, 1, status.Tools)

	// A broken template in another server is refused with its field named,
	// and changes nothing.
	bad := bytes.Replace(yaml, []byte("name: time"), []byte("name: broken"), 1)
	bad = bytes.Replace(bad, []byte("{{ dateInZone"), []byte("{{ dateInZone (("), 1)
	resp = api.DoContentType(t, "POST", "/mcp-servers", "application/yaml", bad, &e)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "mcp_server_invalid", e.Error.Code)
	require.NotEmpty(t, e.Error.Details)
	require.True(t, strings.HasPrefix(e.Error.Details[0].Field, "tools[0]"), "the field names the tool: %+v", e.Error.Details)

	var list struct{ Total int }
	api.Do(t, "GET", "/mcp-servers", nil, &list)
	require.Equal(t, 1, list.Total)

	// The good server still answers MCP initialize on the gateway.
	req, _ := http.NewRequest("POST", g.GatewayURL+"/mcp-servers/time", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	r2, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = r2.Body.Close() }()
	require.Equal(t, http.StatusOK, r2.StatusCode)
	require.NotEmpty(t, r2.Header.Get("Mcp-Session-Id"))
}

// TestSIGTERMEndsMCPStreamsAndExitsCleanly: open MCP streams must not hold
// the shutdown until its timeout.
func TestSIGTERMEndsMCPStreamsAndExitsCleanly(t *testing.T) {
	g := testenv.StartGatehouse(t, testenv.Options{Env: append(bootstrapEnv(), "GATEHOUSE_SHUTDOWN_TIMEOUT=30s")})
	api := g.Login(t, adminUser, adminPass)
	yaml, err := os.ReadFile(filepath.Join(testenv.Root(t), "plugins/mcp-server/restmcp/testdata/higress/mcp-time.yaml"))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, api.DoContentType(t, "POST", "/mcp-servers", "application/yaml", yaml, nil).StatusCode)

	resp, err := http.Get(g.GatewayURL + "/mcp-servers/time/sse")
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	r := bufio.NewReader(resp.Body)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "event: endpoint\n", line, "the legacy SSE stream is open")

	g.Signal(syscall.SIGTERM)
	_, err = io.Copy(io.Discard, r)
	require.NoError(t, err, "the stream ends cleanly at shutdown")
	require.Equal(t, 0, g.Wait(25*time.Second), "open streams do not hold the shutdown until its timeout")
	require.NotContains(t, g.Stdout.String(), "shutdown timeout exceeded")
}
