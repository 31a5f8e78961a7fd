package spec

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func aiSnapshot() Snapshot {
	return Snapshot{
		Services: []Service{{Name: "svc", Endpoints: []Endpoint{{URL: "http://127.0.0.1:9"}}}},
		Routes:   []Route{{Name: "web", Path: PathMatch{Type: PathPrefix, Value: "/web"}, Service: "svc"}},
		PluginInstances: []PluginInstance{{Name: "keys", Plugin: KeyAuthPlugin, Scope: Scope{Type: ScopeGlobal},
			Config: json.RawMessage(`{"consumers":[{"name":"team-a","key":"team-a-key-0123456789"}]}`)}},
		MCPServers: []MCPServer{{Name: "tools", Path: "/mcp-servers/tools", SSEPath: "/mcp-servers/tools/sse", Enabled: true}},
		LLMProviders: []LLMProvider{
			{Name: "openai-1", Type: "openai", Tokens: []string{"sk-1"}, Endpoint: "https://api.openai.com"},
			{Name: "claude-1", Type: "claude", Tokens: []string{"sk-ant"}},
		},
		AIRoutes: []AIRoute{{Name: "chat", PathPrefix: "/", Upstreams: []AIUpstream{{Provider: "openai-1", Weight: 100}}}},
	}
}

func TestAIValidation(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Snapshot)
		object string
		field  string
		msg    string
	}{
		{"unknown provider type", func(s *Snapshot) { s.LLMProviders[0].Type = "palm" }, KindLLMProvider, "type", `unknown provider type "palm"; use one of openai, deepseek`},
		{"missing provider type", func(s *Snapshot) { s.LLMProviders[0].Type = "" }, KindLLMProvider, "type", "type is required"},
		{"endpoint not http", func(s *Snapshot) { s.LLMProviders[0].Endpoint = "ftp://x" }, KindLLMProvider, "endpoint", "must start with http:// or https://"},
		{"endpoint with credentials", func(s *Snapshot) { s.LLMProviders[0].Endpoint = "https://u:p@x" }, KindLLMProvider, "endpoint", "contains credentials"},
		{"endpoint with query", func(s *Snapshot) { s.LLMProviders[0].Endpoint = "https://x/v1?key=1" }, KindLLMProvider, "endpoint", "has a query"},
		{"empty token", func(s *Snapshot) { s.LLMProviders[0].Tokens = []string{"sk-1", ""} }, KindLLMProvider, "tokens[1]", "is empty"},
		{"token with a newline", func(s *Snapshot) { s.LLMProviders[0].Tokens = []string{"sk-1\n"} }, KindLLMProvider, "tokens[0]", "line breaks"},
		{"duplicate token", func(s *Snapshot) { s.LLMProviders[0].Tokens = []string{"sk-1", "sk-1"} }, KindLLMProvider, "tokens[1]", "same token as tokens[0]"},
		{"unknown protocol", func(s *Snapshot) { s.LLMProviders[0].Protocol = "grpc" }, KindLLMProvider, "protocol", `unknown protocol "grpc"`},
		{"failover without model", func(s *Snapshot) { s.LLMProviders[0].TokenFailoverConfig = &TokenFailoverConfig{Enabled: true} }, KindLLMProvider, "tokenFailoverConfig.healthCheckModel", "is required"},
		{"negative failover threshold", func(s *Snapshot) {
			s.LLMProviders[0].TokenFailoverConfig = &TokenFailoverConfig{FailureThreshold: -1}
		}, KindLLMProvider, "tokenFailoverConfig.failureThreshold", "negative"},
		{"rawConfigs sets a managed field", func(s *Snapshot) { s.LLMProviders[0].RawConfigs = map[string]any{"apiTokens": []any{"x"}} }, KindLLMProvider, "rawConfigs.apiTokens", `set from the provider's "tokens" field`},
		{"duplicate provider", func(s *Snapshot) { s.LLMProviders[1].Name = "openai-1" }, KindLLMProvider, "name", "another LLM provider"},
		{"bad provider name", func(s *Snapshot) { s.LLMProviders[1].Name = "Claude/1" }, KindLLMProvider, "name", "is not valid"},
		{"no upstreams", func(s *Snapshot) { s.AIRoutes[0].Upstreams = nil }, KindAIRoute, "upstreams", "at least one upstream"},
		{"weights not 100", func(s *Snapshot) {
			s.AIRoutes[0].Upstreams = []AIUpstream{{Provider: "openai-1", Weight: 50}, {Provider: "claude-1", Weight: 40}}
		}, KindAIRoute, "upstreams", "add up to 90; they must add up to 100"},
		{"weight out of range", func(s *Snapshot) { s.AIRoutes[0].Upstreams[0].Weight = 101 }, KindAIRoute, "upstreams[0].weight", "out of range; use 0 to 100"},
		{"unknown upstream provider", func(s *Snapshot) { s.AIRoutes[0].Upstreams[0].Provider = "nope" }, KindAIRoute, "upstreams[0].provider", `LLM provider "nope" does not exist`},
		{"provider listed twice", func(s *Snapshot) {
			s.AIRoutes[0].Upstreams = []AIUpstream{{Provider: "openai-1", Weight: 50}, {Provider: "openai-1", Weight: 50}}
		}, KindAIRoute, "upstreams[1].provider", "already upstreams[0]"},
		{"bad mapping regex", func(s *Snapshot) { s.AIRoutes[0].Upstreams[0].ModelMapping = map[string]string{"~gpt-(": "x"} }, KindAIRoute, "upstreams[0].modelMapping.~gpt-(", "does not compile"},
		{"unknown predicate type", func(s *Snapshot) {
			s.AIRoutes[0].ModelPredicates = []AIModelPredicate{{MatchType: "SUFFIX", MatchValue: "x"}}
		}, KindAIRoute, "modelPredicates[0].matchType", `unknown match type "SUFFIX"; use "EQUAL", "PRE" or "REGULAR"`},
		{"bad predicate regex", func(s *Snapshot) {
			s.AIRoutes[0].ModelPredicates = []AIModelPredicate{{MatchType: MatchRegular, MatchValue: "gpt-("}}
		}, KindAIRoute, "modelPredicates[0].matchValue", "does not compile"},
		{"empty predicate value", func(s *Snapshot) { s.AIRoutes[0].ModelPredicates = []AIModelPredicate{{MatchType: MatchEqual}} }, KindAIRoute, "modelPredicates[0].matchValue", "is required"},
		{"bad path prefix", func(s *Snapshot) { s.AIRoutes[0].PathPrefix = "/a//b" }, KindAIRoute, "pathPrefix", "not in canonical form"},
		{"bad domain", func(s *Snapshot) { s.AIRoutes[0].Domains = []string{"API.example.com"} }, KindAIRoute, "domains[0]", "lowercase"},
		{"fallback without upstreams", func(s *Snapshot) {
			s.AIRoutes[0].FallbackConfig = &AIFallbackConfig{Enabled: true, OnStatus: []string{"5xx"}}
		}, KindAIRoute, "fallbackConfig.upstreams", "at least one fallback upstream"},
		{"fallback to an unknown provider", func(s *Snapshot) {
			s.AIRoutes[0].FallbackConfig = &AIFallbackConfig{Enabled: true, Upstreams: []AIFallbackUpstream{{Provider: "x"}}, OnStatus: []string{"5xx"}}
		}, KindAIRoute, "fallbackConfig.upstreams[0].provider", `LLM provider "x" does not exist`},
		{"fallback strategy", func(s *Snapshot) {
			s.AIRoutes[0].FallbackConfig = &AIFallbackConfig{Enabled: true, Upstreams: []AIFallbackUpstream{{Provider: "claude-1"}}, FallbackStrategy: "ROUND", OnStatus: []string{"5xx"}}
		}, KindAIRoute, "fallbackConfig.fallbackStrategy", `unknown strategy "ROUND"`},
		{"fallback status", func(s *Snapshot) {
			s.AIRoutes[0].FallbackConfig = &AIFallbackConfig{Enabled: true, Upstreams: []AIFallbackUpstream{{Provider: "claude-1"}}, OnStatus: []string{"429", "6xx"}}
		}, KindAIRoute, "fallbackConfig.onStatus[1]", `"6xx" is not a status`},
		{"fallback status 099", func(s *Snapshot) {
			s.AIRoutes[0].FallbackConfig = &AIFallbackConfig{Enabled: true, Upstreams: []AIFallbackUpstream{{Provider: "claude-1"}}, OnStatus: []string{"099"}}
		}, KindAIRoute, "fallbackConfig.onStatus[0]", "is not a status"},
		{"fallback without statuses", func(s *Snapshot) {
			s.AIRoutes[0].FallbackConfig = &AIFallbackConfig{Enabled: true, Upstreams: []AIFallbackUpstream{{Provider: "claude-1"}}}
		}, KindAIRoute, "fallbackConfig.onStatus", "at least one status"},
		{"unknown consumer", func(s *Snapshot) {
			s.AIRoutes[0].AuthConfig = &AIAuthConfig{Enabled: true, AllowedConsumers: []string{"team-b"}}
		}, KindAIRoute, "authConfig.allowedConsumers[0]", `consumer "team-b" is not a consumer of any enabled key-auth plugin instance`},
		{"auth without any key-auth consumers", func(s *Snapshot) {
			s.PluginInstances = nil
			s.AIRoutes[0].AuthConfig = &AIAuthConfig{Enabled: true}
		}, KindAIRoute, "authConfig.enabled", "no key-auth consumers exist"},
		{"routes on one path disagree on auth", func(s *Snapshot) {
			s.AIRoutes = append(s.AIRoutes, AIRoute{Name: "chat2", PathPrefix: "/", Upstreams: []AIUpstream{{Provider: "claude-1"}}, AuthConfig: &AIAuthConfig{Enabled: true}})
		}, KindAIRoute, "authConfig.enabled", `AI route "chat" serves the same domains and path prefix / with authConfig.enabled false`},
		{"collides with a route", func(s *Snapshot) { s.AIRoutes[0].PathPrefix = "/web/" }, KindAIRoute, "pathPrefix", `route "web" and AI route "chat" both serve the path prefix /web`},
		{"collides with an MCP server", func(s *Snapshot) { s.AIRoutes[0].PathPrefix = "/mcp-servers/tools" }, KindAIRoute, "pathPrefix", `MCP server "tools" and AI route "chat" both serve the path /mcp-servers/tools`},
		{"AI routes on one path with overlapping domains", func(s *Snapshot) {
			s.AIRoutes[0].Domains = []string{"a.example.com", "b.example.com"}
			s.AIRoutes = append(s.AIRoutes, AIRoute{Name: "chat2", Domains: []string{"b.example.com"}, Upstreams: []AIUpstream{{Provider: "claude-1"}}})
		}, KindAIRoute, "domains", `AI route "chat" serves the path prefix / on some of these domains with other domains`},
		{"duplicate AI route", func(s *Snapshot) { s.AIRoutes = append(s.AIRoutes, s.AIRoutes[0]) }, KindAIRoute, "name", "another AI route"},
	}
	require.NoError(t, aiSnapshot().Validate())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := aiSnapshot()
			tt.modify(&s)
			err := s.Validate()
			require.Error(t, err)
			var found bool
			for _, fe := range FieldErrors(err) {
				if fe.Object == tt.object && fe.Field == tt.field && strings.Contains(fe.Message, tt.msg) {
					found = true
				}
				require.NotContains(t, fe.Message, "sk-1", "a token never appears in a message")
			}
			require.True(t, found, "want %s %s: %q, got %v", tt.object, tt.field, tt.msg, err)
		})
	}
}

func TestAIValidationAccepts(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Snapshot)
	}{
		{"a lone upstream without weight", func(s *Snapshot) { s.AIRoutes[0].Upstreams[0].Weight = 0 }},
		{"weights 80/20 and 0 for a standby", func(s *Snapshot) {
			s.LLMProviders = append(s.LLMProviders, LLMProvider{Name: "ds", Type: "deepseek"})
			s.AIRoutes[0].Upstreams = []AIUpstream{{Provider: "openai-1", Weight: 80}, {Provider: "claude-1", Weight: 20}, {Provider: "ds"}}
		}},
		{"same prefix on other domains than the route", func(s *Snapshot) {
			s.AIRoutes[0].PathPrefix = "/web"
			s.AIRoutes[0].Domains = []string{"ai.example.com"}
		}},
		{"AI routes on one path with the same domains in another order", func(s *Snapshot) {
			s.AIRoutes[0].Domains = []string{"a.example.com", "b.example.com"}
			s.AIRoutes = append(s.AIRoutes, AIRoute{Name: "chat2", Domains: []string{"b.example.com", "a.example.com"}, Upstreams: []AIUpstream{{Provider: "claude-1"}}})
		}},
		{"AI routes on one path, on a domain and on any host", func(s *Snapshot) {
			s.AIRoutes = append(s.AIRoutes, AIRoute{Name: "chat2", Domains: []string{"b.example.com"}, Upstreams: []AIUpstream{{Provider: "claude-1"}}})
		}},
		{"routes on one path agreeing on auth", func(s *Snapshot) {
			s.AIRoutes[0].AuthConfig = &AIAuthConfig{Enabled: true, AllowedConsumers: []string{"team-a"}}
			s.AIRoutes = append(s.AIRoutes, AIRoute{Name: "chat2", Upstreams: []AIUpstream{{Provider: "claude-1"}}, AuthConfig: &AIAuthConfig{Enabled: true}})
		}},
		{"a disabled route on the path of another route", func(s *Snapshot) {
			f := false
			s.AIRoutes[0].PathPrefix, s.AIRoutes[0].Enabled = "/web", &f
		}},
		{"consumers kept while auth is off, even unknown ones", func(s *Snapshot) {
			s.AIRoutes[0].AuthConfig = &AIAuthConfig{AllowedConsumers: []string{"team-a", "gone"}}
		}},
		{"fallback with statuses", func(s *Snapshot) {
			s.AIRoutes[0].FallbackConfig = &AIFallbackConfig{Enabled: true, Upstreams: []AIFallbackUpstream{{Provider: "claude-1"}},
				FallbackStrategy: FallbackRandom, OnStatus: []string{"429", "4xx", "5xx", "502"}}
		}},
		{"every supported type", func(s *Snapshot) {
			for _, ty := range LLMProviderTypes {
				s.LLMProviders = append(s.LLMProviders, LLMProvider{Name: "p-" + ty, Type: ty, Endpoint: "http://127.0.0.1:8000/v1"})
			}
		}},
		{"rawConfigs with Higress fields", func(s *Snapshot) {
			s.LLMProviders[0].RawConfigs = map[string]any{"modelMapping": map[string]any{"*": "gpt-4o"}, "timeout": 30000}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := aiSnapshot()
			tt.modify(&s)
			require.NoError(t, s.Validate())
		})
	}
}

func TestAIObjectsYAMLRoundTrip(t *testing.T) {
	s := aiSnapshot()
	s.LLMProviders[0].TokenFailoverConfig = &TokenFailoverConfig{Enabled: true, FailureThreshold: 2, HealthCheckInterval: 5000, HealthCheckModel: "gpt-4o-mini"}
	s.LLMProviders[0].RawConfigs = map[string]any{"timeout": 30000, "modelMapping": map[string]any{"*": "gpt-4o"}}
	s.AIRoutes[0] = AIRoute{Name: "chat", Domains: []string{"ai.example.com"}, PathPrefix: "/llm",
		Upstreams:       []AIUpstream{{Provider: "openai-1", Weight: 70, ModelMapping: map[string]string{"gpt-4": "gpt-4o"}}, {Provider: "claude-1", Weight: 30}},
		ModelPredicates: []AIModelPredicate{{MatchType: MatchPrefix, MatchValue: "gpt-"}},
		AuthConfig:      &AIAuthConfig{Enabled: true, AllowedConsumers: []string{"team-a"}},
		FallbackConfig:  &AIFallbackConfig{Enabled: true, Upstreams: []AIFallbackUpstream{{Provider: "claude-1"}}, FallbackStrategy: FallbackSequence, OnStatus: []string{"429", "5xx"}}}
	s.AIRoutes[0].ApplyDefaults()
	for i := range s.LLMProviders {
		s.LLMProviders[i].ApplyDefaults()
	}
	require.NoError(t, s.Validate())

	s.MCPServers = nil
	out, err := yaml.Marshal(s)
	require.NoError(t, err)
	require.Contains(t, string(out), "llmProviders:")
	require.Contains(t, string(out), "aiRoutes:")
	var back Snapshot
	dec := yaml.NewDecoder(bytes.NewReader(out))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&back))
	back.LLMProviders[0].RawConfigs = jsonNormal(t, back.LLMProviders[0].RawConfigs)
	s.LLMProviders[0].RawConfigs = jsonNormal(t, s.LLMProviders[0].RawConfigs)
	for i := range back.AIRoutes {
		back.AIRoutes[i].Normalize()
	}
	for i := range back.LLMProviders {
		back.LLMProviders[i].Normalize()
	}
	require.Equal(t, s.LLMProviders, back.LLMProviders)
	require.Equal(t, s.AIRoutes, back.AIRoutes)

	// JSON as the admin API and the store write it.
	j, err := json.Marshal(s.AIRoutes[0])
	require.NoError(t, err)
	require.JSONEq(t, `{"name":"chat","domains":["ai.example.com"],"pathPrefix":"/llm",
		"upstreams":[{"provider":"openai-1","weight":70,"modelMapping":{"gpt-4":"gpt-4o"}},{"provider":"claude-1","weight":30}],
		"modelPredicates":[{"matchType":"PRE","matchValue":"gpt-"}],
		"authConfig":{"enabled":true,"allowedConsumers":["team-a"]},
		"fallbackConfig":{"enabled":true,"upstreams":[{"provider":"claude-1"}],"fallbackStrategy":"SEQUENCE","onStatus":["429","5xx"]},
		"enabled":true,"version":0}`, string(j))
}

// jsonNormal makes YAML- and Go-built maps comparable (numbers, nested maps).
func jsonNormal(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(m)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

func TestKeyAuthConsumersCollectsEnabledInstances(t *testing.T) {
	off := false
	s := Snapshot{PluginInstances: []PluginInstance{
		{Name: "a", Plugin: KeyAuthPlugin, Config: json.RawMessage(`{"consumers":[{"name":"x","key":"k1"},{"name":"y","key":"k2"}]}`)},
		{Name: "b", Plugin: KeyAuthPlugin, Config: json.RawMessage(`{"consumers":[{"name":"x","key":"k3"},{"name":"z","key":"k4"}]}`)},
		{Name: "c", Plugin: KeyAuthPlugin, Enabled: &off, Config: json.RawMessage(`{"consumers":[{"name":"w","key":"k5"}]}`)},
		{Name: "d", Plugin: "cors", Config: json.RawMessage(`{"consumers":[{"name":"v","key":"k6"}]}`)},
	}}
	require.Equal(t, []Consumer{{"x", "k1"}, {"y", "k2"}, {"z", "k4"}}, s.KeyAuthConsumers())
}
