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
		return nil, wantType(field("messages"), messages, "array")
	}
	for _, f := range []struct {
		name string
		v    gjson.Result
	}{{"max_tokens", maxTokens}, {"temperature", temperature}, {"top_p", topP}} {
		if f.v.Exists() && f.v.Type != gjson.Null {
			if err := wantType(field(f.name), f.v, "number"); err != nil {
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
		s, err := textOf(field("system"), system, "\n")
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
	if stops.IsArray() && hasMembers(stops) {
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
	if tools.IsArray() && hasMembers(tools) {
		w.key("tools")
		w.arr()
		var terr error
		i := 0
		tools.ForEach(func(_, t gjson.Result) bool {
			var typ, name, desc, schema gjson.Result
			t.ForEach(func(k, v gjson.Result) bool {
				switch k.Str {
				case "type":
					typ = v
				case "name":
					name = v
				case "description":
					desc = v
				case "input_schema":
					schema = v
				}
				return true
			})
			if typ.Exists() && typ.Str != "custom" {
				terr = unsupported(field("tools").at(i), fmt.Sprintf("the server tool %q (%s)", typ.Str, name.Str))
				return false
			}
			w.obj()
			w.kstr("type", "function")
			w.key("function")
			w.obj()
			w.key("name")
			w.rawStr(name)
			if desc.Type == gjson.String {
				w.key("description")
				w.rawStr(desc)
			}
			if schema.IsObject() {
				w.kraw("parameters", schema.Raw)
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

// aBlock is one Anthropic content block, read in one pass.
type aBlock struct {
	typ                       string
	text, id, name, toolUseID gjson.Result // strings, copied raw
	thinking                  gjson.Result
	input, content, source    gjson.Result
}

func readBlocks(c gjson.Result, blocks []aBlock) []aBlock {
	c.ForEach(func(_, b gjson.Result) bool {
		var ab aBlock
		b.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "type":
				ab.typ = v.Str
			case "text":
				ab.text = v
			case "thinking":
				ab.thinking = v
			case "id":
				ab.id = v
			case "name":
				ab.name = v
			case "tool_use_id":
				ab.toolUseID = v
			case "input":
				ab.input = v
			case "content":
				ab.content = v
			case "source":
				ab.source = v
			}
			return true
		})
		blocks = append(blocks, ab)
		return true
	})
	return blocks
}

// openAIMessages writes Anthropic message i as one or more OpenAI
// messages: tool results become role "tool" messages, which must follow
// the assistant's tool calls directly, so they come first.
func openAIMessages(w *jw, i int, m gjson.Result) error {
	mf := field("messages").at(i)
	if !m.IsObject() {
		return wantType(mf, m, "object")
	}
	var role string
	var c gjson.Result
	m.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "role":
			role = v.Str
		case "content":
			c = v
		}
		return true
	})
	switch role {
	case "user", "assistant":
	default:
		return fmt.Errorf("%w: %s.role %q is not one of user, assistant", ErrInvalidBody, mf, role)
	}
	if c.Type == gjson.String {
		w.obj()
		w.kstr("role", role)
		w.key("content")
		w.rawStr(c)
		w.endObj()
		return nil
	}
	if !c.IsArray() {
		return wantType(mf.dot("content"), c, "array")
	}
	var buf [6]aBlock
	blocks := readBlocks(c, buf[:0])
	if role == "assistant" {
		return openAIAssistant(w, mf, blocks)
	}
	// Tool results first, then the rest of the user's turn. OpenAI tool
	// messages hold only text: images of a tool result (a screenshot a
	// tool took) go to the user's message that follows.
	parts, texts := 0, 0
	var toolImages []fieldImage
	for j := range blocks {
		b := &blocks[j]
		switch b.typ {
		case "tool_result":
			w.obj()
			w.kstr("role", "tool")
			w.key("tool_call_id")
			w.rawStr(b.toolUseID)
			w.key("content")
			if b.content.Type == gjson.String || !b.content.Exists() {
				w.rawStr(b.content)
			} else {
				s, imgs, err := toolResultText(mf.dot("content").at(j).dot("content"), b.content, toolImages)
				if err != nil {
					return err
				}
				toolImages = imgs
				w.str(s)
			}
			w.endObj()
		case "text":
			parts++
			texts++
		case "image":
			parts++
		default:
			return unsupported(mf.dot("content").at(j), fmt.Sprintf("content of type %q", b.typ))
		}
	}
	parts += len(toolImages)
	if parts == 0 {
		return nil
	}
	w.obj()
	w.kstr("role", "user")
	w.key("content")
	if parts == 1 && texts == 1 {
		for j := range blocks {
			if blocks[j].typ == "text" {
				w.rawStr(blocks[j].text)
			}
		}
		w.endObj()
		return nil
	}
	w.arr()
	for _, img := range toolImages {
		if err := writeImageURL(w, img.field, img.source); err != nil {
			return err
		}
	}
	for j := range blocks {
		b := &blocks[j]
		switch b.typ {
		case "text":
			w.obj()
			w.kstr("type", "text")
			w.key("text")
			w.rawStr(b.text)
			w.endObj()
		case "image":
			if err := writeImageURL(w, mf.dot("content").at(j).dot("source"), b.source); err != nil {
				return err
			}
		}
	}
	w.endArr()
	w.endObj()
	return nil
}

// fieldImage is an image source and where the client put it.
type fieldImage struct {
	field  fieldPath
	source gjson.Result
}

// toolResultText joins the text blocks of a tool result; its images are
// appended to imgs, each marked "[image]" in the text.
func toolResultText(f fieldPath, c gjson.Result, imgs []fieldImage) (string, []fieldImage, error) {
	if !c.IsArray() {
		return "", imgs, wantType(f, c, "array")
	}
	var sb strings.Builder
	var err error
	k := 0
	c.ForEach(func(_, b gjson.Result) bool {
		if sb.Len() > 0 {
			sb.WriteByte('\n')
		}
		switch t := b.Get("type").Str; t {
		case "text":
			sb.WriteString(b.Get("text").Str)
		case "image":
			sb.WriteString("[image]")
			imgs = append(imgs, fieldImage{field: f.at(k).dot("source"), source: b.Get("source")})
		default:
			err = unsupported(f.at(k), fmt.Sprintf("tool result content of type %q", t))
			return false
		}
		k++
		return true
	})
	return sb.String(), imgs, err
}

// writeImageURL writes an Anthropic image source as an OpenAI image part.
func writeImageURL(w *jw, f fieldPath, src gjson.Result) error {
	var url string
	switch st := src.Get("type").Str; st {
	case "base64":
		url = "data:" + src.Get("media_type").Str + ";base64," + src.Get("data").Str
	case "url":
		url = src.Get("url").Str
	default:
		return unsupported(f, fmt.Sprintf("an image source of type %q", st))
	}
	w.obj()
	w.kstr("type", "image_url")
	w.key("image_url")
	w.obj()
	w.kstr("url", url)
	w.endObj()
	w.endObj()
	return nil
}

func openAIAssistant(w *jw, mf fieldPath, blocks []aBlock) error {
	texts, calls := 0, 0
	for j := range blocks {
		switch t := blocks[j].typ; t {
		case "text":
			texts++
		case "tool_use":
			calls++
		case "thinking", "redacted_thinking":
			// OpenAI takes no reasoning back; the model reasons anew.
		default:
			return unsupported(mf.dot("content").at(j), fmt.Sprintf("assistant content of type %q", t))
		}
	}
	w.obj()
	w.kstr("role", "assistant")
	w.key("content")
	switch {
	case texts == 1:
		for j := range blocks {
			if blocks[j].typ == "text" {
				w.rawStr(blocks[j].text)
			}
		}
	case texts > 1:
		var text strings.Builder
		for j := range blocks {
			if blocks[j].typ == "text" {
				text.WriteString(blocks[j].text.Str)
			}
		}
		w.str(text.String())
	case calls > 0:
		w.null()
	default:
		w.str("")
	}
	if calls > 0 {
		w.key("tool_calls")
		w.arr()
		for j := range blocks {
			b := &blocks[j]
			if b.typ != "tool_use" {
				continue
			}
			args := "{}"
			if b.input.IsObject() {
				args = b.input.Raw
			}
			w.obj()
			w.key("id")
			w.rawStr(b.id)
			w.kstr("type", "function")
			w.key("function")
			w.obj()
			w.key("name")
			w.rawStr(b.name)
			w.kstr("arguments", args)
			w.endObj()
			w.endObj()
		}
		w.endArr()
	}
	w.endObj()
	return nil
}
