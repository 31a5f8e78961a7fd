package llmstandin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

type anthropicRequest struct {
	Model     string          `json:"model"`
	MaxTokens *int            `json:"max_tokens"`
	System    json.RawMessage `json:"system"`
	Messages  []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Tools []struct {
		Name        string          `json:"name"`
		InputSchema json.RawMessage `json:"input_schema"`
	} `json:"tools"`
	ToolChoice *struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"tool_choice"`
	Stream bool `json:"stream"`
}

// anthropicMessages answers POST …/v1/messages.
func (ex *exchange) anthropicMessages() {
	var req anthropicRequest
	if !ex.decode(&req) {
		return
	}
	switch {
	case req.Model == "":
		ex.fail(http.StatusBadRequest, "invalid_request_error", "model: Field required")
		return
	case req.MaxTokens == nil:
		ex.fail(http.StatusBadRequest, "invalid_request_error", "max_tokens: Field required")
		return
	case len(req.Messages) == 0:
		ex.fail(http.StatusBadRequest, "invalid_request_error", "messages: at least one message is required")
		return
	}
	if !ex.model(req.Model, req.Stream) {
		return
	}
	c := conversation{maxTokens: *req.MaxTokens, toolChoice: "auto"}
	c.addText(textOf(req.System))
	for _, m := range req.Messages {
		var blocks []struct {
			Type    string          `json:"type"`
			Text    string          `json:"text"`
			Content json.RawMessage `json:"content"`
		}
		var texts, results []string
		if json.Unmarshal(m.Content, &blocks) == nil {
			for _, b := range blocks {
				switch b.Type {
				case "text":
					texts = append(texts, b.Text)
				case "tool_result":
					results = append(results, textOf(b.Content))
				}
			}
		} else {
			texts = append(texts, textOf(m.Content))
		}
		for _, t := range append(texts, results...) {
			c.addText(t)
		}
		switch {
		case m.Role == "user" && len(results) > 0:
			c.toolResult, c.endsInTool = strings.Join(results, " "), true
		case m.Role == "user":
			c.lastUser, c.endsInTool = strings.Join(texts, " "), false
		default:
			c.endsInTool = false
		}
	}
	for _, t := range req.Tools {
		c.tools = append(c.tools, tool{name: t.Name, schema: t.InputSchema})
	}
	if req.ToolChoice != nil {
		switch req.ToolChoice.Type {
		case "none":
			c.toolChoice = "none"
		case "tool":
			c.toolChoice = req.ToolChoice.Name
		}
	}
	a := ex.reply(c, "toolu_standin_")
	id := fmt.Sprintf("msg_standin_%d", ex.rec.Seq)
	stop := map[string]string{"end": "end_turn", "length": "max_tokens", "tool": "tool_use"}[a.stop]
	usage := map[string]any{
		"input_tokens":                a.usage.InputTokens - a.usage.CachedTokens,
		"output_tokens":               a.usage.OutputTokens,
		"cache_creation_input_tokens": 0,
		"cache_read_input_tokens":     a.usage.CachedTokens,
	}
	var input any = map[string]any{}
	if a.toolName != "" {
		_ = json.Unmarshal([]byte(a.toolArgs), &input)
	}
	if !req.Stream {
		var block map[string]any
		if a.toolName != "" {
			block = map[string]any{"type": "tool_use", "id": a.toolID, "name": a.toolName, "input": input}
		} else {
			block = map[string]any{"type": "text", "text": a.text}
		}
		ex.writeJSON(http.StatusOK, map[string]any{"id": id, "type": "message", "role": "assistant", "model": req.Model,
			"content": []any{block}, "stop_reason": stop, "stop_sequence": nil, "usage": usage}, a.usage)
		return
	}
	s := &sse{ex: ex}
	startUsage := map[string]any{"input_tokens": usage["input_tokens"], "output_tokens": 1,
		"cache_creation_input_tokens": 0, "cache_read_input_tokens": a.usage.CachedTokens}
	s.add("message_start", map[string]any{"type": "message_start", "message": map[string]any{"id": id, "type": "message",
		"role": "assistant", "model": req.Model, "content": []any{}, "stop_reason": nil, "stop_sequence": nil, "usage": startUsage}})
	if a.toolName != "" {
		s.add("content_block_start", map[string]any{"type": "content_block_start", "index": 0,
			"content_block": map[string]any{"type": "tool_use", "id": a.toolID, "name": a.toolName, "input": map[string]any{}}})
		s.add("ping", map[string]any{"type": "ping"})
		for _, p := range chunks(a.toolArgs, 8) {
			s.add("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
				"delta": map[string]any{"type": "input_json_delta", "partial_json": p}})
		}
	} else {
		s.add("content_block_start", map[string]any{"type": "content_block_start", "index": 0,
			"content_block": map[string]any{"type": "text", "text": ""}})
		s.add("ping", map[string]any{"type": "ping"})
		for _, p := range pieces(a.text) {
			s.add("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
				"delta": map[string]any{"type": "text_delta", "text": p}})
		}
	}
	s.add("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
	s.add("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": a.usage.OutputTokens}})
	s.add("message_stop", map[string]any{"type": "message_stop"})
	s.send(a.usage)
}
