package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
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
// UTC does not start a new period halfway.
func TestAIBudgetEnforcedByTwoInstances(t *testing.T) {
	db := testenv.SharedDatabase(t)
	redis := testenv.StartRedis(t)
	env := append(bootstrapEnv(), "GATEHOUSE_DATABASE="+db, "GATEHOUSE_REDIS_ADDR="+redis.Addr,
		"GATEHOUSE_JWT_SECRET=shared-secret-for-both-instances-0123456789")
	a := testenv.StartGatehouse(t, testenv.Options{Env: append(env, "GATEHOUSE_INSTANCE_ID=a")})
	b := testenv.StartGatehouse(t, testenv.Options{Env: append(env, "GATEHOUSE_INSTANCE_ID=b")})
	api := a.Login(t, adminUser, adminPass)
	rdb := goredis.NewClient(&goredis.Options{Addr: redis.Addr})
	t.Cleanup(func() { _ = rdb.Close() })

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
				create(t, api, "/ai-routes", map[string]any{"name": name, "pathPrefix": "/ai/" + name, "enabled": true,
					"upstreams": []any{map[string]any{"provider": "openai", "weight": 100}}, "authConfig": map[string]any{"enabled": true}})
			}
		}
		var got struct {
			Credentials []struct{ Key string }
		}
		resp := api.Do(t, "POST", "/consumers", c, &got)
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		keys[c["name"].(string)] = got.Credentials[0].Key
	}

	post := func(g *testenv.Gatehouse, route, key string, body map[string]any) (int, http.Header, string) {
		bs, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, g.GatewayURL+"/ai/"+route+"/v1/chat/completions", bytes.NewReader(bs))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(out)
	}
	// B runs the configuration made on A once it refuses picky's model.
	testenv.WaitFor(t, 15*time.Second, "instance B to enforce the consumers made on A", func() bool {
		code, _, _ := post(b, "chat", keys["picky"], openAIChatRequest("gpt-4o", "probe"))
		return code == http.StatusForbidden
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
	code, _, body := post(a, "chat", keys["picky"], openAIChatRequest("gpt-4o", "not mine"))
	require.Equal(t, http.StatusForbidden, code)
	require.Contains(t, body, `consumer \"picky\" may not use the model \"gpt-4o\"; it may use: gpt-4o-mini*`)
	code, _, body = post(b, "other", keys["chat-only"], openAIChatRequest("gpt-4o", "wrong route"))
	require.Equal(t, http.StatusForbidden, code)
	require.Contains(t, body, `consumer \"chat-only\" may not use the AI route \"other\"`)
	code, _, body = post(b, "chat", keys["chat-only"], openAIChatRequest("gpt-4o", "right route"))
	require.Equal(t, http.StatusOK, code, body)
	require.Len(t, st.Requests(), 1, "the refused calls never reached the provider")

	// A failed call costs nothing.
	before := usage("counted", "month")
	code, _, _ = post(a, "chat", keys["counted"], openAIChatRequest("gpt-4o+status=500", "fails"))
	require.GreaterOrEqual(t, code, 500)
	require.Equal(t, before, usage("counted", "month"), "a failed call is not counted")

	// A stream is counted as the provider reported it, field by field.
	st.Reset()
	sreq := openAIChatRequest("gpt-4o+words=30", "streamed and counted")
	sreq["max_tokens"] = 1000
	sreq["stream_options"] = map[string]any{"include_usage": true}
	r := runAIClient(t, aiScenario{SDK: "openai", Op: "chat", BaseURL: a.GatewayURL + "/ai/chat/v1", APIKey: keys["counted"], Stream: true, Request: sreq})
	requireOK(t, r, "streamed chat")
	sr := findRequest(t, st, "streamed and counted")
	u := sr.Usage
	require.Positive(t, u.OutputTokens)
	micros := price.CostMicros(u.InputTokens, u.CachedTokens, u.OutputTokens)
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
	code, _, body = post(a, "chat", keys["quota-q"], openAIChatRequest("gpt-4o+words=200", "quota"))
	require.Equal(t, http.StatusOK, code, body)
	code, h, body := post(b, "chat", keys["quota-q"], openAIChatRequest("gpt-4o+words=200", "quota"))
	require.Equal(t, http.StatusTooManyRequests, code, body)
	require.Contains(t, body, `"code":"quota_exceeded"`)
	require.Contains(t, body, `consumer \"quota-q\" has used its monthly quota of 100 tokens`)
	require.NotEmpty(t, h.Get("Retry-After"))

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
			code, h, body := post(g, "chat", keys["spender"], req)
			mu.Lock()
			defer mu.Unlock()
			codes[code]++
			if code == http.StatusTooManyRequests {
				require.NotEmpty(t, h.Get("Retry-After"), "a refusal says when to retry")
				require.Contains(t, body, `"code":"budget_exceeded"`)
				require.Contains(t, body, `"type":"insufficient_quota"`)
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
	require.Equal(t, spent, usage("spender", "month")["micros"], "the month's hash holds exactly what was spent")
	require.Zero(t, usage("spender", "month")[pluginapi.UsageReservedMicros], "every reservation was settled")

	// Spend the rest, then both SDKs see the exhausted budget as a
	// rate-limit error in their protocol's shape.
	for i := 0; ; i++ {
		require.Less(t, i, 30, "the budget was never exhausted")
		if code, _, _ := post(a, "chat", keys["spender"], req); code == http.StatusTooManyRequests {
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
