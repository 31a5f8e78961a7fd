package admin

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/secret"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

func TestMCPServerSecrets(t *testing.T) {
	def := `{
	  "name": "weather",
	  "server": {
	    "name": "weather",
	    "config": {"apiKey": "sk-config-secret", "appCode": "appcode-secret", "region": "eu", "nested": {"accessToken": "nested-token-secret"}, "empty": ""},
	    "securitySchemes": [{"id": "k", "type": "apiKey", "in": "header", "name": "X-Key", "defaultCredential": "scheme-secret"}],
	    "defaultUpstreamSecurity": {"id": "k", "credential": "upstream-secret"}
	  },
	  "tools": [{
	    "name": "now",
	    "security": {"id": "k", "credential": "tool-secret"},
	    "requestTemplate": {
	      "url": "https://api.example.com/now",
	      "security": {"id": "k", "credential": "template-secret"},
	      "headers": [
	        {"key": "Authorization", "value": "Bearer {{.config.apiKey}}"},
	        {"key": "X-Api-Key", "value": "literal-header-secret"},
	        {"key": "Accept", "value": "application/json"}
	      ]
	    },
	    "args": [{"name": "key", "type": "string", "default": "not-a-secret"}]
	  }]
	}`
	m, err := spec.ParseMCPServer([]byte(def))
	require.NoError(t, err)
	shown := maskMCPServer(m)
	out, err := json.Marshal(shown)
	require.NoError(t, err)
	for _, secret := range []string{"sk-config-secret", "appcode-secret", "nested-token-secret", "scheme-secret",
		"upstream-secret", "tool-secret", "template-secret", "literal-header-secret"} {
		require.NotContains(t, string(out), secret)
	}
	var doc map[string]any
	require.NoError(t, json.Unmarshal(out, &doc))
	server := doc["server"].(map[string]any)
	config := server["config"].(map[string]any)
	require.Equal(t, "eu", config["region"], "other config values are shown")
	require.Equal(t, "", config["empty"], "an empty secret is shown empty: the console tells it from a set one")
	tool := doc["tools"].([]any)[0].(map[string]any)
	headers := tool["requestTemplate"].(map[string]any)["headers"].([]any)
	require.Equal(t, "Bearer {{.config.apiKey}}", headers[0].(map[string]any)["value"], "templates are not secrets")
	require.Equal(t, secret.Mask, headers[1].(map[string]any)["value"])
	require.Equal(t, "not-a-secret", tool["args"].([]any)[0].(map[string]any)["default"], "tool arguments are not secrets")
	require.Equal(t, m.Name, shown.Name)
	require.Equal(t, m.Path, shown.Path)

	// What GET showed, sent back (as the console does), keeps every secret.
	back, err := spec.ParseMCPServer(out)
	require.NoError(t, err)
	kept, err := restoreMCPServer(back, &m)
	require.NoError(t, err)
	require.JSONEq(t, string(m.Definition), string(kept.Definition))

	// Creating a server with a mask is refused.
	_, err = restoreMCPServer(back, nil)
	var ae *secret.Error
	require.True(t, errors.As(err, &ae))
	require.Equal(t, "mcp_server_invalid", ae.Code)
	require.Contains(t, ae.Message, "server.securitySchemes[0].defaultCredential")
	require.Contains(t, ae.Message, "server.config.apiKey")
}

func TestRevisionsAreMaskedByKind(t *testing.T) {
	sr := revisionMasker{secret.NewPlugins(map[string]json.RawMessage{
		"key-auth": json.RawMessage(testSchema),
		"cors":     json.RawMessage(`{"properties":{"allowOrigins":{"type":"array"}}}`),
	})}
	tests := []struct {
		name, kind, in, want string
	}{
		{"plugin instance by its plugin's schema", spec.KindPluginInstance,
			`{"name":"auth","plugin":"key-auth","config":{"consumers":[{"name":"a","key":"the-key-0123456789"}],"keys":["x-api-key"]}}`,
			`{"name":"auth","plugin":"key-auth","config":{"consumers":[{"name":"a","key":"********"}],"keys":["x-api-key"]}}`},
		{"a plugin without secrets", spec.KindPluginInstance,
			`{"name":"c","plugin":"cors","config":{"allowOrigins":["*"],"token":"x"}}`,
			`{"name":"c","plugin":"cors","config":{"allowOrigins":["*"],"token":"x"}}`},
		{"a plugin whose schema is unknown: by property name", spec.KindPluginInstance,
			`{"name":"u","plugin":"gone","config":{"apiKey":"gone-secret","region":"eu"}}`,
			`{"name":"u","plugin":"gone","config":{"apiKey":"********","region":"eu"}}`},
		{"MCP server", spec.KindMCPServer,
			`{"name":"w","server":{"config":{"token":"tok-secret"},"securitySchemes":[{"id":"b","type":"http","scheme":"bearer","defaultCredential":"cred"}]}}`,
			`{"name":"w","server":{"config":{"token":"********"},"securitySchemes":[{"id":"b","type":"http","scheme":"bearer","defaultCredential":"********"}]}}`},
		{"routes have no secrets", spec.KindRoute, `{"name":"r","token":"x"}`, `{"name":"r","token":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.JSONEq(t, tt.want, string(sr.revision(tt.kind, []byte(tt.in))))
		})
	}
	require.Nil(t, sr.revision(spec.KindMCPServer, nil), "a create has no before")
}

func TestToolDryRunsAndResultsHideTheServersSecrets(t *testing.T) {
	def := []byte(`{"server":{"config":{"apiKey":"k/ey+1 \"q\"","region":"eu"},
	  "securitySchemes":[{"id":"basic","type":"http","scheme":"basic","defaultCredential":"user:pa55word"}]},
	  "tools":[{"name":"t","requestTemplate":{"url":"https://x.test/","security":{"id":"basic","credential":"tool-cred-123"}}}]}`)
	m, err := spec.ParseMCPServer(def)
	require.NoError(t, err)
	m.Name = "x"
	forms := mcpSecrets(spec.Snapshot{MCPServers: []spec.MCPServer{m}}, "x")
	require.NotContains(t, forms, "eu", "only secrets are scrubbed")
	require.Nil(t, mcpSecrets(spec.Snapshot{MCPServers: []spec.MCPServer{m}}, "y"))

	req := &pluginapi.RenderedRequest{
		Method:  "GET",
		URL:     "https://x.test/" + url.PathEscape(`k/ey+1 "q"`) + "/eu?key=" + url.QueryEscape(`k/ey+1 "q"`) + "&region=eu",
		Headers: map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("user:pa55word")), "X-Tool": "tool-cred-123", "Accept": "application/json"},
		Body:    `{"key":"k/ey+1 \"q\""}`,
	}
	secret.HideInRendered(forms, req)
	require.Equal(t, "https://x.test/********/eu?key=********&region=eu", req.URL)
	require.Equal(t, map[string]string{"Authorization": "Basic ********", "X-Tool": "********", "Accept": "application/json"}, req.Headers)
	require.Equal(t, `{"key":"********"}`, req.Body)

	res := &pluginapi.ToolResult{
		Content:           json.RawMessage(`[{"type":"text","text":"upstream GET https://x.test/k%2Fey+1%20%22q%22/eu failed: 401 tool-cred-123"}]`),
		StructuredContent: json.RawMessage(`{"echo":"user:pa55word","region":"eu"}`),
	}
	secret.HideInToolResult(forms, res)
	require.JSONEq(t, `[{"type":"text","text":"upstream GET https://x.test/********/eu failed: 401 ********"}]`, string(res.Content))
	require.JSONEq(t, `{"echo":"********","region":"eu"}`, string(res.StructuredContent))

	require.Nil(t, secret.MCPForms([]byte(`{"server":{"config":{"region":"eu"}}}`)))
	same := &pluginapi.RenderedRequest{URL: "https://x.test/a"}
	secret.HideInRendered(nil, same)
	require.Equal(t, "https://x.test/a", same.URL)
}

func TestMCPProxyURLCredentialsAreMasked(t *testing.T) {
	proxyDef := func(u string) []byte {
		b, err := json.Marshal(map[string]any{"name": "docs", "type": "mcp-proxy",
			"server": map[string]any{"name": "docs", "transport": "http", "mcpServerURL": u}})
		require.NoError(t, err)
		return b
	}
	shownURL := func(t *testing.T, def []byte) string {
		t.Helper()
		var doc struct {
			Server struct {
				URL string `json:"mcpServerURL"`
			} `json:"server"`
		}
		require.NoError(t, json.Unmarshal(def, &doc))
		return doc.Server.URL
	}
	tests := []struct {
		name, url, shown string
		secrets          []string
	}{
		{"user and password", "https://svc:s3cret-pa55@mcp.example.com/mcp",
			"https://svc:********@mcp.example.com/mcp", []string{"s3cret-pa55"}},
		{"a token as the user", "https://ghp_tok3n0123456789@mcp.example.com:8443/mcp",
			"https://********@mcp.example.com:8443/mcp", []string{"ghp_tok3n0123456789"}},
		{"secret query parameters", "https://mcp.example.com/mcp?api_key=k-0123&region=eu&token=t-4567&access_token=a-89ab&Key=x-cdef&sig=s-1&v=2#top",
			"https://mcp.example.com/mcp?api_key=********&region=eu&token=********&access_token=********&Key=********&sig=********&v=2#top",
			[]string{"k-0123", "t-4567", "a-89ab", "x-cdef", "s-1"}},
		{"escaped values", "https://u:p%40ss%2Fw0rd@mcp.example.com/mcp?apiKey=a%2Bb%3Dc",
			"https://u:********@mcp.example.com/mcp?apiKey=********", []string{"p%40ss%2Fw0rd", "a%2Bb%3Dc"}},
		{"no credentials", "http://10.0.0.7:3000/mcp?region=eu&token=", "http://10.0.0.7:3000/mcp?region=eu&token=", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := spec.ParseMCPServer(proxyDef(tt.url))
			require.NoError(t, err)
			shown := maskMCPServer(m)
			require.Equal(t, tt.shown, shownURL(t, shown.Definition))
			for _, s := range tt.secrets {
				require.NotContains(t, string(shown.Definition), s)
			}
			rev := (revisionMasker{}).revision(spec.KindMCPServer, m.Definition)
			require.Equal(t, tt.shown, shownURL(t, rev), "revisions are masked the same way")

			// What GET showed, sent back unchanged, keeps the credentials.
			back, err := spec.ParseMCPServer(shown.Definition)
			require.NoError(t, err)
			kept, err := restoreMCPServer(back, &m)
			require.NoError(t, err)
			require.Equal(t, tt.url, shownURL(t, kept.Definition))
		})
	}

	stored, err := spec.ParseMCPServer(proxyDef("https://svc:s3cret-pa55@mcp.example.com/mcp?api_key=k-0123&api_key=k-4567"))
	require.NoError(t, err)
	restore := func(u string) (string, error) {
		in, err := spec.ParseMCPServer(proxyDef(u))
		require.NoError(t, err)
		out, err := restoreMCPServer(in, &stored)
		if err != nil {
			return "", err
		}
		return shownURL(t, out.Definition), nil
	}
	t.Run("another path on the same host keeps them, each repeated parameter its own", func(t *testing.T) {
		got, err := restore("https://svc:********@MCP.example.com/v2/mcp?x=1&api_key=********&api_key=********")
		require.NoError(t, err)
		require.Equal(t, "https://svc:s3cret-pa55@MCP.example.com/v2/mcp?x=1&api_key=k-0123&api_key=k-4567", got)
	})
	t.Run("a new value replaces the stored one", func(t *testing.T) {
		got, err := restore("https://svc:n3w-pa55@mcp.example.com/mcp?api_key=********&api_key=k-new")
		require.NoError(t, err)
		require.Equal(t, "https://svc:n3w-pa55@mcp.example.com/mcp?api_key=k-0123&api_key=k-new", got)
	})
	t.Run("another host does not get them", func(t *testing.T) {
		_, err := restore("https://svc:********@evil.example.net/mcp?api_key=********")
		var ae *secret.Error
		require.True(t, errors.As(err, &ae), "%v", err)
		require.Equal(t, "mcp_server_invalid", ae.Code)
		require.Contains(t, ae.Message, "server.mcpServerURL (password)")
		require.Contains(t, ae.Message, "server.mcpServerURL (query parameter api_key)")
		require.Len(t, ae.Details, 2)
		require.Equal(t, "server.mcpServerURL", ae.Details[0].Field)
		require.Contains(t, ae.Details[0].Message, "scheme and host")
		for _, s := range []string{"s3cret-pa55", "k-0123"} {
			require.NotContains(t, ae.Message, s)
		}
	})
	t.Run("a new server with the mask is refused", func(t *testing.T) {
		in, err := spec.ParseMCPServer(proxyDef("https://********@mcp.example.com/mcp"))
		require.NoError(t, err)
		_, err = restoreMCPServer(in, nil)
		require.ErrorContains(t, err, "server.mcpServerURL (user)")
	})
	t.Run("tool results and dry runs hide them", func(t *testing.T) {
		forms := mcpSecrets(spec.Snapshot{MCPServers: []spec.MCPServer{stored}}, "docs")
		res := &pluginapi.ToolResult{Content: json.RawMessage(`[{"type":"text","text":"upstream https://svc:s3cret-pa55@mcp.example.com/mcp?api_key=k-0123 said 401 (Basic ` +
			base64.StdEncoding.EncodeToString([]byte("svc:s3cret-pa55")) + `)"}]`)}
		secret.HideInToolResult(forms, res)
		require.JSONEq(t, `[{"type":"text","text":"upstream https://********@mcp.example.com/mcp?api_key=******** said 401 (Basic ********)"}]`, string(res.Content))
	})
}

// A REST tool's URL with a literal key in its query is a secret like the
// proxy URL's; a template in the same place is not, and stays readable.
func TestToolURLCredentialsAreMasked(t *testing.T) {
	const raw = "https://api.example.com/v1/items/{{.args.id}}?api_key=sk-literal-0123&q={{.args.q}}&token={{.config.token}}"
	def, err := json.Marshal(map[string]any{"server": map[string]any{"name": "items"},
		"tools": []any{map[string]any{"name": "get_item", "description": "Get an item",
			"args":            []any{map[string]any{"name": "id", "type": "string"}, map[string]any{"name": "q", "type": "string"}},
			"requestTemplate": map[string]any{"url": raw, "method": "GET"}}}})
	require.NoError(t, err)
	m, err := spec.ParseMCPServer(def)
	require.NoError(t, err)
	toolURL := func(def []byte) string {
		var doc struct {
			Tools []struct {
				RequestTemplate struct{ URL string } `json:"requestTemplate"`
			} `json:"tools"`
		}
		require.NoError(t, json.Unmarshal(def, &doc))
		return doc.Tools[0].RequestTemplate.URL
	}

	shown := maskMCPServer(m)
	require.Equal(t, "https://api.example.com/v1/items/{{.args.id}}?api_key=********&q={{.args.q}}&token={{.config.token}}", toolURL(shown.Definition))
	require.NotContains(t, string(shown.Definition), "sk-literal-0123")
	require.Contains(t, secret.MCPForms(m.Definition), "sk-literal-0123", "dry runs and results hide the literal key")
	require.NotContains(t, secret.MCPForms(m.Definition), "{{.config.token}}", "a template is not a secret")

	back, err := spec.ParseMCPServer(shown.Definition)
	require.NoError(t, err)
	kept, err := restoreMCPServer(back, &m)
	require.NoError(t, err)
	require.Equal(t, raw, toolURL(kept.Definition), "what GET showed, sent back, keeps the key")
}

// testSchema marks consumers[].key writeOnly (see package secret's tests
// for the rest of the schema rules).
const testSchema = `{"type":"object","properties":{"consumers":{"type":"array","items":{"type":"object","properties":{
  "name":{"type":"string"},"key":{"type":"string","writeOnly":true}}}},"keys":{"type":"array","items":{"type":"string"}}}}`

// revisionMasker masks revisions as GET /api/v1/revisions does.
type revisionMasker struct{ plugins *secret.Plugins }

func (r revisionMasker) revision(kind string, data []byte) []byte {
	k, _ := spec.KindOf(spec.Kinds, kind)
	return k.MaskStored(data, r.plugins)
}

func maskMCPServer(m spec.MCPServer) spec.MCPServer { return m.MaskSecrets(nil).(spec.MCPServer) }

// restoreMCPServer keeps the stored secrets by the rule alone: a URL's
// credentials stay with its scheme and host.
func restoreMCPServer(in spec.MCPServer, stored *spec.MCPServer) (spec.MCPServer, error) {
	var was []byte
	if stored != nil {
		was = stored.Definition
	}
	def, err := secret.RestoreJSON("mcp_server", in.Definition, was, secret.MCPServerRule, "")
	in.Definition = def
	return in, err
}

// keepMCPSecrets is what a write does: the rule, and the MCP server's
// destinations unchanged (spec.MCPServer.KeepSecrets).
func keepMCPSecrets(in spec.MCPServer, stored *spec.MCPServer) (spec.MCPServer, error) {
	var was spec.Object
	if stored != nil {
		was = *stored
	}
	out, err := in.KeepSecrets(was, nil)
	return out.(spec.MCPServer), err
}
