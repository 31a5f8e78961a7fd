// Package translate converts LLM API requests, responses, streams and
// errors between the OpenAI chat-completions, Anthropic messages and
// Gemini generateContent protocols, and reads token usage from each.
//
// Every function is pure: bytes in, bytes out. Requests and responses are
// JSON bodies; streams are Server-Sent Events fed in arbitrary pieces as
// they arrive from the network. The ai-proxy plugin calls only this API.
package translate

import "errors"

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
func Inspect(p Protocol, body []byte) (RequestInfo, error) {
	return RequestInfo{}, errors.New("translate: not implemented")
}

// SetModel returns body with its "model" field set to model (OpenAI and
// Anthropic bodies).
func SetModel(body []byte, model string) ([]byte, error) {
	return nil, errors.New("translate: not implemented")
}

// RequestOptions tune a request translation.
type RequestOptions struct {
	// DefaultMaxTokens is max_tokens for Anthropic targets when the client
	// gave none (Anthropic requires it). 0 means 4096.
	DefaultMaxTokens int64
	// ForceStreamUsage, for OpenAI targets of a streamed request, sets
	// stream_options.include_usage so that usage is exact.
	ForceStreamUsage bool
}

// Request converts a client request body from protocol from to protocol
// to. For Gemini targets the model is not in the body: the caller puts it
// in the URL. from == to returns body unchanged (except ForceStreamUsage).
func Request(from, to Protocol, body []byte, opts RequestOptions) ([]byte, error) {
	return nil, errors.New("translate: not implemented")
}

// Response converts a non-streamed provider answer of protocol from into
// the client's protocol to, and returns its usage. model is the model name
// to report to the client (the name the client asked for).
func Response(from, to Protocol, body []byte, model string) ([]byte, Usage, error) {
	return nil, Usage{}, errors.New("translate: not implemented")
}

// StreamOptions tune a stream translation.
type StreamOptions struct {
	// Model is the model name to report to the client.
	Model string
	// DropUsageChunk removes the usage-only chunk of an OpenAI stream when
	// the client did not ask for it (the gateway asked, for accounting).
	DropUsageChunk bool
}

// Stream converts a provider's SSE stream into the client's SSE stream.
// It is a state machine: events split across reads are reassembled;
// content blocks are opened and closed per type and tool index; the stop
// reason is held until usage arrives. Not safe for concurrent use.
type Stream interface {
	// Feed takes the next bytes from the provider and returns the bytes to
	// send to the client now (possibly none).
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
func NewStream(from, to Protocol, opts StreamOptions) (Stream, error) {
	return nil, errors.New("translate: not implemented")
}

// ErrorBody returns an error body in protocol p: OpenAI
// {"error":{"message","type","code"}}, Anthropic
// {"type":"error","error":{"type","message"}}. kind is a short type such
// as "invalid_request_error", "authentication_error", "rate_limit_error",
// "api_error", "overloaded_error", "not_found_error".
func ErrorBody(p Protocol, status int, kind, message string) []byte {
	return nil
}

// ErrorEvent returns one SSE error event in protocol p, for a stream that
// must end early.
func ErrorEvent(p Protocol, kind, message string) []byte {
	return nil
}

// Error converts a provider's error answer (status and body of protocol
// from) into the client's protocol to, keeping the status.
func Error(from, to Protocol, status int, body []byte) []byte {
	return nil
}
