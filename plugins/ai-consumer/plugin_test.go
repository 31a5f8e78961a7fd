package main

import (
	"context"
	"encoding/json"
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
	"github.com/gatehouse-dev/gatehouse/plugins/internal/redistest"
	"github.com/gatehouse-dev/gatehouse/plugins/internal/schematest"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// llm stands in for ai-proxy: it answers with usage, or fails with status
// without usage.
type llm struct {
	usage    pluginapi.AIUsage
	stream   bool
	status   int
	inFlight func()
	calls    atomic.Int64
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
			_, _ = io.WriteString(w, "data: {}\n\n")
			w.(http.Flusher).Flush()
		}
	}
	pluginapi.RecordAIUsage(r.Context(), l.usage)
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
}

func newPlugin(t *testing.T, h pluginapi.Host, cfg string, next http.Handler) http.Handler {
	t.Helper()
	inst, err := Plugin.New(context.Background(), json.RawMessage(cfg), h)
	require.NoError(t, err)
	t.Cleanup(func() { _ = inst.Close() })
	return inst.Handler(next)
}

// body is a chat request of exactly n bytes (n ≥ 100) for model asking
// for maxTokens.
func body(model string, n, maxTokens int) string {
	head := `{"model":"` + model + `","max_tokens":` + strconv.Itoa(maxTokens) + `,"messages":[{"role":"user","content":"`
	tail := `"}]}`
	return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
}

func call(h http.Handler, consumer, path, b string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(b))
	if consumer != "" {
		r = r.WithContext(pluginapi.WithConsumer(r.Context(), consumer))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func hash(t *testing.T, rdb redis.UniversalClient, consumer, period string) map[string]int64 {
	t.Helper()
	id, _, _ := pluginapi.UsagePeriod(period, time.Now())
	m, err := rdb.HGetAll(context.Background(), pluginapi.UsageKey(consumer, id)).Result()
	require.NoError(t, err)
	out := map[string]int64{}
	for k, v := range m {
		n, err := strconv.ParseInt(v, 10, 64)
		require.NoError(t, err)
		out[k] = n
	}
	return out
}

// Prices: gpt-4o-mini at 0.15/0.6 per million, gpt-4o at 2.5/10.
const prices = `"prices":[{"model":"gpt-4o*","input":2.5,"output":10,"cachedInput":1.25},{"model":"gpt-4o-mini*","input":0.15,"output":0.6,"cachedInput":0.075}]`

func TestSettledToTheRealUsageInTheDayAndMonthHashes(t *testing.T) {
	rs := redistest.Start(t)
	h := plugintest.NewHost(t, rs.Addr)
	var during map[string]int64
	l := &llm{usage: pluginapi.AIUsage{RequestedModel: "gpt-4o-mini", Model: "gpt-4o-mini-2024", InputTokens: 1000, CachedInputTokens: 400, OutputTokens: 300}}
	l.inFlight = func() { during = hash(t, h.Redis(), "team-a", "month") }
	p := newPlugin(t, h, `{"consumers":{"team-a":{"quota":{"tokens":100000,"period":"month"},"budget":{"usd":5,"period":"month"}}},`+prices+`}`, l)

	// 400 bytes → 100 prompt tokens, plus max_tokens 50.
	rec := call(p, "team-a", "/v1/chat/completions", body("gpt-4o-mini", 400, 50))
	require.Equal(t, 200, rec.Code, rec.Body.String())
	require.EqualValues(t, 150, during[pluginapi.UsageReservedTokens], "the estimate is reserved before the call")
	require.EqualValues(t, pluginapi.ModelPrice{Input: 0.15, Output: 0.6}.CostMicros(100, 0, 50), during[pluginapi.UsageReservedMicros])

	// (1000−400)×0.15 + 400×0.075 + 300×0.6 = 90 + 30 + 180 micros.
	want := map[string]int64{"tokens": 1300, "micros": 300, "requests": 1, "rtokens": 0, "rmicros": 0,
		"m:gpt-4o-mini-2024:in": 1000, "m:gpt-4o-mini-2024:out": 300, "m:gpt-4o-mini-2024:cached": 400,
		"m:gpt-4o-mini-2024:micros": 300, "m:gpt-4o-mini-2024:req": 1}
	require.Equal(t, want, hash(t, h.Redis(), "team-a", "month"))
	day := hash(t, h.Redis(), "team-a", "day")
	delete(want, "rtokens")
	delete(want, "rmicros")
	require.Equal(t, want, day, "the day is counted too, though no limit is daily")
	dirty, err := h.Redis().SMembers(context.Background(), pluginapi.UsageDirtyKey).Result()
	require.NoError(t, err)
	require.Len(t, dirty, 2, "both hashes are marked for the rollup")
	ttl, err := h.Redis().TTL(context.Background(), dirty[0]).Result()
	require.NoError(t, err)
	require.Greater(t, ttl, 47*time.Hour, "a hash outlives its period by 48 h")

	// A consumer without quota or budget is counted too; an inline
	// key-auth consumer (not in the config) is not.
	p2 := newPlugin(t, h, `{"consumers":{"free":{}},`+prices+`}`, l)
	require.Equal(t, 200, call(p2, "free", "/v1/chat/completions", body("gpt-4o-mini", 400, 50)).Code)
	require.EqualValues(t, 1300, hash(t, h.Redis(), "free", "month")["tokens"])
	require.Equal(t, 200, call(p2, "inline", "/v1/chat/completions", body("gpt-4o-mini", 400, 50)).Code)
	require.Empty(t, hash(t, h.Redis(), "inline", "month"))
}

func TestExhaustedBudgetAndQuotaAnswer429InTheClientsProtocol(t *testing.T) {
	rs := redistest.Start(t)
	h := plugintest.NewHost(t, rs.Addr)
	// Each answer costs 1000×2.5 + 1000×10 = 12500 micros.
	l := &llm{usage: pluginapi.AIUsage{Model: "gpt-4o", InputTokens: 1000, OutputTokens: 1000}}
	p := newPlugin(t, h, `{"consumers":{"team-a":{"budget":{"usd":0.03,"period":"day"}},"team-q":{"quota":{"tokens":2500,"period":"month"}}},`+prices+`}`, l)
	for i := 0; i < 3; i++ {
		require.Equal(t, 200, call(p, "team-a", "/v1/chat/completions", body("gpt-4o", 400, 10)).Code)
	}
	// 37500 spent of 30000: the budget is spent.
	rec := call(p, "team-a", "/v1/chat/completions", body("gpt-4o", 400, 10))
	require.Equal(t, 429, rec.Code)
	require.EqualValues(t, 3, l.calls.Load(), "refused before the call")
	ra, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	require.NoError(t, err)
	_, _, end := pluginapi.UsagePeriod("day", time.Now())
	require.InDelta(t, time.Until(end).Seconds(), ra, 5, "Retry-After is the time until the period ends")
	var oa struct {
		Error struct{ Type, Code, Message string }
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &oa))
	require.Equal(t, "insufficient_quota", oa.Error.Type)
	require.Equal(t, "budget_exceeded", oa.Error.Code)
	require.Equal(t, `consumer "team-a" has spent its daily budget of $0.03 ($0.04 spent, $0.00 topped up); it resets at `+end.Format(time.RFC3339)+` — ask an administrator to top it up`, oa.Error.Message)

	rec = call(p, "team-a", "/v1/messages", body("gpt-4o", 400, 10))
	require.Equal(t, 429, rec.Code)
	var an struct {
		Type  string
		Error struct{ Type, Message string }
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &an))
	require.Equal(t, "error", an.Type)
	require.Equal(t, "rate_limit_error", an.Error.Type)
	require.Contains(t, an.Error.Message, "daily budget")

	// A top-up makes room again.
	id, _, _ := pluginapi.UsagePeriod("day", time.Now())
	require.NoError(t, h.Redis().HIncrBy(context.Background(), pluginapi.UsageKey("team-a", id), pluginapi.UsageTopUpMicros, 100000).Err())
	require.Equal(t, 200, call(p, "team-a", "/v1/chat/completions", body("gpt-4o", 400, 10)).Code)

	// The quota: 2000 used of 2500, the next estimate (110) fits, then
	// 4000 used refuses with quota_exceeded.
	require.Equal(t, 200, call(p, "team-q", "/v1/chat/completions", body("gpt-4o", 400, 10)).Code)
	require.Equal(t, 200, call(p, "team-q", "/v1/chat/completions", body("gpt-4o", 400, 10)).Code)
	rec = call(p, "team-q", "/v1/chat/completions", body("gpt-4o", 400, 10))
	require.Equal(t, 429, rec.Code)
	require.Contains(t, rec.Body.String(), `"code":"quota_exceeded"`)
	require.Contains(t, rec.Body.String(), `monthly quota of 2500 tokens (4000 used, 0 topped up)`)
	require.NotContains(t, rec.Body.String(), "team-a", "never another consumer")

	metrics, err := h.Registry.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, mf := range metrics {
		if mf.GetName() == MetricRefusals {
			for _, m := range mf.GetMetric() {
				got[m.GetLabel()[0].GetValue()+"/"+m.GetLabel()[1].GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	require.Equal(t, map[string]float64{"team-a/budget": 2, "team-q/quota": 1}, got)
}

func TestARequestLargerThanTheWholeAllowanceIsServedOnce(t *testing.T) {
	rs := redistest.Start(t)
	h := plugintest.NewHost(t, rs.Addr)
	l := &llm{usage: pluginapi.AIUsage{Model: "gpt-4o", InputTokens: 10, OutputTokens: 10}}
	p := newPlugin(t, h, `{"consumers":{"a":{"quota":{"tokens":100,"period":"day"}}},`+prices+`}`, l)
	require.Equal(t, 200, call(p, "a", "/v1/chat/completions", body("gpt-4o", 400, 5000)).Code, "nothing spent yet: served")
	require.Equal(t, 429, call(p, "a", "/v1/chat/completions", body("gpt-4o", 400, 5000)).Code)
	rec := call(p, "a", "/v1/chat/completions", body("gpt-4o", 400, 5000))
	require.Contains(t, rec.Body.String(), "too little of its daily quota of 100 tokens left for this request (20 used, 0 reserved by requests in flight, 0 topped up; this request may use up to 5100)")
	require.Equal(t, 200, call(p, "a", "/v1/chat/completions", body("gpt-4o", 200, 10)).Code, "a smaller one fits")
}

func TestAllowedModels(t *testing.T) {
	rs := redistest.Start(t)
	h := plugintest.NewHost(t, rs.Addr)
	l := &llm{usage: pluginapi.AIUsage{Model: "gpt-4o-mini", InputTokens: 1, OutputTokens: 1}}
	p := newPlugin(t, h, `{"consumers":{"team-a":{"allowedModels":["gpt-4o-mini*","deepseek-chat"]}},`+prices+`}`, l)
	for model, want := range map[string]int{"gpt-4o-mini": 200, "gpt-4o-mini-2024": 200, "openai/gpt-4o-mini": 200, "deepseek-chat": 200,
		"gpt-4o": 403, "deepseek-chat-v2": 403, "openai/gpt-4o": 403, "": 403} {
		rec := call(p, "team-a", "/v1/chat/completions", body(model, 200, 5))
		require.Equal(t, want, rec.Code, "model %q: %s", model, rec.Body.String())
		if want == 403 && model != "" {
			require.Contains(t, rec.Body.String(), `consumer \"team-a\" may not use the model \"`+model+`\"; it may use: gpt-4o-mini*, deepseek-chat`)
			require.Contains(t, rec.Body.String(), `"type":"permission_error"`)
		}
	}
	rec := call(p, "team-a", "/v1/messages", body("claude-sonnet-4-5", 200, 5))
	require.Equal(t, 403, rec.Code)
	require.Contains(t, rec.Body.String(), `"type":"error"`)
	require.Contains(t, rec.Body.String(), `"type":"permission_error"`)
	require.EqualValues(t, 4, l.calls.Load())
}

func TestAFailedCallOrACacheHitCostsNothing(t *testing.T) {
	rs := redistest.Start(t)
	h := plugintest.NewHost(t, rs.Addr)
	cfg := `{"consumers":{"a":{"quota":{"tokens":1000,"period":"month"},"budget":{"usd":1,"period":"day"}}},` + prices + `}`
	failing := newPlugin(t, h, cfg, &llm{status: 502})
	for i := 0; i < 5; i++ {
		require.Equal(t, 502, call(failing, "a", "/v1/chat/completions", body("gpt-4o", 400, 100)).Code)
	}
	// The AI cache's hit (it records no tokens, only that it answered)
	// releases too.
	hit := newPlugin(t, h, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pluginapi.RecordAIUsage(r.Context(), pluginapi.AIUsage{Provider: "ai-cache", RequestedModel: "gpt-4o", FromCache: true})
		_, _ = io.WriteString(w, "{}")
	}))
	require.Equal(t, 200, call(hit, "a", "/v1/chat/completions", body("gpt-4o", 400, 100)).Code)
	for _, period := range []string{"day", "month"} {
		for k, v := range hash(t, h.Redis(), "a", period) {
			require.Zero(t, v, "%s %s", period, k)
		}
	}
}

// A successful answer that reports no usage (a provider without usage, a
// pass-through endpoint such as images) is not free: it costs the
// request's estimate, with one warning naming the model.
func TestASuccessfulAnswerWithoutUsageCostsTheEstimate(t *testing.T) {
	rs := redistest.Start(t)
	h := plugintest.NewHost(t, rs.Addr)
	cfg := `{"consumers":{"a":{"budget":{"usd":1,"period":"month"}}},` + prices + `}`
	silent := newPlugin(t, h, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "{}") }))
	for i := 0; i < 2; i++ {
		require.Equal(t, 200, call(silent, "a", "/v1/chat/completions", body("gpt-4o", 400, 100)).Code)
	}
	month := hash(t, h.Redis(), "a", "month")
	// 400 bytes / 4 = 100 prompt tokens + max_tokens 100, at 2.5 and 10 $/M.
	require.EqualValues(t, 2*200, month["tokens"])
	require.EqualValues(t, 2*(100*2.5+100*10), month["micros"])
	require.EqualValues(t, 2, month[pluginapi.UsageModelField("gpt-4o", "req")])
	require.Zero(t, month["rtokens"]+month["rmicros"], "the reservations were settled")
	require.Equal(t, 1, strings.Count(h.Logs.String(), "reported no token usage"), h.Logs.String())
}

func TestStreamSettledAfterItsLastEvent(t *testing.T) {
	rs := redistest.Start(t)
	h := plugintest.NewHost(t, rs.Addr)
	l := &llm{usage: pluginapi.AIUsage{Model: "gpt-4o-mini", InputTokens: 11, OutputTokens: 222}, stream: true}
	p := newPlugin(t, h, `{"consumers":{"s":{"quota":{"tokens":100000,"period":"day"}}},`+prices+`}`, l)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.ServeHTTP(w, r.WithContext(pluginapi.WithConsumer(r.Context(), "s")))
	}))
	t.Cleanup(srv.Close)
	resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body("gpt-4o-mini", 400, 4000)))
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	require.Contains(t, string(b), "[DONE]")
	got := hash(t, h.Redis(), "s", "day")
	require.EqualValues(t, 233, got["tokens"])
	require.EqualValues(t, 0, got["rtokens"])
	require.EqualValues(t, 135, got["micros"], "133.2+1.65 micros rounded up")
}

// Two gateway instances, many concurrent requests: what the budget lets
// through never exceeds it by more than one request's estimate.
func TestConcurrentRequestsOvershootByAtMostOneEstimate(t *testing.T) {
	rs := redistest.Start(t)
	const usd = 0.05 // 50000 micros
	// body(400) = 100 prompt tokens, max_tokens 150: estimate 100×2.5 + 150×10 = 1750 micros.
	const est = 1750
	var spent atomic.Int64
	var hosts []*plugintest.Host
	mk := func() http.Handler {
		h := plugintest.NewHost(t, rs.Addr)
		hosts = append(hosts, h)
		return newPlugin(t, h, `{"failureMode":"closed","consumers":{"shared":{"budget":{"usd":0.05,"period":"month"}}},`+prices+`}`, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			time.Sleep(2 * time.Millisecond)
			// Real usage is the whole estimate: the worst case.
			spent.Add(est)
			pluginapi.RecordAIUsage(r.Context(), pluginapi.AIUsage{Model: "gpt-4o", InputTokens: 100, OutputTokens: 150})
		}))
	}
	gws := []http.Handler{mk(), mk()}
	setEpoch(t, hosts[0].Redis())
	var wg sync.WaitGroup
	var ok, refused atomic.Int64
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			switch call(gws[i%2], "shared", "/v1/chat/completions", body("gpt-4o", 400, 150)).Code {
			case 200:
				ok.Add(1)
			case 429:
				refused.Add(1)
			}
		}(i)
	}
	wg.Wait()
	require.EqualValues(t, 60, ok.Load()+refused.Load(), "%s%s", hosts[0].Logs, hosts[1].Logs)
	require.LessOrEqual(t, spent.Load(), int64(usd*1e6+est), "overshoot by more than one estimate")
	require.EqualValues(t, int64(usd*1e6)/est, ok.Load(), "every request that fits is served")
}

// A reservation its instance never settled (the instance died) stops
// counting after ReservationHold.
func TestReservationsOfADeadInstanceExpire(t *testing.T) {
	rs := redistest.Start(t)
	h := plugintest.NewHost(t, rs.Addr)
	ctx := context.Background()
	q := periodLimit("a", "quota", "day", 1000, time.Now())
	res, ref, err := reserve(ctx, h.Redis(), "a", q, nil, 900, 0)
	require.NoError(t, err)
	require.Nil(t, ref)
	require.NotNil(t, res)
	_, ref, err = reserve(ctx, h.Redis(), "a", q, nil, 900, 0)
	require.NoError(t, err)
	require.NotNil(t, ref, "the first reservation still counts")
	// Its deadline passes (moved into the past rather than waiting).
	require.NoError(t, h.Redis().ZAdd(ctx, InFlightKey("a"), redis.Z{Score: 1, Member: res.member}).Err())
	res2, ref, err := reserve(ctx, h.Redis(), "a", q, nil, 900, 0)
	require.NoError(t, err)
	require.Nil(t, ref, "the expired reservation was released")
	require.EqualValues(t, 900, hash(t, h.Redis(), "a", "day")["rtokens"])
	// Settling the expired one later counts its usage and releases
	// nothing more.
	require.NoError(t, settle(ctx, h.Redis(), "a", res, &answer{model: "m", input: 5, output: 5}, time.Now()))
	require.NoError(t, settle(ctx, h.Redis(), "a", res2, nil, time.Now()))
	got := hash(t, h.Redis(), "a", "day")
	require.EqualValues(t, 0, got["rtokens"])
	require.EqualValues(t, 10, got["tokens"])
}

func TestRedisDown(t *testing.T) {
	for _, mode := range []string{"open", "closed"} {
		t.Run(mode, func(t *testing.T) {
			rs := redistest.Start(t)
			h := plugintest.NewHost(t, rs.Addr)
			l := &llm{usage: pluginapi.AIUsage{Model: "gpt-4o", InputTokens: 1, OutputTokens: 1}}
			p := newPlugin(t, h, `{"failureMode":"`+mode+`","consumers":{"a":{"budget":{"usd":1,"period":"day"}}},`+prices+`}`, l)
			setEpoch(t, h.Redis())
			require.Equal(t, 200, call(p, "a", "/v1/chat/completions", body("gpt-4o", 200, 10)).Code)
			rs.Stop()
			for i := 0; i < 5; i++ {
				rec := call(p, "a", "/v1/messages", body("gpt-4o", 200, 10))
				if mode == "open" {
					require.Equal(t, 200, rec.Code)
				} else {
					require.Equal(t, 503, rec.Code)
					require.Contains(t, rec.Body.String(), `"type":"error"`, "in the client's protocol")
					require.Contains(t, rec.Body.String(), "Redis")
				}
			}
			require.Equal(t, 1, strings.Count(h.Logs.String(), "Redis failed"), "logged once per outage:\n%s", h.Logs.String())
			rs.Start()
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(h.Logs.String(), "Redis answers again") {
				require.True(t, time.Now().Before(deadline), "Redis never came back:\n%s", h.Logs.String())
				call(p, "a", "/v1/chat/completions", body("gpt-4o", 200, 10))
				time.Sleep(20 * time.Millisecond)
			}
			// Redis came back empty: until the host restored the counters
			// (the epoch), closed refuses, saying why; open counts on.
			rec := call(p, "a", "/v1/chat/completions", body("gpt-4o", 200, 10))
			if mode == "open" {
				require.Equal(t, 200, rec.Code)
				return
			}
			require.Equal(t, 503, rec.Code)
			require.Contains(t, rec.Body.String(), "being restored from the database")
			setEpoch(t, h.Redis())
			for call(p, "a", "/v1/chat/completions", body("gpt-4o", 200, 10)).Code != 200 {
				require.True(t, time.Now().Before(deadline.Add(5*time.Second)), "not served after the restore")
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
	// Redis not configured at all: open serves.
	h := plugintest.NewHost(t, "")
	p := newPlugin(t, h, `{"consumers":{"a":{"quota":{"tokens":10,"period":"day"}}}}`, &llm{})
	require.Equal(t, 200, call(p, "a", "/v1/chat/completions", body("gpt-4o", 200, 10)).Code)
}

func TestNoPriceCountsAtTheHighestPriceAndWarnsOnce(t *testing.T) {
	rs := redistest.Start(t)
	h := plugintest.NewHost(t, rs.Addr)
	l := &llm{usage: pluginapi.AIUsage{Model: "mystery-1", RequestedModel: "mystery", InputTokens: 100, OutputTokens: 100}}
	p := newPlugin(t, h, `{"consumers":{"a":{}},`+prices+`}`, l)
	for i := 0; i < 3; i++ {
		require.Equal(t, 200, call(p, "a", "/v1/chat/completions", body("mystery", 200, 10)).Code)
	}
	require.EqualValues(t, 3*(100*2.5+100*10), hash(t, h.Redis(), "a", "day")["micros"])
	require.Equal(t, 1, strings.Count(h.Logs.String(), `model \"mystery-1\" has no price`), h.Logs.String())
	require.Contains(t, h.Logs.String(), "add a model price")
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for cfg, want := range map[string]string{
		`{"consumers":{"a":{"budget":{"usd":-1,"period":"day"}}},"prices":[{"model":"m","input":1,"output":1}]}`: "consumers.a.budget.usd",
		`{"consumers":{"a":{"quota":{"tokens":5,"period":"week"}}}}`:                                             `consumers.a.quota.period: "week" is not a period`,
		`{"consumers":{"a":{"budget":{"usd":1,"period":"day"}}}}`:                                                "prices: is empty, but a consumer has a budget",
		`{"consumers":{"a":{"allowedModels":["bad model"]}}}`:                                                    "consumers.a.allowedModels[0]",
		`{"failureMode":"maybe"}`:                          "failureMode",
		`{"prices":[{"model":"m","input":-1,"output":1}]}`: "prices[0].input",
		`{"consumer":{}}`:                                  "consumer: unknown field",
	} {
		_, err := parseConfig([]byte(cfg))
		require.Error(t, err, cfg)
		require.Contains(t, err.Error(), want)
	}
}

func TestSchemaAgreesWithThePlugin(t *testing.T) {
	parse := func(b []byte) error { _, err := parseConfig(b); return err }
	schematest.RequireAgrees(t, Plugin.ConfigSchema(), parse, []string{
		`{}`,
		`{"consumers":{"team-a":{"allowedModels":["gpt-4o-mini*"],"quota":{"tokens":2000000,"period":"month"},"budget":{"usd":50,"period":"month"}}},
		  "prices":[{"model":"gpt-4o*","input":2.5,"output":10,"cachedInput":1.25}],"failureMode":"closed","defaultMaxTokens":64}`,
	}, true)
	schematest.RequireAgrees(t, Plugin.ConfigSchema(), parse, []string{
		`{"consumers":{"a":{"quota":{"tokens":0,"period":"day"}}}}`,
		`{"consumers":{"a":{"quota":{"tokens":1,"period":"year"}}}}`,
		`{"consumers":{"a":{"budget":{"usd":0,"period":"day"}}},"prices":[{"model":"m"}]}`,
		`{"consumers":{"a b":{}}}`,
		`{"prices":[{"input":1}]}`,
		`{"failureMode":"half"}`,
		`{"defaultMaxTokens":0}`,
		`{"extra":1}`,
	}, false)
}

// setEpoch marks the usage counters whole, as the host does once it has
// restored them (pluginapi.UsageEpochKey).
func setEpoch(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	require.NoError(t, rdb.Set(context.Background(), pluginapi.UsageEpochKey, "test", 0).Err())
}
