package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/plugintest"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// llm stands in for ai-proxy: it answers with usage (input, output) and
// records it, streamed as SSE when stream is set, or fails with status.
type llm struct {
	input, output int64
	stream        bool
	status        int
	inFlight      func() // called while the call is in flight
	calls         atomic.Int64
}

func (l *llm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.calls.Add(1)
	_, _ = io.Copy(io.Discard, r.Body)
	if l.inFlight != nil {
		l.inFlight()
	}
	if l.status != 0 {
		w.WriteHeader(l.status)
		return
	}
	if l.stream {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 3; i++ {
			_, _ = fmt.Fprintf(w, "data: {\"n\":%d}\n\n", i)
			w.(http.Flusher).Flush()
		}
		pluginapi.RecordAIUsage(r.Context(), pluginapi.AIUsage{InputTokens: l.input, OutputTokens: l.output})
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
		return
	}
	pluginapi.RecordAIUsage(r.Context(), pluginapi.AIUsage{InputTokens: l.input, OutputTokens: l.output})
	_, _ = io.WriteString(w, `{"choices":[]}`)
}

func newLimiter(t testing.TB, h pluginapi.Host, cfg string, next http.Handler) http.Handler {
	t.Helper()
	inst, err := Plugin.New(context.Background(), json.RawMessage(cfg), h)
	require.NoError(t, err)
	t.Cleanup(func() { _ = inst.Close() })
	return inst.Handler(next)
}

// body is a chat request of exactly n bytes (n ≥ 80) asking for maxTokens.
func body(n int, maxTokens int) string {
	head := `{"model":"m","max_tokens":` + strconv.Itoa(maxTokens) + `,"messages":[{"role":"user","content":"`
	tail := `"}]}`
	return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
}

func call(h http.Handler, path, b string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(b))
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// counted sums the plugin's counters in Redis.
func counted(t *testing.T, rdb redis.UniversalClient) int64 {
	t.Helper()
	keys, err := rdb.Keys(context.Background(), KeyPrefix+"*").Result()
	require.NoError(t, err)
	var sum int64
	for _, k := range keys {
		n, err := rdb.Get(context.Background(), k).Int64()
		require.NoError(t, err)
		sum += n
	}
	return sum
}

const perUser = `{"rule_name":"t","rule_items":[{"limit_by_per_header":"x-user","limit_keys":[{"key":"*","token_per_hour":%d}]}]}`

func TestReserveThenSettleToRealUsage(t *testing.T) {
	rs := startRedis(t)
	h := plugintest.NewHost(t, rs.Addr)
	var during int64
	l := &llm{input: 30, output: 20}
	l.inFlight = func() { during = counted(t, h.Redis()) }
	lim := newLimiter(t, h, fmt.Sprintf(perUser, 1000), l)

	// 400 bytes → 100 prompt tokens, plus max_tokens 50.
	rec := call(lim, "/v1/chat/completions", body(400, 50), "X-User", "alice")
	require.Equal(t, 200, rec.Code, rec.Body.String())
	require.EqualValues(t, 150, during, "the estimate is reserved before the call")
	require.EqualValues(t, 50, counted(t, h.Redis()), "settled to the real usage 30+20")

	// Without max_tokens the configured default is reserved.
	lim2 := newLimiter(t, h, `{"rule_name":"t2","defaultMaxTokens":7,"rule_items":[{"limit_by_per_header":"x-user","limit_keys":[{"key":"*","token_per_hour":1000}]}]}`, l)
	b := `{"model":"m","messages":[{"role":"user","content":"hello, world"}]}`
	during = 0
	require.Equal(t, 200, call(lim2, "/v1/chat/completions", b, "X-User", "bob").Code)
	require.EqualValues(t, 50+int64((len(b)+3)/4)+7, during)

	// max_completion_tokens wins over max_tokens.
	require.NoError(t, h.Redis().FlushAll(context.Background()).Err())
	during = 0
	b = `{"model":"m","max_tokens":5,"max_completion_tokens":300,"messages":[]}`
	require.Equal(t, 200, call(lim, "/v1/chat/completions", b, "X-User", "carol").Code)
	require.EqualValues(t, int64((len(b)+3)/4)+300, during)
}

func TestRefusedBeforeTheCallInTheClientsProtocol(t *testing.T) {
	rs := startRedis(t)
	h := plugintest.NewHost(t, rs.Addr)
	l := &llm{input: 100, output: 100}
	lim := newLimiter(t, h, fmt.Sprintf(perUser, 500), l)

	require.Equal(t, 200, call(lim, "/v1/chat/completions", body(400, 100), "X-User", "alice").Code) // 200 used
	require.Equal(t, 200, call(lim, "/v1/chat/completions", body(400, 100), "X-User", "alice").Code) // 400 used
	rec := call(lim, "/v1/chat/completions", body(400, 100), "X-User", "alice")                      // 400+200 > 500
	require.Equal(t, 429, rec.Code)
	require.EqualValues(t, 2, l.calls.Load(), "the refused request never reached the provider")
	ra, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	require.NoError(t, err, "Retry-After is set")
	require.True(t, ra >= 1 && ra <= 3600, "Retry-After %d within the hour window", ra)
	require.JSONEq(t, `{"error":{"message":"Too many requests","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`, rec.Body.String())

	rec = call(lim, "/v1/messages", body(400, 100), "X-User", "alice")
	require.Equal(t, 429, rec.Code)
	require.JSONEq(t, `{"type":"error","error":{"type":"rate_limit_error","message":"Too many requests"}}`, rec.Body.String())

	// Another user has their own counter; a smaller request still fits.
	require.Equal(t, 200, call(lim, "/v1/chat/completions", body(400, 100), "X-User", "bob").Code)
	require.Equal(t, 200, call(lim, "/v1/chat/completions", body(80, 10), "X-User", "alice").Code)
	// Requests the rule does not match pass uncounted.
	require.Equal(t, 200, call(lim, "/v1/chat/completions", body(400, 100)).Code)
}

func TestAFailedCallReleasesItsReservation(t *testing.T) {
	rs := startRedis(t)
	h := plugintest.NewHost(t, rs.Addr)
	l := &llm{status: 502}
	lim := newLimiter(t, h, fmt.Sprintf(perUser, 300), l)
	for i := 0; i < 5; i++ {
		require.Equal(t, 502, call(lim, "/v1/chat/completions", body(400, 100), "X-User", "a").Code)
	}
	require.EqualValues(t, 0, counted(t, h.Redis()), "failed calls cost nothing")

	// A success whose usage is unknown keeps its estimate.
	lim2 := newLimiter(t, h, fmt.Sprintf(perUser, 300), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	require.Equal(t, 200, call(lim2, "/v1/chat/completions", body(400, 100), "X-User", "a").Code)
	require.EqualValues(t, 200, counted(t, h.Redis()))

	// An AI cache hit releases it: no provider was called.
	hit := newLimiter(t, h, fmt.Sprintf(perUser, 300), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pluginapi.RecordAIUsage(r.Context(), pluginapi.AIUsage{Provider: "ai-cache", FromCache: true})
		_, _ = io.WriteString(w, `{"choices":[]}`)
	}))
	require.Equal(t, 200, call(hit, "/v1/chat/completions", body(400, 100), "X-User", "b").Code)
	require.EqualValues(t, 200, counted(t, h.Redis()), "the hit cost nothing")
}

func TestStreamSettledToItsRealUsage(t *testing.T) {
	rs := startRedis(t)
	h := plugintest.NewHost(t, rs.Addr)
	l := &llm{input: 11, output: 222, stream: true}
	lim := newLimiter(t, h, fmt.Sprintf(perUser, 100000), l)
	srv := httptest.NewServer(lim)
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(body(400, 4000)))
	req.Header.Set("X-User", "s")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	require.Contains(t, string(b), "[DONE]")
	waitFor(t, 2*time.Second, "the settlement", func() bool { return counted(t, h.Redis()) == 233 })
}

// Two gateway instances, many concurrent requests: what the limit lets
// through never exceeds it by more than one request's estimate.
func TestConcurrentRequestsNeverOvershootByMoreThanOneEstimate(t *testing.T) {
	rs := startRedis(t)
	const limit = 5000
	const est = 100 + 150 // body(400) + max_tokens 150
	var used atomic.Int64
	mk := func() http.Handler {
		h := plugintest.NewHost(t, rs.Addr)
		return newLimiter(t, h, fmt.Sprintf(perUser, limit), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			time.Sleep(2 * time.Millisecond)
			// Real usage is the whole estimate: the worst case.
			used.Add(est)
			pluginapi.RecordAIUsage(r.Context(), pluginapi.AIUsage{InputTokens: 100, OutputTokens: 150})
		}))
	}
	gws := []http.Handler{mk(), mk()}
	var wg sync.WaitGroup
	var ok, refused atomic.Int64
	for i := 0; i < 80; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			switch call(gws[i%2], "/v1/chat/completions", body(400, 150), "X-User", "shared").Code {
			case 200:
				ok.Add(1)
			case 429:
				refused.Add(1)
			}
		}(i)
	}
	wg.Wait()
	require.EqualValues(t, 80, ok.Load()+refused.Load())
	require.LessOrEqual(t, used.Load(), int64(limit+est), "overshoot by more than one estimate")
	require.EqualValues(t, limit/est, ok.Load(), "every request that fits is served")
}

func TestRedisDown(t *testing.T) {
	for _, mode := range []string{"open", "closed"} {
		t.Run(mode, func(t *testing.T) {
			rs := startRedis(t)
			h := plugintest.NewHost(t, rs.Addr)
			l := &llm{input: 1, output: 1}
			lim := newLimiter(t, h, `{"rule_name":"t","failureMode":"`+mode+`","rule_items":[{"limit_by_per_header":"x-user","limit_keys":[{"key":"*","token_per_minute":100000}]}]}`, l)
			require.Equal(t, 200, call(lim, "/v1/chat/completions", body(400, 10), "X-User", "a").Code)
			rs.Stop()
			for i := 0; i < 5; i++ {
				rec := call(lim, "/v1/messages", body(400, 10), "X-User", "a")
				if mode == "open" {
					require.Equal(t, 200, rec.Code)
				} else {
					require.Equal(t, 503, rec.Code)
					require.Contains(t, rec.Body.String(), `"type":"error"`, "in the client's protocol")
				}
			}
			require.Equal(t, 1, strings.Count(h.Logs.String(), "Redis failed"), "logged once per outage, not per request:\n%s", h.Logs.String())
			require.Contains(t, h.Logs.String(), "failureMode "+mode)
			rs.Start()
			waitFor(t, 5*time.Second, "the limit to be enforced again", func() bool {
				before := l.calls.Load()
				code := call(lim, "/v1/chat/completions", body(400, 10), "X-User", "a").Code
				return code == 200 && l.calls.Load() == before+1 && strings.Contains(h.Logs.String(), "Redis answers again")
			})
			require.Equal(t, 1, strings.Count(h.Logs.String(), "Redis failed"))
		})
	}
}

func TestPerIPUsesTheGatewaysClientAddress(t *testing.T) {
	rs := startRedis(t)
	h := plugintest.NewHost(t, rs.Addr)
	l := &llm{input: 100, output: 100}
	lim := newLimiter(t, h, `{"rule_name":"ip","rule_items":[{"limit_by_per_ip":"","limit_keys":[{"key":"0.0.0.0/0","token_per_minute":250}]}]}`, l)
	// The gateway sets X-Real-IP from the peer and its trusted proxies; a
	// client's X-Forwarded-For changes nothing.
	require.Equal(t, 200, call(lim, "/v1/chat/completions", body(400, 100), "X-Real-IP", "203.0.113.5", "X-Forwarded-For", "1.1.1.1").Code)
	require.Equal(t, 429, call(lim, "/v1/chat/completions", body(400, 100), "X-Real-IP", "203.0.113.5", "X-Forwarded-For", "2.2.2.2").Code)
	require.Equal(t, 200, call(lim, "/v1/chat/completions", body(400, 100), "X-Real-IP", "203.0.113.6").Code)
}

func TestConsumerLimit(t *testing.T) {
	rs := startRedis(t)
	h := plugintest.NewHost(t, rs.Addr)
	l := &llm{input: 100, output: 100}
	lim := newLimiter(t, h, `{"rule_name":"c","rule_items":[{"limit_by_consumer":"","limit_keys":[{"key":"alice","token_per_minute":250}]}]}`, l)
	as := func(name string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body(400, 100)))
		r = r.WithContext(pluginapi.WithConsumer(r.Context(), name))
		rec := httptest.NewRecorder()
		lim.ServeHTTP(rec, r)
		return rec
	}
	require.Equal(t, 200, as("alice").Code)
	require.Equal(t, 429, as("alice").Code)
	require.Equal(t, 200, as("bob").Code, "bob matches no key")
	require.Equal(t, 200, as("bob").Code)
}
