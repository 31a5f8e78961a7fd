package pluginhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	ocidigest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// MediaTypePlugin is the media type of the OCI layer that holds a plugin
// artifact (the .so file itself, not a tar). Push one with
//
//	oras push registry/repo:tag --artifact-type application/vnd.gatehouse.plugin.v1 \
//	    name.so:application/vnd.gatehouse.plugin.v1+so
const MediaTypePlugin = "application/vnd.gatehouse.plugin.v1+so"

// ArtifactTypePlugin is the artifact type of an OCI manifest of a plugin.
// Resolution does not require it; it lets registries and tools show what
// the artifact is.
const ArtifactTypePlugin = "application/vnd.gatehouse.plugin.v1"

// maxManifestSize bounds the manifests and indexes read from a registry
// (oras-go's own default).
const maxManifestSize = 4 << 20

// Media types of manifests and indexes this resolver reads.
const (
	mediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// ociDocument is the part of an image manifest or index that resolution
// reads.
type ociDocument struct {
	MediaType string               `json:"mediaType"`
	Manifests []ocispec.Descriptor `json:"manifests"`
	Layers    []ocispec.Descriptor `json:"layers"`
}

func (d ociDocument) isIndex(mediaType string) bool {
	switch mediaType {
	case ocispec.MediaTypeImageIndex, mediaTypeDockerManifestList:
		return true
	case ocispec.MediaTypeImageManifest, mediaTypeDockerManifest:
		return false
	}
	return d.Manifests != nil && d.Layers == nil
}

// ociPull is one oci:// resolution.
type ociPull struct {
	r    *Resolver
	a    ImageAddress
	name string
	repo *remote.Repository
}

// fail returns a ResolveError at StepResolve.
func (p *ociPull) fail(actual, fix string, err error) (Resolved, error) {
	return Resolved{}, &ResolveError{Address: p.a.Raw, Step: StepResolve, Actual: actual, Fix: fix, Err: err}
}

// resolveOCI pulls the plugin layer of an oci:// artifact into the cache
// unless the cache holds it already.
func (r *Resolver) resolveOCI(ctx context.Context, name string, a ImageAddress) (Resolved, error) {
	p := &ociPull{r: r, a: a, name: name}
	repo, err := remote.NewRepository(a.Registry + "/" + a.Repository)
	if err != nil {
		return p.fail(err.Error(), fixAddress, err)
	}
	// Plain HTTP never leaves the machine; every other registry is spoken
	// to over HTTPS.
	repo.PlainHTTP = isLoopbackHost(a.Registry)
	repo.Client = &auth.Client{
		Client: r.httpClient(),
		Cache:  auth.NewCache(),
		Header: http.Header{"User-Agent": {"gatehouse-plugin-resolver"}},
	}
	p.repo = repo

	top, doc, err := p.topDocument(ctx)
	if err != nil {
		return Resolved{}, err
	}
	pinned := fmt.Sprintf("oci://%s/%s@%s", a.Registry, a.Repository, top.Digest)
	manifest := doc
	if doc.isIndex(top.MediaType) {
		child, err := p.platformManifest(doc, top)
		if err != nil {
			return Resolved{}, err
		}
		if manifest, err = p.document(ctx, child); err != nil {
			return Resolved{}, err
		}
	}
	layer, err := p.pluginLayer(manifest)
	if err != nil {
		return Resolved{}, err
	}
	want := layer.Digest.Encoded()
	path := r.artifactPath(want)
	if r.cached(path, want) {
		return Resolved{Path: path, SHA256: want, Pinned: pinned}, nil
	}
	if layer.Size > r.maxSize() {
		return p.fail(fmt.Sprintf("layer %s is %s, more than the limit of %s", layer.Digest, sizeText(layer.Size), sizeText(r.maxSize())),
			"check that the address names a gatehouse plugin artifact, not a container image", errTooLarge)
	}
	rc, err := repo.Blobs().Fetch(ctx, layer)
	if err != nil {
		return p.registryFailure("fetch layer "+layer.Digest.String(), err)
	}
	defer rc.Close() //nolint:errcheck // read-only body
	vr := content.NewVerifyReader(rc, layer)
	path, err = r.store(vr, want, func(int64) error { return vr.Verify() })
	if err != nil {
		var digestErr *digestError
		switch {
		case errors.As(err, &digestErr), errors.Is(err, content.ErrMismatchedDigest), errors.Is(err, content.ErrTrailingData), errors.Is(err, errdef.ErrSizeExceedsLimit):
			return Resolved{}, &ResolveError{Address: a.Raw, Step: StepSHA256, Expected: want, Actual: "content that does not match: " + err.Error(),
				Fix: "the registry served a layer that is not the one its manifest names: retry, and report it to the registry's operator if it persists", Err: err}
		default:
			return p.fail("pull layer "+layer.Digest.String()+": "+err.Error(), "check the connection to the registry and the free space in "+r.CacheDir+", then retry", err)
		}
	}
	r.log().Info("plugin artifact pulled", "component", "pluginhost", "address", a.Raw, "pinned", pinned, "sha256", want, "path", path)
	return Resolved{Path: path, SHA256: want, Pinned: pinned}, nil
}

// topDocument returns the manifest or index the address names: from the
// cache when the address pins a digest that was pulled before, else from
// the registry (a tag is resolved there on every call).
func (p *ociPull) topDocument(ctx context.Context) (ocispec.Descriptor, ociDocument, error) {
	reference := p.a.Tag
	if p.a.SHA256 != "" {
		d := ocidigest.NewDigestFromEncoded(ocidigest.SHA256, p.a.SHA256)
		if desc, doc, ok := p.cachedDocument(d); ok {
			return desc, doc, nil
		}
		reference = d.String()
	}
	desc, rc, err := p.repo.FetchReference(ctx, reference)
	if err != nil {
		_, err = p.registryFailure("fetch manifest "+reference, err)
		return ocispec.Descriptor{}, ociDocument{}, err
	}
	defer rc.Close() //nolint:errcheck // read-only body
	doc, err := p.readDocument(rc, desc)
	return desc, doc, err
}

// document returns the manifest desc names, from the cache or the registry.
func (p *ociPull) document(ctx context.Context, desc ocispec.Descriptor) (ociDocument, error) {
	if _, doc, ok := p.cachedDocument(desc.Digest); ok {
		return doc, nil
	}
	rc, err := p.repo.Manifests().Fetch(ctx, desc)
	if err != nil {
		_, err = p.registryFailure("fetch manifest "+desc.Digest.String(), err)
		return ociDocument{}, err
	}
	defer rc.Close() //nolint:errcheck // read-only body
	return p.readDocument(rc, desc)
}

// readDocument reads a manifest or index, checks it against desc's size
// and digest, and caches it under its digest.
func (p *ociPull) readDocument(rc io.Reader, desc ocispec.Descriptor) (ociDocument, error) {
	if desc.Size > maxManifestSize {
		_, err := p.fail(fmt.Sprintf("manifest %s is %s, more than %s", desc.Digest, sizeText(desc.Size), sizeText(maxManifestSize)), fixAddress, errTooLarge)
		return ociDocument{}, err
	}
	data, err := content.ReadAll(rc, desc)
	if err != nil {
		_, err = p.fail(fmt.Sprintf("read manifest %s: %v", desc.Digest, err), "retry; if it persists, the registry serves a manifest that is not the one it names", err)
		return ociDocument{}, err
	}
	var doc ociDocument
	if err := json.Unmarshal(data, &doc); err != nil {
		_, err = p.fail(fmt.Sprintf("manifest %s is not JSON: %v", desc.Digest, err), "check that the address names an OCI artifact", err)
		return ociDocument{}, err
	}
	p.cacheDocument(desc, data)
	return doc, nil
}

// manifestPath is where the manifest or index of digest d is cached. The
// file holds the bytes as pulled, so that their digest checks them.
func (p *ociPull) manifestPath(d ocidigest.Digest) string {
	return filepath.Join(p.r.CacheDir, "manifests", d.Encoded()+".json")
}

// cachedDocument returns the cached manifest or index of digest d, if its
// content still has that digest.
func (p *ociPull) cachedDocument(d ocidigest.Digest) (ocispec.Descriptor, ociDocument, bool) {
	if d.Algorithm() != ocidigest.SHA256 || d.Validate() != nil {
		return ocispec.Descriptor{}, ociDocument{}, false
	}
	data, err := os.ReadFile(p.manifestPath(d))
	if err != nil || ocidigest.FromBytes(data) != d {
		return ocispec.Descriptor{}, ociDocument{}, false
	}
	var doc ociDocument
	if err := json.Unmarshal(data, &doc); err != nil {
		return ocispec.Descriptor{}, ociDocument{}, false
	}
	return ocispec.Descriptor{MediaType: doc.MediaType, Digest: d, Size: int64(len(data))}, doc, true
}

// cacheDocument keeps a pulled manifest or index. A failure only costs a
// pull at the next resolution, so it is logged, not returned.
func (p *ociPull) cacheDocument(desc ocispec.Descriptor, data []byte) {
	path := p.manifestPath(desc.Digest)
	err := os.MkdirAll(filepath.Dir(path), 0o750)
	if err == nil {
		err = writeFileAtomic(path, data)
	}
	if err != nil {
		p.r.log().Warn("caching an OCI manifest failed; it will be pulled again", "component", "pluginhost", "path", path, "error", err)
	}
}

// platformManifest picks this platform's manifest from an index.
func (p *ociPull) platformManifest(index ociDocument, desc ocispec.Descriptor) (ocispec.Descriptor, error) {
	var found []ocispec.Descriptor
	var platforms []string
	for _, m := range index.Manifests {
		if m.Platform == nil {
			platforms = append(platforms, "(none)")
			continue
		}
		platforms = append(platforms, m.Platform.OS+"/"+m.Platform.Architecture)
		if m.Platform.OS == runtime.GOOS && m.Platform.Architecture == runtime.GOARCH {
			found = append(found, m)
		}
	}
	if len(found) == 0 && len(index.Manifests) == 1 && index.Manifests[0].Platform == nil {
		found = index.Manifests
	}
	if len(found) != 1 {
		_, err := p.fail(fmt.Sprintf("index %s has %d manifests for %s/%s (platforms: %s)", desc.Digest, len(found), runtime.GOOS, runtime.GOARCH, strings.Join(platforms, ", ")),
			fmt.Sprintf("push exactly one plugin built for %s/%s by this gatehouse's toolchain, or address its manifest by digest", runtime.GOOS, runtime.GOARCH), nil)
		return ocispec.Descriptor{}, err
	}
	return found[0], nil
}

// pluginLayer picks the layer that holds the plugin: the one of media type
// MediaTypePlugin, else the one titled <name>.so, else the only layer
// unless it is a container image layer. Several candidates narrow by title.
func (p *ociPull) pluginLayer(m ociDocument) (ocispec.Descriptor, error) {
	title := p.name + ".so"
	byTitle := func(layers []ocispec.Descriptor) []ocispec.Descriptor {
		var out []ocispec.Descriptor
		for _, l := range layers {
			if l.Annotations[ocispec.AnnotationTitle] == title {
				out = append(out, l)
			}
		}
		return out
	}
	var typed []ocispec.Descriptor
	for _, l := range m.Layers {
		if l.MediaType == MediaTypePlugin {
			typed = append(typed, l)
		}
	}
	candidates := typed
	switch {
	case len(typed) > 1:
		candidates = byTitle(typed)
	case len(typed) == 0:
		candidates = byTitle(m.Layers)
		if len(candidates) == 0 && len(m.Layers) == 1 && !isImageLayer(m.Layers[0].MediaType) {
			candidates = m.Layers
		}
	}
	if len(candidates) == 1 {
		l := candidates[0]
		if l.Digest.Algorithm() != ocidigest.SHA256 || l.Digest.Validate() != nil {
			return p.failLayer(fmt.Sprintf("the plugin layer's digest %q is not a sha256 digest", l.Digest), "push the artifact again with a current oras client")
		}
		return l, nil
	}
	var desc []string
	for _, l := range m.Layers {
		desc = append(desc, fmt.Sprintf("%s titled %q", l.MediaType, l.Annotations[ocispec.AnnotationTitle]))
	}
	if len(m.Layers) == 0 {
		desc = append(desc, "none")
	}
	return p.failLayer(fmt.Sprintf("no single layer holds plugin %q: want one layer of media type %s or titled %q; layers: %s", p.name, MediaTypePlugin, title, strings.Join(desc, "; ")),
		fmt.Sprintf("push the .so as its own layer: oras push %s/%s:<tag> --artifact-type %s %s:%s", p.a.Registry, p.a.Repository, ArtifactTypePlugin, title, MediaTypePlugin))
}

func (p *ociPull) failLayer(actual, fix string) (ocispec.Descriptor, error) {
	_, err := p.fail(actual, fix, nil)
	return ocispec.Descriptor{}, err
}

// isImageLayer reports whether mediaType is a container image layer (a tar
// archive), which cannot be a plugin.
func isImageLayer(mediaType string) bool {
	return strings.HasPrefix(mediaType, "application/vnd.oci.image.layer.") ||
		strings.HasPrefix(mediaType, "application/vnd.docker.image.rootfs.")
}

// registryFailure turns an error from the registry into a ResolveError
// that says what to do.
func (p *ociPull) registryFailure(what string, err error) (Resolved, error) {
	where := p.a.Registry + "/" + p.a.Repository
	var resp *errcode.ErrorResponse
	var netErr net.Error
	switch {
	case errors.Is(err, errdef.ErrNotFound):
		ref := "tag " + p.a.Tag
		if p.a.Tag == "" {
			ref = "digest sha256:" + p.a.SHA256
		}
		return p.fail(fmt.Sprintf("%s: not found in %s", what, where),
			fmt.Sprintf("check the %s and the repository (oras repo tags %s lists the tags)", ref, where), err)
	case errors.As(err, &resp) && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden):
		return p.fail(fmt.Sprintf("%s: registry %s refused an anonymous pull (status %d)", what, p.a.Registry, resp.StatusCode),
			"gatehouse pulls without credentials: make the repository public, or publish the .so over https:// and use that address with its #sha256= pin", err)
	case errors.As(err, &resp):
		return p.fail(fmt.Sprintf("%s from %s: status %d: %v", what, where, resp.StatusCode, resp.Errors),
			"check the address; if it is right, the registry is failing: retry later", err)
	case errors.As(err, &netErr):
		fix := fmt.Sprintf("check that registry %s is reachable from this machine over %s", p.a.Registry, p.transport())
		if p.a.Tag != "" {
			fix += "; a digest-pinned address (oci://" + where + "@sha256:…) that was pulled once resolves without the registry"
		}
		return p.fail(fmt.Sprintf("%s from %s: %s", what, where, errorWithoutURL(err)), fix, err)
	default:
		return p.fail(fmt.Sprintf("%s from %s: %v", what, where, err), "check the address and that the registry serves OCI artifacts, then retry", err)
	}
}

// transport says how the registry is contacted, for messages.
func (p *ociPull) transport() string {
	if p.repo.PlainHTTP {
		return "plain HTTP, as a loopback registry (is it running on that port?)"
	}
	return "HTTPS (DNS, proxy, firewall, TLS certificate)"
}

// isLoopbackHost reports whether hostport (host, host:port or [ip]:port)
// names this machine: localhost or a loopback IP. Names are not looked up,
// so a name that merely resolves to a loopback address does not count.
func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// writeFileAtomic writes data to path through a temporary file in the same
// dir, so that readers see the old content or the new, never a part.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".write-*.tmp")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
	return err
}
