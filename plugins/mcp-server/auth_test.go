package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/front"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// issuer signs tokens and serves its JWKS.
type issuer struct {
	key  *rsa.PrivateKey
	srv  *httptest.Server
	name string
}

func startIssuer(t *testing.T) *issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	is := &issuer{key: key, name: "https://issuer.test"}
	is.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	}))
	t.Cleanup(is.srv.Close)
	return is
}

func (is *issuer) token(t *testing.T, sub, iss, aud string, exp time.Time) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"sub": sub, "iss": iss, "aud": aud, "exp": exp.Unix()})
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(is.key)
	require.NoError(t, err)
	return s
}

// headerTransport adds headers to every request.
type headerTransport struct {
	base http.RoundTripper
	hdr  map[string]string
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.hdr {
		r.Header.Set(k, v)
	}
	return h.base.RoundTrip(r)
}

func TestJWTAuthAsOAuthResourceServer(t *testing.T) {
	var upstreamAuth atomic.Value
	upstreamAuth.Store("unset")
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamAuth.Store(r.Header.Get("Authorization"))
		_, _ = io.WriteString(w, `{"city":"x","temp":1}`)
	}))
	t.Cleanup(backend.Close)
	is := startIssuer(t)
	def := restDefinition("weather", backend.URL, fmt.Sprintf(`,
  "auth": {"type": "jwt", "issuer": %q, "jwksURL": %q, "audience": "mcp"}`, is.name, is.srv.URL))
	_, rc := startRedis(t)
	g := startGateway(t, newTestHost(t, "gw-a", rc), def, testOptions())
	endpoint := g.url("/mcp-servers/weather")

	// No token: 401 pointing at the protected resource metadata.
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(initializeBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	metaURL := g.url("/mcp-servers/weather/.well-known/oauth-protected-resource")
	require.Equal(t, fmt.Sprintf("Bearer resource_metadata=%q", metaURL), resp.Header.Get("WWW-Authenticate"))

	for _, u := range []string{metaURL, g.url("/.well-known/oauth-protected-resource/mcp-servers/weather")} {
		resp, err := http.Get(u)
		require.NoError(t, err)
		var meta struct {
			Resource             string   `json:"resource"`
			AuthorizationServers []string `json:"authorization_servers"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&meta))
		resp.Body.Close()
		require.Equal(t, endpoint, meta.Resource)
		require.Equal(t, []string{is.name}, meta.AuthorizationServers)
	}

	for name, tok := range map[string]string{
		"expired":      is.token(t, "alice", is.name, "mcp", time.Now().Add(-time.Hour)),
		"wrong issuer": is.token(t, "alice", "https://other.test", "mcp", time.Now().Add(time.Hour)),
		"wrong aud":    is.token(t, "alice", is.name, "other", time.Now().Add(time.Hour)),
		"garbage":      "not-a-jwt",
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(initializeBody))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			require.Contains(t, resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`)
		})
	}

	alice := &http.Client{Transport: headerTransport{http.DefaultTransport, map[string]string{
		"Authorization": "Bearer " + is.token(t, "alice", is.name, "mcp", time.Now().Add(time.Hour))}}}
	cs := connect(t, endpoint, alice, nil)
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "get_weather", Arguments: map[string]any{"city": "x"}})
	require.NoError(t, err)
	require.False(t, res.IsError)
	require.Equal(t, "", upstreamAuth.Load(), "the client's token is not passed upstream")

	// Bob cannot use Alice's session.
	bobToken := is.token(t, "bob", is.name, "mcp", time.Now().Add(time.Hour))
	req, _ = http.NewRequest(http.MethodPost, endpoint, strings.NewReader(`{"jsonrpc":"2.0","id":5,"method":"tools/list"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+bobToken)
	req.Header.Set(front.SessionIDHeader, cs.ID())
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}

func TestAPIKeyAuthUsesKeyAuthConsumers(t *testing.T) {
	backend := startBackend(t)
	def := restDefinition("weather", backend.srv.URL, `, "auth": {"type": "api-key", "consumers": ["alice"]}`)
	g := startGateway(t, newTestHost(t, "gw-a", nil), def, testOptions())
	// Stand in for the key-auth plugin earlier in the chain.
	keyAuth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		consumers := map[string]string{"key-a": "alice", "key-b": "bob"}
		if c, ok := consumers[r.Header.Get("X-Api-Key")]; ok {
			r = r.WithContext(pluginapi.WithConsumer(r.Context(), c))
		}
		g.inst.Handler(nil).ServeHTTP(w, r)
	}))
	t.Cleanup(func() { keyAuth.CloseClientConnections(); keyAuth.Close() })
	endpoint := keyAuth.URL + "/mcp-servers/weather"

	status := func(key string) int {
		req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(initializeBody))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if key != "" {
			req.Header.Set("X-Api-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusUnauthorized, status(""))
	require.Equal(t, http.StatusForbidden, status("key-b"), "bob is not among the server's consumers")
	require.Equal(t, http.StatusOK, status("key-a"))

	cs := connect(t, endpoint, &http.Client{Transport: headerTransport{http.DefaultTransport, map[string]string{"X-Api-Key": "key-a"}}}, nil)
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"n": 2}})
	require.NoError(t, err)
	require.Equal(t, "echo 2", textOf(t, res))
}

func TestRateLimitPerConsumerIsSharedByInstances(t *testing.T) {
	backend := startBackend(t)
	_, rc := startRedis(t)
	def := restDefinition("weather", backend.srv.URL, `, "rateLimit": {"toolCallsPerMinute": 3}`)
	a := startGateway(t, newTestHost(t, "gw-a", rc), def, testOptions())
	b := startGateway(t, newTestHost(t, "gw-b", rc), def, testOptions())
	ctx := context.Background()

	// A fixed window may roll over during the test; then try once more.
	for attempt := 0; ; attempt++ {
		window := time.Now().Truncate(time.Minute)
		csA := connect(t, a.url("/mcp-servers/weather"), nil, nil)
		csB := connect(t, b.url("/mcp-servers/weather"), nil, nil)
		var errs []error
		for _, cs := range []*mcp.ClientSession{csA, csA, csB, csB} {
			_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"n": 1}})
			errs = append(errs, err)
		}
		if !time.Now().Truncate(time.Minute).Equal(window) && attempt == 0 {
			continue
		}
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		require.NoError(t, errs[2])
		require.ErrorContains(t, errs[3], "rate limit exceeded: anonymous clients may make 3 tool calls per minute")
		require.Equal(t, 1.0, counterValue(t, b.host.reg, "gatehouse_mcp_tool_calls_total", map[string]string{"outcome": "rate_limited"}))
		return
	}
}

func TestAllowToolsHeaderNarrowsTools(t *testing.T) {
	backend := startBackend(t)
	g := startGateway(t, newTestHost(t, "gw-a", nil), restDefinition("weather", backend.srv.URL, ""), testOptions())
	hc := &http.Client{Transport: headerTransport{http.DefaultTransport, map[string]string{front.AllowToolsHeader: "echo, secret_tool"}}}
	cs := connect(t, g.url("/mcp-servers/weather"), hc, nil)
	ctx := context.Background()
	lt, err := cs.ListTools(ctx, nil)
	require.NoError(t, err)
	require.Len(t, lt.Tools, 1)
	require.Equal(t, "echo", lt.Tools[0].Name, "the header narrows; it never widens allowTools")
	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_weather", Arguments: map[string]any{"city": "x"}})
	require.ErrorContains(t, err, "unknown tool")
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"n": 4}})
	require.NoError(t, err)
	require.Equal(t, "echo 4", textOf(t, res))
}

func TestJSONResponseMode(t *testing.T) {
	backend := startBackend(t)
	o := testOptions()
	o.jsonResponse = true
	g := startGateway(t, newTestHost(t, "gw-a", nil), restDefinition("weather", backend.srv.URL, ""), o)
	endpoint := g.url("/mcp-servers/weather")
	cs := connect(t, endpoint, nil, nil)
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"n":5}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(front.SessionIDHeader, cs.ID())
	req.Header.Set(front.ProtocolVersionHeader, "2025-11-25")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var m struct {
		Result mcp.CallToolResult `json:"result"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	require.Equal(t, "echo 5", m.Result.Content[0].(*mcp.TextContent).Text)
}
