package pluginapi

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// This file holds the optional interfaces an mcp-server plugin instance
// implements for the admin API and health, and the consumer identity that
// authentication plugins hand to later plugins. The host finds the
// interfaces with a type assertion on the Instance:
//
//	if tp, ok := inst.(pluginapi.ToolProvider); ok { … }
//
// Only plain data crosses this boundary: no MCP SDK type appears here.

// ErrUnknownTool is returned (wrapped) by ToolProvider methods for a tool
// the server does not have or does not let clients see.
var ErrUnknownTool = errors.New("unknown tool")

// ErrInvalidArguments is returned (wrapped) by ToolProvider methods when
// the arguments do not fit the tool's input schema.
var ErrInvalidArguments = errors.New("invalid arguments")

// ErrNotRenderable is returned (wrapped) by RenderTool for a tool that has
// no upstream HTTP request to show: an mcp-proxy tool, or a REST tool that
// answers from its response template alone.
var ErrNotRenderable = errors.New("tool has no request to render")

// ToolInfo describes one MCP tool as clients list it.
type ToolInfo struct {
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"inputSchema"`
	OutputSchema json.RawMessage `json:"outputSchema,omitempty"`
}

// RenderedRequest is the upstream HTTP request a REST-to-MCP tool call
// would send (the dry run). Header names are canonical.
type RenderedRequest struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// ToolResult is the MCP result of a tool call, reduced to plain data.
type ToolResult struct {
	// Content is the result's content blocks as MCP encodes them
	// ({"type":"text","text":…}, {"type":"image",…}).
	Content json.RawMessage `json:"content"`
	// StructuredContent is the structured result, when the tool has an
	// output schema.
	StructuredContent json.RawMessage `json:"structuredContent,omitempty"`
	// IsError reports a failure the model should see (for example an
	// upstream status ≥ 400).
	IsError bool `json:"isError"`
}

// ToolProvider is implemented by mcp-server instances. Methods are safe for
// concurrent use; ctx bounds any upstream call.
type ToolProvider interface {
	// Tools lists the tools clients may see (after allowTools). For an
	// mcp-proxy server it asks the upstream server.
	Tools(ctx context.Context) ([]ToolInfo, error)
	// RenderTool builds the upstream request of a call without sending it.
	RenderTool(ctx context.Context, name string, args map[string]any) (*RenderedRequest, error)
	// CallTool runs a tool as a client's tools/call would, without auth or
	// rate limit (the admin API has its own).
	CallTool(ctx context.Context, name string, args map[string]any) (*ToolResult, error)
}

// SessionCounter is implemented by mcp-server instances.
type SessionCounter interface {
	// ActiveSessions returns the MCP sessions this instance holds now, by
	// transport ("streamable", "sse").
	ActiveSessions() map[string]int
}

// MCPStatus is the health of one MCP server instance.
type MCPStatus struct {
	// Name is the MCP server's name.
	Name string `json:"name"`
	// Type is "rest" or "mcp-proxy".
	Type string `json:"type"`
	// Tools is the number of tools clients see (for mcp-proxy, as of the
	// last successful upstream listing; -1 before any).
	Tools int `json:"tools"`
	// Sessions is the number of sessions this instance holds.
	Sessions int `json:"sessions"`
	// LastError is the last serving error (upstream unreachable, Redis
	// down…), empty when none happened since start.
	LastError string `json:"lastError,omitempty"`
	// LastErrorAt is when LastError happened.
	LastErrorAt time.Time `json:"lastErrorAt,omitzero"`
	// Warnings are what the definition does that loads only for
	// compatibility (a field Higress ignores, a type alias, an argument
	// declared twice), each naming the field.
	Warnings []ConfigWarning `json:"warnings,omitempty"`
}

// ConfigWarning is a config value that was accepted but deserves a look,
// named by its JSON path.
type ConfigWarning struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// StatusReporter is implemented by mcp-server instances for health.
type StatusReporter interface {
	MCPStatus() MCPStatus
}

type consumerKey struct{}

// WithConsumer returns ctx carrying the consumer an authentication plugin
// (key-auth) identified. Plugins later in the chain read it with
// ConsumerFromContext; a client cannot forge it with a header.
func WithConsumer(ctx context.Context, consumer string) context.Context {
	return context.WithValue(ctx, consumerKey{}, consumer)
}

// ConsumerFromContext returns the consumer set by WithConsumer.
func ConsumerFromContext(ctx context.Context) (string, bool) {
	c, ok := ctx.Value(consumerKey{}).(string)
	return c, ok && c != ""
}
