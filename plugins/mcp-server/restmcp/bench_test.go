package restmcp

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// BenchmarkRender measures building one request from a Higress
// definition (templates in URL, headers and body).
func BenchmarkRender(b *testing.B) {
	s := benchServer(b, "https://api.github.com")
	args := map[string]any{"owner": "o", "repo": "r", "path": "docs/a.md", "content": "hello", "message": "m", "branch": "main"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Render("create_or_update_file", args, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCall measures a whole tool call against a local upstream,
// against BenchmarkDirect, the same request made without the library.
func BenchmarkCall(b *testing.B) {
	up := benchUpstream(b)
	s := benchServer(b, up.URL)
	client := up.Client()
	args := map[string]any{"owner": "o", "repo": "r", "path": "docs/a.md", "content": "hello", "message": "m", "branch": "main"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := s.Call(b.Context(), client, "create_or_update_file", args, nil)
			if err != nil || res.IsError {
				b.Fatal(err, res)
			}
		}
	})
}

func BenchmarkDirect(b *testing.B) {
	up := benchUpstream(b)
	client := up.Client()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(up.URL+"/repos/o/r/contents/docs/a.md", "application/json", nil)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	})
}

func benchUpstream(b *testing.B) *httptest.Server {
	b.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"content":{"name":"a.md","sha":"abc"},"commit":{"sha":"def"}}`)
	}))
	b.Cleanup(up.Close)
	return up
}

func benchServer(b *testing.B, base string) *Server {
	b.Helper()
	s, err := compileYAML(&testing.T{}, `
server: {name: bench, config: {accessToken: t0k}}
tools:
- name: create_or_update_file
  args:
  - {name: owner, required: true}
  - {name: repo, required: true}
  - {name: path, required: true}
  - {name: content, required: true}
  - {name: message, required: true}
  - {name: branch, required: true}
  - {name: sha}
  requestTemplate:
    url: "`+base+`/repos/{{.args.owner}}/{{.args.repo}}/contents/{{.args.path}}"
    method: PUT
    body: |
      {"message": "{{.args.message}}", "content": "{{.args.content | b64enc}}", "branch": "{{.args.branch}}", "sha": "{{.args.sha}}"}
    headers:
    - {key: Authorization, value: "Bearer {{.config.accessToken}}"}
    - {key: Accept, value: application/vnd.github+json}
  responseTemplate:
    body: "{{.content.name}} at {{.commit.sha}}"
`)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkResponseTemplate measures turning the upstream's JSON answer
// into the tool's text with the response template of Higress's
// mcp-openweather.yaml get_weather: from the raw JSON (paths) and by
// decoding it and running text/template (template).
func BenchmarkResponseTemplate(b *testing.B) {
	data, err := os.ReadFile("testdata/higress/mcp-openweather.yaml")
	if err != nil {
		b.Fatal(err)
	}
	def, err := Parse(data, "")
	if err != nil {
		b.Fatal(err)
	}
	s, err := Compile(def)
	if err != nil {
		b.Fatal(err)
	}
	t := s.byName["get_weather"].response
	body := []byte(`{"coord":{"lon":2.35,"lat":48.85},"weather":[{"id":800,"main":"Clear","description":"clear sky","icon":"01d"}],` +
		`"main":{"temp":21.5,"feels_like":21.1,"temp_min":20.2,"temp_max":22.8,"pressure":1016,"humidity":48},` +
		`"wind":{"speed":3.6,"deg":250},"clouds":{"all":0},"dt":1700000000,"name":"Paris","cod":200}`)
	args := map[string]any{"city": "Paris", "units": "metric", "lang": "zh_cn"}
	for _, mode := range []string{"paths", "template"} {
		b.Run(mode, func(b *testing.B) {
			tm := *t
			if mode == "template" {
				tm.paths = nil
			} else if tm.paths == nil {
				b.Fatal("get_weather's response template is not served from paths")
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.renderResponse(&tm, body, args); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWeather measures get_weather of Higress's mcp-openweather.yaml,
// the tool scripts/bench/mcp calls: the request alone (render), and the
// whole call against a local upstream (call).
func BenchmarkWeather(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"weather":[{"description":"clear sky"}],"main":{"temp":21.5,"humidity":48},"wind":{"speed":3.6},"name":"Paris"}`)
	}))
	b.Cleanup(up.Close)
	data, err := os.ReadFile("testdata/higress/mcp-openweather.yaml")
	if err != nil {
		b.Fatal(err)
	}
	def, err := Parse(bytes.ReplaceAll(data, []byte("http://api.openweathermap.org"), []byte(up.URL)), "")
	if err != nil {
		b.Fatal(err)
	}
	s, err := Compile(def)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Render("get_weather", map[string]any{"city": "Paris"}, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("call", func(b *testing.B) {
		client := up.Client()
		b.ReportAllocs()
		for b.Loop() {
			res, err := s.Call(b.Context(), client, "get_weather", map[string]any{"city": "Paris"}, nil)
			if err != nil || res.IsError || !strings.Contains(res.Text, "21.5") {
				b.Fatal(err, res)
			}
		}
	})
}
