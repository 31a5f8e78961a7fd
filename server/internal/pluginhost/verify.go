package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"plugin"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// Step is a verification step. Verify runs them in the order they are
// declared and stops a plugin's verification at the first that fails.
type Step string

// The verification steps, in order.
const (
	// StepResolve parses the plugin's image address and resolves it to a
	// local file.
	StepResolve Step = "resolve"
	// StepExists checks that the artifact file exists.
	StepExists Step = "exists"
	// StepSHA256 checks the artifact's digest against the manifest and the
	// digest pinned in its image address.
	StepSHA256 Step = "sha256"
	// StepOpen opens the artifact with plugin.Open, which refuses an
	// artifact built by another toolchain, with other flags or against other
	// versions of a shared package.
	StepOpen Step = "open"
	// StepSymbol checks that the artifact exports a pluginapi.Plugin named
	// Plugin whose Info reports this host's ABI version and the expected name.
	StepSymbol Step = "symbol"
)

// Status is the outcome of a plugin's verification.
type Status string

// The statuses of a Result.
const (
	StatusVerified Status = "verified"
	StatusFailed   Status = "failed"
)

// Fixes shown to the user, by cause.
const (
	fixRebuild      = `rebuild with "make plugins" or restore the file shipped with this release`
	fixRebuildAll   = `rebuild gatehouse and every plugin together with "make build" (same Go toolchain, same flags, same module versions)`
	fixSymbol       = `this is not a gatehouse plugin: its main package must declare "var Plugin pluginapi.Plugin = …"; rebuild it with "make plugins"`
	fixAddress      = `correct the plugin's image address`
	fixUnresolvable = `use a file:// address of an artifact on this machine`
)

// Want is a plugin that the configuration uses.
type Want struct {
	// Name is the plugin's name.
	Name string
	// Address is its image address; empty means DefaultAddress(dir, Name).
	Address string
	// Required makes a failure fatal, like a required manifest entry.
	Required bool
}

// Result is the verification outcome of one plugin. A verified Result holds
// the loaded Plugin; a failed one says which step failed, the expected and
// actual values, and what to do.
type Result struct {
	Name string `json:"name"`
	// Address is the image address that was verified.
	Address string `json:"address"`
	// Path is the resolved artifact path; empty if resolution failed. An
	// https:// or oci:// artifact resolves to <cache dir>/<sha256>.so.
	Path string `json:"path,omitempty"`
	// Pinned is, for an oci:// address, the artifact pinned by the
	// manifest digest its tag resolved to (oci://registry/repo@sha256:…).
	Pinned   string `json:"pinned,omitempty"`
	Required bool   `json:"required"`
	Status   Status `json:"status"`
	// Step is the step that failed; empty when verified.
	Step     Step   `json:"step,omitempty"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	Fix      string `json:"fix,omitempty"`
	// Error is the one-line failure message (see VerifyError); empty when
	// verified.
	Error string `json:"error,omitempty"`
	// SHA256 is the artifact's actual digest, once read.
	SHA256 string `json:"sha256,omitempty"`
	// Version is the plugin's version: from its Info once loaded, else from
	// the manifest.
	Version string `json:"version,omitempty"`
	// Info is the plugin's Info; nil unless verified.
	Info *pluginapi.Info `json:"info,omitempty"`
	// Plugin is the loaded plugin; nil unless verified.
	Plugin pluginapi.Plugin `json:"-"`
}

// Err returns the failure as a *VerifyError, or nil when r is verified.
func (r Result) Err() error {
	if r.Status == StatusVerified {
		return nil
	}
	return r.verifyError()
}

func (r Result) verifyError() *VerifyError {
	return &VerifyError{Plugin: r.Name, Path: r.where(), Step: r.Step, Detail: r.detail(), Fix: r.Fix}
}

func (r Result) where() string {
	if r.Path != "" {
		return r.Path
	}
	return r.Address
}

// detail is the failure between the path and the fix: expected and actual
// values, named by step.
func (r Result) detail() string {
	switch r.Step {
	case StepResolve, StepOpen:
		return r.Actual
	case StepExists:
		return "expected " + r.Expected + ", got " + r.Actual
	case StepSHA256:
		if r.Expected == "" {
			return "no digest to check sha256 " + r.Actual + " against: the file is not in " + ManifestFile + " and its image address pins no digest"
		}
		return "expected sha256 " + r.Expected + ", got " + r.Actual
	default:
		return "expected " + r.Expected + ", got " + r.Actual
	}
}

// VerifyError is a plugin that failed verification. Its message is one
// line: plugin name, path (or address), step, expected and actual values,
// and the fix.
type VerifyError struct {
	Plugin string
	Path   string
	Step   Step
	Detail string
	Fix    string
}

// Error implements error.
func (e *VerifyError) Error() string {
	return oneLine(fmt.Sprintf("plugin %q failed verification at step %s: %s: %s — %s", e.Plugin, e.Step, e.Path, e.Detail, e.Fix))
}

// Report is the outcome of Verify: one Result per plugin, sorted by name. It
// is also the registry of loaded plugins for the life of the process. It is
// safe for concurrent reads.
type Report struct {
	// Dir is the absolute plugin dir.
	Dir string `json:"dir"`
	// GoVersion is the host's Go version.
	GoVersion string   `json:"goVersion"`
	Plugins   []Result `json:"plugins"`
	// Resolver is the Resolver that resolved the image addresses, nil if
	// Verify resolved file:// addresses only. Checking a new address with
	// it (see Check) downloads into the same cache.
	Resolver *Resolver `json:"-"`
}

// Get returns the loaded plugin named name; false if it is unknown or
// failed verification (an unusable plugin).
func (r *Report) Get(name string) (pluginapi.Plugin, bool) {
	res, ok := r.Result(name)
	if !ok || res.Status != StatusVerified {
		return nil, false
	}
	return res.Plugin, true
}

// Result returns the result of the plugin named name.
func (r *Report) Result(name string) (Result, bool) {
	for _, res := range r.Plugins {
		if res.Name == name {
			return res, true
		}
	}
	return Result{}, false
}

// List returns a copy of every result, sorted by name.
func (r *Report) List() []Result { return slices.Clone(r.Plugins) }

// Failures returns the results that failed, required or not.
func (r *Report) Failures() []Result {
	var out []Result
	for _, res := range r.Plugins {
		if res.Status != StatusVerified {
			out = append(out, res)
		}
	}
	return out
}

// RequiredFailures returns the required plugins that failed: if there is
// any, gatehouse must not start.
func (r *Report) RequiredFailures() []Result {
	var out []Result
	for _, res := range r.Plugins {
		if res.Required && res.Status != StatusVerified {
			out = append(out, res)
		}
	}
	return out
}

// Err returns the required failures joined (one *VerifyError per line), or
// nil if every required plugin verified.
func (r *Report) Err() error {
	var errs []error
	for _, res := range r.RequiredFailures() {
		errs = append(errs, res.verifyError())
	}
	return errors.Join(errs...)
}

// Verify verifies every artifact that m lists and every plugin in wanted,
// and loads those that pass. A wanted plugin that the manifest also lists
// is verified once, at the wanted address, and is required if either says
// so; its file must match the manifest's digest when it is the bundled
// artifact in dir, and the address's pinned digest when it pins one. A file
// that neither the manifest nor a pin describes fails at StepSHA256. m may
// be nil (no manifest entries).
//
// Verify opens plugins, which cannot be undone: call it once per process,
// before any listener opens, and keep the Report.
//
// Verify resolves file:// addresses only: an https:// or oci:// address
// fails at StepResolve. VerifyContext resolves them too.
func Verify(dir string, m *Manifest, wanted []Want) *Report {
	return VerifyContext(context.Background(), dir, m, wanted, nil)
}

// VerifyContext is Verify with remote image addresses: res downloads
// https:// and oci:// artifacts into its cache (or finds them there) and
// they are then verified like bundled artifacts, against the digest their
// address pins or, for an oci:// address, the digest of the layer its
// manifest names. ctx bounds the downloads. res may be nil (file:// only).
func VerifyContext(ctx context.Context, dir string, m *Manifest, wanted []Want, res *Resolver) *Report {
	abs := absDir(dir)
	type candidate struct {
		name, address string
		required      bool
		artifact      *Artifact
	}
	byName := map[string]*candidate{}
	if m != nil {
		for i := range m.Plugins {
			a := &m.Plugins[i]
			byName[a.Name] = &candidate{name: a.Name, required: a.Required, artifact: a}
		}
	}
	for _, w := range wanted {
		c, ok := byName[w.Name]
		if !ok {
			c = &candidate{name: w.Name}
			byName[w.Name] = c
		}
		c.address = w.Address
		c.required = c.required || w.Required
	}
	r := &Report{Dir: abs, GoVersion: runtime.Version(), Plugins: []Result{}, Resolver: res}
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		c := byName[name]
		address := c.address
		if address == "" {
			address = DefaultAddress(abs, c.name)
		}
		r.Plugins = append(r.Plugins, verifyOne(ctx, res, abs, c.name, address, c.required, c.artifact))
	}
	return r
}

// Check runs the steps of Verify that do not open the artifact — resolve
// (downloading a remote artifact into res's cache), exists and sha256 —
// for plugin name at address, with the same rules as Verify: dir is the
// plugin dir and m its manifest (nil: no entries). It is what a new image
// address must pass before it is stored, so that the next start does not
// fail on it; opening waits for that start, because a process cannot load
// a second version of a plugin. A failure is a *VerifyError.
func Check(ctx context.Context, dir string, m *Manifest, name, address string, res *Resolver) error {
	abs := absDir(dir)
	var artifact *Artifact
	if m != nil {
		for i := range m.Plugins {
			if m.Plugins[i].Name == name {
				artifact = &m.Plugins[i]
			}
		}
	}
	r, _, ok := prepare(ctx, res, abs, name, address, false, artifact)
	if !ok {
		return r.verifyError()
	}
	return nil
}

func absDir(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return filepath.Clean(dir)
	}
	return abs
}

// verifyOne runs the steps for one plugin. artifact is its manifest entry,
// or nil.
func verifyOne(ctx context.Context, res *Resolver, dir, name, address string, required bool, artifact *Artifact) Result {
	r, path, ok := prepare(ctx, res, dir, name, address, required, artifact)
	if !ok {
		return r
	}
	fail := func(step Step, expected, actual, fix string) Result {
		r.Step, r.Expected, r.Actual, r.Fix = step, oneLine(expected), oneLine(actual), fix
		r.Error = r.verifyError().Error()
		return r
	}

	p, err := openPlugin(path)
	if err != nil {
		goVersion := ""
		if artifact != nil {
			goVersion = artifact.GoVersion
		}
		fix := openFix(err, goVersion)
		if !strings.HasPrefix(address, SchemeFile+":") && !strings.Contains(err.Error(), "plugin already loaded") {
			fix = fmt.Sprintf("a downloaded plugin must be built for this gatehouse release (%s, same pluginapi and module versions, CGO_ENABLED=1 -trimpath -buildmode=plugin): ask its publisher for that build, or use the bundled %s", runtime.Version(), DefaultAddress(dir, name))
		}
		return fail(StepOpen, "an artifact loadable by this gatehouse ("+runtime.Version()+")", err.Error(), fix)
	}

	plug, info, failure := lookupPlugin(p)
	if failure != nil {
		return fail(StepSymbol, failure.expected, failure.actual, failure.fix)
	}
	r.Version = info.Version
	if info.ABIVersion != pluginapi.ABIVersion {
		return fail(StepSymbol, "ABI version "+strconv.Itoa(pluginapi.ABIVersion), "ABI version "+strconv.Itoa(info.ABIVersion),
			fmt.Sprintf(`rebuild the plugin against this gatehouse's pluginapi (ABI version %d) with "make plugins"`, pluginapi.ABIVersion))
	}
	if info.Name != name {
		return fail(StepSymbol, strconv.Quote(name)+" as the plugin's name", strconv.Quote(info.Name),
			fmt.Sprintf("this file holds plugin %q: point %q's image address at %s.so, or rebuild the right plugin with \"make plugins\"", info.Name, name, info.Name))
	}
	r.Status = StatusVerified
	r.Info = &info
	r.Plugin = plug
	return r
}

// prepare runs the steps before plugin.Open: resolve, exists and sha256.
// It returns the result so far, the artifact path, and whether every step
// passed; a failed Result is complete.
func prepare(ctx context.Context, res *Resolver, dir, name, address string, required bool, artifact *Artifact) (Result, string, bool) {
	r := Result{Name: name, Address: address, Required: required, Status: StatusFailed}
	if artifact != nil {
		r.Version = artifact.Version
	}
	fail := func(step Step, expected, actual, fix string) (Result, string, bool) {
		r.Step, r.Expected, r.Actual, r.Fix = step, oneLine(expected), oneLine(actual), fix
		r.Error = r.verifyError().Error()
		return r, "", false
	}

	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return fail(StepResolve, "", fmt.Sprintf("invalid plugin name %q", name), "name the plugin by its artifact's base name, without path separators (mcp-server for mcp-server.so)")
	}
	addr, err := ParseImageAddress(address)
	if err != nil {
		return fail(StepResolve, "", err.Error(), fixAddress)
	}
	resolved, err := res.Resolve(ctx, name, addr)
	var resolveErr *ResolveError
	switch {
	case errors.As(err, &resolveErr):
		return fail(resolveErr.Step, resolveErr.Expected, resolveErr.Actual, resolveErr.Fix)
	case errors.Is(err, ErrSchemeNotResolvable):
		return fail(StepResolve, "", err.Error(), fixUnresolvable+", such as the bundled "+DefaultAddress(dir, name))
	case err != nil:
		return fail(StepResolve, "", err.Error(), fixAddress)
	}
	path := resolved.Path
	r.Path, r.Pinned = path, resolved.Pinned

	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail(StepExists, "a plugin file", "no such file", `run "make plugins" to build it, or restore the file shipped with this release`)
	case err != nil:
		return fail(StepExists, "a readable plugin file", err.Error(), "check the file's permissions and the plugin dir")
	case !fi.Mode().IsRegular():
		return fail(StepExists, "a regular file", fi.Mode().Type().String(), `replace it with the plugin file built by "make plugins"`)
	}

	sum, err := fileSHA256(path)
	if err != nil {
		return fail(StepSHA256, "a readable plugin file", err.Error(), "check the file's permissions")
	}
	r.SHA256 = sum
	bundled := artifact != nil && path == filepath.Join(dir, artifact.File)
	// The pin is the address's digest, or for an oci:// address the digest
	// of the layer that its (digest-checked) manifest names.
	pin := resolved.SHA256
	if pin != "" && sum != pin {
		fix := "the file is not the artifact its image address pins: restore that artifact, or correct the #sha256= pin in the image address"
		if addr.Scheme != SchemeFile {
			fix = "the downloaded copy changed after it was checked: delete " + path + " so that it is downloaded again"
		}
		return fail(StepSHA256, pin, sum, fix)
	}
	if bundled && sum != artifact.SHA256 {
		return fail(StepSHA256, artifact.SHA256, sum, fixRebuild)
	}
	if pin == "" && !bundled {
		return fail(StepSHA256, "", sum, fmt.Sprintf(`pin the file you trust by appending "#sha256=%s" to its image address, or build it into the plugin dir with "make plugins"`, sum))
	}
	return r, path, true
}

// openFix says what to do about a plugin.Open error. goVersion is the
// manifest's Go version of the artifact, or empty.
func openFix(err error, goVersion string) string {
	if strings.Contains(err.Error(), "plugin already loaded") {
		return "another artifact with the same plugin package is already loaded: remove the copy, so that each plugins/<name>/ is built into one <name>.so"
	}
	if goVersion != "" && goVersion != runtime.Version() {
		return fmt.Sprintf("the manifest says it was built with %s but this gatehouse runs %s: %s", goVersion, runtime.Version(), fixRebuildAll)
	}
	return fixRebuildAll
}

// symbolFailure is why an opened artifact is not a usable plugin.
type symbolFailure struct {
	expected, actual, detail, fix string
}

// openPlugin opens the artifact at path. Go caches the result per path for
// the life of the process.
func openPlugin(path string) (*plugin.Plugin, error) {
	return plugin.Open(path)
}

// lookupPlugin returns the artifact's Plugin symbol and its Info.
func lookupPlugin(p *plugin.Plugin) (pluginapi.Plugin, pluginapi.Info, *symbolFailure) {
	const expected = "symbol " + pluginapi.SymbolName + " of type *pluginapi.Plugin"
	sym, err := p.Lookup(pluginapi.SymbolName)
	if err != nil {
		return nil, pluginapi.Info{}, &symbolFailure{expected: expected, actual: "no such symbol",
			detail: "expected an exported variable " + pluginapi.SymbolName + " of type pluginapi.Plugin, found none", fix: fixSymbol}
	}
	ptr, ok := sym.(*pluginapi.Plugin)
	if !ok {
		actual := fmt.Sprintf("symbol %s of type %T", pluginapi.SymbolName, sym)
		return nil, pluginapi.Info{}, &symbolFailure{expected: expected, actual: actual,
			detail: "expected " + expected + ", got " + actual, fix: fixSymbol}
	}
	if ptr == nil || *ptr == nil {
		return nil, pluginapi.Info{}, &symbolFailure{expected: "a non-nil " + pluginapi.SymbolName, actual: "nil",
			detail: "expected a non-nil " + pluginapi.SymbolName + ", got nil", fix: `assign the plugin's value to "var Plugin pluginapi.Plugin" and rebuild with "make plugins"`}
	}
	info, err := safeInfo(*ptr)
	if err != nil {
		return nil, pluginapi.Info{}, &symbolFailure{expected: "Info() to return", actual: err.Error(),
			detail: "expected Info() to return, got " + err.Error(), fix: "fix the plugin's Info method and rebuild with \"make plugins\""}
	}
	return *ptr, info, nil
}

// safeInfo calls p.Info, turning a panic in plugin code into an error.
func safeInfo(p pluginapi.Plugin) (info pluginapi.Info, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return p.Info(), nil
}

// fileSHA256 returns the sha256 of the file at path in lowercase hex.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path) //nolint:gosec // path is an operator-chosen plugin artifact
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	defer f.Close() //nolint:errcheck // read-only
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// oneLine folds s onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\r", "")), " ")
}
