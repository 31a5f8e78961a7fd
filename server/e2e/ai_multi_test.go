package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
	"github.com/gatehouse-dev/gatehouse/tests/llmstandin"
)

// TestAIGatewayTwoInstances runs two instances on one database and one
// Redis: LLM providers and AI routes made on A serve on B, a provider's
// new token given on A is used by B, and B counts the tokens it served.
func TestAIGatewayTwoInstances(t *testing.T) {
	for _, mode := range aiModes {
		t.Run(mode, func(t *testing.T) { testAITwoInstances(t, mode) })
	}
}

func testAITwoInstances(t *testing.T, mode string) {
	a, b, api := startPair(t, testenv.StartRedis(t))

	oldTok, newTok := "sk-old-provider-secret-0101", "sk-new-provider-secret-0102"
	st, stURL := newStandin(t, llmstandin.Options{Keys: []string{oldTok, newTok}})
	claude, claudeURL := newStandin(t, llmstandin.Options{Keys: []string{tokClaude}})
	e := newAIEnv(t, mode, a, api, []aiProviderSpec{
		{Name: "openai", Type: "openai", Endpoint: stURL, Tokens: []string{oldTok}},
		{Name: "claude", Type: "claude", Endpoint: claudeURL, Tokens: []string{tokClaude}},
	}, []aiRouteSpec{
		{Name: "shared", Upstreams: []aiUpstreamSpec{{Provider: "openai", Weight: 100}}, AllowedConsumers: []string{"team-a"}},
		{Name: "claude", Upstreams: []aiUpstreamSpec{{Provider: "claude", Weight: 100}}, AllowedConsumers: []string{"team-a"}},
	})

	chat := func(g *testenv.Gatehouse, text string) aiResult {
		return runAIClient(t, aiScenario{SDK: "openai", Op: "chat", BaseURL: e.openAIBase(g, "shared"), APIKey: teamAKey, Stream: true,
			Request: openAIChatRequest("gpt-4o", text)})
	}
	testenv.WaitFor(t, 10*time.Second, "instance B to serve the AI route made on A", func() bool {
		r := gw(t, b, "GET", "/ai/shared/v1/models", "Authorization", "Bearer "+teamAKey)
		return r.status == http.StatusOK
	})
	rb := chat(b, "served by b")
	requireOK(t, rb, "instance B")
	require.Equal(t, "echo: served by b", rb.Text)
	require.Equal(t, oldTok, findRequest(t, st, "served by b").Credential)
	ra := runAIClient(t, aiScenario{SDK: "anthropic", Op: "messages", BaseURL: e.anthropicBase(b, "claude"), APIKey: teamAKey, Stream: true,
		Request: anthropicRequest("claude-sonnet-4-5", "claude through b")})
	requireOK(t, ra, "anthropic client on instance B")
	require.Equal(t, "echo: claude through b", ra.Text)
	require.Equal(t, tokClaude, findRequest(t, claude, "claude through b").Credential)

	// A new provider token given on A is used by B.
	if mode == aiModeObjects {
		var cur map[string]any
		require.Equal(t, http.StatusOK, api.Do(t, "GET", "/llm-providers/openai", nil, &cur).StatusCode)
		cur["tokens"] = []string{newTok}
		require.Equal(t, http.StatusOK, api.Do(t, "PUT", "/llm-providers/openai", cur, nil).StatusCode)
	} else {
		var cur map[string]any
		require.Equal(t, http.StatusOK, api.Do(t, "GET", "/plugin-instances/ai-shared", nil, &cur).StatusCode)
		p := e.providers["openai"]
		p.Tokens = []string{newTok}
		upd := pluginInstance("ai-shared", "ai-proxy", "ai-shared", e.routes["shared"].pluginConfig(map[string]aiProviderSpec{"openai": p}))
		upd["version"] = cur["version"]
		require.Equal(t, http.StatusOK, api.Do(t, "PUT", "/plugin-instances/ai-shared", upd, nil).StatusCode)
	}
	n := 0
	testenv.WaitFor(t, 10*time.Second, "instance B to use the token changed on A", func() bool {
		n++
		marker := "after the change " + string(rune('a'+n%26)) + string(rune('a'+n/26))
		r := chat(b, marker)
		return r.OK && findRequest(t, st, marker).Credential == newTok
	})

	// B counted what it served; A served nothing.
	bm := metricsText(t, b, api.Token)
	am := metricsText(t, a, api.Token)
	route := map[string]string{"ai_route": "shared"}
	served := 0
	for _, r := range st.Requests() {
		if r.Status == http.StatusOK { // chat, and the model lists that waited for B
			served++
		}
	}
	in, out, _, _, _ := usageTotals(st.Requests())
	require.EqualValues(t, in, metricSum(bm, "route_upstream_model_consumer_metric_input_token", route))
	require.EqualValues(t, out, metricSum(bm, "route_upstream_model_consumer_metric_output_token", route))
	require.EqualValues(t, served, metricSum(bm, "gatehouse_ai_requests_total", map[string]string{"ai_route": "shared", "status": "200"}))
	require.Zero(t, metricSum(am, "route_upstream_model_consumer_metric_input_token", route))
}
