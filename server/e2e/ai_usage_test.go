package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/store"
	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
	"github.com/gatehouse-dev/gatehouse/tests/llmstandin"
)

// TestAIUsageSurvivesARedisLoss: what a consumer spent through the gateway
// is counted in Redis and rolled up into the database; Redis stopped, the
// usage API answers from the database with the same figures and calls go
// on uncounted (failure mode open, the default); Redis back empty, the
// counters are restored from the database, so what was spent before and
// after adds up exactly, per model too, and the budget holds with the
// restored figures: the calls it has left are served, the next is refused.
func TestAIUsageSurvivesARedisLoss(t *testing.T) {
	skipNearPeriodEnd(t, pluginapi.PeriodMonth)
	redis := testenv.StartRedis(t)
	st, stURL := newStandin(t, llmstandin.Options{Keys: []string{tokOpenAI}})
	g := testenv.StartGatehouse(t, testenv.Options{Env: append(bootstrapEnv(),
		"GATEHOUSE_REDIS_ADDR="+redis.Addr, "GATEHOUSE_USAGE_ROLLUP_INTERVAL=1s")})
	api := g.Login(t, adminUser, adminPass)
	create(t, api, "/llm-providers", aiProviderSpec{Name: "openai", Type: "openai", Endpoint: stURL, Tokens: []string{tokOpenAI}}.object())

	// The seeded price of gpt-4o* is 2.5 and 10 USD per million tokens:
	// a 1000-word answer costs about a cent, so that the 429's message
	// (which shows dollars and cents) tells the figures apart.
	price := pluginapi.ModelPrice{Model: "gpt-4o*", Input: 2.5, Output: 10, CachedInput: 1.25}
	// The stand-in answers with the model asked for, directives included.
	const model = "gpt-4o+words=1000"
	req := openAIChatRequest(model, "count me")
	req["max_tokens"] = 1100
	bs, err := json.Marshal(req)
	require.NoError(t, err)
	estimate := price.CostMicros(int64(len(bs)+3)/4, 0, 1100)

	// One call's cost is the stand-in's answer to this request, measured
	// with another consumer.
	probe := createConsumer(t, api, map[string]any{"name": "probe"})
	// An AI route that admits consumers needs one to exist first.
	create(t, api, "/ai-routes", aiRouteSpec{Name: "chat", Upstreams: []aiUpstreamSpec{{Provider: "openai", Weight: 100}}, Consumers: true}.object())
	testenv.WaitFor(t, 30*time.Second, "the AI route to serve consumers", func() bool {
		return aiChat(t, g, "chat", probe, req).status == http.StatusOK
	})
	one := answered(st, price)
	require.Equal(t, int64(1), one.requests)
	require.Positive(t, one.output)
	// The budget fits 7 calls and half an estimate: the 8th call counted
	// does not fit (it reserves a whole estimate).
	const fits = 7
	require.GreaterOrEqual(t, 2*one.micros, estimate, "a call costs at least half its estimate, so that the 7th fits")
	budget := fits*one.micros + estimate/2
	key := createConsumer(t, api, map[string]any{"name": "team", "budget": map[string]any{"usd": pluginapi.MicrosToUSD(budget), "period": "month"}})
	call := func() gwResponse { return aiChat(t, g, "chat", key, req) }

	read := func() usageView {
		t.Helper()
		var u usageView
		resp := api.Do(t, "GET", "/consumers/team/usage", nil, &u)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return u
	}
	// The gateway counts a call once it has written the answer, so just
	// after the client read it.
	settled := func(requests int64) usageView {
		t.Helper()
		var u usageView
		testenv.WaitFor(t, 30*time.Second, fmt.Sprintf("%d calls to be counted", requests), func() bool {
			u = read()
			return u.Totals.Requests >= requests
		})
		return u
	}
	uncounted := func() float64 {
		t.Helper()
		return metricSum(metricsText(t, g, api.Token), "gatehouse_ai_consumer_uncounted_total", map[string]string{"consumer": "team"})
	}
	month, _, _ := pluginapi.UsagePeriod(pluginapi.PeriodMonth, time.Now())
	db, err := store.Open(context.Background(), filepath.Join(g.DataDir, "gatehouse.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	waitRolledUp := func(want spend, what string) {
		t.Helper()
		testenv.WaitFor(t, 30*time.Second, what, func() bool {
			rows, err := db.ConsumerUsage(context.Background(), "team", month)
			require.NoError(t, err)
			return len(rows) > 0 && rows[0].Model == "" && rows[0].Micros == want.micros && rows[0].Requests == want.requests
		})
	}

	// Four calls, counted in Redis.
	st.Reset()
	testenv.WaitFor(t, 30*time.Second, "the consumer's first call", func() bool {
		return call().status == http.StatusOK
	})
	for i := 0; i < 3; i++ {
		r := call()
		require.Equal(t, http.StatusOK, r.status, r.body)
	}
	want := answered(st, price)
	require.Equal(t, one.times(4), want, "the stand-in answers the same request with the same usage")
	u := settled(want.requests)
	require.Equal(t, "redis", u.Source)
	requireUsage(t, u, model, want, budget, "counted in Redis")

	// The rollup writes the figures into the database (every second here).
	waitRolledUp(want, "the rollup to write what was spent")

	// Redis lost: the usage API answers from the database, saying so, with
	// the same figures. Calls are served (failure mode open), uncounted.
	redis.Stop()
	u = read()
	require.Equal(t, "database", u.Source)
	require.Contains(t, u.Note, "Redis", "the note says why the figures are the database's")
	requireUsage(t, u, model, want, budget, "the database kept what was spent")
	before := uncounted()
	st.Reset()
	r := call()
	require.Equal(t, http.StatusOK, r.status, "failure mode open: served while Redis is down: %s", r.body)
	require.Equal(t, before+1, uncounted(), "the call served while Redis was down is reported uncounted")
	requireUsage(t, read(), model, want, budget, "an uncounted call is not in the figures")

	// Redis back, empty. A call right after it is usually counted before
	// the counters are restored (open mode counts on; the restore adds the
	// database's figures to what was counted since), or it comes while the
	// gateway still skips the Redis that failed a moment ago and is
	// reported uncounted: either way the figures must add up.
	redis.Start()
	before = uncounted()
	st.Reset()
	r = call()
	require.Equal(t, http.StatusOK, r.status, "served right after Redis came back: %s", r.body)
	gap := answered(st, price)
	source := read().Source
	testenv.WaitFor(t, 30*time.Second, "the usage API to answer from Redis again (the counters restored)", func() bool {
		return read().Source == "redis"
	})
	// Once its reservation is released the call is counted, unless it
	// was reported uncounted.
	testenv.WaitFor(t, 30*time.Second, "the call right after Redis came back to be settled", func() bool {
		u := read()
		return u.Budget != nil && u.Budget.ReservedUSD == 0
	})
	counted := uncounted() == before
	if counted {
		want = want.plus(gap)
	}
	t.Logf("the call right after Redis came back: counted %v; the usage API answered from %s just after it", counted, source)
	requireUsage(t, read(), model, want, budget, "restored exactly: nothing lost, nothing counted twice")

	// The budget holds with the restored figures: the calls it has left
	// are served, the next is refused with 429 naming the budget.
	left := fits - want.requests
	require.Positive(t, left)
	st.Reset()
	for i := int64(1); i <= left; i++ {
		r := call()
		require.Equal(t, http.StatusOK, r.status, "call %d of the %d the budget has left after the restore: %s", i, left, r.body)
		settled(want.requests + i)
	}
	want = want.plus(answered(st, price))
	requireUsage(t, read(), model, want, budget, "before + after, exactly")
	st.Reset()
	r = call()
	require.Equal(t, http.StatusTooManyRequests, r.status, "the restored spending counts against the budget: %s", r.body)
	require.Contains(t, r.body, `"code":"budget_exceeded"`)
	usd := func(micros int64) string { return fmt.Sprintf("$%.2f", pluginapi.MicrosToUSD(micros)) }
	require.Contains(t, r.body, fmt.Sprintf(`consumer \"team\" has too little of its monthly budget of %s left for this request (%s spent`,
		usd(budget), usd(want.micros)))
	require.Empty(t, st.Requests(), "the refused call never reached the provider")

	// And the database catches up with Redis again.
	waitRolledUp(want, "the rollup after the restore")
}

// TestAIUsageFailureModeClosed: with GATEHOUSE_AI_USAGE_FAILURE_MODE=closed
// a consumer with a budget is refused with 503 while Redis is down (its
// spending cannot be checked), in the OpenAI error shape, and served again
// once Redis is back; a consumer without a quota or budget is served
// throughout.
func TestAIUsageFailureModeClosed(t *testing.T) {
	redis := testenv.StartRedis(t)
	st, stURL := newStandin(t, llmstandin.Options{Keys: []string{tokOpenAI}})
	g := testenv.StartGatehouse(t, testenv.Options{Env: append(bootstrapEnv(),
		"GATEHOUSE_REDIS_ADDR="+redis.Addr, "GATEHOUSE_AI_USAGE_FAILURE_MODE=closed")})
	api := g.Login(t, adminUser, adminPass)
	create(t, api, "/llm-providers", aiProviderSpec{Name: "openai", Type: "openai", Endpoint: stURL, Tokens: []string{tokOpenAI}}.object())
	limited := createConsumer(t, api, map[string]any{"name": "limited", "budget": map[string]any{"usd": 5, "period": "month"}})
	free := createConsumer(t, api, map[string]any{"name": "free"})
	create(t, api, "/ai-routes", aiRouteSpec{Name: "chat", Upstreams: []aiUpstreamSpec{{Provider: "openai", Weight: 100}}, Consumers: true}.object())
	call := func(key string) gwResponse { return aiChat(t, g, "chat", key, openAIChatRequest("gpt-4o", "closed?")) }
	testenv.WaitFor(t, 15*time.Second, "the AI route to serve", func() bool {
		return call(limited).status == http.StatusOK
	})

	redis.Stop()
	st.Reset()
	r := call(limited)
	require.Equal(t, http.StatusServiceUnavailable, r.status, r.body)
	require.Contains(t, r.body, `"code":"usage_unavailable"`)
	require.Contains(t, r.body, `consumer \"limited\" cannot be checked because the gateway's Redis is unavailable`)
	require.NotEmpty(t, r.header.Get("Retry-After"))
	r = call(free)
	require.Equal(t, http.StatusOK, r.status, "a consumer with nothing to check is served: %s", r.body)
	require.Len(t, st.Requests(), 1, "the refused call never reached the provider")

	redis.Start()
	testenv.WaitFor(t, 45*time.Second, "the consumer with a budget to be served again", func() bool {
		return call(limited).status == http.StatusOK
	})
}

// usageView is GET /api/v1/consumers/{name}/usage as a user reads it.
type usageView struct {
	Source string
	Note   string
	Totals struct {
		InputTokens, OutputTokens, Tokens, Requests int64
		USD                                         float64
	}
	Budget *struct {
		USD, SpentUSD, ReservedUSD, RemainingUSD float64
	}
	Models []modelView
}

type modelView struct {
	Model                               string
	InputTokens, OutputTokens, Requests int64
	USD                                 float64
}

// spend is what calls cost as the provider reported them.
type spend struct {
	input, output, requests, micros int64
}

func (s spend) plus(o spend) spend {
	return spend{s.input + o.input, s.output + o.output, s.requests + o.requests, s.micros + o.micros}
}

func (s spend) times(n int64) spend {
	return spend{n * s.input, n * s.output, n * s.requests, n * s.micros}
}

// answered sums the stand-in's successful answers since its last Reset,
// each priced at price as the gateway counts it.
func answered(st *llmstandin.Server, price pluginapi.ModelPrice) spend {
	var s spend
	for _, r := range st.Requests() {
		if r.Status == http.StatusOK {
			s = s.plus(spend{r.Usage.InputTokens, r.Usage.OutputTokens, 1,
				price.CostMicros(r.Usage.InputTokens, r.Usage.CachedTokens, r.Usage.OutputTokens)})
		}
	}
	return s
}

// requireUsage checks that u shows exactly want, all of it spent on
// model, against a budget of budget micro-dollars with nothing in flight.
func requireUsage(t *testing.T, u usageView, model string, want spend, budget int64, what string) {
	t.Helper()
	usd := pluginapi.MicrosToUSD(want.micros)
	require.Equal(t, []int64{want.input, want.output, want.input + want.output, want.requests},
		[]int64{u.Totals.InputTokens, u.Totals.OutputTokens, u.Totals.Tokens, u.Totals.Requests}, "%s: input, output, tokens, requests", what)
	require.Equal(t, usd, u.Totals.USD, "%s: dollars", what)
	require.Equal(t, []modelView{{Model: model, InputTokens: want.input, OutputTokens: want.output, Requests: want.requests, USD: usd}},
		u.Models, "%s: per model", what)
	require.NotNil(t, u.Budget, what)
	require.Equal(t, pluginapi.MicrosToUSD(budget), u.Budget.USD, "%s: the budget", what)
	require.Equal(t, usd, u.Budget.SpentUSD, "%s: spent of the budget", what)
	require.Zero(t, u.Budget.ReservedUSD, "%s: nothing in flight", what)
	require.Equal(t, pluginapi.MicrosToUSD(budget-want.micros), u.Budget.RemainingUSD, "%s: left of the budget", what)
}
