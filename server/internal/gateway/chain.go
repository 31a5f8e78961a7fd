package gateway

import (
	"cmp"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// instance is one created plugin instance of a table. Its Handler is
// called once for every chain that it is part of, when the table is
// compiled, with the rest of that chain as next: a request runs through
// prebuilt handlers only (Traefik's BuildChain).
type instance struct {
	spec     spec.PluginInstance
	inst     pluginapi.Instance
	phase    int
	priority int
	scope    int // order of scopes: global, domain, route or mcp-server
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

// chain is the ordered plugin instances in front of a final handler,
// composed once: entry is the first instance's handler, whose next is the
// second's, and so on to the final handler.
type chain struct {
	label string // the route, handed to plugins with pluginapi.WithRoute
	entry http.Handler
	steps int
	// direct is the service proxy that Gateway.ServeDirect forwards to:
	// set when the chain has no steps and its service proxy allows it.
	direct *serviceProxy
}

func newChain(label string, steps []*instance, final http.Handler, sp *serviceProxy) *chain {
	h := final
	for i := len(steps) - 1; i >= 0; i-- {
		h = steps[i].inst.Handler(h)
	}
	c := &chain{label: label, entry: h, steps: len(steps)}
	if len(steps) == 0 && sp != nil && sp.direct {
		c.direct = sp
	}
	return c
}

func (c *chain) serve(w http.ResponseWriter, r *http.Request) {
	if c.steps > 0 {
		r = r.WithContext(pluginapi.WithRoute(r.Context(), c.label))
	}
	c.entry.ServeHTTP(w, r)
}

// target is what a matched route or mount runs: its plugin chain and its
// final handler (the service proxy or the mount's handler).
type target struct {
	label string // the route label of metrics
	// byClass is the chain for each domain class (domainClasses): the
	// target's own instances merged with the domain-scoped instances of
	// the class. byClass[0] has no domain-scoped instance.
	byClass []*chain
}

// newTarget builds every chain of a target: one per domain class. sp is
// the service proxy final ends in, for a route (nil for a mount).
func newTarget(label string, final http.Handler, sp *serviceProxy, base []*instance, d *domainClasses) *target {
	slices.SortFunc(base, instanceOrder)
	tg := &target{label: label, byClass: []*chain{newChain(label, base, final, sp)}}
	if d == nil {
		return tg
	}
	for _, members := range d.classes[1:] {
		steps := append(slices.Clone(base), members...)
		slices.SortFunc(steps, instanceOrder)
		tg.byClass = append(tg.byClass, newChain(label, steps, final, sp))
	}
	return tg
}

// chainFor returns the chain for a request to host.
func (tg *target) chainFor(d *domainClasses, host string) *chain {
	if d == nil {
		return tg.byClass[0]
	}
	return tg.byClass[d.classOf(host)]
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
