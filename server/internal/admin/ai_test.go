package admin

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse-dev/gatehouse/server/internal/control"
	"github.com/gatehouse-dev/gatehouse/server/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/server/internal/health"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
	"github.com/gatehouse-dev/gatehouse/server/internal/usage"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// acceptAll stands in for ai-proxy.so and key-auth.so: it accepts every
// config and answers 200 "ok".
type acceptAll struct{ name string }

func (a acceptAll) Info() pluginapi.Info {
	return pluginapi.Info{Name: a.name, Version: "test", ABIVersion: pluginapi.ABIVersion, Phase: pluginapi.PhaseDefault}
}
func (acceptAll) ConfigSchema() json.RawMessage { return json.RawMessage(`{"type":"object"}`) }
func (acceptAll) New(context.Context, json.RawMessage, pluginapi.Host) (pluginapi.Instance, error) {
	return okInstance{}, nil
}

type okInstance struct{}

func (okInstance) Handler(http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
}
func (okInstance) Close() error { return nil }

type fakePlugins map[string]pluginapi.Plugin

func (f fakePlugins) Get(name string) (pluginapi.Plugin, bool) { p, ok := f[name]; return p, ok }

type aiAdmin struct {
	s     *Server
	ctl   *control.Control
	reg   *prometheus.Registry
	token string
}

func newAIAdmin(t *testing.T) *aiAdmin {
	t.Helper()
	return newAIAdminOn(t, nil)
}

// newAIAdminOn is newAIAdmin whose consumer usage lives in rdb (nil: no
// Redis configured).
func newAIAdminOn(t *testing.T, rdb redis.UniversalClient) *aiAdmin {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), log)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	gw := gateway.New(nil, nil)
	t.Cleanup(gw.Close)
	ctl := control.New(control.Options{Store: st, Gateway: gw, Logger: log,
		Plugins: fakePlugins{"ai-proxy": acceptAll{"ai-proxy"}, "key-auth": acceptAll{"key-auth"}},
		Host:    func(string) pluginapi.Host { return nil }})
	require.NoError(t, ctl.Load(ctx))
	reg := prometheus.NewRegistry()
	counters, err := usage.New(usage.Options{Redis: func() redis.UniversalClient { return rdb }, Store: st, Logger: log})
	require.NoError(t, err)
	s, err := New(Options{Store: st, Logger: log, JWTSecret: []byte("0123456789abcdef0123456789abcdef"), JWTLifetime: time.Hour,
		LogFile: filepath.Join(t.TempDir(), "gateway.log"), Health: health.NewChecker("test"), Plugins: noPlugins{},
		Registry: reg, Config: ctl, Usage: counters})
	require.NoError(t, err)
	hash, err := bcrypt.GenerateFromPassword([]byte("password-123456"), bcrypt.MinCost)
	require.NoError(t, err)
	u, err := st.CreateFirstUser(ctx, "admin", string(hash))
	require.NoError(t, err)
	tok, err := s.issueToken(u, time.Now().Add(time.Hour))
	require.NoError(t, err)
	return &aiAdmin{s: s, ctl: ctl, reg: reg, token: tok}
}

func (a *aiAdmin) do(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	a.s.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

const (
	tokenOne = "sk-first-secret-token-111"
	tokenTwo = "sk-second-secret-token-22"
)

func TestLLMProviderTokensAreWriteOnly(t *testing.T) {
	a := newAIAdmin(t)
	code, body := a.do(t, "POST", "/api/v1/llm-providers", `{"name":"openai-1","type":"openai","tokens":["`+tokenOne+`","`+tokenTwo+`"],
		"endpoint":"http://127.0.0.1:9000","rawConfigs":{"timeout":30000,"customSettings":[{"name":"x","value":1}],"proxyPassword":"hunter2-secret"}}`)
	require.Equal(t, http.StatusCreated, code, body)
	require.JSONEq(t, `{"name":"openai-1","type":"openai","tokens":["********","********"],"endpoint":"http://127.0.0.1:9000",
		"rawConfigs":{"timeout":30000,"customSettings":[{"name":"x","value":1}],"proxyPassword":"********"},"version":1}`, body)

	noSecrets := func(body string) {
		t.Helper()
		for _, s := range []string{tokenOne, tokenTwo, "hunter2-secret"} {
			require.NotContains(t, body, s)
		}
	}
	for _, path := range []string{"/api/v1/llm-providers", "/api/v1/llm-providers/openai-1", "/api/v1/revisions"} {
		code, body := a.do(t, "GET", path, "")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, `"********"`)
		noSecrets(body)
	}

	// Masks are kept while type and endpoint stay.
	code, body = a.do(t, "PUT", "/api/v1/llm-providers/openai-1", `{"name":"openai-1","type":"openai","tokens":["********","********"],
		"endpoint":"http://127.0.0.1:9000","protocol":"original","rawConfigs":{"timeout":1000,"proxyPassword":"********"},"version":1}`)
	require.Equal(t, http.StatusOK, code, body)
	snap, _ := a.ctl.Snapshot()
	require.Equal(t, []string{tokenOne, tokenTwo}, snap.LLMProviders[0].Tokens)
	require.Equal(t, "hunter2-secret", snap.LLMProviders[0].RawConfigs["proxyPassword"])
	require.Equal(t, "original", snap.LLMProviders[0].Protocol)

	// One token replaced, one removed: the kept mask is the one at its position.
	code, body = a.do(t, "PUT", "/api/v1/llm-providers/openai-1", `{"type":"openai","tokens":["********","sk-new-token"],"endpoint":"http://127.0.0.1:9000","version":2}`)
	require.Equal(t, http.StatusOK, code, body)
	snap, _ = a.ctl.Snapshot()
	require.Equal(t, []string{tokenOne, "sk-new-token"}, snap.LLMProviders[0].Tokens)

	tests := []struct {
		name, body, field, msg string
	}{
		{"endpoint changed", `{"type":"openai","tokens":["********","sk-new-token"],"endpoint":"https://evil.example.com","version":3}`,
			"tokens[0]", "the type or endpoint changed"},
		{"type changed", `{"type":"deepseek","tokens":["********","********"],"endpoint":"http://127.0.0.1:9000","version":3}`,
			"tokens[1]", "the type or endpoint changed"},
		{"a mask beyond the stored tokens", `{"type":"openai","tokens":["********","********","********"],"endpoint":"http://127.0.0.1:9000","version":3}`,
			"tokens[2]", "no token is stored at this position"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := a.do(t, "PUT", "/api/v1/llm-providers/openai-1", tt.body)
			require.Equal(t, http.StatusBadRequest, code, body)
			var e struct {
				Error apiError `json:"error"`
			}
			require.NoError(t, json.Unmarshal([]byte(body), &e))
			require.Equal(t, "llm_provider_invalid", e.Error.Code)
			require.Contains(t, fieldsOf(e.Error.Details), tt.field)
			require.Contains(t, body, tt.msg)
			noSecrets(body)
			snap, _ := a.ctl.Snapshot()
			require.Equal(t, int64(3), snap.LLMProviders[0].Version, "nothing changed")
			require.Equal(t, []string{tokenOne, "sk-new-token"}, snap.LLMProviders[0].Tokens)
		})
	}
	t.Run("a mask on create", func(t *testing.T) {
		code, body := a.do(t, "POST", "/api/v1/llm-providers", `{"name":"p2","type":"openai","tokens":["********"]}`)
		require.Equal(t, http.StatusBadRequest, code, body)
		require.Contains(t, body, `"field":"tokens[0]"`)
	})
	t.Run("validation errors never quote a token", func(t *testing.T) {
		code, body := a.do(t, "POST", "/api/v1/llm-providers", `{"name":"p3","type":"openai","tokens":["`+tokenOne+`","`+tokenOne+`"]}`)
		require.Equal(t, http.StatusBadRequest, code, body)
		require.Contains(t, body, `"field":"tokens[1]"`)
		noSecrets(body)
	})
	t.Run("a stale version is refused", func(t *testing.T) {
		code, body := a.do(t, "PUT", "/api/v1/llm-providers/openai-1", `{"type":"openai","tokens":["********"],"endpoint":"http://127.0.0.1:9000","version":1}`)
		require.Equal(t, http.StatusConflict, code, body)
		require.Contains(t, body, `"version_conflict"`)
	})
}

func fieldsOf(ds []fieldDetail) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Field
	}
	return out
}

func TestAIRoutesShowAsReadOnlyRoutes(t *testing.T) {
	a := newAIAdmin(t)
	code, body := a.do(t, "POST", "/api/v1/llm-providers", `{"name":"p","type":"openai","tokens":["sk-x-secret"]}`)
	require.Equal(t, http.StatusCreated, code, body)
	code, body = a.do(t, "POST", "/api/v1/ai-routes", `{"name":"chat","domains":["ai.example.com"],"pathPrefix":"/llm","upstreams":[{"provider":"p"}]}`)
	require.Equal(t, http.StatusCreated, code, body)
	require.JSONEq(t, `{"name":"chat","domains":["ai.example.com"],"pathPrefix":"/llm","upstreams":[{"provider":"p","weight":100}],
		"modelPredicates":[],"enabled":true,"version":1}`, body)

	code, body = a.do(t, "GET", "/api/v1/routes", "")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"items":[{"name":"ai-route/chat","readOnly":true,"source":{"kind":"ai-route","name":"chat"},
		"domains":["ai.example.com"],"path":{"type":"prefix","value":"/llm"},"enabled":true}],"total":1}`, body)
	code, body = a.do(t, "GET", "/api/v1/routes?q=nothing", "")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"items":[],"total":0}`, body)
	code, _ = a.do(t, "GET", "/api/v1/routes/ai-route/chat", "")
	require.Equal(t, http.StatusOK, code)

	for _, method := range []string{"PUT", "DELETE"} {
		code, body = a.do(t, method, "/api/v1/routes/ai-route/chat", `{"name":"ai-route/chat"}`)
		require.Equal(t, http.StatusConflict, code, body)
		require.Contains(t, body, `"code":"route_read_only"`)
		require.Contains(t, body, "/api/v1/ai-routes/chat")
	}

	// A refused AI route (unknown provider) names the field; the stored
	// route stays as it was.
	code, body = a.do(t, "PUT", "/api/v1/ai-routes/chat", `{"pathPrefix":"/llm","upstreams":[{"provider":"nope"}],"version":1}`)
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, `"code":"ai_route_invalid"`)
	require.Contains(t, body, `"field":"upstreams[0].provider"`)
	code, body = a.do(t, "DELETE", "/api/v1/llm-providers/p", "")
	require.Equal(t, http.StatusBadRequest, code, "a provider in use cannot be deleted: %s", body)
	code, _ = a.do(t, "DELETE", "/api/v1/ai-routes/chat", "")
	require.Equal(t, http.StatusNoContent, code)
	code, body = a.do(t, "GET", "/api/v1/routes", "")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"items":[],"total":0}`, body)
}

func TestLLMProviderTestDiagnoses(t *testing.T) {
	var seenAuth atomic.Value
	models := `{"object":"list","data":[{"id":"gpt-4o"},{"id":"gpt-4o-mini"}]}`
	serve := func(status int, body string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seenAuth.Store(r.Header.Get("Authorization") + "|" + r.Header.Get("X-Api-Key") + "|" + r.URL.Path)
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	// Listing is not offered: 404 on /v1/models; the chat answers.
	noList := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/chat/completions" && strings.Contains(readAll(r), `"model":"known"`):
			_, _ = io.WriteString(w, `{"choices":[{"message":{"content":"p"}}]}`)
		case r.URL.Path == "/v1/chat/completions":
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"message":"The model does not exist"}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(noList.Close)
	hang := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, models) }))
	t.Cleanup(tlsSrv.Close)
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/v1/models", http.StatusFound)
	}))
	t.Cleanup(redirect.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	refused := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())

	tests := []struct {
		name, typ, endpoint, model string
		diagnosis, msg             string
		models                     []string
		auth                       string
	}{
		{"lists models with the first token", "openai", serve(200, models).URL, "", "ok", "answered with 2 models", []string{"gpt-4o", "gpt-4o-mini"}, "Bearer " + tokenOne + "||/v1/models"},
		{"endpoint with a version path", "vllm", serve(200, models).URL + "/v1", "", "ok", "2 models", []string{"gpt-4o", "gpt-4o-mini"}, "Bearer " + tokenOne + "||/v1/models"},
		{"claude headers", "claude", serve(200, `{"data":[{"id":"claude-sonnet-4-5"}]}`).URL, "", "ok", "1 models", []string{"claude-sonnet-4-5"}, "|" + tokenOne + "|/v1/models"},
		{"model not listed", "openai", serve(200, models).URL, "gpt-5", "unknown_model", `does not list the model "gpt-5"; it lists gpt-4o, gpt-4o-mini`, []string{"gpt-4o", "gpt-4o-mini"}, ""},
		{"401", "openai", serve(401, `{"error":{"message":"Incorrect API key provided: `+tokenOne+`"}}`).URL, "", "unauthorized", "refused the token (tokens[0])", nil, ""},
		{"403", "openai", serve(403, `{"error":{"message":"no access"}}`).URL, "", "forbidden", "not allowed", nil, ""},
		{"429", "openai", serve(429, `{"error":{"message":"slow down"}}`).URL, "", "rate_limited", "slow down", nil, ""},
		{"not JSON", "openai", serve(200, `<html>login</html>`).URL, "", "bad_response", "not with JSON", nil, ""},
		{"500", "openai", serve(500, `{"error":{"message":"overloaded"}}`).URL, "", "bad_response", "answered 500", nil, ""},
		{"no listing, chat with a known model", "generic", noList.URL, "known", "ok", "one-token chat", nil, ""},
		{"no listing, unknown model", "generic", noList.URL, "other", "unknown_model", `does not know the model "other"`, nil, ""},
		{"no listing, no model", "generic", noList.URL, "", "bad_response", `send {"model": "…"}`, nil, ""},
		{"connection refused", "openai", refused, "", "connection_refused", "connection refused", nil, ""},
		{"timeout", "openai", hang.URL, "", "timeout", "did not answer in time", nil, ""},
		{"TLS not trusted", "openai", tlsSrv.URL, "", "tls_handshake_failed", "certificate is not trusted", nil, ""},
		{"TLS to a plain server", "openai", strings.Replace(serve(200, models).URL, "http://", "https://", 1), "", "tls_handshake_failed", "does the endpoint speak HTTPS", nil, ""},
		{"redirects are not followed", "openai", redirect.URL, "", "bad_response", "redirects are not followed", nil, ""},
		{"DNS", "openai", "http://no-such-host.invalid", "", "dns_not_found", `"no-such-host.invalid" was not found`, nil, ""},
	}
	a := newAIAdmin(t)
	a.s.ai.testTimeout = 2 * time.Second
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "p" + string(rune('a'+i))
			code, body := a.do(t, "POST", "/api/v1/llm-providers", `{"name":"`+name+`","type":"`+tt.typ+`","tokens":["`+tokenOne+`","`+tokenTwo+`"],"endpoint":"`+tt.endpoint+`"}`)
			require.Equal(t, http.StatusCreated, code, body)
			seenAuth.Store("")
			reqBody := ""
			if tt.model != "" {
				reqBody = `{"model":"` + tt.model + `"}`
			}
			code, body = a.do(t, "POST", "/api/v1/llm-providers/"+name+"/test", reqBody)
			require.Equal(t, http.StatusOK, code, body)
			var res providerTestResult
			require.NoError(t, json.Unmarshal([]byte(body), &res))
			require.Equal(t, tt.diagnosis, res.Diagnosis, res.Message)
			require.Equal(t, tt.diagnosis == "ok", res.OK)
			require.Contains(t, res.Message, tt.msg)
			require.NotContains(t, body, tokenOne, "the token never appears in the answer")
			if tt.models != nil {
				require.Equal(t, tt.models, res.Models)
			}
			if tt.auth != "" {
				require.Equal(t, tt.auth, seenAuth.Load())
			}
		})
	}
	require.Zero(t, elsewhere.Load(), "the token was never carried to a redirect's target")

	code, body := a.do(t, "POST", "/api/v1/llm-providers", `{"name":"local","type":"vllm","tokens":[]}`)
	require.Equal(t, http.StatusCreated, code, body)
	code, body = a.do(t, "POST", "/api/v1/llm-providers/local/test", "")
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, `"field":"endpoint"`)
	code, _ = a.do(t, "POST", "/api/v1/llm-providers/missing/test", "")
	require.Equal(t, http.StatusNotFound, code)
}

func readAll(r *http.Request) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func TestAIUsageOverAWindow(t *testing.T) {
	a := newAIAdmin(t)
	labels := []string{"ai_route", "ai_cluster", "ai_model", "ai_consumer"}
	in := prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricAIInputTokens}, labels)
	out := prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricAIOutputTokens}, labels)
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricAIRequests}, append(labels, "status"))
	fb := prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricAIFallbacks}, []string{"ai_route", "from", "to"})
	ft := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: metricAIFirstToken, Buckets: []float64{0.01, 0.02, 0.05, 0.1, 1}}, labels)
	cacheLabels := []string{"ai_route", "ai_model", "ai_consumer"}
	hits := prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricAICacheHits}, cacheLabels)
	misses := prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricAICacheMisses}, cacheLabels)
	a.reg.MustRegister(in, out, reqs, fb, ft, hits, misses)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	u := a.s.ai.usage
	u.now = func() time.Time { return now }

	call := func(model, consumer, status string, input, output, firstToken float64) {
		in.WithLabelValues("chat", "p", model, consumer).Add(input)
		out.WithLabelValues("chat", "p", model, consumer).Add(output)
		reqs.WithLabelValues("chat", "p", model, consumer, status).Inc()
		ft.WithLabelValues("chat", "p", model, consumer).Observe(firstToken)
	}
	// Two hours ago.
	call("gpt-4o", "team-a", "200", 100, 10, 0.5)
	misses.WithLabelValues("chat", "gpt-4o", "team-a").Inc()
	u.sample(now.Add(-2 * time.Hour))
	// Within the last hour.
	call("gpt-4o", "team-a", "200", 5, 7, 0.015)
	call("gpt-4o", "team-b", "429", 0, 0, 0.015)
	call("claude-sonnet-4-5", "team-a", "200", 20, 30, 0.015)
	fb.WithLabelValues("chat", "p", "q").Inc()
	hits.WithLabelValues("chat", "gpt-4o", "team-a").Add(3)
	misses.WithLabelValues("chat", "gpt-4o", "team-b").Inc()
	u.sample(now.Add(-30 * time.Minute))

	code, body := a.do(t, "GET", "/api/v1/ai/usage?window=1h", "")
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"window":"1h",
		"byModel":[{"model":"claude-sonnet-4-5","inputTokens":20,"outputTokens":30,"requests":1,"errors":0},
		           {"model":"gpt-4o","inputTokens":5,"outputTokens":7,"requests":2,"errors":1}],
		"byConsumer":[{"consumer":"team-a","inputTokens":25,"outputTokens":37,"requests":2},
		              {"consumer":"team-b","inputTokens":0,"outputTokens":0,"requests":1}],
		"firstTokenMs":{"p50":15,"p99":19.9},"errors":1,"fallbacks":1,"requests":3,
		"cache":{"hits":3,"misses":1,"hitRate":0.75}}`, body)

	code, body = a.do(t, "GET", "/api/v1/ai/usage?window=24h", "")
	require.Equal(t, http.StatusOK, code, body)
	var day aiUsageAnswer
	require.NoError(t, json.Unmarshal([]byte(body), &day))
	require.Equal(t, float64(4), day.Requests, "the process is younger than a day: everything since it started")
	require.Equal(t, "gpt-4o", day.ByModel[0].Model)
	require.Equal(t, float64(105), day.ByModel[0].InputTokens)
	require.Equal(t, aiCacheUsage{Hits: 3, Misses: 2, HitRate: 0.6}, day.Cache)

	code, body = a.do(t, "GET", "/api/v1/ai/usage?window=7d", "")
	require.Equal(t, http.StatusBadRequest, code, body)
}
