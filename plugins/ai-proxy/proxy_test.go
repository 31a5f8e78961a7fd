package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

const chatBody = `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`

func streamBody(includeUsage bool) string {
	if includeUsage {
		return `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`
	}
	return `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`
}

// failWith makes a fake answer status with body for every request.
func failWith(status int, body string) func(w http.ResponseWriter, r *http.Request, s seen) bool {
	return func(w http.ResponseWriter, r *http.Request, s seen) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
		return true
	}
}

// deadURL is an address where nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

// sseData returns the data lines of an SSE body.
func sseData(body string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

func TestUsageCountedForEveryAnswer(t *testing.T) {
	cases := []struct {
		name, typ, path, body string
		stream                bool
	}{
		{"openai", "openai", "/v1/chat/completions", chatBody, false},
		{"openai streamed", "openai", "/v1/chat/completions", streamBody(false), true},
		{"openai streamed, client asked for usage", "openai", "/v1/chat/completions", streamBody(true), true},
		{"openai client, claude provider", "claude", "/v1/chat/completions", chatBody, false},
		{"openai client, claude provider, streamed", "claude", "/v1/chat/completions", streamBody(false), true},
		{"anthropic client, claude provider", "claude", "/v1/messages", `{"model":"gpt-4o","max_tokens":9,"messages":[{"role":"user","content":"hi"}]}`, false},
		{"anthropic client, claude provider, streamed", "claude", "/v1/messages", `{"model":"gpt-4o","max_tokens":9,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, true},
		{"anthropic client, openai provider", "openai", "/v1/messages", `{"model":"gpt-4o","max_tokens":9,"messages":[{"role":"user","content":"hi"}]}`, false},
		{"anthropic client, openai provider, streamed", "openai", "/v1/messages", `{"model":"gpt-4o","max_tokens":9,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, true},
		{"openai client, gemini provider", "gemini", "/v1/chat/completions", chatBody, false},
		{"openai client, gemini provider, streamed", "gemini", "/v1/chat/completions", streamBody(false), true},
		{"anthropic client, gemini provider", "gemini", "/v1/messages", `{"model":"gpt-4o","max_tokens":9,"messages":[{"role":"user","content":"hi"}]}`, false},
		{"anthropic client, gemini provider, streamed", "gemini", "/v1/messages", `{"model":"gpt-4o","max_tokens":9,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, true},
		{"embeddings", "openai", "/v1/embeddings", `{"model":"gpt-4o","input":"hi"}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			g := newGW(t, `{"provider":{"id":"p1","type":"`+tc.typ+`","apiTokens":["pk"],"endpoint":`+quote(f.URL)+`,"modelMapping":{"gpt-4o":"mapped"}},"routeName":"r1"}`)
			// A plugin in front of ai-proxy (a token limit) reads the
			// usage after next returned.
			var recorder *pluginapi.AIUsageRecorder
			inner := g.h
			g.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctx, rc := pluginapi.WithAIUsageRecorder(r.Context())
				recorder = rc
				inner.ServeHTTP(w, r.WithContext(ctx))
			})
			rec := g.do("POST", tc.path, tc.body)
			require.Equal(t, 200, rec.Code, rec.Body.String())
			u, ok := recorder.Usage()
			require.True(t, ok, "ai-proxy records the usage of the answer for the plugins before it")
			require.EqualValues(t, fakeInput, u.InputTokens)
			require.Equal(t, "p1", u.Provider)
			require.Equal(t, "gpt-4o", u.RequestedModel)
			require.Equal(t, "mapped", u.Model)
			if tc.stream {
				require.Equal(t, "text/event-stream", rec.Header().Get("Content-Type"))
				require.Contains(t, rec.Body.String(), "hello")
			}
			labels := map[string]string{"ai_route": "r1", "ai_cluster": "p1", "ai_model": "mapped", "ai_consumer": ""}
			require.EqualValues(t, fakeInput, g.counter(t, "route_upstream_model_consumer_metric_input_token", labels))
			wantOut := fakeOutput
			if strings.HasSuffix(tc.path, "/embeddings") {
				wantOut = 0
			}
			require.EqualValues(t, wantOut, g.counter(t, "route_upstream_model_consumer_metric_output_token", labels))
			require.EqualValues(t, wantOut, u.OutputTokens)
			require.EqualValues(t, 1, g.counter(t, "gatehouse_ai_requests_total", map[string]string{"ai_route": "r1", "status": "200"}))
			lines := g.logLines(t)
			require.Len(t, lines, 1, "one access-log line per AI request")
			l := lines[0]
			require.Equal(t, "r1", l["ai_route"])
			require.Equal(t, "p1", l["provider"])
			require.Equal(t, "gpt-4o", l["gen_ai.request.model"])
			require.Equal(t, "mapped", l["gen_ai.response.model"])
			require.Equal(t, tc.typ, l["gen_ai.provider.name"])
			require.EqualValues(t, fakeInput, l["gen_ai.usage.input_tokens"])
			require.EqualValues(t, wantOut, l["gen_ai.usage.output_tokens"])
			require.EqualValues(t, 200, l["status"])
			require.EqualValues(t, 1, l["attempts"])
			require.Equal(t, tc.stream, l["stream"])
			require.NotContains(t, g.logs.String(), "pk", "the provider token is never logged")
			require.NotContains(t, g.logs.String(), `"hi"`, "the prompt is never logged")
		})
	}
}

func TestStreamUsageChunk(t *testing.T) {
	f := newFake(t)
	g := newGW(t, `{"provider":{"type":"openai","apiTokens":["pk"],"endpoint":`+quote(f.URL)+`}}`)

	rec := g.do("POST", "/v1/chat/completions", streamBody(false))
	require.Equal(t, 200, rec.Code)
	so, _ := f.last(t).Body["stream_options"].(map[string]any)
	require.Equal(t, true, so["include_usage"], "the gateway asks the provider for usage")
	data := sseData(rec.Body.String())
	require.Equal(t, "[DONE]", data[len(data)-1])
	for _, d := range data {
		require.NotContains(t, d, `"usage"`, "the client did not ask for the usage chunk: %s", d)
	}

	rec = g.do("POST", "/v1/chat/completions", streamBody(true))
	require.Equal(t, 200, rec.Code)
	require.Contains(t, rec.Body.String(), `"usage"`, "the client asked for usage and gets it")
}

func TestFallbackOrder(t *testing.T) {
	first, second, third := newFake(t), newFake(t), newFake(t)
	first.fail = failWith(503, `{"error":{"message":"overloaded","type":"server_error"}}`)
	second.fail = failWith(429, `{"error":{"message":"slow down","type":"rate_limit_error"}}`)
	dead := deadURL(t)
	g := newGW(t, `{"providers":[
		{"id":"a","type":"openai","apiTokens":["ka"],"endpoint":`+quote(first.URL)+`},
		{"id":"dead","type":"openai","apiTokens":["kd"],"endpoint":`+quote(dead)+`},
		{"id":"b","type":"openai","apiTokens":["kb"],"endpoint":`+quote(second.URL)+`},
		{"id":"c","type":"claude","apiTokens":["kc"],"endpoint":`+quote(third.URL)+`}],
		"upstreams":[{"provider":"a"}],
		"fallback":{"enabled":true,"upstreams":[{"provider":"dead"},{"provider":"b"},{"provider":"c","modelMapping":{"*":"claude-x"}}]},
		"routeName":"r"}`)
	rec := g.do("POST", "/v1/chat/completions", chatBody)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), "hello there")
	require.Len(t, first.requests(), 1)
	require.Len(t, second.requests(), 1)
	require.Len(t, third.requests(), 1)
	require.Equal(t, "claude-x", third.last(t).Body["model"])
	for from, to := range map[string]string{"a": "dead", "dead": "b", "b": "c"} {
		require.EqualValues(t, 1, g.counter(t, "gatehouse_ai_fallbacks_total", map[string]string{"ai_route": "r", "from": from, "to": to}), from+"→"+to)
	}
	require.EqualValues(t, 1, g.counter(t, "gatehouse_ai_attempts_total", map[string]string{"ai_cluster": "dead", "outcome": "connection_error"}))
	require.EqualValues(t, 1, g.counter(t, "gatehouse_ai_attempts_total", map[string]string{"ai_cluster": "a", "outcome": "status_5xx"}))
	require.EqualValues(t, 1, g.counter(t, "gatehouse_ai_attempts_total", map[string]string{"ai_cluster": "c", "outcome": "ok"}))
	l := g.logLines(t)[0]
	require.EqualValues(t, 4, l["attempts"])
	require.Equal(t, "c", l["provider"])

	// A status not in onStatus is the answer: no fallback on 400.
	first.fail = failWith(400, `{"error":{"message":"bad request: messages is empty","type":"invalid_request_error"}}`)
	rec = g.do("POST", "/v1/chat/completions", chatBody)
	require.Equal(t, 400, rec.Code)
	require.Contains(t, rec.Body.String(), "messages is empty")
	require.Len(t, first.requests(), 2)
	require.Len(t, second.requests(), 1, "400 is not in onStatus")
}

func TestFallbackOnTimeout(t *testing.T) {
	slow, good := newFake(t), newFake(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow.fail = func(w http.ResponseWriter, r *http.Request, s seen) bool {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return true
	}
	g := newGW(t, `{"providers":[
		{"id":"slow","type":"openai","apiTokens":["k"],"endpoint":`+quote(slow.URL)+`,"timeout":50},
		{"id":"good","type":"openai","apiTokens":["k"],"endpoint":`+quote(good.URL)+`}],
		"activeProviderId":"slow","fallback":{"enabled":true,"upstreams":[{"provider":"good"}]}}`)
	rec := g.do("POST", "/v1/chat/completions", chatBody)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	require.EqualValues(t, 1, g.counter(t, "gatehouse_ai_attempts_total", map[string]string{"ai_cluster": "slow", "outcome": "timeout"}))
}

func TestStartedStreamIsNeverRetried(t *testing.T) {
	cut, other := newFake(t), newFake(t)
	cut.cutStream = true
	for _, client := range []string{"openai", "anthropic"} {
		t.Run(client, func(t *testing.T) {
			g := newGW(t, `{"providers":[
				{"id":"cut","type":"openai","apiTokens":["k"],"endpoint":`+quote(cut.URL)+`},
				{"id":"other","type":"openai","apiTokens":["k"],"endpoint":`+quote(other.URL)+`}],
				"activeProviderId":"cut","fallback":{"enabled":true,"upstreams":[{"provider":"other"}]}}`)
			before := len(other.requests())
			path, body := "/v1/chat/completions", streamBody(false)
			if client == "anthropic" {
				path, body = "/v1/messages", `{"model":"m","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
			}
			rec := g.do("POST", path, body)
			require.Equal(t, 200, rec.Code)
			require.Contains(t, rec.Body.String(), "hello", "the part that arrived reached the client")
			require.Contains(t, rec.Body.String(), "error", "the client learns that the stream broke")
			require.Len(t, other.requests(), before, "a started stream is never retried elsewhere")
		})
	}
}

func TestBrokenJSONFromProvider(t *testing.T) {
	f := newFake(t)
	f.fail = func(w http.ResponseWriter, r *http.Request, s seen) bool {
		if s.Body["stream"] == true {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hel\"}}]}\n\ndata: {not json\n\n")
			return true
		}
		writeJSON(w, `{"id":"x","choices":[`)
		return true
	}
	g := newGW(t, `{"provider":{"id":"p","type":"openai","apiTokens":["k"],"endpoint":`+quote(f.URL)+`}}`)
	rec := g.do("POST", "/v1/chat/completions", chatBody)
	require.Equal(t, 502, rec.Code)
	require.Contains(t, rec.Body.String(), `provider \"p\" (openai)`)

	done := make(chan *httptest.ResponseRecorder)
	go func() {
		done <- g.do("POST", "/v1/messages", `{"model":"m","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	}()
	select {
	case rec = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a broken stream must end, not hang")
	}
	require.Equal(t, 200, rec.Code)
	require.Contains(t, rec.Body.String(), "event: error")
}

func TestKeyCooldownAndRotation(t *testing.T) {
	f := newFake(t)
	f.fail = func(w http.ResponseWriter, r *http.Request, s seen) bool {
		switch r.Header.Get("Authorization") {
		case "Bearer bad-key":
			failWith(401, `{"error":{"message":"Incorrect API key provided: bad-key","type":"invalid_request_error"}}`)(w, r, s)
			return true
		case "Bearer limited-key":
			w.Header().Set("Retry-After", "60")
			failWith(429, `{"error":{"message":"rate limited","type":"rate_limit_error"}}`)(w, r, s)
			return true
		}
		return false
	}
	g := newGW(t, `{"provider":{"id":"p","type":"openai","apiTokens":["bad-key","limited-key","good-key"],"endpoint":`+quote(f.URL)+`}}`)
	for range 6 {
		rec := g.do("POST", "/v1/chat/completions", chatBody)
		require.Equal(t, 200, rec.Code, rec.Body.String())
	}
	var bad, limited, good int
	for _, r := range f.requests() {
		switch r.Header.Get("Authorization") {
		case "Bearer bad-key":
			bad++
		case "Bearer limited-key":
			limited++
		case "Bearer good-key":
			good++
		}
	}
	require.Equal(t, 1, bad, "a token answered 401 is cooled down")
	require.Equal(t, 1, limited, "a token answered 429 is cooled down")
	require.Equal(t, 6, good)
}

func TestFailoverHealthCheckBringsTokenBack(t *testing.T) {
	f := newFake(t)
	healthy := make(chan struct{})
	f.fail = func(w http.ResponseWriter, r *http.Request, s seen) bool {
		if r.Header.Get("Authorization") != "Bearer flaky" {
			return false
		}
		select {
		case <-healthy:
			return false
		default:
		}
		failWith(429, `{"error":{"message":"rate limited"}}`)(w, r, s)
		return true
	}
	g := newGW(t, `{"provider":{"id":"p","type":"openai","apiTokens":["flaky","steady"],"endpoint":`+quote(f.URL)+`,
		"failover":{"enabled":true,"failureThreshold":1,"successThreshold":1,"healthCheckInterval":10,"healthCheckTimeout":1000,"healthCheckModel":"hc-model"}}}`)
	pool := g.inst.providers["p"].tokens
	for range 2 {
		require.Equal(t, 200, g.do("POST", "/v1/chat/completions", chatBody).Code)
	}
	require.Len(t, pool.downTokens(), 1, "the token answered 429 is out of use")
	close(healthy)
	eventually(t, func() bool { return len(pool.downTokens()) == 0 }, "the health check to bring the token back")
	var sawCheck bool
	for _, r := range f.requests() {
		if r.Body["model"] == "hc-model" {
			sawCheck = true
		}
	}
	require.True(t, sawCheck, "the health check used healthCheckModel")
}

func TestRetryOnFailure(t *testing.T) {
	f := newFake(t)
	var calls atomic.Int32
	f.fail = func(w http.ResponseWriter, r *http.Request, s seen) bool {
		if calls.Add(1) <= 2 {
			failWith(500, `{"error":{"message":"boom"}}`)(w, r, s)
			return true
		}
		return false
	}
	g := newGW(t, `{"provider":{"type":"openai","apiTokens":["k"],"endpoint":`+quote(f.URL)+`,"retryOnFailure":{"enabled":true,"maxRetries":2,"retryOnStatus":["5.*"]}}}`)
	rec := g.do("POST", "/v1/chat/completions", chatBody)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	require.Len(t, f.requests(), 3)
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	f := newFake(t)
	f.hangStream = true
	g := newGW(t, `{"provider":{"type":"openai","apiTokens":["k"],"endpoint":`+quote(f.URL)+`}}`)
	srv := httptest.NewServer(g.h)
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/chat/completions", strings.NewReader(streamBody(false)))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	require.NoError(t, err)
	require.Contains(t, line, "hello", "the first event is flushed at once")
	cancel()
	select {
	case <-f.cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the provider did not see the cancel")
	}
	eventually(t, func() bool { return len(g.logLines(t)) == 1 }, "the access-log line")
	require.EqualValues(t, 499, g.logLines(t)[0]["status"])
	require.EqualValues(t, 1, g.counter(t, "gatehouse_ai_attempts_total", map[string]string{"outcome": "cancelled"}))
}

func TestCredentialsStripped(t *testing.T) {
	f := newFake(t)
	g := newGW(t, `{"provider":{"type":"openai","apiTokens":["sk-provider-secret"],"endpoint":`+quote(f.URL)+`}}`)
	rec := g.do("POST", "/v1/chat/completions?key=client-q", chatBody,
		"Authorization", "Bearer client-secret", "X-Api-Key", "client-secret", "Api-Key", "client-secret",
		"X-Goog-Api-Key", "client-secret", "Cookie", "session=client-secret", "X-Gatehouse-Consumer", "spoof",
		"X-Forwarded-For", "10.1.2.3", "X-Custom", "kept")
	require.Equal(t, 200, rec.Code)
	got := f.last(t)
	for k, vs := range got.Header {
		for _, v := range vs {
			require.NotContains(t, v, "client-secret", "header %s", k)
		}
		require.False(t, strings.HasPrefix(k, "X-Gatehouse-"), k)
	}
	require.Equal(t, "Bearer sk-provider-secret", got.Header.Get("Authorization"))
	require.Empty(t, got.Header.Get("X-Forwarded-For"))
	require.Equal(t, "kept", got.Header.Get("X-Custom"))
	require.NotContains(t, rec.Body.String(), "sk-provider-secret")
	for k := range rec.Header() {
		require.NotContains(t, rec.Header().Get(k), "sk-provider-secret")
	}

	// A provider error that quotes the token does not pass it on.
	f.fail = failWith(400, `{"error":{"message":"key sk-provider-secret cannot use this model","type":"invalid_request_error"}}`)
	rec = g.do("POST", "/v1/chat/completions", chatBody)
	require.Equal(t, 400, rec.Code)
	require.NotContains(t, rec.Body.String(), "sk-provider-secret")
	f.fail = failWith(401, `{"error":{"message":"Incorrect API key provided: sk-provider-secret"}}`)
	rec = g.do("POST", "/v1/chat/completions", chatBody)
	require.Equal(t, 502, rec.Code, "a refused provider token is the gateway's problem, not the client's")
	require.NotContains(t, rec.Body.String(), "sk-provider")
	require.Contains(t, rec.Body.String(), "refused the gateway's API token")
}

func TestErrorShapes(t *testing.T) {
	f := newFake(t)
	g := newGW(t, `{"provider":{"id":"p","type":"openai","apiTokens":["k"],"endpoint":`+quote(f.URL)+`},"maxRequestBodyBytes":200,"allowedConsumers":["team-a"]}`)
	dead := newGW(t, `{"provider":{"id":"gone","type":"claude","apiTokens":["k"],"endpoint":`+quote(deadURL(t))+`}}`)
	nobody := newGW(t, `{"provider":{"id":"p","type":"openai","apiTokens":["k"],"endpoint":`+quote(f.URL)+`},"allowedConsumers":[],"routeName":"closed"}`)
	anth := `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`
	withConsumer := func(g *gw, name, method, path, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if name != "" {
			r = r.WithContext(pluginapi.WithConsumer(r.Context(), name))
		}
		rec := httptest.NewRecorder()
		g.h.ServeHTTP(rec, r)
		return rec
	}
	cases := []struct {
		name     string
		g        *gw
		consumer string
		path     string
		body     string
		status   int
		message  string
	}{
		{"too large, openai", g, "team-a", "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("x", 300) + `"}]}`, 413, "larger than 200 bytes"},
		{"too large, anthropic", g, "team-a", "/v1/messages", `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("x", 300) + `"}]}`, 413, "larger than 200 bytes"},
		{"malformed, openai", g, "team-a", "/v1/chat/completions", `{"model":`, 400, "not a valid openai request"},
		{"malformed, anthropic", g, "team-a", "/v1/messages", `[1,2]`, 400, "not a valid anthropic request"},
		{"no model", g, "team-a", "/v1/chat/completions", `{"messages":[]}`, 400, `no \"model\"`},
		{"no consumer", g, "", "/v1/chat/completions", chatBody, 403, "named none"},
		{"consumer not allowed, anthropic", g, "team-b", "/v1/messages", anth, 403, `consumer \"team-b\" may not use`},
		{"an empty allowedConsumers admits nobody", nobody, "team-a", "/v1/chat/completions", chatBody, 403, `consumer \"team-a\" may not use the AI route \"closed\"`},
		{"unreachable, openai", dead, "", "/v1/chat/completions", chatBody, 502, `provider \"gone\" (claude) at http://127.0.0.1`},
		{"unreachable, anthropic", dead, "", "/v1/messages", anth, 502, "could not be reached"},
		{"not a /v1 path", g, "team-a", "/chat/completions", chatBody, 404, "is not served"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := withConsumer(tc.g, tc.consumer, "POST", tc.path, tc.body)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), tc.message)
			var body map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			if strings.HasPrefix(tc.path, "/v1/messages") {
				require.Equal(t, "error", body["type"], "Anthropic's error shape")
				require.Contains(t, body["error"], "message")
			} else {
				require.Contains(t, body["error"], "message", "OpenAI's error shape")
				require.Contains(t, body["error"], "type")
			}
		})
	}
}

func TestModelPredicatesChain(t *testing.T) {
	fa, fb := newFake(t), newFake(t)
	g := newGWs(t,
		`{"provider":{"id":"a","type":"openai","apiTokens":["k"],"endpoint":`+quote(fa.URL)+`},"modelPredicates":[{"matchType":"PRE","matchValue":"gpt-"}],"routeName":"gpt"}`,
		`{"provider":{"id":"b","type":"claude","apiTokens":["k"],"endpoint":`+quote(fb.URL)+`},"modelPredicates":[{"matchType":"EQUAL","matchValue":"claude-sonnet"},{"matchType":"EQUAL","matchValue":"claude-haiku"}],"routeName":"claude"}`)
	rec := g.do("POST", "/v1/chat/completions", chatBody)
	require.Equal(t, 200, rec.Code)
	require.Len(t, fa.requests(), 1)
	rec = g.do("POST", "/v1/messages", `{"model":"claude-haiku","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	require.Len(t, fb.requests(), 1, "a model the first route does not offer goes to the next")
	require.Equal(t, "hi", fb.last(t).Body["messages"].([]any)[0].(map[string]any)["content"], "the body reaches the next route whole")

	rec = g.do("POST", "/v1/messages", `{"model":"llama3","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`)
	require.Equal(t, 404, rec.Code)
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	require.Equal(t, "error", body["type"], "in the client's (Anthropic) shape")
	require.Contains(t, rec.Body.String(), `model \"llama3\" is not offered on this path; the models offered are claude-haiku, claude-sonnet, gpt-*`)

	rec = g.do("GET", "/v1/models", "")
	require.Equal(t, 200, rec.Code)
	var list struct {
		Data []struct{ ID string } `json:"data"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &list))
	require.Len(t, list.Data, 2)
	require.Equal(t, "claude-haiku", list.Data[0].ID)
	require.Equal(t, "claude-sonnet", list.Data[1].ID)
}

func TestModelsListed(t *testing.T) {
	f := newFake(t)
	g := newGW(t, `{"provider":{"type":"openai","apiTokens":["k"],"endpoint":`+quote(f.URL)+`,"modelMapping":{"gpt-4o":"qwen-max","gpt-4o-mini":"qwen-turbo","*":"qwen-plus"}}}`)
	rec := g.do("GET", "/v1/models", "")
	require.Equal(t, 200, rec.Code)
	require.JSONEq(t, `{"object":"list","data":[{"id":"gpt-4o","object":"model","created":0,"owned_by":"gatehouse"},{"id":"gpt-4o-mini","object":"model","created":0,"owned_by":"gatehouse"}]}`, rec.Body.String())
	require.Empty(t, f.requests())
	rec = g.do("GET", "/v1/models", "", "Anthropic-Version", "2023-06-01")
	require.Contains(t, rec.Body.String(), `"type":"model"`, "Anthropic clients get Anthropic's list shape")

	// Without named models the provider's own list is passed on.
	g = newGW(t, `{"provider":{"type":"openai","apiTokens":["k"],"endpoint":`+quote(f.URL)+`}}`)
	rec = g.do("GET", "/v1/models", "")
	require.Equal(t, 200, rec.Code)
	require.Contains(t, rec.Body.String(), "upstream-model")
	require.Equal(t, "/v1/models", f.last(t).Path)
}

func TestPassThroughPaths(t *testing.T) {
	f := newFake(t)
	g := newGW(t, `{"provider":{"type":"openai","apiTokens":["k"],"endpoint":`+quote(f.URL)+`,"modelMapping":{"gpt-4o":"gpt-4.1"}}}`)
	rec := g.do("POST", "/ai/v1/responses", `{"model":"gpt-4o","input":"hi"}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	require.Equal(t, "/v1/responses", f.last(t).Path, "the mount's prefix is not sent on")
	require.Equal(t, "gpt-4.1", f.last(t).Body["model"])
	require.Contains(t, rec.Body.String(), `"passed":true`)
}

func TestWeightedUpstreams(t *testing.T) {
	fa, fb := newFake(t), newFake(t)
	g := newGW(t, `{"providers":[{"id":"a","type":"openai","apiTokens":["k"],"endpoint":`+quote(fa.URL)+`},{"id":"b","type":"openai","apiTokens":["k"],"endpoint":`+quote(fb.URL)+`}],
		"upstreams":[{"provider":"a","weight":100},{"provider":"b","weight":0}]}`)
	for range 5 {
		require.Equal(t, 200, g.do("POST", "/v1/chat/completions", chatBody).Code)
	}
	require.Len(t, fa.requests(), 5)
	require.Empty(t, fb.requests(), "weight 0 takes no requests")
}

func TestAzureDeploymentFromModel(t *testing.T) {
	f := newFake(t)
	g := newGW(t, `{"provider":{"type":"azure","apiTokens":["az-key"],"azureServiceUrl":`+quote(f.URL+"?api-version=2024-10-21")+`,"modelMapping":{"gpt-4o":"my-deployment"}}}`)
	rec := g.do("POST", "/v1/chat/completions", chatBody, "Authorization", "Bearer client")
	require.Equal(t, 200, rec.Code, rec.Body.String())
	got := f.last(t)
	require.Equal(t, "/openai/deployments/my-deployment/chat/completions", got.Path)
	require.Equal(t, "api-version=2024-10-21", got.RawQuery)
	require.Equal(t, "az-key", got.Header.Get("Api-Key"))
	require.Empty(t, got.Header.Get("Authorization"))
}

func TestGeminiKeyNeverInTheURL(t *testing.T) {
	f := newFake(t)
	g := newGW(t, `{"provider":{"type":"gemini","apiTokens":["g-key"],"endpoint":`+quote(f.URL)+`}}`)
	rec := g.do("POST", "/v1/chat/completions?key=client", streamBody(false))
	require.Equal(t, 200, rec.Code, rec.Body.String())
	got := f.last(t)
	require.Equal(t, "/v1beta/models/gpt-4o:streamGenerateContent", got.Path)
	require.Equal(t, "alt=sse", got.RawQuery)
	require.Equal(t, "g-key", got.Header.Get("X-Goog-Api-Key"))
	require.Equal(t, "[DONE]", sseData(rec.Body.String())[len(sseData(rec.Body.String()))-1], "an OpenAI stream to the client")
}

func TestRandomFallbackTriesEveryUpstream(t *testing.T) {
	bad1, bad2, good := newFake(t), newFake(t), newFake(t)
	bad1.fail = failWith(500, `{"error":{"message":"x"}}`)
	bad2.fail = failWith(502, `{"error":{"message":"x"}}`)
	g := newGW(t, `{"providers":[
		{"id":"p","type":"openai","apiTokens":["k"],"endpoint":`+quote(deadURL(t))+`},
		{"id":"b1","type":"openai","apiTokens":["k"],"endpoint":`+quote(bad1.URL)+`},
		{"id":"b2","type":"openai","apiTokens":["k"],"endpoint":`+quote(bad2.URL)+`},
		{"id":"g","type":"openai","apiTokens":["k"],"endpoint":`+quote(good.URL)+`}],
		"activeProviderId":"p","fallback":{"enabled":true,"strategy":"RANDOM","upstreams":[{"provider":"b1"},{"provider":"b2"},{"provider":"g"}]}}`)
	for range 5 {
		require.Equal(t, 200, g.do("POST", "/v1/chat/completions", chatBody).Code)
	}
	require.Len(t, good.requests(), 5)
}

func TestMethodNotAllowed(t *testing.T) {
	g := newGW(t, `{"provider":{"type":"openai","apiTokens":["k"]}}`)
	rec := g.do("GET", "/v1/chat/completions", "")
	require.Equal(t, 405, rec.Code)
	require.Equal(t, "POST", rec.Header().Get("Allow"))
	require.Contains(t, rec.Body.String(), "use POST")
}

func TestConsumersPerRoute(t *testing.T) {
	fa, fb := newFake(t), newFake(t)
	g := newGWs(t,
		`{"provider":{"id":"a","type":"openai","apiTokens":["k"],"endpoint":`+quote(fa.URL)+`},"modelPredicates":[{"matchType":"PRE","matchValue":"gpt-"}],"allowedConsumers":["team-a"]}`,
		`{"provider":{"id":"b","type":"openai","apiTokens":["k"],"endpoint":`+quote(fb.URL)+`},"modelPredicates":[{"matchType":"PRE","matchValue":"deepseek-"}],"allowedConsumers":["team-b"]}`)
	ask := func(consumer, model string) int {
		r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`))
		r = r.WithContext(pluginapi.WithConsumer(r.Context(), consumer))
		rec := httptest.NewRecorder()
		g.h.ServeHTTP(rec, r)
		return rec.Code
	}
	require.Equal(t, 200, ask("team-b", "deepseek-chat"), "the first route's consumers do not stop a model it does not offer")
	require.Equal(t, 403, ask("team-b", "gpt-4o"))
	require.Equal(t, 200, ask("team-a", "gpt-4o"))
	require.Equal(t, 403, ask("team-a", "deepseek-chat"))
	require.Len(t, fa.requests(), 1)
	require.Len(t, fb.requests(), 1)
}

func TestProviderRedirectIsNotFollowed(t *testing.T) {
	elsewhere := newFake(t)
	f := newFake(t)
	f.fail = func(w http.ResponseWriter, r *http.Request, s seen) bool {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
		return true
	}
	g := newGW(t, `{"provider":{"id":"p","type":"openai","apiTokens":["sk-secret"],"endpoint":`+quote(f.URL)+`}}`)
	rec := g.do("POST", "/v1/chat/completions", chatBody)
	require.Equal(t, 502, rec.Code)
	require.Contains(t, rec.Body.String(), "redirect (HTTP 307)")
	require.Empty(t, elsewhere.requests(), "the token never follows a redirect")
}

func TestOriginalProtocolAndGenericPassUnchanged(t *testing.T) {
	f := newFake(t)
	anth := `{"model":"claude-x","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`
	for _, cfg := range []string{
		`{"provider":{"type":"generic","apiTokens":["gk"],"endpoint":` + quote(f.URL) + `}}`,
		`{"provider":{"type":"openai","protocol":"original","apiTokens":["gk"],"endpoint":` + quote(f.URL) + `}}`,
	} {
		g := newGW(t, cfg)
		rec := g.do("POST", "/v1/messages", anth)
		require.Equal(t, 200, rec.Code, rec.Body.String())
		got := f.last(t)
		require.Equal(t, "/v1/messages", got.Path, "the client's path, not translated")
		require.Equal(t, "Bearer gk", got.Header.Get("Authorization"))
		require.EqualValues(t, 5, got.Body["max_tokens"])
		require.Contains(t, rec.Body.String(), `"type":"message"`, "the provider's Anthropic answer, unchanged in shape")
		require.EqualValues(t, fakeInput, g.counter(t, "route_upstream_model_consumer_metric_input_token", map[string]string{"ai_model": "claude-x"}), "usage is still read")
	}
}

func TestConcurrentRequests(t *testing.T) {
	f := newFake(t)
	f.fail = func(w http.ResponseWriter, r *http.Request, s seen) bool {
		if r.Header.Get("Authorization") == "Bearer bad" {
			failWith(401, `{"error":{"message":"no"}}`)(w, r, s)
			return true
		}
		return false
	}
	g := newGW(t, `{"provider":{"id":"p","type":"openai","apiTokens":["bad","good-1","good-2"],"endpoint":`+quote(f.URL)+`},"routeName":"r"}`)
	const n = 40
	codes := make(chan int, n)
	for i := range n {
		go func() {
			body := chatBody
			if i%2 == 1 {
				body = streamBody(false)
			}
			codes <- g.do("POST", "/v1/chat/completions", body).Code
		}()
	}
	for range n {
		require.Equal(t, 200, <-codes)
	}
	require.EqualValues(t, n*fakeInput, g.counter(t, "route_upstream_model_consumer_metric_input_token", map[string]string{"ai_route": "r"}))
	require.EqualValues(t, n*fakeOutput, g.counter(t, "route_upstream_model_consumer_metric_output_token", map[string]string{"ai_route": "r"}))
}

// A client sending random model names cannot grow the metrics: a model
// the provider refused counts as "other"; a model it served keeps its own
// label.
func TestRandomModelsDoNotGrowTheMetrics(t *testing.T) {
	f := newFake(t)
	g := newGW(t, `{"provider":{"id":"p1","type":"openai","apiTokens":["pk"],"endpoint":`+quote(f.URL)+`},"routeName":"r1"}`)
	f.fail = failWith(404, `{"error":{"message":"The model does not exist","type":"invalid_request_error","code":"model_not_found"}}`)
	for i := 0; i < 30; i++ {
		rec := g.do("POST", "/v1/chat/completions", `{"model":"no-such-model-`+strconv.Itoa(i)+`","messages":[{"role":"user","content":"hi"}]}`)
		require.Equal(t, 404, rec.Code, rec.Body.String())
	}
	f.fail = nil
	require.Equal(t, 200, g.do("POST", "/v1/chat/completions", chatBody).Code)
	require.Zero(t, g.counter(t, "gatehouse_ai_requests_total", map[string]string{"ai_model": "no-such-model-3"}))
	require.EqualValues(t, 30, g.counter(t, "gatehouse_ai_requests_total", map[string]string{"ai_model": "other", "status": "404"}))
	require.EqualValues(t, 1, g.counter(t, "gatehouse_ai_requests_total", map[string]string{"ai_model": "gpt-4o", "status": "200"}))
}
