package aiwire

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestWriteErrorSpeaksTheClientsProtocol(t *testing.T) {
	for _, tc := range []struct {
		path, want string
	}{
		{"/llm/v1/chat/completions", `{"error":{"code":"budget_exceeded","message":"m","param":null,"type":"rate_limit_error"}}`},
		{"/llm/v1/messages", `{"error":{"message":"m","type":"rate_limit_error"},"type":"error"}`},
		{"/llm/v1/messages/", `{"error":{"message":"m","type":"rate_limit_error"},"type":"error"}`},
	} {
		rec := httptest.NewRecorder()
		WriteError(rec, httptest.NewRequest(http.MethodPost, tc.path, nil), http.StatusTooManyRequests, "budget_exceeded", "m", 1500*time.Millisecond)
		if rec.Code != 429 || rec.Body.String() != tc.want {
			t.Errorf("%s: %d %s, want 429 %s", tc.path, rec.Code, rec.Body, tc.want)
		}
		if got := rec.Header().Get("Retry-After"); got != "2" {
			t.Errorf("%s: Retry-After %q, want 2 (rounded up)", tc.path, got)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Errorf("%s: body is not JSON", tc.path)
		}
	}
}

func TestOpenAICodeFromStatus(t *testing.T) {
	var body struct {
		Error struct{ Code, Type string }
	}
	if err := json.Unmarshal(ErrorBody(OpenAI, 401, "", "no key"), &body); err != nil {
		t.Fatal(err)
	}
	if body.Error.Code != "invalid_api_key" || body.Error.Type != "authentication_error" {
		t.Fatalf("got %+v", body.Error)
	}
}
