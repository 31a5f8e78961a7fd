package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi/memstore"
)

type testHost struct{}

func (testHost) Logger() *slog.Logger               { return slog.New(slog.DiscardHandler) }
func (testHost) Redis() redis.UniversalClient       { return nil }
func (testHost) HTTPClient() *http.Client           { return http.DefaultClient }
func (testHost) Metrics() prometheus.Registerer     { return prometheus.NewRegistry() }
func (testHost) InstanceID() string                 { return "test" }
func (testHost) SharedStore() pluginapi.SharedStore { return memstore.New(0) }

// upstream answers like a backend with its own (wrong) CORS policy.
type upstream struct{ calls int }

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.calls++
	w.Header().Set("Access-Control-Allow-Origin", "https://upstream.example")
	w.Header().Set("Access-Control-Allow-Methods", "TRACE")
	w.Header().Set("Vary", "Accept-Encoding")
	w.Header().Set("X-Request-Id", "r1")
	_, _ = io.WriteString(w, "upstream "+r.Method)
}

func newHandler(t *testing.T, cfg string) (http.Handler, *upstream) {
	t.Helper()
	inst, err := Plugin.New(context.Background(), json.RawMessage(cfg), testHost{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, inst.Close()) })
	up := &upstream{}
	return inst.Handler(up), up
}

func do(h http.Handler, method, origin string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/api", nil)
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func corsHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			out[k] = strings.Join(h.Values(k), "|")
		}
	}
	return out
}

func TestInfoAndSchema(t *testing.T) {
	info := Plugin.Info()
	require.Equal(t, "cors", info.Name)
	require.Equal(t, pluginapi.ABIVersion, info.ABIVersion)
	require.Equal(t, pluginapi.PhaseAuthn, info.Phase, "cors runs before authentication: preflights carry no credentials")
	require.Greater(t, info.Priority, 300, "cors runs before key-auth (priority 300) in the authn phase")
	require.NotEmpty(t, info.Version)
	require.NotEmpty(t, info.Description)
	var schema map[string]any
	require.NoError(t, json.Unmarshal(Plugin.ConfigSchema(), &schema))
	require.Equal(t, false, schema["additionalProperties"])
	props := schema["properties"].(map[string]any)
	ct := reflect.TypeFor[config]()
	require.Len(t, props, ct.NumField())
	for i := range ct.NumField() {
		name, _, _ := strings.Cut(ct.Field(i).Tag.Get("json"), ",")
		require.Contains(t, props, name)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	cases := []struct {
		name   string
		config string
		fields map[string]string
	}{
		{"empty", `{}`, map[string]string{"allowOrigins": "is required"}},
		{"unknown and mistyped fields", `{"allowOrigins":["*"],"allowOrigin":["x"],"maxAge":"10m","allowCredentials":1}`,
			map[string]string{"allowOrigin": `did you mean "allowOrigins"`, "maxAge": "whole number", "allowCredentials": "true or false"}},
		{"bad origins", `{"allowOrigins":["https://app.example.com/","https://*","ftp//x","https://a.example.com:99999"," https://b.example.com","https://*.example.com","*.example.org","http://localhost:3000","https://[::1]:8443"]}`,
			map[string]string{
				"allowOrigins[0]": `no path, query or trailing slash; use "https://app.example.com"`,
				"allowOrigins[1]": "not a valid origin pattern",
				"allowOrigins[2]": "is not an origin",
				"allowOrigins[3]": "invalid port",
				"allowOrigins[4]": "spaces",
			}},
		{"wildcard with credentials", `{"allowOrigins":["https://a.example.com","*"],"allowCredentials":true}`,
			map[string]string{"allowCredentials": `cannot be true while allowOrigins contains "*"`}},
		{"bad lists", `{"allowOrigins":["*"],"allowMethods":["GET","get","PO ST"],"allowHeaders":["content-type","x y"],"exposeHeaders":["x y"],"maxAge":-1}`,
			map[string]string{
				"allowMethods[1]":  `repeats allowMethods[0]`,
				"allowMethods[2]":  "not a valid name",
				"allowHeaders[1]":  "not a valid name",
				"exposeHeaders[0]": "not a valid name",
				"maxAge":           "from 0 to 86400",
			}},
		{"expose * with credentials", `{"allowOrigins":["https://a.example.com"],"allowCredentials":true,"exposeHeaders":["x-a","*"]}`,
			map[string]string{"exposeHeaders[1]": "exposes nothing on requests with credentials"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Plugin.New(context.Background(), json.RawMessage(tc.config), testHost{})
			require.Error(t, err)
			got := map[string]string{}
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() { //nolint:errorlint // a join
				var ce *pluginapi.ConfigError
				require.True(t, errors.As(e, &ce), "%v", e)
				got[ce.Field] = ce.Message
			}
			require.Len(t, got, len(tc.fields), "every problem and only those: %v", got)
			for f, msg := range tc.fields {
				require.Contains(t, got, f)
				require.Contains(t, got[f], msg)
			}
		})
	}
}

func TestOriginMatching(t *testing.T) {
	h, _ := newHandler(t, `{"allowOrigins":["https://app.example.com","https://*.example.com","*.example.org","http://localhost:3000","https://[::1]:8443"]}`)
	cases := []struct {
		origin string
		ok     bool
	}{
		{"https://app.example.com", true},
		{"https://APP.example.com", true},
		{"http://app.example.com", false}, // the scheme is part of the origin
		{"https://app.example.com:8443", false},
		{"https://a.b.example.com", true},
		{"https://example.com", false}, // *. needs a subdomain
		{"https://evilexample.com", false},
		{"https://app.example.com.evil.net", false},
		{"http://x.example.org", true}, // no scheme in the pattern: http or https
		{"https://x.example.org", true},
		{"wss://x.example.org", false},
		{"http://localhost:3000", true},
		{"http://localhost:3001", false},
		{"http://localhost", false},
		{"https://[::1]:8443", true},
		{"null", false},
		{"https://x.example.org/path", false},
	}
	for _, tc := range cases {
		t.Run(tc.origin, func(t *testing.T) {
			rec := do(h, "GET", tc.origin)
			require.Equal(t, 200, rec.Code, "an actual request goes on either way")
			require.Equal(t, "upstream GET", rec.Body.String())
			if tc.ok {
				require.Equal(t, tc.origin, rec.Header().Get("Access-Control-Allow-Origin"), "the origin is echoed as sent")
			} else {
				require.Empty(t, corsHeaders(rec.Header()), "a disallowed origin gets no CORS headers, not even the upstream's")
			}
			require.Contains(t, rec.Header().Values("Vary"), "Origin")
		})
	}
}

func TestPreflight(t *testing.T) {
	h, up := newHandler(t, `{"allowOrigins":["https://*.example.com"],"allowMethods":["GET","POST","DELETE"],
		"allowHeaders":["Content-Type","X-Api-Key"],"exposeHeaders":["X-Request-Id"],"allowCredentials":true,"maxAge":300}`)

	rec := do(h, "OPTIONS", "https://app.example.com", "Access-Control-Request-Method", "DELETE",
		"Access-Control-Request-Headers", "content-type, x-api-key")
	require.Equal(t, http.StatusNoContent, rec.Code)
	require.Equal(t, 0, up.calls, "the plugin answers the preflight itself")
	require.Equal(t, map[string]string{
		"Access-Control-Allow-Origin":      "https://app.example.com",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods":     "GET, POST, DELETE",
		"Access-Control-Allow-Headers":     "Content-Type, X-Api-Key",
		"Access-Control-Max-Age":           "300",
	}, corsHeaders(rec.Header()))
	require.Equal(t, "Origin, Access-Control-Request-Method, Access-Control-Request-Headers", rec.Header().Get("Vary"))
	require.Empty(t, rec.Body.String())

	refused := []struct {
		name, origin, method, headers, message string
	}{
		{"origin", "https://evil.test", "GET", "", `origin "https://evil.test" is not allowed`},
		{"method", "https://app.example.com", "PUT", "", "method PUT is not allowed from other origins; allowed: GET, POST, DELETE"},
		{"header", "https://app.example.com", "GET", "content-type, x-secret", `request header "x-secret" is not allowed`},
	}
	for _, tc := range refused {
		t.Run("refused "+tc.name, func(t *testing.T) {
			hdr := []string{"Access-Control-Request-Method", tc.method}
			if tc.headers != "" {
				hdr = append(hdr, "Access-Control-Request-Headers", tc.headers)
			}
			rec := do(h, "OPTIONS", tc.origin, hdr...)
			require.Equal(t, http.StatusForbidden, rec.Code)
			require.Empty(t, corsHeaders(rec.Header()), "a refused preflight has no CORS headers")
			var body struct {
				Error struct{ Code, Message string }
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			require.Equal(t, "cors_preflight_refused", body.Error.Code)
			require.Contains(t, body.Error.Message, tc.message)
			require.Equal(t, 0, up.calls)
		})
	}

	// An actual request of an allowed origin: the plugin's headers replace
	// the upstream's; the upstream's other headers stay.
	rec = do(h, "POST", "https://app.example.com")
	require.Equal(t, 200, rec.Code)
	require.Equal(t, map[string]string{
		"Access-Control-Allow-Origin":      "https://app.example.com",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Expose-Headers":    "X-Request-Id",
	}, corsHeaders(rec.Header()))
	require.Equal(t, []string{"Accept-Encoding", "Origin"}, rec.Header().Values("Vary"))
	require.Equal(t, "r1", rec.Header().Get("X-Request-Id"))

	// OPTIONS without Access-Control-Request-Method is not a preflight.
	rec = do(h, "OPTIONS", "https://app.example.com")
	require.Equal(t, "upstream OPTIONS", rec.Body.String())
}

func TestAnyOriginAnyHeader(t *testing.T) {
	h, up := newHandler(t, `{"allowOrigins":["*"],"allowMethods":["*"]}`)
	rec := do(h, "OPTIONS", "https://anything.test", "Access-Control-Request-Method", "PROPFIND",
		"Access-Control-Request-Headers", "X-One", "Access-Control-Request-Headers", "x-two,X-One")
	require.Equal(t, http.StatusNoContent, rec.Code)
	require.Equal(t, map[string]string{
		"Access-Control-Allow-Origin":  "*",
		"Access-Control-Allow-Methods": "PROPFIND",
		"Access-Control-Allow-Headers": "x-one, x-two",
		"Access-Control-Max-Age":       "600",
	}, corsHeaders(rec.Header()), "the default maxAge is 600; * echoes what was asked")

	rec = do(h, "GET", "https://anything.test")
	require.Equal(t, "*", rec.Header().Get("Access-Control-Allow-Origin"))
	require.NotContains(t, rec.Header().Values("Vary"), "Origin", "the answer does not depend on Origin")

	rec = do(h, "GET", "")
	require.Equal(t, 2, up.calls, "the preflight never reached the upstream")
	require.Equal(t, "https://upstream.example", rec.Header().Get("Access-Control-Allow-Origin"),
		"without Origin the request is not cross-origin and the response passes untouched")
}

// refusing is a later plugin (key-auth) answering 401 without the upstream.
type refusing struct{}

func (refusing) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = io.WriteString(w, `{"error":{"code":"unauthorized"}}`)
}

func TestHeadersOnResponsesOfLaterPluginsAndStreams(t *testing.T) {
	inst, err := Plugin.New(context.Background(), json.RawMessage(`{"allowOrigins":["https://app.example.com"]}`), testHost{})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Origin", "https://app.example.com")
	inst.Handler(refusing{}).ServeHTTP(rec, r)
	require.Equal(t, 401, rec.Code)
	require.Equal(t, "https://app.example.com", rec.Header().Get("Access-Control-Allow-Origin"),
		"a browser script can read the 401 of key-auth")

	// A handler that only flushes (a stream's first event) gets the headers too.
	srv := httptest.NewServer(inst.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		require.NoError(t, http.NewResponseController(w).Flush())
		_, _ = io.WriteString(w, "data: 1\n\n")
	})))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Origin", "https://app.example.com")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, "data: 1\n\n", string(body))
	require.Equal(t, "https://app.example.com", resp.Header.Get("Access-Control-Allow-Origin"))

	// A handler that writes nothing: the implicit 200 carries the headers.
	rec = httptest.NewRecorder()
	inst.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, r)
	require.Equal(t, "https://app.example.com", rec.Header().Get("Access-Control-Allow-Origin"))
}
