package translate

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type streamCase struct {
	name     string
	from, to Protocol
	file     string
	opts     StreamOptions
	usage    Usage
}

// streamCases are recorded provider streams in every direction the plugin
// serves. Their translated output is in testdata/golden.
var streamCases = []streamCase{
	{"anthropic_tool_to_openai", Anthropic, OpenAI, "anthropic_tool.sse", StreamOptions{Model: "claude-sonnet"},
		Usage{InputTokens: 600, OutputTokens: 89, CachedTokens: 128, Known: true}},
	{"anthropic_thinking_crlf_to_openai", Anthropic, OpenAI, "anthropic_thinking_crlf.sse", StreamOptions{Model: "claude-opus", DropUsageChunk: true},
		Usage{InputTokens: 1060, OutputTokens: 312, Known: true}},
	{"anthropic_tool_pass", Anthropic, Anthropic, "anthropic_tool.sse", StreamOptions{},
		Usage{InputTokens: 600, OutputTokens: 89, CachedTokens: 128, Known: true}},
	{"anthropic_thinking_crlf_pass", Anthropic, Anthropic, "anthropic_thinking_crlf.sse", StreamOptions{},
		Usage{InputTokens: 1060, OutputTokens: 312, Known: true}},
	{"openai_tool_to_anthropic", OpenAI, Anthropic, "openai_tool.sse", StreamOptions{Model: "gpt-4o"},
		Usage{InputTokens: 1117, OutputTokens: 46, CachedTokens: 1024, Known: true}},
	{"openai_reasoning_to_anthropic", OpenAI, Anthropic, "openai_reasoning.sse", StreamOptions{Model: "deepseek-reasoner"},
		Usage{InputTokens: 18, OutputTokens: 212, ReasoningTokens: 190, Known: true}},
	{"openai_tool_pass", OpenAI, OpenAI, "openai_tool.sse", StreamOptions{},
		Usage{InputTokens: 1117, OutputTokens: 46, CachedTokens: 1024, Known: true}},
	{"openai_tool_pass_drop_usage", OpenAI, OpenAI, "openai_tool.sse", StreamOptions{DropUsageChunk: true},
		Usage{InputTokens: 1117, OutputTokens: 46, CachedTokens: 1024, Known: true}},
	{"openai_reasoning_pass", OpenAI, OpenAI, "openai_reasoning.sse", StreamOptions{DropUsageChunk: true},
		Usage{InputTokens: 18, OutputTokens: 212, ReasoningTokens: 190, Known: true}},
	{"gemini_text_to_openai", Gemini, OpenAI, "gemini_text.sse", StreamOptions{Model: "gemini-flash"},
		Usage{InputTokens: 12, OutputTokens: 437, CachedTokens: 8, ReasoningTokens: 420, Known: true}},
	{"gemini_tool_to_openai", Gemini, OpenAI, "gemini_tool.sse", StreamOptions{Model: "gemini-flash", DropUsageChunk: true},
		Usage{InputTokens: 61, OutputTokens: 24, Known: true}},
	{"gemini_text_to_anthropic", Gemini, Anthropic, "gemini_text.sse", StreamOptions{Model: "gemini-flash"},
		Usage{InputTokens: 12, OutputTokens: 437, CachedTokens: 8, ReasoningTokens: 420, Known: true}},
	{"gemini_tool_to_anthropic", Gemini, Anthropic, "gemini_tool.sse", StreamOptions{Model: "gemini-flash"},
		Usage{InputTokens: 61, OutputTokens: 24, Known: true}},
}

const testCreated = 1764800000

// runStream feeds in in the given pieces and returns everything the
// client would receive.
func runStream(t testing.TB, c streamCase, pieces [][]byte) ([]byte, Stream, error) {
	t.Helper()
	opts := c.opts
	opts.Created = testCreated
	s, err := NewStream(c.from, c.to, opts)
	require.NoError(t, err)
	var out []byte
	for _, p := range pieces {
		b, err := s.Feed(p)
		out = append(out, b...)
		if err != nil {
			tail, _ := s.Finish()
			return append(out, tail...), s, err
		}
	}
	tail, err := s.Finish()
	return append(out, tail...), s, err
}

func TestStreamGolden(t *testing.T) {
	for _, c := range streamCases {
		t.Run(c.name, func(t *testing.T) {
			in := readTestdata(t, "streams/"+c.file)
			out, s, err := runStream(t, c, [][]byte{in})
			require.NoError(t, err)
			require.Equal(t, c.usage, s.Usage(), "usage")
			require.True(t, s.Started(), "Started after content")
			if c.from == c.to && !c.opts.DropUsageChunk {
				require.Equal(t, string(in), string(out), "a pass-through stream is passed byte for byte")
			}
			golden(t, "stream_"+c.name+".sse", out)
		})
	}
}

// TestStreamSemantics reads the translated streams the way the SDKs do and
// checks what a user sees: text, tool calls with their arguments, stop
// reason, usage.
func TestStreamSemantics(t *testing.T) {
	run := func(t *testing.T, name string) []byte {
		for _, c := range streamCases {
			if c.name == name {
				out, _, err := runStream(t, c, [][]byte{readTestdata(t, "streams/"+c.file)})
				require.NoError(t, err)
				return out
			}
		}
		t.Fatalf("no case %s", name)
		return nil
	}
	t.Run("anthropic tool stream to an OpenAI client", func(t *testing.T) {
		r := assembleOpenAI(t, run(t, "anthropic_tool_to_openai"))
		require.Equal(t, "Okay, let me check the weather in Zürich for you — one moment.\n", r.Text)
		require.Equal(t, []toolCall{{ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather", Args: `{"location": "Zürich, CH", "unit": "celsius"}`}}, r.Tools)
		require.Equal(t, "tool_calls", r.Finish)
		require.Equal(t, &Usage{InputTokens: 600, OutputTokens: 89, CachedTokens: 128, Known: true}, r.Usage)
		require.True(t, r.Done)
	})
	t.Run("anthropic thinking to an OpenAI client that did not ask for usage", func(t *testing.T) {
		r := assembleOpenAI(t, run(t, "anthropic_thinking_crlf_to_openai"))
		require.Equal(t, "27 * 453 = 27 * 400 + 27 * 53 = 10800 + 1431 = 12231", r.Reasoning)
		require.Equal(t, "27 * 453 = **12231**", r.Text)
		require.Equal(t, "stop", r.Finish)
		require.Nil(t, r.Usage, "no usage chunk")
		require.True(t, r.Done)
	})
	t.Run("openai tool stream to an Anthropic client", func(t *testing.T) {
		r := assembleAnthropic(t, run(t, "openai_tool_to_anthropic"))
		require.Equal(t, []anthropicBlock{
			{Type: "text", Text: "Checking Paris and the time."},
			{Type: "tool_use", ID: "call_DdmO9pD3xa9XTPNJ32zg2hcA", Name: "get_weather", Input: `{"location":"Paris, France"}`},
			{Type: "tool_use", ID: "call_8fUcZ2Zq1JRkfFxXw2Ewl4yI", Name: "get_time", Input: `{"tz":"Europe/Paris"}`},
		}, r.Blocks)
		require.Equal(t, "tool_use", r.Stop)
		require.Equal(t, int64(93), r.Usage["input_tokens"])
		require.Equal(t, int64(1024), r.Usage["cache_read_input_tokens"])
		require.Equal(t, int64(46), r.Usage["output_tokens"])
		require.True(t, r.Done)
	})
	t.Run("openai reasoning stream to an Anthropic client", func(t *testing.T) {
		r := assembleAnthropic(t, run(t, "openai_reasoning_to_anthropic"))
		require.Equal(t, []anthropicBlock{
			{Type: "thinking", Text: "9.11 vs 9.9: compare tenths, 1 < 9."},
			{Type: "text", Text: "9.9 is greater."},
		}, r.Blocks)
		require.Equal(t, "end_turn", r.Stop)
		require.Equal(t, int64(212), r.Usage["output_tokens"])
	})
	t.Run("openai pass-through drops the usage chunk the client did not ask for", func(t *testing.T) {
		out := run(t, "openai_tool_pass_drop_usage")
		r := assembleOpenAI(t, out)
		require.Nil(t, r.Usage)
		require.Equal(t, "tool_calls", r.Finish)
		require.Len(t, r.Tools, 2)
		require.True(t, r.Done)
	})
	t.Run("gemini to an OpenAI client", func(t *testing.T) {
		r := assembleOpenAI(t, run(t, "gemini_text_to_openai"))
		require.Equal(t, "Autumn moonlight—\na worm digs silently\ninto the chestnut.", r.Text)
		require.Contains(t, r.Reasoning, "The user wants a haiku.")
		require.Equal(t, "stop", r.Finish)
		require.Equal(t, &Usage{InputTokens: 12, OutputTokens: 437, CachedTokens: 8, ReasoningTokens: 420, Known: true}, r.Usage)
	})
	t.Run("gemini function calls to an OpenAI client", func(t *testing.T) {
		r := assembleOpenAI(t, run(t, "gemini_tool_to_openai"))
		require.Equal(t, []toolCall{
			{ID: "call_Xk9nZ4i1Jc2Vz7IP2Lz0gAM_0", Name: "get_weather", Args: `{"location": "Boston, MA"}`},
			{ID: "call_Xk9nZ4i1Jc2Vz7IP2Lz0gAM_1", Name: "get_time", Args: `{"tz": "America/New_York"}`},
		}, r.Tools)
		require.Equal(t, "tool_calls", r.Finish)
	})
	t.Run("gemini function calls to an Anthropic client", func(t *testing.T) {
		r := assembleAnthropic(t, run(t, "gemini_tool_to_anthropic"))
		require.Len(t, r.Blocks, 2)
		require.Equal(t, "get_time", r.Blocks[1].Name)
		require.Equal(t, `{"tz": "America/New_York"}`, r.Blocks[1].Input)
		require.Equal(t, "tool_use", r.Stop)
		require.Equal(t, int64(61), r.Usage["input_tokens"])
		require.Equal(t, int64(24), r.Usage["output_tokens"])
	})
}

// TestStreamCut ends every recorded stream early: the client gets a
// well-formed error event in its protocol and Finish an ErrStreamCut.
func TestStreamCut(t *testing.T) {
	for _, c := range streamCases {
		t.Run(c.name, func(t *testing.T) {
			in := readTestdata(t, "streams/"+c.file)
			// Keep the first event only (Gemini's tool stream is one event: cut it in half).
			cut := bytes.Index(in, []byte("\n\n"))
			if cut < 0 {
				cut = bytes.Index(in, []byte("\r\n\r\n"))
			}
			if strings.Count(string(in), "data:") == 1 {
				cut = len(in) / 2
			}
			out, s, err := runStream(t, c, [][]byte{in[:cut]})
			require.ErrorIs(t, err, ErrStreamCut)
			require.False(t, s.Started() && c.from != Gemini && strings.HasPrefix(c.name, "anthropic_tool"), "no content before the cut")
			if c.to == OpenAI {
				r := assembleOpenAI(t, out)
				require.Contains(t, r.Error, "api_error: the provider's stream ended")
				require.False(t, r.Done, "no [DONE] after a cut")
			} else {
				r := assembleAnthropic(t, out)
				require.Contains(t, r.Error, "api_error: the provider's stream ended")
				require.False(t, r.Done, "no message_stop after a cut")
			}
		})
	}
}

func TestStreamProviderError(t *testing.T) {
	tests := []struct {
		name     string
		from, to Protocol
		in       string
		want     string
	}{
		{"anthropic overloaded to openai", Anthropic, OpenAI,
			"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
			"overloaded_error: Overloaded"},
		{"openai error chunk to anthropic", OpenAI, Anthropic,
			"data: {\"error\":{\"message\":\"The server had an error while processing your request.\",\"type\":\"server_error\"}}\n\n",
			"server_error: The server had an error while processing your request."},
		{"gemini error to openai", Gemini, OpenAI,
			"data: {\"error\":{\"code\":429,\"message\":\"Resource has been exhausted (e.g. check quota).\",\"status\":\"RESOURCE_EXHAUSTED\"}}\n\n",
			"rate_limit_error: Resource has been exhausted (e.g. check quota)."},
		{"gemini error to anthropic", Gemini, Anthropic,
			"data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}\n\n",
			"overloaded_error: The model is overloaded."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runStream(t, streamCase{from: tt.from, to: tt.to}, [][]byte{[]byte(tt.in)})
			require.ErrorIs(t, err, ErrStreamFailed)
			var got string
			if tt.to == OpenAI {
				got = assembleOpenAI(t, out).Error
			} else {
				got = assembleAnthropic(t, out).Error
			}
			require.Equal(t, tt.want, got)
			errorEvents := 0
			for _, m := range parseSSE(t, out) {
				if strings.Contains(m.data, `"error":{`) {
					errorEvents++
				}
			}
			require.Equal(t, 1, errorEvents, "exactly one error event: %s", out)
		})
	}
}

func TestStreamBadJSON(t *testing.T) {
	s, err := NewStream(OpenAI, Anthropic, StreamOptions{})
	require.NoError(t, err)
	_, err = s.Feed([]byte("data: {\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: {broken\n\n"))
	require.ErrorIs(t, err, ErrBadResponse)
	tail, err := s.Finish()
	require.ErrorIs(t, err, ErrStreamCut)
	r := assembleAnthropic(t, tail)
	require.NotEmpty(t, r.Error)
}

func TestNewStreamRefusesUnknownPairs(t *testing.T) {
	_, err := NewStream(OpenAI, Gemini, StreamOptions{})
	require.ErrorContains(t, err, `from "openai" to "gemini"`)
}

func TestSSEReader(t *testing.T) {
	in := ": comment\r\nevent: a\r\ndata: one\r\ndata:two\r\n\r\n\ndata: x\rdata: y\r\rid: 7\nretry: 10\ndata\n\n"
	var r sseReader
	r.push([]byte(in))
	var got []string
	for {
		ev, ok, err := r.next(true)
		require.NoError(t, err)
		if !ok {
			break
		}
		got = append(got, string(ev.name)+"|"+string(ev.data)+"|"+strings.ReplaceAll(strings.ReplaceAll(string(ev.raw), "\r", `\r`), "\n", `\n`))
	}
	require.Equal(t, []string{
		`a|one` + "\n" + `two|: comment\r\nevent: a\r\ndata: one\r\ndata:two\r\n\r\n`,
		`||\n`,
		`|x` + "\n" + `y|data: x\rdata: y\r\r`,
		`|` + "|id: 7\\nretry: 10\\ndata\\n\\n",
	}, got)
}

func TestStreamErrorsAreNamed(t *testing.T) {
	s, _ := NewStream(Anthropic, OpenAI, StreamOptions{})
	_, err := s.Finish()
	require.True(t, errors.Is(err, ErrStreamCut))
	require.ErrorContains(t, err, "ended before its last event")
}
