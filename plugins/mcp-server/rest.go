package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/restmcp"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// restToolHandler runs a REST-to-MCP tool: restmcp renders and sends the
// upstream request with the host's shared client.
func (in *instance) restToolHandler(name string) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		args, err := decodeArgs(req.Params.Arguments)
		if err != nil {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: err.Error()}
		}
		res, err := in.rest.Call(ctx, in.host.HTTPClient(), name, args, in.incomingRequest(req.Extra))
		if err != nil {
			if errors.Is(err, restmcp.ErrInvalidArguments) || errors.Is(err, restmcp.ErrUnknownTool) {
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: err.Error()}
			}
			return nil, err
		}
		return callResult(res), nil
	}
}

func decodeArgs(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return map[string]any{}, nil
	}
	var args map[string]any
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, fmt.Errorf("%w: %v", errNotJSONObject, err)
	}
	if args == nil {
		args = map[string]any{}
	}
	return args, nil
}

// callResult turns a restmcp result into an MCP result.
func callResult(r *restmcp.CallResult) *mcp.CallToolResult {
	out := &mcp.CallToolResult{IsError: r.IsError}
	if r.ImageData != nil {
		out.Content = []mcp.Content{&mcp.ImageContent{Data: r.ImageData, MIMEType: r.ImageMIMEType}}
	} else {
		out.Content = []mcp.Content{&mcp.TextContent{Text: r.Text}}
	}
	if r.Structured != nil && !r.IsError {
		out.StructuredContent = r.Structured
	}
	return out
}

// Tools implements pluginapi.ToolProvider.
func (in *instance) Tools(ctx context.Context) ([]pluginapi.ToolInfo, error) {
	if in.proxy != nil {
		return in.proxy.tools(ctx)
	}
	specs := in.rest.Tools()
	out := make([]pluginapi.ToolInfo, len(specs))
	for i, t := range specs {
		out[i] = pluginapi.ToolInfo{Name: t.Name, Description: t.Description, InputSchema: t.InputSchema, OutputSchema: t.OutputSchema}
	}
	return out, nil
}

// RenderTool implements pluginapi.ToolProvider.
func (in *instance) RenderTool(_ context.Context, name string, args map[string]any) (*pluginapi.RenderedRequest, error) {
	r, err := in.rest.Render(name, args, nil)
	if err != nil {
		return nil, toolProviderError(err)
	}
	return &pluginapi.RenderedRequest{Method: r.Method, URL: r.URL, Headers: r.Headers, Body: r.Body}, nil
}

// CallTool implements pluginapi.ToolProvider.
func (in *instance) CallTool(ctx context.Context, name string, args map[string]any) (*pluginapi.ToolResult, error) {
	var res *mcp.CallToolResult
	if in.proxy != nil {
		raw, err := json.Marshal(args)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", pluginapi.ErrInvalidArguments, err)
		}
		if !in.proxy.allowed(name) {
			return nil, fmt.Errorf("%w %q", pluginapi.ErrUnknownTool, name)
		}
		if res, err = in.proxy.callShared(ctx, &mcp.CallToolParams{Name: name, Arguments: json.RawMessage(raw)}); err != nil {
			return nil, err
		}
	} else {
		r, err := in.rest.Call(ctx, in.host.HTTPClient(), name, args, nil)
		if err != nil {
			return nil, toolProviderError(err)
		}
		res = callResult(r)
	}
	return toolResult(res)
}

func toolResult(res *mcp.CallToolResult) (*pluginapi.ToolResult, error) {
	content, err := json.Marshal(res.Content)
	if err != nil {
		return nil, fmt.Errorf("encode tool result: %w", err)
	}
	out := &pluginapi.ToolResult{Content: content, IsError: res.IsError}
	if res.StructuredContent != nil {
		if out.StructuredContent, err = json.Marshal(res.StructuredContent); err != nil {
			return nil, fmt.Errorf("encode structured content: %w", err)
		}
	}
	return out, nil
}

// toolProviderError maps restmcp errors to the pluginapi sentinels.
func toolProviderError(err error) error {
	switch {
	case errors.Is(err, restmcp.ErrUnknownTool):
		return fmt.Errorf("%w: %w", pluginapi.ErrUnknownTool, err)
	case errors.Is(err, restmcp.ErrInvalidArguments):
		return fmt.Errorf("%w: %w", pluginapi.ErrInvalidArguments, err)
	case errors.Is(err, restmcp.ErrNoRequest), errors.Is(err, restmcp.ErrNotREST):
		return fmt.Errorf("%w: %w", pluginapi.ErrNotRenderable, err)
	}
	return err
}

var _ pluginapi.ToolProvider = (*instance)(nil)
