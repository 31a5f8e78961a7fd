package main

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/schematest"
)

func TestConfigDefaultsAreHigresss(t *testing.T) {
	c, err := parseConfig([]byte(`{"cache":{"type":"redis"}}`))
	require.NoError(t, err)
	require.Equal(t, "lastQuestion", c.CacheKeyStrategy)
	require.Equal(t, "messages.@reverse.0.content", c.CacheKeyFrom)
	require.Equal(t, "choices.0.message.content", c.CacheValueFrom)
	require.Equal(t, "choices.0.delta.content", c.CacheStreamValueFrom)
	require.Equal(t, "higress-ai-cache:", c.Cache.CacheKeyPrefix)
	require.Zero(t, c.ttl, "cacheTTL 0 never expires")
	require.Equal(t, defaultTimeout, c.timeout)
}

func TestConfigRefusesWhatItDoesNotDoNamingTheField(t *testing.T) {
	for _, tc := range []struct{ config, field, says string }{
		{`{"cache":{"type":"redis"},"vector":{"type":"dashvector"}}`, "vector", "exact match only"},
		{`{"cache":{"type":"redis"},"embedding":{"type":"openai"}}`, "embedding", "exact match only"},
		{`{"cache":{"type":"redis"},"enableSemanticCache":true}`, "enableSemanticCache", "exact match only"},
		{`{"cache":{"type":"redis","serviceName":"redis.dns","password":"pw"}}`, "cache.serviceName", "gateway's Redis"},
		{`{"cache":{"type":"redis","password":"hunter2"}}`, "cache.password", "Settings → Redis"},
		{`{"cache":{"type":"redis"},"responseTemplate":"%s"}`, "responseTemplate", "client's own protocol"},
		{`{"cache":{"type":"redis"},"cacheToolCallsFrom":"x"}`, "cacheToolCallsFrom", "tool calls"},
		{`{"cache":{"type":"memcached"}}`, "cache.type", "only redis"},
		{`{"cache":{"type":"redis","cacheTTL":-1}}`, "cache.cacheTTL", "from 0"},
		{`{"cache":{"type":"redis","timeout":60000}}`, "cache.timeout", "milliseconds"},
		{`{"cache":{"type":"redis"},"cacheKeyStrategy":"firstQuestion"}`, "cacheKeyStrategy", "lastQuestion, allQuestions, disabled"},
		{`{"cache":{"type":"redis"},"cacheKeyFrom":"messages.#(role==\"user\""}`, "cacheKeyFrom", "GJSON path"},
		{`{"cache":{"type":"redis"},"cacheKeyStratgy":"lastQuestion"}`, "cacheKeyStratgy", `did you mean "cacheKeyStrategy"`},
		{`{}`, "cache", "is required"},
	} {
		_, err := parseConfig([]byte(tc.config))
		require.Error(t, err, tc.config)
		require.Contains(t, err.Error(), tc.field+": ", tc.config)
		require.Contains(t, err.Error(), tc.says, tc.config)
		require.NotContains(t, err.Error(), "hunter2", "a password never appears in an error")
	}
}

func TestSchemaAgreesWithThePlugin(t *testing.T) {
	agree := func(configs []string, valid bool) {
		t.Helper()
		schematest.RequireAgrees(t, Plugin.ConfigSchema(), func(b []byte) error {
			_, err := parseConfig(b)
			return err
		}, configs, valid)
	}
	agree([]string{
		`{"cache":{"type":"redis"}}`,
		`{"cache":{"type":"redis","cacheTTL":3600,"cacheKeyPrefix":"team-a:","timeout":200},"cacheKeyStrategy":"allQuestions"}`,
		`{"cache":{"type":"redis"},"cacheKeyStrategy":"disabled","enableSemanticCache":false}`,
		`{"cache":{"type":"redis"},"cacheKeyFrom":"messages.@reverse.#(role==\"user\").content","cacheKeyByConsumer":true,"hitsCountUsage":true}`,
	}, true)
	agree([]string{
		`{}`,
		`{"cache":{}}`,
		`{"cache":{"type":"redis","serviceName":"r.dns"}}`,
		`{"cache":{"type":"redis"},"vector":{}}`,
		`{"cache":{"type":"redis"},"enableSemanticCache":true}`,
		`{"cache":{"type":"redis","cacheTTL":-5}}`,
		`{"cache":{"type":"redis","cacheTTL":1.5}}`,
		`{"cache":{"type":"redis","cacheKeyPrefix":"a b"}}`,
		`{"cache":{"type":"redis"},"cacheKeyStrategy":"all"}`,
		`{"cache":{"type":"redis"},"unknown":1}`,
	}, false)
}

func TestKeyIsTheSameQuestionWhateverTheProtocol(t *testing.T) {
	c, err := parseConfig([]byte(`{"cache":{"type":"redis"}}`))
	require.NoError(t, err)
	openai := []byte(`{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"  What is Redis?\r\n"}]}`)
	anthropic := []byte(`{"model":"m","system":"other","messages":[{"role":"user","content":[{"type":"text","text":"What is Redis?"}]}]}`)
	require.Equal(t, "What is Redis?", c.questionOf(openai))
	require.Equal(t, c.questionOf(openai), c.questionOf(anthropic))
	k := func(model, consumer, q string) string { return cacheKey("p:", model, consumer, q) }
	require.Equal(t, k("m", "", "q"), k(" m ", "", "q"), "the model is trimmed")
	require.NotEqual(t, k("m", "", "q"), k("m2", "", "q"), "another model is another answer")
	require.NotEqual(t, k("m", "a", "q"), k("m", "b", "q"), "cacheKeyByConsumer separates consumers")
	require.NotEqual(t, k("ab", "", "c"), k("a", "", "bc"), "parts cannot run into each other")

	all, err := parseConfig([]byte(`{"cache":{"type":"redis"},"cacheKeyStrategy":"allQuestions"}`))
	require.NoError(t, err)
	require.Equal(t, "one\ntwo", all.questionOf([]byte(`{"messages":[{"role":"user","content":"one"},{"role":"assistant","content":"x"},{"role":"user","content":"two"}]}`)))

	// Images are part of the question: two images never share an answer.
	img := func(url string) []byte {
		return []byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"` + url + `"}}]}]}`)
	}
	require.NotEqual(t, c.questionOf(img("data:a")), c.questionOf(img("data:b")))
}

func TestDefaultKeyPathFastPathMatchesGJSON(t *testing.T) {
	c, err := parseConfig([]byte(`{"cache":{"type":"redis"}}`))
	require.NoError(t, err)
	for _, body := range []string{
		`{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":" c "}]}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"x"},{"type":"text","text":"y"}]}]}`,
		`{"messages":[]}`, `{"messages":"no"}`, `{}`, `not json`,
		`{"messages":[{"role":"user"}]}`,
	} {
		require.Equal(t, normalize(gjson.Get(body, defaultKeyFrom)), c.questionOf([]byte(body)), body)
	}
}
