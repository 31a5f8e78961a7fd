package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzFrontHandler sends arbitrary requests to every endpoint of an
// instance: it must never panic nor fail with a 5xx, and every JSON error
// it writes itself must be a JSON-RPC error.
func FuzzFrontHandler(f *testing.F) {
	methods := []string{http.MethodPost, http.MethodGet, http.MethodDelete, http.MethodPut}
	paths := []string{"", "/", "/sse", "/message?sessionId=x", "/message", "/other", "/message?sessionid="}
	f.Add(uint8(0), uint8(0), []byte(initializeBody), "", "", "application/json", "application/json, text/event-stream")
	f.Add(uint8(0), uint8(0), []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"n":1}}}`), "", "2026-07-28", "application/json", "application/json, text/event-stream")
	f.Add(uint8(0), uint8(0), []byte(`[{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}},{"jsonrpc":"2.0","method":"notifications/initialized"}]`), "", "2025-03-26", "application/json", "*/*")
	f.Add(uint8(0), uint8(0), []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), "abc", "2025-06-18", "application/json", "application/json, text/event-stream")
	f.Add(uint8(0), uint8(3), []byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`), "", "", "application/json", "")
	f.Add(uint8(1), uint8(2), []byte(nil), "", "", "", "text/event-stream")
	f.Add(uint8(2), uint8(0), []byte(nil), "abc", "", "", "")
	f.Add(uint8(0), uint8(0), []byte(`{"jsonrpc":"2.0","id":{},"method":7}`), "", "", "application/json; charset=utf-8", "application/json, text/event-stream")
	f.Add(uint8(0), uint8(0), []byte(`{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`), "", "", "application/json", "application/json, text/event-stream")

	backend := startBackend(f)
	host := newTestHost(f, "fuzz", nil)
	host.logger = slog.New(slog.DiscardHandler)
	o := testOptions()
	o.maxBodyBytes = 64 << 10
	g := startGateway(f, host, restDefinition("weather", backend.srv.URL, ""), o)
	h := g.inst.Handler(http.NotFoundHandler())

	f.Fuzz(func(t *testing.T, mi, pi uint8, body []byte, sid, version, ctype, accept string) {
		method := methods[int(mi)%len(methods)]
		path := "/mcp-servers/weather" + paths[int(pi)%len(paths)]
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		ctx, cancel := context.WithTimeout(req.Context(), 50*time.Millisecond)
		defer cancel()
		req = req.WithContext(ctx)
		for k, v := range map[string]string{"Mcp-Session-Id": sid, "Mcp-Protocol-Version": version, "Content-Type": ctype, "Accept": accept} {
			if v != "" && validHeaderValue(v) {
				req.Header.Set(k, v)
			}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		status := rec.Code
		require.Less(t, status, 500, "%s %s: %d %s", method, path, status, rec.Body.String())
		if status >= 400 && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			var m struct {
				JSONRPC string `json:"jsonrpc"`
				Error   *struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m), rec.Body.String())
			require.Equal(t, "2.0", m.JSONRPC)
			require.NotNil(t, m.Error)
			require.NotZero(t, m.Error.Code)
			require.NotEmpty(t, m.Error.Message)
		}
	})
}

func validHeaderValue(v string) bool {
	for _, c := range []byte(v) {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// decodeFlatArgs decodes what it takes exactly as json.Unmarshal does
// (the tool then sees the same arguments on either path).
func FuzzDecodeFlatArgs(f *testing.F) {
	for _, seed := range []string{
		`{"city":"Paris"}`, `{}`, ` { "a" : 1 , "b":-2.5e3,"c":true,"d":false,"e":null } `, `{"a":"x","a":"y"}`,
		`{"a\u0062":"x"}`, `{"a":"\u00e9"}`, `{"a":"é"}`, `{"a":[1]}`, `{"a":{"b":1}}`, `{"a":1e400}`,
		`{"a":0.1,"b":1E2,"c":-0}`, `[1]`, `"x"`, `{"a":"x"`, "{\"a\":\"\xff\"}", `{"":""}`, `null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := decodeFlatArgs(raw)
		if !ok {
			return
		}
		var want map[string]any
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("decodeFlatArgs took %q, which json.Unmarshal refuses: %v", raw, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decodeFlatArgs made %#v, json.Unmarshal %#v", raw, got, want)
		}
	})
}
