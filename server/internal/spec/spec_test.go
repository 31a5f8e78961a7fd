package spec

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func ptr[T any](v T) *T { return &v }

// The shapes of issue 3, as the admin API receives them.
const issueService = `{"name":"echo","endpoints":[{"url":"http://127.0.0.1:9000","weight":1}],"loadBalancer":"round-robin",
 "timeout":"30s","retries":1}`

const issueRoute = `{"name":"echo","domains":["api.example.com","*.example.com"],"path":{"type":"prefix","value":"/echo"},
 "methods":["GET"],"headers":[{"name":"x-env","value":"prod"}],"service":"echo","priority":0,"enabled":true}`

func TestIssueShapesDecodeAndValidate(t *testing.T) {
	var svc Service
	require.NoError(t, json.Unmarshal([]byte(issueService), &svc))
	require.Equal(t, Service{Name: "echo", Endpoints: []Endpoint{{URL: "http://127.0.0.1:9000", Weight: 1}},
		LoadBalancer: LBRoundRobin, Timeout: "30s", Retries: 1}, svc)

	var r Route
	require.NoError(t, json.Unmarshal([]byte(issueRoute), &r))
	require.Equal(t, Route{Name: "echo", Domains: []string{"api.example.com", "*.example.com"},
		Path: PathMatch{Type: PathPrefix, Value: "/echo"}, Methods: []string{"GET"},
		Headers: []HeaderMatch{{Name: "x-env", Value: "prod"}}, Service: "echo", Enabled: ptr(true)}, r)

	snap := Snapshot{Services: []Service{svc}, Routes: []Route{r}, PluginInstances: []PluginInstance{{
		Name: "auth", Plugin: "key-auth", Scope: Scope{Type: ScopeRoute, Value: "echo"},
		Config: json.RawMessage(`{"keys":["k1"]}`),
	}}}
	require.NoError(t, snap.Validate())

	out, err := json.Marshal(r)
	require.NoError(t, err)
	require.JSONEq(t, `{"name":"echo","domains":["api.example.com","*.example.com"],"path":{"type":"prefix","value":"/echo"},
 "methods":["GET"],"headers":[{"name":"x-env","value":"prod"}],"service":"echo","enabled":true,"version":0}`, string(out))
}

func TestYAMLRoundTripKeepsPluginConfigAsMapping(t *testing.T) {
	snap := Snapshot{
		Services: []Service{{Name: "echo", Endpoints: []Endpoint{{URL: "http://127.0.0.1:9000"}}, Timeout: "5s",
			LoadBalancer: LBConsistentHash, HashOn: &HashOn{Type: HashOnHeader, Name: "x-user"},
			HealthCheck: &HealthCheck{Path: "/healthz", Interval: "5s"}}},
		Routes: []Route{{Name: "echo", Path: PathMatch{Type: PathExact, Value: "/echo"}, Service: "echo", Enabled: ptr(false)}},
		PluginInstances: []PluginInstance{{Name: "limit", Plugin: "cluster-rate-limit", Scope: Scope{Type: ScopeGlobal},
			Config: json.RawMessage(`{"zeta":1,"alpha":{"list":["a",2.5,true,null]},"big":12345678901234}`)}},
	}
	out, err := yaml.Marshal(snap)
	require.NoError(t, err)
	text := string(out)
	// The config is a readable mapping in the file, in its JSON key order.
	require.Contains(t, text, "config:\n        zeta: 1\n        alpha:\n            list:\n")
	require.Less(t, strings.Index(text, "zeta"), strings.Index(text, "alpha"))

	var back Snapshot
	require.NoError(t, yaml.Unmarshal(out, &back))
	require.JSONEq(t, string(snap.PluginInstances[0].Config), string(back.PluginInstances[0].Config))
	back.PluginInstances[0].Config = snap.PluginInstances[0].Config
	require.Equal(t, snap, back)
	require.NoError(t, back.Validate())
}

func TestYAMLConfigWrittenByHand(t *testing.T) {
	doc := `
pluginInstances:
  - name: auth
    plugin: key-auth
    scope: {type: domain, value: "*.example.com"}
    config:
      keys: [k1, k2]
      in: header
`
	var snap Snapshot
	require.NoError(t, yaml.Unmarshal([]byte(doc), &snap))
	require.JSONEq(t, `{"keys":["k1","k2"],"in":"header"}`, string(snap.PluginInstances[0].Config))
	require.NoError(t, snap.Validate())
}

type want struct{ object, name, field, code, contains string }

func TestValidateReportsEveryProblem(t *testing.T) {
	okSvc := Service{Name: "echo", Endpoints: []Endpoint{{URL: "http://127.0.0.1:9000"}}}
	okRoute := Route{Name: "r", Path: PathMatch{Type: PathPrefix, Value: "/"}, Service: "echo"}
	tests := []struct {
		name string
		snap Snapshot
		want []want
	}{
		{
			name: "service fields",
			snap: Snapshot{Services: []Service{{
				Name:         "Echo_1",
				Endpoints:    []Endpoint{{URL: "ftp://x"}, {URL: "http://"}, {URL: "http://a:b@h"}, {URL: "http://h?q=1"}, {URL: "http://h", Weight: -1}, {URL: "http://h"}},
				LoadBalancer: "random", Timeout: "soon", Retries: 11,
				HealthCheck: &HealthCheck{Path: "healthz", Interval: "10ms", HealthyThreshold: 101},
			}}},
			want: []want{
				{KindService, "Echo_1", "name", CodeServiceInvalid, "lowercase letters"},
				{KindService, "Echo_1", "endpoints[0].url", CodeServiceInvalid, "http:// or https://"},
				{KindService, "Echo_1", "endpoints[1].url", CodeServiceInvalid, "no host"},
				{KindService, "Echo_1", "endpoints[2].url", CodeServiceInvalid, "credentials"},
				{KindService, "Echo_1", "endpoints[3].url", CodeServiceInvalid, "query"},
				{KindService, "Echo_1", "endpoints[4].weight", CodeServiceInvalid, "out of range"},
				{KindService, "Echo_1", "endpoints[5].url", CodeServiceInvalid, "already endpoints[4]"},
				{KindService, "Echo_1", "loadBalancer", CodeServiceInvalid, `unknown load balancer "random"`},
				{KindService, "Echo_1", "timeout", CodeServiceInvalid, "not a duration"},
				{KindService, "Echo_1", "retries", CodeServiceInvalid, "0 to 10"},
				{KindService, "Echo_1", "healthCheck.path", CodeServiceInvalid, "must start with '/'"},
				{KindService, "Echo_1", "healthCheck.interval", CodeServiceInvalid, "out of range"},
				{KindService, "Echo_1", "healthCheck.healthyThreshold", CodeServiceInvalid, "1 to 100"},
			},
		},
		{
			name: "consistent hash needs a key",
			snap: Snapshot{Services: []Service{
				{Name: "a", Endpoints: okSvc.Endpoints, LoadBalancer: LBConsistentHash},
				{Name: "b", Endpoints: okSvc.Endpoints, LoadBalancer: LBConsistentHash, HashOn: &HashOn{Type: HashOnCookie}},
				{Name: "c", Endpoints: okSvc.Endpoints, HashOn: &HashOn{Type: HashOnClientAddress}},
				{Name: "d", Endpoints: okSvc.Endpoints, LoadBalancer: LBConsistentHash, HashOn: &HashOn{Type: "ip"}},
			}},
			want: []want{
				{KindService, "a", "hashOn", CodeServiceInvalid, "needs hashOn"},
				{KindService, "b", "hashOn.name", CodeServiceInvalid, "cookie name"},
				{KindService, "c", "hashOn", CodeServiceInvalid, "only used with"},
				{KindService, "d", "hashOn.type", CodeServiceInvalid, `unknown hashOn type "ip"`},
			},
		},
		{
			name: "route fields and references",
			snap: Snapshot{Services: []Service{okSvc}, Routes: []Route{{
				Name:    "bad route",
				Domains: []string{"*", "API.example.com", "a.*.com", "h:8080", "ok.example.com", "ok.example.com"},
				Path:    PathMatch{Type: PathRegex, Value: "/users/(["},
				Methods: []string{"get", "GET", "GET"},
				Headers: []HeaderMatch{{Name: "x env", Value: "1"}, {Name: "Host", Value: "x"}},
				Service: "missing",
			}}},
			want: []want{
				{KindRoute, "bad route", "name", CodeRouteInvalid, "lowercase letters"},
				{KindRoute, "bad route", "domains[0]", CodeRouteInvalid, "leave domains empty"},
				{KindRoute, "bad route", "domains[1]", CodeRouteInvalid, `write "api.example.com"`},
				{KindRoute, "bad route", "domains[2]", CodeRouteInvalid, "only a leading"},
				{KindRoute, "bad route", "domains[3]", CodeRouteInvalid, "port"},
				{KindRoute, "bad route", "domains[5]", CodeRouteInvalid, "listed twice"},
				{KindRoute, "bad route", "path.value", CodeRouteInvalid, "does not compile"},
				{KindRoute, "bad route", "methods[0]", CodeRouteInvalid, `write "GET"`},
				{KindRoute, "bad route", "methods[2]", CodeRouteInvalid, "listed twice"},
				{KindRoute, "bad route", "headers[0].name", CodeRouteInvalid, "not a valid header name"},
				{KindRoute, "bad route", "headers[1].name", CodeRouteInvalid, "with domains"},
				{KindRoute, "bad route", "service", CodeRouteInvalid, `service "missing" does not exist`},
			},
		},
		{
			name: "paths",
			snap: Snapshot{Services: []Service{okSvc}, Routes: []Route{
				{Name: "a", Path: PathMatch{Type: PathExact, Value: "echo"}, Service: "echo"},
				{Name: "b", Path: PathMatch{Type: PathPrefix, Value: "/a/../b"}, Service: "echo"},
				{Name: "c", Path: PathMatch{Type: "glob", Value: "/x"}, Service: "echo"},
				{Name: "d", Path: PathMatch{Value: "/x"}, Service: "echo"},
				{Name: "e", Path: PathMatch{Type: PathExact, Value: "/x?y=1"}, Service: "echo"},
			}},
			want: []want{
				{KindRoute, "a", "path.value", CodeRouteInvalid, "must start with '/'"},
				{KindRoute, "b", "path.value", CodeRouteInvalid, `write "/b"`},
				{KindRoute, "c", "path.type", CodeRouteInvalid, `unknown path type "glob"`},
				{KindRoute, "d", "path.type", CodeRouteInvalid, "required"},
				{KindRoute, "e", "path.value", CodeRouteInvalid, "'?'"},
			},
		},
		{
			name: "duplicates and identical routes",
			snap: Snapshot{Services: []Service{okSvc, okSvc}, Routes: []Route{
				okRoute, okRoute,
				{Name: "same-as-r", Path: PathMatch{Type: PathPrefix, Value: "/"}, Service: "echo"},
				{Name: "other-priority", Path: PathMatch{Type: PathPrefix, Value: "/"}, Service: "echo", Priority: 1},
				{Name: "x1", Domains: []string{"a.com"}, Path: PathMatch{Type: PathPrefix, Value: "/x/"}, Methods: []string{"GET", "POST"}, Service: "echo"},
				{Name: "x2", Domains: []string{"b.com", "a.com"}, Path: PathMatch{Type: PathPrefix, Value: "/x"}, Methods: []string{"POST", "GET"}, Service: "echo"},
				{Name: "x3-disabled", Domains: []string{"a.com"}, Path: PathMatch{Type: PathPrefix, Value: "/x"}, Methods: []string{"POST", "GET"}, Service: "echo", Enabled: ptr(false)},
			}},
			want: []want{
				{KindService, "echo", "name", CodeServiceInvalid, "another service"},
				{KindRoute, "r", "name", CodeRouteInvalid, "another route"},
				{KindRoute, "same-as-r", "path", CodeRouteInvalid, `route "r" matches exactly the same requests`},
				{KindRoute, "x2", "path", CodeRouteInvalid, `route "x1" matches exactly the same requests`},
			},
		},
		{
			name: "plugin instances",
			snap: Snapshot{Services: []Service{okSvc}, Routes: []Route{okRoute}, PluginInstances: []PluginInstance{
				{Name: "g", Plugin: "cors", Scope: Scope{Type: ScopeGlobal, Value: "x"}},
				{Name: "d", Plugin: "cors", Scope: Scope{Type: ScopeDomain, Value: "*"}},
				{Name: "r", Plugin: "cors", Scope: Scope{Type: ScopeRoute, Value: "nope"}},
				{Name: "m", Plugin: "cors", Scope: Scope{Type: ScopeMCPServer}},
				{Name: "s", Plugin: "Cors!", Scope: Scope{Type: "service"}},
				{Name: "c", Plugin: "cors", Scope: Scope{Type: ScopeGlobal}, Config: json.RawMessage(`[1]`)},
				{Name: "c", Plugin: "cors", Scope: Scope{Type: ScopeGlobal}, Config: json.RawMessage(`{"ok":true}`)},
			}},
			want: []want{
				{KindPluginInstance, "g", "scope.value", CodePluginInstanceInvalid, "takes no scope value"},
				{KindPluginInstance, "d", "scope.value", CodePluginInstanceInvalid, "leave domains empty"},
				{KindPluginInstance, "r", "scope.value", CodePluginInstanceInvalid, `route "nope" does not exist`},
				{KindPluginInstance, "m", "scope.value", CodePluginInstanceInvalid, "MCP server name"},
				{KindPluginInstance, "s", "plugin", CodePluginInstanceInvalid, "not valid"},
				{KindPluginInstance, "s", "scope.type", CodePluginInstanceInvalid, `unknown scope type "service"`},
				{KindPluginInstance, "c", "config", CodePluginInstanceInvalid, "JSON object"},
				{KindPluginInstance, "c", "name", CodePluginInstanceInvalid, "another plugin instance"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.snap.Validate()
			require.Error(t, err)
			fes := FieldErrors(err)
			require.Len(t, fes, len(err.(interface{ Unwrap() []error }).Unwrap()), "every joined error is a *FieldError")
			var got []want
			for _, fe := range fes {
				got = append(got, want{fe.Object, fe.Name, fe.Field, fe.Code, ""})
			}
			for _, w := range tt.want {
				found := false
				for _, fe := range fes {
					if fe.Object == w.object && fe.Name == w.name && fe.Field == w.field && fe.Code == w.code && strings.Contains(fe.Message, w.contains) {
						found = true
					}
				}
				require.Truef(t, found, "missing %+v in %v", w, err)
			}
			require.Len(t, fes, len(tt.want), "unexpected extra problems: %v", err)
		})
	}
}

func TestFieldErrorsThroughWrapping(t *testing.T) {
	err := Snapshot{Routes: []Route{{Name: "x", Path: PathMatch{Type: PathExact, Value: "/"}}}}.Validate()
	wrapped := errors.Join(errors.New("other"), errors.Join(err))
	fes := FieldErrors(wrapped)
	require.Len(t, fes, 1)
	require.Equal(t, "service", fes[0].Field)
	require.Equal(t, `route "x": service: service is required: the name of the service that serves this route`, fes[0].Error())
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "/",
		"/":                "/",
		"/a/b":             "/a/b",
		"/a/b/":            "/a/b/",
		"/a//b":            "/a/b",
		"/a/./b/../c":      "/a/c",
		"/public/../admin": "/admin",
		"/../../etc":       "/etc",
		"/a/..":            "/",
		"/a/b/..":          "/a/",
		"/.well-known/x":   "/.well-known/x",
		"a/b":              "/a/b",
	} {
		require.Equal(t, want, CleanPath(in), in)
	}
}

func TestApplyDefaults(t *testing.T) {
	s := Service{Name: "x", Endpoints: []Endpoint{{URL: "http://h"}}, HealthCheck: &HealthCheck{Path: "/"}}
	s.ApplyDefaults()
	require.Equal(t, LBRoundRobin, s.LoadBalancer)
	require.Equal(t, "30s", s.Timeout)
	require.Equal(t, 1, s.Endpoints[0].Weight)
	require.Equal(t, HealthCheck{Path: "/", Interval: "10s", Timeout: "2s", HealthyThreshold: 2, UnhealthyThreshold: 3}, *s.HealthCheck)
	require.NoError(t, s.Validate())
	r := Route{}
	r.ApplyDefaults()
	require.True(t, *r.Enabled)
}

func FuzzValidate(f *testing.F) {
	f.Add([]byte(`{"services":[` + issueService + `],"routes":[` + issueRoute + `]}`))
	f.Add([]byte(`{"services":[{"name":"a","endpoints":[{"url":"http://[::1]:80/x"}],"loadBalancer":"consistent-hash","hashOn":{"type":"cookie","name":"s"},"healthCheck":{"path":"/h","interval":"1s","timeout":"2s"}}],
	  "routes":[{"name":"r","path":{"type":"regex","value":"/(a|b)+"},"service":"a"},{"name":"r2","domains":["*.x.io"],"path":{"type":"exact","value":"/./"},"service":"b"}],
	  "pluginInstances":[{"name":"p","plugin":"cors","scope":{"type":"route","value":"r"},"config":{"a":1}}]}`))
	f.Add([]byte(`{"routes":[{"name":"","domains":[""],"path":{}}],"pluginInstances":[{"scope":{"type":"domain","value":"*.*"}}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		var snap Snapshot
		if json.Unmarshal(doc, &snap) != nil {
			return
		}
		err := snap.Validate()
		if err == nil {
			// A valid snapshot survives a YAML round trip and stays valid.
			out, merr := yaml.Marshal(snap)
			if merr != nil {
				t.Fatalf("marshal a valid snapshot: %v", merr)
			}
			var back Snapshot
			if uerr := yaml.Unmarshal(out, &back); uerr != nil {
				t.Fatalf("unmarshal our own YAML: %v\n%s", uerr, out)
			}
			if verr := back.Validate(); verr != nil {
				t.Fatalf("valid snapshot became invalid after YAML round trip: %v\n%s", verr, out)
			}
			return
		}
		joined, ok := err.(interface{ Unwrap() []error })
		if !ok {
			t.Fatalf("Validate returned %T, want errors.Join", err)
		}
		fes := FieldErrors(err)
		if len(fes) != len(joined.Unwrap()) {
			t.Fatalf("not every problem is a *FieldError: %v", err)
		}
		for _, fe := range fes {
			if fe.Object == "" || fe.Field == "" || fe.Code == "" || fe.Message == "" {
				t.Fatalf("incomplete field error %+v", fe)
			}
		}
		if again := snap.Validate(); again.Error() != err.Error() {
			t.Fatalf("Validate is not deterministic:\n%v\n%v", err, again)
		}
	})
}

// A bad route regex says what is wrong with it (it once said "<nil>").
func TestBadRegexNamesTheProblem(t *testing.T) {
	r := Route{Name: "r", Path: PathMatch{Type: PathRegex, Value: "/users/(["}, Service: "s"}
	r.ApplyDefaults()
	err := r.Validate()
	require.Error(t, err)
	require.NotContains(t, err.Error(), "<nil>")
	require.Contains(t, err.Error(), "missing closing ]")
}
