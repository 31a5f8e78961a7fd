package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

const e2eJWTSecret = "e2e-secret-e2e-secret-e2e-secret-0123"

// recorder is an upstream that records every request it gets.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // "METHOD path"
	hdrs []http.Header
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			// Not a request: its body broke on the way (the gateway
			// answers the client 400 invalid_request_body).
			return
		}
		r.mu.Lock()
		r.seen = append(r.seen, req.Method+" "+req.URL.Path)
		r.hdrs = append(r.hdrs, req.Header.Clone())
		r.mu.Unlock()
		_, _ = fmt.Fprintf(w, "%s %s %d", req.Method, req.URL.Path, len(body))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// securityGatehouse starts gatehouse with a route "/" to up.
func securityGatehouse(t *testing.T, up *recorder, env ...string) (*testenv.Gatehouse, *testenv.Client) {
	t.Helper()
	g := testenv.StartGatehouse(t, testenv.Options{Env: append(bootstrapEnv(), append(env, "GATEHOUSE_JWT_SECRET="+e2eJWTSecret)...)})
	api := g.Login(t, adminUser, adminPass)
	require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/services", map[string]any{"name": "up", "endpoints": []map[string]any{{"url": up.URL, "weight": 1}}}, nil).StatusCode)
	require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/routes", map[string]any{"name": "all", "path": map[string]string{"type": "prefix", "value": "/"}, "service": "up"}, nil).StatusCode)
	return g, api
}

// rawSend writes payload on a new connection and returns everything the
// server answered until it closed. Payloads end with a request that asks
// to close, or are refused (the server closes then).
func rawSend(t *testing.T, addr, payload string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	require.NoError(t, c.SetDeadline(time.Now().Add(15*time.Second)))
	_, err = io.WriteString(c, payload)
	require.NoError(t, err)
	out, _ := io.ReadAll(c)
	return string(out)
}

func hostPort(t *testing.T, u string) string {
	t.Helper()
	return strings.TrimPrefix(u, "http://")
}

// TestSecuritySmugglingCorpus sends the request smuggling corpus to the
// gateway listener of the real binary. Each payload hides "GET /smuggled"
// where one reading of the framing would see a body and another a request,
// and ends with a canary request that closes the connection. The gateway
// must refuse the payload, or frame it one way and forward exactly what it
// framed: every request the upstream receives is one the gateway answered
// the client for on its own (a request the gateway framed and answered
// itself went through routing and plugins; it is pipelining, not
// smuggling). Smuggling would show as an upstream request with no answer of
// its own: the requests forwarded and the answers would disagree.
func TestSecuritySmugglingCorpus(t *testing.T) {
	up := newRecorder(t)
	g, _ := securityGatehouse(t, up)
	addr := hostPort(t, g.GatewayURL)
	const smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	const canary = "GET /canary HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	corpus := []struct {
		name, payload string
		refused       bool
	}{
		{"CL.TE", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, false},
		{"TE.CL", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(smuggled), smuggled), false},
		{"duplicate Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 37\r\n\r\n" + smuggled, true},
		{"comma Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 37\r\n\r\n" + smuggled, true},
		{"obfuscated TE: xchunked", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\nContent-Length: 37\r\n\r\n" + smuggled, true},
		{"obfuscated TE: space before colon", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + smuggled, true},
		{"obfuscated TE: chunked, identity", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\nContent-Length: 37\r\n\r\n" + smuggled, true},
		{"obfuscated TE: identity, chunked", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n" + smuggled, true},
		{"obfuscated TE: two headers", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\nContent-Length: 37\r\n\r\n" + smuggled, true},
		{"obs-fold", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 37\r\n\r\n" + smuggled, false},
		{"bare CR in a header", "POST /a HTTP/1.1\r\nHost: x\r\nX-A: 1\rTransfer-Encoding: chunked\r\nContent-Length: 37\r\n\r\n" + smuggled, true},
		{"bare LF line ends", "POST /a HTTP/1.1\nHost: x\nContent-Length: 37\nTransfer-Encoding: chunked\n\n0\n\n" + smuggled, false},
		{"NUL in a header", "POST /a HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\nContent-Length: 37\r\n\r\n" + smuggled, true},
		{"negative Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n" + smuggled, true},
		{"overflowing Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n" + smuggled, true},
		{"plus-signed Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: +37\r\n\r\n" + smuggled, true},
		{"overflowing chunk size", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n" + smuggled, false},
		{"negative chunk size", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-25\r\n" + smuggled, false},
		{"HTTP/0.9 request line", "GET /smuggled\r\n\r\n", true},
		{"HTTP/2.0 request line", "GET /smuggled HTTP/2.0\r\nHost: x\r\n\r\n", true},
		{"TE on HTTP/1.0", "POST /a HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 37\r\n\r\n" + smuggled, false},
		{"space in Host", "GET /a HTTP/1.1\r\nHost: x y\r\n\r\n" + smuggled, true},
	}
	for _, tc := range corpus {
		t.Run(tc.name, func(t *testing.T) {
			before := len(up.requests())
			out := rawSend(t, addr, tc.payload+canary)
			require.Regexp(t, `^HTTP/1\.[01] \d\d\d`, out, "the gateway answers")
			after := up.requests()[before:]
			answers := strings.Count(out, "HTTP/1.")
			// No desync: every request the upstream got was one the gateway
			// framed itself and answered on its own, so nothing was hidden
			// in another request's body.
			require.LessOrEqual(t, len(after), answers, "the upstream got more requests than the client got answers: %v\n%s", after, out)
			for _, r := range after {
				require.Contains(t, out, r+" ", "the upstream got %q, which the client never got an answer for\n%s", r, out)
			}
			t.Logf("%s: upstream got %v; gateway answered %d time(s), first %q", tc.name, after, answers, out[:min(len(out), 12)])
			if tc.refused {
				require.Empty(t, after, "refused before anything reached the upstream\n%s", out)
				require.Regexp(t, `^HTTP/1\.1 (400|501|505)`, out)
				require.Equal(t, 1, answers)
			}
		})
	}
}

// TestSecurityListenerLimits: a 1.1 MB header is 431 on both listeners;
// spoofed forwarding headers neither reach the upstream nor the access
// log; the database is private; huge values do not make huge log lines.
func TestSecurityListenerLimits(t *testing.T) {
	up := newRecorder(t)
	g, _ := securityGatehouse(t, up)
	for _, base := range []string{g.GatewayURL, g.ConsoleURL} {
		out := rawSend(t, hostPort(t, base), "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 1100<<10)+"\r\n\r\n")
		require.True(t, strings.HasPrefix(out, "HTTP/1.1 431"), "%s: %.200s", base, out)
	}

	// Spoofed client address and internal headers.
	req, err := http.NewRequest("GET", g.GatewayURL+"/spoof", nil)
	require.NoError(t, err)
	req.Header.Set("X-Forwarded-For", "6.6.6.6")
	req.Header.Set("X-Real-IP", "6.6.6.6")
	req.Header.Set("X-Gatehouse-Consumer", "admin")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	up.mu.Lock()
	h := up.hdrs[len(up.hdrs)-1]
	up.mu.Unlock()
	require.Equal(t, "127.0.0.1", h.Get("X-Real-Ip"))
	require.Equal(t, "127.0.0.1", h.Get("X-Forwarded-For"))
	require.Empty(t, h.Get("X-Gatehouse-Consumer"))

	// A 900 KB username on failed logins.
	huge := strings.Repeat("u", 900<<10)
	for range 3 {
		resp := g.API().Do(t, "POST", "/auth/login", map[string]string{"username": huge, "password": "whatever-pass"}, nil)
		require.Contains(t, []int{http.StatusUnauthorized, http.StatusTooManyRequests}, resp.StatusCode)
	}
	testenv.WaitFor(t, 10*time.Second, "the access line of /spoof in gateway.log", func() bool {
		b, _ := os.ReadFile(g.LogFile)
		return bytes.Contains(b, []byte("path=/spoof"))
	})
	logData, err := os.ReadFile(g.LogFile)
	require.NoError(t, err)
	for _, line := range strings.Split(string(logData), "\n") {
		require.Less(t, len(line), 16<<10, "a log line is capped: %.200s", line)
		if strings.Contains(line, "path=/spoof") {
			require.Contains(t, line, "client=127.0.0.1", "the access log names the real client")
			require.NotContains(t, line, "6.6.6.6")
		}
	}
	require.Contains(t, string(logData), "…[truncated ", "the cut is visible")

	for _, name := range []string{"gatehouse.db", "gatehouse.db-wal"} {
		info, err := os.Stat(filepath.Join(g.DataDir, name))
		require.NoError(t, err, name)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "%s holds secrets", name)
	}
}

// TestSecurityJWTForgeriesOnTheConsoleListener sends forged login tokens
// to the real binary, whose JWT secret the test knows.
func TestSecurityJWTForgeriesOnTheConsoleListener(t *testing.T) {
	up := newRecorder(t)
	g, api := securityGatehouse(t, up)
	parts := strings.Split(api.Token, ".")
	require.Len(t, parts, 3)
	payload, err := jwt.NewParser().DecodeSegment(parts[1])
	require.NoError(t, err)
	var claims jwt.MapClaims
	require.NoError(t, json.Unmarshal(payload, &claims))
	sign := func(m jwt.SigningMethod, key any, mut func(jwt.MapClaims)) string {
		c := jwt.MapClaims{}
		for k, v := range claims {
			c[k] = v
		}
		if mut != nil {
			mut(c)
		}
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		require.NoError(t, err)
		return s
	}
	key := []byte(e2eJWTSecret)
	forged := map[string]string{
		"alg none":     sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil),
		"empty key":    sign(jwt.SigningMethodHS256, []byte{}, nil),
		"tampered":     parts[0] + "." + base64.RawURLEncoding.EncodeToString(bytes.Replace(payload, []byte(`"sub":"admin"`), []byte(`"sub":"admin2"`), 1)) + "." + parts[2],
		"expired":      sign(jwt.SigningMethodHS256, key, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }),
		"wrong issuer": sign(jwt.SigningMethodHS256, key, func(c jwt.MapClaims) { c["iss"] = "evil" }),
		"future nbf":   sign(jwt.SigningMethodHS256, key, func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }),
	}
	for name, tok := range forged {
		c := g.API()
		c.Token = tok
		var e apiErr
		resp := c.Do(t, "GET", "/auth/me", nil, &e)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, name)
		require.Equal(t, "unauthorized", e.Error.Code, name)
	}
	c := g.API()
	c.Token = sign(jwt.SigningMethodHS256, key, nil)
	require.Equal(t, http.StatusOK, c.Do(t, "GET", "/auth/me", nil, nil).StatusCode, "the control: re-signed with the real key")

	// Logout ends the token at once.
	require.Equal(t, http.StatusNoContent, api.Do(t, "POST", "/auth/logout", nil, nil).StatusCode)
	require.Equal(t, http.StatusUnauthorized, api.Do(t, "GET", "/auth/me", nil, nil).StatusCode, "a logged-out token is refused")
}

// TestSecurityBillionLaughsIsRefused sends exponentially expanding YAML to
// every endpoint that takes YAML.
func TestSecurityBillionLaughsIsRefused(t *testing.T) {
	up := newRecorder(t)
	g, api := securityGatehouse(t, up)
	var b strings.Builder
	b.WriteString("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		fmt.Fprintf(&b, "%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", n, n, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = n
	}
	b.WriteString("openapi: 3.0.0\nserver:\n  name: *i\n")
	for _, path := range []string{"/mcp-servers", "/mcp-servers/import/openapi?name=lol"} {
		resp := api.DoContentType(t, "POST", path, "application/yaml", b.String(), nil)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, path)
	}
	var health struct{ Status string }
	require.Equal(t, http.StatusOK, api.Do(t, "GET", "/health", nil, &health).StatusCode, "the process is still alive")
	_ = g
}

// TestSecurityHeaderSlowlorisIsCut: connections that send their headers
// byte by byte are closed after the 10 s header timeout, and other clients
// are served meanwhile.
func TestSecurityHeaderSlowlorisIsCut(t *testing.T) {
	up := newRecorder(t)
	g, _ := securityGatehouse(t, up)
	addr := hostPort(t, g.GatewayURL)
	const slow = 50
	closed := make(chan time.Duration, slow)
	start := time.Now()
	for range slow {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		_, err = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
		require.NoError(t, err)
		go func() {
			// Keep trickling a header until the server closes.
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			for range tick.C {
				if _, err := io.WriteString(c, "X-A: b\r\n"); err != nil {
					break
				}
				_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
				if _, err := c.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
					break
				}
				if time.Since(start) > 30*time.Second {
					break
				}
			}
			closed <- time.Since(start)
		}()
	}
	status, body, _ := gatewayGet(t, g, "", "/served-meanwhile")
	require.Equal(t, http.StatusOK, status, body)
	for range slow {
		d := <-closed
		require.Less(t, d, 25*time.Second, "a slow header connection was still open after %s", d)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
