package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
	"github.com/gatehouse-dev/gatehouse/tests/llmstandin"
)

// TestAIRatelimitSharedByTwoInstances: an ai-route-scoped
// ai-token-ratelimit on two instances sharing one Redis. Concurrent
// requests through both never spend more than the limit plus one request's
// estimate, a streamed answer is settled to its real usage, and the
// official OpenAI and Anthropic SDKs see the refusal as a rate-limit error.
// The limits are per day (windows aligned on UTC days), not per hour, so
// that a run across a window's end does not start a new window halfway;
// near the end of a UTC day the test is skipped.
func TestAIRatelimitSharedByTwoInstances(t *testing.T) {
	skipNearPeriodEnd(t, pluginapi.PeriodDay)
	redis := testenv.StartRedis(t)
	a, b, api := startPair(t, redis)
	rdb := redisClient(t, redis)

	st, stURL := newStandin(t, llmstandin.Options{Keys: []string{tokOpenAI}})
	e := newAIEnv(t, aiModeObjects, a, api, []aiProviderSpec{{Name: "openai", Type: "openai", Endpoint: stURL, Tokens: []string{tokOpenAI}}},
		[]aiRouteSpec{{Name: "chat", Upstreams: []aiUpstreamSpec{{Provider: "openai", Weight: 100}}, AllowedConsumers: []string{"team-a", "team-b"}}})

	const limit = 3000
	create(t, api, "/plugin-instances", map[string]any{"name": "chat-tokens", "plugin": "ai-token-ratelimit",
		"scope": map[string]string{"type": "ai-route", "value": "chat"},
		"config": map[string]any{"rule_name": "e2e", "rule_items": []any{
			map[string]any{"limit_by_header": "x-probe", "limit_keys": []any{map[string]any{"key": "on", "token_per_day": 1}}},
			map[string]any{"limit_by_per_consumer": "", "limit_keys": []any{map[string]any{"key": "*", "token_per_day": limit}}},
		}}})
	// A ai-route scope naming no AI route is refused.
	var ae apiErr
	resp := api.Do(t, "POST", "/plugin-instances", map[string]any{"name": "nowhere", "plugin": "ai-token-ratelimit",
		"scope": map[string]string{"type": "ai-route", "value": "nope"}, "config": map[string]any{}}, &ae)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, fmt.Sprintf("%+v", ae.Error), `AI route "nope" does not exist`)

	// The probe counter (1 token a day) is full after one request on A;
	// B refuses the probe once it runs the instance too.
	probe := openAIChatRequest("gpt-4o", "probe")
	require.Equal(t, http.StatusOK, aiChat(t, a, "chat", teamBKey, probe, "X-Probe", "on").status)
	testenv.WaitFor(t, 15*time.Second, "instance B to run the token limit made on A", func() bool {
		return aiChat(t, b, "chat", teamBKey, probe, "X-Probe", "on").status == http.StatusTooManyRequests
	})

	counter := func(consumer string) int64 {
		keys, err := rdb.Keys(context.Background(), "gatehouse:ai-token-ratelimit:e2e:per_consumer:*:"+consumer+":*").Result()
		require.NoError(t, err)
		var sum int64
		for _, k := range keys {
			n, err := rdb.Get(context.Background(), k).Int64()
			require.NoError(t, err)
			sum += n
		}
		return sum
	}

	// Concurrent requests of team-a through both instances. Each answer
	// is 200 words, about its whole estimate (the worst case).
	st.Reset()
	req := openAIChatRequest("gpt-4o+words=200", "shared limit")
	req["max_tokens"] = 200
	bs, _ := json.Marshal(req)
	estimate := int64(len(bs)+3)/4 + 200
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func(g *testenv.Gatehouse) {
			defer wg.Done()
			r := aiChat(t, g, "chat", teamAKey, req)
			mu.Lock()
			defer mu.Unlock()
			codes[r.status]++
			if r.status == http.StatusTooManyRequests {
				require.NotEmpty(t, r.header.Get("Retry-After"), "a refusal says when to retry")
				require.Contains(t, r.body, `"code":"rate_limit_exceeded"`)
			}
		}([]*testenv.Gatehouse{a, b}[i%2])
	}
	wg.Wait()
	var spent int64
	served := 0
	for _, r := range st.Requests() {
		if r.Status == http.StatusOK {
			served++
			spent += r.Usage.InputTokens + r.Usage.OutputTokens
		}
	}
	t.Logf("limit %d, estimate %d: %d served (%d tokens), codes %v", limit, estimate, served, spent, codes)
	require.Equal(t, served, codes[http.StatusOK])
	require.Equal(t, 24, codes[http.StatusOK]+codes[http.StatusTooManyRequests], "codes %v", codes)
	require.Positive(t, codes[http.StatusTooManyRequests], "the limit refused some")
	require.LessOrEqual(t, spent, limit+estimate, "the shared limit holds within one request's estimate")
	require.GreaterOrEqual(t, int64(served), limit/estimate, "requests that fit are served")
	testenv.WaitFor(t, 5*time.Second, "the counter to be settled to the real usage", func() bool { return counter("team-a") == spent })

	// A streamed answer of team-b is settled to its real usage, not to
	// its estimate (max_tokens 1000).
	st.Reset()
	sreq := openAIChatRequest("gpt-4o+words=30", "streamed and settled")
	sreq["max_tokens"] = 1000
	sreq["stream_options"] = map[string]any{"include_usage": true}
	r := runAIClient(t, aiScenario{SDK: "openai", Op: "chat", BaseURL: e.openAIBase(b, "chat"), APIKey: teamBKey, Stream: true, Request: sreq})
	requireOK(t, r, "streamed chat")
	u := findRequest(t, st, "streamed and settled").Usage
	require.Positive(t, u.OutputTokens)
	testenv.WaitFor(t, 5*time.Second, "the stream to be settled to its real usage", func() bool {
		return counter("team-b") == u.InputTokens+u.OutputTokens
	})

	// Settled answers were smaller than their estimates: team-a spends the
	// rest until it is out of tokens.
	for i := 0; ; i++ {
		require.Less(t, i, 10, "team-a never ran out of tokens")
		if aiChat(t, a, "chat", teamAKey, req).status == http.StatusTooManyRequests {
			break
		}
	}
	require.LessOrEqual(t, counter("team-a"), int64(limit))
	// team-a is out of tokens: both SDKs see a rate-limit error in their
	// protocol's shape, and the stand-in sees nothing.
	st.Reset()
	rs := runAIClients(t,
		aiScenario{SDK: "openai", Op: "chat", BaseURL: e.openAIBase(a, "chat"), APIKey: teamAKey, Request: req},
		aiScenario{SDK: "anthropic", Op: "messages", BaseURL: e.anthropicBase(b, "chat"), APIKey: teamAKey, Request: anthropicRequest("gpt-4o", "over the limit")})
	for i, r := range rs {
		require.False(t, r.OK, r.Output)
		require.Equal(t, http.StatusTooManyRequests, r.Error.Status, r.Output)
		require.Equal(t, "RateLimitError", r.Error.Name, r.Output)
		if i == 0 {
			require.Equal(t, "rate_limit_error", r.Error.Type, r.Output)
			require.Contains(t, string(r.Error.Body), `"code":"rate_limit_exceeded"`, r.Output)
		} else {
			// Anthropic's shape: {"type":"error","error":{"type":"rate_limit_error",…}}.
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
	}
	require.Empty(t, st.Requests(), "refused before the call")
}
