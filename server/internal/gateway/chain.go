package gateway

import (
	"cmp"
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// instance is one created plugin instance of a table. Its Handler is
// called once per table, with a next handler that continues the chain of
// the request being served, so one instance serves every route it is
// attached to.
type instance struct {
	spec     spec.PluginInstance
	inst     pluginapi.Instance
	phase    int
	priority int
	scope    int // order of scopes: global, domain, route or mcp-server
	handler  http.Handler
}

// scopeOrder orders instances of equal phase and priority: global, domain,
// route, mcp-server.
func scopeOrder(scope string) int {
	switch scope {
	case spec.ScopeGlobal:
		return 0
	case spec.ScopeDomain:
		return 1
	case spec.ScopeRoute:
		return 2
	}
	return 3
}

func phaseIndex(p pluginapi.Phase) int {
	phases := pluginapi.Phases()
	if i := slices.Index(phases, p); i >= 0 {
		return i
	}
	return slices.Index(phases, pluginapi.PhaseDefault)
}

// instanceOrder is the chain order: phase, then higher priority, then
// scope (global first), then name.
func instanceOrder(a, b *instance) int {
	if c := cmp.Compare(a.phase, b.phase); c != 0 {
		return c
	}
	if c := cmp.Compare(b.priority, a.priority); c != 0 {
		return c
	}
	if c := cmp.Compare(a.scope, b.scope); c != 0 {
		return c
	}
	return strings.Compare(a.spec.Name, b.spec.Name)
}

type chainKey struct{}

// bind builds the instance's handler; next finds the rest of the chain in
// the request's context.
func (in *instance) bind() {
	in.handler = in.inst.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Context().Value(chainKey{}).(*chain)
		if c == nil {
			pluginapi.WriteError(w, http.StatusInternalServerError, "plugin_chain_broken",
				"plugin instance "+in.spec.Name+" called the next handler with a context that does not derive from the request's; fix the plugin")
			return
		}
		c.after(in).ServeHTTP(w, r)
	}))
}

// chain is the ordered plugin instances in front of a final handler.
type chain struct {
	label string // the route, handed to plugins with pluginapi.WithRoute
	steps []*instance
	next  []http.Handler // next[i] runs after steps[i]
	final http.Handler
}

func newChain(label string, steps []*instance, final http.Handler) *chain {
	c := &chain{label: label, steps: steps, final: final, next: make([]http.Handler, len(steps))}
	for i := range steps {
		if i+1 < len(steps) {
			c.next[i] = steps[i+1].handler
		} else {
			c.next[i] = final
		}
	}
	return c
}

func (c *chain) after(in *instance) http.Handler {
	for i, s := range c.steps {
		if s == in {
			return c.next[i]
		}
	}
	return c.final
}

func (c *chain) serve(w http.ResponseWriter, r *http.Request) {
	if len(c.steps) == 0 {
		c.final.ServeHTTP(w, r)
		return
	}
	r = r.WithContext(pluginapi.WithRoute(context.WithValue(r.Context(), chainKey{}, c), c.label))
	c.steps[0].handler.ServeHTTP(w, r)
}

// target is what a matched route or mount runs: its plugin chain and its
// final handler (the service proxy or the mount's handler).
type target struct {
	label  string // the route label of metrics
	final  http.Handler
	base   []*instance // global and route (or mcp-server) instances, in chain order
	static *chain      // the chain when no domain-scoped instance applies

	mu      sync.Mutex
	byClass atomic.Pointer[map[int32]*chain]
}

func newTarget(label string, final http.Handler, base []*instance) *target {
	slices.SortFunc(base, instanceOrder)
	return &target{label: label, final: final, base: base, static: newChain(label, base, final)}
}

// chainFor returns the chain for a request to host: the target's own
// instances merged with the domain-scoped instances that match host.
// Chains per domain class are built on first use and kept.
func (tg *target) chainFor(d *domainClasses, host string) *chain {
	if d == nil {
		return tg.static
	}
	class := d.classOf(host)
	if class == 0 {
		return tg.static
	}
	if m := tg.byClass.Load(); m != nil {
		if c := (*m)[class]; c != nil {
			return c
		}
	}
	steps := append(slices.Clone(tg.base), d.classes[class]...)
	slices.SortFunc(steps, instanceOrder)
	c := newChain(tg.label, steps, tg.final)
	tg.mu.Lock()
	defer tg.mu.Unlock()
	next := make(map[int32]*chain)
	if m := tg.byClass.Load(); m != nil {
		maps.Copy(next, *m)
	}
	next[class] = c
	tg.byClass.Store(&next)
	return c
}

// domainClasses groups hosts by the set of domain-scoped instances that
// apply to them. Class 0 is the empty set.
type domainClasses struct {
	exact    map[string]int32
	wildcard map[string]int32 // keyed by the suffix with its dot
	classes  [][]*instance
}

func buildDomainClasses(insts []*instance) *domainClasses {
	if len(insts) == 0 {
		return nil
	}
	d := &domainClasses{exact: make(map[string]int32), wildcard: make(map[string]int32), classes: [][]*instance{nil}}
	var patterns []string
	for _, in := range insts {
		if !slices.Contains(patterns, in.spec.Scope.Value) {
			patterns = append(patterns, in.spec.Scope.Value)
		}
	}
	for _, p := range patterns {
		var members []*instance
		for _, in := range insts {
			q := in.spec.Scope.Value
			switch {
			case q == p:
			case strings.HasPrefix(q, "*.") && strings.HasPrefix(p, "*.") && strings.HasSuffix(p[1:], q[1:]):
			case strings.HasPrefix(q, "*.") && !strings.HasPrefix(p, "*.") && strings.HasSuffix(p, q[1:]):
			default:
				continue
			}
			members = append(members, in)
		}
		id := int32(len(d.classes))
		d.classes = append(d.classes, members)
		if strings.HasPrefix(p, "*.") {
			d.wildcard[p[1:]] = id
		} else {
			d.exact[p] = id
		}
	}
	return d
}

func (d *domainClasses) classOf(host string) int32 {
	if id, ok := d.exact[host]; ok {
		return id
	}
	for i := 0; i < len(host); i++ {
		if host[i] == '.' {
			if id, ok := d.wildcard[host[i:]]; ok {
				return id
			}
		}
	}
	return 0
}
