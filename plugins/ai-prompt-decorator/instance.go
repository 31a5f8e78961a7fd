package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/aiwire"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// maxBody is the largest body decorated, ai-proxy's default limit; a
// larger one passes on untouched and ai-proxy refuses it.
const maxBody = 32 << 20

type instance struct{ cfg *config }

// Handler implements pluginapi.Instance.
func (in *instance) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimSuffix(r.URL.Path, "/")
		anthropic := strings.HasSuffix(p, "/v1/messages")
		if r.Method != http.MethodPost || (!anthropic && !strings.HasSuffix(p, "/v1/chat/completions")) || r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			if r.Context().Err() == nil {
				aiwire.WriteError(w, r, http.StatusBadRequest, "", "the request body could not be read", 0)
			}
			return
		}
		if len(body) <= maxBody {
			if out, ok := in.cfg.decorate(body, anthropic); ok {
				body = out
			}
		} else {
			// Too large to decorate: pass it on whole (ai-proxy refuses it).
			body = append(body, mustReadAll(r.Body)...)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Del("Content-Length")
		next.ServeHTTP(w, r)
	})
}

func mustReadAll(r io.Reader) []byte {
	b, _ := io.ReadAll(r)
	return b
}

// decorate returns body with the configured messages added and rewrites
// applied; ok is false when body is not a chat request (it then passes
// unchanged and ai-proxy answers it).
func (c *config) decorate(body []byte, anthropic bool) ([]byte, bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil || top == nil {
		return nil, false
	}
	var msgs []map[string]json.RawMessage
	if raw, ok := top["messages"]; ok {
		if json.Unmarshal(raw, &msgs) != nil {
			return nil, false
		}
	}
	var sysBefore, sysAfter []string
	add := func(list []message, before bool) []map[string]json.RawMessage {
		var out []map[string]json.RawMessage
		for _, m := range list {
			if anthropic && (m.Role == "system" || m.Role == "developer") {
				if before {
					sysBefore = append(sysBefore, m.Content)
				} else {
					sysAfter = append(sysAfter, m.Content)
				}
				continue
			}
			role, _ := json.Marshal(m.Role)
			content, _ := json.Marshal(m.Content)
			out = append(out, map[string]json.RawMessage{"role": role, "content": content})
		}
		return out
	}
	msgs = append(append(add(c.Prepend, true), msgs...), add(c.Append, false)...)
	for _, m := range msgs {
		var role, content string
		_ = json.Unmarshal(m["role"], &role)
		if json.Unmarshal(m["content"], &content) != nil {
			continue // parts or blocks are left as they are (Higress)
		}
		if rewritten, changed := c.rewrite(role, content); changed {
			m["content"], _ = json.Marshal(rewritten)
		}
	}
	raw, err := json.Marshal(msgs)
	if err != nil {
		return nil, false
	}
	top["messages"] = raw
	if anthropic {
		sys, ok := c.system(top["system"], sysBefore, sysAfter)
		if !ok {
			return nil, false
		}
		if sys != nil {
			top["system"] = sys
		}
	}
	out, err := json.Marshal(top)
	return out, err == nil
}

// rewrite applies the replace rules to one message's text.
func (c *config) rewrite(role, s string) (string, bool) {
	orig := s
	for i := range c.Replace {
		r := &c.Replace[i]
		if r.OnRole == "" || r.OnRole == role {
			s = r.apply(s)
		}
	}
	return s, s != orig
}

// system returns an Anthropic request's system prompt with the
// decorator's system messages around the client's: a string stays a
// string when only strings meet, else text blocks (the client's blocks,
// with their cache_control, are kept as they are). nil: unchanged.
func (c *config) system(raw json.RawMessage, before, after []string) (json.RawMessage, bool) {
	var str string
	isString := len(raw) == 0 || string(raw) == "null" || json.Unmarshal(raw, &str) == nil
	if isString {
		if rewritten, changed := c.rewrite("system", str); changed {
			str = rewritten
		} else if len(before)+len(after) == 0 {
			return nil, true
		}
		parts := append(append(append([]string{}, before...), str), after...)
		var kept []string
		for _, p := range parts {
			if p != "" {
				kept = append(kept, p)
			}
		}
		out, _ := json.Marshal(strings.Join(kept, "\n\n"))
		return out, true
	}
	if len(before)+len(after) == 0 {
		return nil, true
	}
	var blocks []json.RawMessage
	if json.Unmarshal(raw, &blocks) != nil {
		return nil, false
	}
	text := func(s string) json.RawMessage {
		b, _ := json.Marshal(map[string]string{"type": "text", "text": s})
		return b
	}
	var out []json.RawMessage
	for _, s := range before {
		out = append(out, text(s))
	}
	out = append(out, blocks...)
	for _, s := range after {
		out = append(out, text(s))
	}
	b, err := json.Marshal(out)
	return b, err == nil
}

// Close implements pluginapi.Instance.
func (in *instance) Close() error { return nil }

var _ pluginapi.Instance = (*instance)(nil)
