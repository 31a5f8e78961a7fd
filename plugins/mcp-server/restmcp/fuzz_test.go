package restmcp

import (
	"errors"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// bigNumber finds integer literals large enough to make a template loop
// for long; the fuzzer skips those inputs instead of reporting a hang.
var bigNumber = regexp.MustCompile(`\d{6,}`)

// FuzzRender feeds arbitrary template text and argument values to the
// compiler and renderer. Compiling either succeeds or reports *FieldError
// values; rendering either succeeds with an absolute URL on the declared
// host or fails with a *FieldError naming the tool; a tool answering from
// its template never fails the call itself. Nothing panics.
func FuzzRender(f *testing.F) {
	files, _ := filepath.Glob("testdata/higress/*.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		def, err := Parse(data, "")
		if err != nil {
			f.Fatal(err)
		}
		for _, tool := range def.Tools {
			for _, text := range []string{tool.RequestTemplate.URL, tool.RequestTemplate.Body, tool.ResponseTemplate.Body} {
				if text != "" {
					f.Add(text, "sample", `{"results":[{"id":"a","title":"t"}],"main":{"temp":1.5}}`)
				}
			}
			for _, h := range tool.RequestTemplate.Headers {
				f.Add(h.Value, "", "{}")
			}
		}
	}
	for _, seed := range []string{
		"", "{{", "}}", "{{ .args.a }", "{{ gjson }}", `{{ gjson "a" "b" }}`, `{{ gjson .args.a }}`,
		`{{ join ',' .args.a }}`, "{{ index .args.a 1 }}", "{{ template \"x\" }}", `{{ define "x" }}{{ .args.a }}{{ end }}{{ template "x" . }}`,
		"{{ .args.a | b64dec }}", "{{ getRealIP }}{{ getSocketIP }}", "{{ range $i, $v := .args.a }}{{ $i }}{{ end }}",
		"{{ with .config.k }}{{ gjson \"@this\" }}{{ end }}", "{{ eq 1 }}", "{{ lt .args.a 2 }}", "{{ fail \"x\" }}",
		"{{ $_ := set .config \"k\" 1 }}", "{{ toJson . }}", "{{ block \"b\" . }}{{ . }}{{ end }}", "{{- /* comment */ -}}",
	} {
		f.Add(seed, "x@evil.example/../?#", `[1,{"a":null}]`)
	}

	f.Fuzz(func(t *testing.T, text, arg, body string) {
		if len(text) > 4096 || bigNumber.MatchString(text) {
			t.Skip("too slow to be interesting")
		}
		def := &Definition{
			Server: ServerConfig{Name: "fuzz", Config: map[string]any{"k": arg, "n": 1}},
			Tools: []Tool{
				{
					Name: "req",
					Args: []Arg{{Name: "a"}, {Name: "p", Position: "path"}, {Name: "q", Position: "query"}, {Name: "c", Position: "cookie"}},
					RequestTemplate: RequestTemplate{
						URL:     "https://example.com/{p}/" + text,
						Method:  "POST",
						Headers: []Header{{Key: "X-T", Value: text}},
						Body:    text,
					},
				},
				{Name: "direct", Args: []Arg{{Name: "a"}}, ResponseTemplate: ResponseTemplate{Body: text}},
			},
		}
		s, err := Compile(def)
		if err != nil {
			checkFieldErrors(t, err)
			return
		}
		in := httptest.NewRequest("POST", "/mcp?q="+url.QueryEscape(arg), nil)
		in.Header.Set("X-Forwarded-For", arg)
		args := map[string]any{"a": arg, "p": arg, "q": arg, "c": arg}
		r, err := s.Render("req", args, in)
		if err != nil {
			var fe *FieldError
			if !errors.Is(err, ErrInvalidArguments) && (!errors.As(err, &fe) || fe.Tool != "req") {
				t.Fatalf("render error is not a *FieldError naming the tool: %T %v", err, err)
			}
		} else {
			u, err := url.Parse(r.URL)
			if err != nil || u.Host != "example.com" || u.Scheme != "https" {
				t.Fatalf("rendered URL %q is not on the declared host (%v)", r.URL, err)
			}
		}
		res, err := s.Call(t.Context(), nil, "direct", args, in)
		if err != nil {
			t.Fatalf("a direct tool's call failed instead of reporting an error result: %v", err)
		}
		if res.IsError && res.Text == "" {
			t.Fatal("an error result says nothing")
		}
		data, raw := s.responseData([]byte(body), args)
		if t2, ok := s.byName["direct"]; ok {
			_, _ = t2.response.execute(data, &execEnv{rootRaw: raw, req: in})
		}
	})
}

func checkFieldErrors(t *testing.T, err error) {
	t.Helper()
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("compile error is not a *FieldError: %T %v", e, e)
		}
		if fe.Field == "" {
			t.Fatalf("field error without a field: %v", fe)
		}
	}
}
