package spec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestParseMCPServerFromHigressYAMLFillsDefaults(t *testing.T) {
	files, err := filepath.Glob("../../../plugins/mcp-server/restmcp/testdata/higress/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files, "the Higress definitions are in restmcp's testdata")
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		m, err := ParseMCPServer(data)
		require.NoError(t, err, f)
		require.NotEmpty(t, m.Name, f)
		require.Equal(t, MCPServerPathPrefix+m.Name, m.Path)
		require.Equal(t, m.Path+"/sse", m.SSEPath)
		require.True(t, m.Enabled)
		var doc map[string]any
		require.NoError(t, json.Unmarshal(m.Definition, &doc))
		require.Equal(t, m.Name, doc["name"], "the definition carries the resolved name for the plugin")
		require.Contains(t, doc, "tools")
		require.NoError(t, Snapshot{MCPServers: []MCPServer{m}}.Validate(), f)
	}
}

func TestMCPServerValidation(t *testing.T) {
	good, err := ParseMCPServer([]byte(`{"server":{"name":"time"},"tools":[]}`))
	require.NoError(t, err)
	badSSE, err := ParseMCPServer([]byte(`{"name":"x","ssePath":"/mcp-servers/x/events"}`))
	require.NoError(t, err)
	dup := good
	err = Snapshot{MCPServers: []MCPServer{good, badSSE, dup}}.Validate()
	require.Error(t, err)
	fields := map[string]string{}
	for _, fe := range FieldErrors(err) {
		fields[fe.Name+"/"+fe.Field] = fe.Message
		require.Equal(t, CodeMCPServerInvalid, fe.Code)
	}
	require.Contains(t, fields["x/ssePath"], "ends in /sse")
	require.Contains(t, fields["time/name"], "unique")

	err = Snapshot{PluginInstances: []PluginInstance{{Name: "k", Plugin: "key-auth", Scope: Scope{Type: ScopeMCPServer, Value: "nope"}}}}.Validate()
	require.Error(t, err)
	require.Contains(t, err.Error(), `MCP server "nope" does not exist`)
}

func TestMCPServerYAMLRoundTrip(t *testing.T) {
	in := Snapshot{}
	m, err := ParseMCPServer([]byte("server:\n  name: weather\ntools:\n  - name: now\n    args: []\n"))
	require.NoError(t, err)
	in.MCPServers = []MCPServer{m}
	out, err := yaml.Marshal(in)
	require.NoError(t, err)
	var back Snapshot
	require.NoError(t, yaml.Unmarshal(out, &back))
	require.Len(t, back.MCPServers, 1)
	require.Equal(t, "weather", back.MCPServers[0].Name)
	require.JSONEq(t, string(m.Definition), string(back.MCPServers[0].Definition))
}

// An MCP server must not take the requests of a route: /echo as an MCP
// path would answer /echo and /echo/x instead of the route.
func TestMCPServerPathMustNotShadowARoute(t *testing.T) {
	svc := []Service{{Name: "echo", Endpoints: []Endpoint{{URL: "http://127.0.0.1:9000"}}}}
	mcp := func(t *testing.T, src string) MCPServer {
		t.Helper()
		m, err := ParseMCPServer([]byte(src))
		require.NoError(t, err)
		return m
	}
	cases := []struct {
		name    string
		route   Route
		mcp     string
		overlap bool
	}{
		{"same prefix", Route{Name: "echo", Path: PathMatch{Type: PathPrefix, Value: "/echo"}, Service: "echo"}, `{"name":"m","path":"/echo","server":{"name":"m"}}`, true},
		{"route under the server", Route{Name: "echo", Path: PathMatch{Type: PathExact, Value: "/echo/x"}, Service: "echo"}, `{"name":"m","path":"/echo","server":{"name":"m"}}`, true},
		{"regex reaching the server path", Route{Name: "echo", Path: PathMatch{Type: PathRegex, Value: "^/ec.*"}, Service: "echo"}, `{"name":"m","path":"/echo","server":{"name":"m"}}`, true},
		{"catch-all route stays", Route{Name: "all", Path: PathMatch{Type: PathPrefix, Value: "/"}, Service: "echo"}, `{"name":"m","path":"/echo","server":{"name":"m"}}`, false},
		{"sibling path", Route{Name: "echo", Path: PathMatch{Type: PathPrefix, Value: "/echoes"}, Service: "echo"}, `{"name":"m","path":"/echo","server":{"name":"m"}}`, false},
		{"other domain", Route{Name: "echo", Domains: []string{"a.example.com"}, Path: PathMatch{Type: PathPrefix, Value: "/echo"}, Service: "echo"}, `{"name":"m","path":"/echo","domains":["b.example.com"],"server":{"name":"m"}}`, false},
		{"disabled route", Route{Name: "echo", Path: PathMatch{Type: PathPrefix, Value: "/echo"}, Service: "echo", Enabled: ptr(false)}, `{"name":"m","path":"/echo","server":{"name":"m"}}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Snapshot{Services: svc, Routes: []Route{tc.route}, MCPServers: []MCPServer{mcp(t, tc.mcp)}}.Validate()
			if !tc.overlap {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			fes := FieldErrors(err)
			require.Len(t, fes, 1)
			require.Equal(t, "m", fes[0].Name)
			require.Equal(t, "path", fes[0].Field)
			require.Contains(t, fes[0].Message, `route "`+tc.route.Name+`"`)
			require.Contains(t, fes[0].Message, "/echo")
		})
	}
}

// A server's service must exist; the plugin gets its endpoints as
// serviceURLs, which a client cannot set for it.
func TestMCPServerServiceResolves(t *testing.T) {
	svc := []Service{{Name: "users", Endpoints: []Endpoint{{URL: "http://10.0.0.1:8080/api"}, {URL: "http://10.0.0.2:8080/api"}}}}
	m, err := ParseMCPServer([]byte(`{"server":{"name":"u"},"service":"users","serviceURLs":["http://evil.example"],"tools":[]}`))
	require.NoError(t, err)
	require.Equal(t, "users", m.Service)
	require.NoError(t, Snapshot{Services: svc, MCPServers: []MCPServer{m}}.Validate())
	var doc map[string]any
	require.NoError(t, json.Unmarshal(m.PluginConfig(svc), &doc))
	require.Equal(t, []any{"http://10.0.0.1:8080/api", "http://10.0.0.2:8080/api"}, doc["serviceURLs"])

	err = Snapshot{MCPServers: []MCPServer{m}}.Validate()
	require.Error(t, err)
	fes := FieldErrors(err)
	require.Len(t, fes, 1)
	require.Equal(t, "service", fes[0].Field)
	require.Contains(t, fes[0].Message, `service "users" does not exist`)
}
