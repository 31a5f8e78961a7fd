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
		"bad \xff utf-8 \xc3", `back\slash \u0041`, `{"json":[1,2.50,true,null]}`}
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
