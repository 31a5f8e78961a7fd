package pluginhost

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// These cases fail before plugin.Open, so they run in the test process; the
// steps that open plugins are tested end to end in e2e_test.go.

// writeArtifact writes fake artifact bytes to dir/name.so and returns the
// path and its digest.
func writeArtifact(t *testing.T, dir, name, content string) (string, string) {
	t.Helper()
	path := filepath.Join(dir, name+".so")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	sum, err := fileSHA256(path)
	require.NoError(t, err)
	return path, sum
}

func TestVerifyFailsBeforeOpen(t *testing.T) {
	dir := t.TempDir()
	path, sum := writeArtifact(t, dir, "a", "artifact a")
	other := t.TempDir()
	otherPath, otherSum := writeArtifact(t, other, "a", "another a")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "dir.so"), 0o750))

	entry := func(name, sha string, required bool) Artifact {
		return Artifact{Name: name, File: name + ".so", SHA256: sha, Version: "1.0.0", ABIVersion: 1, GoVersion: "go1.26.8", Required: required}
	}
	tests := []struct {
		name     string
		manifest []Artifact
		wanted   []Want
		step     Step
		path     string
		expected string
		actual   string
		fix      string // substring
		detail   string // substring of the one-line error
	}{
		{
			name:     "missing file",
			manifest: []Artifact{entry("gone", digest, true)},
			step:     StepExists, path: filepath.Join(dir, "gone.so"),
			expected: "a plugin file", actual: "no such file",
			fix:    `run "make plugins" to build it, or restore the file shipped with this release`,
			detail: "expected a plugin file, got no such file",
		},
		{
			name:     "directory",
			manifest: []Artifact{entry("dir", digest, true)},
			step:     StepExists, path: filepath.Join(dir, "dir.so"),
			expected: "a regular file", actual: "d---------",
			fix: `replace it with the plugin file built by "make plugins"`,
		},
		{
			name:     "sha256 differs from the manifest",
			manifest: []Artifact{entry("a", digest, true)},
			step:     StepSHA256, path: path,
			expected: digest, actual: sum,
			fix:    `rebuild with "make plugins" or restore the file shipped with this release`,
			detail: "expected sha256 " + digest + ", got " + sum,
		},
		{
			name:     "sha256 differs from the pin even when the manifest matches",
			manifest: []Artifact{entry("a", sum, true)},
			wanted:   []Want{{Name: "a", Address: "file://" + path + "#sha256=" + digest}},
			step:     StepSHA256, path: path,
			expected: digest, actual: sum,
			fix: "correct the #sha256= pin in the image address",
		},
		{
			name:   "file outside the manifest without a pin",
			wanted: []Want{{Name: "a", Address: "file://" + otherPath, Required: true}},
			step:   StepSHA256, path: otherPath,
			actual: otherSum,
			fix:    `appending "#sha256=` + otherSum + `" to its image address`,
			detail: "is not in manifest.json and its image address pins no digest",
		},
		{
			name:     "https without a Resolver",
			manifest: []Artifact{entry("a", sum, true)},
			wanted:   []Want{{Name: "a", Address: "https://example.com/a.so#sha256=" + digest}},
			step:     StepResolve, path: "https://example.com/a.so#sha256=" + digest,
			fix:    "use a file:// address of an artifact on this machine, such as the bundled file://" + path,
			detail: "only file:// addresses resolve here",
		},
		{
			name:   "invalid name",
			wanted: []Want{{Name: "../a", Required: true}},
			step:   StepResolve, path: DefaultAddress(dir, "../a"),
			fix:    "without path separators",
			detail: `invalid plugin name "../a"`,
		},
		{
			name:   "invalid address",
			wanted: []Want{{Name: "a", Address: "ftp://x/a.so", Required: true}},
			step:   StepResolve, path: "ftp://x/a.so",
			fix:    "correct the plugin's image address",
			detail: `unknown scheme "ftp"; allowed forms`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			report := Verify(dir, &Manifest{Plugins: tt.manifest}, tt.wanted)
			require.Len(t, report.Plugins, 1)
			res := report.Plugins[0]
			require.Equal(t, StatusFailed, res.Status)
			require.True(t, res.Required)
			require.Equal(t, tt.step, res.Step)
			require.Equal(t, tt.expected, res.Expected)
			if tt.actual != "" {
				require.Equal(t, tt.actual, res.Actual)
			}
			require.Contains(t, res.Fix, tt.fix)
			require.Nil(t, res.Plugin)
			require.Nil(t, res.Info)

			line := res.Error
			require.NotContains(t, line, "\n", "the failure is one line")
			require.True(t, strings.HasPrefix(line, `plugin "`+res.Name+`" failed verification at step `+string(tt.step)+": "+tt.path+": "), line)
			require.True(t, strings.HasSuffix(line, " — "+res.Fix), line)
			require.Contains(t, line, tt.detail)
			require.Equal(t, line, res.Err().Error())
			var ve *VerifyError
			require.True(t, errors.As(res.Err(), &ve))
			require.Equal(t, tt.step, ve.Step)

			require.Equal(t, []Result{res}, report.RequiredFailures())
			require.EqualError(t, report.Err(), line)
			_, ok := report.Get(res.Name)
			require.False(t, ok, "a failed plugin is unusable")
		})
	}
}

func TestVerifyReportsOptionalFailuresWithoutFailingStart(t *testing.T) {
	dir := t.TempDir()
	m := &Manifest{Plugins: []Artifact{
		{Name: "opt", File: "opt.so", SHA256: digest},
		{Name: "req", File: "req.so", SHA256: digest, Required: true},
	}}
	report := Verify(dir, m, []Want{{Name: "extra"}})
	require.Equal(t, []string{"extra", "opt", "req"}, names(report.List()), "results are sorted by name")
	require.Len(t, report.Failures(), 3)
	require.Equal(t, []string{"req"}, names(report.RequiredFailures()), "only required failures stop the start")
	require.Equal(t, "plugin \"req\" failed verification at step exists: "+filepath.Join(dir, "req.so")+
		": expected a plugin file, got no such file — run \"make plugins\" to build it, or restore the file shipped with this release",
		report.Err().Error())

	extra, ok := report.Result("extra")
	require.True(t, ok)
	require.Equal(t, DefaultAddress(dir, "extra"), extra.Address, "a wanted plugin without an address uses the bundled one")
	require.False(t, extra.Required)

	report = Verify(dir, m, []Want{{Name: "opt", Required: true}})
	require.Equal(t, []string{"opt", "req"}, names(report.RequiredFailures()), "the configuration can require a manifest plugin")

	report = Verify(dir, nil, nil)
	require.Empty(t, report.Plugins)
	require.NoError(t, report.Err())
}

func names(rs []Result) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}
