package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

// TestMCPHigressLeniencyAndPlacement: a published Higress definition that
// Gatehouse is stricter about loads through the admin API with warnings
// naming the fields (answer and status); a relative URL goes to the
// server's service; an MCP path that would take a route's requests is
// refused naming both.
func TestMCPHigressLeniencyAndPlacement(t *testing.T) {
	var hits atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	}))
	t.Cleanup(upstream.Close)
	g := testenv.StartGatehouse(t, testenv.Options{Env: bootstrapEnv()})
	api := g.Login(t, adminUser, adminPass)

	// Brave Search declares search_lang twice: it loads, with a warning.
	yaml, err := os.ReadFile(filepath.Join(testenv.Root(t), "plugins/mcp-server/restmcp/testdata/higress/mcp-bravesearch.yaml"))
	require.NoError(t, err)
	var created struct {
		Name     string
		Warnings []struct{ Field, Message string }
	}
	resp := api.DoContentType(t, "POST", "/mcp-servers", "application/yaml", yaml, &created)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.NotEmpty(t, created.Warnings, "the answer carries the warnings")
	var fields []string
	for _, w := range created.Warnings {
		fields = append(fields, w.Field)
	}
	require.Contains(t, fields, "tools[1].args[1].name", "the first search_lang of brave_local_search_pois is named")
	var status struct {
		Tools    int
		Warnings []struct{ Field, Message string }
	}
	require.Equal(t, http.StatusOK, api.Do(t, "GET", "/mcp-servers/brave-search-server/status", nil, &status).StatusCode)
	require.Equal(t, 3, status.Tools)
	require.Len(t, status.Warnings, len(created.Warnings))

	// A relative URL resolves against the server's service.
	require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/services", map[string]any{"name": "users", "endpoints": []map[string]any{{"url": upstream.URL + "/api"}}}, nil).StatusCode)
	rel := map[string]any{
		"name": "users", "service": "users", "server": map[string]any{"name": "users"},
		"tools": []map[string]any{{"name": "get", "args": []map[string]any{{"name": "id", "type": "int", "required": true, "position": "path"}},
			"requestTemplate": map[string]any{"url": "/users/{id}", "method": "GET"}}},
	}
	require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/mcp-servers", rel, nil).StatusCode)
	var result struct {
		Content []struct{ Text string }
		IsError bool
	}
	require.Equal(t, http.StatusOK, api.Do(t, "POST", "/mcp-servers/users/tools/get/call", map[string]any{"arguments": map[string]any{"id": 7}}, &result).StatusCode)
	require.False(t, result.IsError, "%+v", result)
	require.JSONEq(t, `{"path":"/api/users/7"}`, result.Content[0].Text)

	// An MCP server at a route's path is refused, naming both.
	require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/routes", map[string]any{"name": "echo", "path": map[string]string{"type": "prefix", "value": "/echo"}, "service": "users"}, nil).StatusCode)
	var e apiErr
	resp = api.Do(t, "POST", "/mcp-servers", map[string]any{"name": "shadow", "path": "/echo", "server": map[string]any{"name": "shadow"}}, &e)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "mcp_server_invalid", e.Error.Code)
	require.Contains(t, e.Error.Message, `route "echo"`)
	before := hits.Load()
	r, err := http.Get(g.GatewayURL + "/echo/x")
	require.NoError(t, err)
	body, _ := io.ReadAll(r.Body)
	_ = r.Body.Close()
	require.Equal(t, http.StatusOK, r.StatusCode, string(body))
	require.True(t, strings.Contains(string(body), "/api/echo/x"), "the route still answers: %s", body)
	require.Equal(t, before+1, hits.Load())
}
