package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

func infoOf(name, phase string, priority int) pluginapi.Info {
	return pluginapi.Info{Name: name, Version: "1.0.0", ABIVersion: pluginapi.ABIVersion, Phase: pluginapi.Phase(phase), Priority: priority}
}

func inst(name, plugin, scope, value string) spec.PluginInstance {
	return spec.PluginInstance{Name: name, Plugin: plugin, Scope: spec.Scope{Type: scope, Value: value}}
}

func TestPluginChainOrder(t *testing.T) {
	be := newBackend(t, "a", nil)
	plugins := pluginSet{
		"p-default":   &fakePlugin{info: infoOf("p-default", "default", 0)},
		"p-authz":     &fakePlugin{info: infoOf("p-authz", "authz", 10)},
		"p-authn":     &fakePlugin{info: infoOf("p-authn", "authn", 0)},
		"p-authn-hi":  &fakePlugin{info: infoOf("p-authn-hi", "authn", 100)},
		"p-traffic":   &fakePlugin{info: infoOf("p-traffic", "traffic", 5)},
		"p-transform": &fakePlugin{info: infoOf("p-transform", "transform", 0)},
		"p-nophase":   &fakePlugin{info: infoOf("p-nophase", "", 0)},
	}
	h := newHarness(t)
	snap := spec.Snapshot{
		Services: []spec.Service{svc("s", be.URL)},
		Routes: []spec.Route{
			prefixRoute("main", "/", "s"),
			prefixRoute("bare", "/bare", "s"),
			{Name: "api", Domains: []string{"api.example.com"}, Path: spec.PathMatch{Type: spec.PathPrefix, Value: "/"}, Service: "s"},
		},
		PluginInstances: []spec.PluginInstance{
			inst("g-default", "p-default", spec.ScopeGlobal, ""),
			inst("g-authz", "p-authz", spec.ScopeGlobal, ""),
			inst("g-authn", "p-authn", spec.ScopeGlobal, ""),
			inst("d-authn", "p-authn", spec.ScopeDomain, "api.example.com"),
			inst("d-wild", "p-traffic", spec.ScopeDomain, "*.example.com"),
			inst("d-other", "p-traffic", spec.ScopeDomain, "other.test"),
			inst("r-transform", "p-transform", spec.ScopeRoute, "main"),
			inst("r-authn-hi", "p-authn-hi", spec.ScopeRoute, "main"),
			inst("r-api", "p-nophase", spec.ScopeRoute, "api"),
		},
	}
	h.apply(snap, plugins.options())
	// Every chain is built by Compile: Handler runs once per chain an
	// instance is part of (3 routes × 4 domain classes for a global one),
	// and never again while requests are served.
	built := map[string]int32{}
	for _, in := range plugins.instances() {
		built[in.name] = in.handlers.Load()
	}
	require.Equal(t, int32(12), built["g-default"])
	require.Equal(t, int32(3), built["d-authn"], "one chain per route for the class of api.example.com")
	require.Equal(t, int32(4), built["r-transform"], "one chain per domain class of its route")

	tests := []struct{ host, path, want string }{
		// Phase first, then priority, then scope (global before domain
		// before route), whatever the scope.
		{"plain.test", "/", "r-authn-hi,g-authn,g-authz,r-transform,g-default"},
		{"api.example.com", "/", "g-authn,d-authn,g-authz,d-wild,g-default,r-api"},
		{"x.example.com", "/", "r-authn-hi,g-authn,g-authz,d-wild,r-transform,g-default"},
		{"OTHER.test:8080", "/bare/1", "g-authn,g-authz,d-other,g-default"},
		{"plain.test", "/bare", "g-authn,g-authz,g-default"},
	}
	for _, tt := range tests {
		t.Run(tt.host+tt.path, func(t *testing.T) {
			res := h.do("GET", tt.host, tt.path, nil, nil)
			require.Equal(t, http.StatusOK, res.status, res.body)
			require.Equal(t, tt.want, chainOf(res.seen(t)))
		})
	}
	for _, in := range plugins.instances() {
		require.Equal(t, built[in.name], in.handlers.Load(), "%s: Handler is never called per request", in.name)
	}
}

func TestPluginRefusalIsTerminal(t *testing.T) {
	be := newBackend(t, "a", nil)
	deny := &fakePlugin{info: infoOf("deny", "authn", 0), handler: func(name string, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Key") != "secret" {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"error":{"code":"unauthorized","message":"send X-Key"}}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}}
	h := newHarness(t)
	h.apply(spec.Snapshot{Services: []spec.Service{svc("s", be.URL)}, Routes: []spec.Route{prefixRoute("r", "/", "s")},
		PluginInstances: []spec.PluginInstance{inst("auth", "deny", spec.ScopeRoute, "r")}}, pluginSet{"deny": deny}.options())

	res := h.get("/")
	require.Equal(t, http.StatusUnauthorized, res.status)
	require.Equal(t, "unauthorized", res.errorCode(t))
	require.Zero(t, be.hits.Load(), "a refused request never reaches the upstream")
	require.Equal(t, 1.0, metricValue(t, h.reg, "gatehouse_gateway_requests_total", map[string]string{"route": "r", "status": "401"}))

	require.Equal(t, http.StatusOK, h.do("GET", "", "/", nil, map[string]string{"X-Key": "secret"}).status)
	require.Equal(t, int64(1), be.hits.Load())
}

// A plugin's cached answer (ai-cache) is served where the route's service
// would be called: after every plugin of the chain admitted the request.
func TestCachedAnswerIsServedInPlaceOfTheService(t *testing.T) {
	be := newBackend(t, "a", nil)
	cache := &fakePlugin{info: infoOf("cache", "transform", 0), handler: func(name string, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, _ := pluginapi.WithCachedAnswer(r.Context(), func(w http.ResponseWriter) {
				_, _ = io.WriteString(w, "cached")
			})
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}}
	deny := &fakePlugin{info: infoOf("deny", "default", 0), handler: func(name string, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Key") != "secret" {
				http.Error(w, "refused", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}}
	h := newHarness(t)
	h.apply(spec.Snapshot{Services: []spec.Service{svc("s", be.URL)}, Routes: []spec.Route{prefixRoute("r", "/", "s")},
		PluginInstances: []spec.PluginInstance{inst("cache", "cache", spec.ScopeRoute, "r"), inst("deny", "deny", spec.ScopeRoute, "r")}},
		pluginSet{"cache": cache, "deny": deny}.options())

	res := h.get("/")
	require.Equal(t, http.StatusForbidden, res.status, "a plugin after the cache still refuses")
	res = h.do("GET", "", "/", nil, map[string]string{"X-Key": "secret"})
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, "cached", res.body)
	require.Zero(t, be.hits.Load(), "the cached answer stands for the upstream call")
}

func TestFailedCompileClosesInstancesAndKeepsServing(t *testing.T) {
	be := newBackend(t, "a", nil)
	good := &fakePlugin{info: infoOf("good", "default", 0)}
	bad := &fakePlugin{info: infoOf("bad", "authn", 0), newErr: errors.Join(
		&pluginapi.ConfigError{Field: "keys", Message: "at least one key is required"},
		&pluginapi.ConfigError{Field: "in", Message: `use "header" or "query"`},
	)}
	plugins := pluginSet{"good": good, "bad": bad}
	h := newHarness(t)
	base := spec.Snapshot{Services: []spec.Service{svc("s", be.URL)}, Routes: []spec.Route{prefixRoute("r", "/", "s")},
		PluginInstances: []spec.PluginInstance{inst("g", "good", spec.ScopeGlobal, "")}}
	h.apply(base, plugins.options())
	serving := h.gw.Table()
	require.Equal(t, "g", chainOf(h.get("/").seen(t)))

	next := base
	next.Routes = []spec.Route{prefixRoute("r", "/", "s"), prefixRoute("new", "/new", "s")}
	next.PluginInstances = []spec.PluginInstance{
		inst("g", "good", spec.ScopeGlobal, ""),
		inst("k", "bad", spec.ScopeRoute, "new"),
		inst("ghost", "nope", spec.ScopeGlobal, ""),
		{Name: "off", Plugin: "bad", Scope: spec.Scope{Type: spec.ScopeGlobal}, Enabled: new(bool)},
	}
	opts := plugins.options()
	opts.Previous = serving
	tbl, err := Compile(context.Background(), next, opts)
	require.Nil(t, tbl)
	fes := spec.FieldErrors(err)
	got := map[string]string{}
	for _, fe := range fes {
		require.Equal(t, spec.KindPluginInstance, fe.Object)
		require.Equal(t, spec.CodePluginInstanceInvalid, fe.Code)
		got[fe.Name+" "+fe.Field] = fe.Message
	}
	require.Equal(t, map[string]string{
		"k config.keys": "at least one key is required",
		"k config.in":   `use "header" or "query"`,
		"ghost plugin":  `plugin "nope" is not loaded; check its name, or install its artifact and restart`,
	}, got, "every problem at once; the disabled instance is not created")

	made := plugins.instances()
	require.Len(t, made, 2, "the serving g and the new g")
	require.Zero(t, made[0].closed.Load(), "the serving table's instance is untouched")
	require.Equal(t, int32(1), made[1].closed.Load(), "the instance created before the failure is closed")
	require.Same(t, serving, h.gw.Table())
	require.Equal(t, http.StatusOK, h.get("/").status)
	require.Equal(t, "g", chainOf(h.get("/new").seen(t)), "/new is still served by route r of the old table")

	// An invalid snapshot creates nothing.
	before := len(plugins.instances())
	_, err = Compile(context.Background(), spec.Snapshot{Routes: []spec.Route{prefixRoute("r", "/", "missing")},
		PluginInstances: []spec.PluginInstance{inst("g", "good", spec.ScopeGlobal, "")}}, plugins.options())
	require.Error(t, err)
	require.Equal(t, before, len(plugins.instances()))
}

func TestTableClosesInstancesInReverseOrder(t *testing.T) {
	log := &closeLog{}
	p := &fakePlugin{info: infoOf("p", "default", 0)}
	snap := spec.Snapshot{PluginInstances: []spec.PluginInstance{
		inst("first", "p", spec.ScopeGlobal, ""), inst("second", "p", spec.ScopeGlobal, ""), inst("third", "p", spec.ScopeGlobal, ""),
	}}
	tbl, err := Compile(context.Background(), snap, pluginSet{"p": p}.options())
	require.NoError(t, err)
	for _, in := range p.made {
		in.closeLog = log
	}
	require.NoError(t, tbl.Close())
	require.NoError(t, tbl.Close(), "Close is idempotent")
	require.Equal(t, []string{"third", "second", "first"}, log.names)
}

func TestMountsServeWithTheirPlugins(t *testing.T) {
	be := newBackend(t, "a", nil)
	plugins := pluginSet{"mark": &fakePlugin{info: infoOf("mark", "default", 0)}}
	mount := Mount{Name: "weather", Domains: []string{"mcp.example.com"}, PathPrefix: "/mcp-servers/weather",
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(seenRequest{Backend: "mount", Path: r.URL.Path, Header: r.Header})
		})}
	opts := plugins.options()
	opts.Mounts = []Mount{mount}
	weather, err := spec.ParseMCPServer([]byte(`{"server":{"name":"weather"},"tools":[]}`))
	require.NoError(t, err)
	h := newHarness(t)
	h.apply(spec.Snapshot{Services: []spec.Service{svc("s", be.URL)}, Routes: []spec.Route{prefixRoute("r", "/", "s")},
		MCPServers:      []spec.MCPServer{weather},
		PluginInstances: []spec.PluginInstance{inst("g", "mark", spec.ScopeGlobal, ""), inst("m", "mark", spec.ScopeMCPServer, "weather")}}, opts)

	res := h.do("POST", "mcp.example.com", "/mcp-servers/weather/sse", nil, nil)
	require.Equal(t, http.StatusOK, res.status)
	seen := res.seen(t)
	require.Equal(t, "mount", seen.Backend)
	require.Equal(t, "g,m", chainOf(seen))
	require.Equal(t, 1.0, metricValue(t, h.reg, "gatehouse_gateway_requests_total", map[string]string{"route": "mount/weather"}))

	seen = h.do("POST", "other.test", "/mcp-servers/weather", nil, nil).seen(t)
	require.Equal(t, "a", seen.Backend, "the mount serves its domains only")
	require.Equal(t, "g", chainOf(seen))

	_, err = Compile(context.Background(), spec.Snapshot{}, CompileOptions{Mounts: []Mount{{Name: "x", PathPrefix: "mcp"}, {Name: "x", PathPrefix: "/a", Domains: []string{"*"}, Handler: http.NotFoundHandler()}}})
	var fields []string
	for _, fe := range spec.FieldErrors(err) {
		require.Equal(t, spec.CodeMCPServerInvalid, fe.Code)
		fields = append(fields, fe.Field)
	}
	require.Equal(t, []string{"pathPrefix", "handler", "name", "domains[0]"}, fields)
}

// TestPluginsSeeTheirRoute: a global instance tells routes apart through
// pluginapi.RouteFromContext (per-route rate limits rely on it).
func TestPluginsSeeTheirRoute(t *testing.T) {
	be := newBackend(t, "a", nil)
	plugins := pluginSet{"p": &fakePlugin{info: infoOf("p", "traffic", 0), handler: func(_ string, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			route, _ := pluginapi.RouteFromContext(r.Context())
			r.Header.Set("X-Chain", route)
			next.ServeHTTP(w, r)
		})
	}}}
	h := newHarness(t)
	h.apply(spec.Snapshot{
		Services:        []spec.Service{svc("s", be.URL)},
		Routes:          []spec.Route{prefixRoute("one", "/one", "s"), prefixRoute("two", "/two", "s")},
		PluginInstances: []spec.PluginInstance{inst("g", "p", spec.ScopeGlobal, "")},
	}, plugins.options())
	for _, route := range []string{"one", "two"} {
		res := h.get("/" + route)
		require.Equal(t, http.StatusOK, res.status, res.body)
		require.Equal(t, route, chainOf(res.seen(t)))
	}
}
