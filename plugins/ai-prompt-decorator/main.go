// Command ai-prompt-decorator is the Gatehouse plugin that adds messages
// before and after a chat request's messages and rewrites their text:
// Higress's ai-prompt-decorator (prepend, append, replace), for OpenAI
// (/v1/chat/completions) and Anthropic (/v1/messages) clients.
//
// Build it as a Go plugin:
//
//	CGO_ENABLED=1 go build -trimpath -buildmode=plugin -o build/plugins/ai-prompt-decorator.so ./plugins/ai-prompt-decorator
//
// Config:
//
//	{
//	  "prepend": [{"role": "system", "content": "Answer in English."}],
//	  "append":  [{"role": "user", "content": "Then ask a follow-up question."}],
//	  "replace": [{"pattern": "secret-\\d+", "replacement": "[REDACTED]", "regex": true, "on_role": "user"}]
//	}
//
// For Anthropic requests, system messages go into the top-level "system"
// (prepended ones before the client's system prompt, appended ones after
// it), since the messages API has no system role.
package main

import (
	"context"
	"encoding/json"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// pluginVersion is this plugin's own version.
const pluginVersion = "0.1.0"

// Plugin is the symbol the host looks up.
var Plugin pluginapi.Plugin = decoratorPlugin{}

type decoratorPlugin struct{}

// Info implements pluginapi.Plugin. Transform phase, lower priority than
// ai-cache (100): the cache key is the client's own question, and the
// decorated request is what reaches ai-proxy.
func (decoratorPlugin) Info() pluginapi.Info {
	return pluginapi.Info{
		Name:        "ai-prompt-decorator",
		Version:     pluginVersion,
		ABIVersion:  pluginapi.ABIVersion,
		Phase:       pluginapi.PhaseTransform,
		Priority:    50,
		Description: "Adds messages before and after an LLM chat request's messages and rewrites their text (Higress's ai-prompt-decorator: prepend, append, replace), for OpenAI and Anthropic clients.",
	}
}

// ConfigSchema implements pluginapi.Plugin.
func (decoratorPlugin) ConfigSchema() json.RawMessage { return configSchema }

// New implements pluginapi.Plugin.
func (decoratorPlugin) New(ctx context.Context, config json.RawMessage, _ pluginapi.Host) (pluginapi.Instance, error) {
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
  "title": "ai-prompt-decorator",
  "description": "Messages added before and after an LLM chat request's messages, and rewrites of their text.",
  "type": "object",
  "additionalProperties": false,
  "$defs": {
    "message": {
      "type": "object",
      "required": ["role", "content"],
      "additionalProperties": false,
      "properties": {
        "role": {"enum": ["system", "developer", "user", "assistant"], "description": "system (for Anthropic requests it goes into the top-level system prompt), developer, user or assistant."},
        "content": {"type": "string", "minLength": 1, "description": "The message's text."}
      }
    }
  },
  "properties": {
    "prepend": {"type": "array", "items": {"$ref": "#/$defs/message"}, "description": "Messages inserted before the client's messages."},
    "append": {"type": "array", "items": {"$ref": "#/$defs/message"}, "description": "Messages inserted after the client's messages."},
    "replace": {
      "type": "array",
      "description": "Rewrites of the text of every message (prepended and appended ones included), in order. Only plain-string contents are rewritten.",
      "items": {
        "type": "object",
        "required": ["pattern", "replacement"],
        "additionalProperties": false,
        "properties": {
          "pattern": {"type": "string", "minLength": 1, "description": "The text to find; an RE2 regular expression when regex is true."},
          "replacement": {"type": "string", "description": "The text put in its place; $1, $2 … refer to groups when regex is true."},
          "on_role": {"type": "string", "description": "Only messages of this role; empty: every role."},
          "regex": {"type": "boolean", "default": false, "description": "pattern is a regular expression."}
        }
      }
    }
  }
}`)

var _ pluginapi.Plugin = decoratorPlugin{}
