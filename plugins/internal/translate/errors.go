package translate

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// KindForStatus returns the error type a client's protocol uses for an
// HTTP status (Anthropic's names; OpenAI clients read the status).
func KindForStatus(status int) string {
	switch {
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return "invalid_request_error"
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusPaymentRequired || status == http.StatusForbidden:
		return "permission_error"
	case status == http.StatusNotFound:
		return "not_found_error"
	case status == http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status == 529 || status == http.StatusServiceUnavailable:
		return "overloaded_error"
	case status == http.StatusGatewayTimeout || status == http.StatusRequestTimeout:
		return "timeout_error"
	case status >= 400 && status < 500:
		return "invalid_request_error"
	default:
		return "api_error"
	}
}

// Retryable reports whether a provider's status is worth trying on another
// upstream or key: 408, 429, 5xx and Anthropic's 529 (overloaded).
func Retryable(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

// kindForGeminiStatus maps Google's error status names.
func kindForGeminiStatus(st, def string) string {
	switch st {
	case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE":
		return "invalid_request_error"
	case "UNAUTHENTICATED":
		return "authentication_error"
	case "PERMISSION_DENIED":
		return "permission_error"
	case "NOT_FOUND":
		return "not_found_error"
	case "RESOURCE_EXHAUSTED":
		return "rate_limit_error"
	case "UNAVAILABLE":
		return "overloaded_error"
	case "DEADLINE_EXCEEDED":
		return "timeout_error"
	case "INTERNAL", "UNKNOWN":
		return "api_error"
	}
	return def
}

// openAICode is the "code" OpenAI sends for some statuses.
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

func writeErrorBody(w *jw, p Protocol, kind, message, code string) {
	w.obj()
	if p == Anthropic {
		w.kstr("type", "error")
		w.key("error")
		w.obj()
		w.kstr("type", kind)
		w.kstr("message", message)
		w.endObj()
	} else {
		w.key("error")
		w.obj()
		w.kstr("message", message)
		w.kstr("type", kind)
		w.key("param")
		w.null()
		w.kstr("code", orDefault(code, openAICode(kind)))
		w.endObj()
	}
	w.endObj()
}

func errorBody(p Protocol, status int, kind, message string) []byte {
	if kind == "" {
		kind = KindForStatus(status)
	}
	if message == "" {
		message = orDefault(http.StatusText(status), "error")
	}
	w := jw{b: make([]byte, 0, 96+len(message))}
	writeErrorBody(&w, p, kind, message, "")
	return w.b
}

func errorEvent(p Protocol, kind, message string) []byte {
	if kind == "" {
		kind = "api_error"
	}
	w := jw{b: make([]byte, 0, 128+len(message))}
	if p == Anthropic {
		w.b = append(w.b, "event: error\ndata: "...)
	} else {
		w.b = append(w.b, "data: "...)
	}
	writeErrorBody(&w, p, kind, message, "")
	return append(w.b, "\n\n"...)
}

// maxErrorMessage bounds a provider's message carried to the client.
const maxErrorMessage = 1024

// providerMessage reads the message of a provider's error body of any
// protocol, or the body's text when it is not JSON (an HTML page of a
// proxy, say).
func providerMessage(body []byte) (kind, msg string) {
	if gjson.ValidBytes(body) {
		r := parseJSON(body)
		if r.IsArray() { // Gemini sometimes wraps its error in an array
			r = r.Get("0")
		}
		e := r.Get("error")
		switch {
		case e.IsObject():
			kind = e.Get("type").Str
			if st := e.Get("status").Str; st != "" {
				kind = kindForGeminiStatus(st, kind)
			}
			msg = e.Get("message").Str
		case e.Type == gjson.String:
			msg = e.Str
		default:
			msg = r.Get("message").Str
		}
		return kind, cleanMessage(msg)
	}
	return "", cleanMessage(string(body))
}

func cleanMessage(s string) string {
	s = strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) > maxErrorMessage {
		cut := maxErrorMessage
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return redact(s)
}

// secretLike matches provider keys that providers echo in their error
// messages (masked or not): the provider's key is not the client's.
var secretLike = regexp.MustCompile(`\b(sk-[A-Za-z0-9_*\-]{6,}|sk_[A-Za-z0-9_*\-]{6,}|AIza[0-9A-Za-z_\-]{10,}|gsk_[A-Za-z0-9]{10,}|Bearer\s+\S+)`)

// redact hides key-like strings in a provider's message.
func redact(s string) string {
	if !strings.Contains(s, "sk") && !strings.Contains(s, "AIza") && !strings.Contains(s, "Bearer") {
		return s
	}
	return secretLike.ReplaceAllString(s, "[redacted]")
}

func convertError(from, to Protocol, status int, body []byte) []byte {
	kind, msg := providerMessage(body)
	if kind == "" || to == Anthropic && from != Anthropic {
		// Anthropic clients switch on the type; derive it from the status
		// for errors that did not come in Anthropic's words.
		kind = KindForStatus(status)
	}
	if msg == "" {
		msg = strings.TrimSpace("the provider answered " + strconv.Itoa(status) + " " + http.StatusText(status))
	}
	code := ""
	if to == OpenAI && from == OpenAI {
		code = gjson.GetBytes(body, "error.code").Str // e.g. context_length_exceeded
	}
	w := jw{b: make([]byte, 0, 96+len(msg))}
	writeErrorBody(&w, to, kind, msg, code)
	return w.b
}
