package translate

import (
	"bytes"
	"encoding/json"
	"testing"
)

// splitAt cuts in into pieces whose lengths come from cuts (1..64 bytes
// each, the rest in one piece).
func splitAt(in, cuts []byte) [][]byte {
	var pieces [][]byte
	for _, c := range cuts {
		if len(in) == 0 {
			break
		}
		n := min(int(c%64)+1, len(in))
		pieces = append(pieces, in[:n])
		in = in[n:]
	}
	if len(in) > 0 {
		pieces = append(pieces, in)
	}
	return pieces
}

// FuzzStreamSplit: a recorded stream fed in arbitrary pieces gives the
// client the same bytes and the gateway the same usage as the stream fed
// whole, in every direction.
func FuzzStreamSplit(f *testing.F) {
	for i := range streamCases {
		f.Add(uint8(i), []byte{0})
		f.Add(uint8(i), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
		f.Add(uint8(i), bytes.Repeat([]byte{63}, 40))
		f.Add(uint8(i), []byte{17, 0, 0, 5, 33, 1, 0, 62})
	}
	inputs := map[string][]byte{}
	for _, c := range streamCases {
		inputs[c.file] = readTestdata(f, "streams/"+c.file)
	}
	f.Fuzz(func(t *testing.T, which uint8, cuts []byte) {
		c := streamCases[int(which)%len(streamCases)]
		in := inputs[c.file]
		whole, ws, werr := runStream(t, c, [][]byte{in})
		if werr != nil {
			t.Fatalf("whole stream: %v", werr)
		}
		// Copy each piece so that the stream cannot rely on the caller's
		// buffer staying unchanged.
		pieces := splitAt(in, cuts)
		for i, p := range pieces {
			pieces[i] = append([]byte(nil), p...)
		}
		split, ss, serr := runStream(t, c, pieces)
		if serr != nil {
			t.Fatalf("split stream: %v", serr)
		}
		if !bytes.Equal(whole, split) {
			t.Fatalf("%s: split output differs\nwhole: %q\nsplit: %q", c.name, whole, split)
		}
		if ws.Usage() != ss.Usage() || ws.Started() != ss.Started() {
			t.Fatalf("%s: usage %+v/%v vs %+v/%v", c.name, ws.Usage(), ws.Started(), ss.Usage(), ss.Started())
		}
	})
}

var pairs = []struct{ from, to Protocol }{
	{OpenAI, Anthropic}, {Anthropic, OpenAI}, {OpenAI, Gemini}, {Anthropic, Gemini},
	{Gemini, OpenAI}, {Gemini, Anthropic}, {OpenAI, OpenAI}, {Anthropic, Anthropic},
}

// FuzzRequest: no request body makes a translation panic, and what comes
// out without an error is JSON.
func FuzzRequest(f *testing.F) {
	for _, name := range []string{"openai_agent.json", "openai_reasoning.json", "anthropic_claude_code.json"} {
		f.Add(readTestdata(f, "requests/"+name))
	}
	f.Add([]byte(`{"model":"m","messages":[{"role":"tool","content":[{"type":"text"}]},{"role":"assistant","tool_calls":[{}]}]}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":"data:,"}]}],"stop":[1],"tools":[{"type":"function"}],"tool_choice":{}}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"tool_result","content":[{"type":"text"}]},{"type":"image","source":{"type":"url"}}]}],"system":[{"type":"image"}],"thinking":{"type":"enabled"}}`))
	f.Add([]byte(`{"stream":true,"stream_options":7}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, p := range pairs {
			if p.from == Gemini {
				continue
			}
			out, err := Request(p.from, p.to, body, RequestOptions{ForceStreamUsage: true})
			if p.from == p.to && bytes.Equal(out, body) {
				continue // same protocol: the body is passed as it came
			}
			if err == nil && !json.Valid(out) {
				t.Fatalf("%s → %s: output is not JSON: %s\nfrom: %s", p.from, p.to, out, body)
			}
		}
		if _, err := Inspect(OpenAI, body); err == nil {
			out, err := SetModel(body, "m\"x")
			if err != nil || !json.Valid(out) {
				t.Fatalf("SetModel: %v: %s", err, out)
			}
		}
	})
}

// FuzzResponse: no provider answer makes a translation panic, and what
// comes out without an error is JSON.
func FuzzResponse(f *testing.F) {
	for _, name := range []string{"anthropic_tool.json", "anthropic_text.json", "openai_tool.json", "openai_text.json", "gemini_tool.json", "gemini_safety.json"} {
		f.Add(readTestdata(f, "responses/"+name))
	}
	f.Add([]byte(`{"candidates":[{"content":{"parts":[{"functionCall":{"args":[]}},{"thought":true}]}}],"usageMetadata":[]}`))
	f.Add([]byte(`{"content":[{"type":"tool_use","input":"x"}],"usage":{"input_tokens":"x"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, p := range pairs {
			out, _, err := Response(p.from, p.to, body, "m")
			if p.from == p.to {
				continue // same protocol: the body is passed as it came
			}
			if err == nil && !json.Valid(out) {
				t.Fatalf("%s → %s: output is not JSON: %s\nfrom: %s", p.from, p.to, out, body)
			}
		}
		_ = Error(OpenAI, Anthropic, 500, body)
		if out := Error(Gemini, OpenAI, 429, body); !json.Valid(out) {
			t.Fatalf("Error output is not JSON: %s", out)
		}
	})
}

// FuzzStreamGarbage: arbitrary provider bytes never panic a translated
// stream, and the client gets only well-formed events.
func FuzzStreamGarbage(f *testing.F) {
	for _, c := range streamCases {
		f.Add(readTestdata(f, "streams/"+c.file), []byte{3, 9})
	}
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":5},{\"index\":-1,\"id\":\"\"}]}}]}\n\ndata: [DONE]\n\n"), []byte{})
	f.Add([]byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":9,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"x\"}}\n\n"), []byte{1})
	f.Fuzz(func(t *testing.T, in, cuts []byte) {
		for _, p := range pairs {
			if p.to == Gemini || p.from == p.to {
				continue
			}
			s, err := NewStream(p.from, p.to, StreamOptions{Created: 1})
			if err != nil {
				t.Fatal(err)
			}
			var out []byte
			for _, piece := range splitAt(in, cuts) {
				b, err := s.Feed(piece)
				out = append(out, b...)
				if err != nil {
					break
				}
			}
			tail, _ := s.Finish()
			out = append(out, tail...)
			var r sseReader
			r.push(out)
			for {
				ev, ok, err := r.next(true)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				if ev.hasData && string(ev.data) != "[DONE]" && !json.Valid(ev.data) {
					t.Fatalf("%s → %s: event data is not JSON: %q", p.from, p.to, ev.data)
				}
			}
		}
	})
}
