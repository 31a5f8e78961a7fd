package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/front"
)

// forgingTransport adds a forged peer address to every request.
type forgingTransport struct{ base http.RoundTripper }

func (f forgingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.Header.Set(front.PeerHeader, "203.0.113.9:4444")
	return f.base.RoundTrip(r2)
}

// A tool that sends the client's socket address upstream (getSocketIP)
// gets the address of the client's connection, on the fast path and on the
// SDK's, whatever the client puts in the header that carries it inside the
// gateway.
func TestToolsSeeTheClientsOwnAddress(t *testing.T) {
	backend := startBackend(t)
	for _, fast := range []bool{true, false} {
		def := restDefinition("whereami", backend.srv.URL, fmt.Sprintf(`, "toolCallFastPath": %t`, fast))
		def = strings.Replace(def, `"headers": [{"key": "X-Api-Key", "value": "{{.config.apiKey}}"}]},
     "responseTemplate": {"body": "{{.city}}: {{.temp}} C"}}`, `"headers": [{"key": "X-Api-Key", "value": "{{.config.apiKey}}"}, {"key": "Authorization", "value": "{{getSocketIP}}"}]},
     "responseTemplate": {"body": "{{.city}} from {{.auth}}"}}`, 1)
		require.Contains(t, def, "getSocketIP")
		g := startGateway(t, newTestHost(t, "gw", nil), def, testOptions())
		hc := &http.Client{Transport: forgingTransport{base: http.DefaultTransport}}
		cs := connect(t, g.url("/mcp-servers/whereami"), hc, nil)
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "get_weather", Arguments: map[string]any{"city": "Paris"}})
		require.NoError(t, err)
		require.Equal(t, "Paris from 127.0.0.1", textOf(t, res), "fast path %t", fast)
		served := g.inst.fastServed.Load()
		require.Equal(t, fast, served > 0, "fast path %t served %d calls", fast, served)
	}
}
