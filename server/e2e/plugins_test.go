package e2e

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/pluginhost"
	"github.com/gatehouse-dev/gatehouse/server/internal/pluginhost/pluginfixture"
	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

var (
	fixtureOnce sync.Once
	fixtureDir  string
)

// fixtures builds every fixture plugin once per test process.
func fixtures(t *testing.T) string {
	t.Helper()
	fixtureOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-fixtures-")
		require.NoError(t, err)
		for _, kind := range []string{pluginfixture.Good, pluginfixture.WrongABI, pluginfixture.WrongSymbol, pluginfixture.Skewed} {
			pluginfixture.Build(t, kind, dir)
		}
		fixtureDir = dir
	})
	if fixtureDir == "" {
		t.Fatal("building the fixture plugins failed in an earlier test")
	}
	return fixtureDir
}

// pluginDir copies the real build's plugin dir so a test can break it.
func pluginDir(t *testing.T) string {
	t.Helper()
	src := filepath.Join(testenv.BuildDir(t), "plugins")
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644))
	}
	return dst
}

// addFixture copies a fixture artifact into dir and lists it in the manifest.
func addFixture(t *testing.T, dir, kind string, required bool) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtures(t), kind+".so"))
	require.NoError(t, err)
	so := filepath.Join(dir, kind+".so")
	require.NoError(t, os.WriteFile(so, data, 0o644))
	m, err := pluginhost.ReadManifest(dir)
	require.NoError(t, err)
	m.Plugins = append(m.Plugins, pluginfixture.Entry(t, so, required))
	require.NoError(t, m.Write(dir))
	return so
}

func TestBrokenRequiredPluginStopsTheStart(t *testing.T) {
	cases := []struct {
		name    string
		breakIt func(t *testing.T, dir string) (plugin, path string)
		step    string
		detail  string
	}{
		{"missing file", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "mcp-server.so")
			require.NoError(t, os.Remove(p))
			return "mcp-server", p
		}, "exists", "make plugins"},
		{"sha256 mismatch", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "mcp-server.so")
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			require.NoError(t, err)
			_, _ = f.Write([]byte{0})
			require.NoError(t, f.Close())
			return "mcp-server", p
		}, "sha256", "expected sha256"},
		{"wrong ABI version", func(t *testing.T, dir string) (string, string) {
			return "wrongabi", addFixture(t, dir, pluginfixture.WrongABI, true)
		}, "symbol", "99"},
		{"wrong symbol type", func(t *testing.T, dir string) (string, string) {
			return "wrongsymbol", addFixture(t, dir, pluginfixture.WrongSymbol, true)
		}, "symbol", "pluginapi.Plugin"},
		{"built against another version of a shared package", func(t *testing.T, dir string) (string, string) {
			return "skewed", addFixture(t, dir, pluginfixture.Skewed, true)
		}, "open", "plugin was built with a different version of package"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := pluginDir(t)
			plugin, path := tc.breakIt(t, dir)
			g := testenv.StartGatehouse(t, testenv.Options{PluginDir: dir, NoWait: true})
			code := g.Wait(60 * time.Second)
			require.Equal(t, 3, code, "a broken required plugin exits with code 3; stderr:\n%s", g.Stderr.String())

			stderr := strings.TrimSpace(g.Stderr.String())
			require.Len(t, strings.Split(stderr, "\n"), 1, "one clear line on stderr:\n%s", stderr)
			require.Contains(t, stderr, `plugin "`+plugin+`"`)
			require.Contains(t, stderr, "at step "+tc.step)
			require.Contains(t, stderr, path)
			require.Contains(t, stderr, tc.detail)
			require.Contains(t, stderr, " — ", "the line ends with what to do")

			logData, err := os.ReadFile(g.LogFile)
			require.NoError(t, err)
			require.Contains(t, string(logData), "at step "+tc.step, "the same failure is in gateway.log")
			require.NotContains(t, g.Stdout.String(), "listening", "no listener opens")
			for _, u := range []string{g.ConsoleURL, g.GatewayURL} {
				c, err := net.DialTimeout("tcp", strings.TrimPrefix(u, "http://"), time.Second)
				if err == nil {
					_ = c.Close()
				}
				require.Error(t, err, "nothing listens on %s", u)
			}
		})
	}
}

func TestBrokenOptionalPluginIsReportedAndUnusable(t *testing.T) {
	dir := pluginDir(t)
	addFixture(t, dir, pluginfixture.WrongABI, false)
	g := testenv.StartGatehouse(t, testenv.Options{PluginDir: dir, Env: bootstrapEnv()})
	api := g.Login(t, adminUser, adminPass)
	var plugins struct {
		Items []struct{ Name, Status, Error string }
	}
	require.Equal(t, http.StatusOK, api.Do(t, "GET", "/plugins", nil, &plugins).StatusCode)
	got := map[string]string{}
	for _, p := range plugins.Items {
		got[p.Name] = p.Status
		if p.Name == "wrongabi" {
			require.Contains(t, p.Error, "at step symbol")
		}
	}
	require.Equal(t, "failed", got["wrongabi"])
	require.Equal(t, "verified", got["mcp-server"])

	var h struct {
		Status     string
		Components []struct{ Name, Status string }
	}
	api.Do(t, "GET", "/health", nil, &h)
	require.Equal(t, "degraded", h.Status, "an unusable optional plugin degrades health")
}

func TestVerifyPluginsCommand(t *testing.T) {
	bin := filepath.Join(testenv.BuildDir(t), "gatehouse")
	out, err := exec.Command(bin, "verify-plugins", "--plugin-dir", filepath.Join(testenv.BuildDir(t), "plugins")).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "mcp-server")
	require.Contains(t, string(out), "verified")

	dir := pluginDir(t)
	require.NoError(t, os.Remove(filepath.Join(dir, "mcp-server.so")))
	cmd := exec.Command(bin, "verify-plugins", "--plugin-dir", dir)
	out, err = cmd.CombinedOutput()
	require.Error(t, err)
	require.Equal(t, 3, cmd.ProcessState.ExitCode())
	require.Contains(t, string(out), `plugin "mcp-server" failed verification at step exists`)
}

func TestInvalidSettingsAreAllReported(t *testing.T) {
	bin := filepath.Join(testenv.BuildDir(t), "gatehouse")
	cfg := filepath.Join(t.TempDir(), "gatehouse.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("gatewayAddr: \":8080\"\nlogLevl: debug\n"), 0o644))
	cmd := exec.Command(bin, "serve", "--config", cfg)
	cmd.Env = append(os.Environ(), "GATEHOUSE_LOG_LEVEL=loud", "GATEHOUSE_SHUTDOWN_TIMEOUT=soon")
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	require.Equal(t, 2, cmd.ProcessState.ExitCode())
	for _, want := range []string{"logLevl: unknown key", "GATEHOUSE_LOG_LEVEL", "GATEHOUSE_SHUTDOWN_TIMEOUT"} {
		require.Contains(t, string(out), want)
	}
}
