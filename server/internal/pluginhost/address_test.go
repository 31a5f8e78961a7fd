package pluginhost

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const digest = "9f3c000000000000000000000000000000000000000000000000000000000abc"

func TestParseImageAddressAccepts(t *testing.T) {
	tests := []struct {
		in   string
		want ImageAddress
	}{
		{"file:///opt/gatehouse/plugins/mcp-server.so", ImageAddress{Scheme: SchemeFile, Path: "/opt/gatehouse/plugins/mcp-server.so"}},
		{"file://localhost/opt/p/a.so", ImageAddress{Scheme: SchemeFile, Path: "/opt/p/a.so"}},
		{"file:///opt/my%20plugins/a.so#sha256=" + strings.ToUpper(digest), ImageAddress{Scheme: SchemeFile, Path: "/opt/my plugins/a.so", SHA256: digest}},
		{"https://example.com/dl/a.so#sha256=" + digest, ImageAddress{Scheme: SchemeHTTPS, URL: "https://example.com/dl/a.so", SHA256: digest}},
		{"oci://ghcr.io/acme/plugins/mcp-server:1.2.0", ImageAddress{Scheme: SchemeOCI, Registry: "ghcr.io", Repository: "acme/plugins/mcp-server", Tag: "1.2.0"}},
		{"oci://localhost:5000/mcp-server@sha256:" + digest, ImageAddress{Scheme: SchemeOCI, Registry: "localhost:5000", Repository: "mcp-server", SHA256: digest}},
		{"oci://127.0.0.1:5000/plugins/good:1.0.0", ImageAddress{Scheme: SchemeOCI, Registry: "127.0.0.1:5000", Repository: "plugins/good", Tag: "1.0.0"}},
		{"oci://[::1]:5000/good@sha256:" + digest, ImageAddress{Scheme: SchemeOCI, Registry: "[::1]:5000", Repository: "good", SHA256: digest}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseImageAddress(tt.in)
			require.NoError(t, err)
			tt.want.Raw = tt.in
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.in, got.String())
		})
	}
}

func TestParseImageAddressRefuses(t *testing.T) {
	tests := []struct {
		in string
		// want are substrings of the error: each problem, and what is allowed.
		want []string
	}{
		{"", []string{"empty", "allowed forms", "file:///abs/path/name.so"}},
		{"/opt/a.so", []string{"no scheme", "allowed forms"}},
		{"ftp://x/a.so", []string{`unknown scheme "ftp"`, "allowed forms"}},
		{"http://example.com/a.so#sha256=" + digest, []string{"plain http is not allowed", "https://"}},
		{"file://opt/a.so", []string{`not host "opt"`, "three slashes"}},
		{"file:///opt/a.txt", []string{"ending in .so"}},
		{"file:///opt/../a.so", []string{"absolute and clean"}},
		{"file:///opt/a.so#md5=abc", []string{"must be sha256=<64 hex digits>"}},
		{"file:///opt/a.so#sha256=abc", []string{"must be sha256=<64 hex digits>"}},
		{"https://example.com/a.so", []string{"must pin the artifact's digest with #sha256="}},
		// Every problem is reported at once.
		{"https:///#sha256=xyz", []string{"needs a host", "must name a file", "must be sha256="}},
		{"oci://ghcr.io/acme/a", []string{"needs a tag (repo:tag) or a digest"}},
		{"oci://ghcr.io/Acme/a:1", []string{`repository component "Acme"`}},
		{"oci://a:1", []string{"names a registry and a repository"}},
		{"oci://ghcr.io/acme/a:-bad", []string{`tag "-bad"`}},
		{"oci://ghcr.io/acme/a@sha256:abc", []string{`digest "sha256:abc"`}},
		{"oci://127.0.0.1:5000/good", []string{"needs a tag (repo:tag) or a digest"}},
		{"oci://reg_istry:5000/good:1", []string{`registry "reg_istry:5000" must be a host name or IP address`}},
		{"oci://[::1/good:1", []string{`registry "[::1"`}},
		// Credentials never travel in an address (they would be stored and
		// sent to whatever host the address names next).
		{"https://user:pass@example.com/a.so#sha256=" + digest, []string{"credentials in the address are not allowed"}},
		{"https://token@example.com/a.so#sha256=" + digest, []string{"credentials in the address are not allowed"}},
		{"oci://user:pass@ghcr.io/acme/a:1", []string{"must be sha256:"}},
		{"file://user@/opt/a.so", []string{"file://"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseImageAddress(tt.in)
			require.Error(t, err)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	a, err := ParseImageAddress("file:///opt/p/a.so")
	require.NoError(t, err)
	path, err := a.Resolve()
	require.NoError(t, err)
	require.Equal(t, "/opt/p/a.so", path)

	for _, in := range []string{"https://example.com/a.so#sha256=" + digest, "oci://ghcr.io/acme/a:1"} {
		a, err := ParseImageAddress(in)
		require.NoError(t, err)
		_, err = a.Resolve()
		require.ErrorIs(t, err, ErrSchemeNotResolvable)
		require.Contains(t, err.Error(), "only file:// addresses resolve here")
		require.Contains(t, err.Error(), "use its file:// address")
	}
}

func TestDefaultAddress(t *testing.T) {
	dir := t.TempDir()
	got := DefaultAddress(dir, "mcp-server")
	require.Equal(t, "file://"+filepath.Join(dir, "mcp-server.so"), got)

	t.Chdir(dir)
	rel := DefaultAddress("build/plugins", "x")
	require.Equal(t, "file://"+filepath.Join(dir, "build", "plugins", "x.so"), rel, "a relative dir is made absolute")

	a, err := ParseImageAddress(DefaultAddress("/opt/with space", "x"))
	require.NoError(t, err, "a default address parses back")
	path, err := a.Resolve()
	require.NoError(t, err)
	require.Equal(t, "/opt/with space/x.so", path)
}
