package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/schematest"
)

// seen runs body through an instance of cfg and returns what the next
// handler (ai-proxy) received.
func seen(t *testing.T, cfg, path, body string) string {
	t.Helper()
	inst, err := Plugin.New(context.Background(), json.RawMessage(cfg), nil)
	require.NoError(t, err)
	var got string
	h := inst.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		require.EqualValues(t, len(b), r.ContentLength)
		got = string(b)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
	return got
}

const decorations = `{"prepend":[{"role":"system","content":"Answer in English."},{"role":"user","content":"I am Ann."}],
 "append":[{"role":"user","content":"Then ask a follow-up question."}]}`

func TestOpenAIMessagesAreDecorated(t *testing.T) {
	got := seen(t, decorations, "/llm/v1/chat/completions", `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Who are you?"}]}`)
	require.JSONEq(t, `{"model":"gpt-4o","stream":true,"messages":[
		{"role":"system","content":"Answer in English."},{"role":"user","content":"I am Ann."},
		{"role":"user","content":"Who are you?"},{"role":"user","content":"Then ask a follow-up question."}]}`, got)
}

func TestAnthropicSystemMessagesGoIntoSystem(t *testing.T) {
	cfg := `{"prepend":[{"role":"system","content":"Answer in English."}],"append":[{"role":"system","content":"Be brief."},{"role":"user","content":"Thanks."}]}`
	for _, tc := range []struct{ name, body, want string }{
		{"no system", `{"model":"claude","max_tokens":10,"messages":[{"role":"user","content":"Hi"}]}`,
			`{"model":"claude","max_tokens":10,"system":"Answer in English.\n\nBe brief.","messages":[{"role":"user","content":"Hi"},{"role":"user","content":"Thanks."}]}`},
		{"string system", `{"model":"claude","system":"You are a pirate.","messages":[{"role":"user","content":"Hi"}]}`,
			`{"model":"claude","system":"Answer in English.\n\nYou are a pirate.\n\nBe brief.","messages":[{"role":"user","content":"Hi"},{"role":"user","content":"Thanks."}]}`},
		{"block system keeps cache_control", `{"model":"claude","system":[{"type":"text","text":"Long doc","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"Hi"}]}`,
			`{"model":"claude","system":[{"type":"text","text":"Answer in English."},{"type":"text","text":"Long doc","cache_control":{"type":"ephemeral"}},{"type":"text","text":"Be brief."}],"messages":[{"role":"user","content":"Hi"},{"role":"user","content":"Thanks."}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := seen(t, cfg, "/v1/messages", tc.body)
			require.JSONEq(t, tc.want, got)
			require.NotContains(t, got, `"role":"system"`, "Anthropic's messages have no system role")
		})
	}
}

func TestReplaceRewritesPlainTextByRole(t *testing.T) {
	cfg := `{"prepend":[{"role":"system","content":"You run inside OpenClaw."}],
	 "replace":[{"on_role":"system","pattern":"OpenClaw","replacement":"agent"},{"pattern":"secret-(\\d+)","replacement":"[REDACTED-$1]","regex":true}]}`
	got := seen(t, cfg, "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"Show OpenClaw secret-1234"},{"role":"user","content":[{"type":"text","text":"secret-9"}]}]}`)
	require.JSONEq(t, `{"model":"m","messages":[{"role":"system","content":"You run inside agent."},{"role":"user","content":"Show OpenClaw [REDACTED-1234]"},{"role":"user","content":[{"type":"text","text":"secret-9"}]}]}`, got)
	// Anthropic's string system prompt is rewritten as a system message.
	got = seen(t, `{"replace":[{"on_role":"system","pattern":"OpenClaw","replacement":"agent"}]}`, "/v1/messages", `{"model":"c","system":"In OpenClaw.","messages":[{"role":"user","content":"OpenClaw?"}]}`)
	require.JSONEq(t, `{"model":"c","system":"In agent.","messages":[{"role":"user","content":"OpenClaw?"}]}`, got)
}

func TestOtherRequestsPassUnchanged(t *testing.T) {
	for _, tc := range []struct{ path, body string }{
		{"/v1/embeddings", `{"model":"m","input":"x"}`},
		{"/v1/chat/completions", `not json`},
		{"/v1/chat/completions", `{"model":"m","messages":"not a list"}`},
	} {
		require.Equal(t, tc.body, seen(t, decorations, tc.path, tc.body), tc.path)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ cfg, field string }{
		{`{"prepend":[{"role":"robot","content":"x"}]}`, "prepend[0].role"},
		{`{"append":[{"role":"user"}]}`, "append[0].content"},
		{`{"replace":[{"pattern":"(","replacement":"x","regex":true}]}`, "replace[0].pattern"},
		{`{"replace":[{"pattern":"","replacement":"x"}]}`, "replace[0].pattern"},
		{`{"prepend":[{"role":"user","content":"x","name":"n"}]}`, "prepend[0].name"},
	} {
		_, err := parseConfig([]byte(tc.cfg))
		require.ErrorContains(t, err, tc.field+": ", tc.cfg)
	}
	schematest.RequireAgrees(t, Plugin.ConfigSchema(), func(b []byte) error { _, err := parseConfig(b); return err }, []string{
		`{}`, decorations, `{"replace":[{"pattern":"a","replacement":"","on_role":"user","regex":false}]}`,
	}, true)
	schematest.RequireAgrees(t, Plugin.ConfigSchema(), func(b []byte) error { _, err := parseConfig(b); return err }, []string{
		`{"prepend":[{"role":"robot","content":"x"}]}`, `{"append":[{"role":"user","content":""}]}`,
		`{"replace":[{"pattern":"","replacement":"x"}]}`, `{"prepend":{}}`, `{"x":1}`,
	}, false)
}
