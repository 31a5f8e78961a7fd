package restmcp

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/require"
)

// seen is one request the upstream received.
type seen struct {
	method string
	path   string
	query  url.Values
	header http.Header
	body   string
}

var pngBytes = []byte("\x89PNG\r\n\x1a\nfake")

// upstream starts an HTTP server standing in for a REST API and returns
// its URL and the requests it receives.
func upstream(t *testing.T) (string, <-chan seen) {
	t.Helper()
	reqs := make(chan seen, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		reqs <- seen{method: r.Method, path: r.URL.Path, query: r.URL.Query(), header: r.Header.Clone(), body: string(body)}
		switch r.URL.Path {
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"name":"Ada","count":0,"items":[{"id":1,"name":"one"},{"id":2,"name":"two"}],"big":12345678901234567,"price":2.5,"ok":true,"nested":{"a":{"b":"deep"}}}`)
		case "/array":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `[1,2,3]`)
		case "/text":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "plain words")
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/missing":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Error-Code", "E404")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"message":"no such city"}`)
		case "/boom":
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "gateway trouble")
		case "/image":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(pngBytes)
		case "/slow":
			<-r.Context().Done()
		case "/stall":
			// The head and part of the body, then nothing.
			w.Header().Set("Content-Length", "100")
			_, _ = io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"echo":true}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, reqs
}

// serverFor compiles a YAML definition whose templates reach the
// upstream as {{.config.base}}.
func serverFor(t *testing.T, base, src string) *Server {
	t.Helper()
	def, err := Parse([]byte(src), "application/yaml")
	require.NoError(t, err)
	if def.Server.Config == nil {
		def.Server.Config = map[string]any{}
	}
	def.Server.Config["base"] = base
	s, err := Compile(def)
	require.NoError(t, err)
	return s
}

func call(t *testing.T, s *Server, tool string, args map[string]any, in *http.Request) *CallResult {
	t.Helper()
	res, err := s.Call(t.Context(), nil, tool, args, in)
	require.NoError(t, err)
	return res
}

func TestCallResponseForms(t *testing.T) {
	base, reqs := upstream(t)
	s := serverFor(t, base, `
server: {name: forms}
tools:
- name: template
  args: [{name: city, required: true}]
  requestTemplate: {url: "{{.config.base}}/json"}
  responseTemplate:
    body: |-
      {{.name}} in {{.args.city}}: count={{.count}} big={{.big}} price={{.price}} ok={{.ok}} missing=[{{.nope.deeper}}]
      {{- range .items}} {{.id}}:{{.name}}/{{gjson "name"}}{{end}}
      {{- if eq .count 0}} zero{{end}}{{if gt .price 2}} pricey{{end}}
      {{gjson "items.#(id==2).name"}} {{gjson "nested.a"}} {{.nested}} {{len .items}}
- name: wrapped
  requestTemplate: {url: "{{.config.base}}/json"}
  responseTemplate: {prependBody: "BEFORE\n", appendBody: "\nAFTER"}
- name: raw
  requestTemplate: {url: "{{.config.base}}/array"}
- name: empty
  requestTemplate: {url: "{{.config.base}}/empty"}
- name: text
  requestTemplate: {url: "{{.config.base}}/text"}
  responseTemplate: {body: "got: {{._body}}"}
- name: array-template
  requestTemplate: {url: "{{.config.base}}/array"}
  responseTemplate: {body: "{{range .}}<{{.}}>{{end}} {{gjson \"#\"}}"}
- name: structured
  outputSchema: {type: object, properties: {name: {type: string}}}
  requestTemplate: {url: "{{.config.base}}/json"}
  responseTemplate: {body: "{{.name}}"}
- name: structured-array
  outputSchema: {type: object}
  requestTemplate: {url: "{{.config.base}}/array"}
- name: image
  requestTemplate: {url: "{{.config.base}}/image"}
- name: direct
  args: [{name: n, type: integer}]
  outputSchema: {type: object}
  responseTemplate: {body: '{"n": {{.args.n}}, "twice": {{mul .args.n 2}}}'}
`)
	drain := func() { <-reqs }

	res := call(t, s, "template", map[string]any{"city": "Paris"}, nil)
	drain()
	require.False(t, res.IsError, res.Text)
	require.Equal(t, 200, res.Status)
	require.Equal(t, "Ada in Paris: count=0 big=12345678901234567 price=2.5 ok=true missing=[] 1:one/one 2:two/two zero pricey\n"+
		`two {"b":"deep"} {"a":{"b":"deep"}} 2`, res.Text)
	require.Nil(t, res.Structured, "no output schema, no structured content")

	res = call(t, s, "wrapped", nil, nil)
	drain()
	require.Equal(t, "BEFORE\n"+`{"name":"Ada","count":0,"items":[{"id":1,"name":"one"},{"id":2,"name":"two"}],"big":12345678901234567,"price":2.5,"ok":true,"nested":{"a":{"b":"deep"}}}`+"\nAFTER", res.Text)

	res = call(t, s, "raw", nil, nil)
	drain()
	require.Equal(t, "[1,2,3]", res.Text)

	res = call(t, s, "empty", nil, nil)
	drain()
	require.False(t, res.IsError)
	require.Equal(t, "success", res.Text, "an empty answer is reported as success, as Higress does")

	res = call(t, s, "text", nil, nil)
	drain()
	require.Equal(t, "got: plain words", res.Text)

	res = call(t, s, "array-template", nil, nil)
	drain()
	require.Equal(t, "<1><2><3> 3", res.Text)

	res = call(t, s, "structured", nil, nil)
	drain()
	require.Equal(t, "Ada", res.Text)
	structured, ok := res.Structured.(map[string]any)
	require.True(t, ok, "structured content is the JSON object: %#v", res.Structured)
	require.Equal(t, "Ada", structured["name"])
	require.NotContains(t, structured, "args", "structured content is the upstream's answer only")

	res = call(t, s, "structured-array", nil, nil)
	drain()
	require.Equal(t, map[string]any{"data": []any{int64(1), int64(2), int64(3)}}, res.Structured)

	res = call(t, s, "direct", map[string]any{"n": 3.0}, nil)
	require.Equal(t, `{"n": 3, "twice": 6}`, res.Text)
	require.Equal(t, map[string]any{"n": int64(3), "twice": int64(6)}, res.Structured, "a direct tool's JSON answer is its structured content")

	res = call(t, s, "image", nil, nil)
	drain()
	require.Equal(t, "image/png", res.ImageMIMEType)
	require.Equal(t, pngBytes, res.ImageData)
}

// otherTransport is a RoundTripper http.Client does not know, as the
// host's (h1client) is: a Client.Timeout over it would start a goroutine
// per request, so the call sets the client's timeout as its context's.
type otherTransport struct{ http.Transport }

func (t *otherTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.Transport.RoundTrip(r)
}

// The client's timeout ends a call, with the same result whether Call
// sets the deadline itself or the caller's CallContext carries it; the
// caller ending a call early is the caller's error.
func TestCallKeepsTheClientsTimeout(t *testing.T) {
	base, reqs := upstream(t)
	s := serverFor(t, base, `
server: {name: timeouts}
tools:
- name: slow
  requestTemplate: {url: "{{.config.base}}/slow"}
- name: stall
  requestTemplate: {url: "{{.config.base}}/stall"}
`)
	client := &http.Client{Transport: &otherTransport{}, Timeout: 200 * time.Millisecond}
	for _, tool := range []string{"slow", "stall"} {
		start := time.Now()
		res, err := s.Call(t.Context(), client, tool, nil, nil)
		<-reqs
		require.NoError(t, err)
		require.True(t, res.IsError, tool)
		require.Less(t, time.Since(start), 5*time.Second, "%s: the client's timeout ends the call", tool)
		if tool == "slow" {
			require.Contains(t, res.Text, "did not answer within 200ms (set server.timeout in milliseconds to change it)")
		} else {
			require.Contains(t, res.Text, "reading the response failed")
		}

		ctx, cancel := s.CallContext(t.Context(), client)
		d, ok := ctx.Deadline()
		require.True(t, ok)
		require.WithinDuration(t, time.Now().Add(200*time.Millisecond), d, 50*time.Millisecond, "the client's timeout")
		inCtx, err := s.Call(ctx, client, tool, nil, nil)
		cancel()
		<-reqs
		require.NoError(t, err, "%s: the call's own timeout is a result", tool)
		require.Equal(t, res.Text, inCtx.Text, "%s: in a CallContext", tool)
	}
	require.Equal(t, 200*time.Millisecond, client.Timeout, "the caller's client is not changed")

	ctx, cancel := s.CallContext(t.Context(), client)
	go func() { <-reqs; cancel() }()
	_, err := s.Call(ctx, client, "slow", nil, nil)
	require.ErrorIs(t, err, context.Canceled, "the caller's cancellation is an error")
}

func TestCallUpstreamErrors(t *testing.T) {
	base, reqs := upstream(t)
	s := serverFor(t, base, `
server: {name: errs, timeout: 100}
tools:
- name: plain
  requestTemplate: {url: "{{.config.base}}/boom"}
- name: templated
  requestTemplate: {url: "{{.config.base}}/missing"}
  responseTemplate: {body: "never used for errors"}
  errorResponseTemplate: 'status {{gjson "_headers.\\:status"}} code {{index ._headers "x-error-code"}}: {{.message}}'
- name: json-error
  requestTemplate: {url: "{{.config.base}}/missing"}
- name: slow
  requestTemplate: {url: "{{.config.base}}/slow"}
- name: bad-template
  requestTemplate: {url: "{{.config.base}}/json"}
  responseTemplate: {body: "{{index .items 9}}"}
`)
	res := call(t, s, "plain", nil, nil)
	<-reqs
	require.True(t, res.IsError)
	require.Equal(t, http.StatusBadGateway, res.Status)
	require.Equal(t, `tool "plain": upstream `+base+` returned HTTP 502: gateway trouble`, res.Text)

	res = call(t, s, "templated", nil, nil)
	<-reqs
	require.True(t, res.IsError)
	require.Equal(t, 404, res.Status)
	require.Equal(t, "status 404 code E404: no such city", res.Text)

	res = call(t, s, "json-error", nil, nil)
	<-reqs
	require.True(t, res.IsError)
	require.Contains(t, res.Text, "404")
	require.Contains(t, res.Text, `{"message":"no such city"}`, "the upstream body reaches the model")

	res = call(t, s, "slow", nil, nil)
	<-reqs
	require.True(t, res.IsError)
	require.Contains(t, res.Text, "did not answer within 100 ms")

	res = call(t, s, "bad-template", nil, nil)
	<-reqs
	require.True(t, res.IsError)
	require.Contains(t, res.Text, "tools[4].responseTemplate.body")
	require.Contains(t, res.Text, "index out of range")

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Call(ctx, nil, "plain", nil, nil)
	require.ErrorIs(t, err, context.Canceled, "the caller's cancellation is an error, not a result")

	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	s2 := serverFor(t, closedURL, "server: {name: down}\ntools:\n- name: t\n  requestTemplate: {url: \"{{.config.base}}/x?key=secret\"}\n")
	res = call(t, s2, "t", nil, nil)
	require.True(t, res.IsError)
	require.Contains(t, res.Text, "failed")
	require.NotContains(t, res.Text, "secret", "the query string, which may hold a key, is not repeated")
}

func TestCallArgumentPositions(t *testing.T) {
	base, reqs := upstream(t)
	s := serverFor(t, base, `
server: {name: positions}
tools:
- name: all
  args:
  - {name: id, position: path}
  - {name: q, position: query}
  - {name: X-Trace, position: header}
  - {name: session, position: cookie}
  - {name: size, type: integer, position: body}
  - {name: flag, type: boolean, position: body}
  requestTemplate:
    url: "{{.config.base}}/items/{id}?fixed=1"
    method: post
    headers: [{key: Cookie, value: "a=b"}]
- name: form
  args: [{name: x}, {name: y, type: number}]
  requestTemplate: {url: "{{.config.base}}/form", method: PUT, argsToFormBody: true}
`)
	res := call(t, s, "all", map[string]any{"id": "42", "q": "a b", "X-Trace": "t-1", "session": "s-1", "size": "3", "flag": "true"}, nil)
	require.False(t, res.IsError, res.Text)
	got := <-reqs
	require.Equal(t, "POST", got.method)
	require.Equal(t, "/items/42", got.path)
	require.Equal(t, url.Values{"fixed": {"1"}, "q": {"a b"}}, got.query)
	require.Equal(t, "t-1", got.header.Get("X-Trace"))
	require.Equal(t, "a=b; session=s-1", got.header.Get("Cookie"))
	require.Equal(t, `{"flag":true,"size":3}`, got.body, "body arguments converted to their types")
	require.Equal(t, "application/json; charset=utf-8", got.header.Get("Content-Type"))
	require.Equal(t, "*/*", got.header.Get("Accept"))

	call(t, s, "form", map[string]any{"x": "1&2", "y": 1.5}, nil)
	got = <-reqs
	require.Equal(t, "PUT", got.method)
	require.Equal(t, "application/x-www-form-urlencoded", got.header.Get("Content-Type"))
	form, err := url.ParseQuery(got.body)
	require.NoError(t, err)
	require.Equal(t, url.Values{"x": {"1&2"}, "y": {"1.5"}}, form)
}

func TestCallSecuritySchemes(t *testing.T) {
	base, reqs := upstream(t)
	s := serverFor(t, base, `
server:
  name: secure
  securitySchemes:
  - {id: basic, type: http, scheme: basic, defaultCredential: "alice:s3cret"}
  - {id: bearer, type: http, scheme: bearer, defaultCredential: default-token}
  - {id: header-key, type: apiKey, in: header, name: X-API-Key, defaultCredential: hk}
  - {id: query-key, type: apiKey, in: query, name: api_key, defaultCredential: qk}
  - {id: cookie-key, type: apiKey, in: cookie, name: key, defaultCredential: ck}
  - {id: client-bearer, type: http, scheme: bearer}
  - {id: client-query, type: apiKey, in: query, name: token}
  defaultUpstreamSecurity: {id: header-key}
tools:
- name: basic
  requestTemplate: {url: "{{.config.base}}/s", security: {id: basic}}
- name: bearer-override
  requestTemplate: {url: "{{.config.base}}/s", security: {id: bearer, credential: tool-token}}
- name: query
  requestTemplate: {url: "{{.config.base}}/s?x=1", security: {id: query-key}}
- name: cookie
  requestTemplate: {url: "{{.config.base}}/s", security: {id: cookie-key}}
- name: server-default
  requestTemplate: {url: "{{.config.base}}/s"}
- name: passthrough
  security: {id: client-bearer, passthrough: true}
  requestTemplate: {url: "{{.config.base}}/s", security: {id: bearer}}
- name: passthrough-query
  security: {id: client-query, passthrough: true}
  requestTemplate: {url: "{{.config.base}}/s", security: {id: header-key}}
- name: no-passthrough
  security: {id: client-bearer}
  requestTemplate: {url: "{{.config.base}}/s", security: {id: bearer}}
`)
	cases := []struct {
		tool  string
		in    *http.Request
		check func(t *testing.T, got seen)
	}{
		{"basic", nil, func(t *testing.T, got seen) {
			require.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte("alice:s3cret")), got.header.Get("Authorization"))
		}},
		{"bearer-override", nil, func(t *testing.T, got seen) {
			require.Equal(t, "Bearer tool-token", got.header.Get("Authorization"))
		}},
		{"query", nil, func(t *testing.T, got seen) {
			require.Equal(t, url.Values{"x": {"1"}, "api_key": {"qk"}}, got.query)
		}},
		{"cookie", nil, func(t *testing.T, got seen) {
			require.Equal(t, "key=ck", got.header.Get("Cookie"))
		}},
		{"server-default", nil, func(t *testing.T, got seen) {
			require.Equal(t, "hk", got.header.Get("X-API-Key"))
		}},
		{"passthrough", clientRequest("/mcp", "Bearer client-token"), func(t *testing.T, got seen) {
			require.Equal(t, "Bearer client-token", got.header.Get("Authorization"), "the client's own token goes upstream")
		}},
		{"passthrough", clientRequest("/mcp", ""), func(t *testing.T, got seen) {
			require.Equal(t, "Bearer default-token", got.header.Get("Authorization"), "without one, the configured credential")
		}},
		{"passthrough-query", clientRequest("/mcp?token=from-client", ""), func(t *testing.T, got seen) {
			require.Equal(t, "from-client", got.header.Get("X-API-Key"))
		}},
		{"no-passthrough", clientRequest("/mcp", "Bearer client-token"), func(t *testing.T, got seen) {
			require.Equal(t, "Bearer default-token", got.header.Get("Authorization"), "the client's token stays at the gateway")
		}},
	}
	for _, c := range cases {
		t.Run(c.tool, func(t *testing.T) {
			res := call(t, s, c.tool, nil, c.in)
			require.False(t, res.IsError, res.Text)
			c.check(t, <-reqs)
		})
	}

	for tool, uses := range map[string]bool{"passthrough": true, "passthrough-query": true, "no-passthrough": false, "basic": false, "server-default": false} {
		require.Equal(t, uses, s.UsesRequest(tool), "UsesRequest(%q)", tool)
	}

	r, err := s.Render("passthrough", nil, clientRequest("/mcp", "Bearer client-token"))
	require.NoError(t, err)
	require.Equal(t, "Bearer client-token", r.Headers["Authorization"], "the dry run shows the credential that would be sent")
}

func clientRequest(target, authorization string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, nil)
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	return r
}

func TestServerDefaultDownstreamPassthrough(t *testing.T) {
	base, reqs := upstream(t)
	s := serverFor(t, base, `
server:
  name: defaults
  securitySchemes:
  - {id: client-key, type: apiKey, in: header, name: X-Client-Key}
  - {id: upstream-key, type: apiKey, in: query, name: key, defaultCredential: configured}
  defaultDownstreamSecurity: {id: client-key, passthrough: true}
  defaultUpstreamSecurity: {id: upstream-key}
tools:
- name: t
  requestTemplate: {url: "{{.config.base}}/s"}
`)
	in := clientRequest("/mcp", "")
	in.Header.Set("X-Client-Key", "client-secret")
	require.False(t, call(t, s, "t", nil, in).IsError)
	require.Equal(t, "client-secret", (<-reqs).query.Get("key"), "the server defaults pass the client's key upstream")
	require.False(t, call(t, s, "t", nil, nil).IsError)
	require.Equal(t, "configured", (<-reqs).query.Get("key"))
	require.True(t, s.UsesRequest("t"))
}

// TestUsesRequest: a tool reads the client's request when a template that
// gets it calls getRealIP or getSocketIP; callers may pass nil otherwise.
func TestUsesRequest(t *testing.T) {
	s := serverFor(t, "http://upstream.example", `
server:
  name: ip
tools:
- name: plain
  requestTemplate: {url: "{{.config.base}}/s?c={{.args.c}}", headers: [{key: X, value: "{{.config.base}}"}]}
  responseTemplate: {body: "{{getRealIP}}"}
- name: url
  requestTemplate: {url: "{{.config.base}}/s?ip={{getSocketIP}}"}
- name: header
  requestTemplate: {url: "{{.config.base}}/s", headers: [{key: X-Real-IP, value: "{{getRealIP}}"}]}
- name: body
  requestTemplate: {url: "{{.config.base}}/s", method: POST, body: '{"ip": "{{getRealIP}}"}'}
- name: direct
  responseTemplate: {body: "you are {{getRealIP}}"}
`)
	for tool, uses := range map[string]bool{"plain": false, "url": true, "header": true, "body": true, "direct": true, "nosuch": false} {
		require.Equal(t, uses, s.UsesRequest(tool), "UsesRequest(%q)", tool)
	}
}

// TestReadLimitedReadsAsReadAll: readLimited returns what
// io.ReadAll(io.LimitReader(r, limit)) returns, whatever the size hint.
func TestReadLimitedReadsAsReadAll(t *testing.T) {
	for _, n := range []int{0, 1, 511, 512, 513, 1000, 4096} {
		data := bytes.Repeat([]byte("abcdefg"), n)[:n]
		for _, limit := range []int64{1, 512, int64(n), int64(n) + 1, 1 << 20} {
			for _, hint := range []int64{-1, 0, int64(n), int64(n) + 5, 1 << 30} {
				want, wantErr := io.ReadAll(io.LimitReader(iotest.HalfReader(bytes.NewReader(data)), limit))
				got, err := readLimited(iotest.HalfReader(bytes.NewReader(data)), hint, limit)
				require.Equal(t, wantErr, err)
				require.Equal(t, want, got, "n=%d limit=%d hint=%d", n, limit, hint)
			}
		}
	}
	_, err := readLimited(iotest.ErrReader(io.ErrUnexpectedEOF), 10, 100)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

// TestMayBeImage: every Content-Type mime.ParseMediaType reads as an
// image type passes mayBeImage.
func TestMayBeImage(t *testing.T) {
	for _, ct := range []string{"image/png", "IMAGE/PNG", " image/jpeg; q=1", "\vimage/gif", "\u00a0image/png", "Image/Svg+Xml",
		"application/json", "text/plain", "", "imag", "image", "image/", "images/png", "İmage/png", "application/image/png"} {
		mt, _, _ := mime.ParseMediaType(ct)
		if strings.HasPrefix(mt, "image/") {
			require.True(t, mayBeImage(ct), ct)
		}
	}
	require.False(t, mayBeImage("application/json; charset=utf-8"))
}
