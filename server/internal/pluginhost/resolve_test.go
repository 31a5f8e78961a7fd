package pluginhost_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/pluginhost"
)

// These tests resolve fake artifact bytes in process; resolve_e2e_test.go
// resolves real plugins and opens them.

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// artifactServer is an HTTPS server that serves files by path and counts
// the requests for each.
type artifactServer struct {
	*httptest.Server
	files map[string][]byte
	hits  map[string]*atomic.Int64
}

func newArtifactServer(t *testing.T, files map[string][]byte) *artifactServer {
	t.Helper()
	s := &artifactServer{files: files, hits: map[string]*atomic.Int64{}}
	for p := range files {
		s.hits[p] = &atomic.Int64{}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		data, ok := s.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		s.hits[r.URL.Path].Add(1)
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		_, _ = w.Write(data)
	})
	mux.HandleFunc("/streamed.so", func(w http.ResponseWriter, _ *http.Request) {
		// No Content-Length: the limit must hold while reading.
		for range 4 {
			_, _ = w.Write(make([]byte, 1024))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/to-http.so", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+r.Host+"/a.so", http.StatusFound)
	})
	mux.HandleFunc("/to-https.so", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://"+r.Host+"/a.so", http.StatusFound)
	})
	s.Server = httptest.NewUnstartedServer(mux)
	// The untrusted-certificate case makes the server log a failed handshake.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func (s *artifactServer) address(path, sum string) pluginhost.ImageAddress {
	a, err := pluginhost.ParseImageAddress(s.URL + path + "#sha256=" + sum)
	if err != nil {
		panic(err)
	}
	return a
}

// cacheFiles lists the names in the cache dir, temporary files included.
func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestResolveHTTPSDownloadsOnceIntoTheCache(t *testing.T) {
	artifact := []byte("plugin bytes")
	sum := sha256Hex(artifact)
	srv := newArtifactServer(t, map[string][]byte{"/a.so": artifact})
	cache := filepath.Join(t.TempDir(), "plugins")
	res := &pluginhost.Resolver{CacheDir: cache, HTTPClient: srv.Client()}
	ctx := context.Background()

	got, err := res.Resolve(ctx, "a", srv.address("/a.so", sum))
	require.NoError(t, err)
	require.Equal(t, pluginhost.Resolved{Path: filepath.Join(cache, sum+".so"), SHA256: sum}, got)
	data, err := os.ReadFile(got.Path)
	require.NoError(t, err)
	require.Equal(t, artifact, data)
	require.Equal(t, []string{sum + ".so"}, cacheFiles(t, cache), "only the artifact is left, named by its digest")
	require.EqualValues(t, 1, srv.hits["/a.so"].Load())

	again, err := res.Resolve(ctx, "a", srv.address("/a.so", sum))
	require.NoError(t, err)
	require.Equal(t, got, again)
	require.EqualValues(t, 1, srv.hits["/a.so"].Load(), "a cached digest is not downloaded again")

	srv.Close()
	again, err = res.Resolve(ctx, "a", srv.address("/a.so", sum))
	require.NoError(t, err, "a cached artifact resolves without the server")
	require.Equal(t, got, again)
}

func TestResolveHTTPSReplacesADamagedCache(t *testing.T) {
	artifact := []byte("plugin bytes")
	sum := sha256Hex(artifact)
	srv := newArtifactServer(t, map[string][]byte{"/a.so": artifact})
	cache := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(cache, sum+".so"), []byte("damaged"), 0o600))
	res := &pluginhost.Resolver{CacheDir: cache, HTTPClient: srv.Client()}

	got, err := res.Resolve(context.Background(), "a", srv.address("/a.so", sum))
	require.NoError(t, err)
	data, err := os.ReadFile(got.Path)
	require.NoError(t, err)
	require.Equal(t, artifact, data, "the damaged copy was downloaded again")
	require.EqualValues(t, 1, srv.hits["/a.so"].Load())
}

func TestResolveHTTPSFollowsHTTPSRedirects(t *testing.T) {
	artifact := []byte("plugin bytes")
	srv := newArtifactServer(t, map[string][]byte{"/a.so": artifact})
	res := &pluginhost.Resolver{CacheDir: t.TempDir(), HTTPClient: srv.Client()}
	got, err := res.Resolve(context.Background(), "a", srv.address("/to-https.so", sha256Hex(artifact)))
	require.NoError(t, err)
	require.Equal(t, sha256Hex(artifact), got.SHA256)
}

func TestResolveHTTPSRefuses(t *testing.T) {
	artifact := []byte("plugin bytes")
	sum := sha256Hex(artifact)
	other := strings.Repeat("ab", 32)
	srv := newArtifactServer(t, map[string][]byte{"/a.so": artifact})
	closed := httptest.NewTLSServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct {
		name     string
		address  string
		client   *http.Client
		maxSize  int64
		step     pluginhost.Step
		expected string
		actual   []string // substrings
		fix      string   // substring
	}{
		{
			name: "content is not the pinned artifact", address: srv.URL + "/a.so#sha256=" + other,
			step: pluginhost.StepSHA256, expected: other, actual: []string{sum},
			fix: "the file at the URL is not the artifact the address pins",
		},
		{
			name: "not found", address: srv.URL + "/missing.so#sha256=" + sum,
			step: pluginhost.StepResolve, actual: []string{"GET " + srv.URL + "/missing.so: status 404 Not Found"},
			fix: "it must answer 200 with the .so file itself",
		},
		{
			name: "larger than the limit by its length", address: srv.URL + "/a.so#sha256=" + sum, maxSize: 4,
			step: pluginhost.StepResolve, actual: []string{"the artifact is 12 bytes, more than the limit of 4 bytes"},
			fix: "not an archive or an image",
		},
		{
			name: "larger than the limit while streaming", address: srv.URL + "/streamed.so#sha256=" + sum, maxSize: 2048,
			step: pluginhost.StepResolve, actual: []string{"larger than the limit of 2048 bytes"},
			fix: "not an archive or an image",
		},
		{
			name: "redirect to plain http", address: srv.URL + "/to-http.so#sha256=" + sum,
			step: pluginhost.StepResolve, actual: []string{"refused redirect to http://", "over https only"},
			fix: "check that the host is reachable",
		},
		{
			name: "untrusted certificate", address: srv.URL + "/a.so#sha256=" + sum, client: &http.Client{},
			step: pluginhost.StepResolve, actual: []string{"certificate"},
			fix: "TLS certificate",
		},
		{
			name: "host down", address: closed.URL + "/a.so#sha256=" + sum,
			step: pluginhost.StepResolve, actual: []string{"GET " + closed.URL + "/a.so: ", "connection refused"},
			fix: "or copy the artifact here and use its file:// address",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := t.TempDir()
			client := tt.client
			if client == nil {
				client = srv.Client()
			}
			res := &pluginhost.Resolver{CacheDir: cache, HTTPClient: client, MaxSize: tt.maxSize}
			a, err := pluginhost.ParseImageAddress(tt.address)
			require.NoError(t, err)
			_, err = res.Resolve(context.Background(), "a", a)
			var re *pluginhost.ResolveError
			require.ErrorAs(t, err, &re)
			require.Equal(t, tt.step, re.Step)
			require.Equal(t, tt.expected, re.Expected)
			for _, s := range tt.actual {
				require.Contains(t, re.Actual, s)
			}
			require.Contains(t, re.Fix, tt.fix)
			require.NotContains(t, err.Error(), "\n")
			require.Contains(t, err.Error(), tt.address)
			require.Empty(t, cacheFiles(t, cache), "a refused download leaves nothing behind")
		})
	}
}

func TestResolveHTTPSHidesTheQueryOfSignedURLs(t *testing.T) {
	srv := newArtifactServer(t, nil)
	res := &pluginhost.Resolver{CacheDir: t.TempDir(), HTTPClient: srv.Client()}
	a, err := pluginhost.ParseImageAddress(srv.URL + "/x.so?X-Signature=secret#sha256=" + strings.Repeat("0", 64))
	require.NoError(t, err)
	_, err = res.Resolve(context.Background(), "x", a)
	var re *pluginhost.ResolveError
	require.ErrorAs(t, err, &re)
	require.Equal(t, "GET "+srv.URL+"/x.so?…: status 404 Not Found", re.Actual)
}

func TestResolveWithoutResolver(t *testing.T) {
	var res *pluginhost.Resolver
	file, err := pluginhost.ParseImageAddress("file:///opt/p/a.so#sha256=" + strings.Repeat("0", 64))
	require.NoError(t, err)
	got, err := res.Resolve(context.Background(), "a", file)
	require.NoError(t, err)
	require.Equal(t, pluginhost.Resolved{Path: "/opt/p/a.so", SHA256: strings.Repeat("0", 64)}, got)

	for _, in := range []string{"https://example.com/a.so#sha256=" + strings.Repeat("0", 64), "oci://ghcr.io/acme/a:1"} {
		a, err := pluginhost.ParseImageAddress(in)
		require.NoError(t, err)
		_, err = res.Resolve(context.Background(), "a", a)
		require.ErrorIs(t, err, pluginhost.ErrSchemeNotResolvable)

		_, err = (&pluginhost.Resolver{}).Resolve(context.Background(), "a", a)
		var re *pluginhost.ResolveError
		require.ErrorAs(t, err, &re, "a Resolver needs a download dir")
		require.Contains(t, re.Fix, "<data dir>/plugins")
	}
}
