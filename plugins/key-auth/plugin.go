// Command key-auth is the Gatehouse plugin that authenticates requests by
// API key: each consumer has a name and a key, sent by the client in a
// header (X-Api-Key by default, or Authorization: Bearer <key>) or a query
// parameter.
//
// Build it as a Go plugin:
//
//	CGO_ENABLED=1 go build -trimpath -buildmode=plugin -o build/plugins/key-auth.so ./plugins/key-auth
//
// A request without a valid key is answered 401 with a JSON body
// {"error":{"code":"unauthorized","message":…}} and a WWW-Authenticate
// challenge; it never reaches later plugins or the upstream. A request
// with a valid key continues with the consumer's name in its context
// (pluginapi.ConsumerFromContext, read by cluster-rate-limit) and in the
// X-Gatehouse-Consumer request header for the upstream. A client's own
// X-Gatehouse-Consumer header is always removed first, so it cannot be
// spoofed through a route that runs key-auth.
//
// Config:
//
//	{
//	  "consumers": [{"name": "alice", "key": "…at least 16 characters…"}],
//	  "keys": ["x-api-key"],      // header names and/or query parameters to look in
//	  "inHeader": true,           // look in the request headers named by keys
//	  "inQuery": false,           // look in the query parameters named by keys
//	  "hideCredentials": false,   // remove the key (every configured place) before proxying
//	  "realm": "gatehouse"        // the realm of the WWW-Authenticate challenge
//	}
//
// A header named Authorization is read as "Bearer <key>". Keys are looked
// up by their SHA-256 digest and compared in constant time; they are never
// logged.
package main

import (
	"context"
	"encoding/json"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// pluginVersion is this plugin's own version.
const pluginVersion = "0.1.0"

// Plugin is the symbol the host looks up.
var Plugin pluginapi.Plugin = keyAuthPlugin{}

type keyAuthPlugin struct{}

// Info implements pluginapi.Plugin. key-auth runs in the authn phase; cors
// (authn, higher priority) answers preflights before it, since browsers
// send preflights without credentials.
func (keyAuthPlugin) Info() pluginapi.Info {
	return pluginapi.Info{
		Name:        "key-auth",
		Version:     pluginVersion,
		ABIVersion:  pluginapi.ABIVersion,
		Phase:       pluginapi.PhaseAuthn,
		Priority:    300,
		Description: "Authenticates requests by API key (header, Authorization: Bearer or query parameter) and names the consumer for later plugins and the upstream.",
	}
}

// ConfigSchema implements pluginapi.Plugin.
func (keyAuthPlugin) ConfigSchema() json.RawMessage { return configSchema }

// New implements pluginapi.Plugin.
func (keyAuthPlugin) New(ctx context.Context, config json.RawMessage, host pluginapi.Host) (pluginapi.Instance, error) {
	cfg, err := parseConfig(config)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return newInstance(cfg, host.Logger()), nil
}

// main is required of package main; a plugin's main never runs.
func main() {}

var configSchema = json.RawMessage(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "key-auth",
  "description": "API key authentication. A request without a valid key gets 401.",
  "type": "object",
  "required": ["consumers"],
  "additionalProperties": false,
  "properties": {
    "consumers": {
      "type": "array",
      "minItems": 1,
      "description": "Who may call, each with their own key. Names and keys are unique.",
      "items": {
        "type": "object",
        "required": ["name"],
        "anyOf": [{"required": ["key"]}, {"required": ["keySha256"]}],
        "additionalProperties": false,
        "properties": {
          "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$", "description": "The consumer's name, given to later plugins and to the upstream in X-Gatehouse-Consumer."},
          "key": {"type": "string", "minLength": 16, "maxLength": 4096, "pattern": "^[!-~]+$", "writeOnly": true, "description": "The API key: printable ASCII without spaces, at least 16 characters (for example: openssl rand -hex 24). Give key or keySha256."},
          "keySha256": {"type": "string", "pattern": "^[0-9a-f]{64}$", "writeOnly": true, "description": "Gatehouse extension: the hex SHA-256 of the key instead of the key (how Gatehouse consumers' keys are stored). A name may have several hashed keys."},
          "expiresAt": {"type": "string", "format": "date-time", "description": "Gatehouse extension: when the key stops being accepted (RFC 3339)."}
        }
      }
    },
    "keys": {
      "type": "array",
      "minItems": 1,
      "uniqueItems": true,
      "default": ["x-api-key"],
      "items": {"type": "string", "pattern": "^[!#$%&'*+.^_|~0-9A-Za-z-]+$"},
      "description": "Header names (inHeader) and/or query parameter names (inQuery) that carry the key. A header named Authorization is read as 'Bearer <key>'."
    },
    "inHeader": {"type": "boolean", "default": true, "description": "Look for the key in the request headers named by keys."},
    "inQuery": {"type": "boolean", "default": false, "description": "Look for the key in the query parameters named by keys."},
    "hideCredentials": {"type": "boolean", "default": false, "description": "Remove the configured key headers and query parameters before the request goes upstream."},
    "realm": {"type": "string", "default": "gatehouse", "pattern": "^[^\"\\\\\\x00-\\x1f]*$", "description": "Realm of the WWW-Authenticate challenge sent with 401."}
  }
}`)
