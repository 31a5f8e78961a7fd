package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/aiwire"
	"github.com/gatehouse-dev/gatehouse/plugins/internal/plugintest"
	"github.com/gatehouse-dev/gatehouse/plugins/internal/redistest"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

const theAnswer = "Redis is an in-memory \"data\" store.\nIt is fast."

// provider stands in for ai-proxy and the LLM behind it: like ai-proxy it
// refuses a consumer it does not admit, then serves ai-cache's answer in
// place of the LLM; else it answers in the client's protocol, as JSON or
// SSE, and counts the calls that reached the LLM.
type provider struct {
	calls  atomic.Int64
	mode   atomic.Value // "", "cut", "error", "tools"
	refuse atomic.Value // a consumer answered 403
}

func (p *provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c, _ := pluginapi.ConsumerFromContext(r.Context()); c != "" && c == p.refuse.Load() {
		aiwire.WriteError(w, r, http.StatusForbidden, "", "consumer "+c+" may not use this AI route", 0)
		return
	}
	if a := pluginapi.CachedAnswerFrom(r.Context()); a != nil {
		a.Serve(w)
		return
	}
	p.calls.Add(1)
	body, _ := io.ReadAll(r.Body)
	stream := gjson.GetBytes(body, "stream").Bool()
	model := gjson.GetBytes(body, "model").Str
	mode, _ := p.mode.Load().(string)
	if mode == "error" {
		aiwire.WriteError(w, r, http.StatusTooManyRequests, "", "slow down", 0)
		return
	}
	text, _ := json.Marshal(theAnswer)
	half, _ := json.Marshal(theAnswer[:10])
	rest, _ := json.Marshal(theAnswer[10:])
	anthropic := aiwire.ProtocolOf(r) == aiwire.Anthropic
	switch {
	case !stream && !anthropic:
		w.Header().Set("Content-Type", "application/json")
		msg := `{"role":"assistant","content":` + string(text) + `}`
		finish := "stop"
		if mode == "tools" {
			msg = `{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]}`
			finish = "tool_calls"
		}
		_, _ = io.WriteString(w, `{"id":"x","object":"chat.completion","created":1,"model":"`+model+`-2025","choices":[{"index":0,"message":`+msg+`,"finish_reason":"`+finish+`"}],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}`)
	case !stream:
		w.Header().Set("Content-Type", "application/json")
		blocks, stop := `[{"type":"text","text":`+string(text)+`}]`, "end_turn"
		if mode == "tools" {
			blocks, stop = `[{"type":"text","text":"calling"},{"type":"tool_use","id":"t1","name":"f","input":{}}]`, "tool_use"
		}
		_, _ = io.WriteString(w, `{"id":"msg_1","type":"message","role":"assistant","model":"`+model+`","content":`+blocks+`,"stop_reason":"`+stop+`","stop_sequence":null,"usage":{"input_tokens":11,"output_tokens":7}}`)
	case !anthropic:
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := func(delta, finish string) {
			_, _ = io.WriteString(w, `data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"`+model+`","choices":[{"index":0,"delta":`+delta+`,"finish_reason":`+finish+`}]}`+"\n\n")
			w.(http.Flusher).Flush()
		}
		chunk(`{"role":"assistant","content":`+string(half)+`}`, "null")
		if mode == "cut" {
			return
		}
		if mode == "tools" {
			chunk(`{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]}`, "null")
		}
		chunk(`{"content":`+string(rest)+`}`, "null")
		chunk(`{}`, `"stop"`)
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
	default:
		w.Header().Set("Content-Type", "text/event-stream")
		ev := func(name, data string) {
			_, _ = io.WriteString(w, "event: "+name+"\ndata: "+data+"\n\n")
			w.(http.Flusher).Flush()
		}
		ev("message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"`+model+`","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":11,"output_tokens":1}}}`)
		ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`+string(half)+`}}`)
		if mode == "cut" {
			return
		}
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`+string(rest)+`}}`)
		ev("content_block_stop", `{"type":"content_block_stop","index":0}`)
		stop := "end_turn"
		if mode == "tools" {
			ev("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t1","name":"f","input":{}}}`)
			ev("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{}"}}`)
			ev("content_block_stop", `{"type":"content_block_stop","index":1}`)
			stop = "tool_use"
		}
		ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"`+stop+`","stop_sequence":null},"usage":{"output_tokens":7}}`)
		ev("message_stop", `{"type":"message_stop"}`)
	}
}

type fixture struct {
	t     *testing.T
	host  *plugintest.Host
	in    *instance
	llm   *provider
	h     http.Handler
	redis *redistest.Server
}

func newFixture(t *testing.T, cfg string) *fixture {
	t.Helper()
	rs := startRedis(t)
	host := plugintest.NewHost(t, rs.Addr)
	inst, err := Plugin.New(context.Background(), json.RawMessage(cfg), host)
	require.NoError(t, err)
	t.Cleanup(func() { _ = inst.Close() })
	llm := &provider{}
	return &fixture{t: t, host: host, in: inst.(*instance), llm: llm, h: inst.Handler(llm), redis: rs}
}

// ask sends a chat request: protocol "openai" or "anthropic".
func (f *fixture) ask(protocol, model, question string, stream bool, header ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	path := "/llm/v1/chat/completions"
	if protocol == "anthropic" {
		path = "/llm/v1/messages"
	}
	q, _ := json.Marshal(question)
	body := `{"model":"` + model + `","stream":` + map[bool]string{true: "true", false: "false"}[stream] + `,"messages":[{"role":"user","content":` + string(q) + `}]}`
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

// content reads the assistant's text of an answer in any protocol and
// form, through the same translation the store uses; a malformed answer
// fails the test.
func content(t *testing.T, protocol string, rec *httptest.ResponseRecorder) string {
	t.Helper()
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	p := aiwire.OpenAI
	if protocol == "anthropic" {
		p = aiwire.Anthropic
	}
	c, err := parseConfig([]byte(`{"cache":{"type":"redis"}}`))
	require.NoError(t, err)
	var a *answer
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/event-stream") {
		a, err = c.answerFromStream(p, rec.Body.Bytes(), "m")
	} else {
		a, err = c.answerFromJSON(p, rec.Body.Bytes(), "m")
	}
	require.NoError(t, err, "a well-formed answer: %s", rec.Body.String())
	return a.Content
}

func TestAHitNeverReachesTheProviderAndReplaysInEveryForm(t *testing.T) {
	for _, first := range []struct {
		protocol string
		stream   bool
	}{{"openai", false}, {"openai", true}, {"anthropic", false}, {"anthropic", true}} {
		t.Run(first.protocol+map[bool]string{true: "-stream", false: "-json"}[first.stream], func(t *testing.T) {
			f := newFixture(t, `{"cache":{"type":"redis","cacheTTL":60}}`)
			rec := f.ask(first.protocol, "gpt-4o", "What is Redis?", first.stream)
			require.Equal(t, theAnswer, content(t, first.protocol, rec))
			require.Equal(t, "miss", rec.Header().Get(CacheHeader))
			require.EqualValues(t, 1, f.llm.calls.Load())

			for _, again := range []struct {
				protocol string
				stream   bool
			}{{"openai", false}, {"openai", true}, {"anthropic", false}, {"anthropic", true}} {
				rec := f.ask(again.protocol, "gpt-4o", "What is Redis?", again.stream)
				require.Equal(t, "hit", rec.Header().Get(CacheHeader), "%s stream=%v", again.protocol, again.stream)
				require.Equal(t, theAnswer, content(t, again.protocol, rec), "%s stream=%v", again.protocol, again.stream)
				want := "application/json"
				if again.stream {
					want = "text/event-stream"
				}
				require.Equal(t, want, rec.Header().Get("Content-Type"))
			}
			require.EqualValues(t, 1, f.llm.calls.Load(), "hits never reach the provider")
			require.InDelta(t, 4, value(f.in.m.hits.WithLabelValues("", "gpt-4o", "")), 0)
			require.InDelta(t, 1, value(f.in.m.misses.WithLabelValues("", "gpt-4o", "")), 0)

			// Another model, another question: misses.
			f.ask("openai", "gpt-4o-mini", "What is Redis?", false)
			f.ask("openai", "gpt-4o", "What is Postgres?", false)
			require.EqualValues(t, 3, f.llm.calls.Load())

			keys, err := f.host.Redis().Keys(context.Background(), "higress-ai-cache:*").Result()
			require.NoError(t, err)
			require.Len(t, keys, 3)
			ttl, err := f.host.Redis().TTL(context.Background(), keys[0]).Result()
			require.NoError(t, err)
			require.Greater(t, ttl.Seconds(), 50.0, "cacheTTL applies")
		})
	}
}

func TestOnlyWholeSuccessfulAnswersAreStored(t *testing.T) {
	for _, mode := range []string{"cut", "error", "tools"} {
		for _, protocol := range []string{"openai", "anthropic"} {
			for _, stream := range []bool{false, true} {
				if mode == "cut" && !stream {
					continue
				}
				t.Run(mode+"/"+protocol, func(t *testing.T) {
					f := newFixture(t, `{"cache":{"type":"redis"}}`)
					f.llm.mode.Store(mode)
					f.ask(protocol, "m", "q", stream)
					f.llm.mode.Store("")
					rec := f.ask(protocol, "m", "q", stream)
					require.Equal(t, "miss", rec.Header().Get(CacheHeader))
					require.EqualValues(t, 2, f.llm.calls.Load(), "the %s answer was not stored", mode)
					require.Equal(t, theAnswer, content(t, protocol, rec))
				})
			}
		}
	}
}

func TestSkipHeaderNeitherReadsNorStores(t *testing.T) {
	f := newFixture(t, `{"cache":{"type":"redis"}}`)
	f.ask("openai", "m", "q", false, "x-higress-skip-ai-cache", "on")
	f.ask("openai", "m", "q", false)
	require.EqualValues(t, 2, f.llm.calls.Load(), "the skipped answer was not stored")
	rec := f.ask("openai", "m", "q", false, "x-higress-skip-ai-cache", "on")
	require.Empty(t, rec.Header().Get(CacheHeader))
	require.EqualValues(t, 3, f.llm.calls.Load(), "a skipping request is not answered from the cache")
	require.Equal(t, "hit", f.ask("openai", "m", "q", false).Header().Get(CacheHeader))
}

func TestDisabledAndOtherPathsPassThrough(t *testing.T) {
	f := newFixture(t, `{"cache":{"type":"redis"},"cacheKeyStrategy":"disabled"}`)
	f.ask("openai", "m", "q", false)
	f.ask("openai", "m", "q", false)
	require.EqualValues(t, 2, f.llm.calls.Load())

	g := newFixture(t, `{"cache":{"type":"redis"}}`)
	for range 2 {
		req := httptest.NewRequest(http.MethodPost, "/v1/embeddings", strings.NewReader(`{"model":"m","input":"q"}`))
		g.h.ServeHTTP(httptest.NewRecorder(), req)
	}
	require.EqualValues(t, 2, g.llm.calls.Load(), "embeddings are not cached")
}

// askAs sends a chat request as consumer and returns the answer.
func (f *fixture) askAs(consumer string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"q"}]}`))
	req = req.WithContext(pluginapi.WithConsumer(req.Context(), consumer))
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

func TestCacheByConsumerKeepsConsumersApart(t *testing.T) {
	// The default: a team's answers, which may rest on its own system
	// prompt (not part of a lastQuestion key), never reach another team.
	for _, cfg := range []string{`{"cache":{"type":"redis"}}`, `{"cache":{"type":"redis"},"cacheKeyByConsumer":true}`} {
		f := newFixture(t, cfg)
		require.Equal(t, "miss", f.askAs("team-a").Header().Get(CacheHeader), cfg)
		require.Equal(t, "hit", f.askAs("team-a").Header().Get(CacheHeader), cfg)
		require.Equal(t, "miss", f.askAs("team-b").Header().Get(CacheHeader), "%s: team-b never gets team-a's answer", cfg)
	}
	f := newFixture(t, `{"cache":{"type":"redis"},"cacheKeyByConsumer":false}`)
	require.Equal(t, "miss", f.askAs("team-a").Header().Get(CacheHeader))
	require.Equal(t, "hit", f.askAs("team-b").Header().Get(CacheHeader), "cacheKeyByConsumer false shares answers")
}

// A hit is served where the provider would be called: a consumer the
// route refuses (ai-proxy's allowedConsumers) gets the refusal, not the
// answer another consumer's call stored.
func TestAHitNeverServesACallerTheRouteRefuses(t *testing.T) {
	f := newFixture(t, `{"cache":{"type":"redis"},"cacheKeyByConsumer":false}`)
	require.Equal(t, "miss", f.askAs("team-a").Header().Get(CacheHeader))
	f.llm.refuse.Store("intruder")
	rec := f.askAs("intruder")
	require.Equal(t, http.StatusForbidden, rec.Code, rec.Body.String())
	require.NotContains(t, rec.Body.String(), "Redis is an in-memory", "the stored answer is not leaked")
	require.Empty(t, rec.Header().Get(CacheHeader), "not a hit")
	require.Zero(t, value(f.in.m.hits.WithLabelValues("", "m", "intruder")), "a refused request is not counted as a hit")
	require.Equal(t, "hit", f.askAs("team-a").Header().Get(CacheHeader), "the answer is still there for those admitted")
	require.EqualValues(t, 1, f.llm.calls.Load())
}

func TestHitsCountUsageOnlyWhenConfigured(t *testing.T) {
	for _, counts := range []bool{false, true} {
		f := newFixture(t, `{"cache":{"type":"redis"},"hitsCountUsage":`+map[bool]string{true: "true", false: "false"}[counts]+`}`)
		f.ask("openai", "m", "q", false)
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"q"}]}`))
		ctx, rec := pluginapi.WithAIUsageRecorder(req.Context())
		resp := httptest.NewRecorder()
		f.h.ServeHTTP(resp, req.WithContext(ctx))
		require.Equal(t, "hit", resp.Header().Get(CacheHeader))
		u, known := rec.Usage()
		require.True(t, known, "a hit always tells the plugins before it")
		require.True(t, u.FromCache)
		if counts {
			require.EqualValues(t, 11, u.InputTokens)
			require.EqualValues(t, 7, u.OutputTokens)
		} else {
			require.Zero(t, u.InputTokens+u.OutputTokens, "hitsCountUsage=false: the hit costs nothing")
		}
	}
}

func TestRedisDownBypassesTheCacheAndSaysSoOnce(t *testing.T) {
	f := newFixture(t, `{"cache":{"type":"redis","timeout":200}}`)
	f.ask("openai", "m", "q", false)
	require.Equal(t, "hit", f.ask("openai", "m", "q", false).Header().Get(CacheHeader))
	f.redis.Stop()
	for i := range 20 {
		rec := f.ask("openai", "m", "q", i%2 == 0)
		require.Equal(t, theAnswer, content(t, "openai", rec), "served without Redis")
	}
	require.EqualValues(t, 21, f.llm.calls.Load())
	require.Equal(t, 1, strings.Count(f.host.Logs.String(), "ai cache bypassed"), f.host.Logs.String())
	require.Contains(t, f.host.Logs.String(), "error=\"redis")
	require.InDelta(t, 0, value(f.in.m.redisUp), 0)
	require.Positive(t, value(f.in.m.bypassed.WithLabelValues("", "redis_unavailable")))

	f.redis.Start()
	waitFor(t, 10e9, "the cache to answer again", func() bool {
		return f.ask("openai", "m", "q2", false).Header().Get(CacheHeader) == "miss"
	})
	require.Equal(t, "hit", f.ask("openai", "m", "q2", false).Header().Get(CacheHeader))
	require.Contains(t, f.host.Logs.String(), "ai cache back")
	require.InDelta(t, 1, value(f.in.m.redisUp), 0)
}

func TestNoRedisConfiguredStillServes(t *testing.T) {
	host := plugintest.NewHost(t, "")
	inst, err := Plugin.New(context.Background(), json.RawMessage(`{"cache":{"type":"redis"}}`), host)
	require.NoError(t, err)
	llm := &provider{}
	h := inst.Handler(llm)
	for range 3 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"q"}]}`)))
		require.Equal(t, http.StatusOK, rec.Code)
	}
	require.EqualValues(t, 3, llm.calls.Load())
	require.Equal(t, 1, strings.Count(host.Logs.String(), "redis is not configured"))
}

func TestAnAttackerCannotInjectJSONThroughAStoredAnswer(t *testing.T) {
	f := newFixture(t, `{"cache":{"type":"redis"}}`)
	key := cacheKey("higress-ai-cache:", "m", "", "q")
	evil := `{"v":1,"content":"\"}],\"x\":1,\"y\":[{\"a\":\"","finish":"stop\",\"injected\":\"1"}`
	require.NoError(t, f.host.Redis().Set(context.Background(), key, evil, 0).Err())
	for _, p := range []string{"openai", "anthropic"} {
		for _, stream := range []bool{false, true} {
			rec := f.ask(p, "m\"x", "q", stream) // a model name with a quote
			_ = rec
			rec = f.ask(p, "m", "q", stream)
			require.Equal(t, "hit", rec.Header().Get(CacheHeader))
			require.NotContains(t, rec.Body.String(), `"injected"`)
			require.Equal(t, `"}],"x":1,"y":[{"a":"`, content(t, p, rec))
		}
	}
}

// value reads a counter or gauge.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return -1
	}
	if d.Counter != nil {
		return d.GetCounter().GetValue()
	}
	return d.GetGauge().GetValue()
}

// A client sending random model names cannot grow the metrics: a miss
// whose answer failed counts its unknown model as "other".
func TestRandomModelsDoNotGrowTheMetrics(t *testing.T) {
	f := newFixture(t, `{"cache":{"type":"redis"}}`)
	f.llm.mode.Store("error")
	for i := 0; i < 50; i++ {
		f.ask("openai", "random-model-"+strconv.Itoa(i), "q", false)
	}
	require.Zero(t, value(f.in.m.misses.WithLabelValues("", "random-model-7", "")))
	require.InDelta(t, 50, value(f.in.m.misses.WithLabelValues("", "other", "")), 0)
	f.llm.mode.Store("")
	f.ask("openai", "served-model", "q", false)
	require.InDelta(t, 1, value(f.in.m.misses.WithLabelValues("", "served-model", "")), 0, "a model that was served is its own label")
}
