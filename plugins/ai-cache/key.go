package main

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/tidwall/gjson"
)

// questionOf returns the text the key strategy takes from a chat request
// body, normalized, and "" when there is none (the request is not
// cached). Normalized means: message content given as parts or blocks
// ([{"type":"text","text":…}], OpenAI's and Anthropic's forms) is the
// concatenation of its text parts; CRLF is LF; leading and trailing white
// space is removed. So the same question asked by an OpenAI and an
// Anthropic client has the same key.
func (c *config) questionOf(body []byte) string {
	switch c.CacheKeyStrategy {
	case strategyLastQuestion:
		if c.CacheKeyFrom == defaultKeyFrom {
			// The same as the path, without @reverse copying the array.
			var last gjson.Result
			gjson.GetBytes(body, "messages").ForEach(func(_, m gjson.Result) bool {
				last = m
				return true
			})
			return normalize(last.Get("content"))
		}
		return normalize(gjson.GetBytes(body, c.CacheKeyFrom))
	case strategyAllQuestions:
		var qs []string
		for _, m := range gjson.GetBytes(body, "messages").Array() {
			if m.Get("role").Str != "user" {
				continue
			}
			if q := normalize(m.Get("content")); q != "" {
				qs = append(qs, q)
			}
		}
		return strings.Join(qs, "\n")
	}
	return ""
}

// normalize turns a GJSON result into the key's text.
func normalize(v gjson.Result) string {
	var s string
	switch {
	case !v.Exists():
		return ""
	case v.Type == gjson.String:
		s = v.Str
	case v.IsArray():
		var b strings.Builder
		for _, part := range v.Array() {
			switch {
			case part.Type == gjson.String:
				b.WriteString(part.Str)
			case part.Get("type").Str == "text":
				b.WriteString(part.Get("text").Str)
			default:
				// An image or other non-text part: its JSON is part of the
				// question, so that two questions about different images
				// never share an answer.
				b.WriteString(part.Raw)
			}
		}
		s = b.String()
	default:
		s = v.Raw
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.TrimSpace(s)
}

// cacheKey is the Redis key of a question: the prefix and the SHA-256 of
// the model, the consumer (cacheKeyByConsumer) and the question, each
// length-prefixed so that no two different triples hash alike.
func cacheKey(prefix, model, consumer, question string) string {
	h := sha256.New()
	for _, part := range []string{strings.TrimSpace(model), consumer, question} {
		var n [8]byte
		l := len(part)
		for i := range n {
			n[i] = byte(l >> (8 * i))
		}
		h.Write(n[:])
		h.Write([]byte(part))
	}
	var sum [sha256.Size]byte
	return prefix + hex.EncodeToString(h.Sum(sum[:0]))
}
