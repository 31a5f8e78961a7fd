package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
	"github.com/gatehouse-dev/gatehouse/tests/llmstandin"
)

// Provider tokens: distinctive, so that a leak anywhere is found by
// searching for them. bad-/limited- tokens are refused by the stand-in
// (401/429).
const (
	tokOpenAI  = "sk-openai-provider-secret-0001"
	tokClaude  = "sk-ant-claude-provider-secret-0002"
	tokBroken  = "sk-broken-provider-secret-0003"
	tokBad     = "bad-rotate-provider-secret-0004"
	tokLimited = "limited-rotate-provider-secret-0005"
	tokRotate  = "sk-rotate-provider-secret-0006"
	tokAcct    = "sk-acct-provider-secret-0007"
)

var providerTokens = []string{tokOpenAI, tokClaude, tokBroken, tokBad, tokLimited, tokRotate, tokAcct, "sk-down-provider-secret-0008"}

// TestAIGatewayWithRealClients drives AI routes of the real binary with
// the official openai and @anthropic-ai/sdk clients, against provider
// stand-ins, with the routes made through the admin API's objects and,
// separately, as Higress ai-proxy plugin instances.
func TestAIGatewayWithRealClients(t *testing.T) {
	for _, mode := range aiModes {
		t.Run(mode, func(t *testing.T) { testAIGateway(t, mode) })
	}
}

// aiStandins are the providers of testAIGateway.
type aiStandins struct {
	openai, claude, broken, rotate, acct *llmstandin.Server
}

func testAIGateway(t *testing.T, mode string) {
	var s aiStandins
	var openaiURL, claudeURL, brokenURL, rotateURL, acctURL string
	s.openai, openaiURL = newStandin(t, llmstandin.Options{Keys: []string{tokOpenAI}})
	s.claude, claudeURL = newStandin(t, llmstandin.Options{Keys: []string{tokClaude}})
	s.broken, brokenURL = newStandin(t, llmstandin.Options{Keys: []string{tokBroken}, Fail: "status=503"})
	// The limited token's cooldown (its Retry-After) outlasts the test on
	// a loaded machine, so that it is tried exactly once.
	s.rotate, rotateURL = newStandin(t, llmstandin.Options{Keys: []string{tokBad, tokLimited, tokRotate}, LimitedRetryAfter: 5 * time.Minute})
	s.acct, acctURL = newStandin(t, llmstandin.Options{Keys: []string{tokAcct}})

	g := testenv.StartGatehouse(t, testenv.Options{Env: bootstrapEnv()})
	api := g.Login(t, adminUser, adminPass)
	both := []string{"team-a", "team-b"}
	e := newAIEnv(t, mode, g, api, []aiProviderSpec{
		{Name: "openai", Type: "openai", Endpoint: openaiURL, Tokens: []string{tokOpenAI}},
		{Name: "claude", Type: "claude", Endpoint: claudeURL, Tokens: []string{tokClaude}},
		{Name: "broken", Type: "openai", Endpoint: brokenURL, Tokens: []string{tokBroken}},
		{Name: "rotate", Type: "openai", Endpoint: rotateURL, Tokens: []string{tokBad, tokLimited, tokRotate}},
		{Name: "acct", Type: "openai", Endpoint: acctURL, Tokens: []string{tokAcct}},
		{Name: "down", Type: "openai", Endpoint: fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t)), Tokens: []string{"sk-down-provider-secret-0008"}},
	}, []aiRouteSpec{
		{Name: "chat", Upstreams: []aiUpstreamSpec{{Provider: "openai", Weight: 100, ModelMapping: map[string]string{"gpt-4o": "gpt-4o-mini"}}}, AllowedConsumers: both},
		{Name: "claude", Upstreams: []aiUpstreamSpec{{Provider: "claude", Weight: 100, ModelMapping: map[string]string{"gpt-4o": "claude-sonnet-4-5"}}}, AllowedConsumers: []string{"team-a"}},
		{Name: "fallback", Upstreams: []aiUpstreamSpec{{Provider: "broken", Weight: 100}}, Fallback: []aiUpstreamSpec{{Provider: "openai"}}, FallbackOn: []string{"5xx"}, AllowedConsumers: both},
		{Name: "rotate", Upstreams: []aiUpstreamSpec{{Provider: "rotate", Weight: 100}}, AllowedConsumers: both},
		{Name: "acct", Upstreams: []aiUpstreamSpec{{Provider: "acct", Weight: 100}}, AllowedConsumers: both},
		{Name: "down", Upstreams: []aiUpstreamSpec{{Provider: "down", Weight: 100}}, AllowedConsumers: both},
	})
	// Everything a client printed, searched for provider tokens at the end.
	var clientOutput strings.Builder
	run := func(t *testing.T, scs ...aiScenario) []aiResult {
		t.Helper()
		rs := runAIClients(t, scs...)
		for _, r := range rs {
			clientOutput.WriteString(r.Output)
		}
		return rs
	}

	t.Run("chat, tools and translation", func(t *testing.T) { testAIChat(t, e, s, run) })
	t.Run("consumers", func(t *testing.T) { testAIConsumers(t, e, run) })
	t.Run("fallback", func(t *testing.T) { testAIFallback(t, e, s, run) })
	t.Run("key rotation", func(t *testing.T) { testAIKeyRotation(t, e, s, run) })
	t.Run("token accounting", func(t *testing.T) { testAIAccounting(t, e, s, run) })
	t.Run("disconnect cancels upstream", func(t *testing.T) { testAIDisconnect(t, e, s, run) })
	t.Run("provider faults", func(t *testing.T) { testAIFaults(t, e, run) })
	t.Run("refused config changes nothing", func(t *testing.T) { testAIRefusedConfig(t, e, run) })

	t.Run("provider tokens never shown", func(t *testing.T) {
		requireNoSecret(t, "what the clients received", clientOutput.String(), providerTokens)
		requireNoSecret(t, "gatehouse's stdout", g.Stdout.String(), providerTokens)
		requireNoSecret(t, "gatehouse's stderr", g.Stderr.String(), providerTokens)
		logFile, err := os.ReadFile(g.LogFile)
		require.NoError(t, err)
		require.Contains(t, string(logFile), `msg="ai request"`, "the access lines are in gateway.log")
		requireNoSecret(t, "gateway.log", string(logFile), providerTokens)
		paths := []string{"/plugin-instances", "/routes", "/revisions"}
		if mode == aiModeObjects {
			paths = append(paths, "/llm-providers", "/ai-routes", "/llm-providers/rotate", "/ai-routes/chat")
		}
		for _, p := range paths {
			resp := api.Do(t, "GET", p, nil, nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s", p)
			var body strings.Builder
			_, _ = fmt.Fprint(&body, readAll(t, resp))
			requireNoSecret(t, "GET "+p, body.String(), providerTokens)
		}
		if mode == aiModeObjects {
			var p struct{ Tokens []string }
			api.Do(t, "GET", "/llm-providers/rotate", nil, &p)
			require.Equal(t, []string{"********", "********", "********"}, p.Tokens, "one mask per token, so the count shows")
		}
		// Every stand-in saw its own token only, never a consumer key.
		for name, st := range map[string]*llmstandin.Server{"openai": s.openai, "claude": s.claude, "rotate": s.rotate, "acct": s.acct} {
			for _, r := range st.Requests() {
				h, _ := json.Marshal(r.Header)
				for _, k := range []string{teamAKey, teamBKey} {
					require.NotContains(t, string(h)+string(r.Body)+r.Query, k, "provider %s received a consumer key", name)
				}
			}
		}
	})
}

type runFunc func(t *testing.T, scs ...aiScenario) []aiResult

// findRequest returns the stand-in request whose body contains marker.
func findRequest(t *testing.T, s *llmstandin.Server, marker string) llmstandin.Request {
	t.Helper()
	var found []llmstandin.Request
	for _, r := range s.Requests() {
		if strings.Contains(string(r.Body), marker) {
			found = append(found, r)
		}
	}
	require.Len(t, found, 1, "the provider received the request %q once", marker)
	return found[0]
}

func testAIChat(t *testing.T, e *aiEnv, s aiStandins, run runFunc) {
	g := e.g
	oa := func(route string, stream bool, req map[string]any) aiScenario {
		return aiScenario{SDK: "openai", Op: "chat", BaseURL: e.openAIBase(g, route), APIKey: teamAKey, Stream: stream, Request: req}
	}
	an := func(route string, stream bool, req map[string]any) aiScenario {
		return aiScenario{SDK: "anthropic", Op: "messages", BaseURL: e.anthropicBase(g, route), APIKey: teamAKey, Stream: stream, Request: req}
	}
	includeUsage := func(req map[string]any) map[string]any {
		req["stream_options"] = map[string]any{"include_usage": true}
		return req
	}
	type check struct {
		name     string
		sc       aiScenario
		provider *llmstandin.Server
		path     string // the provider path the request must reach
		model    string // the model the provider must see
		tool     bool
		finish   string
		usage    bool // the client must see usage (all but OpenAI streams without include_usage)
	}
	text := func(i int) string { return fmt.Sprintf("case %d hello", i) }
	var checks []check
	add := func(name string, mk func(string) aiScenario, provider *llmstandin.Server, path, model string, tool bool, finish string, usage bool) {
		i := len(checks)
		checks = append(checks, check{name, mk(text(i)), provider, path, model, tool, finish, usage})
	}
	chatPath, msgPath := "/v1/chat/completions", "/v1/messages"
	// OpenAI client, OpenAI provider.
	add("openai", func(x string) aiScenario { return oa("chat", false, openAIChatRequest("gpt-4o", x)) }, s.openai, chatPath, "gpt-4o-mini", false, "stop", true)
	add("openai streamed with usage", func(x string) aiScenario { return oa("chat", true, includeUsage(openAIChatRequest("gpt-4o", x))) }, s.openai, chatPath, "gpt-4o-mini", false, "stop", true)
	add("openai streamed without usage", func(x string) aiScenario { return oa("chat", true, openAIChatRequest("gpt-4o", x)) }, s.openai, chatPath, "gpt-4o-mini", false, "stop", false)
	add("openai tools", func(x string) aiScenario { return oa("chat", false, withOpenAITools(openAIChatRequest("gpt-4o", x))) }, s.openai, chatPath, "gpt-4o-mini", true, "tool_calls", true)
	add("openai tools streamed", func(x string) aiScenario {
		return oa("chat", true, includeUsage(withOpenAITools(openAIChatRequest("gpt-4o", x))))
	}, s.openai, chatPath, "gpt-4o-mini", true, "tool_calls", true)
	// Anthropic client, OpenAI-only provider.
	add("anthropic to openai", func(x string) aiScenario { return an("chat", false, anthropicRequest("gpt-4o", x)) }, s.openai, chatPath, "gpt-4o-mini", false, "end_turn", true)
	add("anthropic to openai streamed", func(x string) aiScenario { return an("chat", true, anthropicRequest("gpt-4o", x)) }, s.openai, chatPath, "gpt-4o-mini", false, "end_turn", true)
	add("anthropic to openai, tools streamed", func(x string) aiScenario { return an("chat", true, withAnthropicTools(anthropicRequest("gpt-4o", x))) }, s.openai, chatPath, "gpt-4o-mini", true, "tool_use", true)
	add("anthropic to openai, tools", func(x string) aiScenario { return an("chat", false, withAnthropicTools(anthropicRequest("gpt-4o", x))) }, s.openai, chatPath, "gpt-4o-mini", true, "tool_use", true)
	// Anthropic client, Claude provider.
	add("anthropic", func(x string) aiScenario { return an("claude", false, anthropicRequest("claude-sonnet-4-5", x)) }, s.claude, msgPath, "claude-sonnet-4-5", false, "end_turn", true)
	add("anthropic streamed, tools", func(x string) aiScenario {
		return an("claude", true, withAnthropicTools(anthropicRequest("claude-sonnet-4-5", x)))
	}, s.claude, msgPath, "claude-sonnet-4-5", true, "tool_use", true)
	// OpenAI client, Claude provider.
	add("openai to claude", func(x string) aiScenario { return oa("claude", false, openAIChatRequest("gpt-4o", x)) }, s.claude, msgPath, "claude-sonnet-4-5", false, "stop", true)
	add("openai to claude streamed", func(x string) aiScenario { return oa("claude", true, includeUsage(openAIChatRequest("gpt-4o", x))) }, s.claude, msgPath, "claude-sonnet-4-5", false, "stop", true)
	add("openai to claude, tools streamed", func(x string) aiScenario {
		return oa("claude", true, includeUsage(withOpenAITools(openAIChatRequest("gpt-4o", x))))
	}, s.claude, msgPath, "claude-sonnet-4-5", true, "tool_calls", true)
	add("openai to claude, tools", func(x string) aiScenario { return oa("claude", false, withOpenAITools(openAIChatRequest("gpt-4o", x))) }, s.claude, msgPath, "claude-sonnet-4-5", true, "tool_calls", true)

	scs := make([]aiScenario, len(checks))
	for i, c := range checks {
		scs[i] = c.sc
	}
	// A tool result goes back in each protocol, and embeddings and models
	// are served too.
	scs = append(scs,
		oa("claude", false, map[string]any{"model": "gpt-4o", "tools": []any{map[string]any{"type": "function", "function": map[string]any{"name": "get_weather", "parameters": weatherTool}}},
			"messages": []any{
				map[string]any{"role": "user", "content": "Lima"},
				map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{"id": "call_1", "type": "function", "function": map[string]any{"name": "get_weather", "arguments": `{"city":"Lima"}`}}}},
				map[string]any{"role": "tool", "tool_call_id": "call_1", "content": "sunny 21C"},
			}}),
		an("chat", false, map[string]any{"model": "gpt-4o", "max_tokens": 100, "tools": []any{map[string]any{"name": "get_weather", "input_schema": weatherTool}},
			"messages": []any{
				map[string]any{"role": "user", "content": "Lima"},
				map[string]any{"role": "assistant", "content": []any{map[string]any{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": map[string]any{"city": "Lima"}}}},
				map[string]any{"role": "user", "content": []any{map[string]any{"type": "tool_result", "tool_use_id": "toolu_1", "content": "rainy 12C"}}},
			}}),
		aiScenario{SDK: "openai", Op: "embeddings", BaseURL: e.openAIBase(g, "chat"), APIKey: teamAKey,
			Request: map[string]any{"model": "text-embedding-3-small", "input": []string{"embed me", "and me"}}},
		aiScenario{SDK: "openai", Op: "models", BaseURL: e.openAIBase(g, "chat"), APIKey: teamAKey},
		aiScenario{SDK: "anthropic", Op: "models", BaseURL: e.anthropicBase(g, "claude"), APIKey: teamAKey},
	)
	rs := run(t, scs...)
	for i, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			r := rs[i]
			requireOK(t, r, c.name)
			require.Equal(t, c.finish, r.FinishReason, "finish reason in the client's protocol")
			got := findRequest(t, c.provider, text(i))
			require.Equal(t, c.path, got.Path, "the provider is called on its own API")
			require.Equal(t, c.model, got.Model, "the route's model mapping applies")
			require.Equal(t, c.sc.Stream, got.Stream)
			if c.provider == s.claude {
				require.Equal(t, "x-api-key", got.CredentialHeader)
				require.Equal(t, tokClaude, got.Credential)
				require.NotEmpty(t, got.Header.Get("anthropic-version"))
			} else {
				require.Equal(t, "Authorization", got.CredentialHeader)
				require.Equal(t, tokOpenAI, got.Credential)
				if c.sc.Stream {
					require.Contains(t, string(got.Body), `"include_usage":true`, "the gateway asks an OpenAI provider for stream usage")
				}
			}
			if c.tool {
				require.Len(t, r.ToolCalls, 1, r.Output)
				require.Equal(t, "get_weather", r.ToolCalls[0].Name)
				require.Equal(t, map[string]any{"city": text(i), "days": float64(42)}, r.ToolCalls[0].Arguments)
				require.NotEmpty(t, r.ToolCalls[0].ID)
				require.Empty(t, r.Text)
			} else {
				require.Equal(t, "echo: "+text(i), r.Text)
			}
			if !c.usage {
				require.Nil(t, r.Usage, "the client did not ask for stream usage, so the extra usage chunk is removed")
				return
			}
			if c.sc.SDK == "openai" {
				require.Equal(t, got.Usage.InputTokens, r.usageInt("prompt_tokens"), "client usage = provider usage\n%s", r.Output)
				require.Equal(t, got.Usage.OutputTokens, r.usageInt("completion_tokens"), r.Output)
			} else {
				require.Equal(t, got.Usage.InputTokens, r.usageInt("input_tokens"), "client usage = provider usage\n%s", r.Output)
				require.Equal(t, got.Usage.OutputTokens, r.usageInt("output_tokens"), r.Output)
			}
		})
	}
	n := len(checks)
	t.Run("tool results", func(t *testing.T) {
		requireOK(t, rs[n], "openai tool result to claude")
		require.Equal(t, "echo: tool result: sunny 21C", rs[n].Text)
		require.Equal(t, "stop", rs[n].FinishReason)
		requireOK(t, rs[n+1], "anthropic tool result to openai")
		require.Equal(t, "echo: tool result: rainy 12C", rs[n+1].Text)
		require.Equal(t, "end_turn", rs[n+1].FinishReason)
	})
	t.Run("embeddings and models", func(t *testing.T) {
		requireOK(t, rs[n+2], "embeddings")
		require.Equal(t, 2, rs[n+2].Embeddings.Count)
		require.Equal(t, 8, rs[n+2].Embeddings.Dims)
		require.EqualValues(t, 4, rs[n+2].usageInt("prompt_tokens"))
		requireOK(t, rs[n+3], "openai models")
		require.Contains(t, rs[n+3].Models, "gpt-4o", "the chat route offers the model it maps")
		requireOK(t, rs[n+4], "anthropic models")
		require.Contains(t, rs[n+4].Models, "gpt-4o", "the claude route offers the model it maps")
	})
}

func testAIConsumers(t *testing.T, e *aiEnv, run runFunc) {
	rs := run(t,
		aiScenario{SDK: "openai", Op: "chat", BaseURL: e.openAIBase(e.g, "chat"), APIKey: "no-such-consumer-key-0000", Request: openAIChatRequest("gpt-4o", "hi")},
		aiScenario{SDK: "anthropic", Op: "messages", BaseURL: e.anthropicBase(e.g, "claude"), APIKey: teamBKey, Request: anthropicRequest("claude-sonnet-4-5", "hi")},
		aiScenario{SDK: "openai", Op: "chat", BaseURL: e.openAIBase(e.g, "chat"), APIKey: teamBKey, Request: openAIChatRequest("gpt-4o", "team b here")},
	)
	require.False(t, rs[0].OK)
	require.Equal(t, http.StatusUnauthorized, rs[0].Error.Status, "an unknown key is refused: %s", rs[0].Output)
	require.False(t, rs[1].OK)
	require.Equal(t, http.StatusForbidden, rs[1].Error.Status, "team-b may not use the claude route: %s", rs[1].Output)
	require.Equal(t, "PermissionDeniedError", rs[1].Error.Name, "the refusal is in Anthropic's error shape")
	requireOK(t, rs[2], "team-b on the chat route")
	require.Equal(t, "echo: team b here", rs[2].Text)
}

func testAIFallback(t *testing.T, e *aiEnv, s aiStandins, run runFunc) {
	before := metricsText(t, e.g, e.api.Token)
	rs := run(t,
		aiScenario{SDK: "openai", Op: "chat", BaseURL: e.openAIBase(e.g, "fallback"), APIKey: teamAKey, Request: openAIChatRequest("gpt-4o", "fallback one")},
		aiScenario{SDK: "anthropic", Op: "messages", BaseURL: e.anthropicBase(e.g, "fallback"), APIKey: teamAKey, Stream: true, Request: anthropicRequest("gpt-4o", "fallback two")},
	)
	requireOK(t, rs[0], "openai through a fallback")
	require.Equal(t, "echo: fallback one", rs[0].Text)
	requireOK(t, rs[1], "anthropic streamed through a fallback")
	require.Equal(t, "echo: fallback two", rs[1].Text)
	for _, marker := range []string{"fallback one", "fallback two"} {
		require.Equal(t, http.StatusServiceUnavailable, findRequest(t, s.broken, marker).Status, "the failing provider was tried first")
		require.Equal(t, http.StatusOK, findRequest(t, s.openai, marker).Status, "the fallback provider answered")
	}
	labels := map[string]string{"ai_route": "fallback", "from": "broken", "to": "openai"}
	testenv.WaitFor(t, 5*time.Second, "two fallbacks counted", func() bool {
		after := metricsText(t, e.g, e.api.Token)
		return metricSum(after, "gatehouse_ai_fallbacks_total", labels)-metricSum(before, "gatehouse_ai_fallbacks_total", labels) == 2
	})
	var lines []map[string]string
	testenv.WaitFor(t, 5*time.Second, "the access lines of the fallback route", func() bool {
		lines = aiLogLines(t, e.api, "ai_route=fallback")
		return len(lines) >= 2
	})
	for _, l := range lines {
		require.Equal(t, "2", l["attempts"], "both attempts are counted: %v", l)
		require.Equal(t, "openai", l["provider"])
		require.Equal(t, "200", l["status"])
	}
}

func testAIKeyRotation(t *testing.T, e *aiEnv, s aiStandins, run runFunc) {
	var scs []aiScenario
	for i := 0; i < 6; i++ {
		scs = append(scs, aiScenario{SDK: "openai", Op: "chat", BaseURL: e.openAIBase(e.g, "rotate"), APIKey: teamAKey,
			Stream: i%2 == 1, Request: openAIChatRequest("gpt-4o", fmt.Sprintf("rotate %d", i))})
	}
	for i, r := range run(t, scs...) {
		requireOK(t, r, "request "+strconv.Itoa(i)+" on a provider with a revoked and a rate-limited token")
		require.Equal(t, fmt.Sprintf("echo: rotate %d", i), r.Text)
	}
	by := map[string]int{}
	for _, r := range s.rotate.Requests() {
		by[fmt.Sprintf("%s %d", r.Credential, r.Status)]++
	}
	require.Equal(t, map[string]int{
		tokBad + " 401":     1,
		tokLimited + " 429": 1,
		tokRotate + " 200":  6,
	}, by, "each refused token is tried once, then cooled down; the good one serves every request")
}

func testAIAccounting(t *testing.T, e *aiEnv, s aiStandins, run runFunc) {
	oa := func(key string, stream bool, req map[string]any) aiScenario {
		return aiScenario{SDK: "openai", Op: "chat", BaseURL: e.openAIBase(e.g, "acct"), APIKey: key, Stream: stream, Request: req}
	}
	an := func(key string, stream bool, req map[string]any) aiScenario {
		return aiScenario{SDK: "anthropic", Op: "messages", BaseURL: e.anthropicBase(e.g, "acct"), APIKey: key, Stream: stream, Request: req}
	}
	withUsage := func(req map[string]any) map[string]any {
		req["stream_options"] = map[string]any{"include_usage": true}
		return req
	}
	before := metricsText(t, e.g, e.api.Token)
	rs := run(t,
		oa(teamAKey, false, openAIChatRequest("gpt-4o", "count these four words")),
		oa(teamAKey, true, withUsage(openAIChatRequest("gpt-4o", "a streamed answer with usage asked"))),
		oa(teamAKey, true, openAIChatRequest("gpt-4o+words=40", "a streamed answer without usage asked")),
		oa(teamBKey, true, withUsage(openAIChatRequest("gpt-4o+cached=2+reasoning=3", "teamb cached and reasoning tokens"))),
		an(teamAKey, false, anthropicRequest("gpt-4o", "anthropic client counted too")),
		an(teamBKey, true, anthropicRequest("gpt-4o+words=25", "teamb anthropic streamed")),
		oa(teamBKey, true, withOpenAITools(withUsage(openAIChatRequest("gpt-4o", "teamb tool call streamed")))),
	)
	for i, r := range rs {
		requireOK(t, r, "accounting request "+strconv.Itoa(i))
	}
	reqs := s.acct.Requests()
	in, out, cached, reasoning, n := usageTotals(reqs)
	require.Equal(t, len(rs), n, "every request reached the provider once")
	require.EqualValues(t, 2, cached)
	require.EqualValues(t, 3, reasoning)
	var teamB []llmstandin.Request
	for _, r := range reqs {
		if strings.Contains(string(r.Body), "teamb") {
			teamB = append(teamB, r)
		}
	}
	bIn, bOut, _, _, _ := usageTotals(teamB)

	delta := func(after, name string, labels map[string]string) int64 {
		return int64(metricSum(after, name, labels) - metricSum(before, name, labels))
	}
	route := map[string]string{"ai_route": "acct"}
	var after string
	testenv.WaitFor(t, 5*time.Second, "the metrics to count every request", func() bool {
		after = metricsText(t, e.g, e.api.Token)
		return delta(after, "gatehouse_ai_requests_total", route) == int64(n)
	})
	require.Equal(t, fmtUsage(in, out), fmtUsage(delta(after, "route_upstream_model_consumer_metric_input_token", route),
		delta(after, "route_upstream_model_consumer_metric_output_token", route)), "metric tokens = provider usage, streams included")
	require.EqualValues(t, cached, delta(after, "route_upstream_model_consumer_metric_cached_token", route))
	require.EqualValues(t, reasoning, delta(after, "route_upstream_model_consumer_metric_reasoning_token", route))
	teamBLabels := map[string]string{"ai_route": "acct", "ai_consumer": "team-b", "ai_cluster": "acct"}
	require.Equal(t, fmtUsage(bIn, bOut), fmtUsage(delta(after, "route_upstream_model_consumer_metric_input_token", teamBLabels),
		delta(after, "route_upstream_model_consumer_metric_output_token", teamBLabels)), "per consumer too")
	require.EqualValues(t, n, delta(after, "route_upstream_model_consumer_metric_llm_first_token_duration_count", route))

	var lines []map[string]string
	testenv.WaitFor(t, 5*time.Second, "one access line per request", func() bool {
		lines = aiLogLines(t, e.api, "ai_route=acct")
		return len(lines) >= n
	})
	require.Len(t, lines, n)
	var lin, lout, lcached, lreasoning int64
	streams := 0
	for _, l := range lines {
		for k, sum := range map[string]*int64{"gen_ai.usage.input_tokens": &lin, "gen_ai.usage.output_tokens": &lout,
			"gen_ai.usage.cached_tokens": &lcached, "gen_ai.usage.reasoning_tokens": &lreasoning} {
			v, err := strconv.ParseInt(l[k], 10, 64)
			require.NoError(t, err, "%s in %v", k, l)
			*sum += v
		}
		if l["stream"] == "true" {
			streams++
		}
		require.Equal(t, "acct", l["provider"])
		require.Equal(t, "openai", l["gen_ai.provider.name"])
		require.Contains(t, []string{"team-a", "team-b"}, l["consumer"])
		require.NotEmpty(t, l["gen_ai.request.model"])
		require.NotEmpty(t, l["first_token_ms"])
	}
	require.Equal(t, fmtUsage(in, out), fmtUsage(lin, lout), "access-log tokens = provider usage, streams included")
	require.Equal(t, cached, lcached)
	require.Equal(t, reasoning, lreasoning)
	require.Equal(t, 5, streams)
}

func testAIDisconnect(t *testing.T, e *aiEnv, s aiStandins, run runFunc) {
	rs := run(t,
		aiScenario{SDK: "openai", Op: "chat", BaseURL: e.openAIBase(e.g, "chat"), APIKey: teamAKey, Stream: true, AbortAfter: 3,
			Request: openAIChatRequest("gpt-4o+words=400+chunk-delay=25ms", "disconnect openai")},
		aiScenario{SDK: "anthropic", Op: "messages", BaseURL: e.anthropicBase(e.g, "claude"), APIKey: teamAKey, Stream: true, AbortAfter: 4,
			Request: anthropicRequest("claude-sonnet-4-5+words=400+chunk-delay=25ms", "disconnect anthropic")},
	)
	for _, c := range []struct {
		r      aiResult
		s      *llmstandin.Server
		marker string
	}{{rs[0], s.openai, "disconnect openai"}, {rs[1], s.claude, "disconnect anthropic"}} {
		require.True(t, c.r.Aborted, "the client went away mid-stream: %s", c.r.Output)
		testenv.WaitFor(t, 10*time.Second, "the provider to see the request of "+c.marker+" end", func() bool {
			return findRequest(t, c.s, c.marker).Done
		})
		got := findRequest(t, c.s, c.marker)
		require.True(t, got.Cancelled, "the provider saw the cancel of %q", c.marker)
		require.False(t, got.Completed, "the provider did not finish a 400-word answer nobody reads")
	}
}

// testAIFaults: a provider that is down, that cuts its stream or sends
// broken JSON gives the client a clean error in its own protocol, never a
// hang (the client's 30 s timeout would show as a failure here).
func testAIFaults(t *testing.T, e *aiEnv, run runFunc) {
	fail := func(sc aiScenario, directive string) aiScenario {
		sc.Headers = map[string]string{"X-Standin-Fail": directive}
		return sc
	}
	oa := func(route string, stream bool, text string) aiScenario {
		return aiScenario{SDK: "openai", Op: "chat", BaseURL: e.openAIBase(e.g, route), APIKey: teamAKey, Stream: stream, Request: openAIChatRequest("gpt-4o+words=30", text)}
	}
	an := func(route string, stream bool, text string) aiScenario {
		return aiScenario{SDK: "anthropic", Op: "messages", BaseURL: e.anthropicBase(e.g, route), APIKey: teamAKey, Stream: stream, Request: anthropicRequest("gpt-4o+words=30", text)}
	}
	rs := run(t,
		oa("down", false, "provider down"),
		an("down", true, "provider down"),
		fail(oa("chat", true, "cut openai stream"), "cut-stream"),
		fail(an("chat", true, "cut anthropic stream"), "cut-stream"),
		fail(oa("chat", false, "broken json"), "broken-json"),
		fail(an("claude", false, "claude 529"), "status=529"),
	)
	for i, r := range rs {
		t.Logf("fault %d: %s", i, r.Output)
		require.False(t, r.OK, "fault %d reaches the client as an error: %s", i, r.Output)
		require.NotContains(t, r.Output, "sk-down-provider-secret")
	}
	require.Equal(t, http.StatusBadGateway, rs[0].Error.Status, rs[0].Output)
	require.Contains(t, rs[0].Error.Message, "down", "the error names the provider: %s", rs[0].Output)
	require.Equal(t, http.StatusBadGateway, rs[1].Error.Status, rs[1].Output)
	require.Contains(t, rs[1].Output, "api_error", "an Anthropic-shaped error for the Anthropic client")
	for _, r := range rs[2:4] {
		require.Greater(t, r.Chunks, 0, "the stream had begun before the cut: %s", r.Output)
		require.NotEqual(t, "APIConnectionError", r.Error.Name, "the gateway ends the stream with an error event, not a dropped connection: %s", r.Output)
	}
	require.GreaterOrEqual(t, rs[4].Error.Status, 500, rs[4].Output)
	require.Equal(t, 529, rs[5].Error.Status, "Anthropic's overloaded status reaches the Anthropic client: %s", rs[5].Output)
}

func testAIRefusedConfig(t *testing.T, e *aiEnv, run runFunc) {
	chatWorks := func(what string) {
		t.Helper()
		r := run(t, aiScenario{SDK: "openai", Op: "chat", BaseURL: e.openAIBase(e.g, "chat"), APIKey: teamAKey, Request: openAIChatRequest("gpt-4o", "still served")})[0]
		requireOK(t, r, what)
		require.Equal(t, "echo: still served", r.Text)
	}
	var e1, e2 apiErr
	if e.mode == aiModePlugin {
		var cur map[string]any
		require.Equal(t, http.StatusOK, e.api.Do(t, "GET", "/plugin-instances/ai-chat", nil, &cur).StatusCode)
		bad := pluginInstance("ai-chat", "ai-proxy", "ai-chat", map[string]any{
			"providers": []any{map[string]any{"id": "openai", "type": "openia", "apiTokens": []string{"x"}, "endpoint": "http://127.0.0.1:1"}},
			"upstreams": []any{map[string]any{"provider": "openai", "weight": 100}}})
		bad["version"] = cur["version"]
		resp := e.api.Do(t, "PUT", "/plugin-instances/ai-chat", bad, &e1)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Equal(t, "plugin_instance_invalid", e1.Error.Code)
		require.Contains(t, fmt.Sprint(e1.Error.Details), "openia", "the refusal names the unknown type: %+v", e1.Error)
		var now map[string]any
		e.api.Do(t, "GET", "/plugin-instances/ai-chat", nil, &now)
		require.Equal(t, cur["version"], now["version"], "the instance is unchanged")
		chatWorks("the chat route after a refused plugin config")
		return
	}
	var routes, providers struct{ Total int }
	e.api.Do(t, "GET", "/ai-routes", nil, &routes)
	e.api.Do(t, "GET", "/llm-providers", nil, &providers)
	resp := e.api.Do(t, "POST", "/ai-routes", map[string]any{"name": "bad", "pathPrefix": "/ai/bad",
		"upstreams": []any{map[string]any{"provider": "no-such-provider", "weight": 100}}}, &e1)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "an AI route naming an unknown provider is refused")
	require.Contains(t, e1.Error.Message+fmt.Sprint(e1.Error.Details), "no-such-provider")

	var cur map[string]any
	require.Equal(t, http.StatusOK, e.api.Do(t, "GET", "/llm-providers/openai", nil, &cur).StatusCode)
	bad := map[string]any{"name": "openai", "type": "openia", "endpoint": cur["endpoint"], "tokens": cur["tokens"], "version": cur["version"]}
	resp = e.api.Do(t, "PUT", "/llm-providers/openai", bad, &e2)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "an unknown provider type is refused")
	require.Contains(t, e2.Error.Message+fmt.Sprint(e2.Error.Details), "openia")

	var routes2, providers2 struct{ Total int }
	e.api.Do(t, "GET", "/ai-routes", nil, &routes2)
	e.api.Do(t, "GET", "/llm-providers", nil, &providers2)
	require.Equal(t, routes.Total, routes2.Total)
	require.Equal(t, providers.Total, providers2.Total)
	var now map[string]any
	e.api.Do(t, "GET", "/llm-providers/openai", nil, &now)
	require.Equal(t, "openai", now["type"])
	require.Equal(t, cur["version"], now["version"])
	r := gw(t, e.g, "POST", "/ai/bad/v1/chat/completions", "Authorization", "Bearer "+teamAKey)
	require.NotEqual(t, http.StatusOK, r.status, "the refused route serves nothing")
	chatWorks("the chat route after refused AI objects")
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}
