// Package spec defines the dynamic configuration objects of Gatehouse —
// services, routes, plugin instances, MCP servers, LLM providers and AI
// routes — as they appear in the admin API (JSON) and in the declarative
// configuration file (YAML), and validates them.
//
// Kinds is the one table of object kinds: each entry (NewKind) says how
// the objects of a kind are named, found in a Snapshot, stored and read
// back; each object type implements Object (name, version, copy with
// another identity, validation). The store, control and the admin API
// handle every kind through that table, so adding a kind is one entry
// plus its type.
//
// The objects are plain values: the store persists them, the admin API
// reads and writes them, and the gateway compiles a Snapshot of them into
// a route table. Validation never mutates an object; ApplyDefaults fills
// the optional fields with their documented defaults.
package spec

import (
	"encoding/json"
	"time"
)

// Load-balancing policies of a Service.
const (
	// LBRoundRobin spreads requests over the endpoints in proportion to
	// their weights. It is the default.
	LBRoundRobin = "round-robin"
	// LBLeastRequest sends each request to the endpoint with the fewest
	// requests in flight relative to its weight.
	LBLeastRequest = "least-request"
	// LBConsistentHash sends requests with the same hash key (see HashOn)
	// to the same endpoint while the endpoint set is unchanged.
	LBConsistentHash = "consistent-hash"
)

// Hash key sources of the consistent-hash policy.
const (
	// HashOnHeader hashes the value of the request header HashOn.Name.
	HashOnHeader = "header"
	// HashOnCookie hashes the value of the cookie HashOn.Name.
	HashOnCookie = "cookie"
	// HashOnClientAddress hashes the client's IP address.
	HashOnClientAddress = "client-address"
)

// Path match types of a Route.
const (
	// PathExact matches the request path exactly.
	PathExact = "exact"
	// PathPrefix matches the request path segment by segment: "/echo"
	// matches "/echo", "/echo/" and "/echo/x" but not "/echoes"; "/"
	// matches every path.
	PathPrefix = "prefix"
	// PathRegex matches when the RE2 regular expression matches the whole
	// request path.
	PathRegex = "regex"
)

// Scope types of a PluginInstance.
const (
	// ScopeGlobal attaches an instance to every request. Scope.Value is empty.
	ScopeGlobal = "global"
	// ScopeDomain attaches an instance to every request whose host matches
	// Scope.Value ("api.example.com" or "*.example.com"), whichever route
	// serves it.
	ScopeDomain = "domain"
	// ScopeRoute attaches an instance to the route named Scope.Value.
	ScopeRoute = "route"
	// ScopeMCPServer attaches an instance to the MCP server named
	// Scope.Value.
	ScopeMCPServer = "mcp-server"
	// ScopeAIRoute puts an instance (ai-token-ratelimit, ai-cache, …) into
	// the chain of the AI route named Scope.Value, ordered by phase and
	// priority with the chain's compiled key-auth and ai-proxy. AI routes
	// that share domains and path prefix share one chain, so such an
	// instance sees the requests of all of them.
	ScopeAIRoute = "ai-route"
)

// Defaults applied by ApplyDefaults and by the gateway when a field is
// left empty.
const (
	// DefaultTimeout is a service's Timeout when none is given.
	DefaultTimeout = 30 * time.Second
	// DefaultWeight is an endpoint's Weight when none (or 0) is given.
	DefaultWeight = 1
	// DefaultHealthInterval is HealthCheck.Interval when none is given.
	DefaultHealthInterval = 10 * time.Second
	// DefaultHealthTimeout is HealthCheck.Timeout when none is given.
	DefaultHealthTimeout = 2 * time.Second
	// DefaultHealthyThreshold is HealthCheck.HealthyThreshold when none is given.
	DefaultHealthyThreshold = 2
	// DefaultUnhealthyThreshold is HealthCheck.UnhealthyThreshold when none is given.
	DefaultUnhealthyThreshold = 3
)

// Snapshot is one complete dynamic configuration: everything the gateway
// needs to build a route table. It is the unit that is validated and
// applied as a whole, and the body of the declarative YAML file.
type Snapshot struct {
	Services        []Service        `json:"services" yaml:"services"`
	Routes          []Route          `json:"routes" yaml:"routes"`
	PluginInstances []PluginInstance `json:"pluginInstances" yaml:"pluginInstances"`
	// MCPServers are served through gateway mounts by the mcp-server plugin.
	MCPServers []MCPServer `json:"mcpServers,omitempty" yaml:"mcpServers,omitempty"`
	// LLMProviders are the AI gateway's providers, used by AIRoutes.
	LLMProviders []LLMProvider `json:"llmProviders,omitempty" yaml:"llmProviders,omitempty"`
	// AIRoutes are served through gateway mounts by the ai-proxy plugin.
	AIRoutes []AIRoute `json:"aiRoutes,omitempty" yaml:"aiRoutes,omitempty"`
	// Others holds, by kind name, the objects of kinds without a field of
	// their own (see NewKind). The declarative file does not carry them.
	Others map[string][]Object `json:"-" yaml:"-"`
}

// Service is an upstream: a set of endpoints with a load-balancing policy,
// a timeout, retries and an optional active health check.
type Service struct {
	// Name identifies the service; routes refer to it. A DNS label:
	// lowercase letters, digits and '-', at most 63 characters.
	Name string `json:"name" yaml:"name"`
	// Endpoints are the upstream base URLs (http or https, with an
	// optional path prefix) and their weights.
	Endpoints []Endpoint `json:"endpoints" yaml:"endpoints"`
	// LoadBalancer is LBRoundRobin (default), LBLeastRequest or
	// LBConsistentHash.
	LoadBalancer string `json:"loadBalancer,omitempty" yaml:"loadBalancer,omitempty"`
	// HashOn is the hash key of LBConsistentHash; required with it and
	// refused with the other policies.
	HashOn *HashOn `json:"hashOn,omitempty" yaml:"hashOn,omitempty"`
	// Timeout is how long to wait for an endpoint's response headers, per
	// attempt, as a Go duration ("30s", "1m30s"); DefaultTimeout when
	// empty. A response that has started streaming (SSE, WebSocket) is
	// not cut by it.
	Timeout string `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// Retries is how many more endpoints to try when an attempt fails
	// (connection error, timeout, or 502/503/504), for idempotent requests
	// without a body only. 0 to 10.
	Retries int `json:"retries,omitempty" yaml:"retries,omitempty"`
	// HealthCheck enables active health checks; nil leaves only passive
	// ejection of failing endpoints.
	HealthCheck *HealthCheck `json:"healthCheck,omitempty" yaml:"healthCheck,omitempty"`
	// Version is the optimistic-concurrency version kept by the store.
	Version int64 `json:"version" yaml:"version,omitempty"`
}

// Endpoint is one upstream base URL of a Service.
type Endpoint struct {
	// URL is "http://host:port" or "https://host:port", optionally with a
	// path that is prepended to every request path.
	URL string `json:"url" yaml:"url"`
	// Weight is the endpoint's share of requests relative to the others,
	// 1 to 10000; 0 or empty means DefaultWeight.
	Weight int `json:"weight,omitempty" yaml:"weight,omitempty"`
}

// HashOn names the key of the consistent-hash policy.
type HashOn struct {
	// Type is HashOnHeader, HashOnCookie or HashOnClientAddress.
	Type string `json:"type" yaml:"type"`
	// Name is the header or cookie name; empty for HashOnClientAddress.
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
}

// HealthCheck configures active health checks: the gateway sends
// "GET <endpoint><Path>" every Interval; a 2xx or 3xx answer within
// Timeout is a success.
type HealthCheck struct {
	// Path is the request path, starting with '/'.
	Path string `json:"path" yaml:"path"`
	// Interval between checks, a Go duration of at least 100ms;
	// DefaultHealthInterval when empty.
	Interval string `json:"interval,omitempty" yaml:"interval,omitempty"`
	// Timeout of one check, shorter than Interval; DefaultHealthTimeout
	// when empty.
	Timeout string `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// HealthyThreshold is how many consecutive successes bring an
	// unhealthy endpoint back; DefaultHealthyThreshold when 0.
	HealthyThreshold int `json:"healthyThreshold,omitempty" yaml:"healthyThreshold,omitempty"`
	// UnhealthyThreshold is how many consecutive failures take an endpoint
	// out; DefaultUnhealthyThreshold when 0.
	UnhealthyThreshold int `json:"unhealthyThreshold,omitempty" yaml:"unhealthyThreshold,omitempty"`
}

// Route sends matching requests to a Service.
//
// A request is matched by domain first (exact domains, then wildcard
// domains, longest first, then routes without domains), then by path
// (exact, then the longest prefix, then regular expressions), then by
// methods and headers; Priority breaks the remaining ties, higher first.
type Route struct {
	// Name identifies the route. A DNS label.
	Name string `json:"name" yaml:"name"`
	// Domains are the hosts the route serves: lowercase names such as
	// "api.example.com", or wildcards "*.example.com" (any name ending in
	// ".example.com"). No domains means any host.
	Domains []string `json:"domains,omitempty" yaml:"domains,omitempty"`
	// Path is the path match.
	Path PathMatch `json:"path" yaml:"path"`
	// Methods restricts the route to these HTTP methods (upper case);
	// empty means any method.
	Methods []string `json:"methods,omitempty" yaml:"methods,omitempty"`
	// Headers must all be present with exactly these values.
	Headers []HeaderMatch `json:"headers,omitempty" yaml:"headers,omitempty"`
	// Service is the name of the service that serves the route.
	Service string `json:"service" yaml:"service"`
	// Priority breaks ties between routes that match equally well;
	// higher first.
	Priority int `json:"priority,omitempty" yaml:"priority,omitempty"`
	// Enabled is true when nil. A disabled route is validated but serves
	// nothing.
	Enabled *bool `json:"enabled,omitempty" yaml:"enabled,omitempty"`
	// Version is the optimistic-concurrency version kept by the store.
	Version int64 `json:"version" yaml:"version,omitempty"`
}

// PathMatch is a route's path match.
type PathMatch struct {
	// Type is PathExact, PathPrefix or PathRegex.
	Type string `json:"type" yaml:"type"`
	// Value is the path ("/echo") or, for PathRegex, an RE2 expression
	// matched against the whole path ("/users/[0-9]+").
	Value string `json:"value" yaml:"value"`
}

// HeaderMatch requires a request header to have a value.
type HeaderMatch struct {
	// Name is the header name, case-insensitive.
	Name string `json:"name" yaml:"name"`
	// Value must equal one of the header's values exactly.
	Value string `json:"value" yaml:"value"`
}

// PluginInstance is one configured use of a plugin, attached at a scope.
type PluginInstance struct {
	// Name identifies the instance. A DNS label.
	Name string `json:"name" yaml:"name"`
	// Plugin is the name of the plugin ("key-auth").
	Plugin string `json:"plugin" yaml:"plugin"`
	// Scope says which requests the instance sees.
	Scope Scope `json:"scope" yaml:"scope"`
	// Config is the instance's configuration, a JSON object validated by
	// the plugin when the configuration is compiled. In YAML it is written
	// as a nested mapping.
	Config json.RawMessage `json:"config,omitempty" yaml:"-"`
	// Enabled is true when nil. A disabled instance is validated by spec
	// rules only and is not created.
	Enabled *bool `json:"enabled,omitempty" yaml:"enabled,omitempty"`
	// Version is the optimistic-concurrency version kept by the store.
	Version int64 `json:"version" yaml:"version,omitempty"`
}

// Scope is where a plugin instance is attached.
type Scope struct {
	// Type is ScopeGlobal, ScopeDomain, ScopeRoute or ScopeMCPServer.
	Type string `json:"type" yaml:"type"`
	// Value is empty for ScopeGlobal, a domain (exact or wildcard) for
	// ScopeDomain, a route name for ScopeRoute and an MCP server name for
	// ScopeMCPServer.
	Value string `json:"value,omitempty" yaml:"value,omitempty"`
}

// IsEnabled reports whether the route serves requests (Enabled nil or true).
func (r Route) IsEnabled() bool { return r.Enabled == nil || *r.Enabled }

// IsEnabled reports whether the instance is created (Enabled nil or true).
func (p PluginInstance) IsEnabled() bool { return p.Enabled == nil || *p.Enabled }

// TimeoutDuration returns Timeout parsed, or DefaultTimeout when it is
// empty or invalid (Validate reports invalid values).
func (s Service) TimeoutDuration() time.Duration {
	return durationOr(s.Timeout, DefaultTimeout)
}

// IntervalDuration returns Interval parsed, or DefaultHealthInterval.
func (h HealthCheck) IntervalDuration() time.Duration {
	return durationOr(h.Interval, DefaultHealthInterval)
}

// TimeoutDuration returns Timeout parsed, or DefaultHealthTimeout.
func (h HealthCheck) TimeoutDuration() time.Duration {
	return durationOr(h.Timeout, DefaultHealthTimeout)
}

// Thresholds returns HealthyThreshold and UnhealthyThreshold with their
// defaults applied.
func (h HealthCheck) Thresholds() (healthy, unhealthy int) {
	healthy, unhealthy = h.HealthyThreshold, h.UnhealthyThreshold
	if healthy <= 0 {
		healthy = DefaultHealthyThreshold
	}
	if unhealthy <= 0 {
		unhealthy = DefaultUnhealthyThreshold
	}
	return healthy, unhealthy
}

// EffectiveWeight returns Weight, or DefaultWeight when it is 0.
func (e Endpoint) EffectiveWeight() int {
	if e.Weight <= 0 {
		return DefaultWeight
	}
	return e.Weight
}

// ApplyDefaults fills the empty optional fields of s with their defaults:
// LoadBalancer, Timeout, endpoint weights and health check settings.
func (s *Service) ApplyDefaults() {
	if s.LoadBalancer == "" {
		s.LoadBalancer = LBRoundRobin
	}
	if s.Timeout == "" {
		s.Timeout = DefaultTimeout.String()
	}
	for i := range s.Endpoints {
		if s.Endpoints[i].Weight == 0 {
			s.Endpoints[i].Weight = DefaultWeight
		}
	}
	if h := s.HealthCheck; h != nil {
		if h.Interval == "" {
			h.Interval = DefaultHealthInterval.String()
		}
		if h.Timeout == "" {
			h.Timeout = DefaultHealthTimeout.String()
		}
		h.HealthyThreshold, h.UnhealthyThreshold = h.Thresholds()
	}
}

// ApplyDefaults makes Enabled explicit (true when nil).
func (r *Route) ApplyDefaults() {
	if r.Enabled == nil {
		t := true
		r.Enabled = &t
	}
}

// ApplyDefaults makes Enabled explicit (true when nil).
func (p *PluginInstance) ApplyDefaults() {
	if p.Enabled == nil {
		t := true
		p.Enabled = &t
	}
}

func durationOr(s string, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return def
	}
	return d
}

// ObjectName implements Object.
func (s Service) ObjectName() string { return s.Name }

// ObjectVersion implements Object.
func (s Service) ObjectVersion() int64 { return s.Version }

// WithIdentity implements Object.
func (s Service) WithIdentity(name string, version int64) Object {
	s.Name, s.Version = name, version
	return s
}

// ObjectName implements Object.
func (r Route) ObjectName() string { return r.Name }

// ObjectVersion implements Object.
func (r Route) ObjectVersion() int64 { return r.Version }

// WithIdentity implements Object.
func (r Route) WithIdentity(name string, version int64) Object {
	r.Name, r.Version = name, version
	return r
}

// ObjectName implements Object.
func (p PluginInstance) ObjectName() string { return p.Name }

// ObjectVersion implements Object.
func (p PluginInstance) ObjectVersion() int64 { return p.Version }

// WithIdentity implements Object.
func (p PluginInstance) WithIdentity(name string, version int64) Object {
	p.Name, p.Version = name, version
	return p
}

// Interface guards.
var (
	_ Object = Service{}
	_ Object = Route{}
	_ Object = PluginInstance{}
	_ Object = MCPServer{}
	_ Object = LLMProvider{}
	_ Object = AIRoute{}
)
