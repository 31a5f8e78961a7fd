package pluginhost

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadManifestErrorsSayWhatToDo(t *testing.T) {
	tests := []struct {
		name    string
		content string // empty: no file
		want    []string
	}{
		{name: "missing", want: []string{"no such file", `run "make plugins"`}},
		{name: "malformed", content: `{"plugins": [`, want: []string{"parse plugin manifest", "unexpected EOF", `run "make plugins"`}},
		{name: "unknown field", content: `{"plugins": [], "extra": 1}`, want: []string{`unknown field "extra"`, `run "make plugins"`}},
		{name: "trailing data", content: `{"plugins": []} {}`, want: []string{"unexpected data after the JSON object"}},
		{
			name: "every invalid entry at once",
			content: `{"plugins": [
				{"name": "a", "file": "b.so", "sha256": "` + digest + `"},
				{"name": "", "file": ".so", "sha256": "` + digest + `"},
				{"name": "c/d", "file": "c/d.so", "sha256": "` + digest + `"},
				{"name": "e", "file": "e.so", "sha256": "XYZ"},
				{"name": "a", "file": "a.so", "sha256": "` + digest + `"}
			]}`,
			want: []string{
				`plugins[0].file "b.so" must be "a.so"`,
				"plugins[1].name is empty",
				`plugins[2].name "c/d" must be a plain name`,
				`plugins[3].sha256 "XYZ" must be 64 lowercase hex digits`,
				`plugins[4].name "a" is listed twice`,
				`run "make plugins" to rewrite it`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, ManifestFile)
			if tt.content != "" {
				require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o600))
			}
			m, err := ReadManifest(dir)
			require.Nil(t, m)
			require.Error(t, err)
			require.Contains(t, err.Error(), path, "the error names the file")
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
			if tt.content == "" {
				require.ErrorIs(t, err, fs.ErrNotExist)
			}
		})
	}
}

func TestManifestWriteRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := &Manifest{Plugins: []Artifact{
		{Name: "zeta", File: "zeta.so", SHA256: digest, Version: "0.1.0", ABIVersion: 1, GoVersion: "go1.26.8"},
		{Name: "mcp-server", File: "mcp-server.so", SHA256: digest, Version: "1.0.0", ABIVersion: 1, GoVersion: "go1.26.8", Required: true},
	}}
	require.NoError(t, in.Write(dir))

	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	require.NoError(t, err)
	for _, key := range []string{`"name"`, `"file"`, `"sha256"`, `"version"`, `"abiVersion"`, `"goVersion"`, `"required"`} {
		require.Contains(t, string(raw), key)
	}
	require.Less(t, strings.Index(string(raw), "mcp-server"), strings.Index(string(raw), "zeta"), "entries are sorted by name")
	require.Equal(t, "zeta", in.Plugins[0].Name, "Write does not reorder the caller's slice")

	out, err := ReadManifest(dir)
	require.NoError(t, err)
	require.Equal(t, []Artifact{in.Plugins[1], in.Plugins[0]}, out.Plugins)
	a, ok := out.Artifact("mcp-server")
	require.True(t, ok)
	require.True(t, a.Required)
	_, ok = out.Artifact("nope")
	require.False(t, ok)

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left behind")

	bad := &Manifest{Plugins: []Artifact{{Name: "x", File: "y.so", SHA256: digest}}}
	require.ErrorContains(t, bad.Write(dir), `plugins[0].file "y.so" must be "x.so"`)
}

func TestWriteManifestRequiredWithoutArtifact(t *testing.T) {
	dir := t.TempDir()
	m, err := WriteManifest(dir, []string{"mcp-server"})
	require.Nil(t, m)
	require.ErrorContains(t, err, `required plugin "mcp-server" has no artifact `+filepath.Join(dir, "mcp-server.so"))
	_, statErr := os.Stat(filepath.Join(dir, ManifestFile))
	require.ErrorIs(t, statErr, fs.ErrNotExist, "nothing is written on error")

	m, err = WriteManifest(dir, nil)
	require.NoError(t, err, "an empty plugin dir without required plugins has an empty manifest")
	require.Empty(t, m.Plugins)
	got, err := ReadManifest(dir)
	require.NoError(t, err)
	require.Empty(t, got.Plugins)
}
