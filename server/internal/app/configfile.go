package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gatehouse-dev/gatehouse/server/internal/control"
	"github.com/gatehouse-dev/gatehouse/server/internal/health"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
)

// readConfigFile reads a declarative configuration file strictly.
func readConfigFile(path string) (spec.Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return spec.Snapshot{}, fmt.Errorf("read the configuration file: %w", err)
	}
	defer func() { _ = f.Close() }()
	return decodeConfig(path, f)
}

// decodeConfigFile decodes the content of a declarative configuration file
// strictly.
func decodeConfigFile(path string, data []byte) (spec.Snapshot, error) {
	return decodeConfig(path, bytes.NewReader(data))
}

func decodeConfig(path string, r io.Reader) (spec.Snapshot, error) {
	var snap spec.Snapshot
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&snap); err != nil {
		return spec.Snapshot{}, fmt.Errorf("configuration file %s: %w (the file holds services, routes, pluginInstances, mcpServers, llmProviders and aiRoutes)", path, err)
	}
	return snap, nil
}

// applyConfigFile makes the stored configuration what the file says (the
// ConfigMap/GitOps way), validated whole like any change. In seed mode it
// does so only while the database holds no configuration, so changes made
// in the console survive a restart.
func applyConfigFile(ctx context.Context, ctl *control.Control, path, mode string, log *slog.Logger) error {
	if mode == "seed" {
		if _, rev := ctl.Snapshot(); rev > 0 {
			log.Info("configuration file not applied: the database has a configuration already (seed mode)", "file", path, "revision", rev)
			return nil
		}
	}
	snap, err := readConfigFile(path)
	if err != nil {
		return err
	}
	n, err := ctl.Replace(ctx, "config-file", snap)
	if err != nil {
		return fmt.Errorf("configuration file %s refused, nothing changed: %w", path, err)
	}
	log.Info("configuration file applied", "file", path, "objects_changed", n)
	return nil
}

// gatewayHealth reports the configuration the gateway serves.
func gatewayHealth(ctl *control.Control) health.Check {
	return func(context.Context) []health.Component {
		snap, rev := ctl.Snapshot()
		return []health.Component{{Name: "gateway", Kind: "gateway", Status: health.StatusOK,
			Message: fmt.Sprintf("configuration revision %d: %d routes, %d services, %d plugin instances, %d MCP servers, %d AI routes",
				rev, len(snap.Routes), len(snap.Services), len(snap.PluginInstances), len(snap.MCPServers), len(snap.AIRoutes))}}
	}
}

// configFileInterval is how often a running instance looks at its
// declarative configuration file for a change.
const configFileInterval = 2 * time.Second

// configFileWatcher applies the declarative configuration file again
// whenever its content changes while the process runs, as
// `gatehouse config apply` would: validated whole, refused whole and logged
// when invalid, the running configuration kept. It is what lets a
// Kubernetes ConfigMap change take effect without restarting the pods.
//
// It compares the file's content, not its modification time or inode: the
// kubelet updates a mounted ConfigMap by swapping a symlink, and an editor
// may rewrite a file in place; both change the content. A content that was
// refused is not retried until the file changes again, except after a
// conflict with another instance writing at the same moment.
type configFileWatcher struct {
	ctl  *control.Control
	path string
	log  *slog.Logger
	// seen is the digest of the content last applied or refused.
	seen [sha256.Size]byte
	// looks counts the completed looks at the file (tests wait on it).
	looks atomic.Int64
}

// newConfigFileWatcher remembers the file's current content as applied;
// create it before applying the file at start, so that a change made in
// between is applied by the first look.
func newConfigFileWatcher(ctl *control.Control, path string, log *slog.Logger) *configFileWatcher {
	w := &configFileWatcher{ctl: ctl, path: path, log: log}
	if data, err := os.ReadFile(path); err == nil {
		w.seen = sha256.Sum256(data)
	}
	return w
}

// run looks at the file every interval until ctx ends.
func (w *configFileWatcher) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.check(ctx)
		}
	}
}

// check applies the file when its content differs from what was last seen.
func (w *configFileWatcher) check(ctx context.Context) {
	defer w.looks.Add(1)
	data, err := os.ReadFile(w.path)
	if err != nil {
		// A ConfigMap update never leaves the file missing; anything else
		// (a volume gone) is not a new configuration. Logged once.
		var none [sha256.Size]byte
		if w.seen != none {
			w.log.Warn("configuration file unreadable; the running configuration stays", "file", w.path, "error", err)
			w.seen = none
		}
		return
	}
	sum := sha256.Sum256(data)
	if sum == w.seen {
		return
	}
	snap, err := decodeConfigFile(w.path, data)
	if err != nil {
		w.seen = sum
		w.log.Error("configuration file changed but refused, nothing changed; fix the file (it is read again when it changes)", "file", w.path, "error", err)
		return
	}
	n, err := w.ctl.Replace(ctx, "config-file", snap)
	switch {
	case errors.Is(err, store.ErrConflict):
		// Another instance applied the same file at the same moment:
		// look again at the next tick (then nothing differs).
		w.log.Info("configuration file changed; another instance wrote at the same moment, retrying", "file", w.path)
	case err != nil && ctx.Err() != nil:
	case err != nil:
		w.seen = sum
		_, rev := w.ctl.Snapshot()
		w.log.Error("configuration file changed but refused, nothing changed; fix the file (it is read again when it changes)",
			"file", w.path, "serving_revision", rev, "error", err)
	default:
		w.seen = sum
		w.log.Info("configuration file changed and applied", "file", w.path, "objects_changed", n)
	}
}
