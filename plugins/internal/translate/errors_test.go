package translate

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestErrorBody(t *testing.T) {
	tests := []struct {
		p       Protocol
		status  int
		kind    string
		message string
		want    string
	}{
		{OpenAI, 404, "not_found_error", `the model "gpt-5" is not offered here; try gpt-4o`,
			`{"error":{"message":"the model \"gpt-5\" is not offered here; try gpt-4o","type":"not_found_error","param":null,"code":"model_not_found"}}`},
		{Anthropic, 404, "not_found_error", "model: claude-x",
			`{"type":"error","error":{"type":"not_found_error","message":"model: claude-x"}}`},
		{Anthropic, 529, "", "Overloaded", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`},
		{OpenAI, 429, "", "slow down", `{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`},
		{Anthropic, 401, "", "", `{"type":"error","error":{"type":"authentication_error","message":"Unauthorized"}}`},
		{OpenAI, 502, "", "provider openai-1 unreachable: connection refused", `{"error":{"message":"provider openai-1 unreachable: connection refused","type":"api_error","param":null,"code":"api_error"}}`},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, string(ErrorBody(tt.p, tt.status, tt.kind, tt.message)))
	}
}

func TestKindForStatus(t *testing.T) {
	want := map[int]string{400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error",
		413: "request_too_large", 429: "rate_limit_error", 500: "api_error", 502: "api_error", 503: "overloaded_error", 504: "timeout_error", 529: "overloaded_error", 418: "invalid_request_error"}
	for status, kind := range want {
		require.Equal(t, kind, KindForStatus(status), status)
	}
	require.True(t, Retryable(529))
	require.True(t, Retryable(429))
	require.False(t, Retryable(400))
}

func TestErrorEvent(t *testing.T) {
	require.Equal(t, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"cut\\n\"}}\n\n", string(ErrorEvent(Anthropic, "api_error", "cut\n")))
	require.Equal(t, "data: {\"error\":{\"message\":\"cut\",\"type\":\"api_error\",\"param\":null,\"code\":\"api_error\"}}\n\n", string(ErrorEvent(OpenAI, "", "cut")))
	r := assembleOpenAI(t, ErrorEvent(OpenAI, "overloaded_error", "busy"))
	require.Equal(t, "overloaded_error: busy", r.Error)
}

func TestError(t *testing.T) {
	tests := []struct {
		name     string
		from, to Protocol
		status   int
		body     string
		want     string
	}{
		{"anthropic overloaded to openai", Anthropic, OpenAI, 529,
			`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
			`{"error":{"message":"Overloaded","type":"overloaded_error","param":null,"code":"overloaded_error"}}`},
		{"openai rate limit to anthropic", OpenAI, Anthropic, 429,
			`{"error":{"message":"Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): Limit 30000, Used 29000.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`,
			`{"type":"error","error":{"type":"rate_limit_error","message":"Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): Limit 30000, Used 29000."}}`},
		{"openai key echoed is redacted", OpenAI, Anthropic, 401,
			`{"error":{"message":"Incorrect API key provided: sk-proj-********************************************9xQz. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
			`{"type":"error","error":{"type":"authentication_error","message":"Incorrect API key provided: [redacted]. You can find your API key at https://platform.openai.com/account/api-keys."}}`},
		{"openai context length keeps its code", OpenAI, OpenAI, 400,
			`{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`,
			`{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":null,"code":"context_length_exceeded"}}`},
		{"gemini to anthropic", Gemini, Anthropic, 400,
			`{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}`,
			`{"type":"error","error":{"type":"invalid_request_error","message":"API key not valid. Please pass a valid API key."}}`},
		{"gemini array to openai", Gemini, OpenAI, 429,
			`[{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}]`,
			`{"error":{"message":"Resource has been exhausted","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`},
		{"html from a proxy", OpenAI, Anthropic, 502, `<html><body>502 Bad Gateway</body></html>`,
			`{"type":"error","error":{"type":"api_error","message":"<html><body>502 Bad Gateway</body></html>"}}`},
		{"empty body", Anthropic, OpenAI, 503, ``,
			`{"error":{"message":"the provider answered 503 Service Unavailable","type":"overloaded_error","param":null,"code":"overloaded_error"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, string(Error(tt.from, tt.to, tt.status, []byte(tt.body))))
		})
	}
	long := Error(OpenAI, OpenAI, 500, []byte(strings.Repeat("é", 2000)))
	require.Less(t, len(long), 1200, "a provider's message is bounded")
	require.True(t, strings.HasSuffix(string(long), `…","type":"api_error","param":null,"code":"api_error"}}`))
}
