// Command ai-token-ratelimit is the Gatehouse plugin that limits the
// tokens LLM calls spend, with Higress's ai-token-ratelimit configuration,
// counted in Gatehouse's Redis so that every gateway instance sharing it
// enforces one limit together.
//
// Unlike Higress, which counts an answer's tokens after it and so lets the
// request that crosses the limit (and every request in flight) through,
// the limit holds before the call: each request reserves an estimate (its
// body's bytes / 4 for the prompt, plus max_completion_tokens or max_tokens,
// or defaultMaxTokens when it sets neither) and is refused at once if that
// does not fit in the window. When the answer ends (a stream after its last
// event) the reservation is settled to the usage ai-proxy recorded
// (pluginapi.AIUsageRecorder); a call that failed gives its reservation
// back. Concurrent requests therefore never overshoot a limit by more than
// one request's estimate.
//
// Config (Higress's fields, plus defaultMaxTokens and failureMode):
//
//	{
//	  "rule_name": "llm-tokens",
//	  "rule_items": [
//	    {"limit_by_per_consumer": "", "limit_keys": [{"key": "*", "token_per_minute": 10000}]},
//	    {"limit_by_per_ip": "", "limit_keys": [{"key": "0.0.0.0/0", "token_per_hour": 100000}]}
//	  ],
//	  "rejected_code": 429,
//	  "rejected_msg": "Too many requests",
//	  "defaultMaxTokens": 1024,
//	  "failureMode": "open"
//	}
//
// Higress's redis block is refused: the counters live in the Redis
// Gatehouse is configured with. Windows are fixed, aligned on Redis's
// clock. Keys: gatehouse:ai-token-ratelimit:<rule_name>:<kind>:<name>:<key
// index>:<window ms>[:<value>]:<window number>.
package main

import (
	"context"
	"encoding/json"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// pluginVersion is this plugin's own version.
const pluginVersion = "0.1.0"

// Plugin is the symbol the host looks up.
var Plugin pluginapi.Plugin = tokenLimitPlugin{}

type tokenLimitPlugin struct{}

// Info implements pluginapi.Plugin. The traffic phase runs after key-auth
// and the consumer checks, and before ai-cache and ai-proxy.
func (tokenLimitPlugin) Info() pluginapi.Info {
	return pluginapi.Info{
		Name:        "ai-token-ratelimit",
		Version:     pluginVersion,
		ABIVersion:  pluginapi.ABIVersion,
		Phase:       pluginapi.PhaseTraffic,
		Priority:    90,
		Description: "Limits the LLM tokens spent per consumer, header, parameter, cookie or client address (Higress's config), reserved before the call and settled to the real usage, counted in Redis and shared by every gateway instance.",
	}
}

// ConfigSchema implements pluginapi.Plugin.
func (tokenLimitPlugin) ConfigSchema() json.RawMessage { return configSchema }

// New implements pluginapi.Plugin.
func (tokenLimitPlugin) New(ctx context.Context, raw json.RawMessage, host pluginapi.Host) (pluginapi.Instance, error) {
	cfg, err := parseConfig(raw)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return newInstance(cfg, host), nil
}

// main is required of package main; a plugin's main never runs.
func main() {}

var configSchema = json.RawMessage(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "ai-token-ratelimit",
  "description": "Token limits for LLM calls (Higress's ai-token-ratelimit config), reserved before the call and settled to the real usage, counted in Gatehouse's Redis.",
  "type": "object",
  "required": ["rule_name", "rule_items"],
  "additionalProperties": false,
  "properties": {
    "rule_name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", "description": "Names the counters in Redis; instances with the same rule_name share one limit."},
    "rule_items": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/item"}, "description": "Tried in order; a request is counted under the first key that matches."},
    "rejected_code": {"type": "integer", "minimum": 400, "maximum": 599, "default": 429},
    "rejected_msg": {"type": "string", "default": "Too many requests"},
    "redis": {"not": {}, "description": "Not supported: Gatehouse counts in its own Redis (Settings → Redis)."},
    "defaultMaxTokens": {"type": "integer", "minimum": 1, "maximum": 10000000, "default": 1024, "description": "Gatehouse extension: output tokens reserved for a request that sets neither max_tokens nor max_completion_tokens."},
    "failureMode": {"type": "string", "enum": ["open", "closed"], "default": "open", "description": "Gatehouse extension: while Redis fails, open lets requests through unlimited, closed answers 503."}
  },
  "$defs": {
    "item": {
      "type": "object",
      "additionalProperties": false,
      "required": ["limit_keys"],
      "oneOf": [
        {"required": ["limit_by_header"]}, {"required": ["limit_by_param"]}, {"required": ["limit_by_consumer"]},
        {"required": ["limit_by_cookie"]}, {"required": ["limit_by_per_header"]}, {"required": ["limit_by_per_param"]},
        {"required": ["limit_by_per_consumer"]}, {"required": ["limit_by_per_cookie"]}, {"required": ["limit_by_per_ip"]}
      ],
      "properties": {
        "limit_by_header": {"type": "string", "pattern": "\\S", "description": "A header; each key is a value of it, sharing one counter."},
        "limit_by_param": {"type": "string", "pattern": "\\S", "description": "A URL query parameter; each key is a value of it."},
        "limit_by_consumer": {"type": "string", "description": "Written \"\"; each key is a consumer name."},
        "limit_by_cookie": {"type": "string", "pattern": "\\S", "description": "A cookie; each key is a value of it."},
        "limit_by_per_header": {"type": "string", "pattern": "\\S", "description": "A header; each value matching a key (\"*\", \"regexp:…\" or exact) has its own counter."},
        "limit_by_per_param": {"type": "string", "pattern": "\\S"},
        "limit_by_per_consumer": {"type": "string"},
        "limit_by_per_cookie": {"type": "string", "pattern": "\\S"},
        "limit_by_per_ip": {"type": "string", "description": "Written \"\"; keys are addresses or CIDRs (0.0.0.0/0), each client address has its own counter."},
        "limit_keys": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/key"}}
      }
    },
    "key": {
      "type": "object",
      "additionalProperties": false,
      "required": ["key"],
      "oneOf": [
        {"required": ["token_per_second"]}, {"required": ["token_per_minute"]},
        {"required": ["token_per_hour"]}, {"required": ["token_per_day"]}
      ],
      "properties": {
        "key": {"type": "string", "minLength": 1},
        "token_per_second": {"type": "integer", "minimum": 1},
        "token_per_minute": {"type": "integer", "minimum": 1},
        "token_per_hour": {"type": "integer", "minimum": 1},
        "token_per_day": {"type": "integer", "minimum": 1}
      }
    }
  }
}`)
