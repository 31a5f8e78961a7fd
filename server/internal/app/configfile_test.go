package app

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/control"
	"github.com/gatehouse-dev/gatehouse/server/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

// lockedBuffer is a log sink safe for the watcher's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// configMapDir imitates how the kubelet mounts a ConfigMap: the file is a
// symlink through ..data to a timestamped directory, and an update writes
// a new directory and swaps the ..data symlink atomically.
type configMapDir struct {
	t   *testing.T
	dir string
	n   int
}

func newConfigMapDir(t *testing.T, content string) *configMapDir {
	c := &configMapDir{t: t, dir: t.TempDir()}
	c.update(content)
	require.NoError(t, os.Symlink(filepath.Join("..data", "gatehouse.yaml"), c.file()))
	return c
}

func (c *configMapDir) file() string { return filepath.Join(c.dir, "gatehouse.yaml") }

func (c *configMapDir) update(content string) {
	c.t.Helper()
	c.n++
	ts := fmt.Sprintf("..2026_12_04_15_00_%02d.%d", c.n, c.n)
	require.NoError(c.t, os.Mkdir(filepath.Join(c.dir, ts), 0o755))
	require.NoError(c.t, os.WriteFile(filepath.Join(c.dir, ts, "gatehouse.yaml"), []byte(content), 0o644))
	tmp := filepath.Join(c.dir, "..data_tmp")
	require.NoError(c.t, os.Symlink(ts, tmp))
	require.NoError(c.t, os.Rename(tmp, filepath.Join(c.dir, "..data")))
}

// configWithRoutes is a declarative file with one service and the routes.
func configWithRoutes(service string, routes ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "services:\n  - name: s\n    endpoints:\n      - url: http://127.0.0.1:9\nroutes:\n")
	for _, r := range routes {
		fmt.Fprintf(&b, "  - name: %s\n    path: {type: prefix, value: /%s}\n    service: %s\n", r, r, service)
	}
	b.WriteString("pluginInstances: []\nmcpServers: []\n")
	return b.String()
}

// A running instance in replace mode applies a changed declarative file
// (a ConfigMap update) without a restart; a file with a problem is refused
// whole and logged once, and the instance keeps serving what it served.
func TestConfigFileChangeIsAppliedWhileRunning(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.SharedDatabase(t), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	gw := gateway.New(nil, nil)
	t.Cleanup(gw.Close)
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctl := control.New(control.Options{Store: st, Gateway: gw, Logger: log})
	require.NoError(t, ctl.Load(ctx))

	cm := newConfigMapDir(t, configWithRoutes("s", "a"))
	w := newConfigFileWatcher(ctl, cm.file(), log)
	require.NoError(t, applyConfigFile(ctx, ctl, cm.file(), "replace", log))
	require.Equal(t, 1, gw.Table().Routes())

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.run(runCtx, 10*time.Millisecond)
	}()
	t.Cleanup(func() {
		stop()
		<-done
	})

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		require.Eventually(t, cond, 10*time.Second, 5*time.Millisecond, "%s; log:\n%s", what, &logs)
	}
	routes := func() []string {
		snap, _ := ctl.Snapshot()
		var out []string
		for _, r := range snap.Routes {
			out = append(out, r.Name)
		}
		return out
	}

	cm.update(configWithRoutes("s", "a", "b"))
	waitFor("the changed file is applied", func() bool { return gw.Table().Routes() == 2 })
	require.ElementsMatch(t, []string{"a", "b"}, routes())
	stored, err := ctl.Stored(ctx)
	require.NoError(t, err)
	require.Len(t, stored.Routes, 2, "the change is stored, so other instances follow it")

	for _, bad := range []struct{ name, content, want string }{
		{"a route to a service that does not exist", configWithRoutes("missing", "a", "b", "c"), "missing"},
		{"an unknown field", configWithRoutes("s", "a") + "routez: []\n", "routez"},
	} {
		before := strings.Count(logs.String(), "refused")
		cm.update(bad.content)
		waitFor(bad.name+" is refused", func() bool { return strings.Count(logs.String(), "refused") > before })
		require.Contains(t, logs.String(), bad.want, "the refusal names the problem")
		// Several more looks at the same refused content.
		looked := w.looks.Load()
		waitFor("more looks at the file", func() bool { return w.looks.Load() >= looked+5 })
		require.ElementsMatch(t, []string{"a", "b"}, routes(), "%s: nothing changed", bad.name)
		require.Equal(t, 2, gw.Table().Routes())
	}

	// Back to a valid file: applied, and each refused content was logged
	// once, not at every look.
	cm.update(configWithRoutes("s", "z"))
	waitFor("the fixed file is applied", func() bool { return gw.Table().Routes() == 1 })
	require.Equal(t, []string{"z"}, routes())
	require.Equal(t, 2, strings.Count(logs.String(), "refused"), "one line per refused content:\n%s", logs.String())
}
