// Command cors is the Gatehouse plugin that answers CORS preflights and
// adds the CORS response headers, so that browser applications on other
// origins may call the routes it is attached to.
//
// Build it as a Go plugin:
//
//	CGO_ENABLED=1 go build -trimpath -buildmode=plugin -o build/plugins/cors.so ./plugins/cors
//
// Config:
//
//	{
//	  "allowOrigins": ["https://app.example.com", "https://*.example.com"],
//	  "allowMethods": ["GET", "POST"],       // default GET, HEAD, POST, PUT, PATCH, DELETE
//	  "allowHeaders": ["content-type"],      // default ["*"]: whatever the preflight asks for
//	  "exposeHeaders": ["x-request-id"],
//	  "allowCredentials": false,
//	  "maxAge": 600                          // seconds a browser may cache a preflight
//	}
//
// A preflight (OPTIONS with Origin and Access-Control-Request-Method) is
// answered by the plugin itself: 204 with the CORS headers when the origin,
// method and headers are allowed, else 403 with a JSON body saying what is
// not allowed and no CORS headers. It never reaches later plugins, so a
// preflight (which browsers send without credentials) is not refused by
// key-auth. Other requests from an allowed origin go on and their response
// carries the CORS headers, whoever wrote it (the upstream, or a later
// plugin refusing the request); a disallowed origin gets no CORS headers,
// and CORS headers the upstream set itself are removed, so the plugin's
// policy is the only one in force.
package main

import (
	"context"
	"encoding/json"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// pluginVersion is this plugin's own version.
const pluginVersion = "0.1.0"

// Plugin is the symbol the host looks up.
var Plugin pluginapi.Plugin = corsPlugin{}

type corsPlugin struct{}

// Info implements pluginapi.Plugin. cors runs first of all: in the authn
// phase with a priority above key-auth's, because a preflight carries no
// credentials and must be answered before authentication refuses it.
func (corsPlugin) Info() pluginapi.Info {
	return pluginapi.Info{
		Name:        "cors",
		Version:     pluginVersion,
		ABIVersion:  pluginapi.ABIVersion,
		Phase:       pluginapi.PhaseAuthn,
		Priority:    1000,
		Description: "Answers CORS preflights and adds CORS headers for allowed origins (exact or *.example.com), methods and headers.",
	}
}

// ConfigSchema implements pluginapi.Plugin.
func (corsPlugin) ConfigSchema() json.RawMessage { return configSchema }

// New implements pluginapi.Plugin.
func (corsPlugin) New(ctx context.Context, config json.RawMessage, host pluginapi.Host) (pluginapi.Instance, error) {
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
  "title": "cors",
  "description": "Cross-origin resource sharing: preflights answered by the gateway, CORS headers on responses to allowed origins.",
  "type": "object",
  "required": ["allowOrigins"],
  "additionalProperties": false,
  "if": {"properties": {"allowCredentials": {"const": true}}, "required": ["allowCredentials"]},
  "then": {"properties": {"allowOrigins": {"not": {"contains": {"const": "*"}}}, "exposeHeaders": {"not": {"contains": {"const": "*"}}}}},
  "properties": {
    "allowOrigins": {
      "type": "array",
      "minItems": 1,
      "uniqueItems": true,
      "items": {"type": "string", "minLength": 1},
      "description": "Origins allowed to call: \"*\" (any, not with allowCredentials), an exact origin such as https://app.example.com (port included when not the default), or a wildcard such as https://*.example.com or *.example.com (any scheme)."
    },
    "allowMethods": {
      "type": "array",
      "uniqueItems": true,
      "items": {"type": "string", "pattern": "^([!#$%&'*+.^_|~0-9A-Za-z-]+|\\*)$"},
      "default": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
      "description": "Methods a preflight may ask for; \"*\" allows any."
    },
    "allowHeaders": {
      "type": "array",
      "uniqueItems": true,
      "items": {"type": "string", "pattern": "^([!#$%&'*+.^_|~0-9A-Za-z-]+|\\*)$"},
      "default": ["*"],
      "description": "Request headers a preflight may ask for; \"*\" allows whatever it asks for."
    },
    "exposeHeaders": {
      "type": "array",
      "uniqueItems": true,
      "items": {"type": "string", "pattern": "^[!#$%&'*+.^_|~0-9A-Za-z-]+$"},
      "default": [],
      "description": "Response headers, beyond the CORS-safelisted ones, that browser scripts may read."
    },
    "allowCredentials": {"type": "boolean", "default": false, "description": "Allow cookies and Authorization on cross-origin requests (Access-Control-Allow-Credentials: true)."},
    "maxAge": {"type": "integer", "minimum": 0, "maximum": 86400, "default": 600, "description": "Seconds a browser may cache a preflight answer (Access-Control-Max-Age)."}
  }
}`)
