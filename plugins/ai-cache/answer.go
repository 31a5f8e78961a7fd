package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/aiwire"
	"github.com/gatehouse-dev/gatehouse/plugins/internal/translate"
)

// answer is what the cache stores for a question: the assistant's text,
// protocol-neutral, so that any client protocol and form can replay it.
type answer struct {
	// V is the format version; other versions are misses.
	V       int    `json:"v"`
	Content string `json:"content"`
	// Finish is OpenAI's finish_reason (stop, length, content_filter).
	Finish string `json:"finish"`
	// Model is the model the provider reported.
	Model string `json:"model,omitempty"`
	// InputTokens and OutputTokens are the usage of the original answer
	// (reported on a hit only with hitsCountUsage).
	InputTokens  int64 `json:"in,omitempty"`
	OutputTokens int64 `json:"out,omitempty"`
}

const answerVersion = 1

// decodeAnswer reads a stored answer (gjson: a hit is on the hot path and
// encoding/json's reflection costs more than the rest of the lookup).
func decodeAnswer(raw []byte) (*answer, bool) {
	if !gjson.ValidBytes(raw) {
		return nil, false
	}
	f := gjson.GetManyBytes(raw, "v", "content", "finish", "model", "in", "out")
	if f[0].Int() != answerVersion || f[1].Type != gjson.String || f[1].Str == "" {
		return nil, false
	}
	return &answer{V: answerVersion, Content: f[1].Str, Finish: f[2].Str, Model: f[3].Str, InputTokens: f[4].Int(), OutputTokens: f[5].Int()}, true
}

// errNotCacheable says why an answer is not stored.
var errNotCacheable = errors.New("not cacheable")

func protocolName(p aiwire.Protocol) translate.Protocol {
	if p == aiwire.Anthropic {
		return translate.Anthropic
	}
	return translate.OpenAI
}

// answerFromJSON reads a whole non-streamed answer of client protocol p.
// It is brought to OpenAI's form first (cacheValueFrom is a path over
// that form); answers without the value or with tool calls are not
// cacheable.
func (c *config) answerFromJSON(p aiwire.Protocol, body []byte, model string) (*answer, error) {
	oa, u, err := translate.Response(protocolName(p), translate.OpenAI, body, model)
	if err != nil {
		return nil, err
	}
	choice := gjson.GetBytes(oa, "choices.0")
	if choice.Get("message.tool_calls").Exists() || choice.Get("finish_reason").Str == "tool_calls" {
		return nil, errNotCacheable
	}
	v := gjson.GetBytes(oa, c.CacheValueFrom)
	if v.Type != gjson.String || v.Str == "" {
		return nil, errNotCacheable
	}
	return &answer{
		V: answerVersion, Content: v.Str, Finish: finishOr(choice.Get("finish_reason").Str),
		Model: gjson.GetBytes(oa, "model").Str, InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
	}, nil
}

// answerFromStream reads a whole streamed answer (the SSE the client
// got) of client protocol p. A stream that was cut, reported an error, or
// carried a tool call is not cacheable.
func (c *config) answerFromStream(p aiwire.Protocol, sse []byte, model string) (*answer, error) {
	s, err := translate.NewStream(protocolName(p), translate.OpenAI, translate.StreamOptions{Model: model})
	if err != nil {
		return nil, err
	}
	oa, err := s.Feed(sse)
	if err != nil {
		return nil, err
	}
	tail, err := s.Finish()
	if err != nil {
		return nil, err
	}
	oa = append(oa, tail...)
	var text bytes.Buffer
	a := &answer{V: answerVersion}
	done := false
	for line := range bytes.Lines(oa) {
		data, ok := bytes.CutPrefix(bytes.TrimRight(line, "\r\n"), []byte("data:"))
		if !ok {
			continue
		}
		data = bytes.TrimSpace(data)
		if string(data) == "[DONE]" {
			done = true
			continue
		}
		ev := gjson.ParseBytes(data)
		choice := ev.Get("choices.0")
		if choice.Get("delta.tool_calls").Exists() || choice.Get("finish_reason").Str == "tool_calls" {
			return nil, errNotCacheable
		}
		if v := ev.Get(c.CacheStreamValueFrom); v.Type == gjson.String {
			text.WriteString(v.Str)
		}
		if f := choice.Get("finish_reason").Str; f != "" {
			a.Finish = f
		}
		if m := ev.Get("model").Str; m != "" {
			a.Model = m
		}
	}
	if !done || a.Finish == "" || text.Len() == 0 {
		return nil, errNotCacheable
	}
	u := s.Usage()
	a.Content, a.InputTokens, a.OutputTokens = text.String(), u.InputTokens, u.OutputTokens
	return a, nil
}

// finishOr keeps the finish reasons a replay may carry; anything else is
// "stop", so a stored value never reaches a client's JSON unquoted.
func finishOr(f string) string {
	switch f {
	case "length", "content_filter":
		return f
	}
	return "stop"
}

// anthropicStop is Anthropic's stop_reason for an OpenAI finish_reason.
func anthropicStop(f string) string {
	switch f {
	case "length":
		return "max_tokens"
	case "content_filter":
		return "refusal"
	}
	return "end_turn"
}

// replay holds what every form of a hit needs.
type replay struct {
	content []byte // JSON string
	model   []byte // JSON string
	finish  string
	id      string
	created string
}

func newReplay(a *answer, model string) replay {
	content, _ := json.Marshal(a.Content)
	m, _ := json.Marshal(model)
	// The id only tells answers apart; it need not be unpredictable.
	var id [12]byte
	binary.LittleEndian.PutUint64(id[:8], rand.Uint64())
	binary.LittleEndian.PutUint32(id[8:], rand.Uint32())
	return replay{content: content, model: m, finish: finishOr(a.Finish), id: hex.EncodeToString(id[:]),
		created: strconv.FormatInt(time.Now().Unix(), 10)}
}

// render writes a hit as the client asked: p's protocol, SSE when stream.
// includeUsage adds OpenAI's usage chunk (stream_options.include_usage).
func (rp replay) render(p aiwire.Protocol, stream, includeUsage bool) []byte {
	b := make([]byte, 0, 512+3*len(rp.content))
	str := func(s string) { b = append(b, s...) }
	raw := func(s []byte) { b = append(b, s...) }
	switch {
	case p == aiwire.OpenAI && !stream:
		str(`{"id":"chatcmpl-cache-` + rp.id + `","object":"chat.completion","created":` + rp.created + `,"model":`)
		raw(rp.model)
		str(`,"choices":[{"index":0,"message":{"role":"assistant","content":`)
		raw(rp.content)
		str(`},"finish_reason":"` + rp.finish + `"}],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}`)
	case p == aiwire.OpenAI:
		head := func() {
			str(`data: {"id":"chatcmpl-cache-` + rp.id + `","object":"chat.completion.chunk","created":` + rp.created + `,"model":`)
			raw(rp.model)
		}
		head()
		str(`,"choices":[{"index":0,"delta":{"role":"assistant","content":`)
		raw(rp.content)
		str("},\"finish_reason\":null}]}\n\n")
		head()
		str(`,"choices":[{"index":0,"delta":{},"finish_reason":"` + rp.finish + "\"}]}\n\n")
		if includeUsage {
			head()
			str(`,"choices":[],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}` + "\n\n")
		}
		str("data: [DONE]\n\n")
	case !stream:
		str(`{"id":"msg_cache_` + rp.id + `","type":"message","role":"assistant","model":`)
		raw(rp.model)
		str(`,"content":[{"type":"text","text":`)
		raw(rp.content)
		str(`}],"stop_reason":"` + anthropicStop(rp.finish) + `","stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0}}`)
	default:
		str("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_cache_" + rp.id + `","type":"message","role":"assistant","model":`)
		raw(rp.model)
		str(`,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0}}}` + "\n\n")
		str("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
		str("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":")
		raw(rp.content)
		str("}}\n\n")
		str("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
		str("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"" + anthropicStop(rp.finish) + "\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":0}}\n\n")
		str("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	}
	return b
}
