// Package aiwire is what the AI plugins share about the client's side of
// the wire: which protocol a request speaks and how an error looks in it,
// so that every refusal (a token limit, a budget, a cache failure) reaches
// an OpenAI or Anthropic SDK as an error it understands.
package aiwire

import (
	"encoding/json"
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
