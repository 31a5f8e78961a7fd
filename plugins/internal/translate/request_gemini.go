package translate

import (
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

// geminiContents writes Gemini contents, merging consecutive messages of
// one role into one content (Gemini wants user and model to alternate).
type geminiContents struct {
	w    *jw
	role string // role of the open content, "" when none is open
}

// part opens a content of role, closing another one first, and leaves the
// writer inside its parts array.
func (g *geminiContents) part(role string) {
	if g.role == role {
		return
	}
	g.close()
	g.w.obj()
	g.w.kstr("role", role)
	g.w.key("parts")
	g.w.arr()
	g.role = role
}

func (g *geminiContents) close() {
	if g.role != "" {
		g.w.endArr()
		g.w.endObj()
		g.role = ""
	}
}

func openAIToGemini(body []byte, opts RequestOptions) ([]byte, error) {
	q, err := readOpenAI(body)
	if err != nil {
		return nil, err
	}
	var buf [16]oaMsg
	msgs, err := readMessages(q.messages, buf[:0])
	if err != nil {
		return nil, err
	}
	var system []string
	toolNames := map[string]string{} // tool_call_id → function name
	w := jw{b: make([]byte, 0, len(body)+len(body)/4+64)}
	w.obj()
	w.key("contents")
	w.arr()
	g := geminiContents{w: &w}
	for i, m := range msgs {
		role := m.turn
		mf := field("messages").at(i)
		c := m.content
		switch {
		case role == "system":
			t, err := textOf(mf.dot("content"), c, "\n")
			if err != nil {
				return nil, err
			}
			system = append(system, t)
		case m.role == "tool":
			t, err := textOf(mf.dot("content"), c, "\n")
			if err != nil {
				return nil, err
			}
			id := m.toolCallID
			name, ok := toolNames[id]
			if !ok {
				return nil, fmt.Errorf("%w: %s.tool_call_id %q answers no earlier assistant tool call; Gemini needs the function's name", ErrInvalidBody, mf, id)
			}
			g.part("user")
			w.obj()
			w.key("functionResponse")
			w.obj()
			w.kstr("name", name)
			w.key("response")
			if ts := strings.TrimSpace(t); strings.HasPrefix(ts, "{") && gjson.Valid(ts) {
				w.raw(ts)
			} else {
				w.obj()
				w.kstr("content", t)
				w.endObj()
			}
			w.endObj()
			w.endObj()
		default:
			grole := "user"
			if role == "assistant" {
				grole = "model"
			}
			if err := geminiParts(&g, grole, mf, c); err != nil {
				return nil, err
			}
			var terr error
			j := 0
			// Gemini 3 wants the thoughtSignature of the step's first call
			// back; when the client lost it, Google's stand-in keeps the
			// request valid.
			signed := false
			m.toolCalls.ForEach(func(_, tc gjson.Result) bool {
				signed = thoughtSignatureOf(tc.Get("id").Str) != ""
				return !signed
			})
			m.toolCalls.ForEach(func(_, tc gjson.Result) bool {
				sig := thoughtSignatureOf(tc.Get("id").Str)
				if sig == "" && j == 0 && !signed && needsThoughtSignature(q.model.Str) {
					sig = skipThoughtSignature
				}
				f := mf.dot("tool_calls").at(j)
				j++
				var args string
				if args, terr = argsObject(f.dot("function").dot("arguments"), tc.Get("function.arguments").Str); terr != nil {
					return false
				}
				name := tc.Get("function.name").Str
				toolNames[tc.Get("id").Str] = name
				g.part(grole)
				w.obj()
				w.key("functionCall")
				w.obj()
				w.kstr("name", name)
				w.kraw("args", args)
				w.endObj()
				if sig != "" {
					w.kstr("thoughtSignature", sig)
				}
				w.endObj()
				return true
			})
			if terr != nil {
				return nil, terr
			}
		}
	}
	g.close()
	w.endArr()

	if len(system) > 0 {
		w.key("systemInstruction")
		w.obj()
		w.key("parts")
		w.arr()
		for _, s := range system {
			w.obj()
			w.kstr("text", s)
			w.endObj()
		}
		w.endArr()
		w.endObj()
	}

	hasTools := false
	if q.tools.IsArray() && hasMembers(q.tools) {
		hasTools = true
		w.key("tools")
		w.arr()
		w.obj()
		w.key("functionDeclarations")
		w.arr()
		var terr error
		i := 0
		q.tools.ForEach(func(_, t gjson.Result) bool {
			if tt := t.Get("type").Str; tt != "function" {
				terr = unsupported(field("tools").at(i).dot("type"), fmt.Sprintf("tools of type %q", tt))
				return false
			}
			f := t.Get("function")
			w.obj()
			w.kstr("name", f.Get("name").Str)
			if d := f.Get("description"); d.Type == gjson.String {
				w.kstr("description", d.Str)
			}
			// parametersJsonSchema takes JSON Schema as OpenAI clients write
			// it; "parameters" is an OpenAPI subset that refuses keywords
			// such as additionalProperties.
			if p := f.Get("parameters"); p.IsObject() {
				w.kraw("parametersJsonSchema", p.Raw)
			}
			w.endObj()
			i++
			return true
		})
		if terr != nil {
			return nil, terr
		}
		w.endArr()
		w.endObj()
		w.endArr()
	}
	if hasTools && q.toolChoice.Exists() && q.toolChoice.Type != gjson.Null {
		mode, name := "", ""
		switch tc := q.toolChoice; {
		case tc.Type == gjson.String:
			switch tc.Str {
			case "auto":
				mode = "AUTO"
			case "none":
				mode = "NONE"
			case "required":
				mode = "ANY"
			default:
				return nil, fmt.Errorf("%w: tool_choice %q is not one of auto, none, required or a named function", ErrInvalidBody, tc.Str)
			}
		case tc.IsObject():
			mode, name = "ANY", tc.Get("function.name").Str
		}
		w.key("toolConfig")
		w.obj()
		w.key("functionCallingConfig")
		w.obj()
		w.kstr("mode", mode)
		if name != "" {
			w.key("allowedFunctionNames")
			w.arr()
			w.str(name)
			w.endArr()
		}
		w.endObj()
		w.endObj()
	}

	stops, err := stopList(q.stop)
	if err != nil {
		return nil, err
	}
	// generationConfig is written only when something goes in it.
	gc := jw{}
	gc.obj()
	if q.maxTokens.Type == gjson.Number {
		gc.kraw("maxOutputTokens", q.maxTokens.Raw)
	}
	if q.temperature.Type == gjson.Number {
		gc.kraw("temperature", q.temperature.Raw)
	}
	if q.topP.Type == gjson.Number {
		gc.kraw("topP", q.topP.Raw)
	}
	if len(stops) > 0 {
		gc.key("stopSequences")
		gc.arr()
		for _, s := range stops {
			gc.str(s)
		}
		gc.endArr()
	}
	if q.format.IsObject() {
		switch t := q.format.Get("type").Str; t {
		case "text":
		case "json_object":
			gc.kstr("responseMimeType", "application/json")
		case "json_schema":
			gc.kstr("responseMimeType", "application/json")
			if s := q.format.Get("json_schema.schema"); s.IsObject() {
				gc.kraw("responseJsonSchema", s.Raw)
			}
		default:
			return nil, unsupported(field("response_format"), fmt.Sprintf("response_format of type %q", t))
		}
	}
	if q.effort.Type == gjson.String {
		gc.key("thinkingConfig")
		gc.obj()
		budget := effortBudget[q.effort.Str] // "none" is 0: no thinking
		if opts.thinkingBudget > 0 {
			budget = opts.thinkingBudget
		}
		gc.kint("thinkingBudget", budget)
		gc.endObj()
	}
	gc.endObj()
	if len(gc.b) > 2 {
		w.kraw("generationConfig", string(gc.b))
	}
	w.endObj()
	return w.b, nil
}

// geminiParts writes OpenAI content (string or parts) as Gemini parts.
func geminiParts(g *geminiContents, role string, mf fieldPath, c gjson.Result) error {
	w := g.w
	switch {
	case c.Type == gjson.String:
		if c.Str == "" {
			return nil
		}
		g.part(role)
		w.obj()
		w.kstr("text", c.Str)
		w.endObj()
	case c.IsArray():
		var err error
		j := 0
		c.ForEach(func(_, p gjson.Result) bool {
			pf := mf.dot("content").at(j)
			j++
			switch t := p.Get("type").Str; t {
			case "text", "refusal":
				g.part(role)
				w.obj()
				w.kstr("text", p.Get(t).Str)
				w.endObj()
			case "image_url":
				url := p.Get("image_url.url").Str
				mt, data, ok := parseDataURI(url)
				if !ok {
					err = unsupported(pf.dot("image_url").dot("url"), "an image given by URL (Gemini takes images inline: send a base64 data URI)")
					return false
				}
				g.part(role)
				w.obj()
				w.key("inlineData")
				w.obj()
				w.kstr("mimeType", mt)
				w.kstr("data", data)
				w.endObj()
				w.endObj()
			default:
				err = unsupported(pf, fmt.Sprintf("content of type %q", t))
				return false
			}
			return true
		})
		return err
	case c.Type == gjson.Null || !c.Exists():
	default:
		return wantType(mf.dot("content"), c, "string")
	}
	return nil
}

// needsThoughtSignature reports whether a Gemini model refuses replayed
// function calls without a thoughtSignature: Gemini 3 and later.
func needsThoughtSignature(model string) bool {
	model = strings.TrimPrefix(model, "models/")
	if !strings.HasPrefix(model, "gemini-") {
		return false
	}
	return !strings.HasPrefix(model, "gemini-1") && !strings.HasPrefix(model, "gemini-2") && !strings.HasPrefix(model, "gemini-exp")
}
