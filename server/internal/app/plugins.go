package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-dev/gatehouse/server/internal/admin"
	"github.com/gatehouse-dev/gatehouse/server/internal/config"
	"github.com/gatehouse-dev/gatehouse/server/internal/health"
	"github.com/gatehouse-dev/gatehouse/server/internal/pluginhost"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
)

// Bounds on resolving remote image addresses (downloads of up to
// pluginhost.DefaultMaxArtifactSize each): all of them at start, and one
// when the API checks a new address.
const (
	startResolveTimeout = 10 * time.Minute
	checkResolveTimeout = 2 * time.Minute
)

// pluginResolver resolves https:// and oci:// image addresses into
// <data dir>/plugins.
func pluginResolver(s config.Settings, log *slog.Logger) *pluginhost.Resolver {
	return &pluginhost.Resolver{CacheDir: filepath.Join(s.DataDir, "plugins"), Logger: log}
}

// verifyPlugins reads the manifest, records the bundled image address of
// each listed plugin (an address edited in the console is kept), and
// verifies every artifact at its stored address, downloading https:// and
// oci:// artifacts into <data dir>/plugins first (or finding them there).
// It fails when a required plugin fails any step; optional failures are
// kept in the report.
func verifyPlugins(ctx context.Context, s config.Settings, st *store.Store, log *slog.Logger) (*pluginhost.Report, error) {
	m, err := pluginhost.ReadManifest(s.PluginDir)
	if err != nil {
		return nil, err
	}
	for _, a := range m.Plugins {
		if err := st.EnsurePluginAddress(ctx, a.Name, pluginhost.DefaultAddress(s.PluginDir, a.Name)); err != nil {
			return nil, fmt.Errorf("record the image address of plugin %q: %w", a.Name, err)
		}
	}
	stored, err := st.PluginAddresses(ctx)
	if err != nil {
		return nil, fmt.Errorf("read plugin image addresses: %w", err)
	}
	var wanted []pluginhost.Want
	for _, a := range stored {
		wanted = append(wanted, pluginhost.Want{Name: a.Name, Address: a.ImageAddress})
	}
	rctx, cancel := context.WithTimeout(ctx, startResolveTimeout)
	defer cancel()
	report := pluginhost.VerifyContext(rctx, s.PluginDir, m, wanted, pluginResolver(s, log))
	if err := report.Err(); err != nil {
		return nil, err
	}
	for _, r := range report.List() {
		if r.Status == pluginhost.StatusVerified {
			attrs := []any{"component", "pluginhost", "plugin", r.Name, "version", r.Version, "address", r.Address, "path", r.Path, "sha256", r.SHA256}
			if r.Pinned != "" {
				attrs = append(attrs, "pinned", r.Pinned)
			}
			log.Info("plugin verified", attrs...)
		} else {
			log.Warn("optional plugin failed verification and is unusable", "component", "pluginhost", "plugin", r.Name, "error", r.Error)
		}
	}
	return report, nil
}

func pluginHealth(report *pluginhost.Report) health.Check {
	return func(context.Context) []health.Component {
		var out []health.Component
		for _, r := range report.List() {
			c := health.Component{Name: r.Name, Kind: "plugin", Status: health.StatusOK, Message: "verified " + r.Version}
			if r.Status != pluginhost.StatusVerified {
				c.Status, c.Message = health.StatusDown, r.Error
			}
			out = append(out, c)
		}
		return out
	}
}

// pluginCatalog joins the verification report (what runs) with the stored
// image addresses (what the next start loads).
type pluginCatalog struct {
	report *pluginhost.Report
	store  *store.Store
}

func (pc *pluginCatalog) List(ctx context.Context) ([]admin.PluginStatus, error) {
	stored, err := pc.store.PluginAddresses(ctx)
	if err != nil {
		return nil, err
	}
	out := []admin.PluginStatus{}
	for _, r := range pc.report.List() {
		out = append(out, pc.status(r, stored[r.Name].ImageAddress))
	}
	return out, nil
}

func (pc *pluginCatalog) status(r pluginhost.Result, stored string) admin.PluginStatus {
	p := admin.PluginStatus{
		Name: r.Name, ImageAddress: r.Address, Path: r.Path, Version: r.Version, SHA256: r.SHA256,
		Required: r.Required, Status: string(r.Status), Error: r.Error,
	}
	if r.Info != nil {
		p.ABIVersion, p.Description, p.Phase, p.Priority = r.Info.ABIVersion, r.Info.Description, string(r.Info.Phase), r.Info.Priority
	}
	if r.Plugin != nil {
		p.ConfigSchema = r.Plugin.ConfigSchema()
	}
	if stored != "" && stored != r.Address {
		p.ImageAddress, p.RestartRequired = stored, true
	}
	return p
}

// addressError is an image address the user must correct.
type addressError struct{ err error }

func (e *addressError) Error() string     { return e.err.Error() }
func (e *addressError) Unwrap() error     { return e.err }
func (e *addressError) FieldPath() string { return "imageAddress" }

// SetImageAddress checks the new address now, as the next start will:
// it parses, resolves (an https:// or oci:// artifact is downloaded into
// <data dir>/plugins and checked against its digest), the file exists, and
// its sha256 matches the address's pin or the manifest. Only then is it
// stored; a refused address stores nothing. The running plugin stays
// loaded: Go cannot unload a plugin, so the change takes effect at the next
// restart, which also opens the new artifact.
func (pc *pluginCatalog) SetImageAddress(ctx context.Context, name, address string) (admin.PluginStatus, error) {
	r, ok := pc.report.Result(name)
	if !ok {
		return admin.PluginStatus{}, store.ErrNotFound
	}
	addr, err := pluginhost.ParseImageAddress(address)
	if err != nil {
		return admin.PluginStatus{}, &addressError{err}
	}
	m, err := pluginhost.ReadManifest(pc.report.Dir)
	if err != nil {
		return admin.PluginStatus{}, fmt.Errorf("check the image address of plugin %q: %w", name, err)
	}
	cctx, cancel := context.WithTimeout(ctx, checkResolveTimeout)
	defer cancel()
	if err := pluginhost.Check(cctx, pc.report.Dir, m, name, addr.Raw, pc.report.Resolver); err != nil {
		return admin.PluginStatus{}, &addressError{err}
	}
	if err := pc.store.SetPluginAddress(ctx, name, addr.Raw); err != nil {
		return admin.PluginStatus{}, err
	}
	return pc.status(r, addr.Raw), nil
}

// verifyPluginsCommand is 'gatehouse verify-plugins': the start-up check of
// the bundled artifacts alone, as a table.
func verifyPluginsCommand(s config.Settings, stdout, stderr io.Writer) int {
	m, err := pluginhost.ReadManifest(s.PluginDir)
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "gatehouse: "+err.Error())
		return ExitPluginVerification
	}
	report := pluginhost.Verify(s.PluginDir, m, nil)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "PLUGIN\tREQUIRED\tSTATUS\tVERSION\tSHA256\tPATH")
	for _, r := range report.List() {
		sum := r.SHA256
		if len(sum) > 12 {
			sum = sum[:12]
		}
		_, _ = fmt.Fprintf(tw, "%s\t%t\t%s\t%s\t%s\t%s\n", r.Name, r.Required, r.Status, r.Version, sum, r.Path)
	}
	_ = tw.Flush()
	failed := report.Failures()
	for _, r := range failed {
		_, _ = fmt.Fprintln(stderr, "gatehouse: "+r.Error)
	}
	if len(failed) > 0 {
		return ExitPluginVerification
	}
	_, _ = fmt.Fprintf(stdout, "%d plugins verified in %s\n", len(report.List()), report.Dir)
	return ExitOK
}

// pluginsCommand is 'gatehouse plugins manifest --dir D --required a,b'.
func pluginsCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "manifest" {
		_, _ = fmt.Fprintln(stderr, "usage: gatehouse plugins manifest --dir DIR [--required a,b]")
		return ExitUsage
	}
	dir, required := "", []string(nil)
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		switch {
		case rest[i] == "--dir" && i+1 < len(rest):
			i++
			dir = rest[i]
		case rest[i] == "--required" && i+1 < len(rest):
			i++
			for _, n := range strings.Split(rest[i], ",") {
				if n = strings.TrimSpace(n); n != "" {
					required = append(required, n)
				}
			}
		default:
			_, _ = fmt.Fprintf(stderr, "gatehouse plugins manifest: unexpected argument %q\n", rest[i])
			return ExitUsage
		}
	}
	if dir == "" {
		_, _ = fmt.Fprintln(stderr, "gatehouse plugins manifest: --dir is required")
		return ExitUsage
	}
	m, err := pluginhost.WriteManifest(dir, required)
	if err != nil {
		for _, e := range flatten(err) {
			_, _ = fmt.Fprintln(stderr, "gatehouse: "+e.Error())
		}
		return ExitPluginVerification
	}
	for _, a := range m.Plugins {
		_, _ = fmt.Fprintf(stdout, "manifest: %s %s sha256=%s required=%t\n", a.Name, a.Version, a.SHA256[:12], a.Required)
	}
	return ExitOK
}
