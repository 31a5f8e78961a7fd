package gateway

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

func precedenceRoutes() []spec.Route {
	r := func(name string, domains []string, typ, value string) spec.Route {
		return spec.Route{Name: name, Domains: domains, Path: spec.PathMatch{Type: typ, Value: value}, Service: "s"}
	}
	routes := []spec.Route{
		r("exact-host-all", []string{"api.example.com"}, spec.PathPrefix, "/"),
		r("wild-api", []string{"*.example.com"}, spec.PathPrefix, "/api"),
		r("wild-eu-all", []string{"*.eu.example.com"}, spec.PathPrefix, "/"),
		r("any-health", nil, spec.PathExact, "/health"),
		r("any-api", nil, spec.PathPrefix, "/api"),
		r("any-api-v1", nil, spec.PathPrefix, "/api/v1/"),
		r("any-users-me", nil, spec.PathExact, "/api/users/me"),
		r("any-users-re", nil, spec.PathRegex, "/api/users/[0-9]+"),
		r("any-root", nil, spec.PathPrefix, "/"),
		r("re-any", []string{"re.test"}, spec.PathRegex, "/r/.*"),
		r("re-exact", []string{"re.test"}, spec.PathRegex, "/r/x"),
		r("re-z", []string{"re.test"}, spec.PathRegex, "/r/[xy]"),
		r("re-exact-path", []string{"re.test"}, spec.PathExact, "/r/exact"),
		r("disabled", []string{"re.test"}, spec.PathPrefix, "/r"),
		r("mcp-shadow", nil, spec.PathPrefix, "/mcp-servers/m1"),
	}
	post := r("v1-post", nil, spec.PathPrefix, "/api/v1")
	post.Methods = []string{"POST"}
	canary := r("v1-canary", nil, spec.PathPrefix, "/api/v1")
	canary.Headers = []spec.HeaderMatch{{Name: "x-canary", Value: "1"}}
	high := r("items-high", nil, spec.PathPrefix, "/items")
	high.Priority = 10
	low := r("items-get", nil, spec.PathPrefix, "/items")
	low.Methods = []string{"GET"}
	routes = append(routes, post, canary, high, low)
	routes[10].Priority = 5 // re-exact beats re-any and re-z
	f := false
	routes[13].Enabled = &f
	return routes
}

func TestRoutingPrecedence(t *testing.T) {
	snap := spec.Snapshot{Services: []spec.Service{svc("s", "http://127.0.0.1:1")}, Routes: precedenceRoutes()}
	mount := Mount{Name: "m1", PathPrefix: "/mcp-servers/m1", Handler: http.NotFoundHandler()}
	tbl, err := Compile(context.Background(), snap, CompileOptions{Mounts: []Mount{mount}})
	require.NoError(t, err)
	defer tbl.Close()
	require.Equal(t, len(snap.Routes)-1, tbl.Routes())

	tests := []struct {
		name, host, method, path string
		header                   map[string]string
		want                     string
	}{
		{"exact domain beats any path rule", "api.example.com", "GET", "/health", nil, "exact-host-all"},
		{"host is case-insensitive and without port", "API.Example.COM:8443", "GET", "/x", nil, "exact-host-all"},
		{"trailing dot of host", "api.example.com.", "GET", "/x", nil, "exact-host-all"},
		{"wildcard domain", "www.example.com", "GET", "/api/x", nil, "wild-api"},
		{"wildcard falls through to routes without domain", "www.example.com", "GET", "/other", nil, "any-root"},
		{"longer wildcard first", "a.eu.example.com", "GET", "/api", nil, "wild-eu-all"},
		{"multi-level wildcard", "a.b.eu.example.com", "GET", "/api", nil, "wild-eu-all"},
		{"wildcard does not match its own base", "eu.example.com", "GET", "/api", nil, "wild-api"},
		{"wildcard does not match the apex", "example.com", "GET", "/api", nil, "any-api"},
		{"exact path beats prefix", "other.org", "GET", "/health", nil, "any-health"},
		{"exact path is exact", "other.org", "GET", "/health/", nil, "any-root"},
		{"longest prefix", "other.org", "GET", "/api/v1/x", nil, "any-api-v1"},
		{"prefix with trailing slash matches its bare path", "other.org", "GET", "/api/v1", nil, "any-api-v1"},
		{"prefix matches whole segments only", "other.org", "GET", "/api/v10", nil, "any-api"},
		{"prefix matches the path itself", "other.org", "GET", "/api", nil, "any-api"},
		{"method match is more specific", "other.org", "POST", "/api/v1/x", nil, "v1-post"},
		{"header match is more specific", "other.org", "GET", "/api/v1/x", map[string]string{"X-Canary": "1"}, "v1-canary"},
		{"header value must be equal", "other.org", "GET", "/api/v1/x", map[string]string{"X-Canary": "2"}, "any-api-v1"},
		{"equal specificity: by name", "other.org", "POST", "/api/v1/x", map[string]string{"X-Canary": "1"}, "v1-canary"},
		{"exact path beats regex", "other.org", "GET", "/api/users/me", nil, "any-users-me"},
		{"prefix beats regex", "other.org", "GET", "/api/users/42", nil, "any-api"},
		{"priority beats specificity", "other.org", "GET", "/items/1", nil, "items-high"},
		{"regex by priority", "re.test", "GET", "/r/x", nil, "re-exact"},
		{"regex by name when priorities are equal", "re.test", "GET", "/r/y", nil, "re-any"},
		{"regex matches the whole path", "re.test", "GET", "/r/xx", nil, "re-any"},
		{"exact path beats regex in a domain", "re.test", "GET", "/r/exact", nil, "re-exact-path"},
		{"disabled route is not served", "re.test", "GET", "/q", nil, "any-root"},
		{"mount wins a tie with a route", "re.test", "GET", "/mcp-servers/m1/sse", nil, "mount/m1"},
		{"mount prefix is segment-wise", "other.org", "GET", "/mcp-servers/m10", nil, "any-root"},
		{"dot segments are resolved before matching", "other.org", "GET", "/public/../health", nil, "any-health"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			e := tbl.router.match(normalizeHost(tt.host), spec.CleanPath(tt.path), tt.method, stdHeader(h))
			require.NotNil(t, e)
			require.Equal(t, tt.want, e.name)
			require.Equal(t, tt.want, referenceMatch(snap.Routes, []Mount{mount}, normalizeHost(tt.host), spec.CleanPath(tt.path), tt.method, h))
		})
	}
}

func TestNoRouteWithoutCatchAll(t *testing.T) {
	snap := spec.Snapshot{Services: []spec.Service{svc("s", "http://127.0.0.1:1")},
		Routes: []spec.Route{{Name: "a", Domains: []string{"a.com"}, Path: spec.PathMatch{Type: spec.PathPrefix, Value: "/"}, Service: "s"}}}
	tbl, err := Compile(context.Background(), snap, CompileOptions{})
	require.NoError(t, err)
	defer tbl.Close()
	require.Nil(t, tbl.router.match("b.com", "/", "GET", nil))
	require.NotNil(t, tbl.router.match("a.com", "/x", "GET", nil))
}

// referenceMatch is the routing rule written as plainly as possible: rank
// every matching route and mount, take the best.
func referenceMatch(routes []spec.Route, mounts []Mount, host, path, method string, h http.Header) string {
	type cand struct {
		name                                       string
		domainRank, pathClass, prefixLen, priority int
		specificity                                int
		mount                                      bool
	}
	domainRank := func(domains []string) (int, bool) {
		if len(domains) == 0 {
			return 1 << 30, true
		}
		best, ok := 1<<31, false
		for _, d := range domains {
			switch {
			case d == host:
				best, ok = 0, true
			case strings.HasPrefix(d, "*.") && strings.HasSuffix(host, d[1:]) && len(host) > len(d)-1:
				best, ok = min(best, 1+len(host)-len(d[1:])), true
			}
		}
		return best, ok
	}
	prefixMatch := func(p string) bool {
		p = spec.NormalizePrefix(p)
		return p == "/" || path == p || strings.HasPrefix(path, p+"/")
	}
	var cands []cand
	for _, r := range routes {
		if !r.IsEnabled() {
			continue
		}
		dr, ok := domainRank(r.Domains)
		if !ok {
			continue
		}
		c := cand{name: r.Name, domainRank: dr, priority: r.Priority, specificity: len(r.Headers)}
		if len(r.Methods) > 0 {
			c.specificity++
			found := false
			for _, m := range r.Methods {
				found = found || m == method
			}
			if !found {
				continue
			}
		}
		okH := true
		for _, hm := range r.Headers {
			found := false
			for _, v := range h.Values(hm.Name) {
				found = found || v == hm.Value
			}
			okH = okH && found
		}
		if !okH {
			continue
		}
		switch r.Path.Type {
		case spec.PathExact:
			if path != r.Path.Value {
				continue
			}
		case spec.PathPrefix:
			if !prefixMatch(r.Path.Value) {
				continue
			}
			c.pathClass, c.prefixLen = 1, len(spec.NormalizePrefix(r.Path.Value))
		case spec.PathRegex:
			if !regexp.MustCompile(`^(?:` + r.Path.Value + `)$`).MatchString(path) {
				continue
			}
			c.pathClass = 2
		}
		cands = append(cands, c)
	}
	for _, m := range mounts {
		dr, ok := domainRank(m.Domains)
		if !ok || !prefixMatch(m.PathPrefix) {
			continue
		}
		cands = append(cands, cand{name: "mount/" + m.Name, domainRank: dr, pathClass: 1, prefixLen: len(spec.NormalizePrefix(m.PathPrefix)), mount: true})
	}
	if len(cands) == 0 {
		return ""
	}
	best := cands[0]
	for _, c := range cands[1:] {
		d := cmp.Or(
			cmp.Compare(c.domainRank, best.domainRank),
			cmp.Compare(c.pathClass, best.pathClass),
			cmp.Compare(best.prefixLen, c.prefixLen),
			cmp.Compare(best.priority, c.priority),
			cmp.Compare(best.specificity, c.specificity),
		)
		if d == 0 && c.mount != best.mount {
			if c.mount {
				d = -1
			} else {
				d = 1
			}
		}
		if d == 0 {
			d = strings.Compare(c.name, best.name)
		}
		if d < 0 {
			best = c
		}
	}
	return best.name
}

// randomRoutes builds a valid random route set from seed.
func randomRoutes(seed uint64) ([]spec.Route, []Mount) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	domains := []string{"a.com", "*.a.com", "b.a.com", "*.b.a.com", "c.org"}
	prefixes := []string{"/", "/x", "/x/y", "/x/y/", "/z", "/x/y/z", "/x/yy"}
	regexes := []string{"/x/.*", "/[a-z]+", "/x/y", "/(x|z)/[0-9]+", ".*"}
	n := 1 + rng.IntN(30)
	var routes []spec.Route
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		r := spec.Route{Name: fmt.Sprintf("r%02d", i), Service: "s", Priority: rng.IntN(3)}
		for _, d := range domains {
			if rng.IntN(4) == 0 {
				r.Domains = append(r.Domains, d)
			}
		}
		switch rng.IntN(3) {
		case 0:
			r.Path = spec.PathMatch{Type: spec.PathExact, Value: pick(prefixes)}
		case 1:
			r.Path = spec.PathMatch{Type: spec.PathPrefix, Value: pick(prefixes)}
		default:
			r.Path = spec.PathMatch{Type: spec.PathRegex, Value: pick(regexes)}
		}
		if rng.IntN(3) == 0 {
			r.Methods = []string{pick([]string{"GET", "POST"})}
		}
		if rng.IntN(3) == 0 {
			r.Headers = []spec.HeaderMatch{{Name: "x-a", Value: pick([]string{"1", "2"})}}
		}
		if rng.IntN(8) == 0 {
			f := false
			r.Enabled = &f
		}
		// Skip routes identical to an earlier one: validation refuses them.
		key := fmt.Sprint(r.Domains, r.Path.Type, spec.NormalizePrefix(r.Path.Value), r.Methods, r.Headers, r.Priority)
		if r.Path.Type != spec.PathPrefix {
			key = fmt.Sprint(r.Domains, r.Path, r.Methods, r.Headers, r.Priority)
		}
		if seen[key] || len(r.Domains) > 1 {
			// Multi-domain routes may collide per domain; keep it simple.
			if seen[key] || rng.IntN(2) == 0 {
				continue
			}
		}
		seen[key] = true
		routes = append(routes, r)
	}
	var mounts []Mount
	if rng.IntN(2) == 0 {
		mounts = append(mounts, Mount{Name: "m", PathPrefix: pick(prefixes[1:]), Handler: http.NotFoundHandler()})
	}
	return routes, mounts
}

func FuzzMatch(f *testing.F) {
	f.Add(uint64(1), "a.com", "/x/y/z", "GET", "1")
	f.Add(uint64(2), "q.b.a.com", "/x/yy", "POST", "2")
	f.Add(uint64(3), "C.ORG:80", "/x/../z/5", "GET", "")
	f.Add(uint64(4), "b.a.com", "//x//y/", "DELETE", "1")
	f.Add(uint64(5), "", "/", "GET", "")
	f.Fuzz(func(t *testing.T, seed uint64, host, path, method, hdr string) {
		routes, mounts := randomRoutes(seed)
		snap := spec.Snapshot{Services: []spec.Service{svc("s", "http://127.0.0.1:1")}, Routes: routes}
		if err := snap.Validate(); err != nil {
			// Multi-domain routes can still collide on one domain.
			return
		}
		tbl, err := Compile(context.Background(), snap, CompileOptions{Mounts: mounts})
		if err != nil {
			t.Fatalf("compile a valid snapshot: %v", err)
		}
		defer tbl.Close()
		h := http.Header{}
		if hdr != "" {
			h.Set("X-A", hdr)
		}
		nh, cp := normalizeHost(host), spec.CleanPath(path)
		got := ""
		if e := tbl.router.match(nh, cp, method, stdHeader(h)); e != nil {
			got = e.name
		}
		if want := referenceMatch(routes, mounts, nh, cp, method, h); got != want {
			t.Fatalf("host %q path %q method %q x-a %q: router chose %q, the rule says %q\nroutes: %+v", nh, cp, method, hdr, got, want, routes)
		}
	})
}

func TestRegexFilters(t *testing.T) {
	for _, tt := range []struct{ expr, prefix, required, sample string }{
		{"/api/v[0-9]+/items42/[a-z]+", "/api/v", "/items42/", "/api/v2/items42/x"},
		{"/users/([0-9]+)/posts", "/users/", "/users/", "/users/7/posts"},
		{"(?i)/Users/x", "/", "", "/users/X"},
		{"/a|/bcd", "/", "/", "/bcd"},
		{"/x(/abcdef)?", "/x", "/x", "/x"},
		{".*", "", "", "/anything"},
	} {
		re, prefix, required, err := compileRegex(tt.expr)
		require.NoError(t, err)
		require.Equal(t, tt.prefix, prefix, tt.expr)
		require.Equal(t, tt.required, required, tt.expr)
		require.True(t, re.MatchString(tt.sample), tt.expr)
		require.True(t, strings.HasPrefix(tt.sample, prefix) && strings.Contains(tt.sample, required), "the filters keep a matching path")
	}
}
