package mcpproxy

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/front"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/rawrpc"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/session"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/restmcp"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// upstreamProtocol is the version the proxy asks its upstream for: the
// newest one with sessions, so that server-to-client requests work.
const upstreamProtocol = "2025-11-25"

// Proxy fronts an existing MCP server (type mcp-proxy). Each client session
// has its own upstream session, whose id lives in the client session's
// registry record; stateless requests and the admin API share one upstream
// session per instance.
type Proxy struct {
	env Env
	url string
	// shown is url with its credentials masked, for messages.
	shown     string
	sse       bool
	overrides map[string]string // the tools allowlist: name → description override
	timeout   time.Duration

	sharedMu sync.Mutex
	shared   *upstream

	toolsSeen atomic.Int64
	wg        sync.WaitGroup
}

// New returns the proxy of definition d (type mcp-proxy).
func New(d *restmcp.Definition, env Env) (*Proxy, error) {
	if d.Server.MCPServerURL == "" {
		return nil, &pluginapi.ConfigError{Field: "server.mcpServerURL", Message: "required for an mcp-proxy server: the upstream MCP endpoint"}
	}
	p := &Proxy{
		env:   env,
		url:   d.Server.MCPServerURL,
		shown: restmcp.MaskURLCredentials(d.Server.MCPServerURL),
		sse:   d.Server.Transport == "sse",
	}
	if len(d.Tools) > 0 {
		p.overrides = make(map[string]string, len(d.Tools))
		for _, t := range d.Tools {
			p.overrides[t.Name] = t.Description
		}
	}
	if d.Server.Timeout > 0 {
		p.timeout = time.Duration(d.Server.Timeout) * time.Millisecond
	}
	p.toolsSeen.Store(-1)
	return p, nil
}

// Allowed reports whether clients may see and call an upstream tool.
func (p *Proxy) Allowed(name string) bool {
	if !p.env.AllowsTool(name) {
		return false
	}
	if p.overrides != nil {
		_, ok := p.overrides[name]
		return ok
	}
	return true
}

// ToolCount is the number of tools clients saw last (-1: not listed yet).
func (p *Proxy) ToolCount() int { return int(p.toolsSeen.Load()) }

// Close ends the shared upstream session and waits for background work.
func (p *Proxy) Close() {
	p.sharedMu.Lock()
	u := p.shared
	p.shared = nil
	p.sharedMu.Unlock()
	if u != nil {
		u.close(true)
	}
	p.wg.Wait()
}

// upstream is one upstream client session.
type upstream struct {
	p  *Proxy
	s  Session   // nil for the shared session
	rt *resumeRT // Streamable HTTP upstreams
	cs *mcp.ClientSession

	client  *mcp.Client
	roots   bool
	elicits bool               // the client answers elicitation requests
	samples bool               // the client answers sampling requests
	cancel  context.CancelFunc // ends the connection's context

	rootsMu  sync.Mutex
	rootURIs []string // the client's roots as last copied upstream

	dead atomic.Bool

	mu       sync.Mutex
	calls    []context.Context       // downstream requests in flight, oldest first
	progress map[any]context.Context // progress token → downstream request
	initID   json.RawMessage         // the id of the SDK client's initialize
	rawInit  json.RawMessage         // its result as written (legacy SSE upstreams)
}

// dial connects an upstream session for s (nil: the shared one). With
// resume, a Streamable HTTP upstream adopts the recorded session instead
// of starting one.
func (p *Proxy) dial(ctx context.Context, s Session, params *mcp.InitializeParams, resume *session.Record) (*upstream, error) {
	u := &upstream{p: p, s: s, progress: map[any]context.Context{}}
	impl := &mcp.Implementation{Name: "gatehouse", Version: p.env.Version}
	caps := &mcp.ClientCapabilities{}
	opts := &mcp.ClientOptions{Logger: p.env.SDKLogger, Capabilities: caps}
	if params != nil && params.ClientInfo != nil {
		ci := *params.ClientInfo
		impl = &ci
	}
	if s != nil {
		if params != nil && params.Capabilities != nil {
			dc := params.Capabilities
			if dc.Sampling != nil {
				sc := *dc.Sampling
				caps.Sampling = &sc
				u.samples = true
			}
			if dc.Elicitation != nil {
				ec := *dc.Elicitation
				caps.Elicitation = &ec
				u.elicits = true
			}
			if dc.RootsV2 != nil || dc.Roots.ListChanged {
				caps.RootsV2 = &mcp.RootCapabilities{ListChanged: true}
				u.roots = true
			}
		}
		// The upstream's notifications go to the client as written, before
		// the SDK client sees them (inboundRT).
	}
	u.client = mcp.NewClient(impl, opts)
	if err := rawrpc.Register(u.client); err != nil {
		return nil, fmt.Errorf("connect to upstream MCP server %s: %w", p.shown, err)
	}
	if s != nil {
		u.client.AddReceivingMiddleware(u.passRequests)
	}

	base := p.env.HTTPClient().Transport
	if base == nil {
		base = http.DefaultTransport
	}
	var t mcp.Transport
	var rt http.RoundTripper = base
	if !p.sse {
		u.rt = &resumeRT{base: base, changed: u.changed}
		if resume != nil && resume.UpstreamSessionID != "" {
			u.rt.resume(resume.UpstreamSessionID, resume.UpstreamInitRequest, resume.UpstreamInit)
		}
		rt = u.rt
	}
	var initParams json.RawMessage
	if s != nil {
		rt = &inboundRT{base: rt, u: u, keepIDs: !p.sse}
		if p.sse {
			rt = &initIDRT{base: rt, u: u}
		}
		initParams = upstreamInitParams(s.Upstream().initParamsOf(s))
	}
	// Raw calls (see rawrpc) become the real requests before anything
	// else sees them, and the initialize carries the client's params.
	rt = rawrpc.RT{Base: rt, Initialize: initParams}
	if p.sse {
		t = &mcp.SSEClientTransport{Endpoint: p.url, HTTPClient: &http.Client{Transport: rt, CheckRedirect: sameOriginRedirect}}
	} else {
		t = &mcp.StreamableClientTransport{Endpoint: p.url, HTTPClient: &http.Client{Transport: rt, CheckRedirect: sameOriginRedirect}}
	}
	// The connection outlives this request (a legacy SSE upstream keeps
	// the context of its GET): it ends with the instance or with close.
	connCtx, cancel := context.WithCancel(p.env.Ctx)
	u.cancel = cancel
	timer := time.AfterFunc(30*time.Second, cancel)
	stop := context.AfterFunc(ctx, cancel) // the client gave up on initialize
	cs, err := u.client.Connect(connCtx, t, &mcp.ClientSessionOptions{ProtocolVersion: upstreamProtocol})
	stop()
	if !timer.Stop() && err == nil {
		err = errors.New("initialize timed out after 30s")
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("connect to upstream MCP server %s: %w", p.shown, p.redactErr(err))
	}
	u.cs = cs
	if u.rt == nil && s != nil && resume == nil {
		// Legacy SSE upstreams cannot be resumed, but a rebuilt client
		// session still shows the upstream's capabilities.
		if data, err := json.Marshal(cs.InitializeResult()); err == nil {
			u.changed("", nil, data)
		}
	}
	return u, nil
}

// changed records a new upstream session in the client session's record.
func (u *upstream) changed(id string, initRequest []byte, initResult json.RawMessage) {
	if u.s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(u.p.env.Ctx, 5*time.Second)
	defer cancel()
	_ = u.s.Update(ctx, func(r *session.Record) {
		r.UpstreamSessionID = id
		r.UpstreamInitRequest = initRequest
		r.UpstreamInit = initResult
	})
}

// close ends the upstream session: with global the upstream forgets it;
// otherwise it stays for another instance to resume.
func (u *upstream) close(global bool) {
	if !global && u.rt != nil {
		u.rt.detach()
	}
	if u.cs != nil {
		_ = u.cs.Close()
	}
	if u.cancel != nil {
		u.cancel()
	}
}

// enter registers a downstream request in flight, so that what the
// upstream sends meanwhile (sampling, elicitation, progress, logs) goes to
// that request's stream. The returned func ends it.
func (u *upstream) enter(ctx context.Context, token any) func() {
	u.mu.Lock()
	u.calls = append(u.calls, ctx)
	if token != nil {
		u.progress[token] = ctx
	}
	u.mu.Unlock()
	return func() {
		u.mu.Lock()
		if i := slices.Index(u.calls, ctx); i >= 0 {
			u.calls = slices.Delete(u.calls, i, i+1)
		}
		if token != nil {
			delete(u.progress, token)
		}
		u.mu.Unlock()
	}
}

// related returns the context of the newest downstream request in flight,
// or a detached one (the standalone stream) and false when there is none.
func (u *upstream) related() (context.Context, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if n := len(u.calls); n > 0 {
		return u.calls[n-1], true
	}
	return context.Background(), false
}

type forwardKey struct{}

// forwarded is a notification to send to a client session as is; see
// Forward.
type forwarded struct {
	// via is the method the SDK was asked to send, which Forward
	// replaces: a request sent with placeholder params (see sendAsIs), or
	// when empty a progress notification.
	via    string
	method string
	build  func(*mcp.ServerSession) mcp.Request
}

// Forward is the sending middleware of every server: it turns the progress
// notifications that carry a forwarded message (see NotifyAs), and the
// requests sent with placeholder params (see sendAsIs), into that message.
func Forward(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if f, ok := ctx.Value(forwardKey{}).(*forwarded); ok && method == cmp.Or(f.via, "notifications/progress") {
			if ss, ok := req.GetSession().(*mcp.ServerSession); ok {
				return next(ctx, f.method, f.build(ss))
			}
		}
		return next(ctx, method, req)
	}
}

// downstream returns the client session and a context for a request the
// upstream makes: tied to the downstream request in flight, ended when the
// upstream gives up.
func (u *upstream) downstream(upCtx context.Context) (*mcp.ServerSession, context.Context, context.CancelFunc, error) {
	if u.s == nil {
		return nil, nil, nil, errors.New("no client session to forward to")
	}
	ss := u.s.ServerSession()
	if ss == nil {
		return nil, nil, nil, errors.New("client session not connected")
	}
	rctx, _ := u.related()
	ctx, cancel := context.WithCancel(rctx)
	stop := context.AfterFunc(upCtx, cancel)
	return ss, ctx, func() { stop(); cancel() }, nil
}

// awaitAnswer notes that this instance sends the client a request: its
// answer may be posted to another instance, which hands it over here.
func (u *upstream) awaitAnswer(ctx context.Context) {
	if s := u.s; s.Streamable() {
		if err := u.p.env.Registry.SetRequester(ctx, s.ID(), u.p.env.Owner); err != nil {
			u.p.env.NoteError(err)
		}
	}
}

// passRequests is the receiving middleware of the upstream client: the
// upstream's sampling and elicitation requests go to the client as the
// upstream wrote them (inboundRT tagged their params), and the client's
// answers go back as the client wrote them (Intake tagged them). The SDK's
// own handling would first check them against its reading of the spec (it
// refuses elicitation schemas that clients accept, such as titled
// multi-select enums) and re-encode them.
func (u *upstream) passRequests(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch r := req.(type) {
		case *mcp.CreateMessageWithToolsRequest:
			if u.samples && r.Params != nil {
				return u.sendAsIs(ctx, method, r.Params, func(ctx context.Context, ss *mcp.ServerSession) (mcp.Result, error) {
					return ss.CreateMessageWithTools(ctx, &mcp.CreateMessageWithToolsParams{})
				})
			}
		case *mcp.ElicitRequest:
			if u.elicits && r.Params != nil {
				return u.sendAsIs(ctx, method, r.Params, func(ctx context.Context, ss *mcp.ServerSession) (mcp.Result, error) {
					// The mode lets the SDK check the client's capabilities;
					// without a schema it does not check the answer against it.
					return ss.Elicit(ctx, &mcp.ElicitParams{Mode: r.Params.Mode, URL: r.Params.URL, ElicitationID: r.Params.ElicitationID})
				})
			}
		}
		return next(ctx, method, req)
	}
}

// sendAsIs sends the client a request of method with params as the
// upstream wrote them (see inboundRT), and returns the client's result as
// the client wrote it (see Intake): send makes the SDK send it with
// placeholder params, which Forward replaces. The SDK has no way to send a
// request it did not build, nor to return a result it did not decode.
func (u *upstream) sendAsIs(ctx context.Context, method string, params mcp.Params, send func(context.Context, *mcp.ServerSession) (mcp.Result, error)) (mcp.Result, error) {
	data, ok := rawrpc.Untag(params.GetMeta())
	if !ok {
		var err error
		if data, err = json.Marshal(params); err != nil {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("%s: %v", method, err)}
		}
	}
	ss, dctx, done, err := u.downstream(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	u.awaitAnswer(dctx)
	f := &forwarded{via: method, method: method, build: func(ss *mcp.ServerSession) mcp.Request {
		return &mcp.ServerRequest[*rawrpc.AsIs]{Session: ss, Params: &rawrpc.AsIs{JSON: data}}
	}}
	res, err := send(context.WithValue(dctx, forwardKey{}, f), ss)
	if err != nil {
		return nil, wireError(err)
	}
	if raw, ok := rawrpc.Untag(res.GetMeta()); ok {
		return &rawrpc.Result{JSON: raw}, nil
	}
	return res, nil
}

// syncRoots copies the client's roots to the upstream client.
func (u *upstream) syncRoots() {
	if !u.roots || u.s == nil {
		return
	}
	ss := u.s.ServerSession()
	if ss == nil {
		return
	}
	ctx, cancel := context.WithTimeout(u.p.env.Ctx, 30*time.Second)
	defer cancel()
	u.awaitAnswer(ctx)
	res, err := ss.ListRoots(ctx, nil)
	if err != nil {
		u.p.env.Logger.Debug("list client roots for the upstream", "session_id", u.s.ID(), "error", err)
		return
	}
	u.rootsMu.Lock()
	defer u.rootsMu.Unlock()
	u.client.RemoveRoots(u.rootURIs...)
	u.client.AddRoots(res.Roots...)
	u.rootURIs = u.rootURIs[:0]
	for _, r := range res.Roots {
		u.rootURIs = append(u.rootURIs, r.URI)
	}
}

// wireError returns the JSON-RPC error inside err, so that the peer sees
// the upstream's code and message unchanged.
func wireError(err error) error {
	if err == nil {
		return nil
	}
	var we *jsonrpc.Error
	if errors.As(err, &we) {
		return we
	}
	return err
}

// upstreamFor returns the upstream session for s, connecting (or, on
// another instance than the one that created it, resuming) it on first
// use.
func (p *Proxy) upstreamFor(ctx context.Context, s Session) (*upstream, error) {
	if s == nil {
		p.sharedMu.Lock()
		defer p.sharedMu.Unlock()
		if p.shared != nil && !p.shared.dead.Load() {
			return p.shared, nil
		}
		if p.shared != nil {
			p.shared.close(true)
		}
		u, err := p.dial(ctx, nil, nil, nil)
		if err != nil {
			return nil, err
		}
		p.shared = u
		return u, nil
	}
	slot := s.Upstream()
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if slot.up != nil && !slot.up.dead.Load() {
		return slot.up, nil
	}
	rec := s.Record()
	if old := slot.up; old != nil && old.rt != nil {
		// Resume what the broken connection last used.
		old.rt.mu.Lock()
		rec.UpstreamSessionID, rec.UpstreamInitRequest, rec.UpstreamInit = old.rt.sessionID, old.rt.initRequest, old.rt.initResult
		old.rt.mu.Unlock()
		old.close(false)
	}
	var params *mcp.InitializeParams
	if rec.State != nil {
		params = rec.State.InitializeParams
	}
	u, err := p.dial(ctx, s, params, &rec)
	if err != nil {
		return nil, err
	}
	slot.up = u
	return u, nil
}

// run calls fn on the upstream session of s, reconnecting once when the
// connection broke.
func (p *Proxy) run(ctx context.Context, s Session, token any, fn func(context.Context, *mcp.ClientSession) (mcp.Result, error)) (mcp.Result, error) {
	if p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	for attempt := 0; ; attempt++ {
		u, err := p.upstreamFor(ctx, s)
		if err != nil {
			p.env.NoteError(err)
			return nil, &jsonrpc.Error{Code: front.CodeUnavailable, Message: p.env.Redactor.Redact(err.Error())}
		}
		leave := u.enter(ctx, token)
		uctx, done := upstreamContext(ctx)
		res, err := fn(uctx, u.cs)
		done()
		leave()
		if err != nil && errors.Is(err, mcp.ErrConnectionClosed) && attempt == 0 && ctx.Err() == nil {
			u.dead.Store(true)
			continue
		}
		if err != nil && !isWire(err) && ctx.Err() == nil {
			p.env.NoteError(err)
		}
		return res, p.redactErr(wireError(err))
	}
}

// stripHopMeta removes the _meta keys that describe the client's own hop
// (SEP-2575: protocol version, client info and capabilities, log level):
// the upstream session has its own.
func stripHopMeta(p mcp.Params) {
	if v := reflect.ValueOf(p); v.Kind() == reflect.Pointer && v.IsNil() {
		return
	}
	m := p.GetMeta()
	for k := range m {
		if isHopMeta(k) {
			delete(m, k)
		}
	}
}

// upstreamContext returns a context for an upstream call that ends with
// ctx but carries none of its values: the SDK keeps the client's protocol
// version and request id in context values, which must not reach the
// upstream connection.
func upstreamContext(ctx context.Context) (context.Context, context.CancelFunc) {
	uctx, cancel := context.WithCancel(context.Background())
	if d, ok := ctx.Deadline(); ok {
		uctx, cancel = context.WithDeadline(context.Background(), d)
	}
	stop := context.AfterFunc(ctx, cancel)
	return uctx, func() { stop(); cancel() }
}

func isWire(err error) bool {
	var we *jsonrpc.Error
	return errors.As(err, &we)
}

// Handle forwards one client message of an mcp-proxy server.
func (p *Proxy) Handle(ctx context.Context, s Session, method string, req mcp.Request, next mcp.MethodHandler) (mcp.Result, error) {
	if rp, ok := req.GetParams().(*rawrpc.Params); ok {
		return p.handleRaw(ctx, s, rp)
	}
	if params := req.GetParams(); params != nil && method != "initialize" && method != "server/discover" {
		stripHopMeta(params)
	}
	switch method {
	case "initialize":
		if s == nil {
			return next(ctx, method, req)
		}
		if front.IsReplay(req) {
			// The upstream session exists: it is resumed on first use.
			res, err := next(ctx, method, req)
			var up mcp.InitializeResult
			if ir, ok := res.(*mcp.InitializeResult); ok && err == nil && json.Unmarshal(s.Record().UpstreamInit, &up) == nil {
				mirror(ir, &up)
			}
			return res, err
		}
		params, _ := req.GetParams().(*mcp.InitializeParams)
		u, err := p.dial(ctx, s, params, nil)
		if err != nil {
			p.env.NoteError(err)
			p.env.Logger.Warn("upstream MCP server unavailable", "upstream", p.shown, "error", err)
			return nil, &jsonrpc.Error{Code: front.CodeUnavailable, Message: p.env.Redactor.Redact(err.Error())}
		}
		slot := s.Upstream()
		slot.mu.Lock()
		old := slot.up
		slot.up = u
		slot.mu.Unlock()
		if old != nil {
			old.close(true)
		}
		res, err := next(ctx, method, req)
		if ir, ok := res.(*mcp.InitializeResult); ok && err == nil {
			if raw := u.initResult(ir.ProtocolVersion); raw != nil {
				return raw, nil
			}
			mirror(ir, u.cs.InitializeResult())
		}
		return res, err
	case "server/discover":
		res, err := next(ctx, method, req)
		if dr, ok := res.(*mcp.DiscoverResult); ok && err == nil {
			u, uerr := p.upstreamFor(ctx, nil)
			if uerr != nil {
				return nil, &jsonrpc.Error{Code: front.CodeUnavailable, Message: p.env.Redactor.Redact(uerr.Error())}
			}
			up := u.cs.InitializeResult()
			dr.Capabilities = up.Capabilities
			dr.Instructions = up.Instructions
		}
		return res, err
	case "notifications/initialized", "notifications/roots/list_changed":
		res, err := next(ctx, method, req)
		if s != nil && !front.IsReplay(req) {
			if u, uerr := p.upstreamFor(ctx, s); uerr == nil && u.roots {
				// Not inline: handlers of notifications run on the session's
				// read loop, which must go on to read the client's answer.
				p.wg.Go(u.syncRoots)
			}
		}
		return res, err
	case "notifications/progress":
		params, _ := req.GetParams().(*mcp.ProgressNotificationParams)
		if params == nil {
			return nil, nil
		}
		_, err := p.run(ctx, s, nil, func(ctx context.Context, cs *mcp.ClientSession) (mcp.Result, error) {
			return nil, cs.NotifyProgress(ctx, params)
		})
		return nil, err
	case "logging/setLevel":
		res, err := next(ctx, method, req)
		if err != nil {
			return res, err
		}
		params, _ := req.GetParams().(*mcp.SetLoggingLevelParams)
		if _, err := p.run(ctx, s, nil, func(ctx context.Context, cs *mcp.ClientSession) (mcp.Result, error) {
			return nil, cs.SetLoggingLevel(ctx, params)
		}); err != nil {
			return nil, err
		}
		return res, nil
	case "tools/list":
		params, _ := req.GetParams().(*mcp.ListToolsParams)
		res, err := p.pass(ctx, s, method, params, nil)
		if err != nil {
			return nil, err
		}
		return p.filterList(res, params == nil || params.Cursor == "")
	case "tools/call":
		raw, _ := req.GetParams().(*mcp.CallToolParamsRaw)
		if raw == nil {
			return next(ctx, method, req)
		}
		return p.pass(ctx, s, method, raw, raw.GetProgressToken())
	case "prompts/get":
		params, _ := req.GetParams().(*mcp.GetPromptParams)
		var token any
		if params != nil {
			token = params.GetProgressToken()
		}
		return p.pass(ctx, s, method, params, token)
	case "resources/list", "resources/templates/list", "resources/read", "prompts/list", "completion/complete":
		return p.pass(ctx, s, method, req.GetParams(), nil)
	}
	return next(ctx, method, req)
}

// filterList applies the allowlist to a tools/list result; first says
// the result is the first page.
func (p *Proxy) filterList(res *rawrpc.Result, first bool) (*rawrpc.Result, error) {
	n, err := res.FilterTools(func(name string) (bool, string) { return p.Allowed(name), p.overrides[name] })
	if err != nil {
		return nil, p.badUpstream(err)
	}
	var nextCursor string
	_ = res.Member("nextCursor", &nextCursor)
	if first && nextCursor == "" {
		p.toolsSeen.Store(int64(n))
	}
	return res, nil
}

// pass sends a client's request upstream and returns the upstream's result
// as it is (see rawrpc): the SDK's result types would drop what they do not
// know, refuse content types they do not know and check structured content
// against the tool's output schema. Params are the SDK's decoding of the
// client's (stateless requests; see handleRaw for the others).
func (p *Proxy) pass(ctx context.Context, s Session, method string, params mcp.Params, token any) (*rawrpc.Result, error) {
	var raw json.RawMessage
	if params != nil && !reflect.ValueOf(params).IsNil() {
		data, err := json.Marshal(params)
		if err != nil {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("%s: %v", method, err)}
		}
		raw = data
	}
	return p.passRaw(ctx, s, method, raw, token)
}

// passRaw sends a client's request upstream with params as written.
func (p *Proxy) passRaw(ctx context.Context, s Session, method string, raw json.RawMessage, token any) (*rawrpc.Result, error) {
	res, err := p.run(ctx, s, token, func(ctx context.Context, cs *mcp.ClientSession) (mcp.Result, error) {
		r, err := rawrpc.Call(ctx, cs, method, raw)
		if err != nil {
			return nil, err
		}
		return r, nil
	})
	if err != nil {
		return nil, err
	}
	return res.(*rawrpc.Result), nil
}

// badUpstream is the error for an upstream answer the proxy needs to read
// and cannot.
func (p *Proxy) badUpstream(err error) error {
	p.env.NoteError(err)
	return &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("upstream MCP server %s: %v", p.shown, p.redactErr(err))}
}

// mirror makes the client see the upstream's capabilities, instructions
// and identity.
func mirror(ir, up *mcp.InitializeResult) {
	if up == nil {
		return
	}
	if up.Capabilities != nil {
		ir.Capabilities = up.Capabilities
	}
	ir.Instructions = up.Instructions
	if up.ServerInfo != nil {
		ir.ServerInfo = up.ServerInfo
	}
}

// Subscribe is the server's SubscribeHandler: subscriptions go upstream.
func (p *Proxy) Subscribe(ctx context.Context, req *mcp.SubscribeRequest) error {
	_, err := p.run(ctx, p.env.SessionFrom(ctx), nil, func(ctx context.Context, cs *mcp.ClientSession) (mcp.Result, error) {
		return nil, cs.Subscribe(ctx, req.Params)
	})
	return err
}

// Unsubscribe is the server's UnsubscribeHandler.
func (p *Proxy) Unsubscribe(ctx context.Context, req *mcp.UnsubscribeRequest) error {
	_, err := p.run(ctx, p.env.SessionFrom(ctx), nil, func(ctx context.Context, cs *mcp.ClientSession) (mcp.Result, error) {
		return nil, cs.Unsubscribe(ctx, req.Params)
	})
	return err
}

// filterTools applies the allowlist and its description overrides.
func (p *Proxy) filterTools(tools []*mcp.Tool) []*mcp.Tool {
	out := make([]*mcp.Tool, 0, len(tools))
	for _, t := range tools {
		if !p.Allowed(t.Name) {
			continue
		}
		if d := p.overrides[t.Name]; d != "" {
			tc := *t
			tc.Description = d
			t = &tc
		}
		out = append(out, t)
	}
	return out
}

// Tools lists the upstream's tools for the admin API.
func (p *Proxy) Tools(ctx context.Context) ([]pluginapi.ToolInfo, error) {
	var out []pluginapi.ToolInfo
	params := &mcp.ListToolsParams{}
	for {
		res, err := p.run(ctx, nil, nil, func(ctx context.Context, cs *mcp.ClientSession) (mcp.Result, error) {
			return cs.ListTools(ctx, params)
		})
		if err != nil {
			return nil, err
		}
		lt := res.(*mcp.ListToolsResult)
		for _, t := range p.filterTools(lt.Tools) {
			ti := pluginapi.ToolInfo{Name: t.Name, Description: t.Description}
			ti.InputSchema, _ = json.Marshal(t.InputSchema)
			if t.OutputSchema != nil {
				ti.OutputSchema, _ = json.Marshal(t.OutputSchema)
			}
			out = append(out, ti)
		}
		if lt.NextCursor == "" {
			break
		}
		params = &mcp.ListToolsParams{Cursor: lt.NextCursor}
	}
	p.toolsSeen.Store(int64(len(out)))
	return out, nil
}

// CallShared calls a tool on the shared upstream session (admin API).
func (p *Proxy) CallShared(ctx context.Context, params *mcp.CallToolParams) (*mcp.CallToolResult, error) {
	res, err := p.run(ctx, nil, nil, func(ctx context.Context, cs *mcp.ClientSession) (mcp.Result, error) {
		return cs.CallTool(ctx, params)
	})
	if err != nil {
		return nil, err
	}
	return res.(*mcp.CallToolResult), nil
}
