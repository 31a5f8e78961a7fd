package main

import (
	"io"
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
