package translate

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func feedAll(t *testing.T, from, to Protocol, opts StreamOptions, in string) ([]byte, Stream, error) {
	t.Helper()
	return runStream(t, streamCase{from: from, to: to, opts: opts}, [][]byte{[]byte(in)})
}

func chunk(delta string, finish string) string {
	f := "null"
	if finish != "" {
		f = `"` + finish + `"`
	}
	return `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + f + "}]}\n\n"
}

func TestStreamOpenAIToAnthropicShapes(t *testing.T) {
	t.Run("id repeated in every chunk of one call, two calls in one chunk", func(t *testing.T) {
		in := chunk(`{"role":"assistant","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":"{\"x\":"}}]}`, "") +
			chunk(`{"tool_calls":[{"index":0,"id":"call_a","function":{"arguments":"1}"}}]}`, "") +
			chunk(`{"tool_calls":[{"index":1,"id":"call_b","function":{"name":"g","arguments":"{}"}},{"index":2,"id":"call_c","function":{"name":"h","arguments":"{\"y\":2}"}}]}`, "") +
			chunk(`{}`, "tool_calls") + "data: [DONE]\n\n"
		out, s, err := feedAll(t, OpenAI, Anthropic, StreamOptions{}, in)
		require.NoError(t, err)
		r := assembleAnthropic(t, out)
		require.Equal(t, []anthropicBlock{
			{Type: "tool_use", ID: "call_a", Name: "f", Input: `{"x":1}`},
			{Type: "tool_use", ID: "call_b", Name: "g", Input: `{}`},
			{Type: "tool_use", ID: "call_c", Name: "h", Input: `{"y":2}`},
		}, r.Blocks)
		require.Equal(t, "tool_use", r.Stop)
		require.True(t, s.Started())
		require.False(t, s.Usage().Known, "the provider sent no usage")
	})
	t.Run("text after thinking after text opens a block each time", func(t *testing.T) {
		in := chunk(`{"content":"a"}`, "") + chunk(`{"reasoning":"b"}`, "") + chunk(`{"content":"c"}`, "length") + "data: [DONE]\n\n"
		out, _, err := feedAll(t, OpenAI, Anthropic, StreamOptions{}, in)
		require.NoError(t, err)
		r := assembleAnthropic(t, out)
		require.Equal(t, []anthropicBlock{{Type: "text", Text: "a"}, {Type: "thinking", Text: "b"}, {Type: "text", Text: "c"}}, r.Blocks)
		require.Equal(t, "max_tokens", r.Stop)
	})
	t.Run("an empty answer is still a whole message", func(t *testing.T) {
		out, s, err := feedAll(t, OpenAI, Anthropic, StreamOptions{Model: "gpt"}, "data: [DONE]\n\n")
		require.NoError(t, err)
		r := assembleAnthropic(t, out)
		require.True(t, r.Done)
		require.Empty(t, r.Blocks)
		require.Equal(t, "end_turn", r.Stop)
		require.False(t, s.Started())
	})
	t.Run("a server that ends without [DONE] after the finish reason", func(t *testing.T) {
		out, _, err := feedAll(t, OpenAI, Anthropic, StreamOptions{}, chunk(`{"content":"hi"}`, "stop"))
		require.NoError(t, err)
		r := assembleAnthropic(t, out)
		require.True(t, r.Done)
		require.Equal(t, "hi", r.Blocks[0].Text)

		out, _, err = feedAll(t, OpenAI, OpenAI, StreamOptions{}, chunk(`{"content":"hi"}`, "stop"))
		require.NoError(t, err)
		require.True(t, assembleOpenAI(t, out).Done, "pass-through adds the [DONE]")
	})
	t.Run("a last event without its blank line counts when whole", func(t *testing.T) {
		in := chunk(`{"content":"hi"}`, "stop") + "data: [DONE]"
		out, _, err := feedAll(t, OpenAI, OpenAI, StreamOptions{}, in)
		require.NoError(t, err)
		require.Equal(t, in+"\n\n", string(out))
	})
	t.Run("a torn last event is a cut", func(t *testing.T) {
		in := chunk(`{"content":"hi"}`, "") + `data: {"id":"c1","choices":[{"delta":{"content":"the`
		out, _, err := feedAll(t, OpenAI, OpenAI, StreamOptions{}, in)
		require.ErrorIs(t, err, ErrStreamCut)
		r := assembleOpenAI(t, out)
		require.Equal(t, "hi", r.Text)
		require.Contains(t, r.Error, "ended before the answer was complete")
	})
}

func TestStreamAnthropicUsageInMessageDelta(t *testing.T) {
	in := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":90,\"output_tokens\":7}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	for _, to := range []Protocol{Anthropic, OpenAI} {
		_, s, err := feedAll(t, Anthropic, to, StreamOptions{}, in)
		require.NoError(t, err)
		require.Equal(t, Usage{InputTokens: 100, OutputTokens: 7, CachedTokens: 90, Known: true}, s.Usage(), to)
	}
}

// TestStreamMemory: a long answer fed as the network delivers it keeps the
// stream's buffer small (the goal: ≤ 64 KB per stream in flight).
func TestStreamMemory(t *testing.T) {
	var sb strings.Builder
	for i := range 20000 {
		sb.WriteString(chunk(fmt.Sprintf(`{"content":"token %d "}`, i), ""))
	}
	sb.WriteString(chunk(`{}`, "stop"))
	sb.WriteString("data: [DONE]\n\n")
	in := []byte(sb.String())
	for _, to := range []Protocol{OpenAI, Anthropic} {
		s, err := NewStream(OpenAI, to, StreamOptions{})
		require.NoError(t, err)
		maxCap := 0
		for p := in; len(p) > 0; {
			n := min(len(p), 4096)
			_, err := s.Feed(p[:n])
			require.NoError(t, err)
			p = p[n:]
			maxCap = max(maxCap, cap(s.(*sseStream).r.buf))
		}
		_, err = s.Finish()
		require.NoError(t, err)
		require.Less(t, maxCap, 16<<10, "buffer of the %s stream", to)
	}
}

func TestStreamEventTooLong(t *testing.T) {
	for _, line := range []string{"data: x\n", "data: " + strings.Repeat("x", 1<<20)} {
		s, err := NewStream(OpenAI, Anthropic, StreamOptions{})
		require.NoError(t, err)
		var ferr error
		for i := 0; i < 9<<20/len(line)+2 && ferr == nil; i++ {
			_, ferr = s.Feed([]byte(line))
		}
		require.ErrorIs(t, ferr, ErrBadResponse, "an event that never ends is refused, not buffered forever")
		require.ErrorContains(t, ferr, "longer than")
	}
}

func TestStreamRefusalIsText(t *testing.T) {
	in := chunk(`{"role":"assistant","content":null,"refusal":""}`, "") + chunk(`{"refusal":"I can't help with that."}`, "") + chunk(`{}`, "stop") + "data: [DONE]\n\n"
	out, s, err := feedAll(t, OpenAI, Anthropic, StreamOptions{}, in)
	require.NoError(t, err)
	require.Equal(t, []anthropicBlock{{Type: "text", Text: "I can't help with that."}}, assembleAnthropic(t, out).Blocks)
	require.True(t, s.Started())
}
