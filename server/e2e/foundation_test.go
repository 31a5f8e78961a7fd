package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

const (
	adminUser = "admin"
	adminPass = "correct-horse-battery"
)

func bootstrapEnv() []string {
	return []string{"GATEHOUSE_ADMIN_USER=" + adminUser, "GATEHOUSE_ADMIN_PASSWORD=" + adminPass}
}

type apiErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"details"`
	} `json:"error"`
}

// TestBootstrapAdminLoginAndSession: the administrator given in the
// environment exists once the process started, and logs in. The session's
// API behaviour (cookie, me, password change, throttling, the 401 wall) is
// in server/internal/admin/scenarios_auth_test.go.
func TestBootstrapAdminLoginAndSession(t *testing.T) {
	g := testenv.StartGatehouse(t, testenv.Options{Env: bootstrapEnv()})
	api := g.API()

	var status struct{ Initialized bool }
	api.Do(t, "GET", "/auth/status", nil, &status)
	require.True(t, status.Initialized, "the bootstrap administrator exists after start")

	var login struct {
		Token string `json:"token"`
	}
	resp := api.Do(t, "POST", "/auth/login", map[string]string{"username": adminUser, "password": adminPass}, &login)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, login.Token)
	require.NotNil(t, findCookie(resp, "gatehouse_session"), "login sets the console's session cookie")
}

// TestFirstRunInitWithoutBootstrap: without the bootstrap variables the
// process creates no default user; the first run asks for one.
func TestFirstRunInitWithoutBootstrap(t *testing.T) {
	g := testenv.StartGatehouse(t, testenv.Options{})
	api := g.API()
	var status struct{ Initialized bool }
	api.Do(t, "GET", "/auth/status", nil, &status)
	require.False(t, status.Initialized, "no default user: first run asks for an administrator")
	resp := api.Do(t, "POST", "/auth/init", map[string]string{"username": "root", "password": "long-enough-pw"}, nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	g := testenv.StartGatehouse(t, testenv.Options{Env: bootstrapEnv()})
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(g.ConsoleURL + p)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, p)
	}
	api := g.Login(t, adminUser, adminPass)
	var h struct {
		Status     string
		Version    string
		Ready      bool
		Components []struct{ Name, Kind, Status, Message string }
	}
	require.Equal(t, http.StatusOK, api.Do(t, "GET", "/health", nil, &h).StatusCode)
	require.Equal(t, "ok", h.Status)
	require.True(t, h.Ready)
	require.NotEmpty(t, h.Version)
	byName := map[string]string{}
	for _, c := range h.Components {
		byName[c.Kind+"/"+c.Name] = c.Status
	}
	require.Equal(t, "ok", byName["database/database"])
	require.Equal(t, "not_configured", byName["redis/redis"])
	require.Equal(t, "ok", byName["plugin/mcp-server"], "the bundled mcp-server plugin is verified and healthy")

	var plugins struct {
		Items []struct {
			Name, ImageAddress, Status, SHA256, Version string
			Required                                    bool
		}
		Total int
	}
	require.Equal(t, http.StatusOK, api.Do(t, "GET", "/plugins", nil, &plugins).StatusCode)
	require.Equal(t, len(plugins.Items), plugins.Total)
	found := false
	for _, p := range plugins.Items {
		if p.Name == "mcp-server" {
			found = true
			require.True(t, p.Required)
			require.Equal(t, "verified", p.Status)
			require.Len(t, p.SHA256, 64)
			require.True(t, strings.HasPrefix(p.ImageAddress, "file:///"), p.ImageAddress)
			require.True(t, strings.HasSuffix(p.ImageAddress, "/mcp-server.so"), p.ImageAddress)
		}
	}
	require.True(t, found, "mcp-server is listed")

	var sr struct {
		IntervalSeconds float64
		Items           []map[string]any
	}
	require.Equal(t, http.StatusOK, api.Do(t, "GET", "/metrics/series", nil, &sr).StatusCode)
	require.Equal(t, 10.0, sr.IntervalSeconds, "the dashboard's series has a point every 10 s")
	require.NotNil(t, sr.Items)

	req, _ := http.NewRequest("GET", g.ConsoleURL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+api.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), "go_goroutines")
	require.Contains(t, string(body), `gatehouse_admin_requests_total{method="GET",route="/api/v1/health",status="200"}`)
}

func TestPluginImageAddressEdit(t *testing.T) {
	g := testenv.StartGatehouse(t, testenv.Options{Env: bootstrapEnv()})
	api := g.Login(t, adminUser, adminPass)
	var e apiErr
	resp := api.Do(t, "PUT", "/plugins/mcp-server", map[string]string{"imageAddress": "ftp://example/x.so"}, &e)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "imageAddress", e.Error.Details[0].Field)
	resp = api.Do(t, "PUT", "/plugins/mcp-server", map[string]string{"imageAddress": "file:///nonexistent/mcp-server.so"}, &e)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, e.Error.Message, "/nonexistent/mcp-server.so")
	resp = api.Do(t, "PUT", "/plugins/nope", map[string]string{"imageAddress": "file:///x.so"}, &e)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Equal(t, "plugin_not_found", e.Error.Code)

	// Refusals changed nothing.
	var p struct {
		ImageAddress    string
		RestartRequired bool
		Status          string
	}
	api.Do(t, "GET", "/plugins/mcp-server", nil, &p)
	require.False(t, p.RestartRequired)
	original := p.ImageAddress

	// A copy elsewhere that no manifest describes needs a digest pin.
	copyPath := filepath.Join(t.TempDir(), "mcp-server.so")
	data, err := os.ReadFile(strings.TrimPrefix(original, "file://"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(copyPath, data, 0o644))
	resp = api.Do(t, "PUT", "/plugins/mcp-server", map[string]string{"imageAddress": "file://" + copyPath}, &e)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "an unpinned artifact outside the plugin dir would fail the next start")
	require.Contains(t, e.Error.Message, "#sha256=")

	// Pinned, it is accepted; it takes effect at restart.
	sum := sha256.Sum256(data)
	pinned := "file://" + copyPath + "#sha256=" + hex.EncodeToString(sum[:])
	resp = api.Do(t, "PUT", "/plugins/mcp-server", map[string]string{"imageAddress": pinned}, &p)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, p.RestartRequired, "a changed artifact needs a restart, and the API says so")
	require.Equal(t, "verified", p.Status, "the running artifact stays loaded")
	api.Do(t, "GET", "/plugins/mcp-server", nil, &p)
	require.Equal(t, pinned, p.ImageAddress)
}

func TestRequestAppearsInLogTailAndFollow(t *testing.T) {
	g := testenv.StartGatehouse(t, testenv.Options{Env: bootstrapEnv()})
	api := g.Login(t, adminUser, adminPass)

	marker := fmt.Sprintf("/api/v1/marker-%d", time.Now().UnixNano())
	resp, err := http.Get(g.ConsoleURL + marker)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	type lines struct {
		Items []struct{ Text, Level string }
		Total int
	}
	var got lines
	testenv.WaitFor(t, 5*time.Second, "the request in the log tail", func() bool {
		api.Do(t, "GET", "/logs/gateway?lines=50&q="+strings.TrimPrefix(marker, "/api/v1/"), nil, &got)
		return got.Total == 1
	})
	require.Contains(t, got.Items[0].Text, marker)
	require.Equal(t, "WARN", got.Items[0].Level)

	// Gateway traffic is in the same log: one access line per request.
	gwMarker := fmt.Sprintf("/gw-marker-%d", time.Now().UnixNano())
	resp, err = http.Get(g.GatewayURL + gwMarker + "?token=hidden")
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	testenv.WaitFor(t, 5*time.Second, "the gateway request in the log tail", func() bool {
		api.Do(t, "GET", "/logs/gateway?lines=50&q="+strings.TrimPrefix(gwMarker, "/"), nil, &got)
		return got.Total == 1
	})
	require.Contains(t, got.Items[0].Text, `msg="gateway request"`)
	require.Contains(t, got.Items[0].Text, "status=404")
	require.Contains(t, got.Items[0].Text, "request_id="+resp.Header.Get("X-Request-Id"))
	require.NotContains(t, got.Items[0].Text, "hidden", "the query string is not logged")

	var e apiErr
	require.Equal(t, http.StatusBadRequest, api.Do(t, "GET", "/logs/gateway?lines=999999", nil, &e).StatusCode)
	require.Equal(t, "lines", e.Error.Details[0].Field)

	// Live follow: a new request shows up on the stream.
	req, _ := http.NewRequest("GET", g.ConsoleURL+"/api/v1/logs/gateway/stream?q=follow-marker", nil)
	req.Header.Set("Authorization", "Bearer "+api.Token)
	sresp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = sresp.Body.Close() }()
	require.Equal(t, "text/event-stream", sresp.Header.Get("Content-Type"))
	r := bufio.NewReader(sresp.Body)
	_, err = r.ReadString('\n') // the opening comment: the follower is attached
	require.NoError(t, err)
	resp, err = http.Get(g.ConsoleURL + "/api/v1/follow-marker")
	require.NoError(t, err)
	_ = resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		require.True(t, time.Now().Before(deadline), "the followed line did not arrive")
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		if strings.HasPrefix(line, "data: ") {
			var l struct{ Text string }
			require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &l))
			require.Contains(t, l.Text, "/api/v1/follow-marker")
			break
		}
	}
}

func TestSecretsNeverReachTheLog(t *testing.T) {
	secret := "jwt-secret-that-must-stay-hidden-0123456789"
	g := testenv.StartGatehouse(t, testenv.Options{Env: append(bootstrapEnv(), "GATEHOUSE_JWT_SECRET="+secret)})
	api := g.Login(t, adminUser, adminPass)
	api.Do(t, "POST", "/auth/login", map[string]string{"username": adminUser, "password": "wrong-" + adminPass}, nil)
	data, err := os.ReadFile(g.LogFile)
	require.NoError(t, err)
	for _, s := range []string{adminPass, secret, api.Token} {
		require.NotContains(t, string(data), s)
		require.NotContains(t, g.Stdout.String(), s)
	}
}

func TestSIGTERMLetsInFlightRequestFinish(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		_, _ = io.WriteString(w, "finished")
	}))
	t.Cleanup(slow.Close)

	g := testenv.StartGatehouse(t, testenv.Options{Env: append(bootstrapEnv(), "GATEHOUSE_SHUTDOWN_TIMEOUT=20s")})
	api := g.Login(t, adminUser, adminPass)
	require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/services", map[string]any{"name": "slow", "endpoints": []map[string]any{{"url": slow.URL}}, "timeout": "60s"}, nil).StatusCode)
	require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/routes", map[string]any{"name": "slow", "path": map[string]string{"type": "prefix", "value": "/slow"}, "service": "slow"}, nil).StatusCode)

	// A live log stream, which shutdown must end cleanly.
	req, _ := http.NewRequest("GET", g.ConsoleURL+"/api/v1/logs/gateway/stream", nil)
	req.Header.Set("Authorization", "Bearer "+api.Token)
	stream, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = stream.Body.Close() }()

	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(g.GatewayURL + "/slow/x")
		if err != nil {
			done <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		done <- result{resp.StatusCode, string(b), err}
	}()
	<-arrived // the request is in flight at the upstream

	g.Signal(syscall.SIGTERM)
	testenv.WaitFor(t, 10*time.Second, "shutdown to begin", func() bool {
		return strings.Contains(g.Stdout.String(), "shutting down")
	})
	gatewayAddr := strings.TrimPrefix(g.GatewayURL, "http://")
	testenv.WaitFor(t, 10*time.Second, "the gateway to stop accepting", func() bool {
		c, err := net.DialTimeout("tcp", gatewayAddr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
		}
		return err != nil
	})
	_, err = io.Copy(io.Discard, stream.Body)
	require.NoError(t, err, "the log stream ends cleanly, not with a cut connection")
	require.False(t, g.Exited(), "gatehouse waits for the in-flight request")

	close(release)
	res := <-done
	require.NoError(t, res.err)
	require.Equal(t, http.StatusOK, res.status, "the in-flight request completes")
	require.Equal(t, "finished", res.body)

	require.Equal(t, 0, g.Wait(20*time.Second), "a clean shutdown exits 0")
	out := g.Stdout.String()
	last := -1
	for _, step := range []string{"readiness off", "listener drained", "gateway closed", "database closed", "gatehouse stopped"} {
		i := strings.Index(out, step)
		require.Greater(t, i, last, "shutdown step %q is logged, in order (ARCHITECTURE §12)", step)
		last = i
	}
}

func TestShutdownTimeoutCutsWhatIsLeft(t *testing.T) {
	arrived := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	}))
	t.Cleanup(hang.Close)
	g := testenv.StartGatehouse(t, testenv.Options{Env: append(bootstrapEnv(), "GATEHOUSE_SHUTDOWN_TIMEOUT=1s")})
	api := g.Login(t, adminUser, adminPass)
	require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/services", map[string]any{"name": "hang", "endpoints": []map[string]any{{"url": hang.URL}}, "timeout": "60s"}, nil).StatusCode)
	require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/routes", map[string]any{"name": "hang", "path": map[string]string{"type": "prefix", "value": "/hang"}, "service": "hang"}, nil).StatusCode)
	go func() {
		if resp, err := http.Get(g.GatewayURL + "/hang"); err == nil {
			_ = resp.Body.Close()
		}
	}()
	<-arrived
	g.Signal(syscall.SIGTERM)
	require.Equal(t, 1, g.Wait(20*time.Second), "exceeding the configured timeout exits 1")
	require.Contains(t, g.Stdout.String(), "shutdown timeout exceeded")
}

func findCookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}
