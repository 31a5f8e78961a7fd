package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
	"github.com/gatehouse-dev/gatehouse/tests/llmstandin"
)

// TestAICacheWithRealClients drives an AI route of the real binary with
// ai-cache (and ai-prompt-decorator and model-router) in its chain, a real
// redis-server, the official SDKs and the provider stand-in, whose
// requests are counted: a hit never reaches it and replays as SSE to a
// streaming client whatever form the answer was stored from; a consumer
// the route refuses gets the refusal, never a stored answer, even from a
// cache shared by consumers; Redis stopped bypasses the cache and requests
// are still served.
//
// The instances are route-scoped on a plain route with key-auth and
// ai-proxy (Higress's plugin form); TestAICacheOnAnAIRouteServesOnlyAdmitted
// covers the ai-route scope.
func TestAICacheWithRealClients(t *testing.T) {
	redis := testenv.StartRedis(t)
	st, stURL := newStandin(t, llmstandin.Options{Keys: []string{tokOpenAI}})
	g := testenv.StartGatehouse(t, testenv.Options{Env: append(bootstrapEnv(), "GATEHOUSE_REDIS_ADDR="+redis.Addr)})
	api := g.Login(t, adminUser, adminPass)
	e := newAIEnv(t, aiModePlugin, g, api, []aiProviderSpec{
		{Name: "openai", Type: "openai", Endpoint: stURL, Tokens: []string{tokOpenAI}},
	}, []aiRouteSpec{
		{Name: "cached", Upstreams: []aiUpstreamSpec{{Provider: "openai", Weight: 100}}, AllowedConsumers: []string{"team-a"}},
	})
	// One cache for every consumer (the default is one per consumer), so
	// that team-b, known to key-auth but not admitted by the route, asks a
	// question whose answer is stored.
	create(t, api, "/plugin-instances", pluginInstance("cache", "ai-cache", "ai-cached",
		map[string]any{"cache": map[string]any{"type": "redis", "cacheTTL": 600, "timeout": 300}, "cacheKeyByConsumer": false}))
	create(t, api, "/plugin-instances", pluginInstance("decorate", "ai-prompt-decorator", "ai-cached",
		map[string]any{"prepend": []map[string]string{{"role": "system", "content": "Answer as a librarian."}}}))
	create(t, api, "/plugin-instances", pluginInstance("router", "model-router", "ai-cached",
		map[string]any{"addProviderHeader": "x-higress-llm-provider"}))

	oa := func(key string, stream bool, model, q string) aiScenario {
		return aiScenario{SDK: "openai", Op: "chat", BaseURL: e.openAIBase(g, "cached"), APIKey: key, Stream: stream,
			Request: openAIChatRequest(model, q)}
	}
	an := func(stream bool, model, q string) aiScenario {
		return aiScenario{SDK: "anthropic", Op: "messages", BaseURL: e.anthropicBase(g, "cached"), APIKey: teamAKey, Stream: stream,
			Request: anthropicRequest(model, q)}
	}
	const q = "what does a cache keep?"
	rs := runAIClients(t,
		oa(teamAKey, false, "gpt-4o", q),       // miss: stored from a JSON answer
		oa(teamAKey, true, "gpt-4o", q),        // hit, replayed as OpenAI SSE
		an(true, "gpt-4o", q),                  // hit, replayed as Anthropic SSE
		an(false, "gpt-4o", q),                 // hit, Anthropic JSON
		oa(teamAKey, true, "openai/gpt-4o", q), // model-router: the same model for the cache
		oa(teamBKey, true, "gpt-4o", q),        // stored, but team-b is not admitted: 403
		oa("not-a-key", true, "gpt-4o", q),     // refused before the cache
		oa(teamAKey, true, "gpt-4o-mini", q),   // another model: miss, stored from a stream
		oa(teamAKey, false, "gpt-4o-mini", q),  // hit, JSON from a stored stream
	)
	for i, r := range rs {
		if i == 5 || i == 6 {
			continue
		}
		requireOK(t, r, "request "+string(rune('0'+i)))
		require.Equal(t, "echo: "+q, r.Text, "request %d", i)
	}
	require.Positive(t, rs[1].Chunks, "the hit was streamed to the OpenAI SDK")
	require.Contains(t, rs[2].EventTypes, "message_start", "the hit was streamed to the Anthropic SDK as its events")
	require.Contains(t, rs[2].EventTypes, "message_stop")
	require.Equal(t, "end_turn", rs[3].FinishReason)
	require.False(t, rs[5].OK)
	require.Equal(t, http.StatusForbidden, rs[5].Error.Status, "a stored answer never serves a consumer the route refuses")
	require.False(t, rs[6].OK)
	require.Equal(t, http.StatusUnauthorized, rs[6].Error.Status, "a hit never serves a caller without a key")

	reqs := st.Requests()
	require.Len(t, reqs, 2, "two misses reached the provider; the five hits did not")
	require.Equal(t, "gpt-4o", reqs[0].Model)
	require.Equal(t, "gpt-4o-mini", reqs[1].Model)
	require.Contains(t, string(reqs[0].Body), "Answer as a librarian.", "ai-prompt-decorator runs after the cache, before ai-proxy")

	m := metricsText(t, g, api.Token)
	require.EqualValues(t, 5, metricSum(m, "route_model_consumer_metric_ai_cache_hit", map[string]string{"ai_route": "ai-cached"}))
	require.EqualValues(t, 2, metricSum(m, "route_model_consumer_metric_ai_cache_miss", map[string]string{"ai_route": "ai-cached"}))
	require.Zero(t, metricSum(m, "route_model_consumer_metric_ai_cache_hit", map[string]string{"ai_consumer": "team-b"}), "the refused request is no hit")
	require.Zero(t, metricSum(m, "route_upstream_model_consumer_metric_input_token", map[string]string{"ai_consumer": "team-b"}),
		"a hit records no usage")
	var usage struct {
		Requests float64
		Cache    struct{ Hits, Misses, HitRate float64 }
	}
	require.Equal(t, http.StatusOK, api.Do(t, "GET", "/ai/usage?window=1h", nil, &usage).StatusCode)
	require.EqualValues(t, 5, usage.Cache.Hits)
	require.EqualValues(t, 2, usage.Cache.Misses)
	require.InDelta(t, 5.0/7, usage.Cache.HitRate, 0.001)
	require.EqualValues(t, 3, usage.Requests, "the AI requests of ai-proxy are the two misses and team-b's refusal; hits are not")

	// Redis stopped: the cache is bypassed, answers are still served, the
	// health report and the log say why.
	redis.Stop()
	rs = runAIClients(t, oa(teamAKey, true, "gpt-4o", q), an(false, "gpt-4o", q), oa(teamAKey, false, "gpt-4o", "a new question"))
	for _, r := range rs {
		requireOK(t, r, "served without Redis")
	}
	require.Len(t, st.Requests(), 5, "without Redis every request reaches the provider")
	// The health report probes Redis every few seconds.
	var redisHealth string
	testenv.WaitFor(t, 15*time.Second, "health to report Redis down", func() bool {
		var h struct {
			Components []struct{ Name, Kind, Status, Message string }
		}
		api.Do(t, "GET", "/health", nil, &h)
		for _, c := range h.Components {
			if c.Kind == "redis" {
				redisHealth = c.Status + ": " + c.Message
			}
		}
		return strings.HasPrefix(redisHealth, "down: ")
	})
	require.Contains(t, redisHealth, "refused", "health says why: %q", redisHealth)
	var logs struct{ Items []struct{ Text string } }
	api.Do(t, "GET", "/logs/gateway?lines=2000&q=ai+cache+bypassed", nil, &logs)
	n := 0
	for _, it := range logs.Items {
		if strings.Contains(it.Text, "ai cache bypassed") {
			n++
		}
	}
	require.Equal(t, 1, n, "the outage is logged once")

	// Redis back: the cache answers again by itself.
	redis.Start()
	testenv.WaitFor(t, 15*time.Second, "the cache to store again", func() bool {
		r := gwPost(t, g, "/ai/cached/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"after the outage"}]}`, teamAKey)
		return r.header.Get("X-Gatehouse-Ai-Cache") == "miss" && r.status == http.StatusOK &&
			gwPost(t, g, "/ai/cached/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"after the outage"}]}`, teamAKey).header.Get("X-Gatehouse-Ai-Cache") == "hit"
	})
}

// TestAICacheOnAIRouteServesOnlyAdmitted: ai-cache scoped to AI routes
// (the console's form). A stored answer is served only to a consumer the
// route admits, even from a cache shared by consumers; by default each
// consumer has a cache of its own.
func TestAICacheOnAnAIRouteServesOnlyAdmitted(t *testing.T) {
	redis := testenv.StartRedis(t)
	st, stURL := newStandin(t, llmstandin.Options{Keys: []string{tokOpenAI}})
	g := testenv.StartGatehouse(t, testenv.Options{Env: append(bootstrapEnv(), "GATEHOUSE_REDIS_ADDR="+redis.Addr)})
	api := g.Login(t, adminUser, adminPass)
	newAIEnv(t, aiModeObjects, g, api, []aiProviderSpec{
		{Name: "openai", Type: "openai", Endpoint: stURL, Tokens: []string{tokOpenAI}},
	}, []aiRouteSpec{
		{Name: "guarded", Upstreams: []aiUpstreamSpec{{Provider: "openai", Weight: 100}}, AllowedConsumers: []string{"team-a"}},
		{Name: "private", Upstreams: []aiUpstreamSpec{{Provider: "openai", Weight: 100}}, AllowedConsumers: []string{"team-a", "team-b"}},
	})
	cache := func(name, route string, cfg map[string]any) {
		cfg["cache"] = map[string]any{"type": "redis", "cacheTTL": 600}
		create(t, api, "/plugin-instances", map[string]any{"name": name, "plugin": "ai-cache",
			"scope": map[string]string{"type": "ai-route", "value": route}, "config": cfg})
	}
	cache("shared-cache", "guarded", map[string]any{"cacheKeyByConsumer": false})
	cache("own-cache", "private", map[string]any{})
	ask := func(route, key string) gwResponse {
		return gwPost(t, g, "/ai/"+route+"/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"who may read this?"}]}`, key)
	}
	const cacheHeader = "X-Gatehouse-Ai-Cache"

	// The plugin instances apply with the next configuration: wait for it.
	testenv.WaitFor(t, 15*time.Second, "the cache on the AI route", func() bool {
		return ask("guarded", teamAKey).header.Get(cacheHeader) != ""
	})
	require.Equal(t, "hit", ask("guarded", teamAKey).header.Get(cacheHeader))
	calls := len(st.Requests())
	r := ask("guarded", teamBKey)
	require.Equal(t, http.StatusForbidden, r.status, r.body)
	require.Contains(t, r.body, "team-b", "the refusal names the consumer")
	require.NotContains(t, r.body, "echo:", "the stored answer is not served to a consumer the route refuses")
	require.Empty(t, r.header.Get(cacheHeader))
	require.Len(t, st.Requests(), calls, "a refusal reaches no provider")

	// One cache per consumer by default.
	require.Equal(t, "miss", ask("private", teamAKey).header.Get(cacheHeader))
	require.Equal(t, "hit", ask("private", teamAKey).header.Get(cacheHeader))
	r = ask("private", teamBKey)
	require.Equal(t, http.StatusOK, r.status, r.body)
	require.Equal(t, "miss", r.header.Get(cacheHeader), "team-b does not get team-a's answer")
	require.Equal(t, "hit", ask("private", teamBKey).header.Get(cacheHeader))
	require.Len(t, st.Requests(), calls+2, "each consumer's first question reached the provider")
}

// gwPost posts a JSON body to the gateway with a consumer key.
func gwPost(t *testing.T, g *testenv.Gatehouse, path, body, key string) gwResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.GatewayURL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return gwResponse{status: resp.StatusCode, header: resp.Header, body: string(b)}
}
