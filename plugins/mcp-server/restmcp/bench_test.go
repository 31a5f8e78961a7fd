package restmcp

import (
	"io"
	"net/http"
	"net/http/httptest"
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
