package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// Mount is an extra handler that takes part in routing like a prefix
// route: the MCP server work mounts each MCP server at
// /mcp-servers/<name>. Its plugin chain is the global instances, the
// domain instances that match the request's host and the instances
// scoped "mcp-server" whose scope value is Name.
type Mount struct {
	// Name identifies the mount; it is the metrics route label
	// "mount/<name>" and the scope value of its "mcp-server" instances.
	Name string
	// Domains restricts the mount to these hosts, like Route.Domains;
	// empty means any host.
	Domains []string
	// PathPrefix is matched like a spec.PathPrefix route.
	PathPrefix string
	// Handler serves the requests. It must be safe for concurrent use.
	Handler http.Handler
	// Closer, if set, is owned by the table from Compile on: it is closed
	// with the table (after its last request), or at once when Compile
	// fails. MCP servers put their plugin instance here.
	Closer io.Closer
}

// CompileOptions are the inputs of Compile besides the snapshot.
type CompileOptions struct {
	// NewInstance creates a plugin instance from its spec (unmarshal,
	// provision, validate); pluginhost provides it. It may return a
	// *pluginapi.ConfigError or several joined. Required when the
	// snapshot has enabled plugin instances.
	NewInstance func(ctx context.Context, pi spec.PluginInstance) (pluginapi.Instance, error)
	// PluginInfo returns the Info of a loaded plugin, for the chain order
	// (phase and priority). A plugin it does not know is refused.
	// Required when the snapshot has enabled plugin instances.
	PluginInfo func(plugin string) (pluginapi.Info, bool)
	// Mounts are extra prefix handlers, such as MCP servers.
	Mounts []Mount
	// Previous is the table that serves now, if any: the upstream pools of
	// services that did not change are shared with it, so keep-alive
	// connections, passive ejection and health state survive the change.
	Previous *Table
	// Logger receives the data plane's logs (upstream errors, ejections,
	// health changes); nil discards them.
	Logger *slog.Logger
	// Validated says that snap passed spec.Snapshot.Validate already (the
	// caller validated it before provisioning its mounts), so Compile does
	// not validate it again.
	Validated bool

	// reverseProxyOnly sends every request through httputil.ReverseProxy
	// (tests compare it with forward).
	reverseProxyOnly bool
}

// Table is an immutable, compiled configuration: routes, upstream pools
// and plugin chains. A Gateway serves one table at a time.
//
// A table owns its plugin instances and its references to upstream pools.
// Swap hands it to a Gateway, which closes it once it is replaced and its
// in-flight requests are done. A table that is never swapped in must be
// closed with Close.
type Table struct {
	router    *router
	domains   *domainClasses
	pools     map[string]*pool
	instances []*instance // in creation order
	closers   []io.Closer // of the mounts
	logger    *slog.Logger
	metrics   *metrics // set by Swap before the table serves
	routes    int
	bufPool   bufferPool

	refs      atomic.Int64
	retired   atomic.Bool
	onClosed  func() // set before retire; run when the table has closed
	closeOnce sync.Once
	closeErr  error
}

// Compile validates snap (unless opts.Validated) and builds a Table from it. It creates the
// enabled plugin instances through opts.NewInstance; if anything fails,
// every instance created so far is closed, nothing is left running, and
// the error lists every problem found (errors.Join of *spec.FieldError
// where a field is to blame). Compile does not change any running table.
func Compile(ctx context.Context, snap spec.Snapshot, opts CompileOptions) (*Table, error) {
	if !opts.Validated {
		if err := snap.Validate(); err != nil {
			closeMounts(opts.Mounts)
			return nil, err
		}
	}
	if err := validateMounts(opts.Mounts); err != nil {
		closeMounts(opts.Mounts)
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "gateway")
	t := &Table{router: newRouter(), pools: make(map[string]*pool, len(snap.Services)), logger: logger}
	for _, m := range opts.Mounts {
		if m.Closer != nil {
			t.closers = append(t.closers, m.Closer)
		}
	}

	if err := t.buildPools(snap.Services, opts.Previous); err != nil {
		t.release()
		return nil, err
	}
	if err := t.createInstances(ctx, snap.PluginInstances, opts); err != nil {
		t.release()
		return nil, err
	}

	var global, domain []*instance
	byRoute := make(map[string][]*instance)
	byMount := make(map[string][]*instance)
	for _, in := range t.instances {
		switch in.spec.Scope.Type {
		case spec.ScopeGlobal:
			global = append(global, in)
		case spec.ScopeDomain:
			domain = append(domain, in)
		case spec.ScopeRoute:
			byRoute[in.spec.Scope.Value] = append(byRoute[in.spec.Scope.Value], in)
		case spec.ScopeMCPServer:
			byMount[in.spec.Scope.Value] = append(byMount[in.spec.Scope.Value], in)
		}
	}
	t.domains = buildDomainClasses(domain)

	proxies := make(map[string]http.Handler, len(t.pools))
	serviceProxies := make(map[string]*serviceProxy, len(t.pools))
	for name, p := range t.pools {
		sp := t.newProxy(p, !opts.reverseProxyOnly)
		serviceProxies[name] = sp
		proxies[name] = serveCachedAnswer(sp)
	}
	for _, r := range snap.Routes {
		if !r.IsEnabled() {
			continue
		}
		e, err := newEntry(r.Name, r.Priority, r.Methods, r.Headers, r.Path)
		if err != nil {
			t.release()
			return nil, err
		}
		base := append(slices.Clone(global), byRoute[r.Name]...)
		e.target = newTarget(r.Name, proxies[r.Service], serviceProxies[r.Service], base, t.domains)
		t.router.add(r.Domains, r.Path.Type, r.Path.Value, e)
		t.routes++
	}
	for _, m := range opts.Mounts {
		e := &entry{name: "mount/" + m.Name, mount: true}
		base := append(slices.Clone(global), byMount[m.Name]...)
		e.target = newTarget(e.name, m.Handler, nil, base, t.domains)
		t.router.add(m.Domains, spec.PathPrefix, m.PathPrefix, e)
	}
	t.router.sort()
	return t, nil
}

func newEntry(name string, priority int, methods []string, headers []spec.HeaderMatch, path spec.PathMatch) (*entry, error) {
	e := &entry{name: name, priority: priority, methods: methods}
	for _, h := range headers {
		e.headers = append(e.headers, headerMatch{key: http.CanonicalHeaderKey(h.Name), value: h.Value})
	}
	e.specificity = len(e.headers)
	if len(methods) > 0 {
		e.specificity++
	}
	if path.Type == spec.PathRegex {
		re, lit, required, err := compileRegex(path.Value)
		if err != nil {
			return nil, &spec.FieldError{Object: spec.KindRoute, Name: name, Field: "path.value", Code: spec.CodeRouteInvalid,
				Message: fmt.Sprintf("regex %q does not compile when anchored to the whole path: %v", path.Value, err)}
		}
		e.re, e.reLiteral, e.reRequired = re, lit, required
	}
	return e, nil
}

func validateMounts(mounts []Mount) error {
	var errs []error
	seen := make(map[string]bool, len(mounts))
	for _, m := range mounts {
		add := func(field, format string, args ...any) {
			errs = append(errs, &spec.FieldError{Object: spec.KindMCPServer, Name: m.Name, Field: field,
				Code: spec.CodeMCPServerInvalid, Message: fmt.Sprintf(format, args...)})
		}
		if m.Name == "" {
			add("name", "a mount needs a name")
		} else if seen[m.Name] {
			add("name", "another mount is named %q", m.Name)
		}
		seen[m.Name] = true
		if !strings.HasPrefix(m.PathPrefix, "/") || spec.CleanPath(m.PathPrefix) != m.PathPrefix && spec.CleanPath(m.PathPrefix)+"/" != m.PathPrefix {
			add("pathPrefix", "path prefix %q must start with '/' and be in canonical form, like \"/mcp-servers/%s\"", m.PathPrefix, m.Name)
		}
		for i, d := range m.Domains {
			if msg := spec.CheckDomain(d); msg != "" {
				add(fmt.Sprintf("domains[%d]", i), "%s", msg)
			}
		}
		if m.Handler == nil {
			add("handler", "a mount needs a handler")
		}
	}
	return errors.Join(errs...)
}

// buildPools creates or shares a pool per service.
func (t *Table) buildPools(services []spec.Service, prev *Table) error {
	for _, s := range services {
		var old *pool
		if prev != nil {
			old = prev.pools[s.Name]
		}
		if old != nil && old.key == serviceKey(s) && old.acquire() {
			t.pools[s.Name] = old
			continue
		}
		timeout := s.TimeoutDuration()
		var st *sharedTransport
		if old != nil && old.transport.timeout == timeout && old.transport.acquire() {
			st = old.transport
		} else {
			st = newTransport(timeout)
		}
		p, err := newPool(s, st, t.logger)
		if err != nil {
			st.release()
			return err
		}
		t.pools[s.Name] = p
	}
	return nil
}

// createInstances creates every enabled plugin instance and binds its
// handler. On failure it closes those it created and returns every error.
func (t *Table) createInstances(ctx context.Context, insts []spec.PluginInstance, opts CompileOptions) error {
	var errs []error
	for _, pi := range insts {
		// AI-route-scoped instances are created by control, into the
		// chain of their AI route's mount.
		if !pi.IsEnabled() || pi.Scope.Type == spec.ScopeAIRoute {
			continue
		}
		fail := func(field, format string, args ...any) {
			errs = append(errs, &spec.FieldError{Object: spec.KindPluginInstance, Name: pi.Name, Field: field,
				Code: spec.CodePluginInstanceInvalid, Message: fmt.Sprintf(format, args...)})
		}
		if opts.NewInstance == nil || opts.PluginInfo == nil {
			fail("plugin", "plugin instances cannot be created: no plugin host is configured")
			continue
		}
		info, ok := opts.PluginInfo(pi.Plugin)
		if !ok {
			fail("plugin", "plugin %q is not loaded; check its name, or install its artifact and restart", pi.Plugin)
			continue
		}
		cfg := pi.Config
		if len(bytes.TrimSpace(cfg)) == 0 {
			cfg = []byte("{}")
		}
		pi.Config = cfg
		inst, err := opts.NewInstance(ctx, pi)
		if err != nil {
			errs = append(errs, instanceErrors(pi.Name, err)...)
			continue
		}
		if inst == nil {
			fail("plugin", "plugin %q returned no instance; this is a bug in the plugin", pi.Plugin)
			continue
		}
		in := &instance{spec: pi, inst: inst, phase: phaseIndex(info.Phase), priority: info.Priority, scope: scopeOrder(pi.Scope.Type)}
		t.instances = append(t.instances, in)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}

// instanceErrors turns a plugin's error into FieldErrors on its config.
func instanceErrors(name string, err error) []error {
	return spec.PluginErrors(err, func(field, msg string) error {
		if field == "" {
			field = "config"
		} else {
			field = "config." + field
		}
		return &spec.FieldError{Object: spec.KindPluginInstance, Name: name, Field: field, Code: spec.CodePluginInstanceInvalid, Message: msg}
	})
}

// serveCachedAnswer serves a plugin's cached answer (ai-cache) in place of
// the service proxy: the call it stands for would be made here.
func serveCachedAnswer(proxy http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := pluginapi.CachedAnswerFrom(r.Context()); a != nil {
			a.Serve(w)
			return
		}
		proxy.ServeHTTP(w, r)
	})
}

func (t *Table) newProxy(p *pool, forward bool) *serviceProxy {
	errorLog := slog.NewLogLogger(t.logger.With("service", p.name).Handler(), slog.LevelWarn)
	rt := &roundTripper{pool: p, table: t}
	onError := t.proxyErrorHandler(p)
	plain := forward
	direct := p.policy != spec.LBConsistentHash
	for _, ep := range p.endpoints {
		plain = plain && ep.scheme == "http"
		direct = direct && ep.hostField != nil
	}
	return &serviceProxy{
		rt:      rt,
		onError: onError,
		bufs:    &t.bufPool,
		plain:   plain,
		direct:  plain && direct,
		rp: &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				// Append to the client's X-Forwarded-For like nginx's
				// $proxy_add_x_forwarded_for.
				if prior := pr.In.Header["X-Forwarded-For"]; len(prior) > 0 {
					pr.Out.Header["X-Forwarded-For"] = prior
				}
				pr.SetXForwarded()
			},
			Transport: rt,
			// Responses without a length (chunked) and text/event-stream are
			// flushed after every write by the reverse proxy itself; buffering
			// the others saves a write per response.
			FlushInterval: 0,
			BufferPool:    &t.bufPool,
			ErrorLog:      errorLog,
			ErrorHandler:  onError,
			ModifyResponse: func(res *http.Response) error {
				// The gateway already set the request id on the response.
				res.Header.Del("X-Request-Id")
				return nil
			},
		},
	}
}

// Routes returns the number of enabled routes in the table.
func (t *Table) Routes() int { return t.routes }

// acquire/done count the requests in flight on t; a retired table is
// closed when its last request is done.
func (t *Table) done() {
	if t.refs.Add(-1) == 0 && t.retired.Load() {
		t.closeOnce.Do(t.close)
	}
}

// activate starts what runs only while a table may serve: health checks.
func (t *Table) activate() {
	for _, p := range t.pools {
		p.activate()
	}
}

// retire stops new requests from using t; it closes once idle.
func (t *Table) retire() {
	t.retired.Store(true)
	if t.refs.Load() == 0 {
		t.closeOnce.Do(t.close)
	}
}

// Close releases a table that was never swapped into a Gateway (for
// example after a dry run). Never close a table that a Gateway serves:
// Swap and Gateway.Close retire it themselves.
// Plugin instances are closed in reverse creation order once no request
// runs on the table; Close returns their errors when that is at once.
func (t *Table) Close() error {
	t.retire()
	if t.refs.Load() == 0 {
		t.closeOnce.Do(t.close)
		return t.closeErr
	}
	return nil
}

func (t *Table) close() {
	var errs []error
	for i := len(t.instances) - 1; i >= 0; i-- {
		in := t.instances[i]
		if err := in.inst.Close(); err != nil {
			t.logger.Error("close plugin instance", "plugin_instance", in.spec.Name, "plugin", in.spec.Plugin, "error", err.Error())
			errs = append(errs, fmt.Errorf("close plugin instance %q: %w", in.spec.Name, err))
		}
	}
	for _, c := range t.closers {
		if err := c.Close(); err != nil {
			t.logger.Error("close mount", "error", err.Error())
			errs = append(errs, err)
		}
	}
	for _, p := range t.pools {
		p.release()
	}
	t.closeErr = errors.Join(errs...)
	if t.onClosed != nil {
		t.onClosed()
	}
}

func closeMounts(mounts []Mount) {
	for _, m := range mounts {
		if m.Closer != nil {
			_ = m.Closer.Close()
		}
	}
}

// drain ends the long-lived streams of the table's instances and mounts.
func (t *Table) drain() {
	for _, in := range t.instances {
		if d, ok := in.inst.(pluginapi.Drainer); ok {
			d.Drain()
		}
	}
	for _, c := range t.closers {
		if d, ok := c.(pluginapi.Drainer); ok {
			d.Drain()
		}
	}
}

// release undoes a partial Compile.
func (t *Table) release() {
	for i := len(t.instances) - 1; i >= 0; i-- {
		if err := t.instances[i].inst.Close(); err != nil {
			t.logger.Warn("close plugin instance after a failed compile", "plugin_instance", t.instances[i].spec.Name, "error", err.Error())
		}
	}
	t.instances = nil
	for _, c := range t.closers {
		_ = c.Close()
	}
	t.closers = nil
	for _, p := range t.pools {
		p.release()
	}
	t.pools = nil
	t.closeOnce.Do(func() {})
}

func (t *Table) countUpstreamError(service string) {
	if t.metrics != nil {
		t.metrics.upstreamErrors.WithLabelValues(service).Inc()
	}
}

// bufferPool lends the copy buffers of the reverse proxy.
type bufferPool struct{ p sync.Pool }

// Get and Put serve httputil.ReverseProxy (its BufferPool).
func (b *bufferPool) Get() []byte { return *b.get() }

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

// get and put lend a buffer without the allocation of Put's pointer.
func (b *bufferPool) get() *[]byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return v
	}
	buf := make([]byte, 32<<10)
	return &buf
}

func (b *bufferPool) put(buf *[]byte) { b.p.Put(buf) }
