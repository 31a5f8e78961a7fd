package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/strictjson"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// The key strategies (Higress's names).
const (
	strategyLastQuestion = "lastQuestion"
	strategyAllQuestions = "allQuestions"
	strategyDisabled     = "disabled"
)

// Higress's defaults.
const (
	defaultKeyPrefix        = "higress-ai-cache:"
	defaultKeyFrom          = "messages.@reverse.0.content"
	defaultValueFrom        = "choices.0.message.content"
	defaultStreamValueFrom  = "choices.0.delta.content"
	defaultTimeout          = time.Second
	maxTimeout              = 30 * time.Second
	defaultMaxRequestBytes  = 32 << 20
	maxCachedAnswerBytes    = 4 << 20
	maxCacheTTLSeconds      = 365 * 24 * 3600
	maxCacheKeyPrefixLength = 128
)

// config is an instance's configuration: Higress's ai-cache fields plus
// Gatehouse's extensions (cacheKeyByConsumer, hitsCountUsage).
type config struct {
	Cache                *cacheConfig `json:"cache"`
	CacheKeyStrategy     string       `json:"cacheKeyStrategy"`
	CacheKeyFrom         string       `json:"cacheKeyFrom"`
	CacheValueFrom       string       `json:"cacheValueFrom"`
	CacheStreamValueFrom string       `json:"cacheStreamValueFrom"`
	EnableSemanticCache  *bool        `json:"enableSemanticCache"`
	// CacheKeyByConsumer (EXT) keeps one cache per consumer: the consumer
	// key-auth named is part of the key. Default true: with lastQuestion
	// the key ignores the system prompt, which may hold one team's private
	// context, so a shared cache would hand that team's answers to anyone
	// asking the same last question. false shares answers (Higress).
	CacheKeyByConsumer *bool `json:"cacheKeyByConsumer"`
	// HitsCountUsage (EXT) reports a hit's stored usage to the plugins
	// before ai-cache (token limits, budgets), as if the provider answered.
	HitsCountUsage bool `json:"hitsCountUsage"`

	timeout    time.Duration
	ttl        time.Duration
	byConsumer bool
}

// cacheConfig is Higress's "cache" object. The Redis is the gateway's.
type cacheConfig struct {
	Type           string `json:"type"`
	CacheTTL       int64  `json:"cacheTTL"`
	CacheKeyPrefix string `json:"cacheKeyPrefix"`
	Timeout        int64  `json:"timeout"`
}

// unsupported are Higress fields Gatehouse refuses, with why and what to do.
var unsupported = map[string]string{
	"vector":                       "not supported: exact match only (Gatehouse's ai-cache has no vector database); remove vector",
	"embedding":                    "not supported: exact match only (Gatehouse's ai-cache has no embedding service); remove embedding",
	"redis":                        "not supported: the legacy redis object; use cache {\"type\": \"redis\"}, which uses the gateway's Redis (Settings → Redis)",
	"cacheToolCallsFrom":           "not supported: answers with tool calls are never cached (they are not the same answer twice); remove cacheToolCallsFrom",
	"responseTemplate":             "not supported: a hit is replayed in the client's own protocol (OpenAI or Anthropic, JSON or SSE); remove responseTemplate",
	"streamResponseTemplate":       "not supported: a hit is replayed in the client's own protocol (OpenAI or Anthropic, JSON or SSE); remove streamResponseTemplate",
	"returnResponseTemplate":       "not supported: a hit is replayed in the client's own protocol (OpenAI or Anthropic, JSON or SSE); remove returnResponseTemplate",
	"returnStreamResponseTemplate": "not supported: a hit is replayed in the client's own protocol (OpenAI or Anthropic, JSON or SSE); remove returnStreamResponseTemplate",
}

// unsupportedCache are Higress cache fields that name a Redis of its own.
var unsupportedCache = map[string]string{
	"serviceName": "not supported: ai-cache uses the gateway's Redis (Settings → Redis or GATEHOUSE_REDIS_ADDR); remove cache.serviceName",
	"serviceHost": "not supported: ai-cache uses the gateway's Redis (Settings → Redis); remove cache.serviceHost",
	"servicePort": "not supported: ai-cache uses the gateway's Redis (Settings → Redis); remove cache.servicePort",
	"username":    "not supported: the Redis credentials are the gateway's (Settings → Redis); remove cache.username",
	"password":    "not supported: the Redis credentials are the gateway's (Settings → Redis); remove cache.password",
	"database":    "not supported: the Redis db is the gateway's (Settings → Redis); remove cache.database",
}

// parseConfig unmarshals data strictly, applies Higress's defaults and
// validates the result, returning every problem at once.
func parseConfig(data []byte) (*config, error) {
	data, refused := refuseUnsupported(data)
	var c config
	shape, err := strictjson.Decode(data, &c)
	if err != nil {
		return nil, err
	}
	shape = append(refused, shape...)
	if c.CacheKeyStrategy == "" {
		c.CacheKeyStrategy = strategyLastQuestion
	}
	if c.CacheKeyFrom == "" {
		c.CacheKeyFrom = defaultKeyFrom
	}
	if c.CacheValueFrom == "" {
		c.CacheValueFrom = defaultValueFrom
	}
	if c.CacheStreamValueFrom == "" {
		c.CacheStreamValueFrom = defaultStreamValueFrom
	}
	c.byConsumer = c.CacheKeyByConsumer == nil || *c.CacheKeyByConsumer
	if c.Cache != nil && c.Cache.CacheKeyPrefix == "" {
		c.Cache.CacheKeyPrefix = defaultKeyPrefix
	}
	if err := strictjson.Join(shape, c.validate()); err != nil {
		return nil, err
	}
	return &c, nil
}

// refuseUnsupported takes Higress's fields that Gatehouse does not
// implement out of data, with one error each naming the field.
func refuseUnsupported(data []byte) ([]byte, []error) {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil || top == nil {
		return data, nil // strictjson reports what is wrong
	}
	var errs []error
	for name, msg := range unsupported {
		if _, ok := top[name]; ok {
			errs = append(errs, &pluginapi.ConfigError{Field: name, Message: msg})
			delete(top, name)
		}
	}
	if raw, ok := top["cache"]; ok {
		var cache map[string]json.RawMessage
		if json.Unmarshal(raw, &cache) == nil && cache != nil {
			for name, msg := range unsupportedCache {
				if _, ok := cache[name]; ok {
					errs = append(errs, &pluginapi.ConfigError{Field: "cache." + name, Message: msg})
					delete(cache, name)
				}
			}
			top["cache"], _ = json.Marshal(cache)
		}
	}
	if len(errs) == 0 {
		return data, nil
	}
	out, _ := json.Marshal(top)
	return out, errs
}

func (c *config) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &pluginapi.ConfigError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if c.EnableSemanticCache != nil && *c.EnableSemanticCache {
		bad("enableSemanticCache", "not supported: exact match only; set it to false or remove it")
	}
	switch c.CacheKeyStrategy {
	case strategyLastQuestion, strategyAllQuestions, strategyDisabled:
	default:
		bad("cacheKeyStrategy", "%q is not one of lastQuestion, allQuestions, disabled", c.CacheKeyStrategy)
	}
	for _, p := range []struct{ field, path string }{
		{"cacheKeyFrom", c.CacheKeyFrom}, {"cacheValueFrom", c.CacheValueFrom}, {"cacheStreamValueFrom", c.CacheStreamValueFrom},
	} {
		if !validPath(p.path) {
			bad(p.field, "%q is not a GJSON path (see https://github.com/tidwall/gjson/blob/master/SYNTAX.md), such as messages.@reverse.0.content", p.path)
		}
	}
	c.timeout = defaultTimeout
	if c.Cache == nil {
		bad("cache", `is required: {"type": "redis"} (ai-cache stores answers in the gateway's Redis)`)
		return errors.Join(errs...)
	}
	switch c.Cache.Type {
	case "redis":
	case "":
		bad("cache.type", `is required: "redis"`)
	default:
		bad("cache.type", "%q is not supported: only redis (the gateway's Redis)", c.Cache.Type)
	}
	switch {
	case c.Cache.CacheTTL < 0 || c.Cache.CacheTTL > maxCacheTTLSeconds:
		bad("cache.cacheTTL", "is %d; use seconds from 0 (never expire) to %d", c.Cache.CacheTTL, maxCacheTTLSeconds)
	default:
		c.ttl = time.Duration(c.Cache.CacheTTL) * time.Second
	}
	if len(c.Cache.CacheKeyPrefix) > maxCacheKeyPrefixLength || strings.ContainsAny(c.Cache.CacheKeyPrefix, " \r\n\t") {
		bad("cache.cacheKeyPrefix", "use at most %d characters without spaces, such as higress-ai-cache:", maxCacheKeyPrefixLength)
	}
	switch t := time.Duration(c.Cache.Timeout) * time.Millisecond; {
	case c.Cache.Timeout == 0:
	case t < 0 || t > maxTimeout:
		bad("cache.timeout", "is %d; use milliseconds from 1 to %d", c.Cache.Timeout, maxTimeout.Milliseconds())
	default:
		c.timeout = t
	}
	return errors.Join(errs...)
}

// validPath reports whether p is a GJSON path gjson can use: it must not
// panic or be empty, and its brackets and parentheses must balance.
func validPath(p string) (ok bool) {
	if strings.TrimSpace(p) == "" {
		return false
	}
	depth := 0
	for _, r := range p {
		switch r {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		}
		if depth < 0 {
			return false
		}
	}
	if depth != 0 {
		return false
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	gjson.Get(`{"messages":[{"role":"user","content":"x"}],"choices":[{"message":{"content":"x"},"delta":{"content":"x"}}]}`, p)
	return true
}
