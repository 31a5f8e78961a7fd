package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/aiwire"
	"github.com/gatehouse-dev/gatehouse/plugins/internal/schematest"
)

type seenRequest struct {
	body     string
	header   http.Header
	provider string
}

func route(t *testing.T, cfg, path, body string, header ...string) seenRequest {
	t.Helper()
	inst, err := Plugin.New(context.Background(), json.RawMessage(cfg), nil)
	require.NoError(t, err)
	var got seenRequest
	h := inst.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		require.EqualValues(t, len(b), r.ContentLength)
		got.body, got.header = string(b), r.Header
		got.provider, _ = aiwire.ProviderFrom(r.Context())
	}))
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	h.ServeHTTP(httptest.NewRecorder(), req)
	return got
}

const both = `{"modelToHeader":"x-higress-llm-model","addProviderHeader":"x-higress-llm-provider"}`

func TestProviderSlashModelIsSplit(t *testing.T) {
	got := route(t, both, "/llm/v1/chat/completions", `{"model":"dashscope/qwen-long","messages":[]}`)
	require.JSONEq(t, `{"model":"qwen-long","messages":[]}`, got.body)
	require.Equal(t, "dashscope", got.header.Get("x-higress-llm-provider"))
	require.Equal(t, "dashscope/qwen-long", got.header.Get("x-higress-llm-model"), "modelToHeader has the model as the client named it (Higress)")
	require.Equal(t, "dashscope", got.provider, "ai-proxy learns the provider from the context")

	// Only the first slash splits.
	got = route(t, both, "/v1/messages", `{"model":"openrouter/meta/llama-3","messages":[]}`)
	require.JSONEq(t, `{"model":"meta/llama-3","messages":[]}`, got.body)
	require.Equal(t, "openrouter", got.provider)
}

func TestAClientCannotForgeTheProvider(t *testing.T) {
	got := route(t, both, "/v1/chat/completions", `{"model":"gpt-4o"}`, "x-higress-llm-provider", "claude-1", "x-higress-llm-model", "other")
	require.Empty(t, got.header.Get("x-higress-llm-provider"))
	require.Equal(t, "gpt-4o", got.header.Get("x-higress-llm-model"))
	require.Empty(t, got.provider)
	require.JSONEq(t, `{"model":"gpt-4o"}`, got.body)
}

func TestWithoutAddProviderHeaderTheModelStays(t *testing.T) {
	got := route(t, `{"modelToHeader":"x-model"}`, "/v1/chat/completions", `{"model":"openai/gpt-4o"}`)
	require.JSONEq(t, `{"model":"openai/gpt-4o"}`, got.body)
	require.Equal(t, "openai/gpt-4o", got.header.Get("x-model"))
	require.Empty(t, got.provider)
}

func TestEnableOnPathSuffix(t *testing.T) {
	require.Empty(t, route(t, both, "/v1/models/x", `{"model":"a/b"}`).provider, "not one of Higress's default paths")
	require.Equal(t, "a", route(t, `{"addProviderHeader":"x-p","enableOnPathSuffix":["*"]}`, "/anything", `{"model":"a/b"}`).provider)
	require.Empty(t, route(t, `{"addProviderHeader":"x-p","enableOnPathSuffix":["/messages"]}`, "/v1/chat/completions", `{"model":"a/b"}`).provider)
	require.Equal(t, "a", route(t, `{"addProviderHeader":"x-p","modelKey":"engine"}`, "/v1/completions", `{"engine":"a/b"}`).provider)
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct{ cfg, field string }{
		{`{"modelKey":"a.b"}`, "modelKey"},
		{`{"modelToHeader":"bad header"}`, "modelToHeader"},
		{`{"enableOnPathSuffix":[""]}`, "enableOnPathSuffix[0]"},
		{`{"addProviderHeadr":"x"}`, "addProviderHeadr"},
	} {
		_, err := parseConfig([]byte(tc.cfg))
		require.ErrorContains(t, err, tc.field+": ")
	}
	parse := func(b []byte) error { _, err := parseConfig(b); return err }
	schematest.RequireAgrees(t, Plugin.ConfigSchema(), parse, []string{`{}`, both, `{"modelKey":"engine","enableOnPathSuffix":["*"]}`}, true)
	schematest.RequireAgrees(t, Plugin.ConfigSchema(), parse, []string{`{"modelKey":"a.b"}`, `{"modelToHeader":"a b"}`, `{"enableOnPathSuffix":[""]}`, `{"x":1}`}, false)
}
