// Command cluster-rate-limit is the Gatehouse plugin that limits requests
// per route, per consumer, per client address or per header value, counted
// in Redis so that every gateway instance sharing that Redis enforces one
// limit together.
//
// Build it as a Go plugin:
//
//	CGO_ENABLED=1 go build -trimpath -buildmode=plugin -o build/plugins/cluster-rate-limit.so ./plugins/cluster-rate-limit
//
// Config:
//
//	{
//	  "ruleName": "orders-api",   // names the counters in Redis (required)
//	  "limitBy": "consumer",      // route (default), consumer, client-address or header
//	  "headerName": "",           // the header counted by, with limitBy header
//	  "requests": 100,            // requests allowed per window
//	  "window": "1m",             // a Go duration, at least 100ms
//	  "failOpen": false,          // when Redis is missing or failing: true lets requests through, false answers 503
//	  "redisTimeout": "1s"        // how long one Redis call may take before Redis counts as failing
//	}
//
// Counting is a fixed window per key, started by the key's first request
// and counted atomically by one Lua script (INCR, and PEXPIRE when the key
// is new), so that instances never race. Every counted response carries
// X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset (seconds
// until the window ends); a request over the limit gets 429 with
// Retry-After and a JSON body {"error":{"code":"rate_limited",…}}.
//
// Keys in Redis: gatehouse:rate-limit:<ruleName>:<limitBy>[:<value>]. The
// plugin cannot see which route or instance it serves, so ruleName is what
// ties counters together: instances of the rule on several gateways share
// one limit by having the same ruleName, and two routes keep separate
// limits by having different ones. limitBy route counts every request the
// plugin instance sees under its ruleName (attach one instance per route).
// limitBy consumer counts by the consumer that an authentication plugin
// (key-auth) named; requests without one, and with limitBy header requests
// without the header, are counted by client address instead. The client
// address is the TCP peer of the gateway (X-Forwarded-For is not trusted).
package main

import (
	"context"
	"encoding/json"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// pluginVersion is this plugin's own version.
const pluginVersion = "0.1.0"

// Plugin is the symbol the host looks up.
var Plugin pluginapi.Plugin = rateLimitPlugin{}

type rateLimitPlugin struct{}

// Info implements pluginapi.Plugin. The traffic phase runs after
// authentication, so limitBy consumer sees key-auth's consumer.
func (rateLimitPlugin) Info() pluginapi.Info {
	return pluginapi.Info{
		Name:        "cluster-rate-limit",
		Version:     pluginVersion,
		ABIVersion:  pluginapi.ABIVersion,
		Phase:       pluginapi.PhaseTraffic,
		Priority:    100,
		Description: "Limits requests per route, consumer, client address or header, counted in Redis so that all gateway instances share one limit; 429 with Retry-After.",
	}
}

// ConfigSchema implements pluginapi.Plugin.
func (rateLimitPlugin) ConfigSchema() json.RawMessage { return configSchema }

// New implements pluginapi.Plugin.
func (rateLimitPlugin) New(ctx context.Context, config json.RawMessage, host pluginapi.Host) (pluginapi.Instance, error) {
	cfg, err := parseConfig(config)
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
  "title": "cluster-rate-limit",
  "description": "A request limit per window, counted in Redis and shared by every gateway instance.",
  "type": "object",
  "required": ["ruleName", "requests", "window"],
  "additionalProperties": false,
  "if": {"properties": {"limitBy": {"const": "header"}}, "required": ["limitBy"]},
  "then": {"required": ["headerName"]},
  "else": {"not": {"required": ["headerName"]}},
  "properties": {
    "ruleName": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", "description": "Names the counters in Redis. Instances with the same ruleName (on one gateway or several) share their counters; give each route its own."},
    "limitBy": {"type": "string", "enum": ["route", "consumer", "client-address", "header"], "default": "route", "description": "What is counted separately: everything the instance sees (route), each consumer named by an authentication plugin, each client address, or each value of headerName. Requests without a consumer or without the header are counted by client address."},
    "headerName": {"type": "string", "pattern": "^[!#$%&'*+.^_|~0-9A-Za-z-]+$", "description": "The request header to count by; required with limitBy header, refused otherwise."},
    "requests": {"type": "integer", "minimum": 1, "description": "Requests allowed per window."},
    "window": {"type": "string", "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$", "description": "The window, a Go duration such as 1s, 1m or 1h30m; at least 100ms. It starts with a key's first request."},
    "failOpen": {"type": "boolean", "default": false, "description": "When Redis is not configured or fails: true lets requests through unlimited (with a warning in the log), false answers 503."},
    "redisTimeout": {"type": "string", "default": "1s", "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$", "description": "How long one Redis call may take before Redis counts as failing (at most 30s)."}
  }
}`)
