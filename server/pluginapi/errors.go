package pluginapi

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// WriteError writes the JSON error body that the gateway and its plugins
// answer with when they refuse or fail a request themselves:
//
//	{"error":{"code":"…","message":"…"}}
//
// followed by a newline, with Content-Type application/json, an exact
// Content-Length and X-Content-Type-Options nosniff. code is stable and
// machine-readable (snake_case); message says what happened and what to do.
// Clients match on code, so the shape is part of this contract. Headers set
// on w before the call (such as Retry-After) are kept.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	body, _ := json.Marshal(errorBody{Error: errorDetail{Code: code, Message: message}})
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
