package llmstandin

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// call sends one request to the stand-in and returns the status and body.
func call(t *testing.T, base, method, path string, header map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(data)
}

var (
	bearer    = map[string]string{"Authorization": "Bearer sk-good"}
	anthropic = map[string]string{"x-api-key": "sk-good", "anthropic-version": "2023-06-01"}
	google    = map[string]string{"x-goog-api-key": "sk-good"}
)

// events splits an SSE body into its data payloads.
func events(body string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if d, ok := strings.CutPrefix(strings.TrimRight(sc.Text(), "\r"), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

func TestAnswers(t *testing.T) {
	s := New(Options{})
	srv := httptest.NewServer(s)
	defer srv.Close()

	weather := `{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}}}`
	tests := []struct {
		name, path string
		header     map[string]string
		body       string
		want       []string // substrings of the answer
		usage      Usage
	}{
		{"openai chat", "/v1/chat/completions", bearer,
			`{"model":"gpt-4o","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there world"}]}`,
			[]string{`"content":"echo: hello there world"`, `"finish_reason":"stop"`, `"prompt_tokens":5`, `"completion_tokens":4`},
			Usage{InputTokens: 5, OutputTokens: 4}},
		{"openai chat, content parts and max_tokens", "/v1/chat/completions", bearer,
			`{"model":"gpt-4o","max_tokens":2,"messages":[{"role":"user","content":[{"type":"text","text":"one two"},{"type":"text","text":"three"}]}]}`,
			[]string{`"content":"echo: one"`, `"finish_reason":"length"`},
			Usage{InputTokens: 3, OutputTokens: 2}},
		{"openai chat, tool call", "/v1/chat/completions", bearer,
			`{"model":"gpt-4o","messages":[{"role":"user","content":"Lima"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":` + weather + `}}]}`,
			[]string{`"tool_calls":[{`, `"arguments":"{\"city\":\"Lima\",\"days\":42}"`, `"name":"get_weather"`, `"finish_reason":"tool_calls"`},
			Usage{InputTokens: 1, OutputTokens: 1}},
		{"openai chat, tool result", "/v1/chat/completions", bearer,
			`{"model":"gpt-4o","messages":[{"role":"user","content":"Lima"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"sunny 20C"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":` + weather + `}}]}`,
			[]string{`"content":"echo: tool result: sunny 20C"`, `"finish_reason":"stop"`},
			Usage{InputTokens: 3, OutputTokens: 5}},
		{"openai chat, cached and reasoning tokens by model name", "/v1/chat/completions", bearer,
			`{"model":"o3+cached=2+reasoning=3","messages":[{"role":"user","content":"a b c"}]}`,
			[]string{`"completion_tokens":7`, `"cached_tokens":2`, `"reasoning_tokens":3`},
			Usage{InputTokens: 3, OutputTokens: 7, CachedTokens: 2, ReasoningTokens: 3}},
		{"openai chat, azure deployment path", "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", map[string]string{"api-key": "k"},
			`{"messages":[{"role":"user","content":"hi"}]}`,
			[]string{`"model":"gpt-4o"`, `"content":"echo: hi"`}, Usage{InputTokens: 1, OutputTokens: 2}},
		{"anthropic messages", "/v1/messages", anthropic,
			`{"model":"claude-sonnet-4-5","max_tokens":100,"system":"be brief","messages":[{"role":"user","content":[{"type":"text","text":"hello world"}]}]}`,
			[]string{`"type":"message"`, `{"text":"echo: hello world","type":"text"}`, `"stop_reason":"end_turn"`, `"input_tokens":4`, `"output_tokens":3`},
			Usage{InputTokens: 4, OutputTokens: 3}},
		{"anthropic messages, tool use", "/v1/messages", anthropic,
			`{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"Lima"}],"tools":[{"name":"get_weather","input_schema":` + weather + `}]}`,
			[]string{`"input":{"city":"Lima","days":42}`, `"type":"tool_use"`, `"stop_reason":"tool_use"`},
			Usage{InputTokens: 1, OutputTokens: 1}},
		{"anthropic messages, tool result and cached tokens", "/v1/messages", anthropic,
			`{"model":"claude-sonnet-4-5+cached=1","max_tokens":100,"messages":[{"role":"user","content":"Lima"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"get_weather","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"sunny"}]}],"tools":[{"name":"get_weather","input_schema":` + weather + `}]}`,
			[]string{`"text":"echo: tool result: sunny"`, `"cache_read_input_tokens":1`, `"input_tokens":1`},
			Usage{InputTokens: 2, OutputTokens: 4, CachedTokens: 1}},
		{"gemini generateContent", "/v1beta/models/gemini-2.5-flash:generateContent", google,
			`{"systemInstruction":{"parts":[{"text":"be brief"}]},"contents":[{"role":"user","parts":[{"text":"hi you"}]}]}`,
			[]string{`"text":"echo: hi you"`, `"finishReason":"STOP"`, `"promptTokenCount":4`, `"candidatesTokenCount":3`},
			Usage{InputTokens: 4, OutputTokens: 3}},
		{"gemini function call", "/v1beta/models/gemini-2.5-flash:generateContent?key=sk-good", nil,
			`{"contents":[{"role":"user","parts":[{"text":"Lima"}]}],"tools":[{"functionDeclarations":[{"name":"get_weather","parameters":` + weather + `}]}]}`,
			[]string{`"functionCall":{"args":{"city":"Lima","days":42},"name":"get_weather"}`}, Usage{InputTokens: 1, OutputTokens: 1}},
		{"embeddings", "/v1/embeddings", bearer, `{"model":"text-embedding-3-small","input":["a b","c"]}`,
			[]string{`"object":"list"`, `"index":1`, `"prompt_tokens":3`}, Usage{InputTokens: 3}},
		{"responses", "/v1/responses", bearer, `{"model":"gpt-4o","instructions":"be brief","input":"hi"}`,
			[]string{`"object":"response"`, `"text":"echo: hi"`, `"input_tokens":3`, `"output_tokens":2`},
			Usage{InputTokens: 3, OutputTokens: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.Reset()
			status, body := call(t, srv.URL, "POST", tc.path, tc.header, tc.body)
			require.Equal(t, http.StatusOK, status, body)
			require.True(t, json.Valid([]byte(body)), body)
			for _, w := range tc.want {
				require.Contains(t, body, w)
			}
			reqs := s.Requests()
			require.Len(t, reqs, 1)
			require.Equal(t, tc.usage, reqs[0].Usage)
			require.Equal(t, http.StatusOK, reqs[0].Status)
			require.True(t, reqs[0].Completed && reqs[0].Done && !reqs[0].Cancelled)
			require.NotEmpty(t, reqs[0].Credential, "credential recorded")
			require.NotEmpty(t, reqs[0].CredentialHeader)
		})
	}
}

func TestEmbeddingsBase64(t *testing.T) {
	srv := httptest.NewServer(New(Options{}))
	defer srv.Close()
	status, body := call(t, srv.URL, "POST", "/v1/embeddings", bearer, `{"model":"e","input":"x","encoding_format":"base64","dimensions":4}`)
	require.Equal(t, 200, status, body)
	var out struct {
		Data []struct {
			Embedding string `json:"embedding"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &out))
	raw, err := base64.StdEncoding.DecodeString(out.Data[0].Embedding)
	require.NoError(t, err)
	require.Len(t, raw, 16, "4 float32 values")
}

func TestStreams(t *testing.T) {
	s := New(Options{})
	srv := httptest.NewServer(s)
	defer srv.Close()

	t.Run("openai with include_usage", func(t *testing.T) {
		s.Reset()
		status, body := call(t, srv.URL, "POST", "/v1/chat/completions", bearer,
			`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"one two three"}]}`)
		require.Equal(t, 200, status)
		evs := events(body)
		require.Equal(t, "[DONE]", evs[len(evs)-1])
		var text strings.Builder
		var usage *struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		}
		finish := ""
		for _, e := range evs[:len(evs)-1] {
			var c struct {
				Choices []struct {
					Delta struct {
						Content string `json:"content"`
					} `json:"delta"`
					FinishReason *string `json:"finish_reason"`
				} `json:"choices"`
				Usage *struct {
					PromptTokens     int `json:"prompt_tokens"`
					CompletionTokens int `json:"completion_tokens"`
				} `json:"usage"`
			}
			require.NoError(t, json.Unmarshal([]byte(e), &c), e)
			for _, ch := range c.Choices {
				text.WriteString(ch.Delta.Content)
				if ch.FinishReason != nil {
					finish = *ch.FinishReason
				}
			}
			if c.Usage != nil {
				require.Empty(t, c.Choices, "usage comes in a chunk of its own")
				usage = c.Usage
			}
		}
		require.Equal(t, "echo: one two three", text.String())
		require.Equal(t, "stop", finish)
		require.NotNil(t, usage)
		require.Equal(t, 3, usage.PromptTokens)
		require.Equal(t, 4, usage.CompletionTokens)
		require.Equal(t, Usage{InputTokens: 3, OutputTokens: 4}, s.Requests()[0].Usage)
		require.True(t, s.Requests()[0].Stream)
	})

	t.Run("openai without include_usage has no usage", func(t *testing.T) {
		_, body := call(t, srv.URL, "POST", "/v1/chat/completions", bearer,
			`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"x"}]}`)
		require.NotContains(t, body, "usage")
		require.Contains(t, body, "data: [DONE]")
	})

	t.Run("openai tool call", func(t *testing.T) {
		_, body := call(t, srv.URL, "POST", "/v1/chat/completions", bearer,
			`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Lima"}],"tools":[{"type":"function","function":{"name":"w","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]}`)
		var args strings.Builder
		for _, e := range events(body) {
			if e == "[DONE]" {
				continue
			}
			var c struct {
				Choices []struct {
					Delta struct {
						ToolCalls []struct {
							Function struct {
								Arguments string `json:"arguments"`
							} `json:"function"`
						} `json:"tool_calls"`
					} `json:"delta"`
				} `json:"choices"`
			}
			require.NoError(t, json.Unmarshal([]byte(e), &c))
			for _, tc := range c.Choices[0].Delta.ToolCalls {
				args.WriteString(tc.Function.Arguments)
			}
		}
		require.Equal(t, `{"city":"Lima"}`, args.String())
		require.Contains(t, body, `"finish_reason":"tool_calls"`)
	})

	t.Run("anthropic", func(t *testing.T) {
		status, body := call(t, srv.URL, "POST", "/v1/messages", anthropic,
			`{"model":"claude-sonnet-4-5","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi there"}]}`)
		require.Equal(t, 200, status)
		var types []string
		var text strings.Builder
		for _, e := range events(body) {
			var ev struct {
				Type  string `json:"type"`
				Delta struct {
					Text string `json:"text"`
				} `json:"delta"`
				Usage struct {
					OutputTokens int `json:"output_tokens"`
				} `json:"usage"`
			}
			require.NoError(t, json.Unmarshal([]byte(e), &ev))
			types = append(types, ev.Type)
			text.WriteString(ev.Delta.Text)
			if ev.Type == "message_delta" {
				require.Equal(t, 3, ev.Usage.OutputTokens)
			}
		}
		require.Equal(t, []string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta",
			"content_block_delta", "content_block_stop", "message_delta", "message_stop"}, types)
		require.Equal(t, "echo: hi there", text.String())
		require.Contains(t, body, "event: message_stop\n")
	})

	t.Run("anthropic tool use", func(t *testing.T) {
		_, body := call(t, srv.URL, "POST", "/v1/messages", anthropic,
			`{"model":"claude-sonnet-4-5","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"Lima"}],"tools":[{"name":"w","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}]}`)
		var args strings.Builder
		for _, e := range events(body) {
			var ev struct {
				Delta struct {
					PartialJSON string `json:"partial_json"`
				} `json:"delta"`
			}
			require.NoError(t, json.Unmarshal([]byte(e), &ev))
			args.WriteString(ev.Delta.PartialJSON)
		}
		require.Equal(t, `{"city":"Lima"}`, args.String())
		require.Contains(t, body, `"stop_reason":"tool_use"`)
	})

	t.Run("gemini", func(t *testing.T) {
		status, body := call(t, srv.URL, "POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", google,
			`{"contents":[{"role":"user","parts":[{"text":"a b"}]}]}`)
		require.Equal(t, 200, status, body)
		require.Contains(t, body, "\r\n\r\n")
		evs := events(body)
		require.Len(t, evs, 3, "one event per word of \"echo: a b\"")
		require.Contains(t, evs[2], `"finishReason":"STOP"`)
		require.Contains(t, evs[2], `"candidatesTokenCount":3`)
	})

	t.Run("responses", func(t *testing.T) {
		_, body := call(t, srv.URL, "POST", "/v1/responses", bearer, `{"model":"gpt-4o","input":"hi","stream":true}`)
		require.Contains(t, body, "event: response.output_text.delta\n")
		require.Contains(t, body, "event: response.completed\n")
	})
}

func TestModels(t *testing.T) {
	srv := httptest.NewServer(New(Options{Models: []string{"m1", "m2"}}))
	defer srv.Close()
	for _, tc := range []struct {
		name, path string
		header     map[string]string
		want       string
	}{
		{"openai", "/v1/models", bearer, `"data":[{"created":1700000000,"id":"m1","object":"model","owned_by":"llm-standin"}`},
		{"anthropic", "/v1/models", anthropic, `"first_id":"m1","has_more":false,"last_id":"m2"`},
		{"gemini", "/v1beta/models", google, `"name":"models/m1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := call(t, srv.URL, "GET", tc.path, tc.header, "")
			require.Equal(t, 200, status)
			require.Contains(t, body, tc.want)
		})
	}
}

func TestRefusals(t *testing.T) {
	s := New(Options{Keys: []string{"sk-good", "bad-1", "limited-1"}, Models: []string{"gpt-4o"}, StrictModels: true})
	srv := httptest.NewServer(s)
	defer srv.Close()
	chat := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name, path string
		header     map[string]string
		body       string
		status     int
		want       string
	}{
		{"no key", "/v1/chat/completions", nil, chat, 401, `"code":"invalid_api_key"`},
		{"unknown key", "/v1/chat/completions", map[string]string{"Authorization": "Bearer sk-other"}, chat, 401, "invalid API key"},
		{"bad key", "/v1/chat/completions", map[string]string{"Authorization": "Bearer bad-1"}, chat, 401, `"type":"authentication_error"`},
		{"limited key", "/v1/chat/completions", map[string]string{"Authorization": "Bearer limited-1"}, chat, 429, `"code":"rate_limit_exceeded"`},
		{"limited key, anthropic shape", "/v1/messages", map[string]string{"x-api-key": "limited-1", "anthropic-version": "2023-06-01"},
			`{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, 429, `{"error":{"message":"rate limit reached for this API key","type":"rate_limit_error"},"type":"error"}`},
		{"anthropic without version", "/v1/messages", map[string]string{"x-api-key": "sk-good"},
			`{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, 400, "anthropic-version"},
		{"anthropic without max_tokens", "/v1/messages", anthropic,
			`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`, 400, "max_tokens: Field required"},
		{"unknown model", "/v1/chat/completions", bearer, `{"model":"gpt-5","messages":[{"role":"user","content":"hi"}]}`, 404, `this provider offers gpt-4o`},
		{"status by header", "/v1/chat/completions", map[string]string{"Authorization": "Bearer sk-good", "X-Standin-Fail": "status=500"}, chat, 500, `"type":"api_error"`},
		{"status by model", "/v1/chat/completions", bearer, `{"model":"gpt-4o+status=503","messages":[{"role":"user","content":"hi"}]}`, 503, "asked to fail with 503"},
		{"529 in anthropic shape", "/v1/messages", map[string]string{"x-api-key": "sk-good", "anthropic-version": "2023-06-01", "X-Standin-Fail": "status=529"},
			`{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, 529, `"type":"overloaded_error"`},
		{"gemini shape", "/v1beta/models/gpt-4o:generateContent", map[string]string{"x-goog-api-key": "limited-1"}, `{"contents":[{"parts":[{"text":"x"}]}]}`, 429, `"status":"RESOURCE_EXHAUSTED"`},
		{"unknown directive", "/v1/chat/completions", map[string]string{"Authorization": "Bearer sk-good", "X-Standin-Fail": "explode"}, chat, 400, "unknown stand-in directive"},
		{"not json", "/v1/chat/completions", bearer, `{`, 400, "not the JSON expected"},
		{"unknown path", "/v2/things", bearer, `{}`, 404, "not an endpoint of the stand-in"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := call(t, srv.URL, "POST", tc.path, tc.header, tc.body)
			require.Equal(t, tc.status, status, body)
			require.Contains(t, body, tc.want)
			require.True(t, json.Valid([]byte(body)), body)
		})
	}
	reqs := s.Requests()
	require.Len(t, reqs, len(tests))
	require.Equal(t, "bad-1", reqs[2].Credential)
	require.Equal(t, 401, reqs[2].Status)
	require.Equal(t, Usage{}, reqs[2].Usage)
}

func TestFailNextAndSetFail(t *testing.T) {
	s := New(Options{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	chat := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	require.NoError(t, s.FailNext(2, "status=429"))
	require.Error(t, s.FailNext(1, "nonsense"))
	var got []int
	for i := 0; i < 3; i++ {
		status, _ := call(t, srv.URL, "POST", "/v1/chat/completions", bearer, chat)
		got = append(got, status)
	}
	require.Equal(t, []int{429, 429, 200}, got)
	require.NoError(t, s.SetFail("status=500"))
	status, _ := call(t, srv.URL, "POST", "/v1/chat/completions", bearer, chat)
	require.Equal(t, 500, status)
	require.NoError(t, s.SetFail(""))
	status, _ = call(t, srv.URL, "POST", "/v1/chat/completions", bearer, chat)
	require.Equal(t, 200, status)
	require.EqualValues(t, 5, s.Total())
}

func TestBrokenAnswers(t *testing.T) {
	s := New(Options{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	stream := `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"a b c d e f"}]}`
	plain := `{"model":"gpt-4o","messages":[{"role":"user","content":"a b c d e f"}]}`

	t.Run("broken json", func(t *testing.T) {
		status, body := call(t, srv.URL, "POST", "/v1/chat/completions", map[string]string{"Authorization": "Bearer k", "X-Standin-Fail": "broken-json"}, plain)
		require.Equal(t, 200, status)
		require.False(t, json.Valid([]byte(body)))
	})
	t.Run("broken json event", func(t *testing.T) {
		_, body := call(t, srv.URL, "POST", "/v1/chat/completions", map[string]string{"Authorization": "Bearer k", "X-Standin-Fail": "broken-json"}, stream)
		evs := events(body)
		require.False(t, json.Valid([]byte(evs[1])), evs[1])
		require.Equal(t, "[DONE]", evs[len(evs)-1])
	})
	for _, tc := range []struct{ name, body string }{{"cut stream", stream}, {"cut body", plain}} {
		t.Run(tc.name, func(t *testing.T) {
			s.Reset()
			req, _ := http.NewRequest("POST", srv.URL+"/v1/chat/completions", strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer k")
			req.Header.Set("X-Standin-Fail", "cut-stream")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer func() { _ = resp.Body.Close() }()
			require.Equal(t, 200, resp.StatusCode)
			data, err := io.ReadAll(resp.Body)
			require.ErrorIs(t, err, io.ErrUnexpectedEOF, "the connection drops mid-answer")
			require.NotContains(t, string(data), "[DONE]")
			require.False(t, s.Requests()[0].Completed)
		})
	}
}

func TestSlowAndCancelled(t *testing.T) {
	s := New(Options{})
	srv := httptest.NewServer(s)
	defer srv.Close()

	t.Run("slow first byte", func(t *testing.T) {
		start := time.Now()
		status, _ := call(t, srv.URL, "POST", "/v1/chat/completions", map[string]string{"Authorization": "Bearer k", "X-Standin-Fail": "slow-first-byte=150ms"},
			`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
		require.Equal(t, 200, status)
		require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
	})

	for _, tc := range []struct {
		name, directives, body string
		readFirst              bool
	}{
		{"hang", "hang", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`, false},
		{"mid-stream", "chunk-delay=20ms", `{"model":"gpt-4o+words=500","stream":true,"messages":[{"role":"user","content":"hi"}]}`, true},
	} {
		t.Run("client cancel during "+tc.name, func(t *testing.T) {
			s.Reset()
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/chat/completions", strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer k")
			req.Header.Set("X-Standin-Fail", tc.directives)
			done := make(chan error, 1)
			go func() {
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					if tc.readFirst {
						_, err = bufio.NewReader(resp.Body).ReadString('\n')
						if err == nil {
							cancel()
						}
					}
					_, err = io.ReadAll(resp.Body)
					_ = resp.Body.Close()
				}
				done <- err
			}()
			if !tc.readFirst {
				deadline := time.Now().Add(5 * time.Second)
				for len(s.Requests()) == 0 {
					require.True(t, time.Now().Before(deadline), "the request never arrived")
					time.Sleep(5 * time.Millisecond)
				}
				cancel()
			}
			require.True(t, errors.Is(<-done, context.Canceled))
			deadline := time.Now().Add(5 * time.Second)
			for {
				r := s.Requests()[0]
				if r.Done {
					require.True(t, r.Cancelled, "the stand-in saw the cancel")
					require.False(t, r.Completed)
					break
				}
				require.True(t, time.Now().Before(deadline), "the handler did not end after the cancel")
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}
