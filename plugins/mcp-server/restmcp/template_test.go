package restmcp

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// renderBody compiles one tool whose request body is the template,
// renders it with the given config and argument values, and returns the
// body.
func renderBody(t *testing.T, config map[string]any, args []Arg, body string, values map[string]any) (string, error) {
	t.Helper()
	def := &Definition{
		Server: ServerConfig{Name: "tpl", Config: config},
		Tools: []Tool{{
			Name:            "t",
			Args:            args,
			RequestTemplate: RequestTemplate{URL: "https://example.com/", Method: "POST", Body: body},
		}},
	}
	s, err := Compile(def)
	if err != nil {
		return "", err
	}
	r, err := s.Render("t", values, nil)
	if err != nil {
		return "", err
	}
	return r.Body, nil
}

func TestTemplatePrintsLikeHigress(t *testing.T) {
	args := []Arg{{Name: "s"}, {Name: "i", Type: "integer"}, {Name: "n", Type: "number"}, {Name: "b", Type: "boolean"}, {Name: "l", Type: "array"}, {Name: "o", Type: "object"}, {Name: "big", Type: "number"}, {Name: "absent"}}
	cases := []struct{ tmpl, want string }{
		{"[{{.args.absent}}]", "[]"},
		{"[{{.args.absent.deeper.still}}]", "[]"},
		{"[{{.nothing}}]", "[]"},
		{"{{.args.s}}", "text"},
		{"{{.args.i}}", "5000000"},
		{"{{.args.n}}", "0.25"},
		{"{{.args.big}}", "12345678"},
		{"{{.args.b}}", "true"},
		{"{{.args.l}}", `["a",1]`},
		{"{{.args.o}}", `{"k":"<v>"}`},
		{"{{.config.region}}/{{.config.limits.max}}", "eu/10"},
		{"{{ .args.l | toJson }}", `["a",1]`},
		{"{{ if eq .args.i 5000000 }}yes{{ end }}", "yes"},
		{"{{ if eq .args.n 0.25 }}yes{{ end }}", "yes"},
		{`{{ if eq .args.i "5000000" }}yes{{ end }}`, "yes"},
		{`{{ if ne .args.s "other" }}yes{{ end }}`, "yes"},
		{"{{ if lt .args.n 1 }}yes{{ end }}", "yes"},
		{"{{ if eq .args.absent nil }}nil{{ end }}", "nil"},
		{"{{ .args.s | upper }}", "TEXT"},
		{"{{ add .args.i 1 }}", "5000001"},
		{"{{ join ',' .args.l }}", "a,1"},
		{`{{ gjson "args.l.1" }} {{ gjson "args.o.k" }}`, "1 <v>"},
		{`{{ with .args.o }}{{ gjson "k" }}{{ end }}`, "<v>"},
		{`{{ range .args.l }}({{ gjson "@this" }}){{ end }}`, "(a)(1)"},
		{`{{ $x := .args.s }}{{ $x }}`, "text"},
	}
	values := map[string]any{"s": "text", "i": 5e6, "n": "0.25", "b": "true", "l": []any{"a", 1.0}, "o": map[string]any{"k": "<v>"}, "big": 12345678.0}
	config := map[string]any{"region": "eu", "limits": map[string]any{"max": 10}}
	for _, c := range cases {
		t.Run(c.tmpl, func(t *testing.T) {
			got, err := renderBody(t, config, args, c.tmpl, values)
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}

func TestTemplateFunctionsLeavingTheTemplateAreRefused(t *testing.T) {
	for _, fn := range []string{"env", "expandenv", "getHostByName"} {
		_, err := renderBody(t, nil, nil, fmt.Sprintf("{{ %s \"x\" }}", fn), nil)
		fes := fieldErrors(t, err)
		require.Contains(t, fes[0].Message, fmt.Sprintf("%q not defined", fn))
	}
}

func TestTemplateCannotChangeSharedConfig(t *testing.T) {
	def := &Definition{
		Server: ServerConfig{Name: "cfg", Config: map[string]any{"k": "orig", "nested": map[string]any{"a": "1"}}},
		Tools: []Tool{{
			Name:            "t",
			RequestTemplate: RequestTemplate{URL: "https://example.com/", Body: `{{ $_ := set .config "k" "changed" }}{{ $_ := set .config.nested "a" "2" }}{{ .config.k }}{{ .config.nested.a }}`},
		}},
	}
	s, err := Compile(def)
	require.NoError(t, err)
	for range 2 {
		r, err := s.Render("t", nil, nil)
		require.NoError(t, err)
		require.Equal(t, "changed2", r.Body)
	}
	require.Equal(t, "orig", def.Server.Config["k"])
	require.Equal(t, "1", def.Server.Config["nested"].(map[string]any)["a"])
}

func TestTemplateOutputIsBounded(t *testing.T) {
	_, err := renderBody(t, nil, nil, `{{ range 100000000 }}0123456789{{ end }}`, nil)
	require.ErrorContains(t, err, "output larger than")
}

// TestTemplateConcurrentRequests renders templates bound to the incoming
// request from many goroutines: each sees its own client address.
func TestTemplateConcurrentRequests(t *testing.T) {
	def := &Definition{
		Server: ServerConfig{Name: "ip"},
		Tools: []Tool{{
			Name: "t",
			Args: []Arg{{Name: "n", Type: "integer"}},
			RequestTemplate: RequestTemplate{
				URL:     "https://example.com/",
				Headers: []Header{{Key: "X-Real-IP", Value: "{{ getRealIP }}"}, {Key: "X-Peer", Value: "{{ getSocketIP }}"}},
				Body:    `{{ .args.n }}:{{ gjson "args.n" }}`,
			},
		}},
	}
	s, err := Compile(def)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			in := httptest.NewRequest("POST", "/mcp", nil)
			in.RemoteAddr = fmt.Sprintf("198.51.100.%d:5000", i)
			if i%2 == 0 {
				in.Header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
			}
			r, err := s.Render("t", map[string]any{"n": float64(i)}, in)
			if err != nil {
				errs <- err
				return
			}
			wantReal := fmt.Sprintf("198.51.100.%d", i)
			if i%2 == 0 {
				wantReal = fmt.Sprintf("203.0.113.%d", i)
			}
			if r.Headers["X-Real-Ip"] != wantReal || r.Headers["X-Peer"] != fmt.Sprintf("198.51.100.%d", i) || r.Body != fmt.Sprintf("%d:%d", i, i) {
				errs <- fmt.Errorf("request %d rendered %v %q", i, r.Headers, r.Body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	r, err := s.Render("t", map[string]any{"n": 1.0}, nil)
	require.NoError(t, err)
	require.Empty(t, r.Headers["X-Real-Ip"], "a dry run without a request has no client address")
}

func TestTemplateErrorNamesLineAtRuntime(t *testing.T) {
	_, err := renderBody(t, nil, []Arg{{Name: "l", Type: "array"}}, "first\nsecond {{ index .args.l 3 }}", map[string]any{"l": []any{1.0}})
	fes := fieldErrors(t, err)
	require.Equal(t, "tools[0].requestTemplate.body", fes[0].Field)
	require.True(t, strings.HasPrefix(fes[0].Message, `tool "t": template: line 2: `), fes[0].Message)
	require.Contains(t, fes[0].Message, "index out of range")
	require.NotContains(t, fes[0].Message, printFunc, "the internal print function stays hidden")
}

func TestParsedNumbersAreNumbers(t *testing.T) {
	for _, src := range []string{
		"server: {name: n, config: {limit: 10, ratio: 0.5}}\ntools:\n- name: t\n  args: [{name: tokens, type: integer, default: 5000}]\n  requestTemplate:\n    url: https://example.com/\n    body: '{{ add .config.limit 1 }} {{ if eq .config.limit 10 }}ten{{ end }} {{ .config.ratio }} {{ add .args.tokens 1 }} {{ .args.tokens }}'\n",
		`{"server":{"name":"n","config":{"limit":10,"ratio":0.5}},"tools":[{"name":"t","args":[{"name":"tokens","type":"integer","default":5000}],"requestTemplate":{"url":"https://example.com/","body":"{{ add .config.limit 1 }} {{ if eq .config.limit 10 }}ten{{ end }} {{ .config.ratio }} {{ add .args.tokens 1 }} {{ .args.tokens }}"}}]}`,
	} {
		def, err := Parse([]byte(src), "")
		require.NoError(t, err)
		s, err := Compile(def)
		require.NoError(t, err)
		r, err := s.Render("t", nil, nil)
		require.NoError(t, err)
		require.Equal(t, "11 ten 0.5 5001 5000", r.Body)
	}
}

// A header that prints only .config values is rendered once per
// configuration version and reads the same on every call; headers that
// use the call render per call, as before.
func TestConfigHeadersRenderOnce(t *testing.T) {
	def := &Definition{
		Server: ServerConfig{Name: "tpl", Config: map[string]any{"apiKey": "k-1", "limits": map[string]any{"max": 10}}},
		Tools: []Tool{{
			Name: "t",
			Args: []Arg{{Name: "q"}},
			RequestTemplate: RequestTemplate{URL: "https://example.com/", Method: "GET", Headers: []Header{
				{Key: "X-Api-Key", Value: "{{.config.apiKey}}"},
				{Key: "X-Limits", Value: "max={{.config.limits.max}} all={{.config.limits}} none=[{{.config.absent}}]"},
				{Key: "X-Query", Value: "{{.config.apiKey}}-{{.args.q}}"},
				{Key: "X-Upper", Value: "{{.config.apiKey | upper}}"},
			}},
		}},
	}
	s, err := Compile(def)
	require.NoError(t, err)
	tool := s.byName["t"]
	for i, want := range []bool{true, true, false, false} {
		require.Equal(t, want, tool.headers[i].value.isConstant, "header %s", tool.headers[i].key)
	}
	for _, q := range []string{"a", "b"} {
		r, err := s.Render("t", map[string]any{"q": q}, nil)
		require.NoError(t, err)
		require.Equal(t, "k-1", r.Headers["X-Api-Key"])
		require.Equal(t, `max=10 all={"max":10} none=[]`, r.Headers["X-Limits"])
		require.Equal(t, "k-1-"+q, r.Headers["X-Query"])
		require.Equal(t, "K-1", r.Headers["X-Upper"])
	}
}
