// Package translate converts LLM API requests, responses, streams and
// errors between the OpenAI chat-completions, Anthropic messages and
// Gemini generateContent protocols, and reads token usage from each.
//
// Every function is pure: bytes in, bytes out. Requests and responses are
// JSON bodies; streams are Server-Sent Events fed in arbitrary pieces as
// they arrive from the network. The ai-proxy plugin calls only this API;
// ai-cache uses it to read answers in OpenAI's form.
//
// What maps to what (OpenAI chat ⇄ Anthropic messages, OpenAI → Gemini;
// Anthropic → Gemini goes through the OpenAI form):
//
//   - system/developer messages ⇄ system (Anthropic, several become text
//     blocks) / systemInstruction (Gemini);
//   - role "tool" messages ⇄ tool_result blocks at the start of the next
//     user turn / functionResponse parts (the function's name is found from
//     the assistant's call with that id);
//   - assistant tool_calls (arguments: a JSON string) ⇄ tool_use blocks
//     (input: an object) / functionCall parts (args);
//   - data-URI images ⇄ base64 image blocks / inlineData; http(s) image
//     URLs ⇄ url image sources (Gemini refuses them);
//   - stop ⇄ stop_sequences / stopSequences; max_completion_tokens or
//     max_tokens ⇄ max_tokens (Anthropic needs one: RequestOptions) /
//     maxOutputTokens; temperature, top_p;
//   - tools ⇄ tools with input_schema / functionDeclarations with
//     parametersJsonSchema; tool_choice auto/none/required/named ⇄
//     auto/none/any/tool / AUTO/NONE/ANY+allowedFunctionNames;
//     parallel_tool_calls false ⇄ disable_parallel_tool_use;
//   - reasoning_effort minimal/low/medium/high ⇄ thinking budget_tokens
//     1024/2048/8192/24576 (a client's smaller max_completion_tokens caps
//     it) / thinkingConfig.thinkingBudget;
//   - consecutive messages of one turn are merged: Anthropic and Gemini
//     want user and assistant turns to alternate;
//   - answers: finish_reason stop/length/tool_calls/content_filter ⇄
//     stop_reason end_turn/max_tokens/tool_use/refusal; Gemini STOP,
//     MAX_TOKENS, SAFETY (and the other blocks) → stop, length,
//     content_filter; reasoning_content ⇄ thinking blocks ⇐ thought parts;
//   - usage: see Usage. Gemini 3's thoughtSignature rides in the tool call
//     id given to the client and goes back to Gemini with the call.
package translate

import (
	"errors"
	"fmt"

	"github.com/tidwall/gjson"
)

// Protocol is an LLM wire protocol.
type Protocol string

// The protocols spoken by clients and providers.
const (
	// OpenAI is the chat-completions protocol (/v1/chat/completions).
	OpenAI Protocol = "openai"
	// Anthropic is the messages protocol (/v1/messages).
	Anthropic Protocol = "anthropic"
	// Gemini is Google's generateContent protocol (providers only).
	Gemini Protocol = "gemini"
)

// ErrUnsupported is returned (wrapped, naming the field) for a request
// feature that cannot be expressed in the target protocol.
var ErrUnsupported = errors.New("not supported by the target protocol")

// Usage is the token usage of one answer.
type Usage struct {
	InputTokens     int64 `json:"inputTokens"`
	OutputTokens    int64 `json:"outputTokens"`
	CachedTokens    int64 `json:"cachedTokens"`    // input tokens read from the provider's prompt cache
	ReasoningTokens int64 `json:"reasoningTokens"` // output tokens spent on reasoning/thinking
	// InputTokens counts every input token, cached ones included (OpenAI's
	// prompt_tokens; Anthropic's input_tokens + cache_read_input_tokens +
	// cache_creation_input_tokens). OutputTokens counts every output token,
	// reasoning included (OpenAI's completion_tokens; Gemini's
	// candidatesTokenCount + thoughtsTokenCount).
	// Known is true when the provider reported usage.
	Known bool `json:"known"`
}

// RequestInfo is what the gateway needs to know of a client request.
type RequestInfo struct {
	Model     string
	Stream    bool
	MaxTokens int64 // 0 when the client gave none
	// IncludeUsage is true when an OpenAI client asked for
	// stream_options.include_usage itself.
	IncludeUsage bool
}

// Inspect reads the fields the gateway routes by from a client body of
// protocol p. It fails on a body that is not a JSON object.
//
// A body with two top-level "model" fields is refused: the gateway would
// route by one and the provider might read the other.
func Inspect(p Protocol, body []byte) (RequestInfo, error) {
	return inspect(p, body)
}

// SetModel returns body with its "model" field set to model (OpenAI and
// Anthropic bodies).
// Every other byte of body is kept as it was.
func SetModel(body []byte, model string) ([]byte, error) {
	return setModel(body, model)
}

// RequestOptions tune a request translation.
type RequestOptions struct {
	// DefaultMaxTokens is max_tokens for Anthropic targets when the client
	// gave none (Anthropic requires it). 0 means 4096.
	DefaultMaxTokens int64
	// ForceStreamUsage, for OpenAI targets of a streamed request, sets
	// stream_options.include_usage so that usage is exact.
	ForceStreamUsage bool

	// thinkingBudget carries Anthropic's exact budget_tokens through the
	// OpenAI form to Gemini (reasoning_effort only has three steps).
	thinkingBudget int64
}

// Request conversions. Unknown fields are left out; known fields that the
// target cannot express are refused with an *UnsupportedError when they
// would change the answer (n > 1, logprobs, audio, image URLs for Gemini,
// server tools…); soft hints without an equivalent (seed,
// presence_penalty, frequency_penalty, logit_bias, top_k, service_tier)
// are dropped. A body that is not valid JSON of protocol from fails with
// ErrInvalidBody.

// Request converts a client request body from protocol from to protocol
// to. For Gemini targets the model is not in the body: the caller puts it
// in the URL. from == to returns body unchanged (except ForceStreamUsage).
func Request(from, to Protocol, body []byte, opts RequestOptions) ([]byte, error) {
	switch {
	case from == to:
		if to == OpenAI && opts.ForceStreamUsage {
			return forceStreamUsage(body)
		}
		return body, nil
	case from == OpenAI && to == Anthropic:
		return openAIToAnthropic(body, opts)
	case from == Anthropic && to == OpenAI:
		return anthropicToOpenAI(body, opts)
	case from == OpenAI && to == Gemini:
		return openAIToGemini(body, opts)
	case from == Anthropic && to == Gemini:
		oa, err := anthropicToOpenAI(body, RequestOptions{})
		if err != nil {
			return nil, err
		}
		if th := gjson.GetBytes(body, "thinking"); th.Get("type").Str == "enabled" {
			opts.thinkingBudget = th.Get("budget_tokens").Int()
		}
		return openAIToGemini(oa, opts)
	}
	return nil, fmt.Errorf("translate: no request translation from %q to %q; clients speak openai or anthropic, providers openai, anthropic or gemini", from, to)
}

// Response converts a non-streamed provider answer of protocol from into
// the client's protocol to, and returns its usage. model is the model name
// to report to the client (the name the client asked for).
//
// from == to returns body unchanged with its usage. A body that is not
// valid JSON fails with ErrBadResponse. The usage is the provider's,
// normalised: InputTokens includes CachedTokens, OutputTokens includes
// ReasoningTokens.
func Response(from, to Protocol, body []byte, model string) ([]byte, Usage, error) {
	var u Usage
	var err error
	switch {
	case from == to && from == OpenAI:
		u, err = openAIResponseUsage(body)
		return body, u, err
	case from == to && from == Anthropic:
		u, err = anthropicResponseUsage(body)
		return body, u, err
	case from == to && from == Gemini:
		u, err = geminiResponseUsage(body)
		return body, u, err
	case from == Anthropic && to == OpenAI:
		return anthropicToOpenAIResponse(body, model)
	case from == OpenAI && to == Anthropic:
		return openAIToAnthropicResponse(body, model)
	case from == Gemini && to == OpenAI:
		return geminiToOpenAIResponse(body, model)
	case from == Gemini && to == Anthropic:
		return geminiToAnthropicResponse(body, model)
	}
	return nil, Usage{}, fmt.Errorf("translate: no response translation from %q to %q", from, to)
}

// StreamOptions tune a stream translation.
type StreamOptions struct {
	// Model is the model name to report to the client.
	Model string
	// DropUsageChunk removes the usage-only chunk of an OpenAI stream when
	// the client did not ask for it (the gateway asked, for accounting).
	DropUsageChunk bool
	// Created is the "created" time (Unix seconds) of the OpenAI chunks a
	// translated stream writes; 0 means the time NewStream is called.
	Created int64
}

// Stream converts a provider's SSE stream into the client's SSE stream.
// It is a state machine: events split across reads are reassembled;
// content blocks are opened and closed per type and tool index; the stop
// reason is held until usage arrives. Not safe for concurrent use.
type Stream interface {
	// Feed takes the next bytes from the provider and returns the bytes to
	// send to the client now (possibly none), only whole events. An error
	// (an event that is not JSON or too long) ends the stream: send what
	// Finish returns and stop.
	Feed(p []byte) ([]byte, error)
	// Finish is called when the provider's stream ended (EOF). It returns
	// the closing bytes for the client. If the provider's stream ended
	// before its terminal event (cut), it returns a well-formed error
	// event in the client's protocol and a non-nil error.
	Finish() ([]byte, error)
	// Usage is the usage seen so far.
	Usage() Usage
	// Started reports whether content (text, tool call or thinking) has
	// been emitted to the client: the time to first token.
	Started() bool
}

// NewStream returns a Stream from provider protocol from to client
// protocol to (from == to gives a pass-through that still reads usage).
//
// Finish's error wraps ErrStreamCut (the stream ended early; the closing
// bytes hold an error event) or ErrStreamFailed (the provider sent an
// error event, already passed on in the client's protocol).
func NewStream(from, to Protocol, opts StreamOptions) (Stream, error) {
	return newStream(from, to, opts)
}

// ErrorBody returns an error body in protocol p: OpenAI
// {"error":{"message","type","code"}}, Anthropic
// {"type":"error","error":{"type","message"}}. kind is a short type such
// as "invalid_request_error", "authentication_error", "rate_limit_error",
// "api_error", "overloaded_error", "not_found_error".
// kind "" is derived from status (see KindForStatus).
func ErrorBody(p Protocol, status int, kind, message string) []byte {
	return errorBody(p, status, kind, message)
}

// ErrorEvent returns one SSE error event in protocol p, for a stream that
// must end early.
func ErrorEvent(p Protocol, kind, message string) []byte {
	return errorEvent(p, kind, message)
}

// Error converts a provider's error answer (status and body of protocol
// from) into the client's protocol to, keeping the status.
// The provider's message is carried over (at most 1 KiB, key-like strings
// such as "sk-…" redacted: the provider's key is not the client's);
// Anthropic clients get the type derived from the status (529 is
// overloaded_error).
func Error(from, to Protocol, status int, body []byte) []byte {
	return convertError(from, to, status, body)
}
