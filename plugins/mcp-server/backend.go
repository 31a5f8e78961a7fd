package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/mcpproxy"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/restmcp"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// backend serves what is behind the protocol: the REST tools of a rest
// server (restmcp) or the upstream MCP server of an mcp-proxy (mcpproxy).
// The front door, the transports, the sessions and the SDK server are the
// same for both.
type backend interface {
	// options sets the SDK server's capabilities and handlers.
	options(*mcp.ServerOptions)
	// register adds the backend's tools to a new SDK server.
	register(*mcp.Server) error
	// handle serves one client message after the SDK decoded it; next is
	// the SDK's own handling. s is nil for stateless requests.
	handle(ctx context.Context, s *localSession, method string, req mcp.Request, next mcp.MethodHandler) (mcp.Result, error)
	// allows reports whether clients may see and call tool name.
	allows(name string) bool
	// toolCount is the number of tools clients see (-1: not known yet).
	toolCount() int
	// tools and callTool serve the admin API (pluginapi.ToolProvider).
	tools(ctx context.Context) ([]pluginapi.ToolInfo, error)
	callTool(ctx context.Context, name string, args map[string]any) (*mcp.CallToolResult, error)
	// stateful reports that the backend keeps state per client session
	// (an upstream session that may send the client requests): such a
	// session is rebuilt before it ends, so that it ends upstream too, and
	// the client's answers go to the instance that asked.
	stateful() bool
	// endSession prepares the end for good of s (stateful backends).
	endSession(ctx context.Context, s *localSession) error
	close()
}

// restTools runs REST-to-MCP tools: restmcp renders and sends the
// upstream request with the host's shared client.
type restTools struct {
	in   *instance
	rest *restmcp.Server
}

func (b *restTools) options(o *mcp.ServerOptions) {
	o.Capabilities = &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}}
}

// callContext makes the context of one fast call: the deadline restmcp
// gives a call with the host's client, so that the call makes none.
func (b *restTools) callContext(parent context.Context) (context.Context, context.CancelFunc) {
	return b.rest.CallContext(parent, b.in.host.HTTPClient())
}

func (b *restTools) register(s *mcp.Server) (err error) {
	defer func() {
		// AddTool panics on a schema it cannot use.
		if p := recover(); p != nil {
			err = fmt.Errorf("register tools of %q: %v", b.in.name, p)
		}
	}()
	for _, t := range b.rest.Tools() {
		tool := &mcp.Tool{Name: t.Name, Description: t.Description, InputSchema: t.InputSchema}
		if t.OutputSchema != nil {
			tool.OutputSchema = t.OutputSchema
		}
		s.AddTool(tool, b.toolHandler(t.Name))
	}
	return nil
}

func (b *restTools) handle(ctx context.Context, _ *localSession, method string, req mcp.Request, next mcp.MethodHandler) (mcp.Result, error) {
	return next(ctx, method, req)
}

func (b *restTools) allows(name string) bool {
	_, ok := b.rest.Tool(name)
	return ok
}

func (b *restTools) toolCount() int { return len(b.rest.Tools()) }

func (b *restTools) stateful() bool { return false }

func (b *restTools) endSession(context.Context, *localSession) error { return nil }

func (b *restTools) close() {}

// toolHandler is the SDK handler of REST tool name.
func (b *restTools) toolHandler(name string) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return b.call(ctx, name, req.Params.Arguments, extraHeader(req.Extra))
	}
}

// call runs REST tool name with the raw arguments of a tools/call whose
// HTTP request had header h. The SDK path (toolHandler) and the fast path
// both call tools through it.
func (b *restTools) call(ctx context.Context, name string, rawArgs json.RawMessage, h http.Header) (*mcp.CallToolResult, error) {
	args, err := decodeArgs(rawArgs)
	if err != nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: err.Error()}
	}
	var in *http.Request
	if b.rest.UsesRequest(name) {
		in = b.in.incomingRequest(h)
	}
	res, err := b.rest.Call(ctx, b.in.host.HTTPClient(), name, args, in)
	if err != nil {
		if errors.Is(err, restmcp.ErrInvalidArguments) || errors.Is(err, restmcp.ErrUnknownTool) {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: err.Error()}
		}
		return nil, err
	}
	return callResult(res), nil
}

func (b *restTools) tools(context.Context) ([]pluginapi.ToolInfo, error) {
	specs := b.rest.Tools()
	out := make([]pluginapi.ToolInfo, len(specs))
	for i, t := range specs {
		out[i] = pluginapi.ToolInfo{Name: t.Name, Description: t.Description, InputSchema: t.InputSchema, OutputSchema: t.OutputSchema}
	}
	return out, nil
}

func (b *restTools) callTool(ctx context.Context, name string, args map[string]any) (*mcp.CallToolResult, error) {
	r, err := b.rest.Call(ctx, b.in.host.HTTPClient(), name, args, nil)
	if err != nil {
		return nil, toolProviderError(err)
	}
	return callResult(r), nil
}

var errNotJSONObject = errors.New("arguments must be a JSON object")

func decodeArgs(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return map[string]any{}, nil
	}
	if args, ok := decodeFlatArgs(raw); ok {
		return args, nil
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

// decodeFlatArgs decodes the usual arguments, an object of strings
// without escapes, numbers, booleans and nulls, to what json.Unmarshal
// makes of them, without its reflection; it reports false for anything
// else, which json.Unmarshal decodes.
func decodeFlatArgs(raw json.RawMessage) (map[string]any, bool) {
	if !utf8.Valid(raw) || !json.Valid(raw) {
		return nil, false
	}
	args := make(map[string]any, 4)
	ok := members(raw, func(key string, v []byte) bool {
		switch v[0] {
		case '"':
			if bytes.IndexByte(v, '\\') >= 0 {
				return false
			}
			args[key] = string(v[1 : len(v)-1])
		case 't':
			args[key] = true
		case 'f':
			args[key] = false
		case 'n':
			args[key] = nil
		case '{', '[':
			return false
		default:
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil {
				return false
			}
			args[key] = f
		}
		return true
	})
	return args, ok
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

// proxied forwards to an upstream MCP server (mcpproxy).
type proxied struct {
	p *mcpproxy.Proxy
}

func (b *proxied) options(o *mcp.ServerOptions) {
	o.Capabilities = &mcp.ServerCapabilities{}
	o.SubscribeHandler = b.p.Subscribe
	o.UnsubscribeHandler = b.p.Unsubscribe
}

func (b *proxied) register(s *mcp.Server) error { return b.p.Register(s) }

func (b *proxied) handle(ctx context.Context, s *localSession, method string, req mcp.Request, next mcp.MethodHandler) (mcp.Result, error) {
	return b.p.Handle(ctx, proxySession(s), method, req, next)
}

func (b *proxied) allows(name string) bool { return b.p.Allowed(name) }

func (b *proxied) toolCount() int { return b.p.ToolCount() }

func (b *proxied) stateful() bool { return true }

func (b *proxied) endSession(ctx context.Context, s *localSession) error {
	return b.p.Resume(ctx, s)
}

func (b *proxied) close() { b.p.Close() }

func (b *proxied) tools(ctx context.Context) ([]pluginapi.ToolInfo, error) { return b.p.Tools(ctx) }

func (b *proxied) callTool(ctx context.Context, name string, args map[string]any) (*mcp.CallToolResult, error) {
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", pluginapi.ErrInvalidArguments, err)
	}
	if !b.p.Allowed(name) {
		return nil, fmt.Errorf("%w %q", pluginapi.ErrUnknownTool, name)
	}
	return b.p.CallShared(ctx, &mcp.CallToolParams{Name: name, Arguments: json.RawMessage(raw)})
}

// proxySession is s as the proxy sees it: a nil interface for no session.
func proxySession(s *localSession) mcpproxy.Session {
	if s == nil {
		return nil
	}
	return s
}

// Tools implements pluginapi.ToolProvider.
func (in *instance) Tools(ctx context.Context) ([]pluginapi.ToolInfo, error) {
	return in.backend.tools(ctx)
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
	res, err := in.backend.callTool(ctx, name, args)
	if err != nil {
		return nil, err
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

var (
	_ pluginapi.ToolProvider = (*instance)(nil)
	_ backend                = (*restTools)(nil)
	_ backend                = (*proxied)(nil)
)
