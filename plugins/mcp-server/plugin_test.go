package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/restmcp"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

func TestPluginContract(t *testing.T) {
	info := Plugin.Info()
	require.Equal(t, "mcp-server", info.Name)
	require.Equal(t, pluginapi.ABIVersion, info.ABIVersion)
	var schema map[string]any
	require.NoError(t, json.Unmarshal(Plugin.ConfigSchema(), &schema), "the config schema is JSON")
	require.Equal(t, "object", schema["type"])
}

func TestNewReportsEveryProblemAndStartsNothing(t *testing.T) {
	host := newTestHost(t, "gw-a", nil)
	_, err := Plugin.New(context.Background(), json.RawMessage(`{
		"server": {"name": "bad"},
		"ssePath": "/mcp-servers/bad/events",
		"tools": [
			{"name": "t1", "requestTemplate": {"url": "http://x/{{.args.a", "method": "GET"}},
			{"name": "t2", "requestTemplate": {"url": "http://x", "method": "GET"}, "responseTemplate": {"body": "{{if}}"}}
		]
	}`), host)
	require.Error(t, err)
	msg := err.Error()
	require.Contains(t, msg, "ssePath")
	require.Contains(t, msg, "t1")
	require.Contains(t, msg, "t2")
	var fe *restmcp.FieldError
	require.True(t, errors.As(err, &fe), "problems are field errors: %v", err)

	_, err = Plugin.New(context.Background(), json.RawMessage(`{"server": {"name": "x"}, "unknownField": 1}`), host)
	require.ErrorContains(t, err, "unknownField")
}

// Every REST-to-MCP definition published with Higress loads unchanged and
// lists its tools over MCP.
func TestEveryHigressDefinitionServesToolsList(t *testing.T) {
	files, err := filepath.Glob("restmcp/testdata/higress/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			def, err := restmcp.Parse(data, "application/yaml")
			require.NoError(t, err)
			for _, tool := range def.Tools {
				if strings.HasPrefix(tool.RequestTemplate.URL, "/") {
					// Relative URLs go to the server's service, whose
					// endpoints the host hands over as serviceURLs.
					def.ServiceURLs = []string{"https://service.example"}
				}
			}
			want, err := restmcp.Compile(def)
			require.NoError(t, err)
			// The admin API hands the plugin JSON.
			js, err := json.Marshal(def)
			require.NoError(t, err)
			host := newTestHost(t, "gw-a", nil)
			inst, err := Plugin.New(context.Background(), js, host)
			require.NoError(t, err)
			t.Cleanup(func() { _ = inst.Close() })
			srv := httptest.NewServer(inst.Handler(http.NotFoundHandler()))
			t.Cleanup(srv.Close)

			cs := connect(t, srv.URL+def.Path, nil, nil)
			lt, err := cs.ListTools(context.Background(), nil)
			require.NoError(t, err)
			require.Len(t, lt.Tools, len(want.Tools()))
			byName := map[string]json.RawMessage{}
			for _, spec := range want.Tools() {
				byName[spec.Name] = spec.InputSchema
			}
			for _, tl := range lt.Tools {
				got, err := json.Marshal(tl.InputSchema)
				require.NoError(t, err)
				require.JSONEq(t, string(byName[tl.Name]), string(got), "input schema of %s", tl.Name)
			}
			tools, err := inst.(pluginapi.ToolProvider).Tools(context.Background())
			require.NoError(t, err)
			require.Len(t, tools, len(want.Tools()))
			for _, tl := range want.Tools() {
				r, err := inst.(pluginapi.ToolProvider).RenderTool(context.Background(), tl.Name, sampleArgs(tl.InputSchema))
				if err != nil {
					require.True(t, errors.Is(err, pluginapi.ErrNotRenderable) || errors.Is(err, pluginapi.ErrInvalidArguments), "render %s: %v", tl.Name, err)
					continue
				}
				require.NotEmpty(t, r.Method)
				require.True(t, strings.HasPrefix(r.URL, "http"), r.URL)
			}
		})
	}
}

// sampleArgs gives every required property of a schema a plausible value.
func sampleArgs(schema json.RawMessage) map[string]any {
	var s struct {
		Properties map[string]struct {
			Type string `json:"type"`
			Enum []any  `json:"enum"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	_ = json.Unmarshal(schema, &s)
	args := map[string]any{}
	for _, name := range s.Required {
		p := s.Properties[name]
		switch {
		case len(p.Enum) > 0:
			args[name] = p.Enum[0]
		case p.Type == "integer" || p.Type == "number":
			args[name] = 1
		case p.Type == "boolean":
			args[name] = true
		case p.Type == "array":
			args[name] = []any{"a"}
		case p.Type == "object":
			args[name] = map[string]any{}
		default:
			args[name] = "sample"
		}
	}
	return args
}

func TestToolProviderRendersAndCalls(t *testing.T) {
	backend := startBackend(t)
	g := startGateway(t, newTestHost(t, "gw-a", nil), restDefinition("weather", backend.srv.URL, ""), testOptions())
	ctx := context.Background()
	r, err := g.inst.RenderTool(ctx, "get_weather", map[string]any{"city": "Bern"})
	require.NoError(t, err)
	require.Equal(t, "GET", r.Method)
	require.Equal(t, backend.srv.URL+"/weather?city=Bern&units=metric", r.URL)
	require.Equal(t, "secret", r.Headers["X-Api-Key"])

	_, err = g.inst.RenderTool(ctx, "echo", map[string]any{"n": 1})
	require.ErrorIs(t, err, pluginapi.ErrNotRenderable)
	_, err = g.inst.RenderTool(ctx, "secret_tool", nil)
	require.ErrorIs(t, err, pluginapi.ErrUnknownTool)
	_, err = g.inst.RenderTool(ctx, "get_weather", map[string]any{})
	require.ErrorIs(t, err, pluginapi.ErrInvalidArguments)

	res, err := g.inst.CallTool(ctx, "get_weather", map[string]any{"city": "Bern"})
	require.NoError(t, err)
	require.False(t, res.IsError)
	require.JSONEq(t, `[{"type":"text","text":"Bern: 21.5 C"}]`, string(res.Content))
}

func TestDisabledServerAnswers503(t *testing.T) {
	backend := startBackend(t)
	g := startGateway(t, newTestHost(t, "gw-a", nil), restDefinition("weather", backend.srv.URL, `, "enabled": false`), testOptions())
	status, body := rawPOST(t, g.url("/mcp-servers/weather"), "", initializeBody)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Contains(t, body, "disabled")
}
