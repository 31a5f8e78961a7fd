// Command ai-proxy is the Gatehouse plugin that serves OpenAI- and
// Anthropic-compatible endpoints in front of LLM providers. This is a
// placeholder while the plugin is being built.
package main

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// Plugin is the symbol the host looks up.
var Plugin pluginapi.Plugin = aiProxyPlugin{}

type aiProxyPlugin struct{}

func (aiProxyPlugin) Info() pluginapi.Info {
	return pluginapi.Info{Name: "ai-proxy", Version: "0.0.0", ABIVersion: pluginapi.ABIVersion,
		Phase: pluginapi.PhaseDefault, Description: "LLM providers behind OpenAI- and Anthropic-compatible endpoints."}
}

func (aiProxyPlugin) ConfigSchema() json.RawMessage { return json.RawMessage(`{"type":"object"}`) }

func (aiProxyPlugin) New(context.Context, json.RawMessage, pluginapi.Host) (pluginapi.Instance, error) {
	return nil, errors.New("ai-proxy is not built yet")
}

func main() {}
