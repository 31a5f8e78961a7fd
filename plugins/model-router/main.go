// Command model-router is the Gatehouse plugin that routes LLM requests by
// their model: Higress's model-router (modelKey, modelToHeader,
// addProviderHeader, enableOnPathSuffix).
//
// Build it as a Go plugin:
//
//	CGO_ENABLED=1 go build -trimpath -buildmode=plugin -o build/plugins/model-router.so ./plugins/model-router
//
// Config:
//
//	{
//	  "modelKey": "model",                         // the body field holding the model
//	  "modelToHeader": "x-higress-llm-model",      // copy the model into this request header
//	  "addProviderHeader": "x-higress-llm-provider", // split "provider/model": provider into this header, model back into the body
//	  "enableOnPathSuffix": ["/completions", "/messages", …] // or ["*"]
//	}
//
// With addProviderHeader, a model named "openai/gpt-4o" is sent on as
// "gpt-4o" and the provider "openai" picks the upstream: ai-proxy serves
// the request with the AI route's upstream of that provider (by LLM
// provider name, else by type) and an AI route without one passes it to
// the next AI route of the path. Headers are set for the plugins after
// this one; the gateway's route was already chosen when plugins run.
package main

import (
	"context"
	"encoding/json"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// pluginVersion is this plugin's own version.
const pluginVersion = "0.1.0"

// Plugin is the symbol the host looks up.
var Plugin pluginapi.Plugin = routerPlugin{}

type routerPlugin struct{}

// Info implements pluginapi.Plugin. Higress runs model-router first
// (authn, 900). Here it runs at the start of the authz phase: after
// key-auth, so a stranger's body is never parsed, and before the access
// checks, limits and the cache, which then see the model as routed.
func (routerPlugin) Info() pluginapi.Info {
	return pluginapi.Info{
		Name:        "model-router",
		Version:     pluginVersion,
		ABIVersion:  pluginapi.ABIVersion,
		Phase:       pluginapi.PhaseAuthz,
		Priority:    900,
		Description: "Routes LLM requests by model: copies the model into a header and splits \"provider/model\" names so the provider picks the AI route's upstream (Higress's model-router).",
	}
}

// ConfigSchema implements pluginapi.Plugin.
func (routerPlugin) ConfigSchema() json.RawMessage { return configSchema }

// New implements pluginapi.Plugin.
func (routerPlugin) New(ctx context.Context, config json.RawMessage, _ pluginapi.Host) (pluginapi.Instance, error) {
	cfg, err := parseConfig(config)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &instance{cfg: cfg}, nil
}

// main is required of package main; a plugin's main never runs.
func main() {}

var configSchema = json.RawMessage(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "model-router",
  "description": "Routing by the model of an LLM request (Higress's model-router).",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "modelKey": {"type": "string", "pattern": "^[A-Za-z0-9_-]*$", "default": "model", "description": "The top-level body field holding the model."},
    "modelToHeader": {"type": "string", "pattern": "^[!#$%&'*+.^_|~0-9A-Za-z-]*$", "description": "A request header that receives the model, as the client named it."},
    "addProviderHeader": {"type": "string", "pattern": "^[!#$%&'*+.^_|~0-9A-Za-z-]*$", "description": "A request header that receives the provider of a \"provider/model\" name; the model goes on without the provider, and the provider picks the AI route's upstream."},
    "enableOnPathSuffix": {"type": "array", "items": {"type": "string", "minLength": 1}, "description": "Only requests whose path ends with one of these; \"*\" for every path. Default: Higress's list of LLM API paths."}
  }
}`)

var _ pluginapi.Plugin = routerPlugin{}
