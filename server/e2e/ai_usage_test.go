package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
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
// usage API answers from the database and calls go on (failure mode open,
// the default); Redis back empty, the counters are restored from the
// database, so what was spent before and after adds up exactly, and the
// budget holds with the restored figures.
func TestAIUsageSurvivesARedisLoss(t *testing.T) {
	redis := testenv.StartRedis(t)
	st, stURL := newStandin(t, llmstandin.Options{Keys: []string{tokOpenAI}})
	g := testenv.StartGatehouse(t, testenv.Options{Env: append(bootstrapEnv(),
		"GATEHOUSE_REDIS_ADDR="+redis.Addr, "GATEHOUSE_USAGE_ROLLUP_INTERVAL=1s")})
	api := g.Login(t, adminUser, adminPass)
	create(t, api, "/llm-providers", aiProviderSpec{Name: "openai", Type: "openai", Endpoint: stURL, Tokens: []string{tokOpenAI}}.object())

	// The seeded price of gpt-4o* is 2.5 and 10 USD per million tokens.
	price := pluginapi.ModelPrice{Model: "gpt-4o*", Input: 2.5, Output: 10, CachedInput: 1.25}
	req := openAIChatRequest("gpt-4o+words=100", "count me")
	req["max_tokens"] = 150
	bs, err := json.Marshal(req)
	require.NoError(t, err)
	newConsumer := func(c map[string]any) string {
		var got struct {
			Credentials []struct{ Key string }
		}
		require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/consumers", c, &got).StatusCode)
		return got.Credentials[0].Key
	}
	callAs := func(key string) (int, string) {
		r, err := http.NewRequest(http.MethodPost, g.GatewayURL+"/ai/chat/v1/chat/completions", bytes.NewReader(bs))
		require.NoError(t, err)
		r.Header.Set("Authorization", "Bearer "+key)
		r.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	// One call's cost is the stand-in's answer to this request, measured
	// with another consumer. The budget is sized from it: 4 calls before
	// the loss and 3 after fit, the 8th does not (the budget ends inside
	// its reservation).
	probe := newConsumer(map[string]any{"name": "probe"})
	// An AI route with authConfig needs a consumer to admit first.
	create(t, api, "/ai-routes", map[string]any{"name": "chat", "pathPrefix": "/ai/chat", "enabled": true,
		"upstreams": []any{map[string]any{"provider": "openai", "weight": 100}}, "authConfig": map[string]any{"enabled": true}})
	testenv.WaitFor(t, 15*time.Second, "the AI route to serve consumers", func() bool {
		code, _ := callAs(probe)
		return code == http.StatusOK
	})
	one := spentBy(st, price)
	require.Positive(t, one)
	st.Reset()
	estimate := price.CostMicros(int64(len(bs)+3)/4, 0, 150)
	budget := 7*one + estimate/2
	key := newConsumer(map[string]any{"name": "team", "budget": map[string]any{"usd": pluginapi.MicrosToUSD(budget), "period": "month"}})
	call := func() (int, string) { return callAs(key) }
	testenv.WaitFor(t, 15*time.Second, "the consumer's first call", func() bool {
		code, _ := call()
		return code == http.StatusOK
	})
	for i := 0; i < 3; i++ {
		code, body := call()
		require.Equal(t, http.StatusOK, code, body)
	}
	before := spentBy(st, price)
	require.Equal(t, 4*one, before, "the stand-in answers the same request with the same usage")

	type usageAnswer struct {
		Source string
		Totals struct {
			USD      float64
			Requests int64
		}
		Budget struct{ SpentUSD float64 }
	}
	read := func() usageAnswer {
		var u usageAnswer
		require.Equal(t, http.StatusOK, api.Do(t, "GET", "/consumers/team/usage", nil, &u).StatusCode)
		return u
	}
	require.Equal(t, "redis", read().Source)
	require.InDelta(t, pluginapi.MicrosToUSD(before), read().Totals.USD, 1e-9)

	// The rollup writes the figures into the database (every second here).
	month, _, _ := pluginapi.UsagePeriod(pluginapi.PeriodMonth, time.Now())
	db, err := store.Open(context.Background(), filepath.Join(g.DataDir, "gatehouse.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	testenv.WaitFor(t, 20*time.Second, "the rollup to write what was spent", func() bool {
		rows, err := db.ConsumerUsage(context.Background(), "team", month)
		require.NoError(t, err)
		return len(rows) > 0 && rows[0].Model == "" && rows[0].Micros == before
	})

	// Redis lost: the usage API answers from the database, saying so, and
	// calls are served (failure mode open) but cannot be counted.
	redis.Stop()
	u := read()
	require.Equal(t, "database", u.Source)
	require.InDelta(t, pluginapi.MicrosToUSD(before), u.Totals.USD, 1e-9, "the database kept what was spent")
	code, body := call()
	require.Equal(t, http.StatusOK, code, "failure mode open: served while Redis is down: %s", body)
	uncounted := spentBy(st, price) - before

	// Redis back, empty: one instance restores the counters from the
	// database, then the usage API answers from Redis again.
	redis.Start()
	testenv.WaitFor(t, 45*time.Second, "the counters to be restored into Redis", func() bool {
		return read().Source == "redis"
	})
	require.InDelta(t, pluginapi.MicrosToUSD(before), read().Totals.USD, 1e-9, "restored exactly: nothing lost, nothing counted twice")

	// Spend after the restore: the totals add up, and the budget holds
	// with the restored figures: 3 more calls fit, the next is refused.
	for i := 0; i < 3; i++ {
		code, body := call()
		require.Equal(t, http.StatusOK, code, "call %d after the restore: %s", i, body)
	}
	after := spentBy(st, price) - before - uncounted
	require.Equal(t, 3*one, after)
	u = read()
	require.InDelta(t, pluginapi.MicrosToUSD(before+after), u.Totals.USD, 1e-9, "before + after, exactly")
	require.InDelta(t, pluginapi.MicrosToUSD(before+after), u.Budget.SpentUSD, 1e-9)
	code, body = call()
	require.Equal(t, http.StatusTooManyRequests, code, "the restored spending counts against the budget: %s", body)
	require.Contains(t, body, `"code":"budget_exceeded"`)
	require.Contains(t, body, `consumer \"team\" has`)

	// And the database catches up with Redis again.
	testenv.WaitFor(t, 20*time.Second, "the rollup after the restore", func() bool {
		rows, err := db.ConsumerUsage(context.Background(), "team", month)
		require.NoError(t, err)
		return len(rows) > 0 && rows[0].Micros == before+after
	})
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
	keys := map[string]string{}
	for _, c := range []map[string]any{{"name": "limited", "budget": map[string]any{"usd": 5, "period": "month"}}, {"name": "free"}} {
		var got struct {
			Credentials []struct{ Key string }
		}
		require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/consumers", c, &got).StatusCode)
		keys[c["name"].(string)] = got.Credentials[0].Key
	}
	create(t, api, "/ai-routes", map[string]any{"name": "chat", "pathPrefix": "/ai/chat", "enabled": true,
		"upstreams": []any{map[string]any{"provider": "openai", "weight": 100}}, "authConfig": map[string]any{"enabled": true}})
	call := func(who string) (int, http.Header, string) {
		bs, _ := json.Marshal(openAIChatRequest("gpt-4o", "closed?"))
		r, err := http.NewRequest(http.MethodPost, g.GatewayURL+"/ai/chat/v1/chat/completions", bytes.NewReader(bs))
		require.NoError(t, err)
		r.Header.Set("Authorization", "Bearer "+keys[who])
		r.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(out)
	}
	testenv.WaitFor(t, 15*time.Second, "the AI route to serve", func() bool {
		code, _, _ := call("limited")
		return code == http.StatusOK
	})

	redis.Stop()
	st.Reset()
	code, h, body := call("limited")
	require.Equal(t, http.StatusServiceUnavailable, code, body)
	require.Contains(t, body, `"code":"usage_unavailable"`)
	require.Contains(t, body, `consumer \"limited\" cannot be checked because the gateway's Redis is unavailable`)
	require.NotEmpty(t, h.Get("Retry-After"))
	code, _, body = call("free")
	require.Equal(t, http.StatusOK, code, "a consumer with nothing to check is served: %s", body)
	require.Len(t, st.Requests(), 1, "the refused call never reached the provider")

	redis.Start()
	testenv.WaitFor(t, 45*time.Second, "the consumer with a budget to be served again", func() bool {
		code, _, _ := call("limited")
		return code == http.StatusOK
	})
}

// spentBy sums what the stand-in's successful answers cost at price.
func spentBy(st *llmstandin.Server, price pluginapi.ModelPrice) int64 {
	var micros int64
	for _, r := range st.Requests() {
		if r.Status == http.StatusOK {
			micros += price.CostMicros(r.Usage.InputTokens, r.Usage.CachedTokens, r.Usage.OutputTokens)
		}
	}
	return micros
}
