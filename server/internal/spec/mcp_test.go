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
