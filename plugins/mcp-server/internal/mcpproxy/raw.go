package mcpproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/rawrpc"
)

// What a client sends to a session passes raw (see rawrpc's wrap.go),
// except what the gateway itself needs to understand: these calls and
// notifications go to the SDK server as they are.

// localCall reports the calls the gateway answers itself: the session's
// start, ping, and the log level it records for rebuilds (and forwards).
func localCall(method string) bool {
	switch method {
	case "initialize", "ping", "logging/setLevel":
		return true
	}
	return false
}

// localNotification reports the notifications the gateway handles itself:
// the session's start, cancellation (the upstream has its own request
// ids, which the SDK sessions translate) and the roots it copies upstream.
func localNotification(method string) bool {
	switch method {
	case "notifications/initialized", "notifications/cancelled", "notifications/roots/list_changed":
		return true
	}
	return false
}

// Register lets s receive the raw calls that Intake makes.
func (p *Proxy) Register(s *mcp.Server) error {
	return mcp.AddReceivingCustomMethod(s, rawrpc.Method, func(context.Context, *mcp.ServerSession, *rawrpc.Params) (*rawrpc.Result, error) {
		// Handle serves raw calls; this is not reached.
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeMethodNotFound, Message: "raw calls are served by the proxy"}
	})
}

// Intake is the raw hook of a client's POST to session s: it returns the
// body the SDK server gets, nil when nothing is left for it. Calls the
// gateway does not answer itself become raw calls (rawrpc.WrapCall),
// which Handle sends upstream as written; notifications it does not need
// go upstream here, as written, and leave the body; the client's answers
// to the upstream's requests are tagged (rawrpc.Tag), so that sendAsIs
// returns them as written. A body it cannot read goes to the SDK, which
// answers it.
func (p *Proxy) Intake(ctx context.Context, s Session, body []byte) []byte {
	msgs, batch, err := rawrpc.Split(body)
	if err != nil {
		return body
	}
	out := make([]json.RawMessage, 0, len(msgs))
	changed := false
	for _, m := range msgs {
		switch {
		case m.IsCall() && !localCall(m.Method):
			out = append(out, rawrpc.WrapCall(m.ID, m.Method, m.Params))
			changed = true
		case m.IsNotification() && !localNotification(m.Method):
			p.notifyUpstream(ctx, s, m.Method, m.Params)
			changed = true
		case m.Method == "" && m.Result != nil:
			tagged, err := rawrpc.Tag(m.Result)
			if err != nil {
				out = append(out, m.JSON)
				continue
			}
			out = append(out, rawrpc.Response(m.ID, tagged))
			changed = true
		default:
			if m.Method == "initialize" {
				s.Upstream().setInitParams(m.Params)
			}
			out = append(out, m.JSON)
		}
	}
	if !changed {
		return body
	}
	if len(out) == 0 {
		return nil
	}
	return rawrpc.Join(out, batch)
}

// IntakeMessage is Intake for one message of a legacy SSE session,
// changed in place; it reports true when the message went upstream and
// the SDK server must not get it. It does not block.
func (p *Proxy) IntakeMessage(s Session, msg jsonrpc.Message) bool {
	switch m := msg.(type) {
	case *jsonrpc.Request:
		switch {
		case m.IsCall() && !localCall(m.Method):
			m.Params = rawrpc.Envelope(m.Method, m.Params)
			m.Method = rawrpc.Method
		case !m.IsCall() && !localNotification(m.Method):
			p.queueNotification(s, note{m.Method, m.Params})
			return true
		case m.Method == "initialize":
			s.Upstream().setInitParams(m.Params)
		}
	case *jsonrpc.Response:
		if m.Error == nil && m.Result != nil {
			if tagged, err := rawrpc.Tag(m.Result); err == nil {
				m.Result = tagged
			}
		}
	}
	return false
}

// maxQueuedNotes bounds the notifications of one legacy SSE client
// waiting to go upstream; beyond it they are dropped.
const maxQueuedNotes = 1024

// queueNotification sends a legacy SSE client's notification upstream
// without blocking, after the ones queued before it.
func (p *Proxy) queueNotification(s Session, n note) {
	sl := s.Upstream()
	sl.notesMu.Lock()
	if len(sl.notes) >= maxQueuedNotes {
		sl.notesMu.Unlock()
		p.env.Logger.Warn("client notification dropped: too many wait to go upstream", "session_id", s.ID(), "method", n.method)
		return
	}
	sl.notes = append(sl.notes, n)
	start := !sl.sending
	sl.sending = true
	sl.notesMu.Unlock()
	if !start {
		return
	}
	p.wg.Go(func() {
		for {
			sl.notesMu.Lock()
			if len(sl.notes) == 0 {
				sl.notes, sl.sending = nil, false
				sl.notesMu.Unlock()
				return
			}
			n := sl.notes[0]
			sl.notes = sl.notes[1:]
			sl.notesMu.Unlock()
			ctx, cancel := context.WithTimeout(p.env.Ctx, 30*time.Second)
			p.notifyUpstream(ctx, s, n.method, n.params)
			cancel()
		}
	})
}

// handleRaw serves a raw call (see Intake): the params go upstream as
// written, without the _meta that describes the client's own hop, and the
// result comes back as the upstream wrote it; tools/list with the
// allowlist applied.
func (p *Proxy) handleRaw(ctx context.Context, s Session, rp *rawrpc.Params) (mcp.Result, error) {
	if localCall(rp.Method) || rp.Method == rawrpc.Method {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: fmt.Sprintf("%s cannot be sent as a raw call", rp.Method)}
	}
	params, err := rawrpc.DropMeta(rp.Params, isHopMeta)
	if err != nil {
		params = rp.Params // not an object: the upstream answers
	}
	res, err := p.passRaw(ctx, s, rp.Method, params, progressToken(params))
	if err != nil {
		return nil, err
	}
	if rp.Method == "tools/list" {
		var c struct {
			Cursor string `json:"cursor"`
		}
		_ = json.Unmarshal(params, &c)
		return p.filterList(res, c.Cursor == "")
	}
	return res, nil
}

// CallName returns the tool a raw tools/call names: the string member
// "name" of its params, given once, and no other member spelled so in
// another case. Anything else is
// an error: the allowlist must check the name the upstream reads, and JSON
// decoders differ on repeated keys (first or last) and on case (Go's
// matches "Name" too).
func CallName(rp *rawrpc.Params) (string, error) {
	bad := &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: `tools/call: params must be an object with one string member "name"`}
	dec := json.NewDecoder(bytes.NewReader(rp.Params))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", bad
	}
	name, found := "", false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", bad
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return "", bad
		}
		k, _ := t.(string)
		if !strings.EqualFold(k, "name") {
			continue
		}
		if k != "name" || found || json.Unmarshal(v, &name) != nil {
			return "", bad
		}
		found = true
	}
	if !found {
		return "", bad
	}
	return name, nil
}

// isHopMeta reports the _meta keys that describe the client's own hop
// (SEP-2575: protocol version, client info and capabilities, log level):
// the upstream session has its own.
func isHopMeta(key string) bool { return strings.HasPrefix(key, "io.modelcontextprotocol/") }

// progressToken returns the progress token in params, if it is one a map
// can be keyed by (a string or a number).
func progressToken(params json.RawMessage) any {
	if !bytes.Contains(params, []byte(`"progressToken"`)) {
		return nil
	}
	var v struct {
		Meta struct {
			Token any `json:"progressToken"`
		} `json:"_meta"`
		Token any `json:"progressToken"` // of a progress notification
	}
	if json.Unmarshal(params, &v) != nil {
		return nil
	}
	for _, t := range []any{v.Meta.Token, v.Token} {
		switch t.(type) {
		case string, float64:
			return t
		}
	}
	return nil
}

// notifyUpstream sends a client's notification to the upstream session of
// s as written, without the _meta of the client's hop.
func (p *Proxy) notifyUpstream(ctx context.Context, s Session, method string, params json.RawMessage) {
	if dropped, err := rawrpc.DropMeta(params, isHopMeta); err == nil {
		params = dropped
	}
	_, err := p.run(ctx, s, nil, func(ctx context.Context, cs *mcp.ClientSession) (mcp.Result, error) {
		return nil, rawrpc.Notify(ctx, cs, method, params)
	})
	if err != nil {
		p.env.Logger.Debug("client notification not sent upstream", "session_id", s.ID(), "method", method, "error", err)
	}
}

// notify sends the client an upstream notification as written: progress
// to the stream of the request whose token it names, log messages to the
// newest request in flight, everything else (and those when no request
// fits) to the standalone stream, which another instance may hold.
func (u *upstream) notify(method string, params json.RawMessage) {
	if u.s == nil {
		return
	}
	ss := u.s.ServerSession()
	if ss == nil {
		return
	}
	ctx, inRequest := context.Background(), false
	switch method {
	case "notifications/progress":
		if t := progressToken(params); t != nil {
			u.mu.Lock()
			if c, ok := u.progress[t]; ok {
				ctx, inRequest = c, true
			}
			u.mu.Unlock()
		}
	case "notifications/message":
		ctx, inRequest = u.related()
	}
	if !inRequest && u.p.env.Push(u.s, method, params) {
		return
	}
	if err := NotifyRaw(ctx, ss, method, params); err != nil {
		u.p.env.Logger.Debug("upstream notification not sent to the client", "session_id", u.s.ID(), "method", method, "error", err)
	}
}

// sawResult keeps the initialize result of a legacy SSE upstream as
// written.
func (u *upstream) sawResult(id, result json.RawMessage) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.initID != nil && u.rawInit == nil && bytes.Equal(id, u.initID) {
		u.rawInit = append(json.RawMessage(nil), result...)
	}
}

// upstreamInitParams returns the params of the upstream session's
// initialize: the client's as written, without the client's tasks
// capability. That capability invites the upstream to make its sampling
// and elicitation requests tasks and then to ask the client tasks/get and
// tasks/result, methods the SDK's server session cannot send: the
// upstream asks plainly instead. (The upstream's tasks, on the client's
// tools/call, pass: their methods go upstream as raw calls.)
func upstreamInitParams(params json.RawMessage) json.RawMessage {
	if !bytes.Contains(params, []byte(`"tasks"`)) {
		return params
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(params, &members) != nil {
		return params
	}
	var caps map[string]json.RawMessage
	if json.Unmarshal(members["capabilities"], &caps) != nil {
		return params
	}
	if _, ok := caps["tasks"]; !ok {
		return params
	}
	delete(caps, "tasks")
	var err error
	if members["capabilities"], err = json.Marshal(caps); err != nil {
		return params
	}
	out, err := json.Marshal(members)
	if err != nil {
		return params
	}
	return out
}

// awaitingInit reports that the initialize result of a legacy SSE upstream
// is still to come.
func (u *upstream) awaitingInit() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.initID != nil && u.rawInit == nil
}

// initResult is the upstream's initialize result as written, with the
// protocol version the client negotiated with the gateway; nil when
// unknown.
func (u *upstream) initResult(version string) mcp.Result {
	var raw json.RawMessage
	if u.rt != nil {
		u.rt.mu.Lock()
		raw = u.rt.initResult
		u.rt.mu.Unlock()
	} else {
		u.mu.Lock()
		raw = u.rawInit
		u.mu.Unlock()
	}
	if len(raw) == 0 {
		return nil
	}
	res := &rawrpc.Result{JSON: raw}
	if err := res.SetMember("protocolVersion", version); err != nil {
		return nil
	}
	return res
}
