package translate

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -run %s -update to create it): %v", t.Name(), err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (rerun with -update if the change is intended)\n got: %s\nwant: %s", path, got, want)
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sseData returns the data of each event in an SSE stream with the event
// names, as a client's parser sees them.
type sseMsg struct {
	event string
	data  string
}

func parseSSE(t testing.TB, b []byte) []sseMsg {
	t.Helper()
	var r sseReader
	r.push(b)
	var out []sseMsg
	for {
		ev, ok, err := r.next(true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		if ev.hasData {
			out = append(out, sseMsg{event: string(ev.name), data: string(ev.data)})
		}
	}
}

// openAIResult is what an OpenAI SDK assembles from a stream.
type openAIResult struct {
	Text, Reasoning, Finish string
	Tools                   []toolCall
	Usage                   *Usage
	Done                    bool
	Error                   string
}

type toolCall struct{ ID, Name, Args string }

func assembleOpenAI(t testing.TB, b []byte) openAIResult {
	t.Helper()
	var res openAIResult
	for _, m := range parseSSE(t, b) {
		if res.Done {
			t.Fatalf("data after [DONE]: %s", m.data)
		}
		if m.data == "[DONE]" {
			res.Done = true
			continue
		}
		var c struct {
			Object  string `json:"object"`
			Choices []struct {
				Delta struct {
					Content   *string `json:"content"`
					Reasoning string  `json:"reasoning_content"`
					ToolCalls []struct {
						Index    int    `json:"index"`
						ID       string `json:"id"`
						Function struct {
							Name      string `json:"name"`
							Arguments string `json:"arguments"`
						} `json:"function"`
					} `json:"tool_calls"`
				} `json:"delta"`
				Finish *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *struct {
				Prompt     int64 `json:"prompt_tokens"`
				Completion int64 `json:"completion_tokens"`
				Total      int64 `json:"total_tokens"`
				PD         struct {
					Cached int64 `json:"cached_tokens"`
				} `json:"prompt_tokens_details"`
				CD struct {
					Reasoning int64 `json:"reasoning_tokens"`
				} `json:"completion_tokens_details"`
			} `json:"usage"`
			Error *struct {
				Message string `json:"message"`
				Type    string `json:"type"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(m.data), &c); err != nil {
			t.Fatalf("chunk is not JSON: %v: %s", err, m.data)
		}
		if c.Error != nil {
			res.Error = c.Error.Type + ": " + c.Error.Message
			continue
		}
		if c.Object != "chat.completion.chunk" {
			t.Fatalf("object = %q in %s", c.Object, m.data)
		}
		if c.Usage != nil {
			if c.Usage.Total != c.Usage.Prompt+c.Usage.Completion {
				t.Fatalf("total_tokens %d != %d + %d", c.Usage.Total, c.Usage.Prompt, c.Usage.Completion)
			}
			res.Usage = &Usage{InputTokens: c.Usage.Prompt, OutputTokens: c.Usage.Completion, CachedTokens: c.Usage.PD.Cached, ReasoningTokens: c.Usage.CD.Reasoning, Known: true}
		}
		for _, ch := range c.Choices {
			if ch.Delta.Content != nil {
				res.Text += *ch.Delta.Content
			}
			res.Reasoning += ch.Delta.Reasoning
			for _, tc := range ch.Delta.ToolCalls {
				for len(res.Tools) <= tc.Index {
					res.Tools = append(res.Tools, toolCall{})
				}
				p := &res.Tools[tc.Index]
				if tc.ID != "" {
					p.ID = tc.ID
				}
				p.Name += tc.Function.Name
				p.Args += tc.Function.Arguments
			}
			if ch.Finish != nil {
				if res.Finish != "" {
					t.Fatalf("a second finish_reason %q after %q", *ch.Finish, res.Finish)
				}
				res.Finish = *ch.Finish
			}
		}
	}
	return res
}

// anthropicResult is what an Anthropic SDK assembles from a stream.
type anthropicResult struct {
	Blocks []anthropicBlock
	Stop   string
	Usage  map[string]int64
	Done   bool
	Error  string
}

type anthropicBlock struct {
	Type, Text, ID, Name, Input string
}

func assembleAnthropic(t testing.TB, b []byte) anthropicResult {
	t.Helper()
	var res anthropicResult
	open := -1
	started := false
	for _, m := range parseSSE(t, b) {
		var e struct {
			Type    string `json:"type"`
			Index   int    `json:"index"`
			Message struct {
				Usage map[string]int64 `json:"usage"`
			} `json:"message"`
			ContentBlock struct {
				Type, Text, ID, Name string
				Thinking             string
			} `json:"content_block"`
			Delta struct {
				Type, Text, Thinking string
				PartialJSON          string `json:"partial_json"`
				StopReason           string `json:"stop_reason"`
			} `json:"delta"`
			Usage map[string]int64 `json:"usage"`
			Error struct{ Type, Message string }
		}
		if err := json.Unmarshal([]byte(m.data), &e); err != nil {
			t.Fatalf("event is not JSON: %v: %s", err, m.data)
		}
		if m.event != e.Type {
			t.Fatalf("event name %q but type %q", m.event, e.Type)
		}
		if res.Done {
			t.Fatalf("event after message_stop: %s", m.data)
		}
		switch e.Type {
		case "message_start":
			if started {
				t.Fatal("two message_start events")
			}
			started = true
			res.Usage = e.Message.Usage
		case "content_block_start":
			if open != -1 {
				t.Fatalf("block %d opened while block %d is open", e.Index, open)
			}
			if e.Index != len(res.Blocks) {
				t.Fatalf("block index %d, want %d", e.Index, len(res.Blocks))
			}
			open = e.Index
			res.Blocks = append(res.Blocks, anthropicBlock{Type: e.ContentBlock.Type, Text: e.ContentBlock.Text + e.ContentBlock.Thinking, ID: e.ContentBlock.ID, Name: e.ContentBlock.Name})
		case "content_block_delta":
			if e.Index != open {
				t.Fatalf("delta for block %d while %d is open", e.Index, open)
			}
			blk := &res.Blocks[open]
			switch e.Delta.Type {
			case "text_delta":
				blk.Text += e.Delta.Text
			case "thinking_delta":
				blk.Text += e.Delta.Thinking
			case "input_json_delta":
				blk.Input += e.Delta.PartialJSON
			}
		case "content_block_stop":
			if e.Index != open {
				t.Fatalf("stop for block %d while %d is open", e.Index, open)
			}
			open = -1
		case "message_delta":
			res.Stop = e.Delta.StopReason
			for k, v := range e.Usage {
				res.Usage[k] = v
			}
		case "message_stop":
			if open != -1 {
				t.Fatalf("message_stop with block %d open", open)
			}
			res.Done = true
		case "error":
			res.Error = e.Error.Type + ": " + e.Error.Message
		case "ping":
		default:
			t.Fatalf("unknown event %q", e.Type)
		}
	}
	if !started && res.Error == "" {
		t.Fatal("no message_start")
	}
	return res
}

func mustJSON(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, b)
	}
	return m
}

func lines(s ...string) string { return strings.Join(s, "\n") }

// indent pretty-prints JSON keeping its key order, for readable goldens.
func indent(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}
