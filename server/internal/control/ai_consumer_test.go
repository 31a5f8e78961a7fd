package control

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// fakeAIConsumer stands in for ai-consumer.so: it records its configs,
// refuses a consumer whose budget is 13 dollars (naming the field, as the
// plugin does), and sets X-Enforced to the consumer it sees.
type fakeAIConsumer struct {
	mu      sync.Mutex
	configs []string
}

func (*fakeAIConsumer) Info() pluginapi.Info {
	return pluginapi.Info{Name: AIConsumerPlugin, Version: "test", ABIVersion: pluginapi.ABIVersion, Phase: pluginapi.PhaseAuthz}
}
func (*fakeAIConsumer) ConfigSchema() json.RawMessage { return json.RawMessage(`{"type":"object"}`) }
func (f *fakeAIConsumer) New(_ context.Context, raw json.RawMessage, _ pluginapi.Host) (pluginapi.Instance, error) {
	var cfg struct {
		Consumers map[string]struct{ Budget *spec.Budget }
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, err
	}
	for name, c := range cfg.Consumers {
		if c.Budget != nil && c.Budget.USD == 13 {
			return nil, &pluginapi.ConfigError{Field: "consumers." + name + ".budget.usd", Message: "is unlucky"}
		}
	}
	f.mu.Lock()
	f.configs = append(f.configs, string(raw))
	f.mu.Unlock()
	return enforcer{}, nil
}

type enforcer struct{}

func (enforcer) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := pluginapi.ConsumerFromContext(r.Context())
		w.Header().Set("X-Enforced", c)
		next.ServeHTTP(w, r)
	})
}
func (enforcer) Close() error { return nil }

func TestAIConsumerRunsAfterKeyAuthWithEveryConsumerAndThePrices(t *testing.T) {
	e := newAIEnv(t, "", nil)
	fc := &fakeAIConsumer{}
	e.ctl.opts.Plugins = pluginMap{AIProxyPlugin: e.proxy, KeyAuthPlugin: e.auth, AIConsumerPlugin: fc}
	e.ctl.opts.AIUsageFailureMode = "closed"
	chat := spec.AIRoute{Name: "chat", PathPrefix: "/ai", Upstreams: []spec.AIUpstream{{Provider: "openai-1", Weight: 100}},
		AuthConfig: &spec.AIAuthConfig{Enabled: true}}
	open := spec.AIRoute{Name: "open", PathPrefix: "/open", Upstreams: []spec.AIUpstream{{Provider: "openai-1", Weight: 100}}}
	carol := spec.Consumer{Name: "carol", Credentials: []spec.Credential{{Key: "carol-key-0123456789"}}, AllowedModels: []string{"gpt-4o*"},
		Budget: &spec.Budget{USD: 50, Period: spec.PeriodMonth}}
	dave := spec.Consumer{Name: "dave", Credentials: []spec.Credential{{Key: "dave-key-0123456789ab"}}}
	price := spec.ModelPrice{Name: "gpt-4o", Model: "gpt-4o*", Input: 2.5, Output: 10, Date: "2026-12-01"}
	require.NoError(t, e.apply(t, append(baseAIObjects(), putObj(spec.KindAIRoute, "chat", chat), putObj(spec.KindAIRoute, "open", open),
		putObj(spec.KindConsumer, "carol", carol), putObj(spec.KindConsumer, "dave", dave), putObj(spec.KindModelPrice, "gpt-4o", price))...))

	require.NotEmpty(t, fc.configs)
	require.JSONEq(t, `{"consumers":{"carol":{"allowedModels":["gpt-4o*"],"budget":{"usd":50,"period":"month"}},"dave":{}},
		"prices":[{"model":"gpt-4o*","input":2.5,"output":10}],"failureMode":"closed"}`, fc.configs[len(fc.configs)-1])
	rec := e.call("POST", "/ai/v1/chat/completions", map[string]string{"Authorization": "Bearer " + aliceKey, "X-Model": "gpt-4"})
	require.Equal(t, "served by chat", rec.Body.String())
	require.Equal(t, "alice", rec.Header().Get("X-Enforced"), "ai-consumer runs after key-auth named the consumer")
	rec = e.call("POST", "/open/v1/chat/completions", map[string]string{"X-Model": "gpt-4"})
	require.Equal(t, "served by open", rec.Body.String())
	require.Empty(t, rec.Header().Get("X-Enforced"), "a route without auth has no consumers to enforce")

	// The plugin's refusal is the consumer's field error; nothing changes.
	carol.Budget.USD = 13
	err := e.apply(t, putObj(spec.KindConsumer, "carol", carol))
	require.Error(t, err)
	fes := spec.FieldErrors(err)
	require.NotEmpty(t, fes)
	require.Equal(t, spec.KindConsumer, fes[0].Object)
	require.Equal(t, "carol", fes[0].Name)
	require.Equal(t, "budget.usd", fes[0].Field)

	// Without the plugin, a consumer with a budget cannot be enforced: refused.
	e.ctl.opts.Plugins = pluginMap{AIProxyPlugin: e.proxy, KeyAuthPlugin: e.auth}
	carol.Budget.USD = 60
	err = e.apply(t, putObj(spec.KindConsumer, "carol", carol))
	require.ErrorContains(t, err, "the ai-consumer plugin is not loaded")
}

func TestAllowedAIRoutesCompileIntoAllowedConsumers(t *testing.T) {
	e := newAIEnv(t, "", nil)
	route := func(name string, allowed ...string) spec.AIRoute {
		return spec.AIRoute{Name: name, PathPrefix: "/" + name, Upstreams: []spec.AIUpstream{{Provider: "openai-1", Weight: 100}},
			AuthConfig: &spec.AIAuthConfig{Enabled: true, AllowedConsumers: allowed}}
	}
	key := func(k string) []spec.Credential { return []spec.Credential{{Key: k}} }
	carol := spec.Consumer{Name: "carol", Credentials: key("carol-key-0123456789")}
	dave := spec.Consumer{Name: "dave", Credentials: key("dave-key-0123456789ab")}
	require.NoError(t, e.apply(t, append(baseAIObjects(), putObj(spec.KindConsumer, "carol", carol), putObj(spec.KindConsumer, "dave", dave),
		putObj(spec.KindAIRoute, "chat", route("chat")), putObj(spec.KindAIRoute, "code", route("code")),
		putObj(spec.KindAIRoute, "solo", route("solo", "carol")))...))
	// Nobody restricted: every route keeps its own list (none: everyone).
	require.Nil(t, e.proxy.lastConfig("chat")["allowedConsumers"])
	require.Equal(t, []any{"carol"}, e.proxy.lastConfig("solo")["allowedConsumers"])

	carol.AllowedAIRoutes = []string{"chat"}
	dave.AllowedAIRoutes = []string{"chat", "code"}
	require.NoError(t, e.apply(t, putObj(spec.KindConsumer, "carol", carol), putObj(spec.KindConsumer, "dave", dave)))
	require.Nil(t, e.proxy.lastConfig("chat")["allowedConsumers"], "chat admits everyone still")
	require.Equal(t, []any{"alice", "bob", "dave"}, e.proxy.lastConfig("code")["allowedConsumers"],
		"code admits every consumer but carol, inline key-auth consumers included")
	require.Equal(t, []any{}, e.proxy.lastConfig("solo")["allowedConsumers"],
		"solo's only consumer may not use it: nobody is admitted (not everybody)")
}
