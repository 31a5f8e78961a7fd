// Package testenv starts the real parts that integration and end-to-end
// tests drive: the gatehouse binary with its real plugin artifacts and a
// redis-server on a free port. It is imported by tests only.
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/tests/freeport"
)

// Root returns the repository root (the directory holding go.mod).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// BuildDir returns a directory with gatehouse and plugins/ (artifacts and
// manifest.json) built by the Makefile: GATEHOUSE_BUILD_DIR when set (make
// test sets it after building), else a fresh build into a temporary
// directory, once per test process.
func BuildDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("GATEHOUSE_BUILD_DIR"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "gatehouse")); err != nil {
			t.Fatalf("GATEHOUSE_BUILD_DIR=%s has no gatehouse binary: run make build", d)
		}
		return d
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "gatehouse-build-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("make", "-C", Root(t), "host", "plugins", "BUILD_DIR="+buildDir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("make host plugins: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago and
// that it never returned before in this process.
func FreePort(t testing.TB) int {
	t.Helper()
	return freeport.Get(t)
}

// WaitFor polls cond every 20 ms until it returns true or timeout passes.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Buffer is a goroutine-safe bytes.Buffer for a child's output.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Gatehouse is a running gatehouse process.
type Gatehouse struct {
	t          testing.TB
	Cmd        *exec.Cmd
	ConsoleURL string
	GatewayURL string
	DataDir    string
	LogFile    string
	Stdout     *Buffer
	Stderr     *Buffer
	exited     chan struct{}
	exitCode   int
}

// Options configure StartGatehouse.
type Options struct {
	// PluginDir defaults to BuildDir/plugins.
	PluginDir string
	// DataDir defaults to a new temporary directory.
	DataDir string
	// Env adds KEY=VALUE pairs (GATEHOUSE_* overrides included).
	Env []string
	// Args are added after "serve".
	Args []string
	// NoWait returns right after the process started, without waiting for
	// /readyz (for tests of failed starts).
	NoWait bool
}

// StartGatehouse starts the real binary on free ports with a temporary data
// directory and waits until /readyz answers 200. The process is stopped at
// the end of the test.
func StartGatehouse(t testing.TB, o Options) *Gatehouse {
	t.Helper()
	bin := filepath.Join(BuildDir(t), "gatehouse")
	if o.PluginDir == "" {
		o.PluginDir = filepath.Join(BuildDir(t), "plugins")
	}
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	consolePort, gatewayPort := FreePort(t), FreePort(t)
	g := &Gatehouse{
		t:          t,
		ConsoleURL: fmt.Sprintf("http://127.0.0.1:%d", consolePort),
		GatewayURL: fmt.Sprintf("http://127.0.0.1:%d", gatewayPort),
		DataDir:    o.DataDir,
		LogFile:    filepath.Join(o.DataDir, "logs", "gateway.log"),
		Stdout:     &Buffer{},
		Stderr:     &Buffer{},
		exited:     make(chan struct{}),
	}
	cmd := exec.Command(bin, append([]string{"serve"}, o.Args...)...)
	cmd.Env = append(cleanEnv(),
		"GATEHOUSE_CONSOLE_ADDR=127.0.0.1:"+strconv.Itoa(consolePort),
		"GATEHOUSE_GATEWAY_ADDR=127.0.0.1:"+strconv.Itoa(gatewayPort),
		"GATEHOUSE_DATA_DIR="+o.DataDir,
		"GATEHOUSE_PLUGIN_DIR="+o.PluginDir,
	)
	cmd.Env = append(cmd.Env, o.Env...)
	cmd.Stdout, cmd.Stderr = g.Stdout, g.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start gatehouse: %v", err)
	}
	g.Cmd = cmd
	go func() {
		err := cmd.Wait()
		g.exitCode = exitCode(err)
		close(g.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-g.exited:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-g.exited:
			case <-time.After(15 * time.Second):
				_ = cmd.Process.Kill()
				<-g.exited
			}
		}
		if t.Failed() {
			t.Logf("gatehouse stdout:\n%s\ngatehouse stderr:\n%s", tail(g.Stdout.String(), 60), g.Stderr.String())
		}
	})
	if !o.NoWait {
		g.WaitReady(30 * time.Second)
	}
	return g
}

// cleanEnv is the test's environment without GATEHOUSE_* variables, so a
// developer's shell settings do not leak into the child. The gateway
// engine passes through: the end-to-end suite runs on either engine
// (GATEHOUSE_GATEWAY_ENGINE=fast go test ./server/e2e/).
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") || strings.HasPrefix(kv, "GATEHOUSE_GATEWAY_ENGINE=") {
			out = append(out, kv)
		}
	}
	return out
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

func tail(s string, lines int) string {
	// A failing test's polling fills the log with access lines; what
	// explains a failure is in the others.
	var parts []string
	omitted := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, `msg="gateway request"`) {
			omitted++
			continue
		}
		parts = append(parts, l)
	}
	if omitted > 0 {
		parts = append(parts, fmt.Sprintf("(%d access log lines of gateway requests left out)", omitted))
	}
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// WaitReady waits until /readyz answers gatehouse's 200, failing if the
// process exits.
func (g *Gatehouse) WaitReady(timeout time.Duration) {
	g.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-g.exited:
			g.t.Fatalf("gatehouse exited with code %d before it was ready\nstderr:\n%s\nstdout:\n%s", g.exitCode, g.Stderr.String(), tail(g.Stdout.String(), 40))
		default:
		}
		resp, err := http.Get(g.ConsoleURL + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
			_ = resp.Body.Close()
			// The body tells gatehouse's answer from another test's server
			// that took the free port for a moment (a 200 for any path).
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"status":"ready"`) {
				return
			}
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("gatehouse not ready after %s\nstderr:\n%s", timeout, g.Stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Signal sends sig to the process.
func (g *Gatehouse) Signal(sig os.Signal) {
	g.t.Helper()
	if err := g.Cmd.Process.Signal(sig); err != nil {
		g.t.Fatalf("signal gatehouse: %v", err)
	}
}

// Wait waits for the process to exit and returns its exit code.
func (g *Gatehouse) Wait(timeout time.Duration) int {
	g.t.Helper()
	select {
	case <-g.exited:
		return g.exitCode
	case <-time.After(timeout):
		g.t.Fatalf("gatehouse did not exit within %s", timeout)
		return -1
	}
}

// Exited reports whether the process has ended.
func (g *Gatehouse) Exited() bool {
	select {
	case <-g.exited:
		return true
	default:
		return false
	}
}

// Client calls the admin API with an optional token.
type Client struct {
	Base  string
	Token string
	HTTP  *http.Client
}

// API returns a client for this instance's admin API, without a token.
func (g *Gatehouse) API() *Client {
	return &Client{Base: g.ConsoleURL + "/api/v1", HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Do sends method path with body (JSON-encoded unless it is []byte or nil)
// and decodes a JSON answer into out when out is not nil.
func (c *Client) Do(t testing.TB, method, path string, body, out any) *http.Response {
	t.Helper()
	return c.DoContentType(t, method, path, "application/json", body, out)
}

// DoContentType is Do with an explicit request content type.
func (c *Client) DoContentType(t testing.TB, method, path, contentType string, body, out any) *http.Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.Base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	data, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: status %d, body is not the JSON expected: %v\n%s", method, path, resp.StatusCode, err, data)
		}
	}
	return resp
}

// Login creates the first administrator (when none exists) and logs in,
// returning a client carrying the token.
func (g *Gatehouse) Login(t testing.TB, user, password string) *Client {
	t.Helper()
	c := g.API()
	resp := c.Do(t, "POST", "/auth/init", map[string]string{"username": user, "password": password}, nil)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusConflict {
		t.Fatalf("auth/init: status %d", resp.StatusCode)
	}
	var out struct {
		Token string `json:"token"`
	}
	resp = c.Do(t, "POST", "/auth/login", map[string]string{"username": user, "password": password}, &out)
	if resp.StatusCode != http.StatusOK || out.Token == "" {
		t.Fatalf("login: status %d", resp.StatusCode)
	}
	c.Token = out.Token
	return c
}
