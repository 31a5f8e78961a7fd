package rawrpc

import (
	"bytes"
	"encoding/json"
	"errors"
)

// A server's raw hook sees a client's POST body before the SDK server
// does. The SDK server decodes every message into its Go types, refuses
// methods it does not know and re-encodes what it forwards; the hook
// rewrites the messages a proxy passes through so that they reach its
// receiving middleware as raw JSON:
//
//   - a call becomes a call of Method (WrapCall) whose params the
//     middleware decodes into Params: the real method and its params as
//     written, under the same id, so the SDK frames the answer as usual;
//   - a response (the client's answer to a request the server sent) gets
//     a copy of its result, as a JSON string, in the result's _meta under
//     RawKey (Tag): the SDK decodes results into its types, and the copy
//     survives them (Untag).
//
// Tag serves the other direction too: a proxy's RT tags the params of the
// upstream's requests, which the SDK client decodes.

// RawKey is the _meta key that carries a tagged object as it was written.
const RawKey = "dev.gatehouse/raw"

// Message is one JSON-RPC message of a body, as written.
type Message struct {
	// JSON is the whole message.
	JSON json.RawMessage
	// ID is nil for a notification.
	ID json.RawMessage
	// Method is empty for a response.
	Method string
	Params json.RawMessage
	// Result is set for a successful response.
	Result json.RawMessage
}

// IsCall reports a request that wants an answer.
func (m *Message) IsCall() bool { return m.Method != "" && m.ID != nil }

// IsNotification reports a request without id.
func (m *Message) IsNotification() bool { return m.Method != "" && m.ID == nil }

// Split returns the messages of body, one message or a batch, and
// whether it is a batch.
func Split(body []byte) ([]Message, bool, error) {
	trimmed := bytes.TrimSpace(body)
	var elems []json.RawMessage
	batch := len(trimmed) > 0 && trimmed[0] == '['
	if batch {
		if err := json.Unmarshal(trimmed, &elems); err != nil {
			return nil, false, err
		}
	} else {
		elems = []json.RawMessage{trimmed}
	}
	out := make([]Message, len(elems))
	for i, e := range elems {
		var head struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
			Result json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(e, &head); err != nil {
			return nil, false, err
		}
		out[i] = Message{JSON: e, ID: head.ID, Method: head.Method, Params: head.Params, Result: head.Result}
	}
	return out, batch, nil
}

// Join is the body of msgs: one message, or a batch.
func Join(msgs []json.RawMessage, batch bool) []byte {
	if !batch && len(msgs) == 1 {
		return msgs[0]
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(m)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// WrapCall returns the call of Method that carries a call of method with
// id and params (nil for none) as written.
func WrapCall(id json.RawMessage, method string, params json.RawMessage) []byte {
	return Request(id, Method, Envelope(method, params))
}

// Envelope returns the params of Method that carry method and its params
// (nil for none) as written.
func Envelope(method string, params json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	b.WriteString(`{"method":`)
	quoted, _ := json.Marshal(method)
	b.Write(quoted)
	if len(params) > 0 {
		b.WriteString(`,"params":`)
		b.Write(params)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// Response returns the JSON-RPC response with id and result.
func Response(id, result json.RawMessage) []byte {
	var b bytes.Buffer
	b.WriteString(`{"jsonrpc":"2.0","id":`)
	b.Write(id)
	b.WriteString(`,"result":`)
	b.Write(result)
	b.WriteByte('}')
	return b.Bytes()
}

// Request returns the JSON-RPC request (a notification for a nil id).
func Request(id json.RawMessage, method string, params json.RawMessage) []byte {
	var b bytes.Buffer
	b.WriteString(`{"jsonrpc":"2.0"`)
	if id != nil {
		b.WriteString(`,"id":`)
		b.Write(id)
	}
	b.WriteString(`,"method":`)
	quoted, _ := json.Marshal(method)
	b.Write(quoted)
	if len(params) > 0 {
		b.WriteString(`,"params":`)
		b.Write(params)
	}
	b.WriteByte('}')
	return b.Bytes()
}

var errNotObject = errors.New("not a JSON object")

// Tag returns obj (params or a result) with a copy of itself, as a JSON
// string, in its _meta under RawKey.
func Tag(obj json.RawMessage) (json.RawMessage, error) {
	t := bytes.TrimSpace(obj)
	if len(t) == 0 || t[0] != '{' {
		return nil, errNotObject
	}
	return mergeMeta(obj, map[string]any{RawKey: string(obj)})
}

// Untag returns the object Tag kept in meta.
func Untag(meta map[string]any) (json.RawMessage, bool) {
	s, ok := meta[RawKey].(string)
	if !ok {
		return nil, false
	}
	return json.RawMessage(s), true
}
