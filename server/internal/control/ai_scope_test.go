package control

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// fakeTagger is a traffic-phase plugin (like ai-token-ratelimit): it sets
// X-Tagged-Consumer to the consumer key-auth found, and refuses
// {"bad":true} naming the field.
type fakeTagger struct{}

func (fakeTagger) Info() pluginapi.Info {
	return pluginapi.Info{Name: "tagger", Version: "test", ABIVersion: pluginapi.ABIVersion, Phase: pluginapi.PhaseTraffic}
}
func (fakeTagger) ConfigSchema() json.RawMessage { return json.RawMessage(`{"type":"object"}`) }
func (fakeTagger) New(_ context.Context, raw json.RawMessage, _ pluginapi.Host) (pluginapi.Instance, error) {
	var cfg struct{ Bad bool }
	_ = json.Unmarshal(raw, &cfg)
	if cfg.Bad {
		return nil, &pluginapi.ConfigError{Field: "bad", Message: "is bad"}
	}
	return taggerInstance{}, nil
}

type taggerInstance struct{}

func (taggerInstance) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := pluginapi.ConsumerFromContext(r.Context())
		if !ok {
			c = "none"
		}
		w.Header().Set("X-Tagged-Consumer", c)
		next.ServeHTTP(w, r)
	})
}
func (taggerInstance) Close() error { return nil }

func TestAIRouteScopedInstancesRunInTheAIRoutesChainAfterKeyAuth(t *testing.T) {
	e := newAIEnv(t, "", nil)
	e.ctl.opts.Plugins = pluginMap{AIProxyPlugin: e.proxy, KeyAuthPlugin: e.auth, "tagger": fakeTagger{}}
	chat := spec.AIRoute{Name: "chat", PathPrefix: "/ai", Upstreams: []spec.AIUpstream{{Provider: "openai-1", Weight: 100}},
		AuthConfig: &spec.AIAuthConfig{Enabled: true}}
	tag := spec.PluginInstance{Name: "tag", Plugin: "tagger", Scope: spec.Scope{Type: spec.ScopeAIRoute, Value: "chat"}}
	require.NoError(t, e.apply(t, append(baseAIObjects(), putObj(spec.KindAIRoute, "chat", chat), putObj(spec.KindPluginInstance, "tag", tag))...))

	rec := e.call("POST", "/ai/v1/chat/completions", map[string]string{"Authorization": "Bearer " + aliceKey, "X-Model": "gpt-4"})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "served by chat", rec.Body.String())
	require.Equal(t, "alice", rec.Header().Get("X-Tagged-Consumer"), "the instance runs after the AI route's key-auth")
	rec = e.call("GET", "/other", nil)
	require.Empty(t, rec.Header().Get("X-Tagged-Consumer"), "an ai-route instance stays out of ordinary routes")

	// A missing AI route and a bad config are refused, naming the field.
	tag.Scope.Value = "nope"
	err := e.apply(t, putObj(spec.KindPluginInstance, "tag", tag))
	require.Error(t, err)
	require.Contains(t, err.Error(), `AI route "nope" does not exist`)
	tag.Scope.Value = "chat"
	tag.Config = json.RawMessage(`{"bad":true}`)
	err = e.apply(t, putObj(spec.KindPluginInstance, "tag", tag))
	require.Error(t, err)
	fes := spec.FieldErrors(err)
	require.NotEmpty(t, fes)
	require.Equal(t, "tag", fes[0].Name)
	require.Equal(t, "config.bad", fes[0].Field)
	// Refused changes change nothing.
	rec = e.call("POST", "/ai/v1/chat/completions", map[string]string{"Authorization": "Bearer " + aliceKey, "X-Model": "gpt-4"})
	require.Equal(t, "alice", rec.Header().Get("X-Tagged-Consumer"))
}
