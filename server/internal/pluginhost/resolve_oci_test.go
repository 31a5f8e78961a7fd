package pluginhost_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/memory"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/gatehouse-dev/gatehouse/server/internal/pluginhost"
)

// ociRegistry is an in-process OCI registry (go-containerregistry's) on a
// loopback port, as a real registry would serve oras push and pull. tamper,
// when set, replaces the body of blob responses.
type ociRegistry struct {
	srv    *httptest.Server
	host   string
	blobs  atomic.Int64
	tamper atomic.Pointer[func(path string, body []byte) []byte]
}

func newOCIRegistry(t *testing.T) *ociRegistry {
	t.Helper()
	reg := &ociRegistry{}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	reg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/sha256:") {
			h.ServeHTTP(w, r)
			return
		}
		reg.blobs.Add(1)
		tamper := reg.tamper.Load()
		if tamper == nil {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := (*tamper)(r.URL.Path, rec.Body.Bytes())
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	}))
	t.Cleanup(reg.srv.Close)
	reg.host = strings.TrimPrefix(reg.srv.URL, "http://")
	return reg
}

// layer is a layer to push.
type layer struct {
	mediaType, title string
	data             []byte
}

func soLayer(title string, data []byte) layer {
	return layer{mediaType: pluginhost.MediaTypePlugin, title: title, data: data}
}

// packManifest packs an artifact manifest of layers into store.
func packManifest(t *testing.T, store *memory.Store, layers ...layer) ocispec.Descriptor {
	t.Helper()
	ctx := context.Background()
	var descs []ocispec.Descriptor
	for _, l := range layers {
		d := content.NewDescriptorFromBytes(l.mediaType, l.data)
		if l.title != "" {
			d.Annotations = map[string]string{ocispec.AnnotationTitle: l.title}
		}
		if ok, _ := store.Exists(ctx, d); !ok {
			require.NoError(t, store.Push(ctx, d, bytes.NewReader(l.data)))
		}
		descs = append(descs, d)
	}
	m, err := oras.PackManifest(ctx, store, oras.PackManifestVersion1_1, pluginhost.ArtifactTypePlugin, oras.PackManifestOptions{Layers: descs})
	require.NoError(t, err)
	return m
}

// push copies store's tag to repo:tag in the registry, as oras push does.
func (reg *ociRegistry) push(t *testing.T, store *memory.Store, repo, tag string) {
	t.Helper()
	dst, err := remote.NewRepository(reg.host + "/" + repo)
	require.NoError(t, err)
	dst.PlainHTTP = true
	_, err = oras.Copy(context.Background(), store, tag, dst, tag, oras.DefaultCopyOptions)
	require.NoError(t, err)
}

// pushArtifact pushes a plugin artifact of layers as repo:tag and returns
// its manifest's digest.
func (reg *ociRegistry) pushArtifact(t *testing.T, repo, tag string, layers ...layer) string {
	t.Helper()
	store := memory.New()
	m := packManifest(t, store, layers...)
	require.NoError(t, store.Tag(context.Background(), m, tag))
	reg.push(t, store, repo, tag)
	return m.Digest.String()
}

func (reg *ociRegistry) address(t *testing.T, ref string) pluginhost.ImageAddress {
	t.Helper()
	a, err := pluginhost.ParseImageAddress("oci://" + reg.host + "/" + ref)
	require.NoError(t, err)
	return a
}

func TestResolveOCIByTagThenOfflineByDigest(t *testing.T) {
	reg := newOCIRegistry(t)
	artifact := []byte("plugin bytes")
	sum := sha256Hex(artifact)
	manifest := reg.pushArtifact(t, "plugins/good", "1.0.0", soLayer("good.so", artifact))
	cache := filepath.Join(t.TempDir(), "plugins")
	res := &pluginhost.Resolver{CacheDir: cache}
	ctx := context.Background()

	got, err := res.Resolve(ctx, "good", reg.address(t, "plugins/good:1.0.0"))
	require.NoError(t, err)
	pinned := "oci://" + reg.host + "/plugins/good@" + manifest
	require.Equal(t, pluginhost.Resolved{Path: filepath.Join(cache, sum+".so"), SHA256: sum, Pinned: pinned}, got,
		"the tag is recorded as the manifest digest it resolved to; the file is named by the layer's digest")
	data, err := os.ReadFile(got.Path)
	require.NoError(t, err)
	require.Equal(t, artifact, data)
	require.EqualValues(t, 1, reg.blobs.Load())

	again, err := res.Resolve(ctx, "good", reg.address(t, "plugins/good:1.0.0"))
	require.NoError(t, err)
	require.Equal(t, got, again)
	require.EqualValues(t, 1, reg.blobs.Load(), "a cached layer is not pulled again")

	reg.srv.Close()
	byDigest, err := res.Resolve(ctx, "good", reg.address(t, "plugins/good@"+manifest))
	require.NoError(t, err, "a digest-pinned artifact pulled before resolves without the registry")
	require.Equal(t, got, byDigest)

	_, err = res.Resolve(ctx, "good", reg.address(t, "plugins/good:1.0.0"))
	var re *pluginhost.ResolveError
	require.ErrorAs(t, err, &re, "a tag needs the registry")
	require.Equal(t, pluginhost.StepResolve, re.Step)
	require.Contains(t, re.Actual, "fetch manifest 1.0.0 from "+reg.host+"/plugins/good: ")
	require.Contains(t, re.Actual, "connection refused")
	require.Contains(t, re.Fix, "reachable from this machine over plain HTTP, as a loopback registry (is it running on that port?)")
	require.Contains(t, re.Fix, "a digest-pinned address (oci://"+reg.host+"/plugins/good@sha256:…) that was pulled once resolves without the registry")
}

func TestResolveOCIByDigestPullsWhenNotCached(t *testing.T) {
	reg := newOCIRegistry(t)
	artifact := []byte("plugin bytes")
	manifest := reg.pushArtifact(t, "good", "v1", soLayer("good.so", artifact))
	res := &pluginhost.Resolver{CacheDir: t.TempDir()}
	got, err := res.Resolve(context.Background(), "good", reg.address(t, "good@"+manifest))
	require.NoError(t, err)
	require.Equal(t, sha256Hex(artifact), got.SHA256)
	require.Equal(t, "oci://"+reg.host+"/good@"+manifest, got.Pinned)
}

func TestResolveOCIPicksThePluginLayer(t *testing.T) {
	good, cors := []byte("good plugin"), []byte("cors plugin")
	tests := []struct {
		name   string
		layers []layer
		want   []byte
		fail   string // substring of the failure
	}{
		{name: "the layer of the plugin media type", layers: []layer{
			{mediaType: "text/markdown", title: "README.md", data: []byte("# readme")},
			{mediaType: pluginhost.MediaTypePlugin, title: "renamed.so", data: good},
		}, want: good},
		{name: "of several plugin layers, the one titled <name>.so", layers: []layer{
			soLayer("cors.so", cors), soLayer("good.so", good),
		}, want: good},
		{name: "without the media type, the layer titled <name>.so", layers: []layer{
			{mediaType: "application/octet-stream", title: "cors.so", data: cors},
			{mediaType: "application/octet-stream", title: "good.so", data: good},
		}, want: good},
		{name: "the only layer", layers: []layer{
			{mediaType: "application/octet-stream", data: good},
		}, want: good},
		{name: "several untitled layers", layers: []layer{
			{mediaType: "application/octet-stream", data: good},
			{mediaType: "application/octet-stream", data: cors},
		}, fail: `no single layer holds plugin "good": want one layer of media type application/vnd.gatehouse.plugin.v1+so or titled "good.so"`},
		{name: "a container image layer", layers: []layer{
			{mediaType: ocispec.MediaTypeImageLayerGzip, data: good},
		}, fail: "layers: application/vnd.oci.image.layer.v1.tar+gzip titled \"\""},
		{name: "several plugin layers, none titled <name>.so", layers: []layer{
			soLayer("cors.so", cors), soLayer("other.so", good),
		}, fail: `no single layer holds plugin "good"`},
	}
	reg := newOCIRegistry(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := fmt.Sprintf("case%d", i)
			reg.pushArtifact(t, repo, "1", tt.layers...)
			cache := t.TempDir()
			res := &pluginhost.Resolver{CacheDir: cache}
			got, err := res.Resolve(context.Background(), "good", reg.address(t, repo+":1"))
			if tt.fail != "" {
				var re *pluginhost.ResolveError
				require.ErrorAs(t, err, &re)
				require.Equal(t, pluginhost.StepResolve, re.Step)
				require.Contains(t, re.Actual, tt.fail)
				require.Equal(t, "push the .so as its own layer: oras push "+reg.host+"/"+repo+":<tag> --artifact-type application/vnd.gatehouse.plugin.v1 good.so:application/vnd.gatehouse.plugin.v1+so", re.Fix)
				require.NoFileExists(t, filepath.Join(cache, sha256Hex(good)+".so"))
				return
			}
			require.NoError(t, err)
			data, err := os.ReadFile(got.Path)
			require.NoError(t, err)
			require.Equal(t, tt.want, data)
		})
	}
}

func TestResolveOCIPicksThisPlatformFromAnIndex(t *testing.T) {
	reg := newOCIRegistry(t)
	ctx := context.Background()
	store := memory.New()
	mine, other := []byte("plugin for this platform"), []byte("plugin for another platform")
	otherArch := "arm64"
	if runtime.GOARCH == "arm64" {
		otherArch = "amd64"
	}
	mineDesc := packManifest(t, store, soLayer("good.so", mine))
	mineDesc.Platform = &ocispec.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	otherDesc := packManifest(t, store, soLayer("good.so", other))
	otherDesc.Platform = &ocispec.Platform{OS: runtime.GOOS, Architecture: otherArch}
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{otherDesc, mineDesc}}
	idx.SchemaVersion = 2
	indexDesc, err := oras.TagBytes(ctx, store, ocispec.MediaTypeImageIndex, mustJSON(t, idx), "multi")
	require.NoError(t, err)
	reg.push(t, store, "good", "multi")

	res := &pluginhost.Resolver{CacheDir: t.TempDir()}
	got, err := res.Resolve(ctx, "good", reg.address(t, "good:multi"))
	require.NoError(t, err)
	require.Equal(t, sha256Hex(mine), got.SHA256)
	require.Equal(t, "oci://"+reg.host+"/good@"+indexDesc.Digest.String(), got.Pinned, "the pin is the index the tag named")

	// An index without this platform is refused with the platforms it has.
	store = memory.New()
	otherDesc = packManifest(t, store, soLayer("good.so", other))
	otherDesc.Platform = &ocispec.Platform{OS: "windows", Architecture: otherArch}
	idx = ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{otherDesc}}
	idx.SchemaVersion = 2
	_, err = oras.TagBytes(ctx, store, ocispec.MediaTypeImageIndex, mustJSON(t, idx), "windows")
	require.NoError(t, err)
	reg.push(t, store, "good", "windows")
	_, err = res.Resolve(ctx, "good", reg.address(t, "good:windows"))
	var re *pluginhost.ResolveError
	require.ErrorAs(t, err, &re)
	require.Contains(t, re.Actual, "has 0 manifests for "+runtime.GOOS+"/"+runtime.GOARCH+" (platforms: windows/"+otherArch+")")
}

func TestResolveOCIRefuses(t *testing.T) {
	reg := newOCIRegistry(t)
	artifact := []byte("plugin bytes")
	manifest := reg.pushArtifact(t, "good", "1", soLayer("good.so", artifact))
	unknown := "sha256:" + strings.Repeat("0", 64)

	t.Run("unknown tag", func(t *testing.T) {
		cache := t.TempDir()
		_, err := (&pluginhost.Resolver{CacheDir: cache}).Resolve(context.Background(), "good", reg.address(t, "good:2"))
		var re *pluginhost.ResolveError
		require.ErrorAs(t, err, &re)
		require.Equal(t, "fetch manifest 2: not found in "+reg.host+"/good", re.Actual)
		require.Equal(t, "check the tag 2 and the repository (oras repo tags "+reg.host+"/good lists the tags)", re.Fix)
		require.Empty(t, cacheFiles(t, cache))
	})
	t.Run("unknown digest", func(t *testing.T) {
		_, err := (&pluginhost.Resolver{CacheDir: t.TempDir()}).Resolve(context.Background(), "good", reg.address(t, "good@"+unknown))
		var re *pluginhost.ResolveError
		require.ErrorAs(t, err, &re)
		require.Contains(t, re.Actual, "not found in "+reg.host+"/good")
		require.Contains(t, re.Fix, "check the digest "+unknown)
	})
	t.Run("layer larger than the limit", func(t *testing.T) {
		cache := t.TempDir()
		before := reg.blobs.Load()
		_, err := (&pluginhost.Resolver{CacheDir: cache, MaxSize: 4}).Resolve(context.Background(), "good", reg.address(t, "good:1"))
		var re *pluginhost.ResolveError
		require.ErrorAs(t, err, &re)
		require.Contains(t, re.Actual, "is 12 bytes, more than the limit of 4 bytes")
		require.Equal(t, before, reg.blobs.Load(), "refused before the download")
		require.NotContains(t, cacheFiles(t, cache), sha256Hex(artifact)+".so")
	})
	t.Run("registry serves other content", func(t *testing.T) {
		cache := t.TempDir()
		tamper := func(_ string, body []byte) []byte {
			out := bytes.Clone(body)
			out[0] ^= 0xff
			return out
		}
		reg.tamper.Store(&tamper)
		defer reg.tamper.Store(nil)
		_, err := (&pluginhost.Resolver{CacheDir: cache}).Resolve(context.Background(), "good", reg.address(t, "good@"+manifest))
		var re *pluginhost.ResolveError
		require.ErrorAs(t, err, &re)
		require.Equal(t, pluginhost.StepSHA256, re.Step)
		require.Equal(t, sha256Hex(artifact), re.Expected)
		require.Contains(t, re.Fix, "the registry served a layer that is not the one its manifest names")
		require.NotContains(t, cacheFiles(t, cache), sha256Hex(artifact)+".so", "nothing unverified is kept")
		files, err := filepath.Glob(filepath.Join(cache, ".download-*"))
		require.NoError(t, err)
		require.Empty(t, files)
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return data
}

// schemeRecorder fails every request after recording its URL, so that a
// test sees how a registry would be contacted without any network.
type schemeRecorder struct{ urls []string }

func (s *schemeRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	s.urls = append(s.urls, r.URL.String())
	return nil, errors.New("recorded")
}

func TestResolveOCIUsesPlainHTTPOnlyForLoopbackRegistries(t *testing.T) {
	tests := []struct {
		registry string
		want     string
	}{
		{"registry.example.com", "https://registry.example.com/v2/acme/good/manifests/1"},
		{"registry.example.com:5000", "https://registry.example.com:5000/v2/acme/good/manifests/1"},
		{"10.0.0.5:5000", "https://10.0.0.5:5000/v2/acme/good/manifests/1"},
		{"localhost.example.com:5000", "https://localhost.example.com:5000/v2/acme/good/manifests/1"},
		{"localhost:5000", "http://localhost:5000/v2/acme/good/manifests/1"},
		{"127.0.0.1:5000", "http://127.0.0.1:5000/v2/acme/good/manifests/1"},
		{"127.1.2.3", "http://127.1.2.3/v2/acme/good/manifests/1"},
		{"[::1]:5000", "http://[::1]:5000/v2/acme/good/manifests/1"},
	}
	for _, tt := range tests {
		t.Run(tt.registry, func(t *testing.T) {
			rec := &schemeRecorder{}
			res := &pluginhost.Resolver{CacheDir: t.TempDir(), HTTPClient: &http.Client{Transport: rec}}
			a, err := pluginhost.ParseImageAddress("oci://" + tt.registry + "/acme/good:1")
			require.NoError(t, err)
			_, err = res.Resolve(context.Background(), "good", a)
			require.Error(t, err)
			require.NotEmpty(t, rec.urls)
			require.Equal(t, tt.want, rec.urls[0])
		})
	}
}
