package pluginhost

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
)

// Image address schemes.
const (
	SchemeFile  = "file"
	SchemeHTTPS = "https"
	SchemeOCI   = "oci"
)

// allowedForms is appended to every parse error so that the user sees what
// an image address may look like.
const allowedForms = `allowed forms: "file:///abs/path/name.so" (optional "#sha256=<64 hex digits>"), ` +
	`"https://host/path/name.so#sha256=<64 hex digits>", "oci://registry/repo:tag" or "oci://registry/repo@sha256:<64 hex digits>"`

// ErrSchemeNotResolvable is returned by ImageAddress.Resolve (and a nil
// *Resolver) for https:// and oci:// addresses: they parse and validate,
// but resolving them needs a Resolver, which downloads them.
var ErrSchemeNotResolvable = errors.New("image address scheme not resolvable without a download dir")

var (
	sha256Hex    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	ociComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	ociTag       = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)
	ociRegistry  = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$`)
)

// ImageAddress is a parsed plugin image address: where a plugin artifact
// comes from and, optionally, the sha256 digest it must have.
type ImageAddress struct {
	// Raw is the address as given.
	Raw string
	// Scheme is SchemeFile, SchemeHTTPS or SchemeOCI.
	Scheme string
	// Path is the absolute artifact path of a file:// address.
	Path string
	// URL is an https:// address without its fragment.
	URL string
	// Registry, Repository and Tag name an oci:// artifact; Tag is empty
	// when the address pins a digest instead (repo@sha256:…).
	Registry   string
	Repository string
	Tag        string
	// SHA256 is the pinned digest in lowercase hex, or empty when the
	// address pins none. It is always set for https:// addresses.
	SHA256 string
}

// ParseImageAddress parses and validates an image address. It reports every
// problem at once, each saying which form is allowed.
func ParseImageAddress(s string) (ImageAddress, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return ImageAddress{}, fmt.Errorf("image address is empty; %s", allowedForms)
	}
	scheme, _, ok := strings.Cut(s, "://")
	if !ok {
		return ImageAddress{}, fmt.Errorf("image address %q has no scheme; %s", s, allowedForms)
	}
	switch strings.ToLower(scheme) {
	case SchemeFile:
		return parseFileAddress(s)
	case SchemeHTTPS:
		return parseHTTPSAddress(s)
	case SchemeOCI:
		return parseOCIAddress(s)
	case "http":
		return ImageAddress{}, fmt.Errorf("image address %q: plain http is not allowed, use https:// with a #sha256= pin; %s", s, allowedForms)
	default:
		return ImageAddress{}, fmt.Errorf("image address %q: unknown scheme %q; %s", s, scheme, allowedForms)
	}
}

func parseFileAddress(s string) (ImageAddress, error) {
	u, err := url.Parse(s)
	if err != nil {
		return ImageAddress{}, fmt.Errorf("image address %q: %w; %s", s, err, allowedForms)
	}
	a := ImageAddress{Raw: s, Scheme: SchemeFile, Path: u.Path}
	var errs []error
	if u.Host != "" && u.Host != "localhost" {
		errs = append(errs, fmt.Errorf("image address %q: file:// addresses name a local file, not host %q: write three slashes, file:///abs/path/name.so", s, u.Host))
	}
	if u.User != nil || u.RawQuery != "" {
		errs = append(errs, fmt.Errorf("image address %q: a file:// address takes no user or query; %s", s, allowedForms))
	}
	if !strings.HasPrefix(u.Path, "/") || filepath.Clean(u.Path) != u.Path {
		errs = append(errs, fmt.Errorf("image address %q: path %q must be absolute and clean, like file:///opt/gatehouse/plugins/name.so", s, u.Path))
	}
	if !strings.HasSuffix(u.Path, ".so") {
		errs = append(errs, fmt.Errorf("image address %q: path %q must name a Go plugin file ending in .so", s, u.Path))
	}
	if u.Fragment != "" {
		digest, err := parsePin(s, u.Fragment)
		if err != nil {
			errs = append(errs, err)
		}
		a.SHA256 = digest
	}
	return a, errors.Join(errs...)
}

func parseHTTPSAddress(s string) (ImageAddress, error) {
	u, err := url.Parse(s)
	if err != nil {
		return ImageAddress{}, fmt.Errorf("image address %q: %w; %s", s, err, allowedForms)
	}
	var errs []error
	if u.Host == "" {
		errs = append(errs, fmt.Errorf("image address %q: an https:// address needs a host, like https://example.com/plugins/name.so#sha256=<64 hex digits>", s))
	}
	if u.User != nil {
		errs = append(errs, fmt.Errorf("image address %q: credentials in the address are not allowed", s))
	}
	if u.Path == "" || strings.HasSuffix(u.Path, "/") {
		errs = append(errs, fmt.Errorf("image address %q: an https:// address must name a file, like https://example.com/plugins/name.so#sha256=<64 hex digits>", s))
	}
	var digest string
	if u.Fragment == "" {
		errs = append(errs, fmt.Errorf("image address %q: an https:// address must pin the artifact's digest with #sha256=<64 hex digits>", s))
	} else {
		digest, err = parsePin(s, u.Fragment)
		if err != nil {
			errs = append(errs, err)
		}
	}
	u.Fragment, u.RawFragment = "", ""
	return ImageAddress{Raw: s, Scheme: SchemeHTTPS, URL: u.String(), SHA256: digest}, errors.Join(errs...)
}

func parsePin(s, fragment string) (string, error) {
	value, ok := strings.CutPrefix(fragment, "sha256=")
	digest := strings.ToLower(value)
	if !ok || !sha256Hex.MatchString(digest) {
		return "", fmt.Errorf("image address %q: fragment %q must be sha256=<64 hex digits>", s, fragment)
	}
	return digest, nil
}

func parseOCIAddress(s string) (ImageAddress, error) {
	ref := s[len("oci://"):]
	a := ImageAddress{Raw: s, Scheme: SchemeOCI}
	var errs []error
	name := ref
	if before, digest, ok := strings.Cut(ref, "@"); ok {
		name = before
		hex, ok := strings.CutPrefix(digest, "sha256:")
		if !ok || !sha256Hex.MatchString(hex) {
			errs = append(errs, fmt.Errorf("image address %q: digest %q must be sha256:<64 lowercase hex digits>", s, digest))
		} else {
			a.SHA256 = hex
		}
	} else if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		name, a.Tag = ref[:i], ref[i+1:]
		if !ociTag.MatchString(a.Tag) {
			errs = append(errs, fmt.Errorf("image address %q: tag %q may hold letters, digits, '_', '.' and '-' (at most 128, not starting with '.' or '-')", s, a.Tag))
		}
	} else {
		errs = append(errs, fmt.Errorf("image address %q: an oci:// address needs a tag (repo:tag) or a digest (repo@sha256:<64 hex digits>)", s))
	}
	registry, repo, ok := strings.Cut(name, "/")
	if !ok || registry == "" || repo == "" {
		errs = append(errs, fmt.Errorf("image address %q: an oci:// address names a registry and a repository, like oci://ghcr.io/acme/plugins/name:1.0", s))
	} else {
		a.Registry, a.Repository = registry, repo
		if !ociRegistry.MatchString(registry) {
			errs = append(errs, fmt.Errorf("image address %q: registry %q must be a host name or IP address with an optional :port, like ghcr.io or 127.0.0.1:5000", s, registry))
		}
		for _, c := range strings.Split(repo, "/") {
			if !ociComponent.MatchString(c) {
				errs = append(errs, fmt.Errorf("image address %q: repository component %q may hold lowercase letters and digits separated by '.', '_' or '-'", s, c))
			}
		}
	}
	return a, errors.Join(errs...)
}

// Resolve returns the local path of a file:// artifact. https:// and
// oci:// addresses are downloaded by a Resolver; here they return an error
// wrapping ErrSchemeNotResolvable that says so.
func (a ImageAddress) Resolve() (string, error) {
	switch a.Scheme {
	case SchemeFile:
		return a.Path, nil
	case SchemeHTTPS, SchemeOCI:
		return "", fmt.Errorf("resolve %q: %w: only file:// addresses resolve here; "+
			"copy the artifact onto this machine and use its file:// address", a.Raw, ErrSchemeNotResolvable)
	default:
		return "", fmt.Errorf("resolve %q: unknown scheme %q; %s", a.Raw, a.Scheme, allowedForms)
	}
}

// String returns the address as given.
func (a ImageAddress) String() string { return a.Raw }

// DefaultAddress returns the image address of a bundled plugin:
// file://<absolute plugin dir>/<name>.so. If the working directory cannot be
// determined, a relative pluginDir is used as is.
func DefaultAddress(pluginDir, name string) string {
	dir, err := filepath.Abs(pluginDir)
	if err != nil {
		dir = filepath.Clean(pluginDir)
	}
	return (&url.URL{Scheme: SchemeFile, Path: filepath.Join(dir, name+".so")}).String()
}
