// Package pluginhost verifies and loads the plugin artifacts of a gatehouse
// process (ARCHITECTURE §6).
//
// `make plugins` builds every plugin with exactly the flags of the host and
// writes a manifest (WriteManifest). At startup, before any listener opens,
// the host reads the manifest (ReadManifest) and calls Verify once: each
// artifact is resolved, checked (exists, sha256, open, symbol) and, if it
// passes, kept loaded in the returned Report for the life of the process.
// Go cannot unload a plugin, and plugin.Open returns its cached result when
// a path is opened again, so a process verifies once and keeps the Report.
package pluginhost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// ManifestFile is the manifest's file name inside the plugin dir.
const ManifestFile = "manifest.json"

// fixMakePlugins is the fix for a missing or unreadable manifest.
const fixMakePlugins = `run "make plugins" to build the plugins and write it`

// Manifest lists the plugin artifacts of a plugin dir, as `make plugins`
// built them.
type Manifest struct {
	Plugins []Artifact `json:"plugins"`
}

// Artifact is one plugin artifact of a Manifest.
type Artifact struct {
	// Name is the plugin's name, as its Info reports it.
	Name string `json:"name"`
	// File is the artifact's file name in the plugin dir: Name + ".so".
	File string `json:"file"`
	// SHA256 is the artifact's digest in lowercase hex.
	SHA256 string `json:"sha256"`
	// Version and ABIVersion are what the plugin's Info reported at build.
	Version    string `json:"version"`
	ABIVersion int    `json:"abiVersion"`
	// GoVersion is the Go toolchain that built the artifact (and the host).
	GoVersion string `json:"goVersion"`
	// Required plugins must verify, or gatehouse refuses to start.
	Required bool `json:"required"`
}

// Artifact returns the manifest entry named name.
func (m *Manifest) Artifact(name string) (Artifact, bool) {
	if m == nil {
		return Artifact{}, false
	}
	for _, a := range m.Plugins {
		if a.Name == name {
			return a, true
		}
	}
	return Artifact{}, false
}

// ReadManifest reads and validates dir/manifest.json. A missing file is an
// error wrapping fs.ErrNotExist; every error names the file and says to run
// "make plugins".
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plugin manifest: %w — %s", err, fixMakePlugins)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("parse plugin manifest %s: %w — run \"make plugins\" to rewrite it", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("parse plugin manifest %s: unexpected data after the JSON object — run \"make plugins\" to rewrite it", path)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("invalid plugin manifest %s: %w — run \"make plugins\" to rewrite it", path, err)
	}
	return &m, nil
}

func (m *Manifest) validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, a := range m.Plugins {
		switch {
		case a.Name == "":
			errs = append(errs, fmt.Errorf("plugins[%d].name is empty", i))
		case strings.ContainsAny(a.Name, `/\`) || a.Name == "." || a.Name == "..":
			errs = append(errs, fmt.Errorf("plugins[%d].name %q must be a plain name, without path separators", i, a.Name))
		case seen[a.Name]:
			errs = append(errs, fmt.Errorf("plugins[%d].name %q is listed twice", i, a.Name))
		}
		seen[a.Name] = true
		if a.File != a.Name+".so" {
			errs = append(errs, fmt.Errorf("plugins[%d].file %q must be %q", i, a.File, a.Name+".so"))
		}
		if !sha256Hex.MatchString(a.SHA256) {
			errs = append(errs, fmt.Errorf("plugins[%d].sha256 %q must be 64 lowercase hex digits", i, a.SHA256))
		}
	}
	return errors.Join(errs...)
}

// Write writes m to dir/manifest.json, sorted by name, replacing the file
// atomically.
func (m *Manifest) Write(dir string) error {
	sorted := Manifest{Plugins: slices.Clone(m.Plugins)}
	if sorted.Plugins == nil {
		sorted.Plugins = []Artifact{}
	}
	slices.SortFunc(sorted.Plugins, func(a, b Artifact) int { return strings.Compare(a.Name, b.Name) })
	if err := sorted.validate(); err != nil {
		return fmt.Errorf("write plugin manifest: %w", err)
	}
	data, err := json.MarshalIndent(sorted, "", "  ")
	if err != nil {
		return fmt.Errorf("encode plugin manifest: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ManifestFile+".*")
	if err != nil {
		return fmt.Errorf("write plugin manifest: %w", err)
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after the rename; best effort otherwise
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close() //nolint:errcheck,gosec // the write error is the one to report
		return fmt.Errorf("write plugin manifest: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil { //nolint:gosec // the manifest is public build metadata
		tmp.Close() //nolint:errcheck,gosec // the chmod error is the one to report
		return fmt.Errorf("write plugin manifest: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write plugin manifest: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, ManifestFile)); err != nil {
		return fmt.Errorf("write plugin manifest: %w", err)
	}
	return nil
}

// WriteManifest builds the manifest of every *.so in dir and writes it to
// dir/manifest.json. It opens each artifact with plugin.Open to read its
// Info, so it must run in a gatehouse binary built with the same flags as
// the plugins (`gatehouse plugins manifest`), in a process that loads no
// other plugins from dir. The names in required are marked required; it is
// an error if one has no artifact, if an artifact cannot be opened or has
// no valid Plugin symbol, or if an artifact's file name is not its plugin
// name + ".so". Nothing is written on error.
func WriteManifest(dir string, required []string) (*Manifest, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("write plugin manifest: %w", err)
	}
	paths, err := filepath.Glob(filepath.Join(abs, "*.so"))
	if err != nil {
		return nil, fmt.Errorf("write plugin manifest: %w", err)
	}
	slices.Sort(paths)
	m := &Manifest{Plugins: []Artifact{}}
	var errs []error
	for _, path := range paths {
		a, err := describe(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		a.Required = slices.Contains(required, a.Name)
		m.Plugins = append(m.Plugins, a)
	}
	for _, name := range required {
		if _, ok := m.Artifact(name); !ok && !slices.ContainsFunc(paths, func(p string) bool { return filepath.Base(p) == name+".so" }) {
			errs = append(errs, fmt.Errorf("required plugin %q has no artifact %s — build it into the plugin dir (make plugins builds every plugins/<name>/)", name, filepath.Join(abs, name+".so")))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := m.Write(abs); err != nil {
		return nil, err
	}
	return m, nil
}

// describe opens the artifact at path and returns its manifest entry.
func describe(path string) (Artifact, error) {
	sum, err := fileSHA256(path)
	if err != nil {
		return Artifact{}, fmt.Errorf("describe plugin %s: %w", path, err)
	}
	p, err := openPlugin(path)
	if err != nil {
		return Artifact{}, fmt.Errorf("describe plugin %s: %w — %s", path, err, openFix(err, runtime.Version()))
	}
	_, info, failure := lookupPlugin(p)
	if failure != nil {
		return Artifact{}, fmt.Errorf("describe plugin %s: %s — %s", path, failure.detail, failure.fix)
	}
	if filepath.Base(path) != info.Name+".so" {
		return Artifact{}, fmt.Errorf("describe plugin %s: its Info reports name %q, so the file must be named %q — build plugins/<name>/ into <name>.so", path, info.Name, info.Name+".so")
	}
	return Artifact{
		Name:       info.Name,
		File:       info.Name + ".so",
		SHA256:     sum,
		Version:    info.Version,
		ABIVersion: info.ABIVersion,
		GoVersion:  runtime.Version(),
	}, nil
}
