package llmstandin

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"strings"
	"time"
)

type openAIChatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		ToolCallID string          `json:"tool_call_id"`
	} `json:"messages"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Tools []struct {
		Type     string `json:"type"`
		Function struct {
			Name       string          `json:"name"`
			Parameters json.RawMessage `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	MaxTokens           int             `json:"max_tokens"`
	MaxCompletionTokens int             `json:"max_completion_tokens"`
}

// toolChoiceOpenAI reads "auto"|"none"|"required" or {"function":{"name"}}.
func toolChoiceOpenAI(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if json.Unmarshal(raw, &o) == nil && o.Function.Name != "" {
		return o.Function.Name
	}
	return "auto"
}

func (ex *exchange) decode(v any) bool {
	if err := json.Unmarshal(ex.body, v); err != nil {
		ex.fail(http.StatusBadRequest, "invalid_request_error", "the body is not the JSON expected: "+err.Error())
		return false
	}
	return true
}

// openAIChat answers POST …/chat/completions.
func (ex *exchange) openAIChat() {
	var req openAIChatRequest
	if !ex.decode(&req) {
		return
	}
	model := req.Model
	if model == "" {
		// Azure deployment URLs carry the model in the path.
		if _, dep, ok := strings.Cut(ex.r.URL.Path, "/deployments/"); ok {
			model, _, _ = strings.Cut(dep, "/")
		}
	}
	if model == "" {
		ex.fail(http.StatusBadRequest, "invalid_request_error", "model: required")
		return
	}
	if len(req.Messages) == 0 {
		ex.fail(http.StatusBadRequest, "invalid_request_error", "messages: at least one message is required")
		return
	}
	if !ex.model(model, req.Stream) {
		return
	}
	c := conversation{toolChoice: toolChoiceOpenAI(req.ToolChoice), maxTokens: req.MaxTokens}
	if req.MaxCompletionTokens > 0 {
		c.maxTokens = req.MaxCompletionTokens
	}
	for _, m := range req.Messages {
		text := textOf(m.Content)
		c.addText(text)
		switch m.Role {
		case "user":
			c.lastUser, c.endsInTool = text, false
		case "tool":
			c.toolResult, c.endsInTool = text, true
		default:
			c.endsInTool = false
		}
	}
	for _, t := range req.Tools {
		c.tools = append(c.tools, tool{name: t.Function.Name, schema: t.Function.Parameters})
	}
	a := ex.reply(c, "call_standin_")
	id := fmt.Sprintf("chatcmpl-standin-%d", ex.rec.Seq)
	created := time.Now().Unix()
	finish := map[string]string{"end": "stop", "length": "length", "tool": "tool_calls"}[a.stop]
	usage := map[string]any{
		"prompt_tokens":             a.usage.InputTokens,
		"completion_tokens":         a.usage.OutputTokens,
		"total_tokens":              a.usage.InputTokens + a.usage.OutputTokens,
		"prompt_tokens_details":     map[string]any{"cached_tokens": a.usage.CachedTokens},
		"completion_tokens_details": map[string]any{"reasoning_tokens": a.usage.ReasoningTokens},
	}
	if !req.Stream {
		msg := map[string]any{"role": "assistant", "content": nil, "refusal": nil}
		if a.toolName != "" {
			msg["tool_calls"] = []any{map[string]any{"id": a.toolID, "type": "function",
				"function": map[string]any{"name": a.toolName, "arguments": a.toolArgs}}}
		} else {
			msg["content"] = a.text
		}
		ex.writeJSON(http.StatusOK, map[string]any{
			"id": id, "object": "chat.completion", "created": created, "model": model,
			"choices":            []any{map[string]any{"index": 0, "message": msg, "logprobs": nil, "finish_reason": finish}},
			"usage":              usage,
			"system_fingerprint": "fp_standin",
		}, a.usage)
		return
	}

	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	s := &sse{ex: ex}
	chunk := func(delta map[string]any, finish any) {
		c := map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
			"system_fingerprint": "fp_standin",
			"choices":            []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}}
		if includeUsage {
			c["usage"] = nil
		}
		s.add("", c)
	}
	if a.toolName != "" {
		chunk(map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{
			"index": 0, "id": a.toolID, "type": "function", "function": map[string]any{"name": a.toolName, "arguments": ""}}}}, nil)
		for _, p := range chunks(a.toolArgs, 8) {
			chunk(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "function": map[string]any{"arguments": p}}}}, nil)
		}
	} else {
		chunk(map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil)
		for _, p := range pieces(a.text) {
			chunk(map[string]any{"content": p}, nil)
		}
	}
	chunk(map[string]any{}, finish)
	if includeUsage {
		s.add("", map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
			"system_fingerprint": "fp_standin", "choices": []any{}, "usage": usage})
	}
	s.addRaw("", "[DONE]")
	s.send(a.usage)
}

// embeddings answers POST …/embeddings: deterministic vectors (from a
// hash of each input), float or base64 as asked.
func (ex *exchange) embeddings() {
	var req struct {
		Model          string          `json:"model"`
		Input          json.RawMessage `json:"input"`
		EncodingFormat string          `json:"encoding_format"`
		Dimensions     int             `json:"dimensions"`
	}
	if !ex.decode(&req) {
		return
	}
	if req.Model == "" || len(req.Input) == 0 {
		ex.fail(http.StatusBadRequest, "invalid_request_error", "model and input are required")
		return
	}
	if !ex.model(req.Model, false) {
		return
	}
	var inputs []string
	var tokens int64
	var one string
	var many []string
	var ids []int
	var idLists [][]int
	switch {
	case json.Unmarshal(req.Input, &one) == nil:
		inputs = []string{one}
	case json.Unmarshal(req.Input, &many) == nil:
		inputs = many
	case json.Unmarshal(req.Input, &ids) == nil:
		inputs = []string{fmt.Sprint(ids)}
		tokens += int64(len(ids)) - int64(len(strings.Fields(inputs[0])))
	case json.Unmarshal(req.Input, &idLists) == nil:
		for _, l := range idLists {
			inputs = append(inputs, fmt.Sprint(l))
			tokens += int64(len(l)) - int64(len(strings.Fields(fmt.Sprint(l))))
		}
	default:
		ex.fail(http.StatusBadRequest, "invalid_request_error", "input: a string, an array of strings or of token arrays is required")
		return
	}
	dims := req.Dimensions
	if dims <= 0 {
		dims = 8
	}
	data := make([]any, len(inputs))
	for i, in := range inputs {
		tokens += int64(len(strings.Fields(in)))
		vec := vector(in, dims)
		var emb any = vec
		if req.EncodingFormat == "base64" {
			buf := make([]byte, 4*len(vec))
			for j, f := range vec {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(f))
			}
			emb = base64.StdEncoding.EncodeToString(buf)
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": emb}
	}
	u := Usage{InputTokens: tokens}
	ex.writeJSON(http.StatusOK, map[string]any{"object": "list", "data": data, "model": req.Model,
		"usage": map[string]any{"prompt_tokens": tokens, "total_tokens": tokens}}, u)
}

// vector is a deterministic unit vector for s.
func vector(s string, dims int) []float32 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	x := h.Sum64()
	out := make([]float32, dims)
	var norm float64
	for i := range out {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		v := float64(x%2000)/1000 - 1
		out[i] = float32(v)
		norm += v * v
	}
	if norm > 0 {
		n := float32(math.Sqrt(norm))
		for i := range out {
			out[i] /= n
		}
	}
	return out
}

// responses answers POST …/responses (OpenAI Responses API, minimal: text
// input or messages, text output, streamed or not).
func (ex *exchange) responses() {
	var req struct {
		Model        string          `json:"model"`
		Input        json.RawMessage `json:"input"`
		Instructions string          `json:"instructions"`
		Stream       bool            `json:"stream"`
	}
	if !ex.decode(&req) {
		return
	}
	if req.Model == "" {
		ex.fail(http.StatusBadRequest, "invalid_request_error", "model: required")
		return
	}
	if !ex.model(req.Model, req.Stream) {
		return
	}
	var c conversation
	c.addText(req.Instructions)
	var text string
	if json.Unmarshal(req.Input, &text) == nil {
		c.addText(text)
		c.lastUser = text
	} else {
		var items []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		}
		_ = json.Unmarshal(req.Input, &items)
		for _, it := range items {
			t := textOf(it.Content)
			c.addText(t)
			if it.Role == "user" {
				c.lastUser = t
			}
		}
	}
	a := ex.reply(c, "")
	id := fmt.Sprintf("resp_standin_%d", ex.rec.Seq)
	msgID := fmt.Sprintf("msg_standin_%d", ex.rec.Seq)
	usage := map[string]any{
		"input_tokens": a.usage.InputTokens, "output_tokens": a.usage.OutputTokens,
		"total_tokens":          a.usage.InputTokens + a.usage.OutputTokens,
		"input_tokens_details":  map[string]any{"cached_tokens": a.usage.CachedTokens},
		"output_tokens_details": map[string]any{"reasoning_tokens": a.usage.ReasoningTokens},
	}
	status := "completed"
	if a.stop == "length" {
		status = "incomplete"
	}
	item := func(text string, st string) map[string]any {
		return map[string]any{"type": "message", "id": msgID, "status": st, "role": "assistant",
			"content": []any{map[string]any{"type": "output_text", "text": text, "annotations": []any{}}}}
	}
	resp := func(st string, output []any, u any) map[string]any {
		return map[string]any{"id": id, "object": "response", "created_at": time.Now().Unix(), "status": st,
			"model": req.Model, "output": output, "usage": u}
	}
	if !req.Stream {
		ex.writeJSON(http.StatusOK, resp(status, []any{item(a.text, "completed")}, usage), a.usage)
		return
	}
	s := &sse{ex: ex}
	seq := 0
	ev := func(typ string, v map[string]any) {
		v["type"] = typ
		v["sequence_number"] = seq
		seq++
		s.add(typ, v)
	}
	ev("response.created", map[string]any{"response": resp("in_progress", []any{}, nil)})
	ev("response.output_item.added", map[string]any{"output_index": 0, "item": map[string]any{"type": "message", "id": msgID, "status": "in_progress", "role": "assistant", "content": []any{}}})
	ev("response.content_part.added", map[string]any{"item_id": msgID, "output_index": 0, "content_index": 0, "part": map[string]any{"type": "output_text", "text": "", "annotations": []any{}}})
	for _, p := range pieces(a.text) {
		ev("response.output_text.delta", map[string]any{"item_id": msgID, "output_index": 0, "content_index": 0, "delta": p})
	}
	ev("response.output_text.done", map[string]any{"item_id": msgID, "output_index": 0, "content_index": 0, "text": a.text})
	ev("response.content_part.done", map[string]any{"item_id": msgID, "output_index": 0, "content_index": 0, "part": map[string]any{"type": "output_text", "text": a.text, "annotations": []any{}}})
	ev("response.output_item.done", map[string]any{"output_index": 0, "item": item(a.text, "completed")})
	ev("response."+status, map[string]any{"response": resp(status, []any{item(a.text, "completed")}, usage)})
	s.send(a.usage)
}
