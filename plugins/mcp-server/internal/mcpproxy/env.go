// Package mcpproxy is the mcp-proxy backend: it fronts an existing MCP
// server (Streamable HTTP or legacy SSE upstream) with one upstream client
// session per client session, resumable on any gateway instance through the
// session registry.
package mcpproxy

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/rawrpc"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/session"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/restmcp"
)

// Session is the client session an upstream session serves.
type Session interface {
	// ID is the session id.
	ID() string
	// Streamable reports a Streamable HTTP session (else legacy SSE).
	Streamable() bool
	// Record returns a copy of the session's registry record.
	Record() session.Record
	// Update changes the record and writes it to the registry.
	Update(ctx context.Context, fn func(*session.Record)) error
	// ServerSession is the SDK session serving the client, nil until
	// connected or once closed.
	ServerSession() *mcp.ServerSession
	// Upstream is where the proxy keeps the session's upstream session.
	Upstream() *Slot
}

// Slot holds the upstream session of one client session. The zero value
// is empty.
type Slot struct {
	mu sync.Mutex
	up *upstream

	initMu     sync.Mutex
	initParams json.RawMessage // the client's initialize params, as written

	// Notifications of a legacy SSE client waiting to go upstream, in
	// order (see IntakeMessage); sending is set while a goroutine sends
	// them.
	notesMu sync.Mutex
	notes   []note
	sending bool
}

// note is a client notification for the upstream.
type note struct {
	method string
	params json.RawMessage
}

// setInitParams keeps the params of the client's initialize as written.
func (sl *Slot) setInitParams(params json.RawMessage) {
	sl.initMu.Lock()
	sl.initParams = params
	sl.initMu.Unlock()
}

// initParamsOf returns the params of the client's initialize of s as
// written: those Intake saw, or those of the session's record.
func (sl *Slot) initParamsOf(s Session) json.RawMessage {
	sl.initMu.Lock()
	p := sl.initParams
	sl.initMu.Unlock()
	if p == nil {
		p = s.Record().InitializeParams
	}
	return p
}

// Close ends the upstream session held in the slot, if any: with global
// the upstream forgets it; otherwise it stays for another instance to
// resume.
func (sl *Slot) Close(global bool) {
	sl.mu.Lock()
	up := sl.up
	sl.up = nil
	sl.mu.Unlock()
	if up != nil {
		up.close(global)
	}
}

// Env is what the proxy needs from the plugin instance serving it.
type Env struct {
	// Ctx ends when the instance stops; upstream connections live within it.
	Ctx context.Context
	// Logger logs with the upstream URL's credentials masked; SDKLogger is
	// the quieter one given to the SDK client.
	Logger, SDKLogger *slog.Logger
	// Redactor masks the upstream URL's credentials in messages.
	Redactor *restmcp.Redactor
	// HTTPClient is the host's shared client (its transport is used).
	HTTPClient func() *http.Client
	// Registry records which instance awaits a client's answers.
	Registry *session.Registry
	// Owner names this plugin instance among all others.
	Owner string
	// Version is the plugin's version, announced upstream.
	Version string
	// AllowsTool applies the definition's allowTools.
	AllowsTool func(name string) bool
	// NoteError records a serving error for health.
	NoteError func(error)
	// Push hands a notification for the standalone stream of s to the
	// instance holding it, when another one does, and reports whether it
	// took the message.
	Push func(s Session, method string, params any) bool
	// SessionFrom returns the session a handler's context belongs to (nil
	// for stateless requests).
	SessionFrom func(ctx context.Context) Session
}

// Resume makes sure the upstream session of s is connected (resuming it
// on an instance that did not create it), so that ending s ends it
// upstream too.
func (p *Proxy) Resume(ctx context.Context, s Session) error {
	_, err := p.upstreamFor(ctx, s)
	return err
}

// NotifyAs sends a notification of method on ss, built by build: the SDK
// has no method to send arbitrary notifications from a server session, so
// it sends a progress notification that Forward turns into this one.
// Without a request in ctx, the SDK sends it on the standalone stream.
func NotifyAs(ctx context.Context, ss *mcp.ServerSession, method string, build func(*mcp.ServerSession) mcp.Request) error {
	f := &forwarded{method: method, build: build}
	return ss.NotifyProgress(context.WithValue(ctx, forwardKey{}, f), &mcp.ProgressNotificationParams{})
}

// NotifyRaw sends a notification of method on ss with params as written
// (see NotifyAs).
func NotifyRaw(ctx context.Context, ss *mcp.ServerSession, method string, params json.RawMessage) error {
	return NotifyAs(ctx, ss, method, func(ss *mcp.ServerSession) mcp.Request {
		return &mcp.ServerRequest[*rawrpc.AsIs]{Session: ss, Params: &rawrpc.AsIs{JSON: params}}
	})
}

// redactErr returns err with the upstream URL's credentials masked in its
// text; a JSON-RPC error keeps its code and data.
func (p *Proxy) redactErr(err error) error {
	r := p.env.Redactor
	if err == nil || r.Empty() {
		return err
	}
	var we *jsonrpc.Error
	if errors.As(err, &we) {
		c := *we
		c.Message = r.Redact(c.Message)
		return &c
	}
	msg := err.Error()
	if red := r.Redact(msg); red != msg {
		return errors.New(red)
	}
	return err
}
