package rawrpc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"
)

// rawServer is a Streamable HTTP MCP server written by hand: it answers
// every request with the raw JSON result set for its method, as a newer or
// extended server would, and records the requests it received.
type rawServer struct {
	*httptest.Server
	results map[string]string // method → raw result, or error object with "error:" prefix

	mu       sync.Mutex
	received []map[string]json.RawMessage
}

func startRawServer(t *testing.T, results map[string]string) *rawServer {
	t.Helper()
	s := &rawServer{results: results}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var msg map[string]json.RawMessage
		if err := json.Unmarshal(body, &msg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.received = append(s.received, msg)
		s.mu.Unlock()
		var method string
		_ = json.Unmarshal(msg["method"], &method)
		if _, isCall := msg["id"]; !isCall {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		result := s.results[method]
		if method == "initialize" {
			result = `{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"raw","version":"1"}}`
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Mcp-Session-Id", "raw-session")
		if result == "" {
			_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":`+string(msg["id"])+`,"error":{"code":-32601,"message":"no such method","data":{"method":"`+method+`"}}}`)
			return
		}
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":`+string(msg["id"])+`,"result":`+result+`}`)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *rawServer) last(method string) map[string]json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.received) - 1; i >= 0; i-- {
		var m string
		_ = json.Unmarshal(s.received[i]["method"], &m)
		if m == method {
			return s.received[i]
		}
	}
	return nil
}

func (s *rawServer) methods() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, msg := range s.received {
		var m string
		_ = json.Unmarshal(msg["method"], &m)
		out = append(out, m)
	}
	return out
}

func connect(t *testing.T, url string) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	require.NoError(t, Register(c))
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint:   url,
		HTTPClient: &http.Client{Transport: RT{Base: http.DefaultTransport}},
	}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// A result with what the SDK's types do not know: an unknown content type
// (the typed CallTool refuses the whole result), unknown members at every
// level, and a structuredContent that does not match any output schema.
const extendedResult = `{"content":[{"type":"hologram","frames":[1,2,3]},{"type":"text","text":"<b>&</b>","x-annotation":{"k":"v"}}],` +
	`"structuredContent":{"n":1.50},"isError":false,"x-vendor":{"trace":"abc"},"_meta":{"com.example/cost":7}}`

func TestCallPassesParamsAndResultAsTheyAre(t *testing.T) {
	srv := startRawServer(t, map[string]string{"tools/call": extendedResult})
	cs := connect(t, srv.URL)

	// What the SDK's typed CallTool makes of it: an error, the result is lost.
	_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "x"})
	require.Error(t, err, "the SDK's typed call refuses an unknown content type; the raw call must not")

	params := `{"name":"x","arguments":{"big":12345678901234567890,"s":"<&>"},"x-extra":[true],"_meta":{"progressToken":"p1"}}`
	res, err := Call(context.Background(), cs, "tools/call", json.RawMessage(params))
	require.NoError(t, err)
	require.JSONEq(t, extendedResult, string(res.JSON), "the result as the server wrote it")

	got := srv.last("tools/call")
	require.NotNil(t, got, "the server received the real method: %v", srv.methods())
	require.JSONEq(t, params, string(got["params"]), "the params as the caller gave them, unknown members and big numbers included")
	require.NotContains(t, srv.methods(), Method, "the carrier method never reaches the peer")
}

func TestCallReturnsThePeersError(t *testing.T) {
	srv := startRawServer(t, nil)
	cs := connect(t, srv.URL)
	_, err := Call(context.Background(), cs, "vendor/unknown", nil)
	var we *jsonrpc.Error
	require.True(t, errors.As(err, &we), "a JSON-RPC error: %v", err)
	require.Equal(t, int64(-32601), we.Code)
	require.Equal(t, "no such method", we.Message)
	require.JSONEq(t, `{"method":"vendor/unknown"}`, string(we.Data))
	msg := srv.last("vendor/unknown")
	require.NotNil(t, msg)
	_, hasParams := msg["params"]
	require.False(t, hasParams, "no params were given, none are sent")
}

// A receiving middleware of an mcp.Server may return a Result: the client
// gets it as it is.
func TestResultIsServedAsItIs(t *testing.T) {
	s := mcp.NewServer(&mcp.Implementation{Name: "s", Version: "1"}, nil)
	s.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method == "tools/call" {
				return &Result{JSON: json.RawMessage(extendedResult)}, nil
			}
			return next(ctx, method, req)
		}
	})
	srv := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	t.Cleanup(srv.Close)
	cs := connect(t, srv.URL)
	res, err := Call(context.Background(), cs, "tools/call", json.RawMessage(`{"name":"x","arguments":{}}`))
	require.NoError(t, err)
	require.JSONEq(t, extendedResult, string(res.JSON))
}

func TestMeta(t *testing.T) {
	r := &Result{JSON: json.RawMessage(`{"content":[],"x":{"y":1}}`)}
	require.Nil(t, r.GetMeta())
	r.SetMeta(map[string]any{"a": "b"})
	require.JSONEq(t, `{"content":[],"x":{"y":1},"_meta":{"a":"b"}}`, string(r.JSON))
	require.Equal(t, map[string]any{"a": "b"}, r.GetMeta())
	require.NoError(t, r.SetMember("resultType", "complete"))
	require.JSONEq(t, `{"content":[],"x":{"y":1},"_meta":{"a":"b"},"resultType":"complete"}`, string(r.JSON))

	hop := func(k string) bool { return k == "io.modelcontextprotocol/protocolVersion" }
	in := json.RawMessage(`{"name":"t","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","progressToken":1}}`)
	out, err := DropMeta(in, hop)
	require.NoError(t, err)
	require.JSONEq(t, `{"name":"t","_meta":{"progressToken":1}}`, string(out))
	out, err = DropMeta(json.RawMessage(`{"name":"t","_meta":{"io.modelcontextprotocol/protocolVersion":"x"}}`), hop)
	require.NoError(t, err)
	require.JSONEq(t, `{"name":"t"}`, string(out))
	same := json.RawMessage(`{"name":"t", "_meta":{"progressToken":1}}`)
	out, err = DropMeta(same, hop)
	require.NoError(t, err)
	require.Equal(t, string(same), string(out), "nothing to drop: unchanged, byte for byte")

	p := &Params{Method: "tools/call", Params: json.RawMessage(`{"name":"t","_meta":{"progressToken":1}}`)}
	p.Meta = map[string]any{"io.modelcontextprotocol/protocolVersion": "2026-07-28"}
	data, err := p.MarshalJSON()
	require.NoError(t, err)
	real, method, ok := Unwrap([]byte(`{"jsonrpc":"2.0","id":3,"method":"` + Method + `","params":` + string(data) + `}`))
	require.True(t, ok)
	require.Equal(t, "tools/call", method)
	require.JSONEq(t, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t","_meta":{"progressToken":1,"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`, string(real))
}

func TestUnwrapLeavesOtherMessages(t *testing.T) {
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"gatehouse/raw"}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"text":"gatehouse/raw"}}`,
		`not json "gatehouse/raw"`,
		`{"jsonrpc":"2.0","id":1,"method":"gatehouse/raw","params":{}}`,
	} {
		out, _, ok := Unwrap([]byte(body))
		require.False(t, ok, body)
		require.Equal(t, body, string(out))
	}
}

func TestFilterTools(t *testing.T) {
	const list = `{"tools":[` +
		`{"name":"a","description":"A","inputSchema":{"type":"object"},"x-new":{"k":[1,2]},"icons":[{"src":"data:,"}]},` +
		`{"name":"b","description":"B","inputSchema":{"type":"object"}},` +
		`{"name":"c","inputSchema":{"type":"object"},"execution":{"taskSupport":"optional"}}` +
		`],"nextCursor":"n2","x-list":true}`
	t.Run("NothingChanges", func(t *testing.T) {
		r := &Result{JSON: json.RawMessage(list)}
		n, err := r.FilterTools(func(string) (bool, string) { return true, "" })
		require.NoError(t, err)
		require.Equal(t, 3, n)
		require.Equal(t, list, string(r.JSON), "not re-encoded")
	})
	t.Run("DropAndDescribe", func(t *testing.T) {
		r := &Result{JSON: json.RawMessage(list)}
		n, err := r.FilterTools(func(name string) (bool, string) {
			switch name {
			case "a":
				return true, "A, described by the gateway"
			case "c":
				return true, ""
			}
			return false, ""
		})
		require.NoError(t, err)
		require.Equal(t, 2, n)
		require.JSONEq(t, `{"tools":[`+
			`{"name":"a","description":"A, described by the gateway","inputSchema":{"type":"object"},"x-new":{"k":[1,2]},"icons":[{"src":"data:,"}]},`+
			`{"name":"c","inputSchema":{"type":"object"},"execution":{"taskSupport":"optional"}}`+
			`],"nextCursor":"n2","x-list":true}`, string(r.JSON), "the kept tools and the other members as they were")
		var next string
		require.NoError(t, r.Member("nextCursor", &next))
		require.Equal(t, "n2", next)
	})
	t.Run("NotAList", func(t *testing.T) {
		r := &Result{JSON: json.RawMessage(`{"tools":{"name":"a"}}`)}
		_, err := r.FilterTools(func(string) (bool, string) { return true, "" })
		require.Error(t, err)
	})
}

func TestAsIs(t *testing.T) {
	p := &AsIs{JSON: json.RawMessage(`{"message":"m","requestedSchema":{"type":"object","x-ui":{"order":["b","a"]}}}`)}
	data, err := p.MarshalJSON()
	require.NoError(t, err)
	require.Equal(t, string(p.JSON), string(data))
	p.Meta = map[string]any{"k": 1}
	data, err = p.MarshalJSON()
	require.NoError(t, err)
	require.JSONEq(t, `{"message":"m","requestedSchema":{"type":"object","x-ui":{"order":["b","a"]}},"_meta":{"k":1}}`, string(data))
	data, err = (&AsIs{}).MarshalJSON()
	require.NoError(t, err)
	require.Equal(t, "{}", string(data))
}
