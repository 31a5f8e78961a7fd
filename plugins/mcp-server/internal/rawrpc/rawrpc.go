// Package rawrpc sends MCP requests through the official Go SDK's client
// sessions as raw JSON: the params leave as given and the result comes back
// as the peer wrote it (the SDK's encoder compacts whitespace and escapes
// <, > and & in strings; the JSON values are the same). The SDK's typed
// calls decode every result into its Go type, which drops the fields the
// SDK does not know, refuses content types it does not know and checks
// results against the tool's output schema; a proxy must pass what it does
// not need to understand unchanged.
//
// The SDK sends only methods it knows and decodes each result into the type
// of its method, except for custom methods, whose result type the caller
// chooses. So a client registers Method (Register), a custom method whose
// result stays raw JSON; Call sends Method with the real method and params
// inside; and RT, the round tripper under the client's HTTP transport,
// rewrites that request into the real one before it leaves. The answer
// carries the request's id, so the SDK hands it, undecoded, to Call.
package rawrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Method is the custom method that carries a raw call through an SDK
// session: from the SDK client to RT, and from a server's raw hook (Wrap)
// to its receiving middleware. It never reaches a peer.
const Method = "gatehouse/raw"

// NotifyMethod carries a raw notification from the SDK client to RT (see
// Notify). It never reaches a peer.
const NotifyMethod = "notifications/gatehouse/raw"

// methodHeader is the HTTP header some protocol versions repeat the
// JSON-RPC method in.
const methodHeader = "Mcp-Method"

// Register lets c send raw calls and notifications. Call it once per
// client, before Connect.
func Register(c *mcp.Client) error {
	if err := mcp.AddSendingCustomMethod[*Params, *Result](c, NotifyMethod); err != nil {
		return err
	}
	// A notification has no result; CallCustomMethod wants one.
	c.AddSendingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			res, err := next(ctx, method, req)
			if method == NotifyMethod && err == nil {
				res = &Result{}
			}
			return res, err
		}
	})
	return mcp.AddSendingCustomMethod[*Params, *Result](c, Method)
}

// Notify sends notification method with params (raw JSON, nil for none)
// on cs, as Call sends requests.
func Notify(ctx context.Context, cs *mcp.ClientSession, method string, params json.RawMessage) error {
	_, err := mcp.CallCustomMethod[*Params, *Result](ctx, cs, NotifyMethod, &Params{Method: method, Params: params})
	return err
}

// Call sends method with params (raw JSON, nil for none) on cs and returns
// the result as the peer wrote it. The client of cs must be registered and
// its HTTP transport must go through RT. A JSON-RPC error of the peer comes
// back as the SDK returns errors: a *jsonrpc.Error in the chain.
func Call(ctx context.Context, cs *mcp.ClientSession, method string, params json.RawMessage) (*Result, error) {
	return mcp.CallCustomMethod[*Params, *Result](ctx, cs, Method, &Params{Method: method, Params: params})
}

// Params are the params of a raw call: the real method and its params.
type Params struct {
	mcp.ParamsBase
	Method string
	Params json.RawMessage
}

// UnmarshalJSON decodes the envelope Wrap makes: the params a server's
// receiving middleware gets for Method.
func (p *Params) UnmarshalJSON(b []byte) error {
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return err
	}
	p.Method, p.Params = e.Method, e.Params
	return nil
}

// envelope is how Params travel from the SDK to RT, and from Wrap to a
// server's receiving middleware.
type envelope struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params,omitempty"`
}

// MarshalJSON encodes the envelope RT unwraps. _meta the SDK added (it does
// for some protocol versions) is merged into the params' _meta.
func (p *Params) MarshalJSON() ([]byte, error) {
	params := p.Params
	if len(p.Meta) > 0 {
		var err error
		if params, err = mergeMeta(params, p.Meta); err != nil {
			return nil, fmt.Errorf("raw call %s: %w", p.Method, err)
		}
	}
	return json.Marshal(envelope{Method: p.Method, Params: params})
}

// Result is the result of a raw call, or any result to send as it is: a
// receiving middleware of an mcp.Server may return it.
type Result struct {
	mcp.ResultBase
	// JSON is the result object as the peer wrote it.
	JSON json.RawMessage
}

// UnmarshalJSON keeps a copy of b.
func (r *Result) UnmarshalJSON(b []byte) error {
	r.JSON = append(r.JSON[:0:0], b...)
	return nil
}

// MarshalJSON returns JSON unchanged ({} when empty).
func (r *Result) MarshalJSON() ([]byte, error) {
	if len(bytes.TrimSpace(r.JSON)) == 0 {
		return []byte("{}"), nil
	}
	return r.JSON, nil
}

// GetMeta returns the result's _meta (nil when it has none or JSON is not
// an object).
func (r *Result) GetMeta() map[string]any {
	var v struct {
		Meta map[string]any `json:"_meta"`
	}
	if json.Unmarshal(r.JSON, &v) != nil {
		return nil
	}
	return v.Meta
}

// SetMeta replaces the result's _meta, leaving its other members as they
// are (the SDK annotates results for some protocol versions).
func (r *Result) SetMeta(m map[string]any) {
	out, err := setMember(r.JSON, "_meta", m)
	if err == nil {
		r.JSON = out
	}
}

// SetMember sets one top-level member of the result object, leaving the
// others as they are.
func (r *Result) SetMember(name string, v any) error {
	out, err := setMember(r.JSON, name, v)
	if err != nil {
		return err
	}
	r.JSON = out
	return nil
}

func setMember(obj json.RawMessage, name string, v any) (json.RawMessage, error) {
	members := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(obj)) > 0 {
		if err := json.Unmarshal(obj, &members); err != nil {
			return nil, fmt.Errorf("not a JSON object: %w", err)
		}
		if members == nil {
			members = map[string]json.RawMessage{}
		}
	}
	if v == nil {
		delete(members, name)
	} else {
		data, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		members[name] = data
	}
	return json.Marshal(members)
}

// Member decodes the top-level member name of the result object into v;
// a missing member leaves v as it is.
func (r *Result) Member(name string, v any) error {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(r.JSON, &members); err != nil {
		return fmt.Errorf("result is not a JSON object: %w", err)
	}
	m, ok := members[name]
	if !ok {
		return nil
	}
	return json.Unmarshal(m, v)
}

// FilterTools edits the result of a tools/list: keep says, by tool name,
// whether a tool stays and which description it gets ("" keeps its own).
// Every tool is otherwise left as the peer wrote it, and the result is not
// re-encoded when nothing changes. It returns the number of tools kept.
func (r *Result) FilterTools(keep func(name string) (ok bool, description string)) (int, error) {
	var list struct {
		Tools []json.RawMessage `json:"tools"`
	}
	if err := json.Unmarshal(r.JSON, &list); err != nil {
		return 0, fmt.Errorf("tools/list result: %w", err)
	}
	kept := list.Tools[:0:0]
	changed := false
	for _, raw := range list.Tools {
		var tool struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		}
		if err := json.Unmarshal(raw, &tool); err != nil {
			return 0, fmt.Errorf("tools/list result: a tool: %w", err)
		}
		ok, desc := keep(tool.Name)
		if !ok {
			changed = true
			continue
		}
		if desc != "" && desc != tool.Description {
			edited, err := setMember(raw, "description", desc)
			if err != nil {
				return 0, err
			}
			raw, changed = edited, true
		}
		kept = append(kept, raw)
	}
	if changed {
		if err := r.SetMember("tools", kept); err != nil {
			return 0, err
		}
	}
	return len(kept), nil
}

// AsIs are params sent as they are, for a sending middleware to put into a
// request the SDK sends (the SDK has no other way to send raw params).
type AsIs struct {
	mcp.ParamsBase
	JSON json.RawMessage
}

// MarshalJSON returns JSON ({} when empty), with _meta the SDK added merged
// into its _meta.
func (p *AsIs) MarshalJSON() ([]byte, error) {
	params := p.JSON
	if len(bytes.TrimSpace(params)) == 0 {
		params = json.RawMessage("{}")
	}
	if len(p.Meta) > 0 {
		return mergeMeta(params, p.Meta)
	}
	return params, nil
}

// mergeMeta adds meta's keys to the _meta of the params object.
func mergeMeta(params json.RawMessage, meta map[string]any) (json.RawMessage, error) {
	var v struct {
		Meta map[string]json.RawMessage `json:"_meta"`
	}
	if len(bytes.TrimSpace(params)) > 0 {
		if err := json.Unmarshal(params, &v); err != nil {
			return nil, fmt.Errorf("params are not a JSON object: %w", err)
		}
	}
	if v.Meta == nil {
		v.Meta = map[string]json.RawMessage{}
	}
	for k, val := range meta {
		data, err := json.Marshal(val)
		if err != nil {
			return nil, err
		}
		v.Meta[k] = data
	}
	return setMember(params, "_meta", v.Meta)
}

// DropMeta removes from the _meta of a params (or result) object the keys
// drop selects, leaving everything else as it is. Without such keys obj is
// returned unchanged.
func DropMeta(obj json.RawMessage, drop func(key string) bool) (json.RawMessage, error) {
	if !bytes.Contains(obj, []byte(`"_meta"`)) {
		return obj, nil
	}
	var v struct {
		Meta map[string]json.RawMessage `json:"_meta"`
	}
	if err := json.Unmarshal(obj, &v); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	n := len(v.Meta)
	for k := range v.Meta {
		if drop(k) {
			delete(v.Meta, k)
		}
	}
	if len(v.Meta) == n {
		return obj, nil
	}
	if len(v.Meta) == 0 {
		return setMember(obj, "_meta", nil)
	}
	return setMember(obj, "_meta", v.Meta)
}

// RT is the round tripper under the HTTP client of a registered SDK client:
// it turns the raw calls the client sends into the real requests. Every
// other request passes unchanged.
type RT struct {
	Base http.RoundTripper
	// Initialize, when set, are the params of a proxy's client's
	// initialize: the SDK client's initialize request goes out with them
	// (capabilities, client info and whatever else the client sent), only
	// the protocol version being the SDK client's.
	Initialize json.RawMessage
}

var (
	quotedMethod       = []byte(`"` + Method + `"`)
	quotedNotifyMethod = []byte(`"` + NotifyMethod + `"`)
)

// RoundTrip implements http.RoundTripper.
func (rt RT) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || req.Body == nil || req.Body == http.NoBody {
		return rt.Base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	out, method, ok := Unwrap(body)
	if ok {
		req = req.Clone(req.Context())
		if h := req.Header.Get(methodHeader); h == Method || h == NotifyMethod {
			req.Header.Set(methodHeader, method)
		}
		body = out
	} else if len(rt.Initialize) > 0 && bytes.Contains(body, []byte(`"initialize"`)) {
		body = rt.initialize(body)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.ContentLength = int64(len(body))
	return rt.Base.RoundTrip(req)
}

// initialize returns body, the SDK client's initialize request, with the
// client's params and the SDK client's protocol version.
func (rt RT) initialize(body []byte) []byte {
	var msg struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			ProtocolVersion json.RawMessage `json:"protocolVersion"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &msg) != nil || msg.Method != "initialize" || msg.ID == nil {
		return body
	}
	params := rt.Initialize
	if len(msg.Params.ProtocolVersion) > 0 {
		var err error
		if params, err = setMember(params, "protocolVersion", msg.Params.ProtocolVersion); err != nil {
			return body
		}
	}
	return Request(msg.ID, "initialize", params)
}

// Unwrap turns the JSON-RPC message of a raw call into the real request and
// returns it with its method; other messages are returned unchanged with
// ok false.
func Unwrap(body []byte) (out []byte, method string, ok bool) {
	if !bytes.Contains(body, quotedMethod) && !bytes.Contains(body, quotedNotifyMethod) {
		return body, "", false
	}
	var msg struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  string          `json:"method"`
		Params  envelope        `json:"params"`
	}
	if json.Unmarshal(body, &msg) != nil || (msg.Method != Method && msg.Method != NotifyMethod) || msg.Params.Method == "" {
		return body, "", false
	}
	// Built by hand: json.Marshal would re-escape the params.
	var b bytes.Buffer
	b.WriteString(`{"jsonrpc":`)
	jsonrpc, _ := json.Marshal(msg.JSONRPC)
	b.Write(jsonrpc)
	if msg.Method == Method && len(msg.ID) > 0 {
		b.WriteString(`,"id":`)
		b.Write(msg.ID)
	}
	b.WriteString(`,"method":`)
	quoted, _ := json.Marshal(msg.Params.Method)
	b.Write(quoted)
	if len(msg.Params.Params) > 0 {
		b.WriteString(`,"params":`)
		b.Write(msg.Params.Params)
	}
	b.WriteByte('}')
	data := b.Bytes()
	return data, msg.Params.Method, true
}

// Interface guards.
var (
	_ mcp.Params        = (*Params)(nil)
	_ mcp.Params        = (*AsIs)(nil)
	_ mcp.Result        = (*Result)(nil)
	_ http.RoundTripper = RT{}
)
