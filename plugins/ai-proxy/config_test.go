package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/plugintest"
	"github.com/gatehouse-dev/gatehouse/plugins/internal/schematest"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// acceptedConfigs are configs the plugin takes: Higress README examples
// (written as JSON) and Gatehouse's extensions.
var acceptedConfigs = []string{
	// Higress: Azure OpenAI, /openai/v1 form
	`{"provider":{"type":"azure","apiTokens":["YOUR_AZURE_OPENAI_API_TOKEN"],"azureServiceUrl":"https://YOUR_RESOURCE_NAME.openai.azure.com/openai/v1"}}`,
	// Higress: Azure legacy forms
	`{"provider":{"type":"azure","apiTokens":["k"],"azureServiceUrl":"https://r.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-02-15-preview"}}`,
	`{"provider":{"type":"azure","apiTokens":["k"],"azureServiceUrl":"https://r.openai.azure.com/openai/deployments/d?api-version=2024-02-15-preview"}}`,
	`{"provider":{"type":"azure","apiTokens":["k"],"azureServiceUrl":"https://r.openai.azure.com?api-version=2024-02-15-preview"}}`,
	// Higress: Qwen with model mapping
	`{"provider":{"type":"qwen","apiTokens":["YOUR_QWEN_API_TOKEN"],"modelMapping":{"gpt-3":"qwen-turbo","gpt-35-turbo":"qwen-plus","gpt-4-turbo":"qwen-max","gpt-4-*":"qwen-max","gpt-4o":"qwen-vl-plus","text-embedding-v1":"text-embedding-v1","*":"qwen-turbo"}}}`,
	// Higress: the original protocol, with providers + activeProviderId
	`{"activeProviderId":"my-qwen","providers":[{"id":"my-qwen","type":"qwen","apiTokens":["YOUR_DASHSCOPE_API_TOKEN"],"protocol":"original"}]}`,
	// Higress: groq, openrouter, gemini, claude, deepseek, moonshot, mistral
	`{"provider":{"type":"groq","apiTokens":["YOUR_GROQ_API_TOKEN"]}}`,
	`{"provider":{"type":"openrouter","apiTokens":["YOUR_OPENROUTER_API_TOKEN"],"modelMapping":{"gpt-4":"openai/gpt-4-turbo-preview","gpt-3.5-turbo":"openai/gpt-3.5-turbo","claude-3":"anthropic/claude-3-opus","*":"openai/gpt-3.5-turbo"}}}`,
	`{"provider":{"type":"gemini","apiTokens":["YOUR_GEMINI_API_TOKEN"],"modelMapping":{"*":"gemini-pro"}}}`,
	`{"provider":{"type":"claude","apiTokens":["YOUR_CLAUDE_API_TOKEN"],"claudeVersion":"2023-06-01"}}`,
	`{"provider":{"type":"deepseek","apiTokens":["k"],"timeout":1200000}}`,
	`{"provider":{"type":"moonshot","apiTokens":["k"],"modelMapping":{"*":"moonshot-v1-32k"}}}`,
	`{"provider":{"type":"mistral","apiTokens":["k"]},"routeName":"chat"}`,
	`{"provider":{"type":"qwen","apiTokens":["k"],"qwenEnableCompatible":true}}`,
	// Higress: ollama by host and port; vllm and generic by endpoint
	`{"provider":{"type":"ollama","ollamaServerHost":"192.168.1.2","ollamaServerPort":11434,"modelMapping":{"*":"llama3"}}}`,
	`{"provider":{"type":"vllm","endpoint":"http://127.0.0.1:8000"}}`,
	`{"provider":{"type":"generic","apiTokens":["k"],"endpoint":"https://llm.internal.example"}}`,
	// Higress: openaiCustomUrl, with and without a scheme
	`{"provider":{"type":"openai","apiTokens":["k"],"openaiCustomUrl":"www.example.com/myai/v1/chat/completions"}}`,
	// Higress: customSettings, failover, retryOnFailure
	`{"provider":{"type":"openai","apiTokens":["a","b"],"customSettings":[{"name":"max_tokens","value":1024,"overwrite":false},{"name":"temperature","value":0.2},{"name":"user","value":"gw","mode":"raw"}]}}`,
	`{"provider":{"type":"openai","apiTokens":["a","b"],"failover":{"enabled":true,"failureThreshold":2,"successThreshold":1,"healthCheckInterval":5000,"healthCheckTimeout":5000,"healthCheckModel":"gpt-4o-mini"}}}`,
	`{"provider":{"type":"openai","apiTokens":["a"],"failover":{"enabled":true,"cooldownDuration":60000,"failoverOnStatus":["429","5.*"]},"retryOnFailure":{"enabled":true,"maxRetries":2,"retryTimeout":30000,"retryOnStatus":["5.*"]}}}`,
	// Gatehouse: what an AI route compiles to
	`{"providers":[{"id":"openai-1","type":"openai","apiTokens":["k"],"endpoint":"http://127.0.0.1:9000"},{"id":"claude-1","type":"claude","apiTokens":["k"],"endpoint":"http://127.0.0.1:9001"}],
	  "upstreams":[{"provider":"openai-1","weight":80,"modelMapping":{"gpt-4o":"gpt-4o-mini"}},{"provider":"claude-1","weight":20}],
	  "modelPredicates":[{"matchType":"PRE","matchValue":"gpt-"},{"matchType":"EQUAL","matchValue":"o3"},{"matchType":"REGULAR","matchValue":"^claude-.*"}],
	  "fallback":{"enabled":true,"upstreams":[{"provider":"claude-1","modelMapping":{"*":"claude-sonnet-4-5"}}],"strategy":"SEQUENCE","onStatus":["429","5xx"]},
	  "allowedConsumers":["team-a"],"routeName":"chat","maxRequestBodyBytes":1048576}`,
	`{"provider":{"type":"openai","apiTokens":["k"],"endpoint":"http://127.0.0.1:9000","subPath":"/ai"}}`,
}

func TestConfigAccepted(t *testing.T) {
	for _, cfg := range acceptedConfigs {
		t.Run(cfg[:min(60, len(cfg))], func(t *testing.T) {
			inst, err := Plugin.New(context.Background(), json.RawMessage(cfg), plugintest.NewHost(t, ""))
			require.NoError(t, err)
			require.NoError(t, inst.Close())
		})
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	cases := []struct {
		name   string
		config string
		fields map[string]string // field → part of the message
	}{
		{"empty", `{}`, map[string]string{"provider": "is required"}},
		{"unknown type lists the supported ones", `{"provider":{"type":"baidu","apiTokens":["k"]}}`,
			map[string]string{"provider.type": `"baidu" is not supported; the supported types are azure, claude, deepseek, gemini, generic, groq, mistral, moonshot, ollama, openai, openrouter, qwen, together, vllm`}},
		{"unknown field", `{"provider":{"type":"openai","apiTokens":["k"],"apiToken":["x"]},"fallbacks":{}}`,
			map[string]string{"provider.apiToken": `did you mean "apiTokens"`, "fallbacks": `did you mean "fallback"`}},
		{"Higress fields Gatehouse does not implement", `{"provider":{"type":"claude","apiTokens":["k"],"version":"2023-06-01","context":{"fileUrl":"x"},"claudeCodeMode":true}}`,
			map[string]string{"provider.version": `"claudeVersion"`, "provider.context": "not implemented", "provider.claudeCodeMode": "not implemented"}},
		{"missing tokens and endpoint", `{"providers":[{"id":"a","type":"openai"},{"id":"b","type":"vllm"},{"id":"c","type":"azure","apiTokens":["k"]}],"activeProviderId":"a"}`,
			map[string]string{"providers[0].apiTokens": "is required for type openai", "providers[1].endpoint": "is required for type vllm", "providers[2].azureServiceUrl": "is required for type azure"}},
		{"azure without api-version", `{"provider":{"type":"azure","apiTokens":["k"],"azureServiceUrl":"https://r.openai.azure.com/openai/deployments/d"}}`,
			map[string]string{"provider.azureServiceUrl": "needs an api-version"}},
		{"bad values", `{"provider":{"type":"openai","apiTokens":["a","a",""],"protocol":"claude","timeout":0,"endpoint":"ftp://x","subPath":"ai/","modelMapping":{"~(":"x","a*b":"c"},"customSettings":[{"name":"frequency","value":1},{"name":"x","value":{"a":1},"mode":"raw"}]}}`,
			map[string]string{
				"provider.apiTokens[1]":            "same token as apiTokens[0]",
				"provider.apiTokens[2]":            "must not be empty",
				"provider.protocol":                `"claude" is not supported; use openai`,
				"provider.timeout":                 "positive number of milliseconds",
				"provider.endpoint":                "must start with http:// or https://",
				"provider.subPath":                 "must start with '/'",
				"provider.modelMapping.~(":         "not a valid regular expression",
				"provider.modelMapping.a*b":        `"*" may only end a key`,
				"provider.customSettings[0].name":  `"frequency" has no automatic mapping; use one of max_tokens, seed, temperature, top_k, top_p`,
				"provider.customSettings[1].value": "string, number or boolean",
			}},
		{"several providers without an active one", `{"providers":[{"id":"a","type":"openai","apiTokens":["k"]},{"id":"b","type":"openai","apiTokens":["k"]}]}`,
			map[string]string{"activeProviderId": `is required when several providers are listed and no upstreams are given; the providers are "a", "b"`}},
		{"references to unknown providers", `{"providers":[{"id":"a","type":"openai","apiTokens":["k"]}],"activeProviderId":"x","upstreams":[{"provider":"y"}],"fallback":{"enabled":true,"upstreams":[{"provider":"z","weight":3}],"strategy":"ROUND","onStatus":["5**"]}}`,
			map[string]string{
				"activeProviderId":               `"x" is not the id of a provider; the providers are "a"`,
				"upstreams[0].provider":          `"y" is not the id of a provider`,
				"fallback.upstreams[0].provider": `"z" is not the id of a provider`,
				"fallback.upstreams[0].weight":   "not used for fallback upstreams",
				"fallback.strategy":              `"ROUND" is not supported; use SEQUENCE`,
				"fallback.onStatus[0]":           "not a status",
			}},
		{"predicates, consumers, failover", `{"provider":{"type":"openai","apiTokens":["k"],"failover":{"enabled":true}},"modelPredicates":[{"matchType":"LIKE","matchValue":"x"},{"matchType":"REGULAR","matchValue":"("}],"allowedConsumers":[""]}`,
			map[string]string{
				"provider.failover.healthCheckModel": "is required when failover is enabled",
				"modelPredicates[0].matchType":       `"LIKE" is not supported; use EQUAL, PRE or REGULAR`,
				"modelPredicates[1].matchValue":      "not a valid regular expression",
				"allowedConsumers[0]":                "must not be empty",
			}},
		{"provider and providers together", `{"provider":{"type":"openai","apiTokens":["k"]},"providers":[{"id":"a","type":"openai","apiTokens":["k"]}]}`,
			map[string]string{"provider": `and "providers" are both given`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Plugin.New(context.Background(), json.RawMessage(tc.config), plugintest.NewHost(t, ""))
			require.Error(t, err)
			got := configErrors(t, err)
			require.Len(t, got, len(tc.fields), "every problem, and only those: %v", got)
			for f, msg := range tc.fields {
				require.Contains(t, got, f)
				require.Contains(t, got[f], msg, f)
			}
		})
	}
}

func TestTokensNeverInConfigErrors(t *testing.T) {
	_, err := parseConfig([]byte(`{"provider":{"type":"openai","apiTokens":["sk-secret-1","sk-secret-1"],"endpoint":"nope"}}`))
	require.Error(t, err)
	require.NotContains(t, err.Error(), "sk-secret-1")
}

// configErrors maps each ConfigError's field to its message.
func configErrors(t *testing.T, err error) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok { //nolint:errorlint // walking a join
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var ce *pluginapi.ConfigError
		require.True(t, errors.As(e, &ce), "%v is a *pluginapi.ConfigError", e)
		out[ce.Field] = ce.Message
	}
	walk(err)
	return out
}

func TestInfoAndSchema(t *testing.T) {
	info := Plugin.Info()
	require.Equal(t, "ai-proxy", info.Name)
	require.Equal(t, pluginapi.ABIVersion, info.ABIVersion)
	require.Equal(t, pluginapi.PhaseDefault, info.Phase)
	require.NotEmpty(t, info.Version)

	var schema map[string]any
	require.NoError(t, json.Unmarshal(Plugin.ConfigSchema(), &schema))
	require.Equal(t, false, schema["additionalProperties"])
	// Every field of the config structs is in the schema, and the other way round.
	props := schema["properties"].(map[string]any)
	requireSameFields(t, reflect.TypeFor[config](), props)
	defs := schema["$defs"].(map[string]any)
	requireSameFields(t, reflect.TypeFor[providerConfig](), defs["provider"].(map[string]any)["properties"].(map[string]any))
	requireSameFields(t, reflect.TypeFor[upstreamConfig](), defs["upstream"].(map[string]any)["properties"].(map[string]any))
	pp := defs["provider"].(map[string]any)["properties"].(map[string]any)
	requireSameFields(t, reflect.TypeFor[failoverConfig](), pp["failover"].(map[string]any)["properties"].(map[string]any))
	requireSameFields(t, reflect.TypeFor[retryConfig](), pp["retryOnFailure"].(map[string]any)["properties"].(map[string]any))
	requireSameFields(t, reflect.TypeFor[fallbackConfig](), props["fallback"].(map[string]any)["properties"].(map[string]any))
	types := pp["type"].(map[string]any)["enum"].([]any)
	require.Len(t, types, len(providerTypes), "the schema lists every provider type")
}

func requireSameFields(t *testing.T, ct reflect.Type, props map[string]any) {
	t.Helper()
	require.Len(t, props, ct.NumField(), "%s", ct)
	for i := range ct.NumField() {
		name, _, _ := strings.Cut(ct.Field(i).Tag.Get("json"), ",")
		require.Contains(t, props, name, "%s", ct)
	}
}

func TestSchemaAgreesWithThePlugin(t *testing.T) {
	parse := func(b []byte) error { _, err := parseConfig(b); return err }
	schematest.RequireAgrees(t, Plugin.ConfigSchema(), parse, acceptedConfigs, true)
	schematest.RequireAgrees(t, Plugin.ConfigSchema(), parse, []string{
		`{}`,
		`{"provider":{"type":"baidu","apiTokens":["k"]}}`,
		`{"provider":{"type":"openai"}}`,
		`{"provider":{"type":"openai","apiTokens":["k"],"extra":1}}`,
		`{"provider":{"type":"openai","apiTokens":["k"],"protocol":"claude"}}`,
		`{"provider":{"type":"openai","apiTokens":["k"],"timeout":0}}`,
		`{"provider":{"type":"vllm"}}`,
		`{"provider":{"type":"azure","apiTokens":["k"]}}`,
		`{"provider":{"type":"openai","apiTokens":["k"],"customSettings":[{"name":"frequency","value":1}]}}`,
		`{"provider":{"type":"openai","apiTokens":["k"],"failover":{"enabled":true}}}`,
		`{"provider":{"type":"openai","apiTokens":["k"]},"providers":[{"id":"a","type":"openai","apiTokens":["k"]}]}`,
		`{"provider":{"type":"openai","apiTokens":["k"]},"modelPredicates":[{"matchType":"LIKE","matchValue":"x"}]}`,
		`{"provider":{"type":"openai","apiTokens":["k"]},"fallback":{"enabled":true}}`,
		`{"provider":{"type":"openai","apiTokens":["k"]},"fallback":{"enabled":true,"upstreams":[{"provider":"openai"}],"onStatus":["5**"]}}`,
		`{"provider":{"type":"openai","apiTokens":["k"]},"upstreams":[{"provider":"openai","weight":-1}]}`,
		`{"provider":{"type":"openai","apiTokens":["k"],"subPath":"ai"}}`,
		`{"provider":{"type":"qwen","apiTokens":["k"],"qwenEnableCompatible":false}}`,
	}, false)
}

// FuzzConfig: any config either is refused with ConfigErrors or builds an
// instance; parsing never panics and a validated config always compiles.
func FuzzConfig(f *testing.F) {
	for _, c := range acceptedConfigs {
		f.Add(c)
	}
	f.Add(`{"provider":{"type":"azure","apiTokens":["k"],"endpoint":"https://x/openai/deployments/a/b"}}`)
	f.Add(`{"providers":[{"id":"a","type":"openai","apiTokens":["k"]}],"upstreams":[{"provider":"a","weight":0}]}`)
	host := plugintest.NewHost(f, "")
	host.Log = slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, cfg string) {
		c, err := parseConfig([]byte(cfg))
		if err != nil {
			return
		}
		in, err := newInstance(c, host)
		require.NoError(t, err, "a config that validates builds: %s", cfg)
		require.NoError(t, in.Close())
	})
}
