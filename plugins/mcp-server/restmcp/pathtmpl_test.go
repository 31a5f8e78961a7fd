package restmcp

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// pathBodies are upstream answers: usual ones and the corners of JSON
// (repeated keys, escapes, numbers of every spelling, nulls, nesting,
// invalid and non-object answers).
var pathBodies = []string{
	`{"coord":{"lon":2.35,"lat":48.85},"weather":[{"id":800,"main":"Clear","description":"clear sky","icon":"01d"}],` +
		`"main":{"temp":21.5,"feels_like":21.1,"temp_min":20.2,"temp_max":22.8,"pressure":1016,"humidity":48},` +
		`"wind":{"speed":3.6,"deg":250},"clouds":{"all":0},"dt":1700000000,"name":"Paris","cod":200}`,
	` { "main" : { "temp" : -0 , "humidity" : 1E2 } , "weather" : [ ] , "name" : "a\"b\\u00e9\u00e9\n" } `,
	`{"main":{"temp":1e400,"humidity":123456789012345678901234567890},"name":null,"weather":[null,{"description":null}]}`,
	`{"main":{"temp":0.000001,"humidity":1.5e-7},"weather":[{"description":"<b>&amp;</b>"}],"name":{"b":[1,2.50,{"z":1,"a":"x"}]}}`,
	`{"main":{"temp":1},"main":{"humidity":2},"name":"first","name":"second"}`,
	`{"main":{"temp":1e21,"humidity":123456789012345678},"dt":1234567890123456789,"cod":-9223372036854775808,"name":9223372036854775808}`,
	`{"main":{"temp":-1.0e-7,"humidity":-123456789012345678},"dt":-0.0,"cod":100000000000000000000,"name":1.7976931348623157e308}`,
	`{"m\u0061in":{"temp":3},"args":{"city":"from the answer"},"config":null}`,
	`{"main":"not an object","weather":{"0":"x"},"name":["a","b"]}`,
	`{"main":{"temp":true,"humidity":false},"weather":[[1,2],[3]],"name":""}`,
	`{"main":{}}`,
	`{}`,
	`[{"main":{"temp":1}}]`,
	`"text"`,
	`42`,
	`{"main":{"temp":1}} trailing`,
	`{"main":{"temp":1}}]`,
	`{"main":{"temp":1},}`,
	`{"name":"bad utf-8 ` + "\xff" + `"}`,
	`{"name":"control ` + "\x01" + `"}`,
	`{"name":"\ud800 lone surrogate"}`,
	`{"main":{"temp":01}}`,
	`not json at all`,
	``,
}

var pathTemplates = []string{
	`{"description": "{{ (index .weather 0).description}}", "temperature": {{.main.temp}}, "humidity": {{.main.humidity}}, "city": "{{.args.city}}"}`,
	`{{.main.temp}}`,
	`{{.main}}`,
	`{{.name}}`,
	`{{$.name}} {{$.main.temp}}`,
	`{{.nosuch}}|{{.nosuch.deeper}}|{{.main.nosuch}}|{{.main.nosuch.x}}`,
	`{{index .weather 0}}`,
	`{{index .weather 1}}`,
	`{{(index .weather 1).description}}`,
	`{{index .weather 0 "description"}}`,
	`{{index .main "temp"}}`,
	`{{index .main "nosuch"}}`,
	`{{(index .main "nosuch").x}}`,
	`{{(index .weather 5).description}}`,
	`{{index .nosuch 0}}`,
	`{{index $ "name"}}`,
	`{{index $ "nosuch"}}`,
	`{{.args}}`,
	`{{.args.city}} {{.args.n}} {{.args.f}} {{.args.b}} {{.args.nested.k}} {{.args.list}} {{.args.nosuch}}`,
	`{{index .args.list 1}}`,
	`{{.config.region}} {{.config.port}} {{.config}}`,
	`{{.name.b}}`,
	`{{(index .name.b 2).a}}`,
	`{{.weather.x}}`,
	`text only {{.dt}}` + strings.Repeat("x", 100),
	`{{- .main.temp -}} C`,
	`{{.dt}} {{.cod}} {{.name}}`,
}

// TestPathTemplateMatchesTemplate: whenever a path template answers, it
// answers what the template answers on the decoded body.
func TestPathTemplateMatchesTemplate(t *testing.T) {
	s := &Server{publicConfig: map[string]any{"region": "eu", "port": int64(8080)}}
	args := map[string]any{"city": "Paris", "n": int64(3), "f": 2.5, "b": true,
		"nested": map[string]any{"k": "v"}, "list": []any{"a", int64(1)}}
	served := 0
	for _, text := range pathTemplates {
		tm, err := parseTemplate("responseTemplate.body", "t", text, funcMap())
		require.NoError(t, err, text)
		require.NotNil(t, tm.paths, "template %q should be served from paths", text)
		for _, body := range pathBodies {
			got, ok := tm.paths.render([]byte(body), args, s.publicConfig)
			data, raw := s.responseData([]byte(body), args)
			want, err := tm.execute(data, &execEnv{rootRaw: raw})
			if !ok {
				continue
			}
			served++
			require.NoError(t, err, "template %q on %q: the path template answered %q", text, body, got)
			require.Equal(t, want, got, "template %q on %q", text, body)
		}
	}
	require.Greater(t, served, 100)
}

// TestPathTemplateTakesOnlyPaths: templates doing more than printing
// values run as templates.
func TestPathTemplateTakesOnlyPaths(t *testing.T) {
	for _, text := range []string{
		`{{.}}`, `{{$}}`, `{{.a | upper}}`, `{{upper .a}}`, `{{if .a}}x{{end}}`, `{{range .a}}{{.}}{{end}}`,
		`{{with .a}}{{.b}}{{end}}`, `{{$x := .a}}{{$x}}`, `{{index .a 1.0}}`, `{{index .a 07}}`, `{{index .a -1}}`,
		`{{index .a 0x1}}`, `{{gjson "a"}}`, `{{define "x"}}a{{end}}{{template "x"}}`, `{{index . 0}}`,
		`{{(.a).b}}`, `{{index .a .b}}`, `{{printf "%v" .a}}`, `{{.a.b 1}}`,
	} {
		tm, err := parseTemplate("f", "t", text, funcMap())
		require.NoError(t, err, text)
		if text == `{{(.a).b}}` {
			continue // a parenthesized field: served, and covered by the fuzz test
		}
		require.Nil(t, tm.paths, text)
	}
}

// FuzzPathTemplate holds path templates against text/template on
// arbitrary templates and answers.
func FuzzPathTemplate(f *testing.F) {
	for _, text := range pathTemplates {
		for _, body := range pathBodies {
			f.Add(text, body)
		}
	}
	s := &Server{publicConfig: map[string]any{"region": "eu", "port": int64(8080)}}
	args := map[string]any{"city": "Paris", "n": int64(3), "list": []any{"a", 1.5}}
	f.Fuzz(func(t *testing.T, text, body string) {
		if len(text) > 2048 || bigNumber.MatchString(text) {
			t.Skip()
		}
		tm, err := parseTemplate("f", "t", text, funcMap())
		if err != nil || tm.paths == nil || tm.isConstant {
			return
		}
		got, ok := tm.paths.render([]byte(body), args, s.publicConfig)
		if !ok {
			return
		}
		data, raw := s.responseData([]byte(body), args)
		want, err := tm.execute(data, &execEnv{rootRaw: raw})
		if err != nil {
			t.Fatalf("template %q on %q: the template fails (%v), the path template answered %q", text, body, err, got)
		}
		if got != want {
			t.Fatalf("template %q on %q: path template %q, template %q", text, body, got, want)
		}
	})
}

// TestNumbersRenderWithoutAllocating: a number printed from an upstream
// answer (a temperature, a price) costs no allocation; trying to parse a
// fraction as an integer first cost an error value and a copy each time.
func TestNumbersRenderWithoutAllocating(t *testing.T) {
	out := make([]byte, 0, 64)
	for _, n := range []string{"21.5", "-0.000001", "1.5e-7", "12345678901234567", "-0"} {
		allocs := testing.AllocsPerRun(100, func() { out = appendNumber(out[:0], []byte(n)) })
		require.Zero(t, allocs, "appendNumber(%s)", n)
	}
	require.Equal(t, "21.5", string(appendNumber(nil, []byte("21.5"))))
}
