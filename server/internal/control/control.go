// Package control changes gatehouse's dynamic configuration. Every change
// reads the stored configuration once, builds the whole new snapshot,
// validates it once and compiles it into a gateway table (which provisions
// every plugin instance, MCP servers included) before anything is stored;
// only then are the objects and their revisions written in one transaction
// and the new table swapped in, with the snapshot it serves carrying the
// versions the store answered. A refused change leaves the database and the
// running gateway as they were. Every object kind is handled through the
// table of kinds (spec.Kinds, or Options.Kinds).
package control

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/gatehouse-dev/gatehouse/server/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// MCPPlugin is the plugin that serves MCP servers.
const MCPPlugin = "mcp-server"

// Plugins finds loaded plugins; pluginhost.Report implements it.
type Plugins interface {
	Get(name string) (pluginapi.Plugin, bool)
}

// Options wire a Control.
type Options struct {
	Store   *store.Store
	Gateway *gateway.Gateway
	Plugins Plugins
	// Host returns the Host given to instances of plugin.
	Host   func(plugin string) pluginapi.Host
	Logger *slog.Logger
	// Changed, if set, is called after this instance applied a change, to
	// tell other instances (Redis pub/sub).
	Changed func(revision int64)
	// Kinds are the object kinds; spec.Kinds when nil.
	Kinds []spec.Kind
	// AIUsageFailureMode is the ai-consumer plugin's failureMode (open or
	// closed; GATEHOUSE_AI_USAGE_FAILURE_MODE); empty is the plugin's
	// default, open.
	AIUsageFailureMode string
}

// Control applies configuration changes. It is safe for concurrent use;
// changes are serialized.
type Control struct {
	opts  Options
	log   *slog.Logger
	kinds []spec.Kind

	mu      sync.Mutex // serializes changes and reloads
	current atomic.Pointer[applied]
}

// applied is the configuration that serves now.
type applied struct {
	revision int64
	snapshot spec.Snapshot
	mcp      map[string]pluginapi.Instance
}

// New returns a Control; call Load before serving.
func New(opts Options) *Control {
	kinds := opts.Kinds
	if kinds == nil {
		kinds = spec.Kinds
	}
	return &Control{opts: opts, log: opts.Logger.With("component", "control"), kinds: kinds}
}

// Kinds returns the object kinds Control stores.
func (c *Control) Kinds() []spec.Kind { return c.kinds }

// Change is one object change: Object is of the kind named Kind (see
// spec.Kinds); nil deletes Name.
type Change struct {
	Kind   string
	Name   string
	Object spec.Object
	// ExpectVersion: 0 = any, -1 = must not exist, n = must be version n.
	ExpectVersion int64
}

// Load reads the stored configuration and serves it. It fails when the
// stored configuration does not compile (for example a plugin it uses
// failed verification), naming every problem.
func (c *Control) Load(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reloadLocked(ctx)
}

// Sync reloads when another instance stored a newer revision and reports
// whether it did. It is what the pub/sub notification and the polling
// fallback call.
func (c *Control) Sync(ctx context.Context) (bool, error) {
	rev, err := c.opts.Store.LatestRevision(ctx)
	if err != nil {
		return false, err
	}
	if cur := c.current.Load(); cur != nil && cur.revision >= rev {
		return false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.current.Load(); cur != nil && cur.revision >= rev {
		return false, nil
	}
	return true, c.reloadLocked(ctx)
}

func (c *Control) reloadLocked(ctx context.Context) error {
	snap, rev, err := c.stored(ctx)
	if err != nil {
		return err
	}
	table, mcp, err := c.compile(ctx, snap)
	if err != nil {
		return fmt.Errorf("the stored configuration (revision %d) cannot be applied: %w", rev, err)
	}
	c.serve(table, &applied{revision: rev, snapshot: snap, mcp: mcp})
	attrs := []any{"revision", rev}
	for _, k := range c.kinds {
		attrs = append(attrs, k.Code()+"s", len(k.Objects(snap))) // "plugin_instances"
	}
	c.log.Info("configuration applied", attrs...)
	return nil
}

// serve swaps table in, or, without a gateway (the config command), only
// validates it.
func (c *Control) serve(table *gateway.Table, a *applied) {
	if c.opts.Gateway == nil {
		_ = table.Close() // closes the MCP instances mounted on it too
		a.mcp = nil
	} else {
		c.opts.Gateway.Swap(table)
	}
	c.current.Store(a)
}

// Snapshot returns the configuration that serves now and its revision.
func (c *Control) Snapshot() (spec.Snapshot, int64) {
	cur := c.current.Load()
	if cur == nil {
		return spec.Snapshot{}, 0
	}
	return cur.snapshot, cur.revision
}

// MCPInstance returns the running instance of the MCP server name.
func (c *Control) MCPInstance(name string) (pluginapi.Instance, bool) {
	cur := c.current.Load()
	if cur == nil {
		return nil, false
	}
	in, ok := cur.mcp[name]
	return in, ok
}

// Apply validates and applies changes as one: all of them or none. It
// returns the objects stored, with their new versions, in the order of
// changes (deletions left out).
func (c *Control) Apply(ctx context.Context, user string, changes []Change) ([]spec.Object, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	snap, rev, err := c.stored(ctx)
	if err != nil {
		return nil, err
	}
	storeChanges := make([]store.Change, 0, len(changes))
	for _, ch := range changes {
		sc, err := c.applyChange(&snap, ch)
		if err != nil {
			return nil, err
		}
		storeChanges = append(storeChanges, sc)
	}
	return c.commitLocked(ctx, user, snap, rev, storeChanges)
}

// Replace makes the stored configuration exactly snap (the declarative
// file): objects missing from snap are deleted. It returns the number of
// objects changed.
func (c *Control) Replace(ctx context.Context, user string, snap spec.Snapshot) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, rev, err := c.stored(ctx)
	if err != nil {
		return 0, err
	}
	changes, err := c.diff(cur, snap)
	if err != nil {
		return 0, err
	}
	if len(changes) == 0 {
		return 0, nil
	}
	// The objects the file leaves unchanged keep their stored versions.
	if snap, err = c.withVersions(snap, versionsOf(c.kinds, cur), true); err != nil {
		return 0, err
	}
	_, err = c.commitLocked(ctx, user, snap, rev, changes)
	return len(changes), err
}

// commitLocked compiles next, stores changes and swaps the table in. next
// is the configuration read at revision base with changes made to it. It
// returns the objects stored.
func (c *Control) commitLocked(ctx context.Context, user string, next spec.Snapshot, base int64, changes []store.Change) ([]spec.Object, error) {
	table, mcp, err := c.compile(ctx, next)
	if err != nil {
		return nil, err
	}
	batch := newBatchID()
	out, err := c.opts.Store.Apply(ctx, user, batch, changes)
	if err != nil {
		_ = table.Close()
		return nil, err
	}
	latest, others, err := c.opts.Store.RevisionsAfter(ctx, base, batch)
	if err != nil {
		_ = table.Close()
		return nil, err
	}
	// The table holds exactly base and these changes. When another instance
	// changed something since base, the table lacks it: record base, so
	// that the next sync loads everything.
	rev := latest
	if others > 0 {
		rev = base
	}
	// The store bumped the versions of what it wrote; the served snapshot
	// carries them.
	versions := make(map[string]int64, len(out))
	for _, o := range out {
		versions[o.Kind+"/"+o.Name] = o.Version
	}
	if next, err = c.withVersions(next, versions, false); err != nil {
		_ = table.Close()
		return nil, err
	}
	c.serve(table, &applied{revision: rev, snapshot: next, mcp: mcp})
	for _, ch := range changes {
		action := "put"
		if ch.Spec == nil {
			action = "delete"
		}
		c.log.Info("configuration changed", "user", user, "kind", ch.Kind, "name", ch.Name, "action", action, "revision", latest)
	}
	if c.opts.Changed != nil {
		c.opts.Changed(latest)
	}
	objs := make([]spec.Object, 0, len(out))
	for _, o := range out {
		if k, ok := spec.KindOf(c.kinds, o.Kind); ok {
			if obj, found := k.Find(next, o.Name); found {
				objs = append(objs, obj)
			}
		}
	}
	return objs, nil
}

// Rollback restores the object of revision id to what it was before that
// revision, through the same validation as any change.
func (c *Control) Rollback(ctx context.Context, user string, id int64) (*store.Revision, error) {
	rev, err := c.opts.Store.GetRevision(ctx, id)
	if err != nil {
		return nil, err
	}
	ch := Change{Kind: rev.Kind, Name: rev.Name}
	if rev.Before != nil {
		k, ok := spec.KindOf(c.kinds, rev.Kind)
		if !ok {
			return nil, fmt.Errorf("revision %d: unknown object kind %q", id, rev.Kind)
		}
		obj, err := k.Decode(rev.Before)
		if err != nil {
			return nil, err
		}
		ch.Object = obj
	}
	if _, err := c.Apply(ctx, user, []Change{ch}); err != nil {
		return nil, err
	}
	return rev, nil
}

// Stored reads the whole stored configuration, with versions.
func (c *Control) Stored(ctx context.Context) (spec.Snapshot, error) {
	snap, _, err := c.stored(ctx)
	return snap, err
}

// stored reads the whole stored configuration.
func (c *Control) stored(ctx context.Context) (spec.Snapshot, int64, error) {
	objs, rev, err := c.opts.Store.Objects(ctx)
	if err != nil {
		return spec.Snapshot{}, 0, fmt.Errorf("read the configuration: %w", err)
	}
	byKind := map[string][]spec.Object{}
	for _, o := range objs {
		k, ok := spec.KindOf(c.kinds, o.Kind)
		if !ok {
			return spec.Snapshot{}, 0, fmt.Errorf("stored %s %q: unknown object kind", o.Kind, o.Name)
		}
		obj, err := k.Decode(o.Spec)
		if err != nil {
			return spec.Snapshot{}, 0, fmt.Errorf("stored %s %q: %w", o.Kind, o.Name, err)
		}
		byKind[o.Kind] = append(byKind[o.Kind], obj.WithIdentity(obj.ObjectName(), o.Version))
	}
	var snap spec.Snapshot
	for _, k := range c.kinds {
		if err := k.SetObjects(&snap, byKind[k.Name]); err != nil {
			return spec.Snapshot{}, 0, err
		}
	}
	return snap, rev, nil
}

// compile builds the gateway table of snap: plugin instances and one
// mcp-server instance per enabled MCP server, each validated by its plugin.
func (c *Control) compile(ctx context.Context, snap spec.Snapshot) (*gateway.Table, map[string]pluginapi.Instance, error) {
	if err := snap.Validate(); err != nil {
		return nil, nil, err
	}
	mcp := map[string]pluginapi.Instance{}
	var mounts []gateway.Mount
	var errs []error
	for _, m := range snap.MCPServers {
		if !m.Enabled {
			continue
		}
		p, ok := c.opts.Plugins.Get(MCPPlugin)
		if !ok {
			errs = append(errs, &spec.FieldError{Object: spec.KindMCPServer, Name: m.Name, Field: "type", Code: spec.CodeMCPServerInvalid,
				Message: "the mcp-server plugin is not loaded (see GET /api/v1/plugins); MCP servers cannot be served"})
			continue
		}
		inst, err := p.New(ctx, m.PluginConfig(snap.Services), c.opts.Host(MCPPlugin))
		if err != nil {
			errs = append(errs, mcpErrors(m.Name, err)...)
			continue
		}
		mcp[m.Name] = inst
		mounts = append(mounts, gateway.Mount{Name: m.Name, Domains: m.Domains, PathPrefix: m.Path,
			Handler: inst.Handler(http.NotFoundHandler()), Closer: inst})
	}
	aiMounts, aiErrs := c.aiMounts(ctx, snap)
	errs = append(errs, aiErrs...)
	if len(errs) > 0 {
		for _, in := range mcp {
			_ = in.Close()
		}
		closeMounts(aiMounts)
		return nil, nil, errors.Join(errs...)
	}
	mounts = append(mounts, aiMounts...)
	var prev *gateway.Table
	if c.opts.Gateway != nil {
		prev = c.opts.Gateway.Table()
	}
	table, err := gateway.Compile(ctx, snap, gateway.CompileOptions{
		NewInstance: func(ctx context.Context, pi spec.PluginInstance) (pluginapi.Instance, error) {
			p, ok := c.opts.Plugins.Get(pi.Plugin)
			if !ok {
				return nil, &pluginapi.ConfigError{Field: "plugin", Message: fmt.Sprintf("plugin %q is not loaded; GET /api/v1/plugins lists the usable ones", pi.Plugin)}
			}
			return p.New(ctx, pi.Config, c.opts.Host(pi.Plugin))
		},
		PluginInfo: func(name string) (pluginapi.Info, bool) {
			p, ok := c.opts.Plugins.Get(name)
			if !ok {
				return pluginapi.Info{}, false
			}
			return p.Info(), true
		},
		Mounts:    mounts,
		Previous:  prev,
		Logger:    c.opts.Logger,
		Validated: true,
	})
	if err != nil {
		return nil, nil, err
	}
	return table, mcp, nil
}

// mcpErrors turns the plugin's errors into field errors of the server.
func mcpErrors(name string, err error) []error {
	return spec.PluginErrors(err, func(field, msg string) error {
		if field == "" {
			field = "definition"
		}
		return &spec.FieldError{Object: spec.KindMCPServer, Name: name, Code: spec.CodeMCPServerInvalid, Field: field, Message: msg}
	})
}

func newBatchID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ErrImportUnsupported means the loaded mcp-server plugin cannot import
// OpenAPI documents.
var ErrImportUnsupported = errors.New("the loaded mcp-server plugin cannot import OpenAPI documents; upgrade it")

// ImportOpenAPI turns an OpenAPI document into an MCP server definition
// with the defaults filled in. Nothing is stored: the caller reviews it and
// creates the server.
func (c *Control) ImportOpenAPI(doc []byte, name, baseURL string) (spec.MCPServer, error) {
	p, ok := c.opts.Plugins.Get(MCPPlugin)
	if !ok {
		return spec.MCPServer{}, ErrImportUnsupported
	}
	imp, ok := p.(pluginapi.OpenAPIImporter)
	if !ok {
		return spec.MCPServer{}, ErrImportUnsupported
	}
	def, err := imp.ImportOpenAPI(doc, name, baseURL)
	if err != nil {
		return spec.MCPServer{}, err
	}
	return spec.ParseMCPServer(def)
}
