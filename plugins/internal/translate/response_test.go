package translate

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

var createdRe = regexp.MustCompile(`"created":\d+`)

func TestResponse(t *testing.T) {
	tests := []struct {
		name     string
		from, to Protocol
		file     string
		model    string
		usage    Usage
		checks   map[string]string
	}{
		{"anthropic_tool_to_openai", Anthropic, OpenAI, "anthropic_tool.json", "claude-sonnet",
			Usage{InputTokens: 5943, OutputTokens: 503, CachedTokens: 1800, Known: true},
			map[string]string{
				"object": "chat.completion", "model": "claude-sonnet", "id": "msg_01Aq9w938a90dw8q",
				"choices.0.message.role":                           "assistant",
				"choices.0.message.content":                        "I'll check the current weather in Paris.",
				"choices.0.message.reasoning_content":              "The user wants the weather; call the tool.",
				"choices.0.message.tool_calls.0.id":                "toolu_01A09q90qw90lq917835lq9",
				"choices.0.message.tool_calls.0.type":              "function",
				"choices.0.message.tool_calls.0.function.name":     "get_weather",
				"choices.0.finish_reason":                          "tool_calls",
				"usage.prompt_tokens":                              "5943",
				"usage.completion_tokens":                          "503",
				"usage.total_tokens":                               "6446",
				"usage.prompt_tokens_details.cached_tokens":        "1800",
				"usage.completion_tokens_details.reasoning_tokens": "0",
			}},
		{"anthropic_text_to_openai", Anthropic, OpenAI, "anthropic_text.json", "",
			Usage{InputTokens: 12, OutputTokens: 10, Known: true},
			map[string]string{"model": "claude-3-5-haiku-20241022", "choices.0.message.content": "Hello! How can I help you today?", "choices.0.finish_reason": "length", "choices.0.message.tool_calls": ""}},
		{"openai_tool_to_anthropic", OpenAI, Anthropic, "openai_tool.json", "gpt-4.1",
			Usage{InputTokens: 1950, OutputTokens: 310, CachedTokens: 1920, ReasoningTokens: 256, Known: true},
			map[string]string{
				"type": "message", "role": "assistant", "model": "gpt-4.1",
				"content.0.type": "text", "content.0.text": "Let me look that up.",
				"content.1.type": "tool_use", "content.1.id": "call_DdmO9pD3xa9XTPNJ32zg2hcA", "content.1.input.location": "Paris, France",
				"content.2.name": "get_time", "content.2.input": "{}",
				"stop_reason": "tool_use", "stop_sequence": "",
				"usage.input_tokens": "30", "usage.cache_read_input_tokens": "1920", "usage.output_tokens": "310",
			}},
		{"openai_text_to_anthropic", OpenAI, Anthropic, "openai_text.json", "",
			Usage{InputTokens: 19, OutputTokens: 60, Known: true},
			map[string]string{"model": "deepseek-reasoner", "content.0.type": "thinking", "content.0.thinking": "Compare 0.11 and 0.9.", "content.1.text": "9.9 is larger.", "stop_reason": "max_tokens"}},
		{"gemini_tool_to_openai", Gemini, OpenAI, "gemini_tool.json", "gemini-pro",
			Usage{InputTokens: 96, OutputTokens: 84, CachedTokens: 64, ReasoningTokens: 54, Known: true},
			map[string]string{
				"id": "chatcmpl-Xk9nZ4i1Jc2Vz7IP2Lz0gAM", "model": "gemini-pro",
				"choices.0.message.content":                         "Checking both.",
				"choices.0.message.reasoning_content":               "Thinking about which tool to use",
				"choices.0.message.tool_calls.0.id":                 "call_Xk9nZ4i1Jc2Vz7IP2Lz0gAM_0",
				"choices.0.message.tool_calls.1.function.name":      "get_time",
				"choices.0.message.tool_calls.1.function.arguments": "{}",
				"choices.0.finish_reason":                           "tool_calls",
				"usage.prompt_tokens":                               "96",
				"usage.completion_tokens":                           "84",
				"usage.completion_tokens_details.reasoning_tokens":  "54",
				"usage.prompt_tokens_details.cached_tokens":         "64",
			}},
		{"gemini_tool_to_anthropic", Gemini, Anthropic, "gemini_tool.json", "gemini-pro",
			Usage{InputTokens: 96, OutputTokens: 84, CachedTokens: 64, ReasoningTokens: 54, Known: true},
			map[string]string{
				"content.0.type": "thinking", "content.1.text": "Checking both.", "content.2.type": "tool_use",
				"content.2.input.location": "Boston, MA", "stop_reason": "tool_use",
				"usage.input_tokens": "32", "usage.cache_read_input_tokens": "64", "usage.output_tokens": "84",
			}},
		{"gemini_safety_to_openai", Gemini, OpenAI, "gemini_safety.json", "g",
			Usage{InputTokens: 8, OutputTokens: 2, Known: true},
			map[string]string{"choices.0.finish_reason": "content_filter"}},
		{"gemini_safety_to_anthropic", Gemini, Anthropic, "gemini_safety.json", "g",
			Usage{InputTokens: 8, OutputTokens: 2, Known: true},
			map[string]string{"stop_reason": "refusal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, u, err := Response(tt.from, tt.to, readTestdata(t, "responses/"+tt.file), tt.model)
			require.NoError(t, err)
			require.Equal(t, tt.usage, u)
			r := gjson.ParseBytes(out)
			for path, want := range tt.checks {
				require.Equal(t, want, r.Get(path).String(), path)
			}
			golden(t, "response_"+tt.name+".json", indent(t, createdRe.ReplaceAll(out, []byte(`"created":0`))))
		})
	}
}

func TestResponsePassThrough(t *testing.T) {
	tests := []struct {
		p     Protocol
		file  string
		usage Usage
	}{
		{OpenAI, "openai_tool.json", Usage{InputTokens: 1950, OutputTokens: 310, CachedTokens: 1920, ReasoningTokens: 256, Known: true}},
		{Anthropic, "anthropic_tool.json", Usage{InputTokens: 5943, OutputTokens: 503, CachedTokens: 1800, Known: true}},
		{Gemini, "gemini_tool.json", Usage{InputTokens: 96, OutputTokens: 84, CachedTokens: 64, ReasoningTokens: 54, Known: true}},
	}
	for _, tt := range tests {
		t.Run(string(tt.p), func(t *testing.T) {
			in := readTestdata(t, "responses/"+tt.file)
			out, u, err := Response(tt.p, tt.p, in, "whatever")
			require.NoError(t, err)
			require.Equal(t, string(in), string(out), "same protocol: byte for byte")
			require.Equal(t, tt.usage, u)
		})
	}
	_, u, err := Response(OpenAI, OpenAI, []byte(`{"id":"x","choices":[]}`), "")
	require.NoError(t, err)
	require.False(t, u.Known, "no usage reported")
}

func TestResponseBad(t *testing.T) {
	for _, body := range []string{``, `<html>502 Bad Gateway</html>`, `[]`, `{"choices":[{"message":{"tool_calls":[{"function":{"arguments":"{not json"}}]}}]}`} {
		_, _, err := Response(OpenAI, Anthropic, []byte(body), "m")
		require.ErrorIs(t, err, ErrBadResponse, body)
	}
	_, _, err := Response(OpenAI, Gemini, []byte(`{}`), "m")
	require.ErrorContains(t, err, `from "openai" to "gemini"`)
}
