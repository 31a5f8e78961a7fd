package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
)

// DefaultMaxArtifactSize is the largest artifact a Resolver downloads when
// its MaxSize is zero: 256 MiB, several times a real plugin.
const DefaultMaxArtifactSize int64 = 256 << 20

// Resolver resolves image addresses to local artifact files. file://
// addresses resolve to their path. https:// and oci:// addresses are
// downloaded into CacheDir, checked against their digest before they are
// kept, and kept under that digest (<CacheDir>/<sha256>.so), so that an
// artifact is downloaded once and a later start needs no network for it:
//
//   - https://host/path/name.so#sha256=<hex>: a GET of the URL (redirects
//     to anything but https:// are refused); the body must have the pinned
//     digest.
//   - oci://registry/repo:tag or oci://registry/repo@sha256:<hex>: pulled
//     with oras-go. A tag is resolved to a manifest digest on every Resolve
//     (Resolved.Pinned records it); a pinned manifest that was pulled
//     before resolves from CacheDir without the registry. The manifest's
//     layer that holds the plugin is the one of media type MediaTypePlugin,
//     or the one titled <name>.so, or the only layer; an image index is
//     narrowed to this platform's manifest first. A registry on a loopback
//     address (localhost, 127.0.0.0/8, [::1]) is spoken to over plain HTTP,
//     every other registry over HTTPS only. Pulls are anonymous: registry
//     credentials are not supported.
//
// A nil *Resolver resolves file:// addresses only. A Resolver is safe for
// concurrent use; concurrent resolutions of one digest each write a
// temporary file and rename it into place.
type Resolver struct {
	// CacheDir holds the downloaded artifacts; it is created when first
	// needed. Gatehouse uses <data dir>/plugins.
	CacheDir string
	// HTTPClient makes every request; nil means a client with Go's default
	// transport (system root certificates, proxy from the environment).
	HTTPClient *http.Client
	// MaxSize is the largest artifact accepted, in bytes; 0 means
	// DefaultMaxArtifactSize.
	MaxSize int64
	// Logger records downloads; nil discards.
	Logger *slog.Logger
}

// Resolved is a resolved image address.
type Resolved struct {
	// Path is the local artifact file.
	Path string
	// SHA256 is the digest the file must have, in lowercase hex: the
	// address's pin, or for an oci:// address the digest of the layer its
	// manifest names. It is empty only for a file:// address without a pin.
	SHA256 string
	// Pinned is, for an oci:// address, the same artifact pinned by
	// manifest digest (oci://registry/repo@sha256:<hex>): what a tag
	// pointed to when it was resolved. It is empty for other schemes.
	Pinned string
}

// ResolveError is an image address that could not be resolved. Step is
// StepResolve, or StepSHA256 when the downloaded content is not the pinned
// artifact; Actual is what went wrong (or the digest found) and Fix what to
// do about it.
type ResolveError struct {
	Address  string
	Step     Step
	Expected string
	Actual   string
	Fix      string
	// Err is the underlying error, if any.
	Err error
}

// Error implements error.
func (e *ResolveError) Error() string {
	detail := e.Actual
	if e.Step == StepSHA256 {
		detail = "expected sha256 " + e.Expected + ", got " + e.Actual
	}
	return oneLine(fmt.Sprintf("resolve %s: %s — %s", e.Address, detail, e.Fix))
}

// Unwrap returns the underlying error.
func (e *ResolveError) Unwrap() error { return e.Err }

// Resolve returns the local artifact of plugin name at address a,
// downloading it first when it is remote and not cached yet. name selects
// the layer of an oci:// artifact that holds several. Failures are
// *ResolveError, or wrap ErrSchemeNotResolvable when r is nil and a is
// remote.
func (r *Resolver) Resolve(ctx context.Context, name string, a ImageAddress) (Resolved, error) {
	if a.Scheme == SchemeFile || r == nil {
		path, err := a.Resolve()
		return Resolved{Path: path, SHA256: a.SHA256}, err
	}
	if r.CacheDir == "" {
		return Resolved{}, &ResolveError{Address: a.Raw, Step: StepResolve,
			Actual: "no download dir configured", Fix: "set the data dir (GATEHOUSE_DATA_DIR); remote artifacts are kept in <data dir>/plugins"}
	}
	switch a.Scheme {
	case SchemeHTTPS:
		return r.resolveHTTPS(ctx, a)
	case SchemeOCI:
		return r.resolveOCI(ctx, name, a)
	default:
		return Resolved{}, &ResolveError{Address: a.Raw, Step: StepResolve,
			Actual: fmt.Sprintf("unknown scheme %q", a.Scheme), Fix: allowedForms}
	}
}

func (r *Resolver) maxSize() int64 {
	if r.MaxSize > 0 {
		return r.MaxSize
	}
	return DefaultMaxArtifactSize
}

func (r *Resolver) httpClient() *http.Client {
	if r.HTTPClient != nil {
		return r.HTTPClient
	}
	return &http.Client{}
}

func (r *Resolver) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// artifactPath is where the artifact of digest hex is kept.
func (r *Resolver) artifactPath(hex string) string {
	return filepath.Join(r.CacheDir, hex+".so")
}

// cached reports whether path holds content of digest want. A file with
// other content (a damaged cache) is removed so that it is downloaded
// again.
func (r *Resolver) cached(path, want string) bool {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	sum, err := fileSHA256(path)
	if err == nil && sum == want {
		return true
	}
	r.log().Warn("cached plugin artifact is damaged; downloading it again", "component", "pluginhost", "path", path, "expected_sha256", want, "sha256", sum)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.log().Warn("removing a damaged plugin artifact failed", "component", "pluginhost", "path", path, "error", err)
	}
	return false
}

// errTooLarge is content beyond the Resolver's MaxSize.
var errTooLarge = errors.New("artifact too large")

// store copies src into a temporary file in CacheDir, then keeps it as the
// artifact of digest want (lowercase hex) and returns its path, provided
// that src holds at most MaxSize bytes, their sha256 is want, and check
// (given the size) accepts them. Nothing is left behind otherwise.
func (r *Resolver) store(src io.Reader, want string, check func(written int64) error) (string, error) {
	if err := os.MkdirAll(r.CacheDir, 0o750); err != nil {
		return "", fmt.Errorf("create the download dir: %w", err)
	}
	tmp, err := os.CreateTemp(r.CacheDir, ".download-*.tmp")
	if err != nil {
		return "", fmt.Errorf("create a download file in %s: %w", r.CacheDir, err)
	}
	keep := false
	defer func() {
		if !keep {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(src, r.maxSize()+1))
	if err != nil {
		return "", fmt.Errorf("download: %w", err)
	}
	if n > r.maxSize() {
		return "", errTooLarge
	}
	if err := check(n); err != nil {
		return "", err
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != want {
		return "", &digestError{expected: want, actual: sum}
	}
	if err := tmp.Sync(); err != nil {
		return "", fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	path := r.artifactPath(want)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("keep the download as %s: %w", path, err)
	}
	keep = true
	return path, nil
}

// digestError is downloaded content whose sha256 is not the expected one.
type digestError struct{ expected, actual string }

func (e *digestError) Error() string {
	return "expected sha256 " + e.expected + ", got " + e.actual
}

// sizeText formats a byte count for messages.
func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
