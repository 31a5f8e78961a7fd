package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// readRequestBody must give the same bytes as io.ReadAll whatever the
// request says about its length.
func TestReadRequestBody(t *testing.T) {
	const body = `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	for _, tc := range []struct {
		name   string
		length int64 // Content-Length as announced
		limit  int64
		want   string
	}{
		{"exact length", int64(len(body)), 1 << 20, body},
		{"unknown length", -1, 1 << 20, body},
		{"longer than announced", 10, 1 << 20, body},
		{"over the limit", int64(len(body)), 11, body[:11]},
		{"over the limit, unknown length", -1, 11, body[:11]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/v1/chat/completions", io.NopCloser(strings.NewReader(body)))
			r.ContentLength = tc.length
			got, err := readRequestBody(r, tc.limit)
			if err != nil || string(got) != tc.want {
				t.Fatalf("readRequestBody = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// An SSE event larger than the stream's read buffer reaches the client
// whole: the buffer is small on purpose (it is held for a stream's life).
func TestStreamEventLargerThanReadBuffer(t *testing.T) {
	big := strings.Repeat("token ", 3*streamReadBuf/6+100) // > 3 read buffers
	f := newFake(t)
	f.fail = func(w http.ResponseWriter, r *http.Request, s seen) bool {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":"`+big+`"},"finish_reason":null}]}`+"\n\n")
		_, _ = io.WriteString(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n")
		return true
	}
	g := newGW(t, `{"provider":{"type":"openai","apiTokens":["pk"],"endpoint":`+quote(f.URL)+`}}`)
	rec := g.do("POST", "/v1/chat/completions", streamBody(false))
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	var content string
	for _, d := range sseData(rec.Body.String()) {
		var ch struct {
			Choices []struct {
				Delta struct{ Content string } `json:"delta"`
			} `json:"choices"`
		}
		if d == "[DONE]" || json.Unmarshal([]byte(d), &ch) != nil || len(ch.Choices) == 0 {
			continue
		}
		content += ch.Choices[0].Delta.Content
	}
	if content != big {
		t.Fatalf("the client got %d bytes of content, want the %d the provider sent", len(content), len(big))
	}
}
