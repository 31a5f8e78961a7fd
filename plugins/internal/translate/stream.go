package translate

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// ErrStreamCut is returned (wrapped) by Finish when the provider's stream
// ended before its terminal event.
var ErrStreamCut = errors.New("the provider's stream ended before its last event")

// ErrStreamFailed is returned (wrapped) by Finish when the provider sent
// an error event in its stream; the event was passed on to the client.
var ErrStreamFailed = errors.New("the provider's stream reported an error")

// handler is one direction's state machine over complete SSE events.
type handler interface {
	event(out []byte, ev *sseEvent) ([]byte, error)
	// finish is called at the provider's EOF, after the last event.
	finish(out []byte) ([]byte, error)
	usage() Usage
	started() bool
}

// sseStream drives a handler with events reassembled from the provider's
// bytes.
type sseStream struct {
	r   sseReader
	h   handler
	end bool
}

func (s *sseStream) Feed(p []byte) ([]byte, error) {
	if s.end {
		return nil, nil
	}
	s.r.push(p)
	return s.drain(nil, false)
}

func (s *sseStream) drain(out []byte, eof bool) ([]byte, error) {
	for {
		ev, ok, err := s.r.next(eof)
		if err != nil {
			return out, err
		}
		if !ok {
			return out, nil
		}
		if out, err = s.h.event(out, &ev); err != nil {
			return out, err
		}
	}
}

func (s *sseStream) Finish() ([]byte, error) {
	if s.end {
		return nil, nil
	}
	s.end = true
	out, err := s.drain(nil, true)
	out, ferr := s.h.finish(out)
	if err != nil && ferr != nil {
		return out, errors.Join(ferr, err)
	}
	return out, cmp.Or(ferr, err)
}

func (s *sseStream) Usage() Usage  { return s.h.usage() }
func (s *sseStream) Started() bool { return s.h.started() }

// chained runs a provider stream through two translations (Gemini →
// OpenAI → Anthropic); usage comes from the first.
type chained struct {
	a, b Stream
}

func (c *chained) Feed(p []byte) ([]byte, error) {
	mid, err := c.a.Feed(p)
	if err != nil {
		return nil, err
	}
	if len(mid) == 0 {
		return nil, nil
	}
	return c.b.Feed(mid)
}

func (c *chained) Finish() ([]byte, error) {
	// A cut first stage ends with an error event of the middle protocol,
	// which the second stage turns into its own.
	mid, errA := c.a.Finish()
	out, errB := c.b.Feed(mid)
	tail, errF := c.b.Finish()
	return append(out, tail...), cmp.Or(errA, errB, errF)
}

func (c *chained) Usage() Usage  { return c.a.Usage() }
func (c *chained) Started() bool { return c.b.Started() }

// streamBase is the state every direction shares.
type streamBase struct {
	opts    StreamOptions
	use     Usage
	began   bool  // content emitted
	done    bool  // the provider's terminal event was seen
	failed  error // the provider's error event, passed on
	created int64
}

func (b *streamBase) usage() Usage  { return b.use }
func (b *streamBase) started() bool { return b.began }

// endState is what finish returns when the provider's stream is over.
func (b *streamBase) cut(out []byte, client Protocol) ([]byte, error) {
	if b.done {
		return out, b.failed
	}
	b.done = true
	out = append(out, ErrorEvent(client, "api_error", "the provider's stream ended before the answer was complete")...)
	return out, fmt.Errorf("%w: the answer is incomplete", ErrStreamCut)
}

// providerError reads an error event or error chunk of any protocol.
func providerError(data gjson.Result) (kind, msg string, ok bool) {
	e := data.Get("error")
	if !e.Exists() {
		return "", "", false
	}
	if e.Type == gjson.String {
		return "api_error", e.Str, true
	}
	kind = e.Get("type").Str
	if kind == "" {
		kind = KindForStatus(int(e.Get("code").Int()))
	}
	return kind, orDefault(e.Get("message").Str, "the provider reported an error"), true
}

func (b *streamBase) fail(out []byte, client Protocol, kind, msg string) []byte {
	b.done = true
	b.failed = fmt.Errorf("%w: %s: %s", ErrStreamFailed, kind, redact(msg))
	return append(out, ErrorEvent(client, kind, redact(msg))...)
}

// oaChunk is what the stream machines read of one OpenAI chunk, in one
// pass over each level.
type oaChunk struct {
	id, model, usage, err                 gjson.Result
	hasChoice                             bool
	content, reasoning, toolCalls, finish gjson.Result
}

func readChunk(d gjson.Result) oaChunk {
	var c oaChunk
	var choices gjson.Result
	d.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			c.id = v
		case "model":
			c.model = v
		case "usage":
			c.usage = v
		case "choices":
			choices = v
		case "error":
			c.err = v
		}
		return true
	})
	choices.ForEach(func(_, ch gjson.Result) bool {
		c.hasChoice = true
		ch.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "delta":
				v.ForEach(func(k, v gjson.Result) bool {
					switch k.Str {
					case "content":
						if v.Str != "" || c.content.Str == "" {
							c.content = v
						}
					case "refusal":
						if c.content.Str == "" {
							c.content = v // a refusal is what the user reads
						}
					case "reasoning_content":
						c.reasoning = v
					case "reasoning":
						if c.reasoning.Str == "" {
							c.reasoning = v
						}
					case "tool_calls":
						c.toolCalls = v
					}
					return true
				})
			case "finish_reason":
				c.finish = v
			}
			return true
		})
		return false // choice 0 only: n > 1 is refused
	})
	return c
}

// --- OpenAI chunk writing, for OpenAI clients ---

type chunkWriter struct {
	id, model string
	created   int64
}

func (c *chunkWriter) head(w *jw) {
	w.b = append(w.b, "data: "...)
	w.obj()
	w.kstr("id", c.id)
	w.kstr("object", "chat.completion.chunk")
	w.kint("created", c.created)
	w.kstr("model", c.model)
}

// delta writes one chunk whose choice's delta is written by fn.
func (c *chunkWriter) delta(out []byte, fn func(w *jw), finish string) []byte {
	w := jw{b: out}
	c.head(&w)
	w.key("choices")
	w.arr()
	w.obj()
	w.kint("index", 0)
	w.key("delta")
	w.obj()
	if fn != nil {
		fn(&w)
	}
	w.endObj()
	w.key("logprobs")
	w.null()
	w.key("finish_reason")
	if finish == "" {
		w.null()
	} else {
		w.str(finish)
	}
	w.endObj()
	w.endArr()
	w.endObj()
	return append(w.b, "\n\n"...)
}

// end writes the held finish reason, the usage chunk (unless dropped) and
// [DONE].
func (c *chunkWriter) end(out []byte, finish string, u Usage, dropUsage bool) []byte {
	out = c.delta(out, nil, finish)
	if u.Known && !dropUsage {
		w := jw{b: out}
		c.head(&w)
		w.kraw("choices", "[]")
		w.key("usage")
		writeOpenAIUsage(&w, u)
		w.endObj()
		out = append(w.b, "\n\n"...)
	}
	return append(out, "data: [DONE]\n\n"...)
}

// --- Anthropic → OpenAI ---

type anthropicToOpenAIStream struct {
	streamBase
	cw           chunkWriter
	tools        map[int64]int // content block index → OpenAI tool index
	finishReason string
}

func (s *anthropicToOpenAIStream) event(out []byte, ev *sseEvent) ([]byte, error) {
	if !ev.hasData || s.done {
		return out, nil
	}
	if !gjson.ValidBytes(ev.data) {
		return out, fmt.Errorf("%w: an event of the Anthropic stream is not JSON: %q", ErrBadResponse, truncate(string(ev.data), 80))
	}
	d := parseJSON(ev.data)
	switch d.Get("type").Str {
	case "message_start":
		m := d.Get("message")
		s.cw.id = strings.Clone(m.Get("id").Str)
		if s.cw.model == "" {
			s.cw.model = strings.Clone(m.Get("model").Str)
		}
		s.use = anthropicUsage(m.Get("usage"))
		out = s.cw.delta(out, func(w *jw) {
			w.kstr("role", "assistant")
			w.kstr("content", "")
		}, "")
	case "content_block_start":
		cb := d.Get("content_block")
		switch cb.Get("type").Str {
		case "tool_use":
			k := len(s.tools)
			s.tools[d.Get("index").Int()] = k
			s.began = true
			out = s.cw.delta(out, func(w *jw) {
				w.key("tool_calls")
				w.arr()
				w.obj()
				w.kint("index", int64(k))
				w.kstr("id", cb.Get("id").Str)
				w.kstr("type", "function")
				w.key("function")
				w.obj()
				w.kstr("name", cb.Get("name").Str)
				w.kstr("arguments", "")
				w.endObj()
				w.endObj()
				w.endArr()
			}, "")
		case "text":
			if t := cb.Get("text").Str; t != "" {
				s.began = true
				out = s.cw.delta(out, func(w *jw) { w.kstr("content", t) }, "")
			}
		}
	case "content_block_delta":
		dl := d.Get("delta")
		switch dl.Get("type").Str {
		case "text_delta":
			s.began = true
			out = s.cw.delta(out, func(w *jw) { w.kstr("content", dl.Get("text").Str) }, "")
		case "thinking_delta":
			s.began = true
			out = s.cw.delta(out, func(w *jw) { w.kstr("reasoning_content", dl.Get("thinking").Str) }, "")
		case "input_json_delta":
			if dl.Get("partial_json").Str == "" {
				break
			}
			k, ok := s.tools[d.Get("index").Int()]
			if !ok {
				return out, fmt.Errorf("%w: input_json_delta for content block %d, which is no tool_use block", ErrBadResponse, d.Get("index").Int())
			}
			out = s.cw.delta(out, func(w *jw) {
				w.key("tool_calls")
				w.arr()
				w.obj()
				w.kint("index", int64(k))
				w.key("function")
				w.obj()
				w.kstr("arguments", dl.Get("partial_json").Str)
				w.endObj()
				w.endObj()
				w.endArr()
			}, "")
		}
	case "message_delta":
		if r := d.Get("delta.stop_reason"); r.Type == gjson.String {
			s.finishReason = finishFromAnthropic(r.Str)
		}
		mergeAnthropicUsage(&s.use, d.Get("usage"))
	case "message_stop":
		s.done = true
		out = s.cw.end(out, orDefault(s.finishReason, "stop"), s.use, s.opts.DropUsageChunk)
	case "error":
		kind, msg, _ := providerError(d)
		out = s.fail(out, OpenAI, kind, msg)
	}
	return out, nil
}

// mergeAnthropicUsage takes message_delta usage: output_tokens is the
// running total; newer API versions repeat the input counts there.
func mergeAnthropicUsage(cur *Usage, u gjson.Result) {
	if !u.IsObject() {
		return
	}
	cur.Known = true
	if o := u.Get("output_tokens"); o.Exists() {
		cur.OutputTokens = o.Int()
	}
	if u.Get("input_tokens").Exists() {
		in := anthropicUsage(u)
		if in.InputTokens > 0 {
			cur.InputTokens, cur.CachedTokens = in.InputTokens, in.CachedTokens
		}
	}
}

func (s *anthropicToOpenAIStream) finish(out []byte) ([]byte, error) { return s.cut(out, OpenAI) }

// --- OpenAI → Anthropic ---

type openAIToAnthropicStream struct {
	streamBase
	id, model  string
	msgStarted bool
	block      string // type of the open content block, "" when none
	blockIndex int64  // index of the open block; next block gets blockIndex+1
	toolIndex  int64  // OpenAI tool index of the open tool_use block
	toolID     string // its id
	stop       string // held stop reason
	tools      int
}

func anthropicEvent(out []byte, name string, fn func(w *jw)) []byte {
	out = append(out, "event: "...)
	out = append(out, name...)
	out = append(out, "\ndata: "...)
	w := jw{b: out}
	w.obj()
	w.kstr("type", name)
	fn(&w)
	w.endObj()
	return append(w.b, "\n\n"...)
}

func (s *openAIToAnthropicStream) startMessage(out []byte) []byte {
	if s.msgStarted {
		return out
	}
	s.msgStarted = true
	s.blockIndex = -1
	return anthropicEvent(out, "message_start", func(w *jw) {
		w.key("message")
		w.obj()
		w.kstr("id", s.id)
		w.kstr("type", "message")
		w.kstr("role", "assistant")
		w.kstr("model", s.model)
		w.kraw("content", "[]")
		w.kraw("stop_reason", "null")
		w.kraw("stop_sequence", "null")
		w.key("usage")
		writeAnthropicUsage(w, s.use)
		w.endObj()
	})
}

func (s *openAIToAnthropicStream) closeBlock(out []byte) []byte {
	if s.block == "" {
		return out
	}
	s.block = ""
	idx := s.blockIndex
	return anthropicEvent(out, "content_block_stop", func(w *jw) { w.kint("index", idx) })
}

// openBlock opens a block of type t (closing another one first).
func (s *openAIToAnthropicStream) openBlock(out []byte, t string, fn func(w *jw)) []byte {
	out = s.closeBlock(out)
	s.block = t
	s.blockIndex++
	idx := s.blockIndex
	return anthropicEvent(out, "content_block_start", func(w *jw) {
		w.kint("index", idx)
		w.key("content_block")
		w.obj()
		fn(w)
		w.endObj()
	})
}

func (s *openAIToAnthropicStream) blockDelta(out []byte, fn func(w *jw)) []byte {
	idx := s.blockIndex
	return anthropicEvent(out, "content_block_delta", func(w *jw) {
		w.kint("index", idx)
		w.key("delta")
		w.obj()
		fn(w)
		w.endObj()
	})
}

func (s *openAIToAnthropicStream) event(out []byte, ev *sseEvent) ([]byte, error) {
	if !ev.hasData || s.done {
		return out, nil
	}
	if string(ev.data) == "[DONE]" {
		return s.end(out), nil
	}
	if !gjson.ValidBytes(ev.data) {
		return out, fmt.Errorf("%w: a chunk of the OpenAI stream is not JSON: %q", ErrBadResponse, truncate(string(ev.data), 80))
	}
	d := parseJSON(ev.data)
	ch := readChunk(d)
	if ch.err.Exists() {
		kind, msg, _ := providerError(d)
		return s.fail(out, Anthropic, kind, msg), nil
	}
	if s.id == "" {
		s.id = strings.Clone(ch.id.Str)
	}
	if s.model == "" {
		s.model = strings.Clone(ch.model.Str)
	}
	if ch.usage.IsObject() {
		s.use = openAIUsage(ch.usage)
	}
	out = s.startMessage(out)
	if !ch.hasChoice {
		return out, nil
	}
	if rc := ch.reasoning.Str; rc != "" {
		if s.block != "thinking" {
			out = s.openBlock(out, "thinking", func(w *jw) {
				w.kstr("type", "thinking")
				w.kstr("thinking", "")
				w.kstr("signature", "")
			})
		}
		s.began = true
		out = s.blockDelta(out, func(w *jw) {
			w.kstr("type", "thinking_delta")
			w.key("thinking")
			w.rawStr(ch.reasoning)
		})
	}
	if ch.content.Type == gjson.String && ch.content.Str != "" {
		if s.block != "text" {
			out = s.openBlock(out, "text", func(w *jw) {
				w.kstr("type", "text")
				w.kstr("text", "")
			})
		}
		s.began = true
		out = s.blockDelta(out, func(w *jw) {
			w.kstr("type", "text_delta")
			w.key("text")
			w.rawStr(ch.content)
		})
	}
	ch.toolCalls.ForEach(func(_, tc gjson.Result) bool {
		idx := tc.Get("index").Int()
		id := tc.Get("id").Str
		if s.block != "tool" || idx != s.toolIndex || id != "" && id != s.toolID {
			if id == "" {
				id = fmt.Sprintf("toolu_%s_%d", s.id, s.tools)
			}
			s.tools++
			s.toolIndex, s.toolID = idx, strings.Clone(id)
			name := tc.Get("function.name").Str
			out = s.openBlock(out, "tool", func(w *jw) {
				w.kstr("type", "tool_use")
				w.kstr("id", id)
				w.kstr("name", name)
				w.kraw("input", "{}")
			})
			s.began = true
		}
		if a := tc.Get("function.arguments").Str; a != "" {
			out = s.blockDelta(out, func(w *jw) {
				w.kstr("type", "input_json_delta")
				w.kstr("partial_json", a)
			})
		}
		return true
	})
	if f := ch.finish; f.Type == gjson.String && f.Str != "" {
		s.stop = stopFromOpenAI(f.Str)
	}
	return out, nil
}

// end closes the message: the open block, the held stop reason with the
// usage, message_stop.
func (s *openAIToAnthropicStream) end(out []byte) []byte {
	s.done = true
	out = s.startMessage(out)
	out = s.closeBlock(out)
	out = anthropicEvent(out, "message_delta", func(w *jw) {
		w.key("delta")
		w.obj()
		w.kstr("stop_reason", orDefault(s.stop, "end_turn"))
		w.kraw("stop_sequence", "null")
		w.endObj()
		w.key("usage")
		writeAnthropicUsage(w, s.use)
	})
	return anthropicEvent(out, "message_stop", func(*jw) {})
}

func (s *openAIToAnthropicStream) finish(out []byte) ([]byte, error) {
	if !s.done && s.stop != "" {
		// Some OpenAI-compatible servers end without [DONE]; the answer
		// itself was complete.
		return s.end(out), nil
	}
	return s.cut(out, Anthropic)
}

// --- Gemini → OpenAI ---

type geminiToOpenAIStream struct {
	streamBase
	cw           chunkWriter
	respID       string
	roleSent     bool
	calls        int
	finishReason string
}

func (s *geminiToOpenAIStream) event(out []byte, ev *sseEvent) ([]byte, error) {
	if !ev.hasData || s.done {
		return out, nil
	}
	if !gjson.ValidBytes(ev.data) {
		return out, fmt.Errorf("%w: an event of the Gemini stream is not JSON: %q", ErrBadResponse, truncate(string(ev.data), 80))
	}
	d := parseJSON(ev.data)
	if d.IsArray() { // a stream requested without alt=sse
		d = d.Get("0")
	}
	if kind, msg, ok := providerError(d); ok {
		if st := d.Get("error.status").Str; st != "" {
			kind = kindForGeminiStatus(st, kind)
		}
		return s.fail(out, OpenAI, kind, msg), nil
	}
	if s.respID == "" {
		s.respID = strings.Clone(d.Get("responseId").Str)
		s.cw.id = "chatcmpl-" + orDefault(s.respID, "gemini")
	}
	if s.cw.model == "" {
		s.cw.model = strings.Clone(d.Get("modelVersion").Str)
	}
	if u := d.Get("usageMetadata"); u.IsObject() {
		s.use = geminiUsage(u)
	}
	if !s.roleSent {
		s.roleSent = true
		out = s.cw.delta(out, func(w *jw) {
			w.kstr("role", "assistant")
			w.kstr("content", "")
		}, "")
	}
	cand := d.Get("candidates.0")
	cand.Get("content.parts").ForEach(func(_, p gjson.Result) bool {
		if fc := p.Get("functionCall"); fc.IsObject() {
			k := s.calls
			s.calls++
			s.began = true
			id := geminiToolID(s.respID, k, fc.Get("id").Str, p.Get("thoughtSignature").Str)
			args := "{}"
			if a := fc.Get("args"); a.IsObject() {
				args = a.Raw
			}
			out = s.cw.delta(out, func(w *jw) {
				w.key("tool_calls")
				w.arr()
				w.obj()
				w.kint("index", int64(k))
				w.kstr("id", id)
				w.kstr("type", "function")
				w.key("function")
				w.obj()
				w.kstr("name", fc.Get("name").Str)
				w.kstr("arguments", args)
				w.endObj()
				w.endObj()
				w.endArr()
			}, "")
			return true
		}
		t := p.Get("text").Str
		if t == "" {
			return true
		}
		s.began = true
		key := "content"
		if p.Get("thought").Type == gjson.True {
			key = "reasoning_content"
		}
		out = s.cw.delta(out, func(w *jw) { w.kstr(key, t) }, "")
		return true
	})
	if f := cand.Get("finishReason"); f.Type == gjson.String && f.Str != "" {
		s.finishReason = f.Str
	} else if !cand.Exists() && d.Get("promptFeedback.blockReason").Exists() {
		s.finishReason = "SAFETY"
	}
	return out, nil
}

// finish ends the answer at EOF: Gemini has no terminal event; a chunk
// with a finishReason is the end.
func (s *geminiToOpenAIStream) finish(out []byte) ([]byte, error) {
	if s.done {
		return out, s.failed
	}
	if s.finishReason == "" {
		return s.cut(out, OpenAI)
	}
	s.done = true
	return s.cw.end(out, finishFromGemini(s.finishReason, s.calls > 0), s.use, s.opts.DropUsageChunk), nil
}

// --- pass-through ---

type passOpenAIStream struct {
	streamBase
	finishSeen bool
}

func (s *passOpenAIStream) event(out []byte, ev *sseEvent) ([]byte, error) {
	if s.done {
		return out, nil
	}
	if !ev.hasData {
		return append(out, ev.raw...), nil
	}
	if string(ev.data) == "[DONE]" {
		s.done = true
		return append(out, ev.raw...), nil
	}
	if !gjson.ValidBytes(ev.data) {
		return out, fmt.Errorf("%w: a chunk of the OpenAI stream is not JSON: %q", ErrBadResponse, truncate(string(ev.data), 80))
	}
	d := parseJSON(ev.data)
	ch := readChunk(d)
	if ch.err.Exists() {
		kind, msg, _ := providerError(d)
		s.done = true
		s.failed = fmt.Errorf("%w: %s: %s", ErrStreamFailed, kind, redact(msg))
		return append(out, ev.raw...), nil
	}
	if ch.usage.IsObject() {
		s.use = openAIUsage(ch.usage)
		if s.opts.DropUsageChunk && !ch.hasChoice {
			return out, nil
		}
	}
	if ch.content.Str != "" || ch.toolCalls.IsArray() || ch.reasoning.Str != "" {
		s.began = true
	}
	if ch.finish.Type == gjson.String && ch.finish.Str != "" {
		s.finishSeen = true
	}
	return append(out, ev.raw...), nil
}

func (s *passOpenAIStream) finish(out []byte) ([]byte, error) {
	if !s.done && s.finishSeen {
		s.done = true
		return append(out, "data: [DONE]\n\n"...), nil
	}
	return s.cut(out, OpenAI)
}

type passAnthropicStream struct{ streamBase }

func (s *passAnthropicStream) event(out []byte, ev *sseEvent) ([]byte, error) {
	if s.done {
		return out, nil
	}
	if !ev.hasData {
		return append(out, ev.raw...), nil
	}
	if !gjson.ValidBytes(ev.data) {
		return out, fmt.Errorf("%w: an event of the Anthropic stream is not JSON: %q", ErrBadResponse, truncate(string(ev.data), 80))
	}
	d := parseJSON(ev.data)
	switch d.Get("type").Str {
	case "message_start":
		s.use = anthropicUsage(d.Get("message.usage"))
	case "content_block_start":
		if d.Get("content_block.type").Str == "tool_use" {
			s.began = true
		}
	case "content_block_delta":
		s.began = true
	case "message_delta":
		mergeAnthropicUsage(&s.use, d.Get("usage"))
	case "message_stop":
		s.done = true
	case "error":
		kind, msg, _ := providerError(d)
		s.done = true
		s.failed = fmt.Errorf("%w: %s: %s", ErrStreamFailed, kind, redact(msg))
	}
	return append(out, ev.raw...), nil
}

func (s *passAnthropicStream) finish(out []byte) ([]byte, error) { return s.cut(out, Anthropic) }

func newStream(from, to Protocol, opts StreamOptions) (Stream, error) {
	base := streamBase{opts: opts, created: opts.Created}
	if base.created == 0 {
		base.created = time.Now().Unix()
	}
	cw := chunkWriter{model: opts.Model, created: base.created}
	var h handler
	switch {
	case from == OpenAI && to == OpenAI:
		h = &passOpenAIStream{streamBase: base}
	case from == Anthropic && to == Anthropic:
		h = &passAnthropicStream{streamBase: base}
	case from == Anthropic && to == OpenAI:
		h = &anthropicToOpenAIStream{streamBase: base, cw: cw, tools: map[int64]int{}}
	case from == OpenAI && to == Anthropic:
		h = &openAIToAnthropicStream{streamBase: base, model: opts.Model}
	case from == Gemini && to == OpenAI:
		h = &geminiToOpenAIStream{streamBase: base, cw: cw}
	case from == Gemini && to == Anthropic:
		inner := opts
		inner.DropUsageChunk = false
		a, _ := newStream(Gemini, OpenAI, inner)
		b, _ := newStream(OpenAI, Anthropic, opts)
		return &chained{a: a, b: b}, nil
	default:
		return nil, fmt.Errorf("translate: no stream translation from %q to %q; clients speak openai or anthropic, providers openai, anthropic or gemini", from, to)
	}
	return &sseStream{h: h}, nil
}

var (
	_ Stream = (*sseStream)(nil)
	_ Stream = (*chained)(nil)
)
