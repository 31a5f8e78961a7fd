package restmcp

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fieldErrors returns the *FieldError values joined in err.
func fieldErrors(t *testing.T, err error) []*FieldError {
	t.Helper()
	require.Error(t, err)
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var fe *FieldError
		require.True(t, errors.As(e, &fe), "every problem is a *FieldError, got %T: %v", e, e)
		out = append(out, fe)
	}
	walk(err)
	return out
}

func findField(fes []*FieldError, field string) *FieldError {
	for _, fe := range fes {
		if fe.Field == field {
			return fe
		}
	}
	return nil
}

func compileYAML(t *testing.T, src string) (*Server, error) {
	t.Helper()
	def, err := Parse([]byte(src), "application/yaml")
	if err != nil {
		return nil, err
	}
	return Compile(def)
}

func TestBadTemplateNamesToolAndLine(t *testing.T) {
	src := `
server:
  name: bad
tools:
- name: fine
  requestTemplate:
    url: https://example.com/fine
- name: broken-body
  requestTemplate:
    url: https://example.com/x
    method: POST
    body: |
      {
        "a": 1,
        "b": "{{ .args.b }}",
        "c": {{ .args.c | nosuchfunc }}
      }
- name: broken-header
  requestTemplate:
    url: https://example.com/x
    headers:
    - key: X-One
      value: ok
    - key: X-Two
      value: "{{ if .args.a }}"
- name: broken-response
  requestTemplate:
    url: https://example.com/x
  responseTemplate:
    body: "line one\n{{ .x }\n"
  errorResponseTemplate: "{{ end }}"
`
	_, err := compileYAML(t, src)
	fes := fieldErrors(t, err)
	require.Len(t, fes, 4, "every broken template is reported at once: %v", err)

	body := findField(fes, "tools[1].requestTemplate.body")
	require.NotNil(t, body, "%v", err)
	require.Equal(t, "broken-body", body.Tool)
	require.Contains(t, body.Message, `tool "broken-body"`)
	require.Contains(t, body.Message, "template: line 4:")
	require.Contains(t, body.Message, `"nosuchfunc" not defined`)
	require.Equal(t, "tools[1].requestTemplate.body: "+body.Message, body.Error())

	hdr := findField(fes, "tools[2].requestTemplate.headers[1].value")
	require.NotNil(t, hdr, "%v", err)
	require.Contains(t, hdr.Message, `tool "broken-header"`)
	require.Contains(t, hdr.Message, "line 1")

	resp := findField(fes, "tools[3].responseTemplate.body")
	require.NotNil(t, resp, "%v", err)
	require.Contains(t, resp.Message, "line 2")
	require.NotNil(t, findField(fes, "tools[3].errorResponseTemplate"), "%v", err)
}

func TestSSEPathMustEndInSSE(t *testing.T) {
	def, err := Parse([]byte(`{"server":{"name":"w"},"ssePath":"/mcp-servers/w/events"}`), "application/json")
	require.NoError(t, err)
	_, err = Compile(def)
	fes := fieldErrors(t, err)
	fe := findField(fes, "ssePath")
	require.NotNil(t, fe, "%v", err)
	require.Contains(t, fe.Message, "must end in /sse")
	require.Contains(t, fe.Message, `"/mcp-servers/w/sse"`, "the message suggests a valid path")

	def, err = Parse([]byte(`{"server":{"name":"w"},"path":"/tools/w","ssePath":"/tools/w/sse"}`), "")
	require.NoError(t, err)
	_, err = Compile(def)
	require.NoError(t, err)
}

func TestParseDefaults(t *testing.T) {
	def, err := Parse([]byte("server:\n  name: weather\n"), "")
	require.NoError(t, err)
	require.Equal(t, "weather", def.Name)
	require.Equal(t, TypeREST, def.Type)
	require.Equal(t, "/mcp-servers/weather", def.Path)
	require.Equal(t, "/mcp-servers/weather/sse", def.SSEPath)
	require.Equal(t, "/mcp-servers/weather/message", def.MessagePath())
	require.True(t, def.IsEnabled())

	def, err = Parse([]byte(`{"name":"w2","path":"/x","enabled":false,"version":7,"domains":["api.example.com"],"server":{"name":"weather"}}`), "application/json")
	require.NoError(t, err)
	require.Equal(t, "w2", def.Name)
	require.Equal(t, "/x", def.Path)
	require.Equal(t, "/x/sse", def.SSEPath)
	require.False(t, def.IsEnabled())
	require.Equal(t, int64(7), def.Version)
	_, err = Compile(def)
	require.NoError(t, err)
}

func TestParseRefusesUnknownFields(t *testing.T) {
	t.Run("yaml", func(t *testing.T) {
		_, err := Parse([]byte(`server:
  name: w
  nmae: typo
tools:
- name: a
  descripton: typo
  args:
  - name: x
    required: "yes"
version: 3
`), "application/yaml")
		fes := fieldErrors(t, err)
		require.Len(t, fes, 2, "%v", err)
		// Unknown fields of the server and tools load with a warning (Higress ignores them).
		def, err2 := Parse([]byte("server: {name: w, nmae: typo}\ntools:\n- {name: a, descripton: typo, requestTemplate: {url: \"https://x.example/\"}}\n"), "application/yaml")
		require.NoError(t, err2)
		s, err2 := Compile(def)
		require.NoError(t, err2)
		ws := s.Warnings()
		require.Len(t, ws, 2, "%v", ws)
		fe := findField(warningPtrs(ws), "tools[0].descripton")
		require.NotNil(t, fe, "%v", ws)
		require.Contains(t, fe.Message, "unknown field (line 3)")
		require.Contains(t, fe.Message, "description", "the message lists the known fields")
		require.NotNil(t, findField(warningPtrs(ws), "server.nmae"))
		req := findField(fes, "tools[0].args[0].required")
		require.NotNil(t, req, "%v", err)
		require.Contains(t, req.Message, "want a boolean")
		require.NotNil(t, findField(fes, "version"), "version is a JSON-only field")
	})
	t.Run("json", func(t *testing.T) {
		_, err := Parse([]byte(`{"server":{"name":"w"},"tools":[{"name":"a","requestTemplate":{"url":"https://x","argsToJSONBody":true}}],"extra":1}`), "application/json")
		fes := fieldErrors(t, err)
		require.Len(t, fes, 2, "%v", err)
		require.NotNil(t, findField(fes, "extra"))
		fe := findField(fes, "tools[0].requestTemplate.argsToJSONBody")
		require.NotNil(t, fe, "%v", err)
		require.Contains(t, fe.Message, "argsToJsonBody", "the message lists the right spelling")
	})
	t.Run("syntax", func(t *testing.T) {
		_, err := Parse([]byte(`{"server": {`), "application/json")
		require.ErrorContains(t, err, "invalid JSON")
		_, err = Parse([]byte("server: [\n"), "application/yaml")
		require.ErrorContains(t, err, "invalid YAML")
		_, err = Parse([]byte(""), "")
		require.ErrorContains(t, err, "empty")
	})
}

func TestCompileReportsEveryProblem(t *testing.T) {
	src := `
name: "bad name"
server:
  name: s
  securitySchemes:
  - {id: k, type: apiKey, in: body, name: X}
  - {id: k, type: oauth2}
tools:
- name: a
  args:
  - {name: x, position: somewhere}
  requestTemplate:
    url: https://example.com
    method: "get me"
    argsToJsonBody: true
    argsToUrlParam: true
    security: {id: missing}
- name: a
  requestTemplate: {url: https://example.com}
- name: c
  outputSchema: {type: array}
  responseTemplate: {body: x, prependBody: y}
- name: "has space"
  requestTemplate: {url: "https://example.com"}
allowTools: [a, nope]
auth: {type: jwt}
rateLimit: {toolCallsPerMinute: 0}
`
	_, err := compileYAML(t, src)
	fes := fieldErrors(t, err)
	for _, field := range []string{
		"name",
		"server.securitySchemes[0].in",
		"server.securitySchemes[1].id",
		"server.securitySchemes[1].type",
		"tools[0].args[0].position",
		"tools[0].requestTemplate.method",
		"tools[0].requestTemplate",
		"tools[0].requestTemplate.security.id",
		"tools[1].name",
		"tools[2].outputSchema.type",
		"tools[2].responseTemplate",
		"tools[3].name",
		"allowTools[1]",
		"auth.jwksURL",
		"auth.issuer",
		"rateLimit.toolCallsPerMinute",
	} {
		require.NotNil(t, findField(fes, field), "expected a problem at %s in:\n%v", field, err)
	}
	require.Contains(t, findField(fes, "tools[1].name").Message, "defined twice")
	require.Contains(t, findField(fes, "tools[0].requestTemplate.security.id").Message, `no security scheme has id "missing"`)
}

func TestAllowToolsNarrowsTheList(t *testing.T) {
	s, err := compileYAML(t, `
server: {name: s}
tools:
- {name: a, requestTemplate: {url: "https://example.com/a"}}
- {name: b, requestTemplate: {url: "https://example.com/b"}}
- {name: c, requestTemplate: {url: "https://example.com/c"}}
allowTools: [c, a]
`)
	require.NoError(t, err)
	var names []string
	for _, ts := range s.Tools() {
		names = append(names, ts.Name)
	}
	require.Equal(t, []string{"a", "c"}, names, "definition order, allowed tools only")
	_, err = s.Render("b", nil, nil)
	require.ErrorIs(t, err, ErrUnknownTool)
	require.Contains(t, err.Error(), "has tools a, c")
	_, ok := s.Tool("b")
	require.False(t, ok)
	r, err := s.Render("c", nil, nil)
	require.NoError(t, err)
	require.Equal(t, "https://example.com/c", r.URL)
}

func TestMCPProxyDefinition(t *testing.T) {
	s, err := compileYAML(t, `
server:
  name: upstream
  type: mcp-proxy
  mcpServerURL: http://127.0.0.1:9/mcp
tools:
- name: echo
  description: Echo, as described by the gateway
allowTools: [echo]
`)
	require.NoError(t, err)
	require.Equal(t, TypeMCPProxy, s.Definition().Type)
	require.Equal(t, "http", s.Definition().Server.Transport)
	require.True(t, s.AllowsTool("echo"))
	require.False(t, s.AllowsTool("other"))
	require.Equal(t, "Echo, as described by the gateway", s.Tools()[0].Description)
	_, err = s.Render("echo", nil, nil)
	require.ErrorIs(t, err, ErrNotREST)

	_, err = compileYAML(t, "type: mcp-proxy\nserver: {name: p, transport: websocket}\n")
	fes := fieldErrors(t, err)
	require.NotNil(t, findField(fes, "server.transport"))
	require.NotNil(t, findField(fes, "server.mcpServerURL"))
}

func TestRenderArgumentErrors(t *testing.T) {
	s, err := compileYAML(t, `
server: {name: s}
tools:
- name: t
  args:
  - {name: a, required: true}
  - {name: b, required: true, default: x}
  requestTemplate: {url: "https://example.com/{{.args.a}}"}
`)
	require.NoError(t, err)
	_, err = s.Render("t", map[string]any{}, nil)
	require.ErrorIs(t, err, ErrInvalidArguments)
	require.Contains(t, err.Error(), `"a"`)
	require.NotContains(t, err.Error(), `"b"`, "a default satisfies required")
	r, err := s.Render("t", map[string]any{"a": "v", "undeclared": "dropped"}, nil)
	require.NoError(t, err)
	require.Equal(t, "https://example.com/v", r.URL)
	require.False(t, strings.Contains(r.URL, "dropped"))
}

func warningPtrs(ws []FieldError) []*FieldError {
	out := make([]*FieldError, len(ws))
	for i := range ws {
		out[i] = &ws[i]
	}
	return out
}

// What Higress runs loads: an argument declared twice (the last wins),
// types spelled as in other languages, unknown server and tool fields;
// each with a warning naming the field.
func TestHigressLeniencyLoadsWithWarnings(t *testing.T) {
	s, err := compileYAML(t, `
server: {name: lenient, description: "a server description"}
tools:
- name: get
  summary: ignored
  args:
  - {name: n, type: int, position: query}
  - {name: f, type: float}
  - {name: b, type: bool}
  - {name: s, type: str, example: "x"}
  - {name: l, type: list, items: {type: int}}
  - {name: n, type: string, required: true, position: query}
  requestTemplate: {url: "https://example.com/x"}
`)
	require.NoError(t, err)
	var schema struct {
		Properties map[string]struct {
			Type  string         `json:"type"`
			Items map[string]any `json:"items"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	spec, ok := s.Tool("get")
	require.True(t, ok)
	require.NoError(t, json.Unmarshal(spec.InputSchema, &schema))
	require.Equal(t, "string", schema.Properties["n"].Type, "the later declaration of n wins")
	require.Equal(t, []string{"n"}, schema.Required)
	require.Equal(t, "number", schema.Properties["f"].Type)
	require.Equal(t, "boolean", schema.Properties["b"].Type)
	require.Equal(t, "string", schema.Properties["s"].Type)
	require.Equal(t, "array", schema.Properties["l"].Type)
	require.Equal(t, "integer", schema.Properties["l"].Items["type"])
	_, err = compileInputSchema(spec.InputSchema)
	require.NoError(t, err, "the input schema is a valid JSON Schema")
	ws := warningPtrs(s.Warnings())
	for _, field := range []string{"server.description", "tools[0].summary", "tools[0].args[3].example", "tools[0].args[0].name", "tools[0].args[0].type", "tools[0].args[1].type", "tools[0].args[2].type"} {
		require.NotNil(t, findField(ws, field), "a warning names %s: %v", field, s.Warnings())
	}
	r, err := s.Render("get", map[string]any{"n": "abc", "b": "true"}, nil)
	require.NoError(t, err)
	require.Equal(t, "https://example.com/x?n=abc", r.URL)
}
