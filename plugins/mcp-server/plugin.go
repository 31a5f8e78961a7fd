// Command mcp-server is the Gatehouse plugin that serves MCP servers: REST
// APIs turned into MCP tools (type rest, Higress's REST-to-MCP format) and
// existing MCP servers fronted with auth and limits (type mcp-proxy).
//
// Build it as a Go plugin:
//
//	CGO_ENABLED=1 go build -trimpath -buildmode=plugin -o build/plugins/mcp-server.so ./plugins/mcp-server
//
// One plugin instance serves one MCP server definition; its config is the
// definition as JSON. The instance answers everything under the
// definition's path:
//
//	POST/GET/DELETE <path>             Streamable HTTP (sessions for 2025-03-26 … 2025-11-25,
//	                                   stateless requests for 2026-07-28)
//	GET  <ssePath>                     legacy HTTP+SSE (2024-11-05): the endpoint event, then messages
//	POST <path>/message?sessionId=…    legacy HTTP+SSE client messages
//	GET  /.well-known/oauth-protected-resource<path>, <path>/.well-known/oauth-protected-resource
//	                                   protected resource metadata (auth type jwt)
//
// Sessions live in Redis (Host.Redis) so that any gateway instance serves
// any session; without Redis they live in memory shared by every instance
// of the plugin in the process, so that the instances a configuration
// change starts serve the sessions of the ones they replace. Protocol
// handling is the official Go SDK (github.com/modelcontextprotocol/go-sdk).
package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/restmcp"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// pluginVersion is this plugin's own version.
const pluginVersion = "0.1.0"

// Plugin is the symbol the host looks up.
var Plugin pluginapi.Plugin = mcpServerPlugin{}

type mcpServerPlugin struct{}

// Info implements pluginapi.Plugin.
func (mcpServerPlugin) Info() pluginapi.Info {
	return pluginapi.Info{
		Name:        "mcp-server",
		Version:     pluginVersion,
		ABIVersion:  pluginapi.ABIVersion,
		Phase:       pluginapi.PhaseDefault,
		Description: "Serves an MCP server: REST APIs as MCP tools or a proxied MCP server, over Streamable HTTP and legacy SSE, with sessions shared through Redis.",
	}
}

// ConfigSchema implements pluginapi.Plugin.
func (mcpServerPlugin) ConfigSchema() json.RawMessage { return configSchema }

// New implements pluginapi.Plugin: config is one MCP server definition as
// JSON. Every problem of the definition is reported at once.
func (mcpServerPlugin) New(ctx context.Context, config json.RawMessage, host pluginapi.Host) (pluginapi.Instance, error) {
	def, err := restmcp.Parse(config, "application/json")
	if err != nil {
		return nil, fmt.Errorf("mcp server definition: %w", err)
	}
	srv, err := restmcp.Compile(def)
	if err != nil {
		return nil, fmt.Errorf("mcp server %q: %w", def.Name, err)
	}
	for _, w := range srv.Warnings() {
		host.Logger().Warn("mcp server definition loaded with a warning", "mcp_server", def.Name, "field", w.Field, "warning", w.Message)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return newInstance(srv, host, defaultOptions())
}

// main is required of package main; a plugin's main never runs.
func main() {}

var configSchema = json.RawMessage(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "MCP server definition",
  "description": "A Higress REST-to-MCP definition (server, tools, allowTools) plus Gatehouse fields.",
  "type": "object",
  "required": ["server"],
  "additionalProperties": false,
  "properties": {
    "name": {"type": "string", "description": "Defaults to server.name."},
    "type": {"type": "string", "enum": ["rest", "mcp-proxy"], "default": "rest"},
    "path": {"type": "string", "description": "Defaults to /mcp-servers/<name>."},
    "ssePath": {"type": "string", "pattern": "/sse$", "description": "Legacy SSE endpoint; defaults to <path>/sse."},
    "domains": {"type": "array", "items": {"type": "string"}},
    "enabled": {"type": "boolean", "default": true},
    "version": {"type": "integer"},
    "service": {"type": "string", "description": "The Gatehouse service that relative request URLs (/users/{id}) go to."},
    "serviceURLs": {"type": "array", "items": {"type": "string"}, "description": "Base URLs of the service's endpoints; filled in by the host from service."},
    "server": {
      "type": "object",
      "properties": {
        "name": {"type": "string"},
        "type": {"type": "string"},
        "config": {"type": "object"},
        "securitySchemes": {"type": "array", "items": {"type": "object"}},
        "defaultDownstreamSecurity": {"type": "object"},
        "defaultUpstreamSecurity": {"type": "object"},
        "transport": {"type": "string", "enum": ["http", "sse"]},
        "mcpServerURL": {"type": "string"},
        "timeout": {"type": "integer", "minimum": 0, "description": "Upstream timeout in milliseconds."}
      }
    },
    "tools": {"type": "array", "items": {"type": "object", "required": ["name"]}},
    "allowTools": {"type": "array", "items": {"type": "string"}},
    "auth": {
      "type": "object",
      "required": ["type"],
      "properties": {
        "type": {"type": "string", "enum": ["none", "api-key", "jwt"]},
        "consumers": {"type": "array", "items": {"type": "string"}},
        "issuer": {"type": "string"},
        "jwksURL": {"type": "string"},
        "audience": {"type": "string"},
        "passthrough": {"type": "boolean"}
      }
    },
    "sessions": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "max": {"type": "integer", "minimum": 0, "description": "Most sessions one gateway instance holds for this server (default 5000); beyond it initialize answers 503."},
        "initializePerMinute": {"type": "integer", "minimum": 0, "description": "Sessions one client address may start per minute (default 120); beyond it 429."}
      }
    },
    "toolCallFastPath": {"type": "boolean", "default": true, "description": "Serve a single tools/call of a REST tool without the MCP SDK (same answers, less CPU); false sends every message through the SDK."},
    "rateLimit": {
      "type": "object",
      "required": ["toolCallsPerMinute"],
      "properties": {
        "toolCallsPerMinute": {"type": "integer", "minimum": 0},
        "failOpen": {"type": "boolean"}
      }
    }
  }
}`)
