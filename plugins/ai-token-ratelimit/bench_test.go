package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// TestCheckLatency measures what the plugin adds to one request (reserve
// and settle, two Redis round trips to a local redis-server), sequential,
// and prints p50/p99. It runs only with GATEHOUSE_BENCH=1:
//
//	GATEHOUSE_BENCH=1 go test -run TestCheckLatency -v ./plugins/ai-token-ratelimit/
func TestCheckLatency(t *testing.T) {
	if os.Getenv("GATEHOUSE_BENCH") == "" {
		t.Skip("set GATEHOUSE_BENCH=1 to measure")
	}
	rs := startRedis(t)
	h := newHost(t, rs.Addr)
	terminal := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		pluginapi.RecordAIUsage(r.Context(), pluginapi.AIUsage{InputTokens: 20, OutputTokens: 30})
	})
	lim := newLimiter(t, h, `{"rule_name":"b","rule_items":[{"limit_by_per_ip":"","limit_keys":[{"key":"0.0.0.0/0","token_per_minute":1000000000000}]}]}`, terminal)
	b := body(400, 256)
	run := func(hd http.Handler, n int) []time.Duration {
		d := make([]time.Duration, n)
		for i := range d {
			r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(b))
			start := time.Now()
			hd.ServeHTTP(httptest.NewRecorder(), r)
			d[i] = time.Since(start)
		}
		slices.Sort(d)
		return d
	}
	run(lim, 500)
	const n = 5000
	plain, limited := run(terminal, n), run(lim, n)
	pct := func(d []time.Duration, p float64) time.Duration { return d[int(float64(len(d)-1)*p)] }
	fmt.Printf("check latency, %d sequential requests: plain p50 %s p99 %s; limited p50 %s p99 %s; added p99 %s\n",
		n, pct(plain, .5), pct(plain, .99), pct(limited, .5), pct(limited, .99), pct(limited, .99)-pct(plain, .99))
}
