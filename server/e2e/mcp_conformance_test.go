package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

// The official MCP conformance suite (@modelcontextprotocol/conformance,
// pinned in tests/mcp-conformance) against the Go SDK's conformance
// everything-server, directly and through an mcp-proxy server on each
// upstream transport: every scenario that passes directly must pass through
// the gateway. The scenarios that apply to any MCP server also run against a
// REST-to-MCP server.

var (
	conformanceOnce sync.Once
	conformanceErr  error
	conformanceNoNP bool
)

// conformanceDir returns tests/mcp-conformance with its node_modules
// installed (npm ci once per test process when node_modules is missing or
// older than package-lock.json). Without npm the test is skipped.
func conformanceDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(testenv.Root(t), "tests", "mcp-conformance")
	conformanceOnce.Do(func() {
		if _, err := exec.LookPath("npm"); err != nil {
			conformanceNoNP = true
			return
		}
		lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
		if err != nil {
			conformanceErr = fmt.Errorf("tests/mcp-conformance/package-lock.json: %w", err)
			return
		}
		// npm writes node_modules/.package-lock.json at every install.
		if inst, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err == nil && !inst.ModTime().Before(lock.ModTime()) {
			return
		}
		start := time.Now()
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			conformanceErr = fmt.Errorf("npm ci in tests/mcp-conformance: %w (is the npm registry reachable?)\n%s", err, out)
			return
		}
		t.Logf("npm ci in tests/mcp-conformance took %s", time.Since(start).Round(time.Millisecond))
	})
	if conformanceNoNP {
		t.Skip("npm is not installed: the MCP conformance tests run @modelcontextprotocol/conformance from tests/mcp-conformance; " +
			"install Node.js 20+ with npm (for example 'apt-get install nodejs npm') to run them")
	}
	if conformanceErr != nil {
		t.Fatal(conformanceErr)
	}
	return dir
}

// startEverythingServer builds the Go SDK's conformance everything-server
// (the go-sdk version in go.mod) with tests/mcp-conformance/testdata/
// gatehouse_serve.go added by a build overlay, and starts it. It serves
// Streamable HTTP at /mcp and legacy SSE at /sse; the base URL is returned.
func startEverythingServer(t *testing.T) string {
	t.Helper()
	root := testenv.Root(t)
	const pkg = "github.com/modelcontextprotocol/go-sdk/conformance/everything-server"
	goTool := "go"
	if _, err := exec.LookPath(goTool); err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	list := exec.Command(goTool, "list", "-f", "{{.Dir}}", pkg)
	list.Dir = root
	out, err := list.Output()
	require.NoError(t, err, "go list %s: %s", pkg, exitStderr(err))
	src := strings.TrimSpace(string(out))

	// The package is main: it cannot be imported, so its main.go and our
	// file are built as a package of this module that exists only in the
	// overlay (nothing is written into the source tree).
	virtual := filepath.Join(root, "tests", "mcp-conformance", "everything-server")
	tmp := t.TempDir()
	overlay, err := json.Marshal(map[string]any{"Replace": map[string]string{
		filepath.Join(virtual, "main.go"):            filepath.Join(src, "main.go"),
		filepath.Join(virtual, "gatehouse_serve.go"): filepath.Join(root, "tests", "mcp-conformance", "testdata", "gatehouse_serve.go"),
	}})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(tmp, "overlay.json"), overlay, 0o600))
	bin := filepath.Join(tmp, "everything-server")
	build := exec.Command(goTool, "build", "-overlay", filepath.Join(tmp, "overlay.json"), "-o", bin, "./tests/mcp-conformance/everything-server")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the Go SDK's conformance everything-server: %v\n%s", err, out)
	}

	cmd := exec.Command(bin, "-gatehouse-listen", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr testenv.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	select {
	case l := <-lines:
		base, ok := strings.CutPrefix(l, "listening on ")
		require.True(t, ok, "everything-server printed %q", l)
		return base
	case <-time.After(15 * time.Second):
		t.Fatalf("the everything-server did not start within 15s; stderr:\n%s", stderr.String())
	}
	return ""
}

func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// conformanceCheck is one entry of a scenario's checks.json.
type conformanceCheck struct {
	ID           string `json:"id"`
	Status       string `json:"status"` // SUCCESS, FAILURE, WARNING, INFO, SKIPPED
	ErrorMessage string `json:"errorMessage"`
}

// scenarioResult is the outcome of one server scenario.
type scenarioResult struct {
	checks []conformanceCheck
}

// passed reports whether the scenario ran and no check failed (the suite's
// own verdict).
func (r scenarioResult) passed() bool {
	for _, c := range r.checks {
		if c.Status == "FAILURE" {
			return false
		}
	}
	return true
}

func (r scenarioResult) status(id string) string {
	for _, c := range r.checks {
		if c.ID == id {
			return c.Status
		}
	}
	return "missing"
}

// failures describes the failed checks.
func (r scenarioResult) failures() string {
	var out []string
	for _, c := range r.checks {
		if c.Status == "FAILURE" {
			out = append(out, c.ID+": "+c.ErrorMessage)
		}
	}
	return strings.Join(out, "; ")
}

// resultDir matches the folders the suite writes: server-<scenario>-<timestamp>.
var resultDir = regexp.MustCompile(`^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$`)

// runConformance runs server scenarios of the suite against url: the whole
// suite (--suite all) without scenarios, else each one given. It returns
// the results by scenario name.
func runConformance(t *testing.T, dir, url string, scenarios ...string) map[string]scenarioResult {
	t.Helper()
	runs := [][]string{{"--suite", "all"}}
	if len(scenarios) > 0 {
		runs = nil
		for _, s := range scenarios {
			runs = append(runs, []string{"--scenario", s})
		}
	}
	outDir := t.TempDir()
	// One node process per scenario run, concurrently: the suite takes
	// one scenario at a time, and node's start is most of a short run.
	logs := make([][]byte, len(runs))
	timedOut := make([]bool, len(runs))
	var wg sync.WaitGroup
	start := time.Now()
	for i, extra := range runs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			// node20.mjs lets the suite run on Node.js 20 (see the file).
			args := append([]string{"--import", "./node20.mjs", "node_modules/@modelcontextprotocol/conformance/dist/index.js",
				"server", "--url", url, "-o", outDir}, extra...)
			cmd := exec.CommandContext(ctx, "node", args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "NO_COLOR=1")
			// The suite exits non-zero when a check failed; the results
			// say which, so its exit status is not an error here.
			logs[i], _ = cmd.CombinedOutput()
			timedOut[i] = ctx.Err() != nil
		})
	}
	wg.Wait()
	var log strings.Builder
	for i, extra := range runs {
		if timedOut[i] {
			t.Fatalf("the conformance suite %v against %s did not finish within 90s:\n%s", extra, url, logs[i])
		}
		log.Write(logs[i])
	}
	entries, err := os.ReadDir(outDir)
	require.NoError(t, err)
	results := map[string]scenarioResult{}
	for _, e := range entries {
		m := resultDir.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		var r scenarioResult
		data, err := os.ReadFile(filepath.Join(outDir, e.Name(), "checks.json"))
		require.NoError(t, err, "suite output:\n%s", log.String())
		require.NoError(t, json.Unmarshal(data, &r.checks), "%s/checks.json", e.Name())
		results[m[1]] = r
	}
	require.NotEmpty(t, results, "the conformance suite against %s wrote no results:\n%s", url, log.String())
	t.Logf("conformance suite against %s: %d scenarios, %d passed, in %s", url, len(results), countPassed(results), time.Since(start).Round(time.Millisecond))
	return results
}

func countPassed(results map[string]scenarioResult) int {
	n := 0
	for _, r := range results {
		if r.passed() {
			n++
		}
	}
	return n
}

func countSucceeded(results map[string]scenarioResult) int {
	n := 0
	for _, r := range results {
		for _, c := range r.checks {
			if c.Status == "SUCCESS" {
				n++
			}
		}
	}
	return n
}

func sortedScenarios(results map[string]scenarioResult) []string {
	names := make([]string, 0, len(results))
	for name := range results {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// regressions lists every scenario that passed directly but not through
// the gateway, and every check that succeeded directly but not through the
// gateway.
func regressions(direct, gateway map[string]scenarioResult) []string {
	var out []string
	for _, name := range sortedScenarios(direct) {
		d := direct[name]
		if !d.passed() {
			continue
		}
		g, ok := gateway[name]
		switch {
		case !ok:
			out = append(out, name+": no result through the gateway")
		case !g.passed():
			out = append(out, name+": "+g.failures())
		default:
			for _, c := range d.checks {
				if c.Status == "SUCCESS" && g.status(c.ID) != "SUCCESS" {
					out = append(out, fmt.Sprintf("%s: check %s succeeded directly, %s through the gateway", name, c.ID, g.status(c.ID)))
				}
			}
		}
	}
	return out
}

func TestMCPConformance(t *testing.T) {
	dir := conformanceDir(t)
	everything := startEverythingServer(t)

	direct := runConformance(t, dir, everything+"/mcp")
	// The suite's own server is the reference: if it fails here, the
	// harness is broken, not the gateway.
	for _, name := range []string{"server-initialize", "ping", "tools-list", "tools-call-sampling", "dns-rebinding-protection"} {
		require.True(t, direct[name].passed(), "%s fails against the everything-server itself: %s", name, direct[name].failures())
	}

	redis := testenv.StartRedis(t)
	g, api := startMCPGatehouse(t, redis)
	upstreams := map[string]string{"http": everything + "/mcp", "sse": everything + "/sse"}
	through := map[string]map[string]scenarioResult{}
	for _, transport := range []string{"http", "sse"} {
		name := "conformance-" + transport
		create(t, api, "/mcp-servers", map[string]any{
			"name": name, "type": "mcp-proxy",
			"server": map[string]any{"name": name, "transport": transport, "mcpServerURL": upstreams[transport]},
		})
		waitServes(t, g, "/mcp-servers/"+name)
		t.Run("ProxyUpstream/"+transport, func(t *testing.T) {
			got := runConformance(t, dir, g.GatewayURL+"/mcp-servers/"+name)
			through[transport] = got
			if lost := regressions(direct, got); len(lost) > 0 {
				t.Errorf("%d of %d scenarios pass directly; through mcp-proxy with a %s upstream %d pass. Passed directly but not through the gateway:\n  %s",
					countPassed(direct), len(direct), transport, countPassed(got), strings.Join(lost, "\n  "))
			}
		})
	}
	logConformanceTable(t, direct, through)

	t.Run("RESTToMCP", func(t *testing.T) {
		upstream := startWeatherUpstream(t)
		createWeatherServer(t, api, upstream.URL)
		waitServes(t, g, "/mcp-servers/"+weatherServer)
		applicable := []string{"server-initialize", "ping", "tools-list", "dns-rebinding-protection"}
		got := runConformance(t, dir, g.GatewayURL+"/mcp-servers/"+weatherServer, applicable...)
		for _, name := range applicable {
			r, ok := got[name]
			if !assertRan(t, ok, name) {
				continue
			}
			if !r.passed() {
				t.Errorf("%s fails against a REST-to-MCP server: %s", name, r.failures())
			}
		}
	})
}

func assertRan(t *testing.T, ok bool, name string) bool {
	t.Helper()
	if !ok {
		t.Errorf("%s: the suite wrote no result", name)
	}
	return ok
}

// logConformanceTable logs scenario by scenario what passed where, the
// table docs/mcp.md shows.
func logConformanceTable(t *testing.T, direct map[string]scenarioResult, through map[string]map[string]scenarioResult) {
	t.Helper()
	mark := func(r map[string]scenarioResult, name string) string {
		res, ok := r[name]
		switch {
		case r == nil || !ok:
			return "—"
		case res.passed():
			return "pass"
		default:
			return "FAIL"
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| scenario | direct | mcp-proxy, Streamable HTTP upstream | mcp-proxy, SSE upstream |\n|---|---|---|---|\n")
	names := sortedScenarios(direct)
	for _, tr := range through {
		for _, n := range sortedScenarios(tr) {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	for _, n := range names {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", n, mark(direct, n), mark(through["http"], n), mark(through["sse"], n))
	}
	fmt.Fprintf(&b, "| **scenarios passed** | %d/%d | %d/%d | %d/%d |\n", countPassed(direct), len(direct),
		countPassed(through["http"]), len(through["http"]), countPassed(through["sse"]), len(through["sse"]))
	fmt.Fprintf(&b, "| **checks succeeded** | %d | %d | %d |\n", countSucceeded(direct), countSucceeded(through["http"]), countSucceeded(through["sse"]))
	t.Logf("conformance results:\n%s", b.String())
}

// rawUpstream is an MCP server written by hand (Streamable HTTP, JSON
// answers) whose results carry what the Go SDK's types do not know: members
// of newer or extended servers and a content type of its own.
type rawUpstream struct {
	*httptest.Server
	mu       sync.Mutex
	received map[string]json.RawMessage // method → params last received
}

var rawResults = map[string]string{
	"tools/list": `{"tools":[{"name":"holo","title":"Hologram","description":"shows a hologram","inputSchema":{"type":"object","properties":{"n":{"type":"integer"}}},` +
		`"x-vendor":{"cost":{"usd":0.25}},"icons":[{"src":"data:image/png;base64,AA==","mimeType":"image/png"}]}],"x-list":"kept"}`,
	"tools/call": `{"content":[{"type":"hologram","frames":[1,2,3]},{"type":"text","text":"<b>&</b>","x-annotation":{"k":"v"}}],` +
		`"structuredContent":{"n":1.5},"isError":false,"x-vendor":{"trace":"abc"},"_meta":{"com.example/cost":7}}`,
	"resources/read": `{"contents":[{"uri":"x://a","mimeType":"text/plain","text":"t","x-hash":"abc"}],"x-r":1}`,
	"prompts/get":    `{"description":"p","messages":[{"role":"user","content":{"type":"text","text":"hi","x-c":1}}],"x-p":2}`,
	// A method the Go SDK does not know.
	"tasks/get": `{"taskId":"t-1","status":"working","createdAt":"2026-01-01T00:00:00Z","x-t":1}`,
}

func startRawUpstream(t *testing.T) *rawUpstream {
	t.Helper()
	u := &rawUpstream{received: map[string]json.RawMessage{}}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		u.mu.Lock()
		u.received[msg.Method] = msg.Params
		u.mu.Unlock()
		w.Header().Set("Mcp-Session-Id", "raw-upstream-session")
		if len(msg.ID) == 0 {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		result, ok := rawResults[msg.Method]
		switch msg.Method {
		case "initialize":
			result, ok = `{"protocolVersion":"2025-11-25","capabilities":{"tools":{},"resources":{},"prompts":{}},"serverInfo":{"name":"raw-upstream","version":"1"}}`, true
		case "ping":
			result, ok = `{}`, true
		}
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			_, _ = fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"method not found"}}`, msg.ID)
			return
		}
		_, _ = fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, msg.ID, result)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *rawUpstream) params(method string) json.RawMessage {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.received[method]
}

// rawRPC posts one JSON-RPC message to a Streamable HTTP endpoint and
// returns the answer with the request's id as raw JSON (from a JSON body or
// an SSE stream), and the session id the endpoint set.
func rawRPC(t *testing.T, endpoint, session string, id int, method, params string) (result json.RawMessage, sessionID string) {
	t.Helper()
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, id, method, params)
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", method)
	var msgs [][]byte
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data:"); ok {
				msgs = append(msgs, []byte(strings.TrimSpace(data)))
				if strings.Contains(data, fmt.Sprintf(`"id":%d`, id)) {
					break
				}
			}
		}
	} else {
		data, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		msgs = append(msgs, data)
	}
	for _, m := range msgs {
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if json.Unmarshal(m, &msg) == nil && string(msg.ID) == strconv.Itoa(id) {
			require.Empty(t, string(msg.Error), "%s answered an error", method)
			return msg.Result, resp.Header.Get("Mcp-Session-Id")
		}
	}
	t.Fatalf("%s: no answer with id %d in %q", method, id, msgs)
	return nil, ""
}

// TestMCPProxyPassesUnknownFields checks that mcp-proxy passes upstream
// results as they are: fields the Go SDK's types do not know, and a content
// type it does not know (the SDK's typed client refuses the whole result);
// and the client's params as it sent them, members and methods the SDK
// does not know included.
func TestMCPProxyPassesUnknownFields(t *testing.T) {
	upstream := startRawUpstream(t)
	redis := testenv.StartRedis(t)
	g, api := startMCPGatehouse(t, redis)
	create(t, api, "/mcp-servers", map[string]any{
		"name": "raw-upstream", "type": "mcp-proxy",
		"server": map[string]any{"name": "raw-upstream", "transport": "http", "mcpServerURL": upstream.URL},
	})
	endpoint := g.GatewayURL + "/mcp-servers/raw-upstream"
	waitServes(t, g, "/mcp-servers/raw-upstream")

	_, session := rawRPC(t, endpoint, "", 1, "initialize",
		`{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw-client","version":"1"}}`)
	require.NotEmpty(t, session)
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", session)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()

	calls := []struct{ method, params string }{
		{"tools/list", `{}`},
		{"tools/call", `{"name":"holo","arguments":{"n":12345678901234567890},"task":{"ttl":60000},"x-call":[1],"_meta":{"progressToken":"p-1"}}`},
		{"resources/read", `{"uri":"x://a","x-r":{"deep":true}}`},
		{"prompts/get", `{"name":"p","arguments":{"a":"<&>"}}`},
		{"tasks/get", `{"taskId":"t-1","x-q":true}`},
	}
	for i, c := range calls {
		t.Run(c.method, func(t *testing.T) {
			got, _ := rawRPC(t, endpoint, session, 10+i, c.method, c.params)
			require.JSONEq(t, rawResults[c.method], string(got), "the upstream's result as it wrote it")
			require.JSONEq(t, c.params, string(upstream.params(c.method)), "the client's params as it sent them")
		})
	}
}
