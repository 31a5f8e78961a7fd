package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"
)

// The fast path's own encoding of a text result is byte for byte the SDK's,
// whatever the text holds: a client cannot tell which path answered.
func TestTextAnswerEncodesAsTheSDK(t *testing.T) {
	texts := []string{"", "Paris: 21.5 C", `<b>"quoted" & 'single'</b>`, "tab\tnew\nline\r\x00\x1f", "\u2028\u2029 \u00e9 天气 🌧",
		"bad \xff utf-8 \xc3", `back\slash \u0041`, `{"json":[1,2.50,true,null]}`,
		"{\n  \"description\": \"clear sky\",\r\n\t\"temperature\": 21.5\n}\n", "del \x7f", "~ }"}
	for _, text := range texts {
		for _, isError := range []bool{false, true} {
			for _, n := range []int64{0, 7, -3, 1 << 50} {
				id, err := jsonrpc.MakeID(float64(n))
				require.NoError(t, err)
				res := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}, IsError: isError}
				got, ok := textAnswer(id, res)
				require.True(t, ok)
				var buf bytes.Buffer
				enc := json.NewEncoder(&buf)
				enc.SetEscapeHTML(false)
				require.NoError(t, enc.Encode(res))
				want, err := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Result: json.RawMessage(bytes.TrimRight(buf.Bytes(), "\n"))})
				require.NoError(t, err)
				require.Equal(t, string(want), string(got), "text %q", text)
			}
		}
	}
	// Anything else is left to the SDK's encoders.
	sid, _ := jsonrpc.MakeID("a")
	id, _ := jsonrpc.MakeID(float64(1))
	for _, c := range []struct {
		id  jsonrpc.ID
		res mcp.Result
	}{
		{sid, &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "x"}}}},
		{id, &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "x"}}, StructuredContent: map[string]any{"a": 1}}},
		{id, &mcp.CallToolResult{Content: []mcp.Content{&mcp.ImageContent{Data: []byte("x"), MIMEType: "image/png"}}}},
		{id, &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "x", Annotations: &mcp.Annotations{Priority: 1}}}}},
	} {
		_, ok := textAnswer(c.id, c.res)
		require.False(t, ok, "%+v", c.res)
	}
}

// The envelope reader sees the members a JSON decoder sees: keys
// unescaped, values as written, whatever the spacing and nesting.
func TestMembersReadsObjectsAsJSONDoes(t *testing.T) {
	for _, src := range []string{
		`{}`, ` { } `, `{"a":1}`, "{\n\t\"a\" :\r\n 1 , \"b\":\"x,}]\\\"y\"}",
		`{"na\u006de":"v","o":{"p":[1,{"q":"}"}],"r":null},"l":[[],{}],"t":true,"n":-1.5e3}`,
		`{"e":"\\","f":"\\\"","g":[]}`,
	} {
		require.True(t, json.Valid([]byte(src)), src)
		var want map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(src), &want))
		got := map[string]json.RawMessage{}
		require.True(t, members([]byte(src), func(k string, v []byte) bool {
			got[k] = v
			return true
		}), src)
		require.Equal(t, len(want), len(got), src)
		for k, v := range want {
			require.Equal(t, string(v), string(got[k]), "%s: key %q", src, k)
		}
	}
	require.False(t, members([]byte(`[1]`), func(string, []byte) bool { return true }))
	require.Equal(t, 3, depth([]byte(`{"a":[{"b":"[[[{{"}]}`)))
	require.Equal(t, 1, depth([]byte(`{"a":"\"{"}`)))
}
