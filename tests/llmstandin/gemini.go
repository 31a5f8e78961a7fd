package llmstandin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

type geminiPart struct {
	Text             string `json:"text"`
	FunctionResponse *struct {
		Name     string          `json:"name"`
		Response json.RawMessage `json:"response"`
	} `json:"functionResponse"`
}

type geminiRequest struct {
	Contents []struct {
		Role  string       `json:"role"`
		Parts []geminiPart `json:"parts"`
	} `json:"contents"`
	SystemInstruction *struct {
		Parts []geminiPart `json:"parts"`
	} `json:"systemInstruction"`
	Tools []struct {
		FunctionDeclarations []struct {
			Name       string          `json:"name"`
			Parameters json.RawMessage `json:"parameters"`
		} `json:"functionDeclarations"`
	} `json:"tools"`
	ToolConfig *struct {
		FunctionCallingConfig struct {
			Mode                 string   `json:"mode"`
			AllowedFunctionNames []string `json:"allowedFunctionNames"`
		} `json:"functionCallingConfig"`
	} `json:"toolConfig"`
	GenerationConfig *struct {
		MaxOutputTokens int `json:"maxOutputTokens"`
	} `json:"generationConfig"`
}

// gemini answers POST …/models/{model}:generateContent and
// :streamGenerateContent (alt=sse).
func (ex *exchange) gemini() {
	p := ex.r.URL.Path
	i := strings.LastIndex(p, "/models/")
	j := strings.LastIndex(p, ":")
	if i < 0 || j < i {
		ex.fail(http.StatusNotFound, "not_found_error", "expected …/models/{model}:generateContent, got "+p)
		return
	}
	model, method := p[i+len("/models/"):j], p[j+1:]
	stream := method == "streamGenerateContent"
	if stream && queryValue(ex.r.URL, "alt") != "sse" {
		ex.fail(http.StatusBadRequest, "invalid_request_error", "the stand-in streams Gemini only as SSE: add ?alt=sse")
		return
	}
	var req geminiRequest
	if !ex.decode(&req) {
		return
	}
	if len(req.Contents) == 0 {
		ex.fail(http.StatusBadRequest, "invalid_request_error", "contents is not specified")
		return
	}
	if !ex.model(model, stream) {
		return
	}
	c := conversation{toolChoice: "auto"}
	if req.SystemInstruction != nil {
		for _, pt := range req.SystemInstruction.Parts {
			c.addText(pt.Text)
		}
	}
	for _, m := range req.Contents {
		var texts, results []string
		for _, pt := range m.Parts {
			if pt.FunctionResponse != nil {
				results = append(results, string(pt.FunctionResponse.Response))
			} else if pt.Text != "" {
				texts = append(texts, pt.Text)
			}
		}
		for _, t := range append(texts, results...) {
			c.addText(t)
		}
		switch {
		case len(results) > 0:
			c.toolResult, c.endsInTool = strings.Join(results, " "), true
		case m.Role == "user" || m.Role == "":
			c.lastUser, c.endsInTool = strings.Join(texts, " "), false
		default:
			c.endsInTool = false
		}
	}
	for _, t := range req.Tools {
		for _, f := range t.FunctionDeclarations {
			c.tools = append(c.tools, tool{name: f.Name, schema: f.Parameters})
		}
	}
	if req.ToolConfig != nil {
		fc := req.ToolConfig.FunctionCallingConfig
		if fc.Mode == "NONE" {
			c.toolChoice = "none"
		} else if len(fc.AllowedFunctionNames) == 1 {
			c.toolChoice = fc.AllowedFunctionNames[0]
		}
	}
	if req.GenerationConfig != nil {
		c.maxTokens = req.GenerationConfig.MaxOutputTokens
	}
	a := ex.reply(c, "")
	finish := "STOP"
	if a.stop == "length" {
		finish = "MAX_TOKENS"
	}
	usage := map[string]any{
		"promptTokenCount":     a.usage.InputTokens,
		"candidatesTokenCount": a.usage.OutputTokens - a.usage.ReasoningTokens,
		"totalTokenCount":      a.usage.InputTokens + a.usage.OutputTokens,
	}
	if a.usage.CachedTokens > 0 {
		usage["cachedContentTokenCount"] = a.usage.CachedTokens
	}
	if a.usage.ReasoningTokens > 0 {
		usage["thoughtsTokenCount"] = a.usage.ReasoningTokens
	}
	respID := fmt.Sprintf("standin-%d", ex.rec.Seq)
	candidate := func(parts []any, finish string) map[string]any {
		c := map[string]any{"content": map[string]any{"role": "model", "parts": parts}, "index": 0}
		if finish != "" {
			c["finishReason"] = finish
		}
		return c
	}
	var call []any
	if a.toolName != "" {
		var args any
		_ = json.Unmarshal([]byte(a.toolArgs), &args)
		call = []any{map[string]any{"functionCall": map[string]any{"name": a.toolName, "args": args}}}
	}
	if !stream {
		parts := call
		if parts == nil {
			parts = []any{map[string]any{"text": a.text}}
		}
		ex.writeJSON(http.StatusOK, map[string]any{"candidates": []any{candidate(parts, finish)}, "usageMetadata": usage,
			"modelVersion": model, "responseId": respID}, a.usage)
		return
	}
	s := &sse{ex: ex, crlf: true}
	if call != nil {
		s.add("", map[string]any{"candidates": []any{candidate(call, finish)}, "usageMetadata": usage, "modelVersion": model, "responseId": respID})
	} else {
		ps := pieces(a.text)
		for k, pc := range ps {
			ev := map[string]any{"modelVersion": model, "responseId": respID}
			if k == len(ps)-1 {
				ev["candidates"] = []any{candidate([]any{map[string]any{"text": pc}}, finish)}
				ev["usageMetadata"] = usage
			} else {
				ev["candidates"] = []any{candidate([]any{map[string]any{"text": pc}}, "")}
				ev["usageMetadata"] = map[string]any{"promptTokenCount": a.usage.InputTokens, "totalTokenCount": a.usage.InputTokens}
			}
			s.add("", ev)
		}
	}
	s.send(a.usage)
}
