package admin

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/secret"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

// A masked definition sent back keeps its stored secrets only while every
// URL that can receive them keeps its host.
func TestMaskedSecretsDoNotFollowAChangedDestination(t *testing.T) {
	stored, err := spec.ParseMCPServer([]byte(`{
	  "name": "w",
	  "server": {
	    "name": "w",
	    "config": {"apiKey": "cfg-secret", "base": "https://api.example.com"},
	    "securitySchemes": [{"id": "b", "type": "http", "scheme": "bearer", "defaultCredential": "bearer-secret"}],
	    "defaultUpstreamSecurity": {"id": "b"}
	  },
	  "tools": [
	    {"name": "a", "requestTemplate": {"url": "https://api.example.com/a",
	      "headers": [{"key": "X-Api-Key", "value": "header-secret"}]}},
	    {"name": "b", "requestTemplate": {"url": "{{.config.base}}/b"}}
	  ]
	}`))
	require.NoError(t, err)
	shown, err := json.Marshal(maskMCPServer(stored))
	require.NoError(t, err)
	edit := func(t *testing.T, from, to string) spec.MCPServer {
		t.Helper()
		m, err := spec.ParseMCPServer([]byte(strings.Replace(string(shown), from, to, 1)))
		require.NoError(t, err)
		return m
	}
	cases := []struct {
		name    string
		from    string
		to      string
		refused string // the field named, "" when kept
	}{
		{"unchanged", "", "", ""},
		{"same host, other path", "https://api.example.com/a", "https://API.example.com/v2/a", ""},
		{"tool URL to another host", "https://api.example.com/a", "https://evil.example/a", "tools[0].requestTemplate.url"},
		{"tool URL to another scheme", "https://api.example.com/a", "http://api.example.com/a", "tools[0].requestTemplate.url"},
		{"new tool on another host", `"tools":[`, `"tools":[{"name":"x","requestTemplate":{"url":"https://evil.example/x"}},`, "tools[0].requestTemplate.url"},
		{"config base moved", `"base":"https://api.example.com"`, `"base":"https://evil.example"`, "server.config"},
		{"service added", `"name":"w","path"`, `"name":"w","service":"elsewhere","path"`, "service"},
		{"Host header added", `"headers":[`, `"headers":[{"key":"Host","value":"evil.example"},`, "tools[0].requestTemplate.headers[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := edit(t, tc.from, tc.to)
			out, err := keepMCPSecrets(in, &stored)
			if tc.refused == "" {
				require.NoError(t, err)
				require.Contains(t, string(out.Definition), "bearer-secret")
				return
			}
			var ae *secret.Error
			require.True(t, errors.As(err, &ae), "%v", err)
			require.Equal(t, "mcp_server_invalid", ae.Code)
			require.Contains(t, ae.Message, tc.refused)
			require.NotContains(t, string(out.Definition), "bearer-secret")
		})
	}
	// With the secrets sent again, the move is the client's to make.
	in := edit(t, "https://api.example.com/a", "https://evil.example/a")
	plain := strings.ReplaceAll(string(in.Definition), secret.Mask, "new-secret")
	m, err := spec.ParseMCPServer([]byte(plain))
	require.NoError(t, err)
	_, err = keepMCPSecrets(m, &stored)
	require.NoError(t, err)
}
