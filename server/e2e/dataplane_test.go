package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

// backend answers with its name and the path it saw.
func backend(t *testing.T, name string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", name)
		_, _ = fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// gatewayGet sends a request through the gateway with a Host header.
func gatewayGet(t *testing.T, g *testenv.Gatehouse, host, path string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest("GET", g.GatewayURL+path, nil)
	require.NoError(t, err)
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func TestRouteServesAtOnceAndRefusedChangesChangeNothing(t *testing.T) {
	g := testenv.StartGatehouse(t, testenv.Options{Env: bootstrapEnv()})
	api := g.Login(t, adminUser, adminPass)
	echo := backend(t, "echo")

	status, body, _ := gatewayGet(t, g, "", "/echo/hi")
	require.Equal(t, http.StatusNotFound, status)
	require.Contains(t, body, `"code":"route_not_found"`)

	var svc struct {
		Name    string
		Version int64
	}
	resp := api.Do(t, "POST", "/services", map[string]any{"name": "echo", "endpoints": []map[string]any{{"url": echo.URL, "weight": 1}}}, &svc)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Equal(t, int64(1), svc.Version)

	resp = api.Do(t, "POST", "/routes", map[string]any{"name": "echo", "path": map[string]string{"type": "prefix", "value": "/echo"}, "service": "echo"}, nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	// The table is swapped before the API answers: the very next request
	// is served, with no waiting.
	status, body, _ = gatewayGet(t, g, "", "/echo/hi")
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "echo /echo/hi", body)

	// A refused change leaves live traffic undisturbed. What the answer
	// names, version conflicts and the revision list are scenarios in
	// server/internal/admin/scenarios_config_test.go.
	resp = api.Do(t, "POST", "/routes", map[string]any{"name": "bad", "path": map[string]string{"type": "regex", "value": "/x/(["}, "service": "nope"}, nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	status, _, _ = gatewayGet(t, g, "", "/echo/still")
	require.Equal(t, http.StatusOK, status, "live traffic is undisturbed")

	// Rolling back the route creation removes it from the running gateway.
	var revs struct {
		Items []struct {
			ID           int64
			Kind, Action string
		}
	}
	api.Do(t, "GET", "/revisions", nil, &revs)
	var routeRev int64
	for _, r := range revs.Items {
		if r.Kind == "route" && r.Action == "create" {
			routeRev = r.ID
		}
	}
	resp = api.Do(t, "POST", fmt.Sprintf("/revisions/%d/rollback", routeRev), nil, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	status, _, _ = gatewayGet(t, g, "", "/echo/hi")
	require.Equal(t, http.StatusNotFound, status, "the rolled-back route no longer serves")
}

func TestDomainAndPathPrecedence(t *testing.T) {
	g := testenv.StartGatehouse(t, testenv.Options{Env: bootstrapEnv()})
	api := g.Login(t, adminUser, adminPass)
	for _, n := range []string{"exact", "prefix", "longer", "regex", "wild", "host", "any"} {
		b := backend(t, n)
		resp := api.Do(t, "POST", "/services", map[string]any{"name": n, "endpoints": []map[string]any{{"url": b.URL}}}, nil)
		require.Equal(t, http.StatusCreated, resp.StatusCode)
	}
	routes := []map[string]any{
		{"name": "exact", "path": map[string]string{"type": "exact", "value": "/api/v1/users"}, "service": "exact"},
		{"name": "prefix", "path": map[string]string{"type": "prefix", "value": "/api"}, "service": "prefix"},
		{"name": "longer", "path": map[string]string{"type": "prefix", "value": "/api/v1"}, "service": "longer"},
		{"name": "regex", "domains": []string{"files.test"}, "path": map[string]string{"type": "regex", "value": "/files/[0-9]+"}, "service": "regex"},
		{"name": "wild", "domains": []string{"*.example.com"}, "path": map[string]string{"type": "prefix", "value": "/"}, "service": "wild"},
		{"name": "host", "domains": []string{"api.example.com"}, "path": map[string]string{"type": "prefix", "value": "/"}, "service": "host"},
		{"name": "any", "path": map[string]string{"type": "prefix", "value": "/"}, "service": "any"},
	}
	for _, r := range routes {
		resp := api.Do(t, "POST", "/routes", r, nil)
		require.Equal(t, http.StatusCreated, resp.StatusCode, r["name"])
	}
	cases := []struct{ host, path, want string }{
		{"", "/api/v1/users", "exact"},
		{"", "/api/v1/users/7", "longer"},
		{"", "/api/other", "prefix"},
		{"files.test", "/files/42", "regex"},
		{"files.test", "/files/abc", "any"}, // no route of the domain matches: routes without domains serve it
		{"", "/files/42", "any"},            // within one domain class, a prefix route wins over a regex
		{"api.example.com", "/api/v1/users", "host"},
		{"www.example.com", "/x", "wild"},
		{"example.org", "/x", "any"},
	}
	for _, tc := range cases {
		status, _, h := gatewayGet(t, g, tc.host, tc.path)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, tc.want, h.Get("X-Backend"), "%s%s", tc.host, tc.path)
	}
}

func TestConfigFileAppliedAtStartAndRefusedWhole(t *testing.T) {
	echo := backend(t, "filed")
	dir := t.TempDir()
	good := filepath.Join(dir, "gatehouse.yaml")
	require.NoError(t, os.WriteFile(good, []byte(fmt.Sprintf(`services:
  - name: filed
    endpoints:
      - url: %s
routes:
  - name: filed
    path: {type: prefix, value: /filed}
    service: filed
`, echo.URL)), 0o644))
	g := testenv.StartGatehouse(t, testenv.Options{Env: append(bootstrapEnv(), "GATEHOUSE_CONFIG_FILE="+good)})
	status, body, _ := gatewayGet(t, g, "", "/filed/x")
	require.Equal(t, http.StatusOK, status, body)

	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("routes:\n  - name: r\n    path: {type: regex, value: '(['}\n    service: missing\n"), 0o644))
	g2 := testenv.StartGatehouse(t, testenv.Options{Env: []string{"GATEHOUSE_CONFIG_FILE=" + bad}, NoWait: true})
	require.Equal(t, 6, g2.Wait(30*time.Second))
	stderr := g2.Stderr.String()
	require.Contains(t, stderr, "nothing changed")
	require.Contains(t, stderr, "path.value")
	require.Contains(t, stderr, "service")
	require.False(t, strings.Contains(g2.Stdout.String(), "listening"))
}

func TestConfigExportThenApplyOnAFreshInstance(t *testing.T) {
	echo := backend(t, "exported")
	g := testenv.StartGatehouse(t, testenv.Options{Env: bootstrapEnv()})
	api := g.Login(t, adminUser, adminPass)
	require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/services", map[string]any{"name": "exported", "endpoints": []map[string]any{{"url": echo.URL}}}, nil).StatusCode)
	require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/routes", map[string]any{"name": "exported", "domains": []string{"exp.test"}, "path": map[string]string{"type": "prefix", "value": "/exp"}, "service": "exported"}, nil).StatusCode)

	bin := filepath.Join(testenv.BuildDir(t), "gatehouse")
	export := exec.Command(bin, "config", "export", "--data-dir", g.DataDir)
	export.Env = os.Environ()
	out, err := export.Output()
	require.NoError(t, err)
	require.Contains(t, string(out), "name: exported")
	file := filepath.Join(t.TempDir(), "exported.yaml")
	require.NoError(t, os.WriteFile(file, out, 0o644))

	// A bad file is refused whole, naming each problem, and changes nothing.
	fresh := t.TempDir()
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("routes:\n  - name: r\n    path: {type: exact, value: nope}\n    service: ghost\n"), 0o644))
	apply := exec.Command(bin, "config", "apply", "-f", bad, "--data-dir", fresh, "--plugin-dir", filepath.Join(testenv.BuildDir(t), "plugins"))
	msg, err := apply.CombinedOutput()
	require.Error(t, err)
	require.Equal(t, 6, apply.ProcessState.ExitCode())
	require.Contains(t, string(msg), "nothing changed")
	require.Contains(t, string(msg), `"ghost"`)

	apply = exec.Command(bin, "config", "apply", "-f", file, "--data-dir", fresh, "--plugin-dir", filepath.Join(testenv.BuildDir(t), "plugins"))
	msg, err = apply.CombinedOutput()
	require.NoError(t, err, string(msg))
	require.Contains(t, string(msg), "2 objects changed")

	g2 := testenv.StartGatehouse(t, testenv.Options{DataDir: fresh})
	status, body, _ := gatewayGet(t, g2, "exp.test", "/exp/1")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "exported /exp/1", body)
	status, _, _ = gatewayGet(t, g2, "other.test", "/exp/1")
	require.Equal(t, http.StatusNotFound, status, "the domain came along")
}

func TestSeedModeKeepsConsoleChangesAndHealthcheck(t *testing.T) {
	echo := backend(t, "seeded")
	file := filepath.Join(t.TempDir(), "seed.yaml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf("services:\n  - name: seeded\n    endpoints:\n      - url: %s\nroutes:\n  - name: seeded\n    path: {type: prefix, value: /seeded}\n    service: seeded\n", echo.URL)), 0o644))
	data := t.TempDir()
	env := append(bootstrapEnv(), "GATEHOUSE_CONFIG_FILE="+file, "GATEHOUSE_CONFIG_FILE_MODE=seed")
	g := testenv.StartGatehouse(t, testenv.Options{DataDir: data, Env: env})
	api := g.Login(t, adminUser, adminPass)
	require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/routes", map[string]any{"name": "added", "path": map[string]string{"type": "prefix", "value": "/added"}, "service": "seeded"}, nil).StatusCode)

	hc := exec.Command(filepath.Join(testenv.BuildDir(t), "gatehouse"), "healthcheck", "--console-addr", strings.TrimPrefix(g.ConsoleURL, "http://"))
	out, err := hc.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "ready")

	g.Signal(os.Interrupt)
	require.Equal(t, 0, g.Wait(30*time.Second))
	hc = exec.Command(filepath.Join(testenv.BuildDir(t), "gatehouse"), "healthcheck", "--console-addr", strings.TrimPrefix(g.ConsoleURL, "http://"))
	require.Error(t, hc.Run(), "a stopped instance is not healthy")

	g2 := testenv.StartGatehouse(t, testenv.Options{DataDir: data, Env: env})
	status, body, _ := gatewayGet(t, g2, "", "/added/x")
	require.Equal(t, http.StatusOK, status, "the route added in the console survives a restart in seed mode: %s", body)
	require.Contains(t, g2.Stdout.String(), "seed mode")
}
