package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkChat measures the plugin's own cost per non-streamed chat
// request against a fake provider on loopback, pass-through (OpenAI →
// OpenAI) and translated (Anthropic client → OpenAI provider). Compare
// with BenchmarkDirect, the same request sent straight to the fake.
func BenchmarkChat(b *testing.B) {
	f := newFake(b)
	for _, tc := range []struct{ name, path, body string }{
		{"passthrough", "/v1/chat/completions", chatBody},
		{"anthropic-to-openai", "/v1/messages", `{"model":"gpt-4o","max_tokens":9,"messages":[{"role":"user","content":"hi"}]}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			g := newGW(b, `{"provider":{"type":"openai","apiTokens":["k"],"endpoint":"`+f.URL+`","modelMapping":{"gpt-4o":"mapped"}}}`)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r := httptest.NewRequest("POST", tc.path, strings.NewReader(tc.body))
				rec := httptest.NewRecorder()
				g.h.ServeHTTP(rec, r)
				if rec.Code != 200 {
					b.Fatal(rec.Code, rec.Body.String())
				}
			}
		})
	}
}

func BenchmarkDirect(b *testing.B) {
	f := newFake(b)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := http.Post(f.URL+"/v1/chat/completions", "application/json", strings.NewReader(chatBody))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
}
