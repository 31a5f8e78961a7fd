package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/plugintest"
)

// BenchmarkHit is one cache hit through the handler, with a real Redis.
func BenchmarkHit(b *testing.B) {
	host := plugintest.NewHost(b, startRedis(b).Addr)
	inst, err := Plugin.New(context.Background(), json.RawMessage(`{"cache":{"type":"redis"}}`), host)
	if err != nil {
		b.Fatal(err)
	}
	h := inst.Handler(&provider{})
	body := `{"model":"gpt-4o","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello from the benchmark, how are you today"}]}`
	do := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body)))
		return rec
	}
	do()
	if do().Header().Get(CacheHeader) != "hit" {
		b.Fatal("no hit")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		do()
	}
}
