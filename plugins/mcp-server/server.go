package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/front"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/mcpproxy"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/rawrpc"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/session"
)

// buildServer builds the SDK server of this definition: REST tools as MCP
// tools, or the forwarding of an mcp-proxy, wrapped in the middleware that
// records session state, narrows tools and limits calls. sessionID, when
// set, gives the id of the next session (see rebuild).
func (in *instance) buildServer(sessionID func() string) (*mcp.Server, error) {
	opts := &mcp.ServerOptions{Logger: sdkLogger(in.logger), GetSessionID: sessionID}
	in.backend.options(opts)
	s := mcp.NewServer(&mcp.Implementation{Name: in.name, Version: pluginVersion}, opts)
	if err := in.backend.register(s); err != nil {
		return nil, err
	}
	s.AddReceivingMiddleware(in.receive)
	s.AddSendingMiddleware(mcpproxy.Forward)
	return s, nil
}

// receive is the receiving middleware: it sees every client message after
// the SDK decoded it.
func (in *instance) receive(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		s := sessionFrom(ctx)
		method = rawMethod(method, req)
		switch method {
		case "tools/call":
			return in.callTool(ctx, s, req, next)
		case "tools/list":
			res, err := in.dispatch(ctx, s, method, req, next)
			if err != nil {
				return nil, err
			}
			narrow := in.narrowing(s, extraHeader(req.GetExtra()))
			switch r := res.(type) {
			case *mcp.ListToolsResult:
				r.Tools = slices.DeleteFunc(r.Tools, func(t *mcp.Tool) bool { return !narrow.allows(t.Name) })
			case *rawrpc.Result: // an mcp-proxy upstream's, as it wrote it
				if _, err := r.FilterTools(func(name string) (bool, string) { return narrow.allows(name), "" }); err != nil {
					return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "tools/list: " + err.Error()}
				}
			}
			return res, nil
		}
		if method == "initialize" && s != nil && s.transport == session.TransportStreamable {
			if ss, ok := req.GetSession().(*mcp.ServerSession); ok {
				s.bind(ss)
			}
		}
		res, err := in.dispatch(ctx, s, method, req, next)
		if err != nil || s == nil || s.transport != session.TransportStreamable || front.IsReplay(req) {
			return res, err
		}
		if err := in.recordState(ctx, s, method, req, res); err != nil {
			return nil, err
		}
		if method == "initialize" {
			// Registered before the answer goes out, so that the client's
			// next request finds the session.
			in.addSession(s)
		}
		return res, nil
	}
}

func (in *instance) dispatch(ctx context.Context, s *localSession, method string, req mcp.Request, next mcp.MethodHandler) (mcp.Result, error) {
	return in.backend.handle(ctx, s, method, req, next)
}

// recordState keeps the registry's copy of the session state current, so
// that another instance can rebuild the session.
func (in *instance) recordState(ctx context.Context, s *localSession, method string, req mcp.Request, res mcp.Result) error {
	switch method {
	case "initialize":
		params, _ := req.GetParams().(*mcp.InitializeParams)
		version, ok := negotiatedVersion(res)
		if params == nil || !ok {
			return nil
		}
		err := s.Update(ctx, func(r *session.Record) {
			r.State = &mcp.ServerSessionState{InitializeParams: params, NegotiatedProtocolVersion: version}
		})
		if err != nil {
			s.initFailed.Store(true)
			return &jsonrpc.Error{Code: front.CodeUnavailable, Message: err.Error()}
		}
	case "notifications/initialized":
		_ = s.Update(ctx, func(r *session.Record) {
			if r.State != nil {
				// A new State: copies of the record (record()) share the old one.
				st := *r.State
				st.InitializedParams = &mcp.InitializedParams{}
				r.State = &st
			}
		})
	case "logging/setLevel":
		if p, ok := req.GetParams().(*mcp.SetLoggingLevelParams); ok {
			_ = s.Update(ctx, func(r *session.Record) {
				if r.State != nil {
					st := *r.State
					st.LogLevel = p.Level
					r.State = &st
				}
			})
		}
	}
	return nil
}

// toolNarrowing is the set of tools the allow-tools headers leave; nil
// sets mean no narrowing.
type toolNarrowing struct {
	in    *instance
	lists [][]string
}

func (n toolNarrowing) allows(name string) bool {
	if !n.in.backend.allows(name) {
		return false
	}
	for _, l := range n.lists {
		if !slices.Contains(l, name) {
			return false
		}
	}
	return true
}

func splitTools(v string) []string {
	var out []string
	for part := range strings.SplitSeq(v, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// narrowing combines the allow-tools header of the session's first
// request and of this request.
func (in *instance) narrowing(s *localSession, h http.Header) toolNarrowing {
	n := toolNarrowing{in: in}
	if s != nil {
		if v := s.Record().AllowTools; v != "" {
			n.lists = append(n.lists, splitTools(v))
		}
	}
	if h != nil {
		if v := h.Get(front.AllowToolsHeader); v != "" {
			n.lists = append(n.lists, splitTools(v))
		}
	}
	return n
}

// callTool is the SDK path of tools/call: guardCall around the backend.
func (in *instance) callTool(ctx context.Context, s *localSession, req mcp.Request, next mcp.MethodHandler) (mcp.Result, error) {
	name, ok, err := callName(req)
	if err != nil {
		return nil, err
	}
	if !ok {
		return next(ctx, "tools/call", req)
	}
	return in.guardCall(ctx, s, name, extraHeader(req.GetExtra()), func(ctx context.Context) (mcp.Result, error) {
		return in.dispatch(ctx, s, "tools/call", req, next)
	})
}

func extraHeader(e *mcp.RequestExtra) http.Header {
	if e == nil {
		return nil
	}
	return e.Header
}

// guardCall checks that tool name may be called (allowTools and the
// allow-tools headers of the session and of the request, whose header is
// h), counts the call against the consumer's rate limit, runs it and
// records metrics. Both the SDK path and the fast path (fastpath.go) call
// tools through it.
func (in *instance) guardCall(ctx context.Context, s *localSession, name string, h http.Header, run func(context.Context) (mcp.Result, error)) (mcp.Result, error) {
	start := time.Now()
	if !in.narrowing(s, h).allows(name) {
		in.metrics.observeCall(in.name, "unknown", "denied", 0)
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown tool %q", name)}
	}
	if in.limiter != nil {
		consumer := front.IdentityFrom(ctx).Consumer
		d, err := in.limiter.Allow(ctx, in.name, consumer)
		if err != nil {
			in.noteError(err)
			in.metrics.observeCall(in.name, name, "error", 0)
			return nil, &jsonrpc.Error{Code: front.CodeUnavailable, Message: "rate limit counter unavailable: " + err.Error()}
		}
		if !d.Allowed {
			in.metrics.observeCall(in.name, name, "rate_limited", 0)
			who := consumer
			if who == "" {
				who = "anonymous clients"
			} else {
				who = "consumer " + who
			}
			data, _ := json.Marshal(map[string]any{"retryAfterSeconds": int(d.RetryAfter.Round(time.Second) / time.Second)})
			return nil, &jsonrpc.Error{
				Code: front.CodeRateLimited,
				Message: fmt.Sprintf("rate limit exceeded: %s may make %d tool calls per minute on %q; retry in %s",
					who, d.Limit, in.name, d.RetryAfter.Round(time.Second)),
				Data: data,
			}
		}
	}
	res, err := run(ctx)
	outcome := "ok"
	if err != nil {
		outcome = "error"
	} else if isToolError(res) {
		outcome = "tool_error"
	}
	in.metrics.observeCall(in.name, name, outcome, time.Since(start))
	return res, err
}

// isToolError reports whether a tools/call result says the tool failed.
func isToolError(res mcp.Result) bool {
	switch r := res.(type) {
	case *mcp.CallToolResult:
		return r != nil && r.IsError
	case *rawrpc.Result: // an mcp-proxy upstream's, as it wrote it
		var isError bool
		_ = r.Member("isError", &isError)
		return isError
	}
	return false
}

// incomingRequest rebuilds enough of the client's HTTP request for tool
// templates and passthrough credentials.
func (in *instance) incomingRequest(h http.Header) *http.Request {
	r := &http.Request{Method: http.MethodPost, Header: http.Header{}}
	if h != nil {
		r.Header = h.Clone()
	}
	r.RemoteAddr = r.Header.Get(front.PeerHeader)
	r.Header.Del(front.PeerHeader)
	if !in.auth.Passthrough() {
		in.auth.StripCredentials(r.Header)
	}
	return r
}
