// Package pluginfixture builds the fixture plugins of
// server/internal/pluginhost/testdata/fixtures for tests, with exactly the
// flags the Makefile uses for the host and every plugin
// (CGO_ENABLED=1 go build -trimpath -buildmode=plugin), so that a host
// built by the Makefile (or by a test with the same flags) can load them.
//
// The fixtures, by kind:
//
//   - Good: a well-formed plugin named "good"; its instances set the
//     response header X-Gatehouse-Fixture: good.
//   - WrongABI: named "wrongabi"; its Info reports ABI version 99.
//   - WrongSymbol: exports "var Plugin = 42", not a pluginapi.Plugin.
//   - Skewed: named "skewed", built against a copy of pluginapi with one
//     more exported declaration, so plugin.Open fails with "plugin was built
//     with a different version of package …/server/pluginapi".
//
// Each fixture has its own package path, so one process can open several.
// Two copies of the same fixture under different names cannot both be
// opened in one process (plugin.Open: "plugin already loaded").
//
// A build takes seconds once Go's build cache is warm and over a minute when
// it is cold; build each kind once per test binary and copy the file.
package pluginfixture

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/server/internal/pluginhost"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// The fixture kinds.
const (
	Good        = "good"
	WrongABI    = "wrongabi"
	WrongSymbol = "wrongsymbol"
	Skewed      = "skewed"
)

// fixtureDir is the fixtures' folder relative to the module root.
const fixtureDir = "server/internal/pluginhost/testdata/fixtures"

// Build builds the fixture plugin kind into outDir/<kind>.so and returns
// that path. It fails t if the build fails or kind is unknown.
func Build(t testing.TB, kind, outDir string) string {
	t.Helper()
	root := moduleRoot(t)
	out, err := filepath.Abs(filepath.Join(outDir, kind+".so"))
	if err != nil {
		t.Fatalf("fixture %s: %v", kind, err)
	}
	switch kind {
	case Good, WrongABI, WrongSymbol:
		buildPlugin(t, root, "./"+fixtureDir+"/"+kind, out)
	case Skewed:
		buildPlugin(t, skewedModule(t, root), "./"+fixtureDir+"/"+kind, out)
	default:
		t.Fatalf("unknown plugin fixture kind %q: use %s, %s, %s or %s", kind, Good, WrongABI, WrongSymbol, Skewed)
	}
	return out
}

// Entry returns the manifest entry for the artifact at soPath as `make
// plugins` would write it (name from the file name, digest of the file,
// this pluginapi's ABI version and this Go version), without opening it:
// it works for artifacts that cannot be opened.
func Entry(t testing.TB, soPath string, required bool) pluginhost.Artifact {
	t.Helper()
	data, err := os.ReadFile(soPath) //nolint:gosec // test fixture path
	if err != nil {
		t.Fatalf("manifest entry: %v", err)
	}
	sum := sha256.Sum256(data)
	file := filepath.Base(soPath)
	return pluginhost.Artifact{
		Name:       strings.TrimSuffix(file, ".so"),
		File:       file,
		SHA256:     hex.EncodeToString(sum[:]),
		Version:    "1.0.0",
		ABIVersion: pluginapi.ABIVersion,
		GoVersion:  runtime.Version(),
		Required:   required,
	}
}

// BuildHost builds the main package pkg (module-relative, such as
// "./server/cmd/gatehouse") into out with the Makefile's host flags
// (CGO_ENABLED=1 go build -trimpath), so that it can load the fixtures, and
// returns out as an absolute path.
func BuildHost(t testing.TB, pkg, out string) string {
	t.Helper()
	abs, err := filepath.Abs(out)
	if err != nil {
		t.Fatalf("build %s: %v", pkg, err)
	}
	goBuild(t, moduleRoot(t), abs, pkg)
	return abs
}

func buildPlugin(t testing.TB, dir, pkg, out string) {
	t.Helper()
	goBuild(t, dir, out, pkg, "-buildmode=plugin")
}

// goBuild runs the Makefile's build command, CGO_ENABLED=1 go build
// -trimpath [extra] -o out pkg, in dir.
func goBuild(t testing.TB, dir, out, pkg string, extra ...string) {
	t.Helper()
	args := append(append([]string{"build", "-trimpath"}, extra...), "-o", out, pkg)
	cmd := exec.Command(goTool(t), args...) //nolint:gosec // fixed go tool invocation
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOWORK=off")
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s in %s: go %s: %v\n%s", pkg, dir, strings.Join(args, " "), err, output)
	}
}

// skewedModule copies the parts of the module the skewed fixture needs into
// a temporary module and adds an exported declaration to its pluginapi, so
// that the package's hash differs from the host's.
func skewedModule(t testing.TB, root string) string {
	t.Helper()
	tmp := t.TempDir()
	copyFile(t, filepath.Join(root, "go.mod"), filepath.Join(tmp, "go.mod"))
	copyFile(t, filepath.Join(root, "go.sum"), filepath.Join(tmp, "go.sum"))
	copyGoFiles(t, filepath.Join(root, "server", "pluginapi"), filepath.Join(tmp, "server", "pluginapi"))
	copyGoFiles(t, filepath.Join(root, fixtureDir, Skewed), filepath.Join(tmp, fixtureDir, Skewed))
	skew := "package pluginapi\n\n// Skew exists only in the skewed fixture's copy of pluginapi.\nfunc Skew() string { return \"skewed\" }\n"
	if err := os.WriteFile(filepath.Join(tmp, "server", "pluginapi", "skew.go"), []byte(skew), 0o600); err != nil {
		t.Fatalf("skewed fixture: %v", err)
	}
	return tmp
}

func copyGoFiles(t testing.TB, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o750); err != nil {
		t.Fatalf("copy %s: %v", from, err)
	}
	files, err := filepath.Glob(filepath.Join(from, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("copy %s: no Go files (%v)", from, err)
	}
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			copyFile(t, f, filepath.Join(to, filepath.Base(f)))
		}
	}
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from) //nolint:gosec // module source file
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatalf("copy: %v", err)
	}
}

func moduleRoot(t testing.TB) string {
	t.Helper()
	out, err := exec.Command(goTool(t), "env", "GOMOD").Output() //nolint:gosec // fixed go tool invocation
	gomod := string(bytes.TrimSpace(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		t.Fatalf("find the module root with go env GOMOD: %v (got %q); run the tests inside the gatehouse module", err, gomod)
	}
	return filepath.Dir(gomod)
}

// goTool returns the go command. go test puts the toolchain that built the
// test binary first on PATH, so this is the toolchain the host was built with.
func goTool(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("find the go command: %v", err)
	}
	return p
}
