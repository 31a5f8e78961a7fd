package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/front"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/legacysse"
)

// The tools/call fast path (issue #10 §1). The official SDK costs hundreds
// of microseconds of CPU per message; a single JSON-RPC tools/call of a
// REST tool, on a Streamable HTTP session or posted to a legacy SSE
// session, is served here instead, answering exactly as the SDK path would:
// the same answer bytes, event ids and stored events (Last-Event-ID), the
// same session records, metrics and rate-limit counts. Session lookup,
// auth, allowTools, limits, the event store and the tool itself are the
// code the SDK path runs (guardCall, restTools.call, session.EventStore);
// only the JSON-RPC framing is done here. Anything the fast path is not
// sure to answer as the SDK does — batches, other methods, _meta (progress
// tokens), unusual params, sessions not initialized, the 2026-07-28
// protocol — goes to the SDK. The differential test (fastpath_test.go)
// holds both paths against each other; the definition's toolCallFastPath:
// false turns the fast path off.

// fastCall is one tools/call the fast path serves.
type fastCall struct {
	id   jsonrpc.ID
	name string
	args json.RawMessage
}

// maxFastDepth bounds the nesting of params the fast path takes; deeper
// ones go to the SDK, which refuses beyond 1000 levels.
const maxFastDepth = 200

// fastCallOf returns the call in msg when the fast path serves it for
// session s (whose SDK session must be initialized), else false.
func (in *instance) fastCallOf(s *localSession, msg jsonrpc.Message) (fastCall, bool) {
	if !in.fast {
		return fastCall{}, false
	}
	req, ok := msg.(*jsonrpc.Request)
	if !ok || !req.IsCall() || req.Method != "tools/call" {
		return fastCall{}, false
	}
	ss := s.ss.Load()
	if ss == nil {
		return fastCall{}, false
	}
	// Clients of 2026-07-28 get multi-round-trip results from the SDK.
	if ip := ss.InitializeParams(); ip == nil || ip.ProtocolVersion >= front.StatelessVersion {
		return fastCall{}, false
	}
	name, args, ok := parseCallParams(req.Params)
	if !ok {
		return fastCall{}, false
	}
	return fastCall{id: req.ID, name: name, args: args}, true
}

// parseCallParams reads the params of a tools/call: an object with a
// string name and, optionally, an object of arguments, and nothing else
// (no _meta, no repeated keys). It reports false for anything else.
func parseCallParams(raw json.RawMessage) (string, json.RawMessage, bool) {
	if len(raw) == 0 || !utf8.Valid(raw) || depth(raw) > maxFastDepth || !json.Valid(raw) {
		return "", nil, false
	}
	var name string
	var args json.RawMessage
	var haveName, haveArgs bool
	ok := members(raw, func(key string, v []byte) bool {
		switch {
		case key == "name" && !haveName:
			var ok bool
			name, ok = jsonString(v)
			haveName = ok
			return ok
		case key == "arguments" && !haveArgs:
			if v[0] != '{' {
				return false
			}
			args, haveArgs = v, true
			return true
		}
		return false
	})
	if !ok || !haveName {
		return "", nil, false
	}
	return name, args, true
}

// members calls fn with the key (unescaped) and the raw value of each
// member of the JSON object data, in order, until fn returns false. data
// must be valid JSON (json.Valid); members reports false when it is not an
// object or fn returned false. Unlike a json.Decoder, it allocates only
// for keys with escapes.
func members(data []byte, fn func(key string, value []byte) bool) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipSpace(data, i+1)
	if data[i] == '}' {
		return true
	}
	for {
		end := valueEnd(data, i)
		key, ok := jsonString(data[i:end])
		if !ok {
			return false
		}
		i = skipSpace(data, skipSpace(data, end)+1) // past the colon
		end = valueEnd(data, i)
		if !fn(key, data[i:end]) {
			return false
		}
		i = skipSpace(data, end)
		if data[i] == '}' {
			return true
		}
		i = skipSpace(data, i+1) // past the comma
	}
}

// jsonString decodes the JSON string v; without escapes, without copying
// more than the result, and without copying at all the member names of
// the messages the fast path reads.
func jsonString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(v, '\\') < 0 {
		switch s := v[1 : len(v)-1]; string(s) {
		case "jsonrpc":
			return "jsonrpc", true
		case "id":
			return "id", true
		case "method":
			return "method", true
		case "params":
			return "params", true
		case "name":
			return "name", true
		case "arguments":
			return "arguments", true
		case "_meta":
			return "_meta", true
		default:
			return string(s), true
		}
	}
	var s string
	return s, json.Unmarshal(v, &s) == nil
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	return i
}

// valueEnd is the end of the JSON value that starts at data[i], in valid
// JSON.
func valueEnd(data []byte, i int) int {
	d := 0
	for i < len(data) {
		switch data[i] {
		case '"':
			i = stringEnd(data, i)
			if d == 0 {
				return i
			}
			continue
		case '{', '[':
			d++
		case '}', ']':
			if d == 0 {
				return i // the end of a scalar, at its container's end
			}
			d--
			if d == 0 {
				return i + 1
			}
		case ',', ' ', '\t', '\r', '\n':
			if d == 0 {
				return i
			}
		}
		i++
	}
	return i
}

// stringEnd is the end of the JSON string that starts at data[i] (a
// quote), or len(data) when it does not end.
func stringEnd(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(data)
}

// depth is the deepest nesting of objects and arrays in data.
func depth(data []byte) int {
	d, most := 0, 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			i = stringEnd(data, i) - 1
		case '{', '[':
			d++
			most = max(most, d)
		case '}', ']':
			d--
		}
	}
	return most
}

// runFast runs call c for session s through guardCall and restTools.call,
// as the SDK path does, and returns the encoded JSON-RPC response.
func (in *instance) runFast(ctx context.Context, s *localSession, c fastCall, h http.Header) []byte {
	in.fastServed.Add(1)
	rest := in.backend.(*restTools)
	res, err := in.guardCall(ctx, s, c.name, h, func(ctx context.Context) (mcp.Result, error) {
		return rest.call(ctx, c.name, c.args, h)
	})
	if err == nil {
		if data, ok := textAnswer(c.id, res); ok {
			return data
		}
	}
	resp := &jsonrpc.Response{ID: c.id}
	if err != nil {
		resp.Error = err
	} else {
		// Encoded as the SDK's JSON-RPC layer encodes results.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(res); err != nil {
			resp.Error = fmt.Errorf("encode tool result: %w", err)
		} else {
			resp.Result = json.RawMessage(bytes.TrimRight(buf.Bytes(), "\n"))
		}
	}
	data, err := jsonrpc.EncodeMessage(resp)
	if err != nil {
		data, _ = jsonrpc.EncodeMessage(&jsonrpc.Response{ID: c.id, Error: err})
	}
	return data
}

// textAnswer encodes the JSON-RPC response of the most common result,
// text content alone, to the bytes the SDK's encoders make of it
// (jsonrpc.EncodeMessage of CallToolResult.MarshalJSON, whose inner
// json.Marshal escapes HTML), without their three passes through
// reflection. It reports false for anything else, which the caller encodes
// as the SDK does.
func textAnswer(id jsonrpc.ID, res mcp.Result) ([]byte, bool) {
	n, ok := id.Raw().(int64)
	r, _ := res.(*mcp.CallToolResult)
	if !ok || r == nil || r.Meta != nil || r.StructuredContent != nil || r.InputRequests != nil || r.RequestState != "" || len(r.Content) != 1 {
		return nil, false
	}
	t, _ := r.Content[0].(*mcp.TextContent)
	if t == nil || t.Meta != nil || t.Annotations != nil {
		return nil, false
	}
	b := make([]byte, 0, len(t.Text)+len(t.Text)/8+96)
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, `,"result":{"content":[{"type":"text","text":`...)
	if q, ok := appendSimpleJSONString(b, t.Text); ok {
		b = q
	} else {
		text, err := json.Marshal(t.Text)
		if err != nil {
			return nil, false
		}
		b = append(b, text...)
	}
	b = append(b, "}]"...)
	if r.IsError {
		b = append(b, `,"isError":true`...)
	}
	return append(b, "}}"...), true
}

// appendSimpleJSONString appends s to b as json.Marshal encodes it, when
// s is printable ASCII, quotes, backslashes, tabs and line ends (most
// answers); it reports false for anything else (other control
// characters, the HTML characters json.Marshal escapes, non-ASCII), which
// the caller leaves to json.Marshal.
func appendSimpleJSONString(b []byte, s string) ([]byte, bool) {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '&':
			return b, false
		default:
			b = append(b, c)
		}
	}
	return append(b, '"'), true
}

// inflight tracks the fast calls of one session, so that a client's
// notifications/cancelled reaches them and a repeated request id is
// refused as the SDK refuses it.
type inflight struct {
	mu sync.Mutex
	// calls is keyed by the id's value (id.Raw()): a string or an int64,
	// so 7 and "7" are two ids, as for the SDK.
	calls map[any]context.CancelFunc
}

// start registers the call with id and returns its context and the func
// that unregisters it (once, however often it is called). The context has
// the values of the client's request req (identity) but not its end —
// like the SDK's, the call runs on for a client that resumes —, and ends
// when instance ends or the call is unregistered; cc makes it (with the
// tool call's deadline). It reports false when a call with id is in
// flight. Unregister a call before its answer leaves: a client may reuse
// the id as soon as it has the answer.
func (f *inflight) start(req, instance context.Context, id jsonrpc.ID, cc callContexts) (context.Context, func(), bool) {
	key := id.Raw()
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := f.calls[key]; dup {
		return nil, nil, false
	}
	if f.calls == nil {
		f.calls = make(map[any]context.CancelFunc)
	}
	// A child of instance's context: it leaves instance's list when the
	// call ends, as a callback registered on instance would have to.
	ctx, cancel := cc.callContext(valuesOf{Context: instance, values: req})
	f.calls[key] = cancel
	ended := false
	return ctx, func() {
		f.mu.Lock()
		if !ended { // not a later call's, with the same id
			ended = true
			delete(f.calls, key)
		}
		f.mu.Unlock()
		cancel()
	}, true
}

// callContexts make the context of one call from its parent (a tool call's,
// with its deadline: restTools).
type callContexts interface {
	callContext(parent context.Context) (context.Context, context.CancelFunc)
}

// valuesOf is a context that ends with Context (an instance's) and has
// the values of values (a client's request). Context's own values come
// first: an instance's context has none but the one by which
// context.WithCancel finds a cancellable parent, so that a context derived
// from valuesOf is the child of the instance's, with no goroutine or
// callback of its own.
type valuesOf struct {
	context.Context
	values context.Context
}

func (c valuesOf) Value(key any) any {
	if v := c.Context.Value(key); v != nil {
		return v
	}
	return c.values.Value(key)
}

// cancel cancels the call with id, if in flight.
func (f *inflight) cancel(id jsonrpc.ID) {
	f.mu.Lock()
	c := f.calls[id.Raw()]
	f.mu.Unlock()
	if c != nil {
		c()
	}
}

// cancelAll cancels every call (the session closed).
func (f *inflight) cancelAll() {
	f.mu.Lock()
	cs := make([]context.CancelFunc, 0, len(f.calls))
	for _, c := range f.calls {
		cs = append(cs, c)
	}
	f.mu.Unlock()
	for _, c := range cs {
		c()
	}
}

// noteCancel passes a client's notifications/cancelled in msg to the fast
// calls of s. The SDK sees the notification too, for its own calls.
func noteCancel(s *localSession, msg jsonrpc.Message) {
	req, ok := msg.(*jsonrpc.Request)
	if !ok || req.IsCall() || req.Method != "notifications/cancelled" {
		return
	}
	var p struct {
		RequestID any `json:"requestId"`
	}
	if json.Unmarshal(req.Params, &p) != nil {
		return
	}
	if id, err := jsonrpc.MakeID(p.RequestID); err == nil {
		s.fast.cancel(id)
	}
}

// primeDelay is how long the priming event of a fast call's SSE answer
// may wait to be sent with the answer in one write (and stored with it in
// one round trip); a call that takes longer gets it then, on its own, as
// the SDK sends it at once. The bytes the client reads are the same.
const primeDelay = 50 * time.Millisecond

// primeTimers are stopped timers for primeDelay, reused call after call.
var primeTimers = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// serveFastPOST serves a POST of one fast call on a Streamable HTTP
// session, as the SDK's streamable transport serves a POST of one call:
// an SSE stream of its own (with a priming event from 2025-11-25), the
// answer stored in the event store for Last-Event-ID, or a JSON answer in
// JSON response mode. The call goes on when the client's request ends
// (drain, disconnect); its answer then waits in the event store.
func (in *instance) serveFastPOST(w http.ResponseWriter, r *http.Request, s *localSession, c fastCall) {
	ctx, done, ok := s.fast.start(r.Context(), in.ctx, c.id, in.backend.(*restTools))
	if !ok {
		sdkJSONRPCError(w, http.StatusBadRequest, c.id, &jsonrpc.Error{
			Code:    jsonrpc.CodeInvalidRequest,
			Message: fmt.Sprintf("duplicate in-flight request ID %v", c.id.Raw()),
		})
		return
	}
	version := r.Header.Get(front.ProtocolVersionHeader)
	if version == "" {
		version = "2025-03-26"
	}
	sse := !in.opts.jsonResponse
	ev := &fastEvents{in: in, session: s.id, stream: rand.Text(), prime: sse && version >= "2025-11-25"}
	// The header values are shared, never changed (as net/http's own).
	h := w.Header()
	h["Cache-Control"] = hdrNoCache
	if sse {
		h["Content-Type"] = hdrEventStream
		h["Connection"] = hdrKeepAlive
		// Chunked, as the SDK's answer (which it flushes event by event),
		// also when the whole answer goes in one write.
		h["Transfer-Encoding"] = hdrChunked
	} else {
		h["Content-Type"] = hdrJSON
	}
	// Draining ends an SSE answer (not a JSON one): the client resumes
	// it elsewhere with Last-Event-ID while the call finishes here. (The
	// SDK path gets this from servePOST, which cancels its request.)
	var drained <-chan struct{}
	if sse && in.drained.Err() == nil {
		drained = in.drained.Done()
	}
	var primeSoon <-chan time.Time
	if ev.prime {
		// Buffered: it leaves with the answer, or when primeSoon fires, and
		// is stored before it leaves.
		buf := sseBuffers.Get().(*[]byte)
		b := appendSSE((*buf)[:0], "prime", ev.stream, "_0", nil)
		_, _ = w.Write(b)
		*buf = b
		sseBuffers.Put(buf)
		t := primeTimers.Get().(*time.Timer)
		t.Reset(primeDelay)
		defer func() {
			t.Stop() // no value is received after Stop returns (Go 1.23)
			primeTimers.Put(t)
		}()
		primeSoon = t.C
	}

	answer := make(chan []byte, 1)
	in.workers.run(func() {
		defer done()
		data := in.runFast(ctx, s, c, r.Header)
		// Stored before it is sent, as the SDK stores it; the SDK stores
		// the answers of JSON response mode too.
		// Not with ctx: a cancelled call's answer is stored too. The
		// Redis client's read and write timeouts bound the store.
		ev.storeAnswer(context.WithoutCancel(ctx), data)
		done()
		answer <- data
	})
	for {
		select {
		case data := <-answer:
			if sse {
				// Not flushed: net/http sends the answer and the end of the
				// stream in one write when the handler returns.
				buf := sseBuffers.Get().(*[]byte)
				b := appendSSE((*buf)[:0], "message", ev.stream, answerSuffix[ev.answerIndex()], data)
				_, _ = w.Write(b)
				if cap(b) <= maxPooledSSE {
					*buf = b
				}
				sseBuffers.Put(buf)
			} else {
				_, _ = w.Write(data)
			}
			return
		case <-primeSoon:
			// The answer takes long: a client may resume from the priming
			// event.
			primeSoon = nil
			ev.storePrime(ctx)
			_ = http.NewResponseController(w).Flush()
		case <-r.Context().Done():
			// Gone: the client resumes with Last-Event-ID from the priming
			// event, which leaves when the handler returns.
			ev.storePrime(context.WithoutCancel(ctx))
			return
		case <-drained:
			ev.storePrime(context.WithoutCancel(ctx))
			return
		case <-in.ctx.Done():
			ev.storePrime(context.WithoutCancel(ctx))
			return
		}
	}
}

// fastEvents stores the events of a fast call's answer stream: the
// priming event (when prime) before it is sent, and the answer. When the
// answer comes before the priming event was sent, both are stored in one
// round trip.
type fastEvents struct {
	in              *instance
	session, stream string
	prime           bool

	mu          sync.Mutex
	primeStored bool
}

// storePrime stores the priming event, unless it is stored.
func (e *fastEvents) storePrime(ctx context.Context) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.prime || e.primeStored {
		return
	}
	e.primeStored = true
	// The stream is new: its first event opens it (lists it for the
	// session's DELETE), as the SDK opens each stream it makes.
	if err := e.in.events.OpenAppend(ctx, e.session, e.stream, nil); err != nil {
		e.in.logger.Warn("storing priming event", "session_id", e.session, "error", err)
	}
}

// storeAnswer stores the answer, after the priming event.
func (e *fastEvents) storeAnswer(ctx context.Context, data []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var err error
	switch {
	case e.prime && !e.primeStored:
		e.primeStored = true
		err = e.in.events.OpenAppend(ctx, e.session, e.stream, nil, data)
	case !e.prime:
		err = e.in.events.OpenAppend(ctx, e.session, e.stream, data) // the stream's only event
	default:
		err = e.in.events.Append(ctx, e.session, e.stream, data)
	}
	if err != nil {
		e.in.logger.Warn("storing answer for resumption", "session_id", e.session, "error", err)
	}
}

// answerIndex is the index of the answer event in its stream.
func (e *fastEvents) answerIndex() int {
	if e.prime {
		return 1
	}
	return 0
}

// Shared header values of fast answers.
var (
	hdrNoCache     = []string{"no-cache, no-transform"}
	hdrEventStream = []string{"text/event-stream"}
	hdrKeepAlive   = []string{"keep-alive"}
	hdrChunked     = []string{"chunked"}
	hdrJSON        = []string{"application/json"}
)

// answerSuffix ends the event id of an answer at index 0 or 1 of its stream.
var answerSuffix = [2]string{"_0", "_1"}

// sseBuffers hold the framing of fast answers until they are written;
// buffers that grew beyond maxPooledSSE are not kept.
var sseBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

const maxPooledSSE = 64 << 10

// appendSSE appends one event, framed as the SDK frames it, to b; its id
// is idPrefix+idSuffix.
func appendSSE(b []byte, name, idPrefix, idSuffix string, data []byte) []byte {
	if name != "" {
		b = append(b, "event: "...)
		b = append(b, name...)
		b = append(b, '\n')
	}
	if idPrefix != "" || idSuffix != "" {
		b = append(b, "id: "...)
		b = append(b, idPrefix...)
		b = append(b, idSuffix...)
		b = append(b, '\n')
	}
	b = append(b, "data: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// sdkJSONRPCError writes a JSON-RPC error as the SDK's transport does.
func sdkJSONRPCError(w http.ResponseWriter, status int, id jsonrpc.ID, jerr *jsonrpc.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if data, err := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Error: jerr}); err == nil {
		_, _ = w.Write(data)
	}
}

// readSDKBody reads a POST body within the size limit, answering as the
// SDK does when it cannot.
func (in *instance) readSDKBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := front.ReadAll(http.MaxBytesReader(w, r.Body, in.opts.maxBodyBytes), r.ContentLength)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, fmt.Sprintf("request body exceeds %d bytes", mbe.Limit), http.StatusRequestEntityTooLarge)
			return nil, false
		}
		http.Error(w, "failed to read body", http.StatusBadRequest)
		return nil, false
	}
	return body, true
}

// fastMessage decodes a POST body that may hold one fast call: a single
// JSON-RPC request (not a batch) for tools/call, with exactly the keys
// jsonrpc ("2.0"), id (a string, or an integer a float64 holds exactly,
// as the SDK decodes ids), method and params, each once. It decodes them
// itself (the SDK's decoder allocates a 32 KiB buffer per message) and
// leaves anything else to the SDK.
func fastMessage(body []byte) (jsonrpc.Message, bool) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' || !bytes.Contains(body, []byte(`"tools/call"`)) || !utf8.Valid(body) {
		return nil, false
	}
	if depth(body) > maxFastDepth || !json.Valid(body) {
		return nil, false
	}
	// Exactly these keys, each once, spelled so (json.Unmarshal would take
	// "Method" for "method").
	var env struct{ JSONRPC, ID, Method, Params json.RawMessage }
	if !members(body, func(key string, v []byte) bool {
		var f *json.RawMessage
		switch key {
		case "jsonrpc":
			f = &env.JSONRPC
		case "id":
			f = &env.ID
		case "method":
			f = &env.Method
		case "params":
			f = &env.Params
		default:
			return false
		}
		if *f != nil {
			return false
		}
		*f = v
		return true
	}) {
		return nil, false
	}
	if string(env.JSONRPC) != `"2.0"` || string(env.Method) != `"tools/call"` || len(env.Params) == 0 {
		return nil, false
	}
	id, ok := fastID(env.ID)
	if !ok {
		return nil, false
	}
	return &jsonrpc.Request{ID: id, Method: "tools/call", Params: env.Params}, true
}

// fastID decodes a request id the fast path takes: a JSON string, or an
// integer of at most 15 digits.
func fastID(raw json.RawMessage) (jsonrpc.ID, bool) {
	if len(raw) == 0 {
		return jsonrpc.ID{}, false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return jsonrpc.ID{}, false
		}
		id, err := jsonrpc.MakeID(s)
		return id, err == nil
	}
	digits := raw
	if digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 15 || (digits[0] == '0' && len(raw) > 1) {
		return jsonrpc.ID{}, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return jsonrpc.ID{}, false
		}
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return jsonrpc.ID{}, false
	}
	id, err := jsonrpc.MakeID(float64(n))
	return id, err == nil
}

// serveFastLegacy serves a fast call posted to legacy SSE session s: the
// answer is a message event on the session's stream, as the SDK writes
// it. It does not block.
func (in *instance) serveFastLegacy(r context.Context, s *localSession, st *legacysse.Stream, c fastCall, h http.Header) bool {
	ctx, done, ok := s.fast.start(r, in.ctx, c.id, in.backend.(*restTools))
	if !ok {
		return false // the SDK answers a repeated id
	}
	in.workers.run(func() {
		defer done()
		data := in.runFast(ctx, s, c, h)
		done()
		_ = st.Send(data)
	})
	return true
}

// Keys of the _meta of a stateless (2026-07-28) request.
const (
	metaClientInfo         = "io.modelcontextprotocol/clientInfo"
	metaClientCapabilities = "io.modelcontextprotocol/clientCapabilities"
	metaServerInfo         = "io.modelcontextprotocol/serverInfo"
)

// statelessFastCall returns the call of a stateless (2026-07-28) POST
// when the fast path serves it: one tools/call whose headers name it
// (Mcp-Method, Mcp-Name) and whose _meta holds the protocol version of the
// request's header, the client's capabilities and at most its name and
// version, and nothing else.
func (in *instance) statelessFastCall(r *http.Request, body []byte) (fastCall, bool) {
	pv := r.Header.Get(front.ProtocolVersionHeader)
	if !in.fast || r.Method != http.MethodPost || pv != front.StatelessVersion ||
		!front.IsJSONContent(r) || r.Header.Get("Mcp-Method") != "tools/call" {
		return fastCall{}, false
	}
	if jsonOK, sseOK := front.Accepts(r); !jsonOK || !sseOK {
		return fastCall{}, false
	}
	for k := range r.Header {
		if len(k) >= len("Mcp-Param-") && http.CanonicalHeaderKey(k[:len("Mcp-Param-")]) == "Mcp-Param-" {
			return fastCall{}, false
		}
	}
	msg, ok := fastMessage(body)
	if !ok {
		return fastCall{}, false
	}
	req, ok := msg.(*jsonrpc.Request)
	if !ok || !req.IsCall() || req.Method != "tools/call" {
		return fastCall{}, false
	}
	var p struct {
		Name      string                     `json:"name"`
		Arguments json.RawMessage            `json:"arguments"`
		Meta      map[string]json.RawMessage `json:"_meta"`
	}
	if len(req.Params) == 0 || depth(req.Params) > maxFastDepth || strictKeys(req.Params, "name", "arguments", "_meta") != nil ||
		json.Unmarshal(req.Params, &p) != nil || p.Meta == nil {
		return fastCall{}, false
	}
	if p.Name == "" || p.Name != r.Header.Get("Mcp-Name") || !plainName(p.Name) {
		return fastCall{}, false
	}
	if p.Arguments != nil && (len(p.Arguments) == 0 || p.Arguments[0] != '{') {
		return fastCall{}, false
	}
	var version string
	if json.Unmarshal(p.Meta[metaProtocolKey], &version) != nil || version != pv {
		return fastCall{}, false
	}
	for k, v := range p.Meta {
		switch k {
		case metaProtocolKey:
		case metaClientCapabilities:
			var caps map[string]json.RawMessage
			if json.Unmarshal(v, &caps) != nil || caps == nil {
				return fastCall{}, false
			}
			for _, c := range caps {
				if len(c) == 0 || c[0] != '{' {
					return fastCall{}, false
				}
			}
		case metaClientInfo:
			var info map[string]json.RawMessage
			if json.Unmarshal(v, &info) != nil || info == nil {
				return fastCall{}, false
			}
			for ik, iv := range info {
				if (ik != "name" && ik != "version" && ik != "title") || len(iv) == 0 || iv[0] != '"' {
					return fastCall{}, false
				}
			}
		default:
			return fastCall{}, false
		}
	}
	if _, ok := p.Meta[metaClientCapabilities]; !ok {
		return fastCall{}, false
	}
	return fastCall{id: req.ID, name: p.Name, args: p.Arguments}, true
}

// strictKeys checks that the object raw has only the given keys, each at
// most once, with exactly that spelling.
func strictKeys(raw json.RawMessage, keys ...string) error {
	if !json.Valid(raw) {
		return errors.New("not JSON")
	}
	var seen []string
	var bad error
	if !members(raw, func(k string, _ []byte) bool {
		if slicesContains(seen, k) || !slicesContains(keys, k) {
			bad = fmt.Errorf("key %q", k)
			return false
		}
		seen = append(seen, k)
		return true
	}) {
		if bad != nil {
			return bad
		}
		return errors.New("not an object")
	}
	return nil
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// plainName reports whether a tool name is sent in the Mcp-Name header as
// is (printable ASCII).
func plainName(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// serveFastStateless serves a stateless (2026-07-28) fast call as the
// SDK's stateless handler does: an SSE stream with one message event and
// no event ids, or, for the protocol errors SEP-2575 maps to an HTTP
// status, that status with the JSON-RPC error as the body.
func (in *instance) serveFastStateless(w http.ResponseWriter, r *http.Request, c fastCall) {
	in.fastServed.Add(1)
	rest := in.backend.(*restTools)
	h := r.Header
	res, err := in.guardCall(r.Context(), nil, c.name, h, func(ctx context.Context) (mcp.Result, error) {
		return rest.call(ctx, c.name, c.args, h)
	})
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-cache, no-transform")
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Connection", "keep-alive")
	resp := &jsonrpc.Response{ID: c.id}
	if err != nil {
		resp.Error = err
		var we *jsonrpc.Error
		if errors.As(err, &we) {
			status := 0
			switch we.Code {
			case jsonrpc.CodeMethodNotFound:
				status = http.StatusNotFound
			case jsonrpc.CodeInvalidParams:
				status = http.StatusBadRequest
			}
			if status != 0 {
				data, _ := jsonrpc.EncodeMessage(resp)
				hdr.Set("Content-Type", "application/json")
				w.WriteHeader(status)
				_, _ = w.Write(data)
				return
			}
		}
	} else {
		// What the SDK adds to results of the new protocol: the server's
		// identity in _meta and the result type.
		res.SetMeta(map[string]any{metaServerInfo: &mcp.Implementation{Name: in.name, Version: pluginVersion}})
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(res); err != nil {
			resp.Error = fmt.Errorf("encode tool result: %w", err)
		} else {
			b := bytes.TrimRight(buf.Bytes(), "\n")
			b = append(b[:len(b)-1], `,"resultType":"complete"}`...)
			resp.Result = b
		}
	}
	data, err := jsonrpc.EncodeMessage(resp)
	if err != nil {
		data, _ = jsonrpc.EncodeMessage(&jsonrpc.Response{ID: c.id, Error: err})
	}
	// Not flushed, as in serveFastPOST: one write when the handler returns.
	hdr.Set("Transfer-Encoding", "chunked")
	_, _ = w.Write(appendSSE(nil, "message", "", "", data))
}
