package rawrpc

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"
)

func TestNotifyAndInitializeLeaveAsWritten(t *testing.T) {
	srv := startRawServer(t, nil)
	c := mcp.NewClient(&mcp.Implementation{Name: "sdk-name", Version: "1"}, nil)
	require.NoError(t, Register(c))
	initParams := `{"protocolVersion":"2025-03-26","capabilities":{"tasks":{"list":{}},"x-cap":1},"clientInfo":{"name":"real-client","version":"9","x-c":true},"x-extra":"e"}`
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint:   srv.URL,
		HTTPClient: &http.Client{Transport: RT{Base: http.DefaultTransport, Initialize: json.RawMessage(initParams)}},
	}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })

	got := srv.last("initialize")
	require.NotNil(t, got)
	require.JSONEq(t, `{"protocolVersion":"2025-11-25","capabilities":{"tasks":{"list":{}},"x-cap":1},"clientInfo":{"name":"real-client","version":"9","x-c":true},"x-extra":"e"}`,
		string(got["params"]), "the client's params with the SDK client's protocol version")

	params := `{"n":12345678901234567890,"x":["<&>"]}`
	require.NoError(t, Notify(context.Background(), cs, "notifications/vendor", json.RawMessage(params)))
	got = srv.last("notifications/vendor")
	require.NotNil(t, got, "the server received the real method: %v", srv.methods())
	require.JSONEq(t, params, string(got["params"]))
	_, hasID := got["id"]
	require.False(t, hasID, "a notification has no id")
	require.NotContains(t, srv.methods(), NotifyMethod)
}

func TestWrapSplitAndTag(t *testing.T) {
	body := []byte(`[{"jsonrpc":"2.0","id":7,"method":"vendor/x","params":{"a":[1,2]}},{"jsonrpc":"2.0","method":"notifications/y"},{"jsonrpc":"2.0","id":"s","result":{"k":1}}]`)
	msgs, batch, err := Split(body)
	require.NoError(t, err)
	require.True(t, batch)
	require.Len(t, msgs, 3)
	require.True(t, msgs[0].IsCall())
	require.True(t, msgs[1].IsNotification())
	require.JSONEq(t, `{"k":1}`, string(msgs[2].Result))

	wrapped := WrapCall(msgs[0].ID, msgs[0].Method, msgs[0].Params)
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params Params          `json:"params"`
	}
	require.NoError(t, json.Unmarshal(wrapped, &m))
	require.Equal(t, "7", string(m.ID))
	require.Equal(t, Method, m.Method)
	require.Equal(t, "vendor/x", m.Params.Method)
	require.Equal(t, `{"a":[1,2]}`, string(m.Params.Params), "the params byte for byte")
	require.JSONEq(t, `[{"jsonrpc":"2.0","id":"s","result":{"k":1}}]`, string(Join([]json.RawMessage{msgs[2].JSON}, true)))

	tagged, err := Tag(json.RawMessage(`{"role":"assistant","x-a":{"z":null},"_meta":{"k":"v"}}`))
	require.NoError(t, err)
	var decoded struct {
		Meta map[string]any `json:"_meta"`
	}
	require.NoError(t, json.Unmarshal(tagged, &decoded))
	require.Equal(t, "v", decoded.Meta["k"], "the object's own _meta stays")
	raw, ok := Untag(decoded.Meta)
	require.True(t, ok)
	require.Equal(t, `{"role":"assistant","x-a":{"z":null},"_meta":{"k":"v"}}`, string(raw))
	_, err = Tag(json.RawMessage(`[1]`))
	require.Error(t, err)
}
