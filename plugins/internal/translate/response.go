package translate

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// ErrBadResponse is returned (wrapped) for a provider answer that is not
// valid JSON of the provider's protocol.
var ErrBadResponse = errors.New("the provider's answer is not valid")

func parseResponse(from Protocol, body []byte) (gjson.Result, error) {
	if !gjson.ValidBytes(body) {
		return gjson.Result{}, fmt.Errorf("%w: %s answered %d bytes that are not JSON", ErrBadResponse, from, len(body))
	}
	r := parseJSON(body)
	if !r.IsObject() {
		return gjson.Result{}, fmt.Errorf("%w: %s answered JSON that is not an object", ErrBadResponse, from)
	}
	return r, nil
}

// openAIUsage reads an OpenAI usage object.
func openAIUsage(u gjson.Result) Usage {
	if !u.IsObject() {
		return Usage{}
	}
	return Usage{
		InputTokens:     u.Get("prompt_tokens").Int(),
		OutputTokens:    u.Get("completion_tokens").Int(),
		CachedTokens:    u.Get("prompt_tokens_details.cached_tokens").Int(),
		ReasoningTokens: u.Get("completion_tokens_details.reasoning_tokens").Int(),
		Known:           true,
	}
}

// anthropicUsage reads an Anthropic usage object. Anthropic's
// input_tokens leaves out the tokens read from and written to the cache;
// Usage.InputTokens counts them all, as OpenAI's prompt_tokens does.
func anthropicUsage(u gjson.Result) Usage {
	if !u.IsObject() {
		return Usage{}
	}
	cached := u.Get("cache_read_input_tokens").Int()
	return Usage{
		InputTokens:  u.Get("input_tokens").Int() + cached + u.Get("cache_creation_input_tokens").Int(),
		OutputTokens: u.Get("output_tokens").Int(),
		CachedTokens: cached,
		Known:        true,
	}
}

// geminiUsage reads Gemini usageMetadata. candidatesTokenCount leaves out
// the thoughts; Usage.OutputTokens counts them, as OpenAI's
// completion_tokens does.
func geminiUsage(u gjson.Result) Usage {
	if !u.IsObject() {
		return Usage{}
	}
	thoughts := u.Get("thoughtsTokenCount").Int()
	return Usage{
		InputTokens:     u.Get("promptTokenCount").Int() + u.Get("toolUsePromptTokenCount").Int(),
		OutputTokens:    u.Get("candidatesTokenCount").Int() + thoughts,
		CachedTokens:    u.Get("cachedContentTokenCount").Int(),
		ReasoningTokens: thoughts,
		Known:           true,
	}
}

func writeOpenAIUsage(w *jw, u Usage) {
	w.obj()
	w.kint("prompt_tokens", u.InputTokens)
	w.kint("completion_tokens", u.OutputTokens)
	w.kint("total_tokens", u.InputTokens+u.OutputTokens)
	w.key("prompt_tokens_details")
	w.obj()
	w.kint("cached_tokens", u.CachedTokens)
	w.endObj()
	w.key("completion_tokens_details")
	w.obj()
	w.kint("reasoning_tokens", u.ReasoningTokens)
	w.endObj()
	w.endObj()
}

func writeAnthropicUsage(w *jw, u Usage) {
	w.obj()
	w.kint("input_tokens", max(u.InputTokens-u.CachedTokens, 0))
	w.kint("cache_creation_input_tokens", 0)
	w.kint("cache_read_input_tokens", u.CachedTokens)
	w.kint("output_tokens", u.OutputTokens)
	w.endObj()
}

// Stop reasons.
func finishFromAnthropic(s string) string {
	switch s {
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	default: // end_turn, stop_sequence, pause_turn
		return "stop"
	}
}

func stopFromOpenAI(s string) string {
	switch s {
	case "length":
		return "max_tokens"
	case "tool_calls", "function_call":
		return "tool_use"
	case "content_filter":
		return "refusal"
	default:
		return "end_turn"
	}
}

func finishFromGemini(s string, calls bool) string {
	switch s {
	case "MAX_TOKENS":
		return "length"
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "LANGUAGE":
		return "content_filter"
	}
	if calls {
		return "tool_calls"
	}
	return "stop"
}

func openAIResponseUsage(body []byte) (Usage, error) {
	r, err := parseResponse(OpenAI, body)
	if err != nil {
		return Usage{}, err
	}
	return openAIUsage(r.Get("usage")), nil
}

func anthropicResponseUsage(body []byte) (Usage, error) {
	r, err := parseResponse(Anthropic, body)
	if err != nil {
		return Usage{}, err
	}
	return anthropicUsage(r.Get("usage")), nil
}

func geminiResponseUsage(body []byte) (Usage, error) {
	r, err := parseResponse(Gemini, body)
	if err != nil {
		return Usage{}, err
	}
	return geminiUsage(r.Get("usageMetadata")), nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func anthropicToOpenAIResponse(body []byte, model string) ([]byte, Usage, error) {
	r, err := parseResponse(Anthropic, body)
	if err != nil {
		return nil, Usage{}, err
	}
	var id, respModel, usage, content, stopReason gjson.Result
	r.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			id = v
		case "model":
			respModel = v
		case "usage":
			usage = v
		case "content":
			content = v
		case "stop_reason":
			stopReason = v
		}
		return true
	})
	u := anthropicUsage(usage)
	var text, thinking strings.Builder
	var lastText gjson.Result
	texts, calls := 0, 0
	var buf [6]aBlock
	blocks := readBlocks(content, buf[:0])
	for j := range blocks {
		b := &blocks[j]
		switch b.typ {
		case "text":
			texts++
			lastText = b.text
			text.WriteString(b.text.Str)
		case "thinking":
			thinking.WriteString(b.thinking.Str)
		case "tool_use":
			calls++
		}
	}
	w := jw{b: make([]byte, 0, len(body)+256)}
	w.obj()
	w.key("id")
	w.rawStr(id)
	w.kstr("object", "chat.completion")
	w.kint("created", time.Now().Unix())
	if model != "" {
		w.kstr("model", model)
	} else {
		w.key("model")
		w.rawStr(respModel)
	}
	w.key("choices")
	w.arr()
	w.obj()
	w.kint("index", 0)
	w.key("message")
	w.obj()
	w.kstr("role", "assistant")
	w.key("content")
	switch {
	case texts == 1:
		w.rawStr(lastText)
	case texts > 1 || calls == 0:
		w.str(text.String())
	default:
		w.null()
	}
	if thinking.Len() > 0 {
		w.kstr("reasoning_content", thinking.String())
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
	w.key("logprobs")
	w.null()
	w.kstr("finish_reason", finishFromAnthropic(stopReason.Str))
	w.endObj()
	w.endArr()
	w.key("usage")
	writeOpenAIUsage(&w, u)
	w.endObj()
	return w.b, u, nil
}

func openAIToAnthropicResponse(body []byte, model string) ([]byte, Usage, error) {
	r, err := parseResponse(OpenAI, body)
	if err != nil {
		return nil, Usage{}, err
	}
	var id, respModel, usage, choices gjson.Result
	r.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			id = v
		case "model":
			respModel = v
		case "usage":
			usage = v
		case "choices":
			choices = v
		}
		return true
	})
	u := openAIUsage(usage)
	var choice, content, refusal, reasoning, toolCalls gjson.Result
	choices.ForEach(func(_, c gjson.Result) bool {
		choice = c
		return false
	})
	choice.Get("message").ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "content":
			content = v
		case "refusal":
			refusal = v
		case "reasoning_content":
			reasoning = v
		case "reasoning":
			if reasoning.Str == "" {
				reasoning = v
			}
		case "tool_calls":
			toolCalls = v
		}
		return true
	})
	w := jw{b: make([]byte, 0, len(body)+256)}
	w.obj()
	w.key("id")
	w.rawStr(id)
	w.kstr("type", "message")
	w.kstr("role", "assistant")
	if model != "" {
		w.kstr("model", model)
	} else {
		w.key("model")
		w.rawStr(respModel)
	}
	w.key("content")
	w.arr()
	if reasoning.Type == gjson.String && reasoning.Str != "" {
		w.obj()
		w.kstr("type", "thinking")
		w.key("thinking")
		w.rawStr(reasoning)
		w.kstr("signature", "")
		w.endObj()
	}
	text := content
	if text.Str == "" {
		text = refusal
	}
	if text.Type == gjson.String && text.Str != "" {
		w.obj()
		w.kstr("type", "text")
		w.key("text")
		w.rawStr(text)
		w.endObj()
	}
	var terr error
	i := 0
	toolCalls.ForEach(func(_, tc gjson.Result) bool {
		var input string
		input, terr = argsObject(field("choices").at(0).dot("message").dot("tool_calls").at(i).dot("function").dot("arguments"), tc.Get("function.arguments").Str)
		if terr != nil {
			return false
		}
		i++
		w.obj()
		w.kstr("type", "tool_use")
		w.kstr("id", tc.Get("id").Str)
		w.kstr("name", tc.Get("function.name").Str)
		w.kraw("input", input)
		w.endObj()
		return true
	})
	if terr != nil {
		return nil, u, fmt.Errorf("%w: %w", ErrBadResponse, terr)
	}
	w.endArr()
	w.kstr("stop_reason", stopFromOpenAI(choice.Get("finish_reason").Str))
	w.key("stop_sequence")
	w.null()
	w.key("usage")
	writeAnthropicUsage(&w, u)
	w.endObj()
	return w.b, u, nil
}

// geminiToolID names Gemini's n-th function call of an answer for OpenAI
// and Anthropic clients. Gemini gives calls no id unless asked to. The
// call's thoughtSignature, which Gemini 3 wants back with the call in the
// next request, rides in the id (base64url after "__gts_"): clients send
// tool call ids back as they got them.
func geminiToolID(responseID string, n int, id, signature string) string {
	if id == "" {
		id = "call_" + strconv.Itoa(n)
		if responseID != "" {
			id = "call_" + responseID + "_" + strconv.Itoa(n)
		}
	}
	if signature == "" {
		return id
	}
	sig := strings.TrimRight(signature, "=")
	sig = strings.NewReplacer("+", "-", "/", "_").Replace(sig)
	return id + thoughtSignatureMark + sig
}

const thoughtSignatureMark = "__gts_"

// skipThoughtSignature is Google's documented stand-in for a lost
// thoughtSignature; Gemini 3 refuses a replayed function call without one.
const skipThoughtSignature = "skip_thought_signature_validator"

// thoughtSignatureOf reads the signature geminiToolID put in a tool call id.
func thoughtSignatureOf(id string) string {
	_, sig, ok := strings.Cut(id, thoughtSignatureMark)
	if !ok || sig == "" {
		return ""
	}
	sig = strings.NewReplacer("-", "+", "_", "/").Replace(sig)
	if r := len(sig) % 4; r != 0 {
		sig += strings.Repeat("=", 4-r)
	}
	return sig
}

func geminiToOpenAIResponse(body []byte, model string) ([]byte, Usage, error) {
	r, err := parseResponse(Gemini, body)
	if err != nil {
		return nil, Usage{}, err
	}
	u := geminiUsage(r.Get("usageMetadata"))
	cand := r.Get("candidates.0")
	var text, thought strings.Builder
	calls := 0
	parts := cand.Get("content.parts")
	parts.ForEach(func(_, p gjson.Result) bool {
		switch {
		case p.Get("functionCall").IsObject():
			calls++
		case p.Get("thought").Type == gjson.True:
			thought.WriteString(p.Get("text").Str)
		default:
			text.WriteString(p.Get("text").Str)
		}
		return true
	})
	finish := finishFromGemini(cand.Get("finishReason").Str, calls > 0)
	if !cand.Exists() && r.Get("promptFeedback.blockReason").Exists() {
		finish = "content_filter"
	}
	respID := r.Get("responseId").Str
	w := jw{b: make([]byte, 0, len(body)+256)}
	w.obj()
	w.kstr("id", "chatcmpl-"+orDefault(respID, "gemini"))
	w.kstr("object", "chat.completion")
	w.kint("created", time.Now().Unix())
	w.kstr("model", orDefault(model, r.Get("modelVersion").Str))
	w.key("choices")
	w.arr()
	w.obj()
	w.kint("index", 0)
	w.key("message")
	w.obj()
	w.kstr("role", "assistant")
	w.key("content")
	if text.Len() > 0 || calls == 0 {
		w.str(text.String())
	} else {
		w.null()
	}
	if thought.Len() > 0 {
		w.kstr("reasoning_content", thought.String())
	}
	if calls > 0 {
		w.key("tool_calls")
		w.arr()
		n := 0
		parts.ForEach(func(_, p gjson.Result) bool {
			fc := p.Get("functionCall")
			if !fc.IsObject() {
				return true
			}
			id := geminiToolID(respID, n, fc.Get("id").Str, p.Get("thoughtSignature").Str)
			args := "{}"
			if a := fc.Get("args"); a.IsObject() {
				args = a.Raw
			}
			w.obj()
			w.kstr("id", id)
			w.kstr("type", "function")
			w.key("function")
			w.obj()
			w.kstr("name", fc.Get("name").Str)
			w.kstr("arguments", args)
			w.endObj()
			w.endObj()
			n++
			return true
		})
		w.endArr()
	}
	w.endObj()
	w.key("logprobs")
	w.null()
	w.kstr("finish_reason", finish)
	w.endObj()
	w.endArr()
	w.key("usage")
	writeOpenAIUsage(&w, u)
	w.endObj()
	return w.b, u, nil
}

func geminiToAnthropicResponse(body []byte, model string) ([]byte, Usage, error) {
	oa, u, err := geminiToOpenAIResponse(body, model)
	if err != nil {
		return nil, u, err
	}
	out, _, err := openAIToAnthropicResponse(oa, model)
	return out, u, err
}
