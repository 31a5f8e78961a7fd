package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
	"github.com/gatehouse-dev/gatehouse/tests/llmstandin"
)

// TestAIBudgetEnforcedByTwoInstances: consumer objects on AI routes
// served by two instances sharing one Redis. The ai-consumer plugin that
// control compiles after key-auth holds a dollar budget within one
// request's estimate under concurrent requests through both instances,
// and the official OpenAI and Anthropic SDKs see the exhausted budget as a
// 429 in their protocol's shape; a quota refuses with quota_exceeded;
// allowedModels and allowedAiRoutes answer 403; a stream is counted in the
// usage hash exactly as the provider reported it; a failed call costs
// nothing. Budgets and quotas are monthly, so that a run across midnight
// UTC does not start a new period halfway; near the end of a month the
// test is skipped.
func TestAIBudgetEnforcedByTwoInstances(t *testing.T) {
	skipNearPeriodEnd(t, pluginapi.PeriodMonth)
	redis := testenv.StartRedis(t)
	a, b, api := startPair(t, redis)
	rdb := redisClient(t, redis)

	st, stURL := newStandin(t, llmstandin.Options{Keys: []string{tokOpenAI}})
	create(t, api, "/llm-providers", aiProviderSpec{Name: "openai", Type: "openai", Endpoint: stURL, Tokens: []string{tokOpenAI}}.object())
	// The seeded price of gpt-4o* is 2.5 and 10 USD per million tokens.
	const budgetUSD = 0.02
	keys := map[string]string{}
	for _, c := range []map[string]any{
		{"name": "spender", "budget": map[string]any{"usd": budgetUSD, "period": "month"}},
		{"name": "counted"},
		{"name": "quota-q", "quota": map[string]any{"tokens": 100, "period": "month"}},
		{"name": "picky", "allowedModels": []string{"gpt-4o-mini*"}},
		{"name": "chat-only", "allowedAiRoutes": []string{"chat"}},
	} {
		if c["name"] == "chat-only" {
			// The routes exist before a consumer names one.
			for _, name := range []string{"chat", "other"} {
				create(t, api, "/ai-routes", aiRouteSpec{Name: name, Upstreams: []aiUpstreamSpec{{Provider: "openai", Weight: 100}}, Consumers: true}.object())
			}
		}
		keys[c["name"].(string)] = createConsumer(t, api, c)
	}

	// B runs the configuration made on A once it refuses chat-only on the
	// route "other": the last consumer and route made (picky alone could
	// be enforced a revision earlier, before "other" reached B).
	testenv.WaitFor(t, 15*time.Second, "instance B to enforce the consumers made on A", func() bool {
		return aiChat(t, b, "chat", keys["picky"], openAIChatRequest("gpt-4o", "probe")).status == http.StatusForbidden &&
			aiChat(t, b, "other", keys["chat-only"], openAIChatRequest("gpt-4o", "probe")).status == http.StatusForbidden
	})
	usage := func(consumer, period string) map[string]int64 {
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
	price := pluginapi.ModelPrice{Model: "gpt-4o*", Input: 2.5, Output: 10, CachedInput: 1.25}

	// allowedModels and allowedAiRoutes: 403 naming the consumer and what
	// it may use, before any provider call.
	st.Reset()
	r := aiChat(t, a, "chat", keys["picky"], openAIChatRequest("gpt-4o", "not mine"))
	require.Equal(t, http.StatusForbidden, r.status)
	require.Contains(t, r.body, `consumer \"picky\" may not use the model \"gpt-4o\"; it may use: gpt-4o-mini*`)
	r = aiChat(t, b, "other", keys["chat-only"], openAIChatRequest("gpt-4o", "wrong route"))
	require.Equal(t, http.StatusForbidden, r.status)
	require.Contains(t, r.body, `consumer \"chat-only\" may not use the AI route \"other\"`)
	r = aiChat(t, b, "chat", keys["chat-only"], openAIChatRequest("gpt-4o", "right route"))
	require.Equal(t, http.StatusOK, r.status, r.body)
	require.Len(t, st.Requests(), 1, "the refused calls never reached the provider")

	// A failed call costs nothing.
	before := usage("counted", "month")
	require.GreaterOrEqual(t, aiChat(t, a, "chat", keys["counted"], openAIChatRequest("gpt-4o+status=500", "fails")).status, 500)
	require.Equal(t, before, usage("counted", "month"), "a failed call is not counted")

	// A stream is counted as the provider reported it, field by field.
	st.Reset()
	sreq := openAIChatRequest("gpt-4o+words=30", "streamed and counted")
	sreq["max_tokens"] = 1000
	sreq["stream_options"] = map[string]any{"include_usage": true}
	sdk := runAIClient(t, aiScenario{SDK: "openai", Op: "chat", BaseURL: a.GatewayURL + "/ai/chat/v1", APIKey: keys["counted"], Stream: true, Request: sreq})
	requireOK(t, sdk, "streamed chat")
	sr := findRequest(t, st, "streamed and counted")
	u := sr.Usage
	require.Positive(t, u.OutputTokens)
	micros := price.CostMicros(u.InputTokens, u.CachedTokens, u.OutputTokens)
	// The stream is counted after its last event, so just after the client
	// read it.
	testenv.WaitFor(t, 15*time.Second, "the stream to be counted", func() bool {
		return usage("counted", "month")[pluginapi.UsageRequests] == 1
	})
	got := usage("counted", "month")
	var model string
	for f := range got {
		if m, ok := strings.CutSuffix(strings.TrimPrefix(f, "m:"), ":in"); ok && strings.HasPrefix(f, "m:") {
			model = m
		}
	}
	require.NotEmpty(t, model, "per-model fields: %v", got)
	require.Equal(t, map[string]int64{"tokens": u.InputTokens + u.OutputTokens, "micros": micros, "requests": 1,
		"m:" + model + ":in": u.InputTokens, "m:" + model + ":out": u.OutputTokens, "m:" + model + ":cached": u.CachedTokens,
		"m:" + model + ":micros": micros, "m:" + model + ":req": 1}, got, "a consumer without limits is counted exactly")

	// The quota: the first request is served (nothing used yet), then
	// 429 quota_exceeded with Retry-After.
	r = aiChat(t, a, "chat", keys["quota-q"], openAIChatRequest("gpt-4o+words=200", "quota"))
	require.Equal(t, http.StatusOK, r.status, r.body)
	r = aiChat(t, b, "chat", keys["quota-q"], openAIChatRequest("gpt-4o+words=200", "quota"))
	require.Equal(t, http.StatusTooManyRequests, r.status, r.body)
	require.Contains(t, r.body, `"code":"quota_exceeded"`)
	require.Contains(t, r.body, `consumer \"quota-q\" has used its monthly quota of 100 tokens`)
	require.NotEmpty(t, r.header.Get("Retry-After"))

	// The budget under concurrent requests through both instances.
	st.Reset()
	req := openAIChatRequest("gpt-4o+words=100", "spend")
	req["max_tokens"] = 150
	bs, _ := json.Marshal(req)
	estimate := price.CostMicros(int64(len(bs)+3)/4, 0, 150)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func(g *testenv.Gatehouse) {
			defer wg.Done()
			r := aiChat(t, g, "chat", keys["spender"], req)
			mu.Lock()
			defer mu.Unlock()
			codes[r.status]++
			if r.status == http.StatusTooManyRequests {
				require.NotEmpty(t, r.header.Get("Retry-After"), "a refusal says when to retry")
				require.Contains(t, r.body, `"code":"budget_exceeded"`)
				require.Contains(t, r.body, `"type":"insufficient_quota"`)
			}
		}([]*testenv.Gatehouse{a, b}[i%2])
	}
	wg.Wait()
	var spent int64
	served := 0
	for _, r := range st.Requests() {
		if r.Status == http.StatusOK {
			served++
			spent += price.CostMicros(r.Usage.InputTokens, r.Usage.CachedTokens, r.Usage.OutputTokens)
		}
	}
	limit := pluginapi.USDToMicros(budgetUSD)
	t.Logf("budget %d micros, estimate %d: %d served (%d micros), codes %v", limit, estimate, served, spent, codes)
	require.Equal(t, served, codes[http.StatusOK])
	require.Equal(t, 24, codes[http.StatusOK]+codes[http.StatusTooManyRequests], "codes %v", codes)
	require.Positive(t, codes[http.StatusTooManyRequests], "the budget refused some")
	require.LessOrEqual(t, spent, limit+estimate, "the shared budget holds within one request's estimate")
	testenv.WaitFor(t, 15*time.Second, "every reservation to be settled", func() bool {
		return usage("spender", "month")[pluginapi.UsageReservedMicros] == 0
	})
	require.Equal(t, spent, usage("spender", "month")["micros"], "the month's hash holds exactly what was spent")

	// Spend the rest, then both SDKs see the exhausted budget as a
	// rate-limit error in their protocol's shape.
	for i := 0; ; i++ {
		require.Less(t, i, 30, "the budget was never exhausted")
		if aiChat(t, a, "chat", keys["spender"], req).status == http.StatusTooManyRequests {
			break
		}
	}
	st.Reset()
	rs := runAIClients(t,
		aiScenario{SDK: "openai", Op: "chat", BaseURL: a.GatewayURL + "/ai/chat/v1", APIKey: keys["spender"], Request: req},
		aiScenario{SDK: "anthropic", Op: "messages", BaseURL: b.GatewayURL + "/ai/chat", APIKey: keys["spender"], Request: anthropicRequest("gpt-4o", "over budget")})
	for i, r := range rs {
		require.False(t, r.OK, r.Output)
		require.Equal(t, http.StatusTooManyRequests, r.Error.Status, r.Output)
		require.Equal(t, "RateLimitError", r.Error.Name, r.Output)
		require.Contains(t, r.Error.Message, `consumer "spender" has`, r.Output)
		require.Contains(t, r.Error.Message, "monthly budget of $0.02", r.Output)
		if i == 0 {
			require.Equal(t, "insufficient_quota", r.Error.Type, r.Output)
			require.Contains(t, string(r.Error.Body), `"code":"budget_exceeded"`, r.Output)
		} else {
			var body struct {
				Type  string `json:"type"`
				Error struct {
					Type string `json:"type"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal(r.Error.Body, &body), r.Output)
			require.Equal(t, "error", body.Type, r.Output)
			require.Equal(t, "rate_limit_error", body.Error.Type, r.Output)
		}
		requireNoSecret(t, "the SDK's error", r.Output, []string{keys["spender"]})
	}
	require.Empty(t, st.Requests(), "refused before the call")
	require.Positive(t, metricSum(metricsText(t, a, api.Token), "gatehouse_ai_consumer_refusals_total", map[string]string{"consumer": "spender", "reason": "budget"}))
}
