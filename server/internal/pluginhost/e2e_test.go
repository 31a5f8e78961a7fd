package pluginhost_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/pluginhost"
	"github.com/gatehouse-dev/gatehouse/server/internal/pluginhost/pluginfixture"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// plugin.Open cannot run reliably inside a -race test binary and caches
// what it opened for the life of the process, so these tests build a small
// host, testdata/verifier, with the Makefile's flags and run it once per
// scenario, on fixture plugins built with the same flags.

var (
	// buildRoot holds what buildOnce built, for the whole test binary.
	buildRoot string
	buildOnce sync.Once
	built     *builtFixtures
)

type builtFixtures struct {
	verifier string
	plugins  map[string]string // kind → .so path
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pluginhost-fixtures-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildRoot = dir
	code := m.Run()
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// fixtures builds the verifier and every fixture once per test binary.
func fixtures(t *testing.T) *builtFixtures {
	t.Helper()
	if testing.Short() {
		t.Skip("builds plugins with the go command; skipped with -short")
	}
	buildOnce.Do(func() {
		b := &builtFixtures{plugins: map[string]string{}}
		b.verifier = pluginfixture.BuildHost(t, "./server/internal/pluginhost/testdata/verifier", filepath.Join(buildRoot, "verifier"))
		for _, kind := range []string{pluginfixture.Good, pluginfixture.WrongABI, pluginfixture.WrongSymbol, pluginfixture.Skewed} {
			b.plugins[kind] = pluginfixture.Build(t, kind, buildRoot)
		}
		built = b
	})
	if built == nil {
		t.Fatal("building the fixtures failed in an earlier test")
	}
	return built
}

// pluginDir returns a fresh plugin dir holding copies of the given fixtures.
func (b *builtFixtures) pluginDir(t *testing.T, kinds ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, kind := range kinds {
		data, err := os.ReadFile(b.plugins[kind])
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, kind+".so"), data, 0o600))
	}
	return dir
}

type run struct {
	code           int
	stdout, stderr string
}

func (b *builtFixtures) run(t *testing.T, args ...string) run {
	t.Helper()
	cmd := exec.Command(b.verifier, args...) //nolint:gosec // test binary
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run verifier: %v", err)
	}
	return run{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

type verifyOutput struct {
	Report pluginhost.Report `json:"report"`
	Served map[string]string `json:"served"`
}

func (r run) output(t *testing.T) verifyOutput {
	t.Helper()
	var out verifyOutput
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out), "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	return out
}

func result(t *testing.T, out verifyOutput, name string) pluginhost.Result {
	t.Helper()
	res, ok := out.Report.Result(name)
	require.True(t, ok, "no result for %q in %+v", name, out.Report.Plugins)
	return res
}

func TestManifestAndVerifyGoodPlugin(t *testing.T) {
	b := fixtures(t)
	dir := b.pluginDir(t, pluginfixture.Good, pluginfixture.WrongABI)

	r := b.run(t, "manifest", "-dir", dir, "-required", "good")
	require.Equal(t, 0, r.code, r.stderr)
	m, err := pluginhost.ReadManifest(dir)
	require.NoError(t, err)
	sum := sha256File(t, filepath.Join(dir, "good.so"))
	require.Equal(t, []pluginhost.Artifact{
		{Name: "good", File: "good.so", SHA256: sum, Version: "1.0.0", ABIVersion: pluginapi.ABIVersion, GoVersion: runtime.Version(), Required: true},
		{Name: "wrongabi", File: "wrongabi.so", SHA256: sha256File(t, filepath.Join(dir, "wrongabi.so")), Version: "1.0.0", ABIVersion: 99, GoVersion: runtime.Version()},
	}, m.Plugins, "the manifest records what each artifact's Info reports")

	r = b.run(t, "verify", "-dir", dir)
	require.Equal(t, 0, r.code, "an optional plugin's failure does not stop the start: %s", r.stderr)
	out := r.output(t)
	good := result(t, out, "good")
	require.Equal(t, pluginhost.StatusVerified, good.Status)
	require.Empty(t, good.Step)
	require.Empty(t, good.Error)
	require.Equal(t, filepath.Join(dir, "good.so"), good.Path)
	require.Equal(t, pluginhost.DefaultAddress(dir, "good"), good.Address)
	require.Equal(t, sum, good.SHA256)
	require.NotNil(t, good.Info)
	require.Equal(t, "good", good.Info.Name)
	require.Equal(t, "1.0.0", good.Version)
	require.Equal(t, map[string]string{"good": "good"}, out.Served, "the loaded plugin serves requests")

	abi := result(t, out, "wrongabi")
	require.Equal(t, pluginhost.StatusFailed, abi.Status)
	require.False(t, abi.Required)
	require.Equal(t, strings.TrimSpace(r.stderr), abi.Error, "the optional failure is still reported")

	// The configuration may name the bundled plugin explicitly, pinned.
	r = b.run(t, "verify", "-dir", dir, "-want-required", "good=file://"+filepath.Join(dir, "good.so")+"#sha256="+sum)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, pluginhost.StatusVerified, result(t, r.output(t), "good").Status)
}

func TestVerifyRefusesBadPlugins(t *testing.T) {
	b := fixtures(t)
	rebuild := `rebuild with "make plugins" or restore the file shipped with this release`

	tests := []struct {
		name string
		// setup returns the plugin dir, with its manifest, and extra verify
		// arguments.
		setup    func(t *testing.T) (dir string, args []string)
		plugin   string
		step     pluginhost.Step
		expected string // exact, when set
		actual   string // substring
		fix      string // substring
	}{
		{
			name: "missing file",
			setup: func(t *testing.T) (string, []string) {
				dir := b.pluginDir(t, pluginfixture.Good)
				b.writeManifest(t, dir, "good")
				require.NoError(t, os.Remove(filepath.Join(dir, "good.so")))
				return dir, nil
			},
			plugin: "good", step: pluginhost.StepExists,
			expected: "a plugin file", actual: "no such file",
			fix: `run "make plugins" to build it, or restore the file shipped with this release`,
		},
		{
			name: "sha256 mismatch",
			setup: func(t *testing.T) (string, []string) {
				dir := b.pluginDir(t, pluginfixture.Good)
				b.writeManifest(t, dir, "good")
				f, err := os.OpenFile(filepath.Join(dir, "good.so"), os.O_APPEND|os.O_WRONLY, 0)
				require.NoError(t, err)
				_, err = f.WriteString("tampered")
				require.NoError(t, err)
				require.NoError(t, f.Close())
				return dir, nil
			},
			plugin: "good", step: pluginhost.StepSHA256,
			expected: sha256File(t, b.plugins[pluginfixture.Good]),
			fix:      rebuild,
		},
		{
			name: "wrong ABI version",
			setup: func(t *testing.T) (string, []string) {
				dir := b.pluginDir(t, pluginfixture.WrongABI)
				b.writeManifest(t, dir, "wrongabi")
				return dir, nil
			},
			plugin: "wrongabi", step: pluginhost.StepSymbol,
			expected: fmt.Sprintf("ABI version %d", pluginapi.ABIVersion), actual: "ABI version 99",
			fix: fmt.Sprintf(`rebuild the plugin against this gatehouse's pluginapi (ABI version %d) with "make plugins"`, pluginapi.ABIVersion),
		},
		{
			name: "wrong symbol type",
			setup: func(t *testing.T) (string, []string) {
				dir := b.pluginDir(t, pluginfixture.WrongSymbol)
				r := b.run(t, "manifest", "-dir", dir)
				require.Equal(t, 1, r.code, "make plugins refuses an artifact that is not a plugin")
				require.Contains(t, r.stderr, filepath.Join(dir, "wrongsymbol.so")+": expected symbol Plugin of type *pluginapi.Plugin, got symbol Plugin of type *int")
				handWrittenManifest(t, dir, "wrongsymbol")
				return dir, nil
			},
			plugin: "wrongsymbol", step: pluginhost.StepSymbol,
			expected: "symbol Plugin of type *pluginapi.Plugin", actual: "symbol Plugin of type *int",
			fix: `this is not a gatehouse plugin: its main package must declare "var Plugin pluginapi.Plugin = …"`,
		},
		{
			name: "built against another version of pluginapi",
			setup: func(t *testing.T) (string, []string) {
				dir := b.pluginDir(t, pluginfixture.Skewed)
				r := b.run(t, "manifest", "-dir", dir)
				require.Equal(t, 1, r.code, "make plugins refuses an artifact the host cannot open")
				require.Contains(t, r.stderr, "plugin was built with a different version of package github.com/gatehouse-dev/gatehouse/server/pluginapi")
				handWrittenManifest(t, dir, "skewed")
				return dir, nil
			},
			plugin: "skewed", step: pluginhost.StepOpen,
			actual: "plugin was built with a different version of package github.com/gatehouse-dev/gatehouse/server/pluginapi",
			fix:    `rebuild gatehouse and every plugin together with "make build"`,
		},
		{
			name: "artifact holds another plugin",
			setup: func(t *testing.T) (string, []string) {
				dir := b.pluginDir(t, pluginfixture.Good)
				require.NoError(t, os.Rename(filepath.Join(dir, "good.so"), filepath.Join(dir, "other.so")))
				handWrittenManifest(t, dir, "other")
				return dir, nil
			},
			plugin: "other", step: pluginhost.StepSymbol,
			expected: `"other" as the plugin's name`, actual: `"good"`,
			fix: `this file holds plugin "good"`,
		},
		{
			name: "pinned digest mismatch",
			setup: func(t *testing.T) (string, []string) {
				dir := b.pluginDir(t, pluginfixture.Good)
				b.writeManifest(t, dir)
				pin := strings.Repeat("0", 64)
				return dir, []string{"-want-required", "good=file://" + filepath.Join(dir, "good.so") + "#sha256=" + pin}
			},
			plugin: "good", step: pluginhost.StepSHA256,
			expected: strings.Repeat("0", 64), actual: sha256File(t, b.plugins[pluginfixture.Good]),
			fix: "the file is not the artifact its image address pins",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, args := tt.setup(t)
			r := b.run(t, append([]string{"verify", "-dir", dir}, args...)...)
			require.Equal(t, 3, r.code, "a required plugin failed: stdout %s stderr %s", r.stdout, r.stderr)
			res := result(t, r.output(t), tt.plugin)
			require.Equal(t, pluginhost.StatusFailed, res.Status)
			require.True(t, res.Required)
			require.Equal(t, tt.step, res.Step)
			path := filepath.Join(dir, tt.plugin+".so")
			require.Equal(t, path, res.Path)
			if tt.expected != "" {
				require.Equal(t, tt.expected, res.Expected)
			}
			require.Contains(t, res.Actual, tt.actual)
			require.Contains(t, res.Fix, tt.fix)
			require.Nil(t, res.Info, "a failed plugin is not loaded")

			line := strings.TrimSpace(r.stderr)
			require.NotContains(t, line, "\n", "exactly one line for one failure")
			require.Equal(t, res.Error, line)
			prefix := fmt.Sprintf("plugin %q failed verification at step %s: %s: ", tt.plugin, tt.step, path)
			require.True(t, strings.HasPrefix(line, prefix), "%q does not start with %q", line, prefix)
			require.True(t, strings.HasSuffix(line, " — "+res.Fix), line)
			require.Contains(t, line, tt.actual)
			t.Log(line)
		})
	}
}

func TestVerifyWithoutManifest(t *testing.T) {
	b := fixtures(t)
	dir := b.pluginDir(t, pluginfixture.Good)
	r := b.run(t, "verify", "-dir", dir)
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, filepath.Join(dir, pluginhost.ManifestFile))
	require.Contains(t, r.stderr, `run "make plugins"`)

	r = b.run(t, "manifest", "-dir", dir, "-required", "good,mcp-server")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, `required plugin "mcp-server" has no artifact `+filepath.Join(dir, "mcp-server.so"))
}

// writeManifest writes dir's manifest with the verifier, as `gatehouse
// plugins manifest` does, marking required as required.
func (b *builtFixtures) writeManifest(t *testing.T, dir string, required ...string) {
	t.Helper()
	r := b.run(t, "manifest", "-dir", dir, "-required", strings.Join(required, ","))
	require.Equal(t, 0, r.code, r.stderr)
}

// handWrittenManifest writes a manifest listing dir/name.so as required,
// without opening it.
func handWrittenManifest(t *testing.T, dir, name string) {
	t.Helper()
	m := &pluginhost.Manifest{Plugins: []pluginhost.Artifact{pluginfixture.Entry(t, filepath.Join(dir, name+".so"), true)}}
	require.NoError(t, m.Write(dir))
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	return pluginfixture.Entry(t, path, false).SHA256
}
