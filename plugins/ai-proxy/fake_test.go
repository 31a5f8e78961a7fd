package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/plugintest"
)

// The fake provider's answer is "hello there" with this usage.
const (
	fakeInput  = 5
	fakeOutput = 7
)

// seen is one request a fake provider received.
type seen struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   map[string]any
}

// fakeProvider is a small LLM provider: OpenAI chat and embeddings,
// Anthropic messages and Gemini generateContent, streamed or not, with a
// fixed answer and usage. fail, when set, may answer a request itself.
type fakeProvider struct {
	*httptest.Server
	mu        sync.Mutex
	reqs      []seen
	fail      func(w http.ResponseWriter, r *http.Request, s seen) bool
	cancelled chan struct{} // closed when a streamed request was cancelled by the gateway
	once      sync.Once
	// hangStream: after the first event, wait for the request's cancel.
	hangStream bool
	// cutStream: end a stream after the first event, without its terminal events.
	cutStream bool
}

func newFake(t testing.TB) *fakeProvider {
	t.Helper()
	f := &fakeProvider{cancelled: make(chan struct{})}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeProvider) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func (f *fakeProvider) last(t *testing.T) seen {
	t.Helper()
	r := f.requests()
	require.NotEmpty(t, r, "the provider was called")
	return r[len(r)-1]
}

func (f *fakeProvider) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	s := seen{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone()}
	_ = json.Unmarshal(raw, &s.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, s)
	fail := f.fail
	f.mu.Unlock()
	if fail != nil && fail(w, r, s) {
		return
	}
	model, _ := s.Body["model"].(string)
	stream, _ := s.Body["stream"].(bool)
	switch {
	case strings.HasSuffix(r.URL.Path, "/embeddings"):
		writeJSON(w, fmt.Sprintf(`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"model":%q,"usage":{"prompt_tokens":%d,"total_tokens":%d}}`, model, fakeInput, fakeInput))
	case strings.HasSuffix(r.URL.Path, "/models"):
		writeJSON(w, `{"object":"list","data":[{"id":"upstream-model","object":"model","created":0,"owned_by":"fake"}]}`)
	case strings.HasSuffix(r.URL.Path, "/chat/completions"):
		if !stream {
			writeJSON(w, fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"hello there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`, model, fakeInput, fakeOutput, fakeInput+fakeOutput))
			return
		}
		chunk := func(delta, finish string) string {
			fin := "null"
			if finish != "" {
				fin = `"` + finish + `"`
			}
			return fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":%q,"choices":[{"index":0,"delta":%s,"finish_reason":%s}]}`, model, delta, fin)
		}
		events := []string{chunk(`{"role":"assistant","content":"hello"}`, ""), chunk(`{"content":" there"}`, ""), chunk(`{}`, "stop")}
		if so, _ := s.Body["stream_options"].(map[string]any); so != nil && so["include_usage"] == true {
			events = append(events, fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":%q,"choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`, model, fakeInput, fakeOutput, fakeInput+fakeOutput))
		}
		events = append(events, "[DONE]")
		f.stream(w, r, events, nil)
	case strings.HasSuffix(r.URL.Path, "/messages"):
		if !stream {
			writeJSON(w, fmt.Sprintf(`{"id":"msg_1","type":"message","role":"assistant","model":%q,"content":[{"type":"text","text":"hello there"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":%d,"output_tokens":%d}}`, model, fakeInput, fakeOutput))
			return
		}
		events := []string{
			fmt.Sprintf(`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":%q,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":%d,"output_tokens":1}}}`, model, fakeInput),
			`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
			`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hello"}}`,
			`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" there"}}`,
			`{"type":"content_block_stop","index":0}`,
			fmt.Sprintf(`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":%d}}`, fakeOutput),
			`{"type":"message_stop"}`,
		}
		names := []string{"message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"}
		f.stream(w, r, events, names)
	case strings.Contains(r.URL.Path, ":generateContent"):
		writeJSON(w, fmt.Sprintf(`{"candidates":[{"content":{"role":"model","parts":[{"text":"hello there"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":%d,"candidatesTokenCount":%d,"totalTokenCount":%d},"modelVersion":"gemini-x"}`, fakeInput, fakeOutput, fakeInput+fakeOutput))
	case strings.Contains(r.URL.Path, ":streamGenerateContent"):
		events := []string{
			`{"candidates":[{"content":{"role":"model","parts":[{"text":"hello"}]},"index":0}],"modelVersion":"gemini-x"}`,
			fmt.Sprintf(`{"candidates":[{"content":{"role":"model","parts":[{"text":" there"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":%d,"candidatesTokenCount":%d,"totalTokenCount":%d},"modelVersion":"gemini-x"}`, fakeInput, fakeOutput, fakeInput+fakeOutput),
		}
		f.stream(w, r, events, nil)
	default:
		writeJSON(w, `{"passed":true}`)
	}
}

func (f *fakeProvider) stream(w http.ResponseWriter, r *http.Request, events, names []string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	for i, e := range events {
		if names != nil {
			fmt.Fprintf(w, "event: %s\n", names[i])
		}
		fmt.Fprintf(w, "data: %s\n\n", e)
		w.(http.Flusher).Flush()
		if i == 0 && f.cutStream {
			return
		}
		if i == 0 && f.hangStream {
			<-r.Context().Done()
			f.once.Do(func() { close(f.cancelled) })
			return
		}
	}
}

func writeJSON(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, body)
}

// gw is an ai-proxy instance under test, with its logs and metrics.
type gw struct {
	h    http.Handler
	inst *instance
	logs *plugintest.Buffer
	reg  *prometheus.Registry
}

// terminal404 is the end of an AI chain: a 404, as the gateway compiles it.
var terminal404 = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	_, _ = io.WriteString(w, `{"error":{"code":"no_route","message":"no route"}}`)
})

func newGW(t testing.TB, cfg string) *gw {
	t.Helper()
	return newGWs(t, cfg)
}

// newGWs chains one instance per config, in order, in front of a 404.
func newGWs(t testing.TB, cfgs ...string) *gw {
	t.Helper()
	host := plugintest.NewHost(t, "")
	host.Log = slog.New(slog.NewJSONHandler(host.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g := &gw{logs: host.Logs, reg: host.Registry}
	var h http.Handler = terminal404
	for i := len(cfgs) - 1; i >= 0; i-- {
		inst, err := Plugin.New(context.Background(), json.RawMessage(cfgs[i]), host)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, inst.Close()) })
		h = inst.Handler(h)
		if i == 0 {
			g.inst = inst.(*instance)
		}
	}
	g.h = h
	return g
}

// do sends a request through the instance and returns the recorded answer.
func (g *gw) do(method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	g.h.ServeHTTP(rec, r)
	return rec
}

// counter returns the value of a counter with these labels.
func (g *gw) counter(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := g.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// logLines returns the "ai request" access-log lines.
func (g *gw) logLines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(g.logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "ai request" {
			out = append(out, m)
		}
	}
	return out
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
