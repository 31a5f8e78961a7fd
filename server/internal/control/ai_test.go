package control

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/gatehouse-dev/gatehouse/server/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// fakeAIProxy stands in for ai-proxy.so: it records every config it is
// given, refuses a provider of type "generic" whose first token starts
// with "refuse-" (naming providers[i].apiTokens[0] and quoting the token,
// as a careless plugin might), and serves a request whose X-Model header
// matches one of its EQUAL/PRE predicates (or any, without predicates)
// by answering "served by <routeName>"; others go to next.
type fakeAIProxy struct {
	mu      sync.Mutex
	configs []map[string]any
	closed  int
}

type fakeConfig struct {
	RouteName       string `json:"routeName"`
	ModelPredicates []struct {
		MatchType, MatchValue string
	} `json:"modelPredicates"`
	Providers []struct {
		Type      string   `json:"type"`
		APITokens []string `json:"apiTokens"`
	} `json:"providers"`
}

func (f *fakeAIProxy) Info() pluginapi.Info {
	return pluginapi.Info{Name: AIProxyPlugin, Version: "test", ABIVersion: pluginapi.ABIVersion, Phase: pluginapi.PhaseDefault}
}
func (f *fakeAIProxy) ConfigSchema() json.RawMessage { return json.RawMessage(`{"type":"object"}`) }
func (f *fakeAIProxy) New(_ context.Context, raw json.RawMessage, _ pluginapi.Host) (pluginapi.Instance, error) {
	var cfg fakeConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, err
	}
	for i, p := range cfg.Providers {
		if p.Type == "generic" && len(p.APITokens) > 0 && strings.HasPrefix(p.APITokens[0], "refuse-") {
			return nil, &pluginapi.ConfigError{Field: fmt.Sprintf("providers[%d].apiTokens[0]", i), Message: "token " + p.APITokens[0] + " is refused"}
		}
	}
	var doc map[string]any
	_ = json.Unmarshal(raw, &doc)
	f.mu.Lock()
	f.configs = append(f.configs, doc)
	f.mu.Unlock()
	return &fakeAIInstance{plugin: f, cfg: cfg}, nil
}

// lastConfig is the newest config of routeName.
func (f *fakeAIProxy) lastConfig(routeName string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.configs) - 1; i >= 0; i-- {
		if f.configs[i]["routeName"] == routeName {
			return f.configs[i]
		}
	}
	return nil
}

type fakeAIInstance struct {
	plugin *fakeAIProxy
	cfg    fakeConfig
}

func (in *fakeAIInstance) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		model := r.Header.Get("X-Model")
		ok := len(in.cfg.ModelPredicates) == 0
		for _, p := range in.cfg.ModelPredicates {
			ok = ok || p.MatchType == spec.MatchEqual && model == p.MatchValue || p.MatchType == spec.MatchPrefix && strings.HasPrefix(model, p.MatchValue)
		}
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		consumer, _ := pluginapi.ConsumerFromContext(r.Context())
		w.Header().Set("X-Consumer", consumer)
		w.Header().Set("X-Authorization-Seen", r.Header.Get("Authorization"))
		_, _ = fmt.Fprintf(w, "served by %s", in.cfg.RouteName)
	})
}

func (in *fakeAIInstance) Close() error {
	in.plugin.mu.Lock()
	in.plugin.closed++
	in.plugin.mu.Unlock()
	return nil
}

// fakeKeyAuth checks "Authorization: Bearer <key>" or x-api-key against
// its consumers and removes them (hideCredentials), like key-auth.
type fakeKeyAuth struct {
	mu      sync.Mutex
	configs []string
}

func (*fakeKeyAuth) Info() pluginapi.Info {
	return pluginapi.Info{Name: KeyAuthPlugin, Version: "test", ABIVersion: pluginapi.ABIVersion, Phase: pluginapi.PhaseAuthn}
}
func (*fakeKeyAuth) ConfigSchema() json.RawMessage { return json.RawMessage(`{"type":"object"}`) }
func (k *fakeKeyAuth) New(_ context.Context, raw json.RawMessage, _ pluginapi.Host) (pluginapi.Instance, error) {
	var cfg struct {
		Consumers       []spec.Consumer `json:"consumers"`
		Keys            []string        `json:"keys"`
		HideCredentials bool            `json:"hideCredentials"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, err
	}
	if len(cfg.Consumers) == 0 {
		return nil, &pluginapi.ConfigError{Field: "consumers", Message: "is required"}
	}
	k.mu.Lock()
	k.configs = append(k.configs, string(raw))
	k.mu.Unlock()
	return fakeKeyAuthInstance(cfg.Consumers), nil
}

type fakeKeyAuthInstance []spec.Consumer

func (c fakeKeyAuthInstance) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if key == "" {
			key = r.Header.Get("X-Api-Key")
		}
		for _, cc := range c {
			if cc.Key == key {
				r.Header.Del("Authorization")
				r.Header.Del("X-Api-Key")
				next.ServeHTTP(w, r.WithContext(pluginapi.WithConsumer(r.Context(), cc.Name)))
				return
			}
		}
		http.Error(w, "no valid key", http.StatusUnauthorized)
	})
}
func (fakeKeyAuthInstance) Close() error { return nil }

type pluginMap map[string]pluginapi.Plugin

func (m pluginMap) Get(name string) (pluginapi.Plugin, bool) { p, ok := m[name]; return p, ok }

type aiEnv struct {
	ctl   *Control
	gw    *gateway.Gateway
	proxy *fakeAIProxy
	auth  *fakeKeyAuth
	st    *store.Store
}

func newAIEnv(t *testing.T, dsn string, plugins pluginMap) *aiEnv {
	t.Helper()
	ctx := context.Background()
	if dsn == "" {
		dsn = filepath.Join(t.TempDir(), "gatehouse.db")
	}
	st, err := store.Open(ctx, dsn, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	e := &aiEnv{gw: gateway.New(nil, nil), proxy: &fakeAIProxy{}, auth: &fakeKeyAuth{}, st: st}
	t.Cleanup(e.gw.Close)
	if plugins == nil {
		plugins = pluginMap{AIProxyPlugin: e.proxy, KeyAuthPlugin: e.auth}
	}
	e.ctl = New(Options{Store: st, Gateway: e.gw, Plugins: plugins, Logger: slog.New(slog.DiscardHandler),
		Host: func(string) pluginapi.Host { return nil }})
	require.NoError(t, e.ctl.Load(ctx))
	return e
}

func (e *aiEnv) apply(t *testing.T, changes ...Change) error {
	t.Helper()
	_, err := e.ctl.Apply(context.Background(), "admin", changes)
	return err
}

func (e *aiEnv) call(method, path string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(`{"model":"`+header["X-Model"]+`"}`))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if h := header["Host"]; h != "" {
		req.Host = h
	}
	rec := httptest.NewRecorder()
	e.gw.ServeHTTP(rec, req)
	return rec
}

func putObj(kind, name string, obj spec.Object) Change {
	return Change{Kind: kind, Name: name, Object: obj}
}

const (
	aliceKey = "alice-key-0123456789"
	bobKey   = "bob-key-0123456789ab"
)

func keyAuthInstance() spec.PluginInstance {
	return spec.PluginInstance{Name: "keys", Plugin: KeyAuthPlugin, Scope: spec.Scope{Type: spec.ScopeRoute, Value: "other"},
		// Keys in sorted order, as a YAML file gives them back.
		Config: json.RawMessage(`{"consumers":[{"key":"` + aliceKey + `","name":"alice"},{"key":"` + bobKey + `","name":"bob"}]}`)}
}

func baseAIObjects() []Change {
	return []Change{
		putObj(spec.KindService, "svc", spec.Service{Name: "svc", Endpoints: []spec.Endpoint{{URL: "http://127.0.0.1:9"}}}),
		putObj(spec.KindRoute, "other", spec.Route{Name: "other", Path: spec.PathMatch{Type: spec.PathPrefix, Value: "/other"}, Service: "svc"}),
		putObj(spec.KindPluginInstance, "keys", keyAuthInstance()),
		putObj(spec.KindLLMProvider, "openai-1", spec.LLMProvider{Name: "openai-1", Type: "openai", Tokens: []string{"sk-one-secret", "sk-two-secret"},
			Endpoint: "http://127.0.0.1:9000", Protocol: spec.ProtocolOpenAI,
			TokenFailoverConfig: &spec.TokenFailoverConfig{Enabled: true, FailureThreshold: 3, HealthCheckModel: "gpt-4o-mini"},
			RawConfigs:          map[string]any{"timeout": 30000, "modelMapping": map[string]any{"*": "gpt-4o"}}}),
		putObj(spec.KindLLMProvider, "claude-1", spec.LLMProvider{Name: "claude-1", Type: "claude", Tokens: []string{"sk-ant-secret"}}),
	}
}

func TestAIRoutesCompileIntoOneMountPerPathWithKeyAuthFirst(t *testing.T) {
	e := newAIEnv(t, "", nil)
	chat := spec.AIRoute{Name: "chat", PathPrefix: "/ai",
		Upstreams:       []spec.AIUpstream{{Provider: "openai-1", Weight: 80, ModelMapping: map[string]string{"gpt-4": "gpt-4o"}}, {Provider: "claude-1", Weight: 20}},
		ModelPredicates: []spec.AIModelPredicate{{MatchType: spec.MatchPrefix, MatchValue: "gpt-"}},
		AuthConfig:      &spec.AIAuthConfig{Enabled: true, AllowedConsumers: []string{"alice"}},
		FallbackConfig: &spec.AIFallbackConfig{Enabled: true, Upstreams: []spec.AIFallbackUpstream{{Provider: "claude-1", ModelMapping: map[string]string{"*": "claude-sonnet-4-5"}}},
			OnStatus: []string{"429", "5xx"}}}
	chat.ApplyDefaults()
	claude := spec.AIRoute{Name: "claude", PathPrefix: "/ai/", Upstreams: []spec.AIUpstream{{Provider: "claude-1"}},
		ModelPredicates: []spec.AIModelPredicate{{MatchType: spec.MatchEqual, MatchValue: "claude-sonnet-4-5"}},
		AuthConfig:      &spec.AIAuthConfig{Enabled: true}}
	require.NoError(t, e.apply(t, append(baseAIObjects(), putObj(spec.KindAIRoute, "chat", chat), putObj(spec.KindAIRoute, "claude", claude))...))

	cfg := e.proxy.lastConfig("chat")
	require.NotNil(t, cfg)
	want := `{
	  "routeName": "chat", "activeProviderId": "openai-1",
	  "providers": [
	    {"id": "openai-1", "type": "openai", "apiTokens": ["sk-one-secret", "sk-two-secret"], "endpoint": "http://127.0.0.1:9000",
	     "protocol": "openai", "timeout": 30000, "modelMapping": {"*": "gpt-4o"},
	     "failover": {"enabled": true, "failureThreshold": 3, "healthCheckModel": "gpt-4o-mini"}},
	    {"id": "claude-1", "type": "claude", "apiTokens": ["sk-ant-secret"]}
	  ],
	  "upstreams": [{"provider": "openai-1", "weight": 80, "modelMapping": {"gpt-4": "gpt-4o"}}, {"provider": "claude-1", "weight": 20}],
	  "modelPredicates": [{"matchType": "PRE", "matchValue": "gpt-"}],
	  "fallback": {"enabled": true, "strategy": "SEQUENCE", "onStatus": ["429", "5xx"],
	               "upstreams": [{"provider": "claude-1", "modelMapping": {"*": "claude-sonnet-4-5"}}]},
	  "allowedConsumers": ["alice"]
	}`
	got, _ := json.Marshal(cfg)
	require.JSONEq(t, want, string(got))
	c2 := e.proxy.lastConfig("claude")
	require.Equal(t, float64(100), c2["upstreams"].([]any)[0].(map[string]any)["weight"], "a lone upstream gets every request")

	// The key-auth instance of the snapshot, and one in front of the
	// whole AI path with its consumers.
	require.Len(t, e.auth.configs, 2)
	var front string
	for _, c := range e.auth.configs {
		if strings.Contains(c, "hideCredentials") {
			front = c
		}
	}
	require.JSONEq(t, `{"consumers":[{"name":"alice","key":"`+aliceKey+`"},{"name":"bob","key":"`+bobKey+`"}],
		"keys":["authorization","x-api-key"],"hideCredentials":true}`, front)

	// The first route serves gpt-*, the next one claude-sonnet-4-5, both
	// behind key-auth, which removed the client's key.
	rec := e.call("POST", "/ai/v1/chat/completions", map[string]string{"Authorization": "Bearer " + aliceKey, "X-Model": "gpt-4"})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "served by chat", rec.Body.String())
	require.Equal(t, "alice", rec.Header().Get("X-Consumer"))
	require.Empty(t, rec.Header().Get("X-Authorization-Seen"), "the client's key never reaches ai-proxy")
	rec = e.call("POST", "/ai/v1/messages", map[string]string{"X-Api-Key": bobKey, "X-Model": "claude-sonnet-4-5"})
	require.Equal(t, "served by claude", rec.Body.String())

	// No key: key-auth answers before any provider is involved.
	require.Equal(t, http.StatusUnauthorized, e.call("POST", "/ai/v1/chat/completions", map[string]string{"X-Model": "gpt-4"}).Code)

	// A model no route takes: a 404 in the client's protocol naming the
	// models the path offers.
	rec = e.call("POST", "/ai/v1/chat/completions", map[string]string{"Authorization": "Bearer " + aliceKey, "X-Model": "llama-3"})
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.JSONEq(t, `{"error":{"message":"the model \"llama-3\" is not offered on this path; models offered: claude-sonnet-4-5, gpt-*",
		"type":"invalid_request_error","param":"model","code":"model_not_found"}}`, rec.Body.String())
	rec = e.call("POST", "/ai/v1/messages", map[string]string{"X-Api-Key": aliceKey, "X-Model": "llama-3"})
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Contains(t, rec.Body.String(), `"type":"not_found_error"`)
	require.Contains(t, rec.Body.String(), `"type":"error"`)

	// The ordinary route still serves its own path (502: nothing listens).
	require.Equal(t, http.StatusBadGateway, e.call("GET", "/other", map[string]string{"X-Api-Key": aliceKey}).Code)
}

func TestAIRouteRefusalsChangeNothing(t *testing.T) {
	e := newAIEnv(t, "", nil)
	require.NoError(t, e.apply(t, baseAIObjects()...))
	ok := spec.AIRoute{Name: "chat", Upstreams: []spec.AIUpstream{{Provider: "openai-1", Weight: 100}}}
	require.NoError(t, e.apply(t, putObj(spec.KindAIRoute, "chat", ok)))
	before, rev := e.ctl.Snapshot()
	table := e.gw.Table()

	refusedTok := spec.LLMProvider{Name: "gen", Type: "generic", Tokens: []string{"refuse-this-secret-token"}, Endpoint: "http://127.0.0.1:1"}
	tests := []struct {
		name    string
		changes []Change
		object  string
		objName string
		field   string
		message string
	}{
		{"plugin refuses a provider: the error is the provider's, token hidden",
			[]Change{putObj(spec.KindLLMProvider, "gen", refusedTok), putObj(spec.KindAIRoute, "r2", spec.AIRoute{Name: "r2", PathPrefix: "/gen", Upstreams: []spec.AIUpstream{{Provider: "gen"}}})},
			spec.KindLLMProvider, "gen", "tokens[0]", `token ******** is refused (used by AI route "r2")`},
		{"unknown provider",
			[]Change{putObj(spec.KindAIRoute, "r2", spec.AIRoute{Name: "r2", PathPrefix: "/x", Upstreams: []spec.AIUpstream{{Provider: "nope", Weight: 100}}})},
			spec.KindAIRoute, "r2", "upstreams[0].provider", `LLM provider "nope" does not exist`},
		{"path taken by an ordinary route",
			[]Change{putObj(spec.KindAIRoute, "r2", spec.AIRoute{Name: "r2", PathPrefix: "/other/", Upstreams: []spec.AIUpstream{{Provider: "openai-1"}}})},
			spec.KindAIRoute, "r2", "pathPrefix", `route "other" and AI route "r2" both serve the path prefix /other`},
		{"routes on one path disagree on auth",
			[]Change{putObj(spec.KindAIRoute, "r2", spec.AIRoute{Name: "r2", Upstreams: []spec.AIUpstream{{Provider: "openai-1"}}, AuthConfig: &spec.AIAuthConfig{Enabled: true}})},
			spec.KindAIRoute, "r2", "authConfig.enabled", `AI route "chat" serves the same domains and path prefix / with authConfig.enabled false`},
		{"deleting a provider a route uses",
			[]Change{{Kind: spec.KindLLMProvider, Name: "openai-1"}},
			spec.KindAIRoute, "chat", "upstreams[0].provider", `LLM provider "openai-1" does not exist`},
		{"allowed consumer that key-auth does not know",
			[]Change{putObj(spec.KindAIRoute, "r2", spec.AIRoute{Name: "r2", PathPrefix: "/z", Upstreams: []spec.AIUpstream{{Provider: "openai-1"}}, AuthConfig: &spec.AIAuthConfig{Enabled: true, AllowedConsumers: []string{"carol"}}})},
			spec.KindAIRoute, "r2", "authConfig.allowedConsumers[0]", `consumer "carol" is not a consumer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.apply(t, tt.changes...)
			require.Error(t, err)
			require.NotContains(t, err.Error(), "refuse-this-secret-token")
			fes := spec.FieldErrors(err)
			require.NotEmpty(t, fes, err.Error())
			found := false
			for _, fe := range fes {
				if fe.Object == tt.object && fe.Name == tt.objName && fe.Field == tt.field && strings.Contains(fe.Message, tt.message) {
					found = true
				}
			}
			require.True(t, found, "want %s %q %s: %q in %v", tt.object, tt.objName, tt.field, tt.message, err)
			after, rev2 := e.ctl.Snapshot()
			require.Equal(t, rev, rev2, "no revision was stored")
			require.Equal(t, before, after)
			require.Same(t, table, e.gw.Table(), "the running table was not replaced")
			stored, err := e.ctl.Stored(context.Background())
			require.NoError(t, err)
			require.Len(t, stored.AIRoutes, 1)
			require.Len(t, stored.LLMProviders, 2)
		})
	}
}

func TestAIRoutesWithoutTheAIProxyPluginAreRefused(t *testing.T) {
	e := newAIEnv(t, "", pluginMap{})
	err := e.apply(t,
		putObj(spec.KindLLMProvider, "p", spec.LLMProvider{Name: "p", Type: "openai", Tokens: []string{"sk-x"}}),
		putObj(spec.KindAIRoute, "chat", spec.AIRoute{Name: "chat", Upstreams: []spec.AIUpstream{{Provider: "p"}}}))
	require.Error(t, err)
	fes := spec.FieldErrors(err)
	require.Len(t, fes, 1)
	require.Equal(t, spec.KindAIRoute, fes[0].Object)
	require.Contains(t, fes[0].Message, "the ai-proxy plugin is not loaded")
	// Providers alone need no plugin.
	require.NoError(t, e.apply(t, putObj(spec.KindLLMProvider, "p", spec.LLMProvider{Name: "p", Type: "openai", Tokens: []string{"sk-x"}})))
}

func TestAIRouteRollbackRestoresThePreviousRoute(t *testing.T) {
	ctx := context.Background()
	e := newAIEnv(t, "", nil)
	require.NoError(t, e.apply(t, baseAIObjects()...))
	v1 := spec.AIRoute{Name: "chat", PathPrefix: "/v1-path", Upstreams: []spec.AIUpstream{{Provider: "openai-1"}}}
	require.NoError(t, e.apply(t, putObj(spec.KindAIRoute, "chat", v1)))
	v2 := spec.AIRoute{Name: "chat", PathPrefix: "/v2-path", Upstreams: []spec.AIUpstream{{Provider: "claude-1"}}}
	require.NoError(t, e.apply(t, putObj(spec.KindAIRoute, "chat", v2)))
	require.Equal(t, "served by chat", e.call("POST", "/v2-path/v1/chat/completions", nil).Body.String())

	revs, _, err := e.st.Revisions(ctx, 1, 0)
	require.NoError(t, err)
	require.Equal(t, spec.KindAIRoute, revs[0].Kind)
	_, err = e.ctl.Rollback(ctx, "admin", revs[0].ID)
	require.NoError(t, err)
	snap, _ := e.ctl.Snapshot()
	require.Len(t, snap.AIRoutes, 1)
	require.Equal(t, "/v1-path", snap.AIRoutes[0].PathPrefix)
	require.Equal(t, "openai-1", snap.AIRoutes[0].Upstreams[0].Provider)
	require.Equal(t, "served by chat", e.call("POST", "/v1-path/v1/chat/completions", nil).Body.String())
	require.Equal(t, http.StatusNotFound, e.call("POST", "/v2-path/v1/chat/completions", nil).Code)
}

func TestTwoInstancesServeEachOthersAIRoutes(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.SharedDatabase(t)
	a := newAIEnv(t, dsn, nil)
	b := newAIEnv(t, dsn, nil)
	require.NoError(t, a.apply(t, baseAIObjects()...))
	require.NoError(t, a.apply(t, putObj(spec.KindAIRoute, "chat", spec.AIRoute{Name: "chat", PathPrefix: "/llm", Upstreams: []spec.AIUpstream{{Provider: "openai-1"}}})))
	changed, err := b.ctl.Sync(ctx)
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, "served by chat", b.call("POST", "/llm/v1/chat/completions", nil).Body.String())
	snap, _ := b.ctl.Snapshot()
	require.Equal(t, []string{"sk-one-secret", "sk-two-secret"}, snap.LLMProviders[1].Tokens)

	// b changes the provider; a sees it.
	p := snap.LLMProviders[1]
	p.Tokens = []string{"sk-three-secret"}
	_, err = b.ctl.Apply(ctx, "admin", []Change{{Kind: spec.KindLLMProvider, Name: p.Name, Object: p, ExpectVersion: p.Version}})
	require.NoError(t, err)
	_, err = a.ctl.Sync(ctx)
	require.NoError(t, err)
	require.Equal(t, []any{"sk-three-secret"}, a.proxy.lastConfig("chat")["providers"].([]any)[0].(map[string]any)["apiTokens"])

	// A stale version is refused.
	_, err = a.ctl.Apply(ctx, "admin", []Change{{Kind: spec.KindLLMProvider, Name: p.Name, Object: p, ExpectVersion: p.Version}})
	var vc *store.VersionConflict
	require.ErrorAs(t, err, &vc)
}

// The declarative file: export the stored configuration as YAML, apply it
// again (nothing changes), then apply an edited file (only the edit
// changes), as `gatehouse config export|apply` and GATEHOUSE_CONFIG_FILE do.
func TestAIObjectsExportApplyRoundTrip(t *testing.T) {
	ctx := context.Background()
	e := newAIEnv(t, "", nil)
	require.NoError(t, e.apply(t, baseAIObjects()...))
	route := spec.AIRoute{Name: "chat", Domains: []string{"ai.example.com"}, PathPrefix: "/llm",
		Upstreams:       []spec.AIUpstream{{Provider: "openai-1", Weight: 60, ModelMapping: map[string]string{"gpt-4": "gpt-4o"}}, {Provider: "claude-1", Weight: 40}},
		ModelPredicates: []spec.AIModelPredicate{{MatchType: spec.MatchRegular, MatchValue: "^(gpt|claude)-"}},
		AuthConfig:      &spec.AIAuthConfig{Enabled: true, AllowedConsumers: []string{"alice"}},
		FallbackConfig:  &spec.AIFallbackConfig{Enabled: true, Upstreams: []spec.AIFallbackUpstream{{Provider: "claude-1"}}, OnStatus: []string{"429", "5xx"}}}
	route.ApplyDefaults()
	require.NoError(t, e.apply(t, putObj(spec.KindAIRoute, "chat", route)))

	stored, err := e.ctl.Stored(ctx)
	require.NoError(t, err)
	out, err := yaml.Marshal(stored)
	require.NoError(t, err)
	require.Contains(t, string(out), "llmProviders:")
	require.Contains(t, string(out), "aiRoutes:")

	read := func(doc []byte) spec.Snapshot {
		t.Helper()
		var snap spec.Snapshot
		dec := yaml.NewDecoder(bytes.NewReader(doc))
		dec.KnownFields(true)
		require.NoError(t, dec.Decode(&snap))
		return snap
	}
	n, err := e.ctl.Replace(ctx, "config-file", read(out))
	require.NoError(t, err)
	require.Zero(t, n, "applying the export changes nothing:\n%s", out)

	edited := bytes.Replace(out, []byte("pathPrefix: /llm"), []byte("pathPrefix: /llm2"), 1)
	n, err = e.ctl.Replace(ctx, "config-file", read(edited))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	// The mount moved (the fake plugin takes no REGULAR predicate, so the
	// mount's final handler answers).
	h := map[string]string{"Host": "ai.example.com", "Authorization": "Bearer " + aliceKey, "X-Model": "gpt-4"}
	require.Contains(t, e.call("POST", "/llm2/v1/chat/completions", h).Body.String(), `"code":"model_not_found"`)
	require.Contains(t, e.call("POST", "/llm/v1/chat/completions", h).Body.String(), `"code":"route_not_found"`)

	// A file without the AI objects removes them (the file is the whole
	// configuration); one with a broken route changes nothing.
	broken := bytes.Replace(out, []byte("provider: claude-1\n"), []byte("provider: nobody\n"), 1)
	_, err = e.ctl.Replace(ctx, "config-file", read(broken))
	require.Error(t, err)
	after, err := e.ctl.Stored(ctx)
	require.NoError(t, err)
	require.Equal(t, "/llm2", after.AIRoutes[0].PathPrefix)
}

func TestPluginFieldsMapToTheObjectsFields(t *testing.T) {
	route := spec.AIRoute{Name: "chat"}
	used := []spec.LLMProvider{{Name: "openai-1", Tokens: []string{"sk-abcdef"}}, {Name: "claude-1"}}
	tests := []struct {
		field, object, name, want string
	}{
		{"providers[0].apiTokens[1]", spec.KindLLMProvider, "openai-1", "tokens[1]"},
		{"providers[1].failover.healthCheckModel", spec.KindLLMProvider, "claude-1", "tokenFailoverConfig.healthCheckModel"},
		{"providers[1].customSettings[0].mode", spec.KindLLMProvider, "claude-1", "rawConfigs.customSettings[0].mode"},
		{"providers[0].endpoint", spec.KindLLMProvider, "openai-1", "endpoint"},
		{"providers[0]", spec.KindLLMProvider, "openai-1", "rawConfigs"},
		{"fallback.strategy", spec.KindAIRoute, "chat", "fallbackConfig.fallbackStrategy"},
		{"fallback.upstreams[0].provider", spec.KindAIRoute, "chat", "fallbackConfig.upstreams[0].provider"},
		{"allowedConsumers[2]", spec.KindAIRoute, "chat", "authConfig.allowedConsumers[2]"},
		{"upstreams[1].weight", spec.KindAIRoute, "chat", "upstreams[1].weight"},
		{"modelPredicates[0].matchValue", spec.KindAIRoute, "chat", "modelPredicates[0].matchValue"},
		{"", spec.KindAIRoute, "chat", "upstreams"},
		{"providers[7].type", spec.KindAIRoute, "chat", "providers[7].type"},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			errs := aiPluginErrors(route, used, &pluginapi.ConfigError{Field: tt.field, Message: "bad: sk-abcdef"})
			require.Len(t, errs, 1)
			fe := errs[0].(*spec.FieldError)
			require.Equal(t, tt.object, fe.Object)
			require.Equal(t, tt.name, fe.Name)
			require.Equal(t, tt.want, fe.Field)
			require.NotContains(t, fe.Message, "sk-abcdef", "a token never appears in a message")
		})
	}
}
