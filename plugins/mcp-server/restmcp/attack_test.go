package restmcp

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// recorder is an HTTP server that counts and remembers what it receives.
type recorder struct {
	*httptest.Server
	hits    atomic.Int64
	lastURI atomic.Value // string: the raw request URI
	lastHdr atomic.Value // http.Header
}

func newRecorder(t *testing.T, h http.HandlerFunc) *recorder {
	t.Helper()
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.hits.Add(1)
		r.lastURI.Store(req.RequestURI)
		r.lastHdr.Store(req.Header.Clone())
		if h != nil {
			h(w, req)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) uri() string {
	s, _ := r.lastURI.Load().(string)
	return s
}

// Arguments must not change where a tool's request goes or what it asks
// for: path values stay inside the path, query values stay one value,
// and the host is the definition's.
func TestArgumentsCannotRewriteUpstreamURL(t *testing.T) {
	up := newRecorder(t, nil)
	evil := newRecorder(t, nil)
	evilHost := strings.TrimPrefix(evil.URL, "http://")
	def := fmt.Sprintf(`
server:
  name: attack
  securitySchemes:
  - {id: bearer, type: http, scheme: bearer, defaultCredential: s3cret-token}
  defaultUpstreamSecurity: {id: bearer}
tools:
- name: by_template
  args: [{name: id, required: true}]
  requestTemplate: {url: "%[1]s/users/{{.args.id}}", method: GET}
- name: by_placeholder
  args: [{name: id, required: true, position: path}]
  requestTemplate: {url: "%[1]s/users/{id}", method: GET}
- name: in_query
  args: [{name: q, required: true}]
  requestTemplate: {url: "%[1]s/search?q={{.args.q}}&page=1", method: GET}
- name: after_host
  args: [{name: p, required: true, position: path}]
  requestTemplate: {url: "%[1]s{p}", method: GET}
- name: host_template
  args: [{name: p, required: true}]
  requestTemplate: {url: "%[1]s{{.args.p}}", method: GET}
`, up.URL)
	d, err := Parse([]byte(def), "application/yaml")
	require.NoError(t, err)
	s, err := Compile(d)
	require.NoError(t, err)

	cases := []struct {
		tool    string
		args    map[string]any
		wantURI string // "" when nothing may be sent
		invalid bool   // refused as invalid arguments (-32602)
	}{
		{tool: "by_template", args: map[string]any{"id": "../admin"}, invalid: false},
		{tool: "by_placeholder", args: map[string]any{"id": "../admin"}, invalid: true},
		{tool: "by_template", args: map[string]any{"id": "x?admin=true#"}, wantURI: "/users/x%3Fadmin=true%23"},
		{tool: "by_placeholder", args: map[string]any{"id": "x?admin=true#"}, wantURI: "/users/x%3Fadmin=true%23"},
		{tool: "in_query", args: map[string]any{"q": "x&admin=true#"}, wantURI: "/search?page=1&q=x%26admin%3Dtrue%23"},
		{tool: "after_host", args: map[string]any{"p": "@" + evilHost + "/x"}},
		{tool: "host_template", args: map[string]any{"p": "@" + evilHost + "/x"}},
		{tool: "by_template", args: map[string]any{"id": "@" + evilHost + "/x"}, wantURI: "/users/@" + evilHost + "/x"},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("%d_%s_%s", i, tc.tool, tc.args), func(t *testing.T) {
			before := up.hits.Load()
			res, err := s.Call(t.Context(), nil, tc.tool, tc.args, nil)
			switch {
			case tc.invalid:
				require.ErrorIs(t, err, ErrInvalidArguments)
			case tc.wantURI == "":
				require.NoError(t, err)
				require.True(t, res.IsError, "the call must fail, got %q", res.Text)
				require.NotContains(t, res.Text, "s3cret-token")
			default:
				require.NoError(t, err)
				require.False(t, res.IsError, res.Text)
				require.Equal(t, before+1, up.hits.Load())
				require.Equal(t, tc.wantURI, up.uri())
				return
			}
			require.Equal(t, before, up.hits.Load(), "the upstream received a request")
		})
	}
	require.Zero(t, evil.hits.Load(), "another host received a request (with the tool's credential)")
}

// A path value cannot climb out of the tool's path, whatever its form.
func TestPathSegmentRefusesDotSegments(t *testing.T) {
	for _, v := range []string{"..", ".", "../admin", "a/../../b", "a/./b"} {
		_, err := pathSegment(v)
		require.Error(t, err, v)
	}
	got, err := pathSegment("docs/read me.md")
	require.NoError(t, err)
	require.Equal(t, "docs/read%20me.md", got)
	got, err = pathSegment("..%2Fadmin")
	require.NoError(t, err)
	require.Equal(t, "..%252Fadmin", got)
}

// A relative URL goes to the server's service; without one it is a tool
// error that says what to set.
func TestRelativeURLResolvesAgainstService(t *testing.T) {
	up := newRecorder(t, nil)
	src := `
server: {name: rel}
tools:
- name: get
  args: [{name: id, required: true, position: path}]
  requestTemplate: {url: "/users/{id}", method: GET}
`
	d, err := Parse([]byte(src), "application/yaml")
	require.NoError(t, err)
	s, err := Compile(d)
	require.NoError(t, err)
	res, err := s.Call(t.Context(), nil, "get", map[string]any{"id": "7"}, nil)
	require.NoError(t, err)
	require.True(t, res.IsError)
	require.Contains(t, res.Text, "service")
	require.Zero(t, up.hits.Load())

	d, err = Parse([]byte(src), "application/yaml")
	require.NoError(t, err)
	d.ServiceURLs = []string{up.URL + "/api/"}
	s, err = Compile(d)
	require.NoError(t, err)
	res, err = s.Call(t.Context(), nil, "get", map[string]any{"id": "7"}, nil)
	require.NoError(t, err)
	require.False(t, res.IsError, res.Text)
	require.Equal(t, "/api/users/7", up.uri())
	_, err = s.Call(t.Context(), nil, "get", map[string]any{"id": "../../x"}, nil)
	require.True(t, errors.Is(err, ErrInvalidArguments))
}

// Response and error templates answer the MCP client; the server's
// secrets (config under secret names) are not readable from them.
func TestSecretsNotReadableFromResponseTemplates(t *testing.T) {
	up := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"bad"}`))
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	src := fmt.Sprintf(`
server:
  name: leak
  config: {apiKey: cfg-SECRET-1, nested: {accessToken: cfg-SECRET-2}, region: eu}
tools:
- name: ok
  requestTemplate: {url: "%[1]s/ok", headers: [{key: X-Key, value: "{{.config.apiKey}}"}]}
  responseTemplate: {body: "key={{.config.apiKey}} token={{.config.nested.accessToken}} region={{.config.region}}"}
- name: fail
  requestTemplate: {url: "%[1]s/fail"}
  errorResponseTemplate: "key={{.config.apiKey}}"
- name: direct
  responseTemplate: {body: "key={{.config.apiKey}} region={{.config.region}}"}
`, up.URL)
	d, err := Parse([]byte(src), "application/yaml")
	require.NoError(t, err)
	s, err := Compile(d)
	require.NoError(t, err)
	for _, tool := range []string{"ok", "fail", "direct"} {
		res, err := s.Call(t.Context(), nil, tool, nil, nil)
		require.NoError(t, err)
		require.NotContains(t, res.Text, "cfg-SECRET", tool)
		if tool != "fail" {
			require.Contains(t, res.Text, "region=eu", "non-secret config stays readable")
		}
		if tool == "ok" {
			// The request itself still carries the key.
			h, _ := up.lastHdr.Load().(http.Header)
			require.Equal(t, "cfg-SECRET-1", h.Get("X-Key"))
		}
	}
}

// Client-visible errors name the tool, host and status; never userinfo,
// secret path parts, queries, or a credential the upstream echoes.
func TestErrorsDoNotLeakCredentials(t *testing.T) {
	up := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = fmt.Fprintf(w, "bad key %s", r.Header.Get("X-Api-Key"))
	})
	host := strings.TrimPrefix(up.URL, "http://")
	src := fmt.Sprintf(`
server:
  name: errs
  securitySchemes:
  - {id: key, type: apiKey, in: header, name: X-Api-Key, defaultCredential: HDR-PASSWORD-3}
tools:
- name: userinfo
  requestTemplate: {url: "http://user:URL-PASSWORD-1@127.0.0.1:1/botPATH-TOKEN-2/send?api_key=QUERY-KEY-4"}
- name: echo
  requestTemplate: {url: "http://%s/x", security: {id: key}}
`, host)
	d, err := Parse([]byte(src), "application/yaml")
	require.NoError(t, err)
	s, err := Compile(d)
	require.NoError(t, err)
	res, err := s.Call(t.Context(), nil, "userinfo", nil, nil)
	require.NoError(t, err)
	require.True(t, res.IsError)
	require.Contains(t, res.Text, `tool "userinfo"`)
	require.Contains(t, res.Text, "127.0.0.1:1")
	for _, secret := range []string{"URL-PASSWORD-1", "PATH-TOKEN-2", "QUERY-KEY-4", "user:"} {
		require.NotContains(t, res.Text, secret)
	}
	res, err = s.Call(t.Context(), nil, "echo", nil, nil)
	require.NoError(t, err)
	require.True(t, res.IsError)
	require.Contains(t, res.Text, "401")
	require.Contains(t, res.Text, host)
	require.NotContains(t, res.Text, "HDR-PASSWORD-3")
}

// A redirect to another host is not followed: the API key header would
// go with it. A redirect on the same host is.
func TestRedirectsToAnotherHostCarryNoCredentials(t *testing.T) {
	evil := newRecorder(t, nil)
	up := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, evil.URL+"/steal", http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/final", http.StatusFound)
		default:
			_, _ = w.Write([]byte(`{"at":"` + r.URL.Path + `"}`))
		}
	})
	src := fmt.Sprintf(`
server:
  name: redir
  securitySchemes:
  - {id: key, type: apiKey, in: header, name: X-Api-Key, defaultCredential: REDIRECT-KEY}
  defaultUpstreamSecurity: {id: key}
tools:
- name: away
  requestTemplate: {url: "%[1]s/away"}
- name: here
  requestTemplate: {url: "%[1]s/here"}
`, up.URL)
	d, err := Parse([]byte(src), "application/yaml")
	require.NoError(t, err)
	s, err := Compile(d)
	require.NoError(t, err)
	res, err := s.Call(t.Context(), &http.Client{}, "away", nil, nil)
	require.NoError(t, err)
	require.True(t, res.IsError)
	require.Contains(t, res.Text, "redirect to another host")
	require.Zero(t, evil.hits.Load(), "the redirect was followed to another host")

	res, err = s.Call(t.Context(), &http.Client{}, "here", nil, nil)
	require.NoError(t, err)
	require.False(t, res.IsError, res.Text)
	require.Contains(t, res.Text, "/final")
}

// Arguments that do not fit the input schema are refused before anything
// is sent, naming the argument; Higress's lenient conversions still apply.
func TestArgumentsCheckedAgainstInputSchema(t *testing.T) {
	up := newRecorder(t, nil)
	src := fmt.Sprintf(`
server: {name: typed}
tools:
- name: get
  args:
  - {name: id, type: string, required: true, position: path}
  - {name: limit, type: integer, position: query}
  - {name: mode, enum: [fast, slow], position: query}
  requestTemplate: {url: "%s/items/{id}"}
`, up.URL)
	d, err := Parse([]byte(src), "application/yaml")
	require.NoError(t, err)
	s, err := Compile(d)
	require.NoError(t, err)
	bad := []struct {
		args map[string]any
		arg  string
	}{
		{map[string]any{"id": map[string]any{"x": 1}}, `"id"`},
		{map[string]any{"id": "7", "limit": "ten"}, `"limit"`},
		{map[string]any{"id": "7", "limit": 2.5}, `"limit"`},
		{map[string]any{"id": "7", "mode": "turbo"}, `"mode"`},
	}
	for _, tc := range bad {
		_, err := s.Call(t.Context(), nil, "get", tc.args, nil)
		require.ErrorIs(t, err, ErrInvalidArguments, "%v", tc.args)
		require.Contains(t, err.Error(), "argument "+tc.arg)
	}
	require.Zero(t, up.hits.Load(), "an invalid call reached the upstream")
	// "5" for an integer is converted, as Higress does.
	res, err := s.Call(t.Context(), nil, "get", map[string]any{"id": "7", "limit": "5"}, nil)
	require.NoError(t, err)
	require.False(t, res.IsError, res.Text)
	require.Equal(t, "/items/7?limit=5", up.uri())
}

// An argument inside the host (Higress's e2b definition sends to
// 49999-<sandbox>.e2b.dev) stays one label of the definition's domain.
func TestArgumentInHostStaysInTheDomain(t *testing.T) {
	s, err := compileYAML(t, `
server: {name: sandbox}
tools:
- name: exec
  args: [{name: id, required: true}]
  requestTemplate: {url: "https://49999-{{.args.id}}.e2b.example/execute", method: POST}
- name: anyhost
  args: [{name: h, required: true}]
  requestTemplate: {url: "https://{{.args.h}}/x"}
`)
	require.NoError(t, err)
	r, err := s.Render("exec", map[string]any{"id": "abc-123"}, nil)
	require.NoError(t, err)
	require.Equal(t, "https://49999-abc-123.e2b.example/execute", r.URL)
	for _, id := range []string{"x.evil.com/", "x@evil.com", "a.b", "x:1", ""} {
		_, err := s.Render("exec", map[string]any{"id": id}, nil)
		require.Error(t, err, "id %q", id)
	}
	_, err = s.Render("anyhost", map[string]any{"h": "api.example.com"}, nil)
	require.Error(t, err, "a host wholly from an argument is refused")
	ws := warningPtrs(s.Warnings())
	require.NotNil(t, findField(ws, "tools[1].requestTemplate.url"))
	require.Nil(t, findField(ws, "tools[0].requestTemplate.url"))
}
