package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/translate"
)

func compileFor(t *testing.T, provider string) *provider {
	t.Helper()
	c, err := parseConfig([]byte(`{"provider":` + provider + `}`))
	require.NoError(t, err)
	p, err := compileProvider(c.Provider)
	require.NoError(t, err)
	return p
}

// TestDefaultEndpoints: without endpoint, each type calls its provider's
// public API, and endpoint overrides it by the documented version rule.
func TestDefaultEndpoints(t *testing.T) {
	cases := []struct {
		provider string
		k        kind
		model    string
		stream   bool
		want     string
	}{
		{`{"type":"openai","apiTokens":["k"]}`, kindChat, "m", false, "https://api.openai.com/v1/chat/completions"},
		{`{"type":"openai","apiTokens":["k"]}`, kindEmbeddings, "m", false, "https://api.openai.com/v1/embeddings"},
		{`{"type":"deepseek","apiTokens":["k"]}`, kindChat, "m", false, "https://api.deepseek.com/v1/chat/completions"},
		{`{"type":"qwen","apiTokens":["k"]}`, kindChat, "m", false, "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"},
		{`{"type":"moonshot","apiTokens":["k"]}`, kindChat, "m", false, "https://api.moonshot.cn/v1/chat/completions"},
		{`{"type":"groq","apiTokens":["k"]}`, kindChat, "m", false, "https://api.groq.com/openai/v1/chat/completions"},
		{`{"type":"mistral","apiTokens":["k"]}`, kindChat, "m", false, "https://api.mistral.ai/v1/chat/completions"},
		{`{"type":"openrouter","apiTokens":["k"]}`, kindChat, "m", false, "https://openrouter.ai/api/v1/chat/completions"},
		{`{"type":"together","apiTokens":["k"]}`, kindChat, "m", false, "https://api.together.xyz/v1/chat/completions"},
		{`{"type":"ollama"}`, kindChat, "m", false, "http://127.0.0.1:11434/v1/chat/completions"},
		{`{"type":"ollama","ollamaServerHost":"10.0.0.2","ollamaServerPort":8080}`, kindChat, "m", false, "http://10.0.0.2:8080/v1/chat/completions"},
		{`{"type":"claude","apiTokens":["k"]}`, kindChat, "m", false, "https://api.anthropic.com/v1/messages"},
		{`{"type":"claude","apiTokens":["k"]}`, kindMessages, "m", true, "https://api.anthropic.com/v1/messages"},
		{`{"type":"gemini","apiTokens":["k"]}`, kindChat, "gemini-2.0-flash", false, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent"},
		{`{"type":"gemini","apiTokens":["k"]}`, kindChat, "gemini-2.0-flash", true, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"},
		// endpoint: /v1 is added unless the path already ends in a version.
		{`{"type":"vllm","endpoint":"http://127.0.0.1:8000"}`, kindChat, "m", false, "http://127.0.0.1:8000/v1/chat/completions"},
		{`{"type":"openai","apiTokens":["k"],"endpoint":"https://proxy.example.com/openai/"}`, kindChat, "m", false, "https://proxy.example.com/openai/v1/chat/completions"},
		{`{"type":"openai","apiTokens":["k"],"endpoint":"https://open.bigmodel.cn/api/paas/v4"}`, kindChat, "m", false, "https://open.bigmodel.cn/api/paas/v4/chat/completions"},
		{`{"type":"gemini","apiTokens":["k"],"endpoint":"http://127.0.0.1:9000"}`, kindChat, "g", false, "http://127.0.0.1:9000/v1beta/models/g:generateContent"},
		{`{"type":"gemini","apiTokens":["k"],"endpoint":"http://127.0.0.1:9000/v1"}`, kindChat, "g", false, "http://127.0.0.1:9000/v1/models/g:generateContent"},
		{`{"type":"claude","apiTokens":["k"],"endpoint":"http://127.0.0.1:9000"}`, kindMessages, "m", false, "http://127.0.0.1:9000/v1/messages"},
		// openaiCustomUrl: a full chat URL is used as given.
		{`{"type":"openai","apiTokens":["k"],"openaiCustomUrl":"www.example.com/myai/v1/chat/completions"}`, kindChat, "m", false, "https://www.example.com/myai/v1/chat/completions"},
		{`{"type":"openai","apiTokens":["k"],"openaiCustomUrl":"www.example.com/myai/v1/chat/completions"}`, kindEmbeddings, "m", false, "https://www.example.com/myai/v1/embeddings"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			p := compileFor(t, tc.provider)
			path := map[kind]string{kindChat: "/v1/chat/completions", kindMessages: "/v1/messages", kindEmbeddings: "/v1/embeddings"}[tc.k]
			require.Equal(t, tc.want, p.target(tc.k, path, path[3:], tc.model, tc.stream, ""))
		})
	}
}

func TestAzureURLForms(t *testing.T) {
	cases := []struct {
		url  string
		k    kind
		rest string
		want string
	}{
		{"https://r.openai.azure.com/openai/v1", kindChat, "/chat/completions", "https://r.openai.azure.com/openai/v1/chat/completions"},
		{"https://r.openai.azure.com/openai/v1/", kindEmbeddings, "/embeddings", "https://r.openai.azure.com/openai/v1/embeddings"},
		{"https://r.openai.azure.com/openai/deployments/dep/chat/completions?api-version=2024-02-15-preview", kindChat, "/chat/completions", "https://r.openai.azure.com/openai/deployments/dep/chat/completions?api-version=2024-02-15-preview"},
		{"https://r.openai.azure.com/openai/deployments/dep/chat/completions?api-version=2024-02-15-preview", kindEmbeddings, "/embeddings", "https://r.openai.azure.com/openai/deployments/dep/embeddings?api-version=2024-02-15-preview"},
		{"https://r.openai.azure.com/openai/deployments/dep?api-version=2024-02-15-preview", kindChat, "/chat/completions", "https://r.openai.azure.com/openai/deployments/dep/chat/completions?api-version=2024-02-15-preview"},
		{"https://r.openai.azure.com?api-version=2024-02-15-preview", kindChat, "/chat/completions", "https://r.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-02-15-preview"},
		{"https://r.openai.azure.com?api-version=2024-02-15-preview", kindModels, "/models", "https://r.openai.azure.com/openai/models?api-version=2024-02-15-preview"},
	}
	for _, tc := range cases {
		t.Run(tc.url+tc.rest, func(t *testing.T) {
			p := compileFor(t, `{"type":"azure","apiTokens":["k"],"azureServiceUrl":`+quote(tc.url)+`}`)
			require.Equal(t, tc.want, p.target(tc.k, "/v1"+tc.rest, tc.rest, "gpt-4o", false, ""))
			require.Equal(t, "api-key", p.authHeader)
		})
	}
}

func TestModelMapping(t *testing.T) {
	m, err := compileMapping(map[string]string{
		"gpt-4o":         "qwen-vl-plus",
		"gpt-4-*":        "qwen-max",
		"gpt-4-turbo-*":  "qwen-max-latest",
		"~^claude-(.*)$": "anthropic/claude-$1",
		"~^o[0-9]":       "deepseek-reasoner",
		"text-embedding": "",
		"*":              "qwen-turbo",
	})
	require.NoError(t, err)
	cases := map[string]string{
		"gpt-4o":              "qwen-vl-plus",    // exact
		"gpt-4-0613":          "qwen-max",        // prefix
		"gpt-4-turbo-preview": "qwen-max-latest", // the longest prefix wins
		"claude-3-opus":       "anthropic/claude-3-opus",
		"o3-mini":             "deepseek-reasoner",
		"text-embedding":      "text-embedding", // "" keeps the name
		"llama3":              "qwen-turbo",     // *
	}
	for in, want := range cases {
		got, ok := m.lookup(in)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	var none *modelMapping
	got, ok := none.lookup("x")
	require.False(t, ok)
	require.Equal(t, "x", got)
}

// TestProviderURLAndHeaders sends a chat request through each provider
// type to a fake and checks where it arrived and with which credential.
func TestProviderURLAndHeaders(t *testing.T) {
	cases := []struct {
		typ, extra string
		client     string // chat or messages
		path       string
		query      string
		auth       [2]string
		more       map[string]string
	}{
		{"openai", "", "chat", "/v1/chat/completions", "", [2]string{"Authorization", "Bearer pk-1"}, nil},
		{"deepseek", "", "chat", "/v1/chat/completions", "", [2]string{"Authorization", "Bearer pk-1"}, nil},
		{"qwen", "", "chat", "/v1/chat/completions", "", [2]string{"Authorization", "Bearer pk-1"}, nil},
		{"moonshot", "", "chat", "/v1/chat/completions", "", [2]string{"Authorization", "Bearer pk-1"}, nil},
		{"groq", "", "messages", "/v1/chat/completions", "", [2]string{"Authorization", "Bearer pk-1"}, nil},
		{"mistral", "", "chat", "/v1/chat/completions", "", [2]string{"Authorization", "Bearer pk-1"}, nil},
		{"openrouter", "", "chat", "/v1/chat/completions", "", [2]string{"Authorization", "Bearer pk-1"}, nil},
		{"together", "", "chat", "/v1/chat/completions", "", [2]string{"Authorization", "Bearer pk-1"}, nil},
		{"vllm", "", "chat", "/v1/chat/completions", "", [2]string{"Authorization", "Bearer pk-1"}, nil},
		{"ollama", "", "chat", "/v1/chat/completions", "", [2]string{"Authorization", "Bearer pk-1"}, nil},
		{"generic", "", "chat", "/v1/chat/completions", "", [2]string{"Authorization", "Bearer pk-1"}, nil},
		{"claude", `,"claudeVersion":"2024-01-01"`, "chat", "/v1/messages", "", [2]string{"X-Api-Key", "pk-1"}, map[string]string{"Anthropic-Version": "2024-01-01"}},
		{"claude", "", "messages", "/v1/messages", "", [2]string{"X-Api-Key", "pk-1"}, map[string]string{"Anthropic-Version": "2023-06-01"}},
		{"gemini", "", "chat", "/v1beta/models/mapped-model:generateContent", "", [2]string{"X-Goog-Api-Key", "pk-1"}, nil},
		{"azure", "", "chat", "/openai/v1/chat/completions", "", [2]string{"Api-Key", "pk-1"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.typ+"/"+tc.client, func(t *testing.T) {
			f := newFake(t)
			ep := `"endpoint":` + quote(f.URL)
			if tc.typ == "azure" {
				ep = `"azureServiceUrl":` + quote(f.URL+"/openai/v1")
			}
			g := newGW(t, `{"provider":{"type":"`+tc.typ+`","apiTokens":["pk-1"],`+ep+`,"modelMapping":{"*":"mapped-model"}`+tc.extra+`}}`)
			path, body := "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
			if tc.client == "messages" {
				path, body = "/v1/messages", `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
			}
			rec := g.do("POST", path, body, "Authorization", "Bearer client-key", "X-Api-Key", "client-key")
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			got := f.last(t)
			require.Equal(t, tc.path, got.Path)
			require.Equal(t, tc.auth[1], got.Header.Get(tc.auth[0]))
			for k, v := range tc.more {
				require.Equal(t, v, got.Header.Get(k))
			}
			for _, h := range []string{"Authorization", "X-Api-Key", "Api-Key", "X-Goog-Api-Key"} {
				if h != tc.auth[0] {
					require.Empty(t, got.Header.Get(h), "the client's %s never reaches the provider", h)
				}
			}
			require.NotContains(t, rec.Body.String(), "pk-1")
			if tc.typ != "gemini" {
				require.Equal(t, "mapped-model", got.Body["model"])
			}
			require.Contains(t, rec.Body.String(), "hello there")
		})
	}
}

func TestCustomSettings(t *testing.T) {
	f := newFake(t)
	g := newGW(t, `{"provider":{"type":"openai","apiTokens":["k"],"endpoint":`+quote(f.URL)+`,"customSettings":[
		{"name":"max_tokens","value":99,"overwrite":false},{"name":"temperature","value":0.5},{"name":"user","value":"gw","mode":"raw"},{"name":"top_k","value":3}]}}`)
	rec := g.do("POST", "/v1/chat/completions", `{"model":"m","max_tokens":5,"temperature":1,"messages":[{"role":"user","content":"hi"}]}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	body := f.last(t).Body
	require.EqualValues(t, 5, body["max_tokens"], "overwrite false keeps the client's value")
	require.EqualValues(t, 0.5, body["temperature"])
	require.Equal(t, "gw", body["user"])
	require.NotContains(t, body, "top_k", "OpenAI has no top_k: the setting is skipped")

	out, err := applySettings([]byte(`{"contents":[]}`), mustSettings(t, `[{"name":"max_tokens","value":7}]`, "gemini"))
	require.NoError(t, err)
	require.JSONEq(t, `{"contents":[],"generationConfig":{"maxOutputTokens":7}}`, string(out))
}

func mustSettings(t *testing.T, list, wire string) []setting {
	t.Helper()
	var cs []customSetting
	require.NoError(t, json.Unmarshal([]byte(list), &cs))
	s, err := compileSettings(cs, translate.Protocol(wire))
	require.NoError(t, err)
	return s
}
