package translate

import (
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

func anthropicToOpenAI(body []byte, opts RequestOptions) ([]byte, error) {
	root, err := parseObject(body)
	if err != nil {
		return nil, err
	}
	var model, messages, system, maxTokens, temperature, topP, stops, stream, tools, toolChoice, thinking, metadata gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			model = v
		case "messages":
			messages = v
		case "system":
			system = v
		case "max_tokens":
			maxTokens = v
		case "temperature":
			temperature = v
		case "top_p":
			topP = v
		case "stop_sequences":
			stops = v
		case "stream":
			stream = v
		case "tools":
			tools = v
		case "tool_choice":
			toolChoice = v
		case "thinking":
			thinking = v
		case "metadata":
			metadata = v
		}
		return true
	})
	if !messages.IsArray() {
		return nil, wantType("messages", messages, "array")
	}
	for _, f := range []struct {
		name string
		v    gjson.Result
	}{{"max_tokens", maxTokens}, {"temperature", temperature}, {"top_p", topP}} {
		if f.v.Exists() && f.v.Type != gjson.Null {
			if err := wantType(f.name, f.v, "number"); err != nil {
				return nil, err
			}
		}
	}

	w := jw{b: make([]byte, 0, len(body)+len(body)/4+64)}
	w.obj()
	if model.Exists() {
		w.kraw("model", model.Raw)
	}
	w.key("messages")
	w.arr()
	if system.Exists() && system.Type != gjson.Null {
		s, err := textOf("system", system, "\n")
		if err != nil {
			return nil, err
		}
		if s != "" {
			w.obj()
			w.kstr("role", "system")
			w.kstr("content", s)
			w.endObj()
		}
	}
	var merr error
	i := 0
	messages.ForEach(func(_, m gjson.Result) bool {
		merr = openAIMessages(&w, i, m)
		i++
		return merr == nil
	})
	if merr != nil {
		return nil, merr
	}
	w.endArr()

	effort := ""
	if thinking.IsObject() && thinking.Get("type").Str == "enabled" {
		effort = effortForBudget(thinking.Get("budget_tokens").Int())
	}
	if maxTokens.Type == gjson.Number {
		// Reasoning models refuse max_tokens; max_completion_tokens is the
		// current name and also counts the reasoning.
		if effort != "" {
			w.kraw("max_completion_tokens", maxTokens.Raw)
		} else {
			w.kraw("max_tokens", maxTokens.Raw)
		}
	}
	if effort != "" {
		w.kstr("reasoning_effort", effort)
	}
	if temperature.Type == gjson.Number {
		w.kraw("temperature", temperature.Raw)
	}
	if topP.Type == gjson.Number {
		w.kraw("top_p", topP.Raw)
	}
	if stops.IsArray() && len(stops.Array()) > 0 {
		w.key("stop")
		w.arr()
		for _, s := range stops.Array() {
			w.str(s.Str)
		}
		w.endArr()
	}
	if stream.Type == gjson.True {
		w.key("stream")
		w.bool(true)
		if opts.ForceStreamUsage {
			w.kraw("stream_options", `{"include_usage":true}`)
		}
	}
	if tools.IsArray() && len(tools.Array()) > 0 {
		w.key("tools")
		w.arr()
		var terr error
		i := 0
		tools.ForEach(func(_, t gjson.Result) bool {
			if tt := t.Get("type"); tt.Exists() && tt.Str != "custom" {
				terr = unsupported(fmt.Sprintf("tools[%d]", i), fmt.Sprintf("the server tool %q (%s)", tt.Str, t.Get("name").Str))
				return false
			}
			w.obj()
			w.kstr("type", "function")
			w.key("function")
			w.obj()
			w.kstr("name", t.Get("name").Str)
			if d := t.Get("description"); d.Type == gjson.String {
				w.kstr("description", d.Str)
			}
			if s := t.Get("input_schema"); s.IsObject() {
				w.kraw("parameters", s.Raw)
			}
			w.endObj()
			w.endObj()
			i++
			return true
		})
		if terr != nil {
			return nil, terr
		}
		w.endArr()
		if toolChoice.IsObject() {
			switch t := toolChoice.Get("type").Str; t {
			case "auto", "none":
				w.kstr("tool_choice", t)
			case "any":
				w.kstr("tool_choice", "required")
			case "tool":
				w.key("tool_choice")
				w.obj()
				w.kstr("type", "function")
				w.key("function")
				w.obj()
				w.kstr("name", toolChoice.Get("name").Str)
				w.endObj()
				w.endObj()
			default:
				return nil, fmt.Errorf("%w: tool_choice.type %q is not one of auto, any, tool, none", ErrInvalidBody, t)
			}
			if toolChoice.Get("disable_parallel_tool_use").Type == gjson.True {
				w.key("parallel_tool_calls")
				w.bool(false)
			}
		}
	}
	if u := metadata.Get("user_id"); u.Type == gjson.String && u.Str != "" {
		w.kstr("user", u.Str)
	}
	w.endObj()
	return w.b, nil
}

// openAIMessages writes Anthropic message i as one or more OpenAI
// messages: tool results become role "tool" messages, which must follow
// the assistant's tool calls directly, so they come first.
func openAIMessages(w *jw, i int, m gjson.Result) error {
	field := fmt.Sprintf("messages[%d]", i)
	if !m.IsObject() {
		return wantType(field, m, "object")
	}
	role := m.Get("role").Str
	c := m.Get("content")
	switch role {
	case "user", "assistant":
	default:
		return fmt.Errorf("%w: %s.role %q is not one of user, assistant", ErrInvalidBody, field, role)
	}
	if c.Type == gjson.String {
		w.obj()
		w.kstr("role", role)
		w.kstr("content", c.Str)
		w.endObj()
		return nil
	}
	if !c.IsArray() {
		return wantType(field+".content", c, "array")
	}
	blocks := c.Array()
	if role == "assistant" {
		return openAIAssistant(w, field, blocks)
	}
	// Tool results first, then the rest of the user's turn.
	parts, texts := 0, 0
	for j, b := range blocks {
		bf := fmt.Sprintf("%s.content[%d]", field, j)
		switch t := b.Get("type").Str; t {
		case "tool_result":
			s, err := textOf(bf+".content", b.Get("content"), "\n")
			if err != nil {
				return err
			}
			w.obj()
			w.kstr("role", "tool")
			w.kstr("tool_call_id", b.Get("tool_use_id").Str)
			w.kstr("content", s)
			w.endObj()
		case "text":
			parts++
			texts++
		case "image":
			parts++
		default:
			return unsupported(bf, fmt.Sprintf("content of type %q", t))
		}
	}
	if parts == 0 {
		return nil
	}
	w.obj()
	w.kstr("role", "user")
	w.key("content")
	if parts == 1 && texts == 1 {
		for _, b := range blocks {
			if b.Get("type").Str == "text" {
				w.str(b.Get("text").Str)
			}
		}
		w.endObj()
		return nil
	}
	w.arr()
	for j, b := range blocks {
		switch b.Get("type").Str {
		case "text":
			w.obj()
			w.kstr("type", "text")
			w.kstr("text", b.Get("text").Str)
			w.endObj()
		case "image":
			src := b.Get("source")
			var url string
			switch st := src.Get("type").Str; st {
			case "base64":
				url = "data:" + src.Get("media_type").Str + ";base64," + src.Get("data").Str
			case "url":
				url = src.Get("url").Str
			default:
				return unsupported(fmt.Sprintf("%s.content[%d].source", field, j), fmt.Sprintf("an image source of type %q", st))
			}
			w.obj()
			w.kstr("type", "image_url")
			w.key("image_url")
			w.obj()
			w.kstr("url", url)
			w.endObj()
			w.endObj()
		}
	}
	w.endArr()
	w.endObj()
	return nil
}

func openAIAssistant(w *jw, field string, blocks []gjson.Result) error {
	var text strings.Builder
	hasText, calls := false, 0
	for j, b := range blocks {
		switch t := b.Get("type").Str; t {
		case "text":
			hasText = true
			text.WriteString(b.Get("text").Str)
		case "tool_use":
			calls++
		case "thinking", "redacted_thinking":
			// OpenAI takes no reasoning back; the model reasons anew.
		default:
			return unsupported(fmt.Sprintf("%s.content[%d]", field, j), fmt.Sprintf("assistant content of type %q", t))
		}
	}
	w.obj()
	w.kstr("role", "assistant")
	switch {
	case hasText:
		w.kstr("content", text.String())
	case calls > 0:
		w.key("content")
		w.null()
	default:
		w.kstr("content", "")
	}
	if calls > 0 {
		w.key("tool_calls")
		w.arr()
		for _, b := range blocks {
			if b.Get("type").Str != "tool_use" {
				continue
			}
			input := b.Get("input")
			args := "{}"
			if input.IsObject() {
				args = input.Raw
			}
			w.obj()
			w.kstr("id", b.Get("id").Str)
			w.kstr("type", "function")
			w.key("function")
			w.obj()
			w.kstr("name", b.Get("name").Str)
			w.kstr("arguments", args)
			w.endObj()
			w.endObj()
		}
		w.endArr()
	}
	w.endObj()
	return nil
}
