package translate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

// defaultMaxTokens is max_tokens for Anthropic targets when neither the
// client nor RequestOptions gave one.
const defaultMaxTokens = 4096

// Thinking budgets per OpenAI reasoning_effort, for Anthropic
// (thinking.budget_tokens) and Gemini (thinkingConfig.thinkingBudget).
// Anthropic's minimum budget is 1024.
var effortBudget = map[string]int64{
	"minimal": 1024,
	"low":     2048,
	"medium":  8192,
	"high":    24576,
	"xhigh":   32768,
}

// effortForBudget is the reverse of effortBudget, for OpenAI targets.
func effortForBudget(budget int64) string {
	switch {
	case budget <= 2048:
		return "low"
	case budget <= 8192:
		return "medium"
	default:
		return "high"
	}
}

// parseObject validates body as one JSON object.
func parseObject(body []byte) (gjson.Result, error) {
	if !gjson.ValidBytes(body) {
		return gjson.Result{}, fmt.Errorf("%w: the body is not valid JSON", ErrInvalidBody)
	}
	r := parseJSON(body)
	if !r.IsObject() {
		return gjson.Result{}, fmt.Errorf("%w: the body is JSON but not an object", ErrInvalidBody)
	}
	return r, nil
}

// wantType checks the JSON type of a request field, naming it when wrong.
func wantType(f fieldPath, v gjson.Result, want string) error {
	ok := false
	switch want {
	case "string":
		ok = v.Type == gjson.String
	case "number":
		ok = v.Type == gjson.Number
	case "bool":
		ok = v.Type == gjson.True || v.Type == gjson.False
	case "array":
		ok = v.IsArray()
	case "object":
		ok = v.IsObject()
	}
	if ok {
		return nil
	}
	return fmt.Errorf("%w: %s must be a %s, got %s", ErrInvalidBody, f, want, jsonKind(v))
}

func jsonKind(v gjson.Result) string {
	switch {
	case v.IsObject():
		return "object"
	case v.IsArray():
		return "array"
	}
	switch v.Type {
	case gjson.String:
		return "string"
	case gjson.Number:
		return "number"
	case gjson.True, gjson.False:
		return "boolean"
	case gjson.Null:
		return "null"
	}
	return "nothing"
}

// textOf returns the text of OpenAI or Anthropic content: a string, or an
// array of text parts/blocks joined by sep. Other part types fail naming
// the field.
func textOf(f fieldPath, c gjson.Result, sep string) (string, error) {
	if c.Type == gjson.String || c.Type == gjson.Null || !c.Exists() {
		return c.Str, nil
	}
	if !c.IsArray() {
		return "", wantType(f, c, "string")
	}
	var sb strings.Builder
	var err error
	i := 0
	c.ForEach(func(_, p gjson.Result) bool {
		t := p.Get("type").Str
		if t != "text" {
			err = unsupported(f.at(i), fmt.Sprintf("content of type %q where only text is possible", t))
			return false
		}
		if sb.Len() > 0 && sep != "" {
			sb.WriteString(sep)
		}
		sb.WriteString(p.Get("text").Str)
		i++
		return true
	})
	return sb.String(), err
}

// parseDataURI splits "data:image/png;base64,AAAA" into media type and data.
func parseDataURI(uri string) (mediaType, data string, ok bool) {
	rest, found := strings.CutPrefix(uri, "data:")
	if !found {
		return "", "", false
	}
	meta, data, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false
	}
	mediaType, found = strings.CutSuffix(meta, ";base64")
	if !found || mediaType == "" {
		return "", "", false
	}
	return mediaType, data, true
}

// argsObject returns the raw JSON object held in an OpenAI tool call's
// arguments string ("" is {}).
func argsObject(f fieldPath, args string) (string, error) {
	s := strings.TrimSpace(args)
	if s == "" {
		return "{}", nil
	}
	if !gjson.Valid(s) || !gjson.Parse(s).IsObject() {
		return "", fmt.Errorf("%w: %s must hold a JSON object, got %q", ErrInvalidBody, f, truncate(args, 80))
	}
	return s, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// openAIRequest is the top level of an OpenAI chat request, read once.
type openAIRequest struct {
	model, messages, maxTokens, temperature, topP, stop, stream gjson.Result
	tools, toolChoice, parallel, effort, user, n, format        gjson.Result
	logprobs, topLogprobs, audio, modalities, streamOptions     gjson.Result
}

func readOpenAI(body []byte) (openAIRequest, error) {
	root, err := parseObject(body)
	if err != nil {
		return openAIRequest{}, err
	}
	var q openAIRequest
	var maxTokens, maxCompletion gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			q.model = v
		case "messages":
			q.messages = v
		case "max_tokens":
			maxTokens = v
		case "max_completion_tokens":
			maxCompletion = v
		case "temperature":
			q.temperature = v
		case "top_p":
			q.topP = v
		case "stop":
			q.stop = v
		case "stream":
			q.stream = v
		case "stream_options":
			q.streamOptions = v
		case "tools":
			q.tools = v
		case "tool_choice":
			q.toolChoice = v
		case "parallel_tool_calls":
			q.parallel = v
		case "reasoning_effort":
			q.effort = v
		case "user":
			q.user = v
		case "n":
			q.n = v
		case "response_format":
			q.format = v
		case "logprobs":
			q.logprobs = v
		case "top_logprobs":
			q.topLogprobs = v
		case "audio":
			q.audio = v
		case "modalities":
			q.modalities = v
		}
		return true
	})
	q.maxTokens = maxCompletion
	if q.maxTokens.Type == gjson.Null {
		q.maxTokens = maxTokens
	}
	if err := q.check(); err != nil {
		return q, err
	}
	return q, nil
}

// check refuses OpenAI features that neither Anthropic nor Gemini express.
func (q *openAIRequest) check() error {
	if q.messages.Type != gjson.Null && !q.messages.IsArray() {
		return wantType(field("messages"), q.messages, "array")
	}
	if !q.messages.Exists() {
		return fmt.Errorf("%w: messages is missing", ErrInvalidBody)
	}
	for _, f := range []struct {
		name string
		v    gjson.Result
	}{{"temperature", q.temperature}, {"top_p", q.topP}, {"max_tokens", q.maxTokens}} {
		if f.v.Exists() && f.v.Type != gjson.Null {
			if err := wantType(field(f.name), f.v, "number"); err != nil {
				return err
			}
		}
	}
	if q.n.Type == gjson.Number && q.n.Int() > 1 {
		return unsupported(field("n"), "several choices per request")
	}
	if q.logprobs.Type == gjson.True {
		return unsupported(field("logprobs"), "log probabilities")
	}
	if q.topLogprobs.Type == gjson.Number && q.topLogprobs.Int() > 0 {
		return unsupported(field("top_logprobs"), "log probabilities")
	}
	if q.audio.IsObject() {
		return unsupported(field("audio"), "audio output")
	}
	for _, m := range q.modalities.Array() {
		if m.Str != "text" {
			return unsupported(field("modalities"), fmt.Sprintf("output modality %q", m.Str))
		}
	}
	if q.effort.Exists() && q.effort.Type != gjson.Null {
		if err := wantType(field("reasoning_effort"), q.effort, "string"); err != nil {
			return err
		}
		if _, ok := effortBudget[q.effort.Str]; !ok && q.effort.Str != "none" {
			return fmt.Errorf("%w: reasoning_effort %q is not one of none, minimal, low, medium, high", ErrInvalidBody, q.effort.Str)
		}
	}
	return nil
}

// stopList returns the OpenAI stop field (string or array) as a list.
func stopList(v gjson.Result) ([]string, error) {
	switch {
	case v.Type == gjson.Null:
		return nil, nil
	case v.Type == gjson.String:
		return []string{v.Str}, nil
	case v.IsArray():
		var out []string
		for _, s := range v.Array() {
			if s.Type != gjson.String {
				return nil, wantType(field("stop").at(0), s, "string")
			}
			out = append(out, s.Str)
		}
		return out, nil
	}
	return nil, wantType(field("stop"), v, "string")
}

// oaMsg is one OpenAI message, read once.
type oaMsg struct {
	role       string // as sent
	turn       string // "system", "user" or "assistant": tool results belong to the user's turn
	content    gjson.Result
	toolCalls  gjson.Result
	toolCallID string
}

func readMessages(messages gjson.Result, msgs []oaMsg) ([]oaMsg, error) {
	var err error
	i := 0
	messages.ForEach(func(_, m gjson.Result) bool {
		if !m.IsObject() {
			err = wantType(field("messages").at(i), m, "object")
			return false
		}
		var om oaMsg
		m.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "role":
				om.role = v.Str
			case "content":
				om.content = v
			case "tool_calls":
				om.toolCalls = v
			case "tool_call_id":
				om.toolCallID = v.Str
			}
			return true
		})
		switch om.role {
		case "system", "developer":
			om.turn = "system"
		case "user", "tool":
			om.turn = "user"
		case "assistant":
			om.turn = "assistant"
		case "function":
			err = unsupported(field("messages").at(i).dot("role"), `the legacy role "function" (use tools and role "tool")`)
		default:
			err = fmt.Errorf("%w: messages[%d].role %q is not one of system, developer, user, assistant, tool", ErrInvalidBody, i, om.role)
		}
		msgs = append(msgs, om)
		i++
		return err == nil
	})
	return msgs, err
}

func openAIToAnthropic(body []byte, opts RequestOptions) ([]byte, error) {
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
	for i, m := range msgs {
		if m.turn == "system" {
			t, err := textOf(field("messages").at(i).dot("content"), m.content, "\n")
			if err != nil {
				return nil, err
			}
			system = append(system, t)
		}
	}

	maxTokens := q.maxTokens.Int()
	clientMax := q.maxTokens.Type == gjson.Number
	if !clientMax {
		maxTokens = opts.DefaultMaxTokens
		if maxTokens <= 0 {
			maxTokens = defaultMaxTokens
		}
	}
	var budget int64
	if b, ok := effortBudget[q.effort.Str]; ok {
		budget = b
		switch {
		case !clientMax:
			maxTokens += budget // the default is for the answer, the budget comes on top
		case maxTokens <= 1024:
			return nil, unsupported(field("reasoning_effort"), fmt.Sprintf("thinking with max_completion_tokens %d: Anthropic needs more than 1024", maxTokens))
		case maxTokens <= budget:
			budget = maxTokens - 1
		}
	}

	w := jw{b: make([]byte, 0, len(body)+len(body)/4+64)}
	w.obj()
	if q.model.Exists() {
		w.kraw("model", q.model.Raw)
	}
	w.kint("max_tokens", maxTokens)
	switch len(system) {
	case 0:
	case 1:
		w.kstr("system", system[0])
	default:
		w.key("system")
		w.arr()
		for _, s := range system {
			if s == "" {
				continue
			}
			w.obj()
			w.kstr("type", "text")
			w.kstr("text", s)
			w.endObj()
		}
		w.endArr()
	}
	w.key("messages")
	w.arr()
	for i := 0; i < len(msgs); {
		if msgs[i].turn == "system" {
			i++
			continue
		}
		// A group is a run of messages of one turn, system ones skipped:
		// Anthropic wants user and assistant turns to alternate.
		j := i + 1
		for j < len(msgs) && (msgs[j].turn == msgs[i].turn || msgs[j].turn == "system") {
			j++
		}
		w.obj()
		w.kstr("role", msgs[i].turn)
		w.key("content")
		single := i+1 == j || countNonSystem(msgs[i:j]) == 1
		if c := msgs[i].content; single && c.Type == gjson.String && msgs[i].role != "tool" && !msgs[i].toolCalls.IsArray() {
			w.str(c.Str)
		} else {
			w.arr()
			for k := i; k < j; k++ {
				if msgs[k].turn == "system" {
					continue
				}
				if err := anthropicBlocks(&w, k, &msgs[k]); err != nil {
					return nil, err
				}
			}
			w.endArr()
		}
		w.endObj()
		i = j
	}
	w.endArr()

	if stops, err := stopList(q.stop); err != nil {
		return nil, err
	} else if len(stops) > 0 {
		w.key("stop_sequences")
		w.arr()
		for _, s := range stops {
			w.str(s)
		}
		w.endArr()
	}
	if q.temperature.Type == gjson.Number {
		w.kraw("temperature", q.temperature.Raw)
	}
	if q.topP.Type == gjson.Number {
		w.kraw("top_p", q.topP.Raw)
	}
	if q.stream.Type == gjson.True {
		w.key("stream")
		w.bool(true)
	}
	if budget > 0 {
		w.key("thinking")
		w.obj()
		w.kstr("type", "enabled")
		w.kint("budget_tokens", budget)
		w.endObj()
	}
	if q.format.IsObject() {
		if t := q.format.Get("type").Str; t != "text" {
			return nil, unsupported(field("response_format"), fmt.Sprintf("response_format of type %q", t))
		}
	}
	hasTools := false
	if q.tools.IsArray() && hasMembers(q.tools) {
		hasTools = true
		w.key("tools")
		w.arr()
		var err error
		i := 0
		q.tools.ForEach(func(_, t gjson.Result) bool {
			if tt := t.Get("type").Str; tt != "function" {
				err = unsupported(field("tools").at(i).dot("type"), fmt.Sprintf("tools of type %q", tt))
				return false
			}
			var name, desc, params gjson.Result
			t.Get("function").ForEach(func(k, v gjson.Result) bool {
				switch k.Str {
				case "name":
					name = v
				case "description":
					desc = v
				case "parameters":
					params = v
				}
				return true
			})
			w.obj()
			w.key("name")
			w.rawStr(name)
			if desc.Type == gjson.String {
				w.key("description")
				w.rawStr(desc)
			}
			if params.IsObject() {
				w.kraw("input_schema", params.Raw)
			} else {
				w.kraw("input_schema", `{"type":"object","properties":{}}`)
			}
			w.endObj()
			i++
			return true
		})
		if err != nil {
			return nil, err
		}
		w.endArr()
	}
	if hasTools {
		choice, name := "auto", ""
		switch tc := q.toolChoice; {
		case tc.Type == gjson.String:
			choice = tc.Str
		case tc.IsObject():
			choice, name = "tool", tc.Get("function.name").Str
		}
		w.key("tool_choice")
		w.obj()
		switch choice {
		case "auto", "none", "tool":
			w.kstr("type", choice)
		case "required":
			w.kstr("type", "any")
		default:
			return nil, fmt.Errorf("%w: tool_choice %q is not one of auto, none, required or a named function", ErrInvalidBody, choice)
		}
		if name != "" {
			w.kstr("name", name)
		}
		if q.parallel.Type == gjson.False && choice != "none" {
			w.key("disable_parallel_tool_use")
			w.bool(true)
		}
		w.endObj()
	}
	if q.user.Type == gjson.String && q.user.Str != "" {
		w.key("metadata")
		w.obj()
		w.kstr("user_id", q.user.Str)
		w.endObj()
	}
	w.endObj()
	return w.b, nil
}

func countNonSystem(msgs []oaMsg) int {
	n := 0
	for _, m := range msgs {
		if m.turn != "system" {
			n++
		}
	}
	return n
}

// anthropicBlocks writes the content blocks of OpenAI message i.
func anthropicBlocks(w *jw, i int, m *oaMsg) error {
	mf := field("messages").at(i)
	c := m.content
	if m.role == "tool" {
		w.obj()
		w.kstr("type", "tool_result")
		w.kstr("tool_use_id", m.toolCallID)
		w.key("content")
		if c.IsArray() {
			// Anthropic tool results hold text and images, as OpenAI's parts.
			w.arr()
			var err error
			j := 0
			c.ForEach(func(_, p gjson.Result) bool {
				err = anthropicPart(w, mf.dot("content").at(j), p)
				j++
				return err == nil
			})
			if err != nil {
				return err
			}
			w.endArr()
		} else {
			t, err := textOf(mf.dot("content"), c, "\n")
			if err != nil {
				return err
			}
			w.str(t)
		}
		w.endObj()
		return nil
	}
	switch {
	case c.Type == gjson.String:
		if c.Str != "" {
			w.obj()
			w.kstr("type", "text")
			w.kstr("text", c.Str)
			w.endObj()
		}
	case c.IsArray():
		var err error
		j := 0
		c.ForEach(func(_, p gjson.Result) bool {
			err = anthropicPart(w, mf.dot("content").at(j), p)
			j++
			return err == nil
		})
		if err != nil {
			return err
		}
	case c.Type == gjson.Null:
	default:
		return wantType(mf.dot("content"), c, "string")
	}
	if tcs := m.toolCalls; tcs.IsArray() {
		var err error
		j := 0
		tcs.ForEach(func(_, tc gjson.Result) bool {
			f := mf.dot("tool_calls").at(j)
			j++
			if t := tc.Get("type").Str; t != "function" && t != "" {
				err = unsupported(f.dot("type"), fmt.Sprintf("tool calls of type %q", t))
				return false
			}
			var input string
			input, err = argsObject(f.dot("function").dot("arguments"), tc.Get("function.arguments").Str)
			if err != nil {
				return false
			}
			w.obj()
			w.kstr("type", "tool_use")
			w.kstr("id", tc.Get("id").Str)
			w.kstr("name", tc.Get("function.name").Str)
			w.kraw("input", input)
			w.endObj()
			return true
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// anthropicPart writes one OpenAI content part as an Anthropic block.
func anthropicPart(w *jw, f fieldPath, p gjson.Result) error {
	switch t := p.Get("type").Str; t {
	case "text", "refusal":
		s := p.Get(t).Str
		if s == "" {
			return nil // Anthropic refuses empty text blocks
		}
		w.obj()
		w.kstr("type", "text")
		w.kstr("text", s)
		w.endObj()
	case "image_url":
		url := p.Get("image_url.url").Str
		if url == "" {
			url = p.Get("image_url").Str
		}
		w.obj()
		w.kstr("type", "image")
		w.key("source")
		w.obj()
		if mt, data, ok := parseDataURI(url); ok {
			w.kstr("type", "base64")
			w.kstr("media_type", mt)
			w.kstr("data", data)
		} else if strings.HasPrefix(url, "https://") || strings.HasPrefix(url, "http://") {
			w.kstr("type", "url")
			w.kstr("url", url)
		} else {
			return fmt.Errorf("%w: %s.image_url.url must be a base64 data URI or an http(s) URL", ErrInvalidBody, f)
		}
		w.endObj()
		w.endObj()
	default:
		return unsupported(f, fmt.Sprintf("content of type %q", t))
	}
	return nil
}

// UnsupportedError names a request field whose value the target protocol
// cannot express. It wraps ErrUnsupported.
type UnsupportedError struct {
	Field  string // JSON path in the client's body, e.g. "messages[2].content[0]"
	Reason string // what cannot be expressed
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s: %s is %v; remove it or route this request to a provider that speaks the client's protocol", e.Field, e.Reason, ErrUnsupported)
}

// Unwrap returns ErrUnsupported.
func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }

func unsupported(f fieldPath, reason string) error {
	return &UnsupportedError{Field: f.String(), Reason: reason}
}

// ErrInvalidBody is returned (wrapped, naming the field) for a body that
// is not valid JSON of the client's protocol.
var ErrInvalidBody = errors.New("invalid request body")
