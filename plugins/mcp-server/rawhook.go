package main

import (
	"context"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/mcpproxy"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/rawrpc"
)

// The raw hook of mcp-proxy servers (issue #10 §4): what a client sends to
// a session reaches the upstream as written, and what the upstream sends
// reaches the client as written, except what the gateway needs to
// understand (initialize, ping, logging/setLevel, cancellation, roots).
// The hook rewrites a client's messages before the SDK server decodes
// them (mcpproxy.Proxy.Intake): calls become raw calls of one custom
// method, which the SDK frames as any other call — so session lookup,
// auth, allowTools (guardCall), limits, metrics, the event store,
// resumption and the handoff between instances are the code every other
// message goes through — and which the receiving middleware serves under
// the real method (rawMethod).

// rawIntake passes the POST body of a client of session s through the
// raw hook of an mcp-proxy server: it returns the body the SDK server
// gets, nil when nothing is left for it. Other servers get body as is.
func (in *instance) rawIntake(ctx context.Context, s *localSession, body []byte) []byte {
	if b, ok := in.backend.(*proxied); ok {
		return b.p.Intake(ctx, s, body)
	}
	return body
}

// rawIntakeMessage is rawIntake for one message of a legacy SSE session,
// changed in place; it reports true when the message was served (sent
// upstream) and the SDK server must not get it.
func (in *instance) rawIntakeMessage(s *localSession, msg jsonrpc.Message) bool {
	if b, ok := in.backend.(*proxied); ok {
		return b.p.IntakeMessage(s, msg)
	}
	return false
}

// rawMethod is the method a message is served as: the real method of a
// raw call, else method.
func rawMethod(method string, req mcp.Request) string {
	if rp, ok := req.GetParams().(*rawrpc.Params); ok && method == rawrpc.Method {
		return rp.Method
	}
	return method
}

// callName returns the tool a tools/call (decoded by the SDK, or raw)
// names; ok is false for neither, err set for a raw call that names no
// single tool.
func callName(req mcp.Request) (name string, ok bool, err error) {
	switch p := req.GetParams().(type) {
	case *mcp.CallToolParamsRaw:
		if p == nil {
			return "", false, nil
		}
		return p.Name, true, nil
	case *rawrpc.Params:
		name, err := mcpproxy.CallName(p)
		return name, true, err
	}
	return "", false, nil
}

// negotiatedVersion returns the protocol version of an initialize result
// (decoded by the SDK, or an mcp-proxy upstream's as written).
func negotiatedVersion(res mcp.Result) (string, bool) {
	switch r := res.(type) {
	case *mcp.InitializeResult:
		if r == nil {
			return "", false
		}
		return r.ProtocolVersion, true
	case *rawrpc.Result:
		var v string
		return v, r.Member("protocolVersion", &v) == nil && v != ""
	}
	return "", false
}
