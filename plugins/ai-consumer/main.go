// Command ai-consumer is the Gatehouse plugin that enforces what consumer
// objects may call and spend on AI routes (issue #14): their
// allowedModels, their token quota and their dollar budget per UTC day or
// month, counted in Redis in the layout of pluginapi's usage.go so that
// every gateway instance sharing the Redis enforces one allowance and the
// host can roll the counters up into the database.
//
// It is not attached by users: control compiles one instance per group of
// AI routes with authConfig enabled, right after key-auth, from the
// consumer objects and the model prices:
//
//	{
//	  "consumers": {"team-a": {"allowedModels": ["gpt-4o-mini*"],
//	                           "quota": {"tokens": 2000000, "period": "month"},
//	                           "budget": {"usd": 50, "period": "month"}}},
//	  "prices": [{"model": "gpt-4o*", "input": 2.5, "output": 10, "cachedInput": 1.25}],
//	  "failureMode": "open",
//	  "defaultMaxTokens": 1024
//	}
//
// Before the call a request reserves an estimate (body bytes / 4 plus
// max_completion_tokens, max_tokens or defaultMaxTokens; its cost at the
// requested model's price) against the quota and the budget, and is
// refused with 429 when it does not fit; after the answer (a stream after
// its last event) the reservation is settled to the usage ai-proxy
// recorded, priced with the model's price. A call without usage (failed,
// or answered from the AI cache) releases its reservation.
package main

import (
	"context"
	"encoding/json"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// pluginVersion is this plugin's own version.
const pluginVersion = "0.1.0"

// Plugin is the symbol the host looks up.
var Plugin pluginapi.Plugin = consumerPlugin{}

type consumerPlugin struct{}

// Info implements pluginapi.Plugin. The authz phase runs after key-auth
// named the consumer and before ai-token-ratelimit and ai-cache.
func (consumerPlugin) Info() pluginapi.Info {
	return pluginapi.Info{
		Name:        "ai-consumer",
		Version:     pluginVersion,
		ABIVersion:  pluginapi.ABIVersion,
		Phase:       pluginapi.PhaseAuthz,
		Priority:    100,
		Description: "Enforces consumers' allowed models, token quotas and dollar budgets on AI routes, reserved before the call and settled to the real usage, counted in Redis (compiled by Gatehouse from the consumer objects).",
	}
}

// ConfigSchema implements pluginapi.Plugin.
func (consumerPlugin) ConfigSchema() json.RawMessage { return configSchema }

// New implements pluginapi.Plugin.
func (consumerPlugin) New(ctx context.Context, raw json.RawMessage, host pluginapi.Host) (pluginapi.Instance, error) {
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
  "title": "ai-consumer",
  "description": "Consumers' allowed models, token quotas and dollar budgets on AI routes (compiled by Gatehouse from the consumer objects and model prices).",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "consumers": {"type": "object", "propertyNames": {"pattern": "^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$"}, "additionalProperties": {"$ref": "#/$defs/consumer"}},
    "prices": {"type": "array", "items": {"$ref": "#/$defs/price"}},
    "failureMode": {"type": "string", "enum": ["open", "closed"], "default": "open", "description": "While Redis fails: open serves requests uncounted, closed answers 503 to consumers with a quota or budget."},
    "defaultMaxTokens": {"type": "integer", "minimum": 1, "maximum": 10000000, "default": 1024, "description": "Output tokens reserved for a request that sets neither max_tokens nor max_completion_tokens."}
  },
  "$defs": {
    "period": {"type": "string", "enum": ["day", "month"]},
    "model": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}\\*?$"},
    "consumer": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "allowedModels": {"type": "array", "items": {"$ref": "#/$defs/model"}},
        "quota": {"type": "object", "additionalProperties": false, "required": ["tokens", "period"],
                  "properties": {"tokens": {"type": "integer", "minimum": 1}, "period": {"$ref": "#/$defs/period"}}},
        "budget": {"type": "object", "additionalProperties": false, "required": ["usd", "period"],
                   "properties": {"usd": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000000000}, "period": {"$ref": "#/$defs/period"}}}
      }
    },
    "price": {
      "type": "object",
      "additionalProperties": false,
      "required": ["model"],
      "properties": {
        "model": {"$ref": "#/$defs/model"},
        "input": {"type": "number", "minimum": 0, "maximum": 1000000},
        "output": {"type": "number", "minimum": 0, "maximum": 1000000},
        "cachedInput": {"type": "number", "minimum": 0, "maximum": 1000000}
      }
    }
  }
}`)
