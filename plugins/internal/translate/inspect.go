package translate

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

func inspect(p Protocol, body []byte) (RequestInfo, error) {
	root, err := parseObject(body)
	if err != nil {
		return RequestInfo{}, err
	}
	var info RequestInfo
	var maxTokens, maxCompletion gjson.Result
	models := 0
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			models++
			if v.Type == gjson.String {
				info.Model = strings.Clone(v.Str) // parseJSON aliases body; the caller keeps this
			} else {
				err = wantType(field("model"), v, "string")
			}
		case "stream":
			info.Stream = v.Type == gjson.True
		case "max_tokens":
			maxTokens = v
		case "max_completion_tokens":
			maxCompletion = v
		case "stream_options":
			info.IncludeUsage = v.Get("include_usage").Type == gjson.True
		case "generationConfig":
			maxTokens = v.Get("maxOutputTokens")
		}
		return err == nil
	})
	if err != nil {
		return RequestInfo{}, err
	}
	if models > 1 {
		return RequestInfo{}, fmt.Errorf("%w: the body has %d \"model\" fields; send one", ErrInvalidBody, models)
	}
	if p == OpenAI && maxCompletion.Type == gjson.Number {
		maxTokens = maxCompletion
	}
	if maxTokens.Exists() && maxTokens.Type != gjson.Null {
		if err := wantType(field("max_tokens"), maxTokens, "number"); err != nil {
			return RequestInfo{}, err
		}
		info.MaxTokens = maxTokens.Int()
	}
	if p != OpenAI {
		info.IncludeUsage = false
	}
	return info, nil
}

// setModel replaces the raw value of the top-level "model" field in place,
// or inserts the field first.
func setModel(body []byte, model string) ([]byte, error) {
	root, err := parseObject(body)
	if err != nil {
		return nil, err
	}
	var cur gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		if k.Str == "model" {
			cur = v
			return false
		}
		return true
	})
	val := appendJSONString(nil, model)
	out := make([]byte, 0, len(body)+len(val)+10)
	lead := bytes.IndexByte(body, '{')
	if cur.Exists() {
		at := cur.Index
		out = append(out, body[:at]...)
		out = append(out, val...)
		return append(out, body[at+len(cur.Raw):]...), nil
	}
	open := lead + 1
	out = append(out, body[:open]...)
	out = append(out, `"model":`...)
	out = append(out, val...)
	if hasMembers(root) {
		out = append(out, ',')
	}
	return append(out, body[open:]...), nil
}

// forceStreamUsage sets stream_options.include_usage on a streamed OpenAI
// body, keeping every other byte.
func forceStreamUsage(body []byte) ([]byte, error) {
	root, err := parseObject(body)
	if err != nil {
		return nil, err
	}
	if root.Get("stream").Type != gjson.True {
		return body, nil
	}
	opts := root.Get("stream_options")
	if opts.Get("include_usage").Type == gjson.True {
		return body, nil
	}
	out := make([]byte, 0, len(body)+32)
	if opts.IsObject() {
		at := opts.Index
		// Replace the whole stream_options object, keeping its other members.
		w := jw{b: out}
		w.b = append(w.b, body[:at]...)
		w.obj()
		opts.ForEach(func(k, v gjson.Result) bool {
			if k.Str != "include_usage" {
				w.kraw(k.Str, v.Raw)
			}
			return true
		})
		w.key("include_usage")
		w.bool(true)
		w.endObj()
		return append(w.b, body[at+len(opts.Raw):]...), nil
	}
	if opts.Exists() { // null or another type: replace it
		at := opts.Index
		out = append(out, body[:at]...)
		out = append(out, `{"include_usage":true}`...)
		return append(out, body[at+len(opts.Raw):]...), nil
	}
	end := bytes.LastIndexByte(body, '}')
	out = append(out, body[:end]...)
	out = append(out, `,"stream_options":{"include_usage":true}`...)
	return append(out, body[end:]...), nil
}

func hasMembers(obj gjson.Result) bool {
	has := false
	obj.ForEach(func(_, _ gjson.Result) bool { has = true; return false })
	return has
}
