package translate

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

type requestCase struct {
	name     string
	from, to Protocol
	file     string
	opts     RequestOptions
}

var requestCases = []requestCase{
	{"openai_agent_to_anthropic", OpenAI, Anthropic, "openai_agent.json", RequestOptions{}},
	{"openai_agent_to_gemini", OpenAI, Gemini, "openai_agent.json", RequestOptions{}},
	{"openai_reasoning_to_anthropic", OpenAI, Anthropic, "openai_reasoning.json", RequestOptions{DefaultMaxTokens: 8192}},
	{"openai_reasoning_to_gemini", OpenAI, Gemini, "openai_reasoning.json", RequestOptions{}},
	{"anthropic_claude_code_to_openai", Anthropic, OpenAI, "anthropic_claude_code.json", RequestOptions{ForceStreamUsage: true}},
	{"anthropic_claude_code_to_gemini", Anthropic, Gemini, "anthropic_claude_code.json", RequestOptions{}},
}

func TestRequestGolden(t *testing.T) {
	for _, c := range requestCases {
		t.Run(c.name, func(t *testing.T) {
			out, err := Request(c.from, c.to, readTestdata(t, "requests/"+c.file), c.opts)
			require.NoError(t, err)
			require.True(t, json.Valid(out), "valid JSON: %s", out)
			golden(t, "request_"+c.name+".json", indent(t, out))
		})
	}
}

// get runs a translation and returns a gjson reader over its output.
func translated(t *testing.T, from, to Protocol, body string, opts RequestOptions) gjson.Result {
	t.Helper()
	out, err := Request(from, to, []byte(body), opts)
	require.NoError(t, err)
	require.True(t, json.Valid(out), "valid JSON: %s", out)
	return gjson.ParseBytes(out)
}

func TestRequestOpenAIToAnthropic(t *testing.T) {
	r := translated(t, OpenAI, Anthropic, string(readTestdata(t, "requests/openai_agent.json")), RequestOptions{})
	checks := []struct{ path, want string }{
		{"model", "gpt-4o"},
		{"max_tokens", "800"},
		{"system.#", "2"},
		{"system.0.text", "You are a travel assistant. Answer in one sentence."},
		{"system.1.text", "Use metric units."},
		{"messages.#", "3"},
		{"messages.0.role", "user"},
		{"messages.0.content.1.type", "image"},
		{"messages.0.content.1.source.type", "base64"},
		{"messages.0.content.1.source.media_type", "image/png"},
		{"messages.1.role", "assistant"},
		{"messages.1.content.0.type", "tool_use"},
		{"messages.1.content.0.input.location", "Paris, France"},
		{"messages.1.content.1.input", "{}"},
		// both tool results and the next user text are one user turn
		{"messages.2.role", "user"},
		{"messages.2.content.0.type", "tool_result"},
		{"messages.2.content.0.tool_use_id", "call_DdmO9pD3xa9XTPNJ32zg2hcA"},
		{"messages.2.content.1.content.0.text", "16:05 CET"},
		{"messages.2.content.2.text", "And should I take an umbrella?"},
		{"stop_sequences.0", "\n\nUser:"},
		{"temperature", "0.2"},
		{"top_p", "0.9"},
		{"stream", "true"},
		{"tools.0.name", "get_weather"},
		{"tools.0.input_schema.required.0", "location"},
		{"tools.1.input_schema.type", "object"},
		{"tool_choice.type", "tool"},
		{"tool_choice.name", "get_weather"},
		{"tool_choice.disable_parallel_tool_use", "true"},
		{"metadata.user_id", "user-1234"},
	}
	for _, c := range checks {
		require.Equal(t, c.want, r.Get(c.path).String(), c.path)
	}
	require.Len(t, r.Get("messages").Array(), 3)
	require.False(t, r.Get("seed").Exists(), "seed has no Anthropic equivalent and is dropped")
	require.False(t, r.Get("stream_options").Exists())
}

func TestRequestAnthropicDefaults(t *testing.T) {
	tests := []struct {
		name, body string
		opts       RequestOptions
		checks     map[string]string
	}{
		{"default max_tokens", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, RequestOptions{},
			map[string]string{"max_tokens": "4096", "messages.0.content": "hi", "thinking": ""}},
		{"configured default", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, RequestOptions{DefaultMaxTokens: 1000},
			map[string]string{"max_tokens": "1000"}},
		{"max_tokens when max_completion_tokens is null", `{"model":"m","max_tokens":77,"max_completion_tokens":null,"messages":[{"role":"user","content":"hi"}]}`, RequestOptions{},
			map[string]string{"max_tokens": "77"}},
		{"reasoning adds the budget to the default", `{"model":"m","reasoning_effort":"medium","messages":[{"role":"user","content":"hi"}]}`, RequestOptions{},
			map[string]string{"max_tokens": "12288", "thinking.type": "enabled", "thinking.budget_tokens": "8192"}},
		{"reasoning budget fits in the client's max", `{"model":"m","reasoning_effort":"high","max_completion_tokens":5000,"messages":[{"role":"user","content":"hi"}]}`, RequestOptions{},
			map[string]string{"max_tokens": "5000", "thinking.budget_tokens": "4999"}},
		{"reasoning none is no thinking", `{"model":"m","reasoning_effort":"none","messages":[{"role":"user","content":"hi"}]}`, RequestOptions{},
			map[string]string{"thinking": ""}},
		{"tool_choice none and required", `{"model":"m","tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required","messages":[{"role":"user","content":"hi"}]}`, RequestOptions{},
			map[string]string{"tool_choice.type": "any"}},
		{"tool_choice without tools is dropped", `{"model":"m","tool_choice":"auto","messages":[{"role":"user","content":"hi"}]}`, RequestOptions{},
			map[string]string{"tool_choice": ""}},
		{"image by URL", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}`, RequestOptions{},
			map[string]string{"messages.0.content.0.source.type": "url", "messages.0.content.0.source.url": "https://example.com/a.png"}},
		{"a tool result with an image", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"shot","arguments":""}}]},{"role":"tool","tool_call_id":"c1","content":[{"type":"text","text":"here"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`, RequestOptions{},
			map[string]string{"messages.2.content.0.type": "tool_result", "messages.2.content.0.content.0.text": "here", "messages.2.content.0.content.1.type": "image", "messages.2.content.0.content.1.source.data": "AAAA"}},
		{"assistant text and a tool call", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Sure.","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"x\":[1,2]}"}}]},{"role":"tool","tool_call_id":"c1","content":"ok"}]}`, RequestOptions{},
			map[string]string{"messages.1.content.0.text": "Sure.", "messages.1.content.1.input.x.1": "2", "messages.2.content.0.content": "ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := translated(t, OpenAI, Anthropic, tt.body, tt.opts)
			for path, want := range tt.checks {
				require.Equal(t, want, r.Get(path).String(), path)
			}
		})
	}
}

func TestRequestAnthropicToOpenAI(t *testing.T) {
	r := translated(t, Anthropic, OpenAI, string(readTestdata(t, "requests/anthropic_claude_code.json")), RequestOptions{ForceStreamUsage: true})
	checks := []struct{ path, want string }{
		{"messages.0.role", "system"},
		{"messages.0.content", "You are Claude Code, Anthropic's official CLI for Claude.\nWorking directory: /home/dev/project"},
		{"messages.1.content", "List the Go files and fix the failing test."},
		{"messages.2.role", "assistant"},
		{"messages.2.content", "I'll look at the files."},
		{"messages.2.tool_calls.0.id", "toolu_01A09q90qw90lq917835lq9"},
		{"messages.2.tool_calls.0.function.name", "Bash"},
		{"messages.3.role", "tool"},
		{"messages.3.tool_call_id", "toolu_01A09q90qw90lq917835lq9"},
		{"messages.3.content", "main.go\nmain_test.go"},
		{"messages.4.role", "user"},
		{"messages.4.content.0.text", "Here is a screenshot of the failure:"},
		{"messages.4.content.1.image_url.url", "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP"},
		{"messages.4.content.2.text", "Please fix it."},
		{"max_completion_tokens", "32000"},
		{"reasoning_effort", "high"},
		{"stop.0", "</done>"},
		{"stream", "true"},
		{"stream_options.include_usage", "true"},
		{"tools.1.function.name", "Read"},
		{"tools.0.function.parameters.required.0", "command"},
		{"tool_choice", "required"},
		{"parallel_tool_calls", "false"},
		{"user", "user_2f1c_account_9a"},
	}
	for _, c := range checks {
		require.Equal(t, c.want, r.Get(c.path).String(), c.path)
	}
	args := r.Get("messages.2.tool_calls.0.function.arguments")
	require.Equal(t, gjson.String, args.Type, "arguments are a JSON string")
	require.Equal(t, "ls *.go", gjson.Get(args.Str, "command").Str)
	require.Len(t, r.Get("messages").Array(), 5)
	require.False(t, r.Get("max_tokens").Exists())

	plain := translated(t, Anthropic, OpenAI, `{"model":"m","max_tokens":100,"system":"be kind","messages":[{"role":"user","content":"hi"}],"stream":true,"top_k":5,"tool_choice":{"type":"tool","name":"f"},"tools":[{"name":"f","input_schema":{"type":"object"}}]}`, RequestOptions{})
	require.Equal(t, "be kind", plain.Get("messages.0.content").Str)
	require.Equal(t, "100", plain.Get("max_tokens").Raw)
	require.False(t, plain.Get("stream_options").Exists(), "stream_options only with ForceStreamUsage")
	require.False(t, plain.Get("top_k").Exists())
	require.Equal(t, "f", plain.Get("tool_choice.function.name").Str)
}

func TestRequestOpenAIToGemini(t *testing.T) {
	r := translated(t, OpenAI, Gemini, string(readTestdata(t, "requests/openai_agent.json")), RequestOptions{})
	checks := []struct{ path, want string }{
		{"model", ""},
		{"systemInstruction.parts.0.text", "You are a travel assistant. Answer in one sentence."},
		{"systemInstruction.parts.1.text", "Use metric units."},
		{"contents.0.role", "user"},
		{"contents.0.parts.1.inlineData.mimeType", "image/png"},
		{"contents.1.role", "model"},
		{"contents.1.parts.0.functionCall.name", "get_weather"},
		{"contents.1.parts.0.functionCall.args.unit", "celsius"},
		{"contents.2.role", "user"},
		{"contents.2.parts.0.functionResponse.name", "get_weather"},
		{"contents.2.parts.0.functionResponse.response.temperature", "14"},
		{"contents.2.parts.1.functionResponse.name", "get_time"},
		{"contents.2.parts.1.functionResponse.response.content", "16:05 CET"},
		{"contents.2.parts.2.text", "And should I take an umbrella?"},
		{"tools.0.functionDeclarations.0.name", "get_weather"},
		{"tools.0.functionDeclarations.0.parametersJsonSchema.additionalProperties", "false"},
		{"toolConfig.functionCallingConfig.mode", "ANY"},
		{"toolConfig.functionCallingConfig.allowedFunctionNames.0", "get_weather"},
		{"generationConfig.maxOutputTokens", "800"},
		{"generationConfig.temperature", "0.2"},
		{"generationConfig.topP", "0.9"},
		{"generationConfig.stopSequences.0", "\n\nUser:"},
	}
	for _, c := range checks {
		require.Equal(t, c.want, r.Get(c.path).String(), c.path)
	}
	require.Len(t, r.Get("contents").Array(), 3)
	require.False(t, r.Get("stream").Exists(), "Gemini streams by URL")

	rs := translated(t, OpenAI, Gemini, `{"model":"m","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"low","response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}}}`, RequestOptions{})
	require.Equal(t, "2048", rs.Get("generationConfig.thinkingConfig.thinkingBudget").Raw)
	require.Equal(t, "application/json", rs.Get("generationConfig.responseMimeType").Str)
	require.Equal(t, `{"type":"object"}`, rs.Get("generationConfig.responseJsonSchema").Raw)
}

func TestRequestRefuses(t *testing.T) {
	tests := []struct {
		name     string
		from, to Protocol
		body     string
		want     error
		field    string
	}{
		{"n > 1", OpenAI, Anthropic, `{"model":"m","n":2,"messages":[]}`, ErrUnsupported, "n"},
		{"logprobs", OpenAI, Anthropic, `{"model":"m","logprobs":true,"messages":[]}`, ErrUnsupported, "logprobs"},
		{"audio input", OpenAI, Anthropic, `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}}]}]}`, ErrUnsupported, "messages[0].content[0]"},
		{"audio output", OpenAI, Gemini, `{"model":"m","modalities":["text","audio"],"messages":[]}`, ErrUnsupported, "modalities"},
		{"json mode for Anthropic", OpenAI, Anthropic, `{"model":"m","response_format":{"type":"json_object"},"messages":[]}`, ErrUnsupported, "response_format"},
		{"web tool", OpenAI, Anthropic, `{"model":"m","tools":[{"type":"web_search_preview"}],"messages":[]}`, ErrUnsupported, "tools[0].type"},
		{"legacy function role", OpenAI, Anthropic, `{"model":"m","messages":[{"role":"function","name":"f","content":"x"}]}`, ErrUnsupported, "messages[0].role"},
		{"image URL for Gemini", OpenAI, Gemini, `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}`, ErrUnsupported, "messages[0].content[0].image_url.url"},
		{"thinking in a small max", OpenAI, Anthropic, `{"model":"m","reasoning_effort":"low","max_tokens":500,"messages":[]}`, ErrUnsupported, "reasoning_effort"},
		{"Anthropic server tool", Anthropic, OpenAI, `{"model":"m","max_tokens":1,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[]}`, ErrUnsupported, "tools[0]"},
		{"Anthropic document", Anthropic, OpenAI, `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"AA"}}]}]}`, ErrUnsupported, "messages[0].content[0]"},
		{"Anthropic image source by file id", Anthropic, OpenAI, `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]}]}`, ErrUnsupported, "messages[0].content[0].content[0].source"},
		{"Anthropic document in a tool result", Anthropic, OpenAI, `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"x"},{"type":"document","source":{}}]}]}]}`, ErrUnsupported, "messages[0].content[0].content[1]"},
		{"not JSON", OpenAI, Anthropic, `{"model":`, ErrInvalidBody, "JSON"},
		{"not an object", Anthropic, OpenAI, `[1,2]`, ErrInvalidBody, "not an object"},
		{"messages not an array", OpenAI, Anthropic, `{"model":"m","messages":"hi"}`, ErrInvalidBody, "messages"},
		{"arguments not JSON", OpenAI, Anthropic, `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}`, ErrInvalidBody, "messages[0].tool_calls[0].function.arguments"},
		{"unknown role", OpenAI, Anthropic, `{"model":"m","messages":[{"role":"robot","content":"x"}]}`, ErrInvalidBody, `"robot"`},
		{"unknown reasoning effort", OpenAI, Anthropic, `{"model":"m","reasoning_effort":"max","messages":[]}`, ErrInvalidBody, "reasoning_effort"},
		{"tool result for Gemini without its call", OpenAI, Gemini, `{"model":"m","messages":[{"role":"tool","tool_call_id":"c9","content":"x"}]}`, ErrInvalidBody, `"c9"`},
		{"temperature a string", OpenAI, Anthropic, `{"model":"m","temperature":"hot","messages":[]}`, ErrInvalidBody, "temperature"},
		{"no such pair", Anthropic, Anthropic, ``, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == nil {
				_, err := Request(Gemini, Anthropic, []byte(`{}`), RequestOptions{})
				require.ErrorContains(t, err, `from "gemini" to "anthropic"`)
				return
			}
			_, err := Request(tt.from, tt.to, []byte(tt.body), RequestOptions{})
			require.ErrorIs(t, err, tt.want)
			require.ErrorContains(t, err, tt.field)
			var ue *UnsupportedError
			require.Equal(t, errors.Is(tt.want, ErrUnsupported), errors.As(err, &ue), "UnsupportedError for unsupported fields")
		})
	}
}

func TestRequestSameProtocol(t *testing.T) {
	body := []byte(`{"model":"gpt-4o", "stream":true, "messages":[{"role":"user","content":"hi"}]}`)
	out, err := Request(OpenAI, OpenAI, body, RequestOptions{})
	require.NoError(t, err)
	require.Equal(t, string(body), string(out))

	out, err = Request(OpenAI, OpenAI, body, RequestOptions{ForceStreamUsage: true})
	require.NoError(t, err)
	require.Equal(t, `{"model":"gpt-4o", "stream":true, "messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`, string(out))

	tests := []struct{ in, want string }{
		{`{"stream":true,"stream_options":{"include_usage":false,"x":1}}`, `{"stream":true,"stream_options":{"x":1,"include_usage":true}}`},
		{`{"stream":true,"stream_options":null}`, `{"stream":true,"stream_options":{"include_usage":true}}`},
		{`{"stream":true,"stream_options":{"include_usage":true}}`, `{"stream":true,"stream_options":{"include_usage":true}}`},
		{`{"stream":false}`, `{"stream":false}`},
		{"  {\"stream\": true }\n", "  {\"stream\": true ,\"stream_options\":{\"include_usage\":true}}\n"},
	}
	for _, tt := range tests {
		out, err := Request(OpenAI, OpenAI, []byte(tt.in), RequestOptions{ForceStreamUsage: true})
		require.NoError(t, err)
		require.Equal(t, tt.want, string(out))
	}
	a := []byte(`{"model":"claude","max_tokens":5,"stream":true,"messages":[]}`)
	out, err = Request(Anthropic, Anthropic, a, RequestOptions{ForceStreamUsage: true})
	require.NoError(t, err)
	require.Equal(t, string(a), string(out), "Anthropic streams always carry usage")
}

// TestRequestRoundTrip: OpenAI → Anthropic → OpenAI keeps what the model
// sees.
func TestRequestRoundTrip(t *testing.T) {
	orig := readTestdata(t, "requests/openai_agent.json")
	a, err := Request(OpenAI, Anthropic, orig, RequestOptions{})
	require.NoError(t, err)
	back, err := Request(Anthropic, OpenAI, a, RequestOptions{})
	require.NoError(t, err)
	o, b := gjson.ParseBytes(orig), gjson.ParseBytes(back)
	require.Equal(t, "You are a travel assistant. Answer in one sentence.\nUse metric units.", b.Get("messages.0.content").Str)
	require.Equal(t, o.Get("messages.3.tool_calls.0.id").Str, b.Get("messages.2.tool_calls.0.id").Str)
	require.JSONEq(t, o.Get("messages.3.tool_calls.0.function.arguments").Str, b.Get("messages.2.tool_calls.0.function.arguments").Str)
	require.Equal(t, "tool", b.Get("messages.3.role").Str)
	require.Equal(t, "tool", b.Get("messages.4.role").Str)
	require.Equal(t, o.Get("messages.6.content").Str, b.Get("messages.5.content").Str)
	require.Equal(t, o.Get("messages.2.content.1.image_url.url").Str, b.Get("messages.1.content.1.image_url.url").Str)
	require.Equal(t, "get_weather", b.Get("tool_choice.function.name").Str)
	require.Equal(t, "false", b.Get("parallel_tool_calls").Raw)
}

func TestInspect(t *testing.T) {
	tests := []struct {
		name string
		p    Protocol
		body string
		want RequestInfo
		err  string
	}{
		{"openai stream with usage", OpenAI, `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"max_tokens":10,"max_completion_tokens":20,"messages":[]}`,
			RequestInfo{Model: "gpt-4o", Stream: true, MaxTokens: 20, IncludeUsage: true}, ""},
		{"openai plain", OpenAI, ` {"model":"gpt-4o","messages":[]}`, RequestInfo{Model: "gpt-4o"}, ""},
		{"anthropic", Anthropic, `{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"messages":[]}`,
			RequestInfo{Model: "claude-sonnet-4-5", Stream: true, MaxTokens: 1024}, ""},
		{"no model", OpenAI, `{"messages":[]}`, RequestInfo{}, ""},
		{"model not a string", OpenAI, `{"model":42}`, RequestInfo{}, "model must be a string"},
		{"two models", OpenAI, `{"model":"cheap","messages":[],"model":"expensive"}`, RequestInfo{}, `2 "model" fields`},
		{"not JSON", OpenAI, `{"model":"x"`, RequestInfo{}, "not valid JSON"},
		{"array", Anthropic, `[]`, RequestInfo{}, "not an object"},
		{"max_tokens a string", OpenAI, `{"max_tokens":"10"}`, RequestInfo{}, "max_tokens must be a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Inspect(tt.p, []byte(tt.body))
			if tt.err != "" {
				require.ErrorIs(t, err, ErrInvalidBody)
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestSetModel(t *testing.T) {
	tests := []struct{ in, model, want string }{
		{`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`, "gpt-4o-mini", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`},
		{"\n {\"messages\":[], \"model\" :  \"a\" ,\"temperature\":0.50}", "b\"c", "\n {\"messages\":[], \"model\" :  \"b\\\"c\" ,\"temperature\":0.50}"},
		{`{"model":null}`, "x", `{"model":"x"}`},
		{`{"messages":[{"model":"inner"}]}`, "x", `{"model":"x","messages":[{"model":"inner"}]}`},
		{` { } `, "x", ` {"model":"x" } `},
	}
	for _, tt := range tests {
		got, err := SetModel([]byte(tt.in), tt.model)
		require.NoError(t, err)
		require.Equal(t, tt.want, string(got))
	}
	_, err := SetModel([]byte(`nope`), "x")
	require.ErrorIs(t, err, ErrInvalidBody)
}

func TestRequestAnthropicToGemini(t *testing.T) {
	r := translated(t, Anthropic, Gemini, string(readTestdata(t, "requests/anthropic_claude_code.json")), RequestOptions{})
	require.Equal(t, "10000", r.Get("generationConfig.thinkingConfig.thinkingBudget").Raw, "the exact budget, not a step of reasoning_effort")
	require.Equal(t, "Bash", r.Get("contents.2.parts.0.functionResponse.name").Str, "the tool result names the function of its call")
	require.Equal(t, "You are Claude Code, Anthropic's official CLI for Claude.\nWorking directory: /home/dev/project", r.Get("systemInstruction.parts.0.text").Str)
	require.Equal(t, "ANY", r.Get("toolConfig.functionCallingConfig.mode").Str)
}

// TestGeminiThoughtSignatures: Gemini 3 refuses a replayed function call
// without the thoughtSignature it gave; the signature travels in the tool
// call id through OpenAI and Anthropic clients and comes back.
func TestGeminiThoughtSignatures(t *testing.T) {
	answer := `{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Oslo"}},"thoughtSignature":"CiQB0e2Kb+/xYQ=="},{"functionCall":{"name":"get_time","args":{}}}]},"finishReason":"STOP"}],"responseId":"r1","usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":3}}`
	out, _, err := Response(Gemini, OpenAI, []byte(answer), "gemini-3-pro-preview")
	require.NoError(t, err)
	calls := gjson.GetBytes(out, "choices.0.message.tool_calls")
	id0, id1 := calls.Get("0.id").Str, calls.Get("1.id").Str
	require.Regexp(t, `^[A-Za-z0-9_-]+$`, id0, "the id stays a valid Anthropic tool_use id")
	require.Equal(t, "call_r1_1", id1)

	next := `{"model":"gemini-3-pro-preview","messages":[{"role":"user","content":"weather and time?"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"` + id0 + `","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}},{"id":"` + id1 + `","type":"function","function":{"name":"get_time","arguments":"{}"}}]},` +
		`{"role":"tool","tool_call_id":"` + id0 + `","content":"-3°C"},{"role":"tool","tool_call_id":"` + id1 + `","content":"09:00"}]}`
	r := translated(t, OpenAI, Gemini, next, RequestOptions{})
	require.Equal(t, "CiQB0e2Kb+/xYQ==", r.Get("contents.1.parts.0.thoughtSignature").Str, "the signature Gemini gave comes back")
	require.False(t, r.Get("contents.1.parts.1.thoughtSignature").Exists(), "parallel calls: only the first carries it")
	require.Equal(t, "get_weather", r.Get("contents.2.parts.0.functionResponse.name").Str)

	lost := `{"model":"gemini-3-flash","messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"call_abc","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_abc","content":"ok"}]}`
	r = translated(t, OpenAI, Gemini, lost, RequestOptions{})
	require.Equal(t, "skip_thought_signature_validator", r.Get("contents.1.parts.0.thoughtSignature").Str)

	old := strings.Replace(lost, "gemini-3-flash", "gemini-2.5-flash", 1)
	r = translated(t, OpenAI, Gemini, old, RequestOptions{})
	require.False(t, r.Get("contents.1.parts.0.thoughtSignature").Exists(), "Gemini 2 needs no stand-in")
}

// TestInspectModelOutlivesBody: the gateway keeps the model name (labels,
// logs) after the body's buffer is reused.
func TestInspectModelOutlivesBody(t *testing.T) {
	body := []byte(`{"model":"gpt-4o","messages":[]}`)
	info, err := Inspect(OpenAI, body)
	require.NoError(t, err)
	copy(body, `{"model":"XXXXXX"`)
	require.Equal(t, "gpt-4o", info.Model)
}

// TestRequestToolResultImage: Claude Code's Read tool answers with a
// screenshot; OpenAI tool messages hold text only, so the image follows in
// the user's message.
func TestRequestToolResultImage(t *testing.T) {
	body := `{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"look"},` +
		`{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"Read","input":{"file_path":"a.png"}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"a.png:"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]}]}]}`
	r := translated(t, Anthropic, OpenAI, body, RequestOptions{})
	require.Equal(t, "tool", r.Get("messages.2.role").Str)
	require.Equal(t, "a.png:\n[image]", r.Get("messages.2.content").Str)
	require.Equal(t, "user", r.Get("messages.3.role").Str)
	require.Equal(t, "data:image/png;base64,iVBORw0KGgo=", r.Get("messages.3.content.0.image_url.url").Str)
	require.Len(t, r.Get("messages").Array(), 4)
}
