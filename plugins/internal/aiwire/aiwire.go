// Package aiwire is what the AI plugins share about the client's side of
// the wire: which protocol a request speaks and how an error looks in it,
// so that every refusal (a token limit, a budget, a cache failure) reaches
// an OpenAI or Anthropic SDK as an error it understands.
package aiwire

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Protocol is the API a client speaks.
type Protocol int

// The client protocols of an AI route.
const (
	// OpenAI is the chat-completions family (/v1/chat/completions,
	// /v1/embeddings, /v1/models, …).
	OpenAI Protocol = iota
	// Anthropic is the messages API (/v1/messages).
	Anthropic
)

// ProtocolOf returns the protocol of r, read from its path as ai-proxy
// routes it: a path ending in /v1/messages (or /v1/messages/count_tokens)
// is Anthropic, anything else OpenAI.
func ProtocolOf(r *http.Request) Protocol {
	p := strings.TrimSuffix(r.URL.Path, "/")
	if strings.HasSuffix(p, "/v1/messages") || strings.HasSuffix(p, "/v1/messages/count_tokens") {
		return Anthropic
	}
	return OpenAI
}

// Kind returns the error type the protocols use for an HTTP status
// (Anthropic's names, which OpenAI clients ignore in favour of the status).
func Kind(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusServiceUnavailable, 529:
		return "overloaded_error"
	case http.StatusGatewayTimeout:
		return "timeout_error"
	}
	return "api_error"
}

// openAICode is the "code" OpenAI sends for a kind.
func openAICode(kind string) string {
	switch kind {
	case "authentication_error":
		return "invalid_api_key"
	case "rate_limit_error":
		return "rate_limit_exceeded"
	case "not_found_error":
		return "model_not_found"
	}
	return kind
}

// ErrorBody returns the JSON error body of p. code overrides OpenAI's
// "code" (such as "budget_exceeded"); empty derives it from the status.
func ErrorBody(p Protocol, status int, code, message string) []byte {
	kind := Kind(status)
	var v any
	if p == Anthropic {
		v = map[string]any{"type": "error", "error": map[string]any{"type": kind, "message": message}}
	} else {
		if code == "" {
			code = openAICode(kind)
		}
		v = map[string]any{"error": map[string]any{"message": message, "type": kind, "param": nil, "code": code}}
	}
	b, _ := json.Marshal(v) // maps of strings always marshal
	return b
}

// WriteError answers r with status and an error body in r's protocol.
// retryAfter > 0 sets Retry-After in whole seconds, rounded up.
func WriteError(w http.ResponseWriter, r *http.Request, status int, code, message string, retryAfter time.Duration) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((retryAfter+time.Second-1)/time.Second), 10))
	}
	w.WriteHeader(status)
	_, _ = w.Write(ErrorBody(ProtocolOf(r), status, code, message))
}

// MaxEstimateBody is how much of a request body ReadRequest reads to
// estimate its tokens; the rest streams through, estimated from its
// length.
const MaxEstimateBody = 32 << 20

// Request is what the plugins in front of ai-proxy learn of an AI request
// before the call: its model and an over-estimate of its tokens.
type Request struct {
	// Model is the body's "model" as the client sent it ("" when none).
	Model string
	// PromptTokens over-estimates the prompt: one token per 4 bytes of
	// body, rounded up.
	PromptTokens int64
	// MaxTokens is max_completion_tokens, else max_tokens; 0 when the
	// request sets neither.
	MaxTokens int64
}

// ReadRequest reads r's body (up to MaxEstimateBody bytes) and leaves it
// readable, whole, for the next handler.
func ReadRequest(r *http.Request) Request {
	if r.Body == nil || r.Body == http.NoBody {
		return Request{}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxEstimateBody+1))
	size := int64(len(body))
	if err != nil || size > MaxEstimateBody {
		// Too large to read whole (or broken): the rest streams on, the
		// prompt is estimated from the declared length.
		r.Body = readCloser{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		return Request{PromptTokens: (max(size, r.ContentLength) + 3) / 4}
	}
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	var fields struct {
		Model               string `json:"model"`
		MaxTokens           *int64 `json:"max_tokens"`
		MaxCompletionTokens *int64 `json:"max_completion_tokens"`
	}
	req := Request{PromptTokens: (size + 3) / 4}
	if json.Unmarshal(body, &fields) == nil {
		req.Model = fields.Model
		switch {
		case fields.MaxCompletionTokens != nil && *fields.MaxCompletionTokens > 0:
			req.MaxTokens = *fields.MaxCompletionTokens
		case fields.MaxTokens != nil && *fields.MaxTokens > 0:
			req.MaxTokens = *fields.MaxTokens
		}
	}
	return req
}

type readCloser struct {
	io.Reader
	io.Closer
}
