package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"
)

// newPluginInstance starts an instance the way the gateway does for each
// configuration version (Plugin.New, production options), served on a test
// server.
func newPluginInstance(t *testing.T, host *testHost, def string) (*instance, *httptest.Server) {
	t.Helper()
	pi, err := Plugin.New(context.Background(), json.RawMessage(def), host)
	require.NoError(t, err)
	in := pi.(*instance)
	srv := httptest.NewServer(in.Handler(http.NotFoundHandler()))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		_ = in.Close()
		srv.Close()
	})
	return in, srv
}

// Without Redis, every configuration change (even of an unrelated route)
// replaces the MCP server's plugin instance: the next instance must serve
// the sessions the previous one started, as another gateway instance does
// through Redis.
func TestConfigChangeWithoutRedisKeepsStreamableSessions(t *testing.T) {
	backend := startBackend(t)
	def := restDefinition("weather", backend.srv.URL, "")
	host := newTestHost(t, "gw-a", nil)
	old, oldSrv := newPluginInstance(t, host, def)
	st := &switchingTransport{first: mustURL(t, oldSrv.URL), n: 1 << 30, base: http.DefaultTransport}
	cs := connect(t, oldSrv.URL+"/mcp-servers/weather", &http.Client{Transport: st}, nil)
	sid := cs.ID()
	require.NotEmpty(t, sid)

	// The configuration changes: a new instance, then the old one closes.
	next, nextSrv := newPluginInstance(t, host, def)
	st.onlyTo.Store(mustURL(t, nextSrv.URL))
	require.NoError(t, old.Close())

	ctx := context.Background()
	lt, err := cs.ListTools(ctx, nil)
	require.NoError(t, err, "the session started before the change is served after it")
	require.Len(t, lt.Tools, 2)
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"n": 3}})
	require.NoError(t, err)
	require.Equal(t, "echo 3", textOf(t, res))
	require.NotNil(t, next.localSession(sid), "the new version serves session %s", sid)
}

// A legacy SSE stream stays on the instance that opened it after a
// configuration change; without Redis, a message posted to the next
// instance must still reach it, once.
func TestConfigChangeWithoutRedisKeepsLegacyStreams(t *testing.T) {
	backend := startBackend(t)
	def := restDefinition("weather", backend.srv.URL, "")
	host := newTestHost(t, "gw-a", nil)
	old, oldSrv := newPluginInstance(t, host, def)
	l := dialLegacy(t, oldSrv.URL)
	l.initialize(t, oldSrv.URL)

	_, nextSrv := newPluginInstance(t, host, def)
	require.NoError(t, old.Close())

	require.Equal(t, http.StatusAccepted, postTo(t, http.DefaultClient, nextSrv.URL+l.endpoint,
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"n":7}}}`))
	name, data := l.event(t)
	require.Equal(t, "message", name)
	require.Contains(t, data, `"id":7`)
	require.Contains(t, data, "echo 7")
	require.Equal(t, http.StatusAccepted, postTo(t, http.DefaultClient, nextSrv.URL+l.endpoint, `{"jsonrpc":"2.0","id":"last","method":"ping"}`))
	name, data = l.event(t)
	require.Equal(t, "message", name)
	require.Contains(t, data, `"id":"last"`, "the answer to 7 came once")
}
