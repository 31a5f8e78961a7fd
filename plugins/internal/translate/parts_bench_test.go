package translate

import (
	"testing"

	"github.com/tidwall/gjson"
)

func BenchmarkPartValid(b *testing.B) {
	defer measureCPU(b)()
	for b.Loop() {
		gjson.ValidBytes(benchOpenAIRequest)
	}
}

func BenchmarkPartRequestA2O(b *testing.B) {
	req := benchAnthropicRequest(b)
	defer measureCPU(b)()
	for b.Loop() {
		_, _ = Request(Anthropic, OpenAI, req, RequestOptions{})
	}
}

func BenchmarkPartRequestO2A(b *testing.B) {
	defer measureCPU(b)()
	for b.Loop() {
		_, _ = Request(OpenAI, Anthropic, benchOpenAIRequest, RequestOptions{})
	}
}

func BenchmarkPartResponseO2A(b *testing.B) {
	defer measureCPU(b)()
	for b.Loop() {
		_, _, _ = Response(OpenAI, Anthropic, benchOpenAIResponse, "m")
	}
}

func BenchmarkPartResponseA2O(b *testing.B) {
	defer measureCPU(b)()
	for b.Loop() {
		_, _, _ = Response(Anthropic, OpenAI, benchAnthropicResponse, "m")
	}
}

func BenchmarkPartResponseO2O(b *testing.B) {
	defer measureCPU(b)()
	for b.Loop() {
		_, _, _ = Response(OpenAI, OpenAI, benchOpenAIResponse, "m")
	}
}

func BenchmarkPartInspect(b *testing.B) {
	defer measureCPU(b)()
	for b.Loop() {
		_, _ = Inspect(OpenAI, benchOpenAIRequest)
	}
}
