package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
	"github.com/gatehouse-dev/gatehouse/tests/llmstandin"
)

// The AI gateway's end-to-end tests drive the real binary with the
// official `openai` and `@anthropic-ai/sdk` npm packages
// (tests/ai-clients/client.mjs), installed once per test process with npm
// ci from the committed package-lock.json, against the provider stand-in
// (tests/llmstandin) running inside the test process.

var (
	aiNpmOnce sync.Once
	aiNpmErr  error
)

// aiClientsDir returns tests/ai-clients with its node_modules installed:
// npm ci runs once per test process when node_modules is missing or older
// than package-lock.json.
func aiClientsDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(testenv.Root(t), "tests", "ai-clients")
	aiNpmOnce.Do(func() {
		if _, err := exec.LookPath("npm"); err != nil {
			aiNpmErr = errors.New("npm is not installed: the AI gateway tests run the official openai and @anthropic-ai/sdk clients " +
				"from tests/ai-clients; install Node.js 20+ with npm (for example 'apt-get install nodejs npm') and run the tests again")
			return
		}
		lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
		if err != nil {
			aiNpmErr = fmt.Errorf("tests/ai-clients/package-lock.json: %w", err)
			return
		}
		// npm writes node_modules/.package-lock.json at every install.
		if inst, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err == nil && !inst.ModTime().Before(lock.ModTime()) {
			return
		}
		start := time.Now()
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			aiNpmErr = fmt.Errorf("npm ci in tests/ai-clients: %w (is the npm registry reachable?)\n%s", err, out)
			return
		}
		t.Logf("npm ci in tests/ai-clients took %s", time.Since(start).Round(time.Millisecond))
	})
	if aiNpmErr != nil {
		t.Fatal(aiNpmErr)
	}
	return dir
}

// aiScenario is what tests/ai-clients/client.mjs runs (see its header).
type aiScenario struct {
	SDK        string            `json:"sdk"`
	Op         string            `json:"op"`
	BaseURL    string            `json:"baseURL"`
	APIKey     string            `json:"apiKey,omitempty"`
	Stream     bool              `json:"stream,omitempty"`
	Request    any               `json:"request,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	AbortAfter int               `json:"abortAfter,omitempty"`
	MaxRetries int               `json:"maxRetries,omitempty"`
}

// aiToolCall is one tool call of an answer, arguments parsed.
type aiToolCall struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Arguments map[string]any `json:"arguments"`
}

// aiResult is what client.mjs prints.
type aiResult struct {
	OK           bool              `json:"ok"`
	Text         string            `json:"text"`
	StreamedText string            `json:"streamedText"`
	ToolCalls    []aiToolCall      `json:"toolCalls"`
	FinishReason string            `json:"finishReason"`
	Usage        map[string]any    `json:"usage"`
	Model        string            `json:"model"`
	ID           string            `json:"id"`
	Chunks       int               `json:"chunks"`
	EventTypes   []string          `json:"eventTypes"`
	Aborted      bool              `json:"aborted"`
	Headers      map[string]string `json:"headers"`
	Embeddings   struct {
		Count int `json:"count"`
		Dims  int `json:"dims"`
	} `json:"embeddings"`
	Models []string        `json:"models"`
	Raw    json.RawMessage `json:"raw"`
	Error  *struct {
		Status  int             `json:"status"`
		Type    string          `json:"type"`
		Message string          `json:"message"`
		Body    json.RawMessage `json:"body"`
		Name    string          `json:"name"`
	} `json:"error"`
	// Output is everything the script printed, for messages and for
	// checking that no secret reached the client.
	Output string `json:"-"`
}

// usageInt reads a usage field (absent = 0).
func (r aiResult) usageInt(name string) int64 {
	v, _ := r.Usage[name].(float64)
	return int64(v)
}

// runAIClient runs one scenario with the real SDKs and returns its result.
func runAIClient(t *testing.T, sc aiScenario) aiResult {
	t.Helper()
	return runAIClients(t, sc)[0]
}

// runAIClients runs scenarios one after the other in one node process
// (node takes seconds to start on a busy machine) and returns their results.
func runAIClients(t *testing.T, scs ...aiScenario) []aiResult {
	t.Helper()
	dir := aiClientsDir(t)
	arg, err := json.Marshal(scs)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "client.mjs", string(arg))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "NO_COLOR=1")
	var stderr testenv.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "node client.mjs %s\nstdout:\n%s\nstderr:\n%s", arg, out, stderr.String())
	var raw []json.RawMessage
	require.NoError(t, json.Unmarshal(out, &raw), "client.mjs printed no JSON results:\n%s\nstderr:\n%s", out, stderr.String())
	require.Len(t, raw, len(scs))
	res := make([]aiResult, len(raw))
	for i, r := range raw {
		require.NoError(t, json.Unmarshal(r, &res[i]), "result %d: %s", i, r)
		res[i].Output = string(r)
	}
	return res
}

// requireOK fails with the client's error when the call did not succeed.
func requireOK(t *testing.T, r aiResult, what string) {
	t.Helper()
	if !r.OK {
		t.Fatalf("%s: the client got an error: %s", what, r.Output)
	}
}

var weatherTool = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"city": map[string]any{"type": "string", "description": "city name"},
		"days": map[string]any{"type": "integer"},
	},
	"required": []string{"city"},
}

func openAIChatRequest(model, text string) map[string]any {
	return map[string]any{"model": model, "messages": []any{
		map[string]any{"role": "system", "content": "be brief"},
		map[string]any{"role": "user", "content": text},
	}}
}

func anthropicRequest(model, text string) map[string]any {
	return map[string]any{"model": model, "max_tokens": 256, "system": "be brief", "messages": []any{
		map[string]any{"role": "user", "content": text},
	}}
}

func withOpenAITools(req map[string]any) map[string]any {
	req["tools"] = []any{map[string]any{"type": "function", "function": map[string]any{
		"name": "get_weather", "description": "weather of a city", "parameters": weatherTool}}}
	return req
}

func withAnthropicTools(req map[string]any) map[string]any {
	req["tools"] = []any{map[string]any{"name": "get_weather", "description": "weather of a city", "input_schema": weatherTool}}
	return req
}

// TestAIStandinSpeaksToRealClients checks the stand-in itself with the
// real SDKs, directly (no gateway): if the official clients accept its
// answers, the gateway tests that go through it test the gateway, not the
// stand-in.
func TestAIStandinSpeaksToRealClients(t *testing.T) {
	s := llmstandin.New(llmstandin.Options{Keys: []string{"sk-provider"}})
	srv := httptest.NewServer(s)
	defer srv.Close()
	oa := func(stream bool, req map[string]any) aiScenario {
		return aiScenario{SDK: "openai", Op: "chat", BaseURL: srv.URL + "/v1", APIKey: "sk-provider", Stream: stream, Request: req}
	}
	an := func(stream bool, req map[string]any) aiScenario {
		return aiScenario{SDK: "anthropic", Op: "messages", BaseURL: srv.URL, APIKey: "sk-provider", Stream: stream, Request: req}
	}
	streamUsage := func(req map[string]any) map[string]any {
		req["stream_options"] = map[string]any{"include_usage": true}
		return req
	}
	tests := []struct {
		name   string
		sc     aiScenario
		text   string
		tool   bool
		finish string
		in     int64
		out    int64
	}{
		{"openai chat", oa(false, openAIChatRequest("gpt-4o", "hello there")), "echo: hello there", false, "stop", 4, 3},
		{"openai chat streamed", oa(true, streamUsage(openAIChatRequest("gpt-4o", "hello there"))), "echo: hello there", false, "stop", 4, 3},
		{"openai tools", oa(false, withOpenAITools(openAIChatRequest("gpt-4o", "Lima"))), "", true, "tool_calls", 3, 1},
		{"openai tools streamed", oa(true, streamUsage(withOpenAITools(openAIChatRequest("gpt-4o", "Lima")))), "", true, "tool_calls", 3, 1},
		{"anthropic messages", an(false, anthropicRequest("claude-sonnet-4-5", "hello there")), "echo: hello there", false, "end_turn", 4, 3},
		{"anthropic messages streamed", an(true, anthropicRequest("claude-sonnet-4-5", "hello there")), "echo: hello there", false, "end_turn", 4, 3},
		{"anthropic tools", an(false, withAnthropicTools(anthropicRequest("claude-sonnet-4-5", "Lima"))), "", true, "tool_use", 3, 1},
		{"anthropic tools streamed", an(true, withAnthropicTools(anthropicRequest("claude-sonnet-4-5", "Lima"))), "", true, "tool_use", 3, 1},
	}
	var scs []aiScenario
	for _, tc := range tests {
		scs = append(scs, tc.sc)
	}
	results := runAIClients(t, scs...)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := results[i]
			requireOK(t, r, tc.name)
			require.Equal(t, tc.text, r.Text)
			require.Equal(t, tc.finish, r.FinishReason)
			if tc.tool {
				require.Len(t, r.ToolCalls, 1)
				require.Equal(t, "get_weather", r.ToolCalls[0].Name)
				require.Equal(t, map[string]any{"city": "Lima", "days": float64(42)}, r.ToolCalls[0].Arguments)
			}
			if tc.sc.SDK == "openai" {
				require.Equal(t, tc.in, r.usageInt("prompt_tokens"))
				require.Equal(t, tc.out, r.usageInt("completion_tokens"))
			} else {
				require.Equal(t, tc.in, r.usageInt("input_tokens"))
				require.Equal(t, tc.out, r.usageInt("output_tokens"))
			}
		})
	}

	t.Run("embeddings and models", func(t *testing.T) {
		rs := runAIClients(t,
			aiScenario{SDK: "openai", Op: "embeddings", BaseURL: srv.URL + "/v1", APIKey: "sk-provider",
				Request: map[string]any{"model": "text-embedding-3-small", "input": []string{"a b", "c"}}},
			aiScenario{SDK: "openai", Op: "models", BaseURL: srv.URL + "/v1", APIKey: "sk-provider"},
			aiScenario{SDK: "anthropic", Op: "models", BaseURL: srv.URL, APIKey: "sk-provider"})
		requireOK(t, rs[0], "embeddings")
		require.Equal(t, 2, rs[0].Embeddings.Count)
		require.Equal(t, 8, rs[0].Embeddings.Dims, "the SDK asks for base64 and decodes it")
		require.EqualValues(t, 3, rs[0].usageInt("prompt_tokens"))
		for _, r := range rs[1:] {
			requireOK(t, r, "models")
			require.Contains(t, r.Models, "gpt-4o")
		}
	})

	t.Run("errors and a client that goes away", func(t *testing.T) {
		r := runAIClient(t, aiScenario{SDK: "anthropic", Op: "messages", BaseURL: srv.URL, APIKey: "limited-1",
			Request: anthropicRequest("claude-sonnet-4-5", "hi")})
		require.False(t, r.OK)
		require.Equal(t, 429, r.Error.Status)
		require.Equal(t, "RateLimitError", r.Error.Name)

		s.Reset()
		r = runAIClient(t, aiScenario{SDK: "openai", Op: "chat", BaseURL: srv.URL + "/v1", APIKey: "sk-provider", Stream: true, AbortAfter: 2,
			Request: openAIChatRequest("gpt-4o+words=400+chunk-delay=20ms", "hi")})
		require.True(t, r.Aborted, r.Output)
		testenv.WaitFor(t, 10*time.Second, "the stand-in to see the client's cancel", func() bool {
			reqs := s.Requests()
			return len(reqs) == 1 && reqs[0].Done
		})
		require.True(t, s.Requests()[0].Cancelled)
		require.False(t, strings.Contains(r.Output, "w399"), "the client stopped reading early")
	})
}
