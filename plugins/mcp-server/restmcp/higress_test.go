package restmcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

func higressFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/higress/*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 12, "every Higress definition of the shared test data is copied here")
	return files
}

func compileFile(t *testing.T, file, contentType string) *Server {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	def, err := Parse(data, contentType)
	require.NoError(t, err, "parse %s", file)
	for _, tool := range def.Tools {
		if strings.HasPrefix(tool.RequestTemplate.URL, "/") {
			// Relative URLs go to the server's service: the host hands
			// its endpoints over as serviceURLs.
			def.ServiceURLs = []string{"https://service.example/base"}
		}
	}
	s, err := Compile(def)
	require.NoError(t, err, "compile %s", file)
	return s
}

// rawDefinition is the YAML read without this package, to check the
// tool listing against.
type rawDefinition struct {
	Server struct {
		Name string `yaml:"name"`
	} `yaml:"server"`
	Tools []struct {
		Name        string `yaml:"name"`
		Description string `yaml:"description"`
		Args        []struct {
			Name        string `yaml:"name"`
			Description string `yaml:"description"`
			Type        string `yaml:"type"`
			Required    bool   `yaml:"required"`
			Default     any    `yaml:"default"`
			Enum        []any  `yaml:"enum"`
			Items       any    `yaml:"items"`
		} `yaml:"args"`
	} `yaml:"tools"`
}

func TestHigressDefinitionsListTools(t *testing.T) {
	for _, file := range higressFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			var raw rawDefinition
			require.NoError(t, yaml.Unmarshal(data, &raw))

			s := compileFile(t, file, "application/yaml")
			require.Equal(t, raw.Server.Name, s.Name(), "the server is named after server.name")
			require.Equal(t, "/mcp-servers/"+raw.Server.Name, s.Definition().Path)
			require.Equal(t, "/mcp-servers/"+raw.Server.Name+"/sse", s.Definition().SSEPath)
			tools := s.Tools()
			require.Len(t, tools, len(raw.Tools), "every tool is listed")
			for i, rt := range raw.Tools {
				spec := tools[i]
				require.Equal(t, rt.Name, spec.Name)
				require.Equal(t, rt.Description, spec.Description)
				var schema struct {
					Type       string                    `json:"type"`
					Properties map[string]map[string]any `json:"properties"`
					Required   []string                  `json:"required"`
				}
				require.NoError(t, json.Unmarshal(spec.InputSchema, &schema), "%s: input schema is JSON", rt.Name)
				require.Equal(t, "object", schema.Type)
				_, err := compileInputSchema(spec.InputSchema)
				require.NoError(t, err, "%s: the input schema is a valid JSON Schema", rt.Name)
				// As Higress: an argument declared twice is its last declaration.
				args := rt.Args[:0:0]
				for j, a := range rt.Args {
					last := true
					for _, b := range rt.Args[j+1:] {
						last = last && b.Name != a.Name
					}
					if last {
						args = append(args, a)
					}
				}
				require.Len(t, schema.Properties, len(args), "%s: one property per argument", rt.Name)
				var required []string
				for _, a := range args {
					p, ok := schema.Properties[a.Name]
					require.True(t, ok, "%s: property %s", rt.Name, a.Name)
					wantType := a.Type
					if wantType == "" {
						wantType = "string"
					}
					if alias, ok := typeAliases[wantType]; ok {
						wantType = alias
					}
					require.Equal(t, wantType, p["type"], "%s.%s type", rt.Name, a.Name)
					if a.Description != "" {
						require.Equal(t, a.Description, p["description"], "%s.%s description", rt.Name, a.Name)
					}
					if a.Default != nil {
						require.JSONEq(t, mustJSON(t, a.Default), mustJSON(t, p["default"]), "%s.%s default", rt.Name, a.Name)
					}
					if len(a.Enum) > 0 {
						require.JSONEq(t, mustJSON(t, a.Enum), mustJSON(t, p["enum"]), "%s.%s enum", rt.Name, a.Name)
					}
					if a.Items != nil {
						require.JSONEq(t, mustJSON(t, a.Items), mustJSON(t, p["items"]), "%s.%s items", rt.Name, a.Name)
					}
					if a.Required {
						required = append(required, a.Name)
					}
				}
				require.Equal(t, required, schema.Required, "%s: required arguments", rt.Name)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestHigressDefinitionsAsJSON checks the JSON form of every definition
// decodes to the same tools as the YAML form, and that content sniffing
// picks YAML without a content type.
func TestHigressDefinitionsAsJSON(t *testing.T) {
	for _, file := range higressFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			var doc yaml.Node
			require.NoError(t, yaml.Unmarshal(data, &doc))
			generic, err := yamlAny(&doc)
			require.NoError(t, err)
			asJSON, err := json.Marshal(generic)
			require.NoError(t, err)

			fromYAML := compileFile(t, file, "")
			def, err := Parse(asJSON, "application/json")
			require.NoError(t, err)
			fromJSON, err := Compile(def)
			require.NoError(t, err)
			require.Equal(t, fromYAML.Tools(), fromJSON.Tools())

			// A stored definition (encoded Definition) reads back the same.
			stored, err := json.Marshal(fromYAML.Definition())
			require.NoError(t, err)
			again, err := Parse(stored, "application/json")
			require.NoError(t, err)
			require.JSONEq(t, string(stored), mustJSON(t, again))
			reloaded, err := Compile(again)
			require.NoError(t, err)
			require.Equal(t, fromYAML.Tools(), reloaded.Tools())
		})
	}
}

// sampleArgs makes an argument value for each declared argument that
// fits the argument's schema (type, enum, items, required properties,
// minimum and maximum), as a client that reads the input schema sends.
func sampleArgs(args []Arg) map[string]any {
	out := map[string]any{}
	for _, a := range args {
		raw, err := argSchema(a)
		if err != nil {
			continue
		}
		var sch map[string]any
		if json.Unmarshal(raw, &sch) != nil {
			continue
		}
		out[a.Name] = sampleValue(sch, a.Name)
	}
	return out
}

func sampleValue(sch map[string]any, name string) any {
	if enum, ok := sch["enum"].([]any); ok && len(enum) > 0 {
		return enum[0]
	}
	if c, ok := sch["const"]; ok {
		return c
	}
	if d, ok := sch["default"]; ok && sch["pattern"] != nil {
		return d
	}
	for _, k := range []string{"oneOf", "anyOf"} {
		if alts, ok := sch[k].([]any); ok && len(alts) > 0 {
			if first, ok := alts[0].(map[string]any); ok {
				return sampleValue(first, name)
			}
		}
	}
	typ, _ := sch["type"].(string)
	if list, ok := sch["type"].([]any); ok && len(list) > 0 {
		typ, _ = list[0].(string)
	}
	switch typ {
	case "integer", "number":
		v := 7.0 // as a JSON decoder delivers it
		if typ == "number" {
			v = 2.5
		}
		if m, ok := sch["minimum"].(float64); ok && v < m {
			v = m
		}
		if m, ok := sch["maximum"].(float64); ok && v > m {
			v = m
		}
		return v
	case "boolean":
		return true
	case "array":
		items, _ := sch["items"].(map[string]any)
		if items == nil {
			return []any{"sample-" + name}
		}
		return []any{sampleValue(items, name)}
	case "object":
		props, _ := sch["properties"].(map[string]any)
		if len(props) == 0 {
			return map[string]any{"key": "value"}
		}
		obj := map[string]any{}
		for k, p := range props {
			if pm, ok := p.(map[string]any); ok {
				obj[k] = sampleValue(pm, k)
			}
		}
		return obj
	}
	return "sample-" + name
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

type goldenRender struct {
	Arguments map[string]any   `json:"arguments"`
	Request   *RenderedRequest `json:"request,omitempty"`
	Error     string           `json:"error,omitempty"`
}

type goldenTool struct {
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	InputSchema  json.RawMessage `json:"inputSchema"`
	OutputSchema json.RawMessage `json:"outputSchema,omitempty"`
	Render       goldenRender    `json:"render"`
}

// TestHigressGolden lists every tool and renders its request from sample
// arguments, against golden files (go test -update rewrites them).
func TestHigressGolden(t *testing.T) {
	for _, file := range higressFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			s := compileFile(t, file, "")
			in := httptest.NewRequest("POST", "/mcp-servers/x", nil)
			in.RemoteAddr = "192.0.2.10:40000"
			in.Header.Set("X-Forwarded-For", "203.0.113.7, 10.0.0.1")
			var out []goldenTool
			for _, spec := range s.Tools() {
				tool := s.byName[spec.Name].def
				g := goldenTool{Name: spec.Name, Description: spec.Description, InputSchema: spec.InputSchema, OutputSchema: spec.OutputSchema}
				g.Render.Arguments = sampleArgs(tool.Args)
				r, err := s.Render(spec.Name, g.Render.Arguments, in)
				switch {
				case errors.Is(err, ErrNoRequest):
					g.Render.Error = "no request: answers from its response template"
				case err != nil:
					t.Fatalf("render %s: %v", spec.Name, err)
				default:
					require.True(t, strings.HasPrefix(r.URL, "https://") || strings.HasPrefix(r.URL, "http://"), "%s renders an absolute URL: %s", spec.Name, r.URL)
					require.NotEmpty(t, r.Method)
					g.Render.Request = r
				}
				out = append(out, g)
			}
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			require.NoError(t, enc.Encode(out))
			got := uuidRE.ReplaceAll(b.Bytes(), []byte("<uuid>"))
			golden := filepath.Join("testdata", "golden", strings.TrimSuffix(filepath.Base(file), ".yaml")+".json")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
				require.NoError(t, os.WriteFile(golden, got, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "missing golden file; run go test -run TestHigressGolden -update")
			require.Equal(t, string(want), string(got), "tools or requests changed; review and run go test -update if intended")
		})
	}
}

// TestHigressRenders pins the requests that show each Higress request
// rule, independently of the golden files.
func TestHigressRenders(t *testing.T) {
	in := httptest.NewRequest("POST", "/mcp", nil)
	in.RemoteAddr = "192.0.2.10:40000"
	in.Header.Set("X-Forwarded-For", "203.0.113.7, 10.0.0.1")
	cases := []struct {
		file, tool string
		args       map[string]any
		method     string
		url        string
		headers    map[string]string
		body       string
	}{
		{ // path argument {libraryId}, query arguments, default, re-encoded query
			file: "mcp-context7.yaml", tool: "get-library-docs",
			args:   map[string]any{"libraryId": "/vercel/next.js", "topic": "app router"},
			method: "GET", url: "https://context7.com/api/v1/vercel/next.js?tokens=5000&topic=app+router",
			headers: map[string]string{"X-Context7-Source": "server", "Accept": "*/*"},
		},
		{ // body arguments with a form Content-Type become a form body
			file: "mcp-weather-query.yaml", tool: "weather-condition",
			args:   map[string]any{"lat": "30.25", "lon": "120.16"},
			method: "POST", url: "https://finaljwd.market.alicloudapi.com/whapi/json/aliweather/condition",
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": "APPCODE "},
			body:    "lat=30.25&lon=120.16",
		},
		{ // getRealIP reads X-Forwarded-For
			file: "mcp-ip-query.yaml", tool: "ip-address-query",
			args:   map[string]any{"ip": ""},
			method: "POST", url: "https://jmipquery3.market.alicloudapi.com/ipv3-group/ip/address-query-v2",
			body: "ip=203.0.113.7\n",
		},
		{ // argsToUrlParam with defaults; integer given as a float
			file: "mcp-openweather.yaml", tool: "get_weather_forecast",
			args:   map[string]any{"city": "Suzhou", "days": 3.0},
			method: "GET", url: "http://api.openweathermap.org/data/2.5/forecast?city=Suzhou&days=3&lang=zh_cn&units=metric",
			headers: map[string]string{"X-Api-Key": ""},
		},
		{ // argsToJsonBody with defaults filled in, JSON Content-Type added
			file: "mcp-firecrawl.yaml", tool: "map",
			args:   map[string]any{"url": "https://example.com", "limit": 10.0},
			method: "POST", url: "https://api.firecrawl.dev/v1/map",
			headers: map[string]string{"Content-Type": "application/json; charset=utf-8", "Authorization": "Bearer "},
			body:    `{"ignoreSitemap":true,"includeSubdomains":false,"limit":10,"sitemapOnly":false,"url":"https://example.com"}`,
		},
		{ // body template with Sprig (b64enc), missing optional prints nothing, escaped path
			file: "mcp-github.yaml", tool: "create_or_update_file",
			args:   map[string]any{"owner": "o", "repo": "r", "path": "docs/read me.md", "content": "hi", "message": "m", "branch": "main"},
			method: "PUT", url: "https://api.github.com/repos/o/r/contents/docs/read%20me.md",
			headers: map[string]string{"Content-Type": "application/json; charset=utf-8", "Accept": "application/vnd.github+json"},
			body:    "{\n  \"message\": \"m\",\n  \"content\": \"aGk=\",\n  \"branch\": \"main\",\n  \"sha\": \"\"\n}\n",
		},
		{ // join ',' (a character constant in Go templates) and an array argument
			file: "mcp-github.yaml", tool: "list_issues",
			args:   map[string]any{"owner": "o", "repo": "r", "labels": []any{"bug", "ui"}, "state": "open"},
			method: "GET", url: "https://api.github.com/repos/o/r/issues?direction=&labels=bug%2Cui&page=&per_page=&since=&sort=&state=open",
		},
		{ // YAML timestamp-looking header value stays the text written
			file: "mcp-notion.yaml", tool: "getUser",
			args:   map[string]any{"user_id": "u-1"},
			method: "GET", url: "https://api.notion.com/v1/users/u-1",
			headers: map[string]string{"Notion-Version": "2022-06-28"},
		},
	}
	for _, c := range cases {
		t.Run(c.file+"/"+c.tool, func(t *testing.T) {
			s := compileFile(t, filepath.Join("testdata/higress", c.file), "")
			r, err := s.Render(c.tool, c.args, in)
			require.NoError(t, err)
			require.Equal(t, c.method, r.Method)
			require.Equal(t, c.url, r.URL)
			for k, v := range c.headers {
				require.Equal(t, v, r.Headers[k], "header %s", k)
			}
			if c.body != "" || c.method == "GET" {
				require.Equal(t, c.body, r.Body)
			}
		})
	}
}

func TestHigressTimeTool(t *testing.T) {
	s := compileFile(t, "testdata/higress/mcp-time.yaml", "")
	res, err := s.Call(t.Context(), nil, "get-current-time", map[string]any{"timeZone": "UTC"}, nil)
	require.NoError(t, err)
	require.False(t, res.IsError, res.Text)
	require.Regexp(t, `^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n?$`, res.Text)

	_, err = s.Render("get-current-time", nil, nil)
	require.ErrorIs(t, err, ErrNoRequest)
	require.True(t, slices.ContainsFunc(s.Tools(), func(ts ToolSpec) bool { return ts.Name == "get-current-time" }))
}
