package translate

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time (user + system) the process used so far. The
// machine is shared: wall time per op swings with the load, CPU time much
// less, and the goal is about CPU.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measureCPU reports the CPU time per op as "cpu-ns/op".
func measureCPU(b *testing.B) func() {
	start := cpuTime(b)
	return func() {
		b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
	}
}

// A typical chat turn: a system prompt, a short conversation with one
// tool call and its result, two tools; the answer is text plus usage.
var (
	benchOpenAIRequest     = []byte(`{"model":"gpt-4o","messages":[{"role":"system","content":"You are a helpful assistant for an online shop. Answer briefly and politely; use the tools to look up orders."},{"role":"user","content":"Where is my order 84312? It was supposed to arrive yesterday."},{"role":"assistant","content":null,"tool_calls":[{"id":"call_Q7mW2","type":"function","function":{"name":"get_order","arguments":"{\"order_id\":\"84312\"}"}}]},{"role":"tool","tool_call_id":"call_Q7mW2","content":"{\"status\":\"in transit\",\"carrier\":\"DHL\",\"eta\":\"2026-12-05\"}"},{"role":"user","content":"Can you also tell me whether I can still change the address?"}],"tools":[{"type":"function","function":{"name":"get_order","description":"Look up an order by id","parameters":{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]}}},{"type":"function","function":{"name":"change_address","description":"Change the delivery address of an order in transit","parameters":{"type":"object","properties":{"order_id":{"type":"string"},"address":{"type":"string"}},"required":["order_id","address"]}}}],"temperature":0.3,"max_tokens":512}`)
	benchOpenAIResponse    = []byte(`{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"Your order 84312 is in transit with DHL and should arrive on December 5. Since it is already on its way, the address can only be changed through DHL's own service; I can start that for you if you give me the new address.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":212,"completion_tokens":58,"total_tokens":270,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_b3f1157249"}`)
	benchAnthropicResponse = []byte(`{"id":"msg_01Aq9w938a90dw8q","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Your order 84312 is in transit with DHL and should arrive on December 5. Since it is already on its way, the address can only be changed through DHL's own service; I can start that for you if you give me the new address."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":212,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":58}}`)
)

func benchAnthropicRequest(b *testing.B) []byte {
	a, err := Request(OpenAI, Anthropic, benchOpenAIRequest, RequestOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// BenchmarkPassThrough is what the plugin does for a client and provider
// of one protocol: read the routing fields, map the model, read the usage.
func BenchmarkPassThrough(b *testing.B) {
	b.ReportAllocs()
	defer measureCPU(b)()
	b.SetBytes(int64(len(benchOpenAIRequest) + len(benchOpenAIResponse)))
	for b.Loop() {
		if _, err := Inspect(OpenAI, benchOpenAIRequest); err != nil {
			b.Fatal(err)
		}
		body, err := SetModel(benchOpenAIRequest, "gpt-4o-mini")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Request(OpenAI, OpenAI, body, RequestOptions{}); err != nil {
			b.Fatal(err)
		}
		if _, _, err := Response(OpenAI, OpenAI, benchOpenAIResponse, "gpt-4o"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTranslateOpenAIClientAnthropicProvider: the same plus
// translating the request to Anthropic and the answer back.
func BenchmarkTranslateOpenAIClientAnthropicProvider(b *testing.B) {
	b.ReportAllocs()
	defer measureCPU(b)()
	b.SetBytes(int64(len(benchOpenAIRequest) + len(benchAnthropicResponse)))
	for b.Loop() {
		if _, err := Inspect(OpenAI, benchOpenAIRequest); err != nil {
			b.Fatal(err)
		}
		body, err := SetModel(benchOpenAIRequest, "claude-sonnet-4-5")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Request(OpenAI, Anthropic, body, RequestOptions{}); err != nil {
			b.Fatal(err)
		}
		if _, _, err := Response(Anthropic, OpenAI, benchAnthropicResponse, "gpt-4o"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTranslateAnthropicClientOpenAIProvider: an Anthropic client
// (Claude Code, say) in front of an OpenAI provider.
func BenchmarkTranslateAnthropicClientOpenAIProvider(b *testing.B) {
	req := benchAnthropicRequest(b)
	b.ReportAllocs()
	defer measureCPU(b)()
	b.SetBytes(int64(len(req) + len(benchOpenAIResponse)))
	for b.Loop() {
		if _, err := Inspect(Anthropic, req); err != nil {
			b.Fatal(err)
		}
		body, err := SetModel(req, "gpt-4o")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Request(Anthropic, OpenAI, body, RequestOptions{}); err != nil {
			b.Fatal(err)
		}
		if _, _, err := Response(OpenAI, Anthropic, benchOpenAIResponse, "claude-sonnet-4-5"); err != nil {
			b.Fatal(err)
		}
	}
}

func benchStream(b *testing.B, from, to Protocol, file string) {
	in := readTestdata(b, "streams/"+file)
	b.ReportAllocs()
	defer measureCPU(b)()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		s, err := NewStream(from, to, StreamOptions{Model: "m", Created: 1})
		if err != nil {
			b.Fatal(err)
		}
		// Feed the stream as the network would: a few hundred bytes a read.
		for p := in; len(p) > 0; {
			n := min(len(p), 256)
			if _, err := s.Feed(p[:n]); err != nil {
				b.Fatal(err)
			}
			p = p[n:]
		}
		if _, err := s.Finish(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStreamPassOpenAI(b *testing.B) { benchStream(b, OpenAI, OpenAI, "openai_tool.sse") }
func BenchmarkStreamOpenAIToAnthropic(b *testing.B) {
	benchStream(b, OpenAI, Anthropic, "openai_tool.sse")
}
func BenchmarkStreamPassAnthropic(b *testing.B) {
	benchStream(b, Anthropic, Anthropic, "anthropic_tool.sse")
}
func BenchmarkStreamAnthropicToOpenAI(b *testing.B) {
	benchStream(b, Anthropic, OpenAI, "anthropic_tool.sse")
}

// BenchmarkHTTPRoundTripBaseline is the yardstick for the figures above:
// the CPU of one loopback HTTP exchange of the same request and answer
// (client and server in this process), which is about what a proxy spends
// receiving a call and making it upstream. The goal compares
// translation with the whole gateway's cost per request.
func BenchmarkHTTPRoundTripBaseline(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(benchOpenAIResponse)
	}))
	defer srv.Close()
	client := srv.Client()
	b.ReportAllocs()
	defer measureCPU(b)()
	for b.Loop() {
		resp, err := client.Post(srv.URL+"/v1/chat/completions", "application/json", bytes.NewReader(benchOpenAIRequest))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
}
