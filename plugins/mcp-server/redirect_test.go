package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// An mcp-proxy upstream that redirects to another host is not followed:
// the upstream URL's credentials and the session must stay with it.
func TestProxyDoesNotFollowRedirectsToAnotherHost(t *testing.T) {
	var evilHits atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		evilHits.Add(1)
		http.Error(w, "stolen", http.StatusTeapot)
	}))
	t.Cleanup(evil.Close)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, evil.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	upstreamURL := strings.Replace(redirector.URL, "http://", "http://svc:PROXY-PASS@", 1) + "/mcp"
	def := fmt.Sprintf(`{"name": "upstream", "type": "mcp-proxy",
  "server": {"name": "upstream", "transport": "http", "mcpServerURL": %q}}`, upstreamURL)
	g := startGateway(t, newTestHost(t, "gw-a", nil), def, testOptions())
	_, body := rawPOST(t, g.url("/mcp-servers/upstream"), "", initializeBody)
	require.Contains(t, body, "Temporary Redirect", "initialize fails with the upstream's redirect")
	require.NotContains(t, body, "PROXY-PASS")
	require.Zero(t, evilHits.Load(), "the redirect was followed to another host")
}
