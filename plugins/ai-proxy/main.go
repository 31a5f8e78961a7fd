// Command ai-proxy is the Gatehouse plugin that serves OpenAI- and
// Anthropic-compatible endpoints in front of LLM providers: Higress's
// ai-proxy, rebuilt.
//
// Build it as a Go plugin:
//
//	CGO_ENABLED=1 go build -trimpath -buildmode=plugin -o build/plugins/ai-proxy.so ./plugins/ai-proxy
//
// Its config is Higress's ai-proxy config ("provider", or "providers" with
// "activeProviderId") plus Gatehouse's extensions ("upstreams",
// "modelPredicates", "fallback", "allowedConsumers", "routeName",
// "maxRequestBodyBytes"); see docs/ai-gateway.md, "ai-proxy plugin
// config". Unknown fields and provider types are refused, naming them.
//
// It serves, under any path prefix, POST /v1/chat/completions (OpenAI
// clients), POST /v1/messages (Anthropic clients), POST /v1/embeddings,
// GET /v1/models and passes other /v1/ paths through to OpenAI-compatible
// providers. Requests are translated to the provider's protocol (package
// translate), answers and streams back to the client's; token usage is
// counted for every answer, streamed or not. The client's credentials
// never reach a provider and the provider's never reach the client.
package main

import (
	"context"
	"encoding/json"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// pluginVersion is this plugin's own version.
const pluginVersion = "0.1.0"

// Plugin is the symbol the host looks up.
var Plugin pluginapi.Plugin = aiProxyPlugin{}

type aiProxyPlugin struct{}

// Info implements pluginapi.Plugin. ai-proxy runs last (default phase),
// after authentication (key-auth) and traffic control: it answers the
// request itself.
func (aiProxyPlugin) Info() pluginapi.Info {
	return pluginapi.Info{
		Name:        "ai-proxy",
		Version:     pluginVersion,
		ABIVersion:  pluginapi.ABIVersion,
		Phase:       pluginapi.PhaseDefault,
		Priority:    100,
		Description: "LLM providers behind OpenAI- and Anthropic-compatible endpoints: translation, streaming, model mapping, fallback, key rotation and token accounting (Higress's ai-proxy config).",
	}
}

// ConfigSchema implements pluginapi.Plugin.
func (aiProxyPlugin) ConfigSchema() json.RawMessage { return configSchema }

// New implements pluginapi.Plugin.
func (aiProxyPlugin) New(ctx context.Context, config json.RawMessage, host pluginapi.Host) (pluginapi.Instance, error) {
	cfg, err := parseConfig(config)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return newInstance(cfg, host)
}

// main is required of package main; a plugin's main never runs.
func main() {}

var _ pluginapi.Plugin = aiProxyPlugin{}
