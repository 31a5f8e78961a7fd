package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// Error codes of FieldError. Clients branch on them; the admin API returns
// them as error.code.
const (
	CodeServiceInvalid        = "service_invalid"
	CodeRouteInvalid          = "route_invalid"
	CodePluginInstanceInvalid = "plugin_instance_invalid"
)

// Limits enforced by validation.
const (
	MaxNameLength = 63
	MaxRetries    = 10
	MaxWeight     = 10000
	MaxEndpoints  = 256
	// MinHealthInterval is the shortest HealthCheck.Interval accepted.
	MinHealthInterval = 100 * time.Millisecond
)

// FieldError is one invalid value in a configuration object. Validation
// returns every FieldError at once, joined with errors.Join; FieldErrors
// takes them apart again.
type FieldError struct {
	// Object is the kind of object (Kind.Name): KindService, KindRoute, …
	Object string
	// Name is the object's name, as given (possibly empty or invalid).
	Name string
	// Field is the JSON path of the value inside the object, such as
	// "path.value" or "endpoints[0].url".
	Field string
	// Code is the stable error code, such as CodeRouteInvalid.
	Code string
	// Message says what is wrong and what to do.
	Message string
}

// Error implements error.
func (e *FieldError) Error() string {
	return fmt.Sprintf("%s %q: %s: %s", strings.ReplaceAll(e.Object, "-", " "), e.Name, e.Field, e.Message)
}

// FieldErrors returns every *FieldError inside err, following
// errors.Join trees and %w wrapping, in order.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	walkErrors(err, func(e error) {
		var fe *FieldError
		if errors.As(e, &fe) {
			out = append(out, fe)
		}
	})
	return out
}

// PluginErrors turns a plugin's error into field errors of the object
// that configured it: each leaf of err (see walkErrors) becomes
// mk(field, message), where field is the path a *pluginapi.ConfigError or
// an error with FieldPath and FieldMessage names, and "" when the leaf
// names none (mk then picks the object's field, such as "config").
func PluginErrors(err error, mk func(field, msg string) error) []error {
	var out []error
	walkErrors(err, func(e error) {
		field, msg := "", e.Error()
		var ce *pluginapi.ConfigError
		var fp interface {
			FieldPath() string
			FieldMessage() string
		}
		if errors.As(e, &ce) {
			field, msg = ce.Field, ce.Message
		} else if errors.As(e, &fp) && fp.FieldPath() != "" {
			field, msg = fp.FieldPath(), fp.FieldMessage()
		}
		out = append(out, mk(field, msg))
	})
	return out
}

// walkErrors calls leaf with every error of err's tree that is not an
// errors.Join, in order: joins are walked, and so is a join under %w
// wraps (their context is dropped, each joined error names its own); any
// other error is a leaf.
func walkErrors(err error, leaf func(error)) {
	if err == nil {
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok { //nolint:errorlint // walking the tree by hand
		for _, e := range j.Unwrap() {
			walkErrors(e, leaf)
		}
		return
	}
	for inner := errors.Unwrap(err); inner != nil; inner = errors.Unwrap(inner) {
		if _, ok := inner.(interface{ Unwrap() []error }); ok { //nolint:errorlint // as above
			walkErrors(inner, leaf)
			return
		}
	}
	leaf(err)
}

// problems collects the FieldErrors of one object.
type problems struct {
	object, name, code string
	errs               []error
}

func (p *problems) add(field, format string, args ...any) {
	p.errs = append(p.errs, &FieldError{Object: p.object, Name: p.name, Field: field, Code: p.code, Message: fmt.Sprintf(format, args...)})
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

func checkName(p *problems, field, name, what string) {
	switch {
	case name == "":
		p.add(field, "%s is required", what)
	case len(name) > MaxNameLength:
		p.add(field, "%s %q is %d characters long; use at most %d", what, name, len(name), MaxNameLength)
	case !nameRE.MatchString(name):
		p.add(field, "%s %q is not valid; use lowercase letters, digits and '-', starting and ending with a letter or digit (like \"echo-v2\")", what, name)
	}
}

// Validate checks the service's own fields (not references) and returns
// every problem as errors.Join of *FieldError, or nil.
func (s Service) Validate() error {
	p := &problems{object: KindService, name: s.Name, code: CodeServiceInvalid}
	s.validate(p)
	return errors.Join(p.errs...)
}

func (s Service) validate(p *problems) {
	checkName(p, "name", s.Name, "name")
	if len(s.Endpoints) == 0 {
		p.add("endpoints", "at least one endpoint is required, like {\"url\": \"http://10.0.0.5:8080\"}")
	}
	if len(s.Endpoints) > MaxEndpoints {
		p.add("endpoints", "%d endpoints given; use at most %d", len(s.Endpoints), MaxEndpoints)
	}
	seen := make(map[string]int, len(s.Endpoints))
	for i, e := range s.Endpoints {
		field := fmt.Sprintf("endpoints[%d]", i)
		if msg := checkEndpointURL(e.URL); msg != "" {
			p.add(field+".url", "%s", msg)
		} else if j, dup := seen[e.URL]; dup {
			p.add(field+".url", "%q is already endpoints[%d]; list each endpoint once and use weight to give it more traffic", e.URL, j)
		} else {
			seen[e.URL] = i
		}
		if e.Weight < 0 || e.Weight > MaxWeight {
			p.add(field+".weight", "weight %d is out of range; use 1 to %d (0 or empty means 1)", e.Weight, MaxWeight)
		}
	}
	switch s.LoadBalancer {
	case "", LBRoundRobin, LBLeastRequest:
		if s.HashOn != nil {
			p.add("hashOn", "hashOn is only used with loadBalancer %q; remove it or change the load balancer", LBConsistentHash)
		}
	case LBConsistentHash:
		switch {
		case s.HashOn == nil:
			p.add("hashOn", "loadBalancer %q needs hashOn, like {\"type\": \"header\", \"name\": \"x-user-id\"}", LBConsistentHash)
		case s.HashOn.Type == HashOnHeader || s.HashOn.Type == HashOnCookie:
			if s.HashOn.Name == "" {
				p.add("hashOn.name", "hashOn type %q needs the %s name", s.HashOn.Type, s.HashOn.Type)
			} else if !isToken(s.HashOn.Name) {
				p.add("hashOn.name", "%q is not a valid %s name; use letters, digits and '-'", s.HashOn.Name, s.HashOn.Type)
			}
		case s.HashOn.Type == HashOnClientAddress:
			if s.HashOn.Name != "" {
				p.add("hashOn.name", "hashOn type %q takes no name; remove it", HashOnClientAddress)
			}
		default:
			p.add("hashOn.type", "unknown hashOn type %q; use %q, %q or %q", s.HashOn.Type, HashOnHeader, HashOnCookie, HashOnClientAddress)
		}
	default:
		p.add("loadBalancer", "unknown load balancer %q; use %q, %q or %q", s.LoadBalancer, LBRoundRobin, LBLeastRequest, LBConsistentHash)
	}
	if s.Timeout != "" {
		checkDuration(p, "timeout", s.Timeout, time.Millisecond, time.Hour)
	}
	if s.Retries < 0 || s.Retries > MaxRetries {
		p.add("retries", "retries %d is out of range; use 0 to %d", s.Retries, MaxRetries)
	}
	if h := s.HealthCheck; h != nil {
		if !strings.HasPrefix(h.Path, "/") || strings.ContainsAny(h.Path, " #") {
			p.add("healthCheck.path", "health check path %q must start with '/' (like \"/healthz\") and contain no spaces or '#'", h.Path)
		}
		okI := h.Interval == "" || checkDuration(p, "healthCheck.interval", h.Interval, MinHealthInterval, time.Hour)
		okT := h.Timeout == "" || checkDuration(p, "healthCheck.timeout", h.Timeout, time.Millisecond, time.Hour)
		if okI && okT && h.TimeoutDuration() >= h.IntervalDuration() {
			p.add("healthCheck.timeout", "health check timeout %s must be shorter than the interval %s", h.TimeoutDuration(), h.IntervalDuration())
		}
		if h.HealthyThreshold < 0 || h.HealthyThreshold > 100 {
			p.add("healthCheck.healthyThreshold", "healthyThreshold %d is out of range; use 1 to 100", h.HealthyThreshold)
		}
		if h.UnhealthyThreshold < 0 || h.UnhealthyThreshold > 100 {
			p.add("healthCheck.unhealthyThreshold", "unhealthyThreshold %d is out of range; use 1 to 100", h.UnhealthyThreshold)
		}
	}
}

func checkEndpointURL(raw string) string {
	if raw == "" {
		return "url is required, like \"http://10.0.0.5:8080\""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("%q is not a URL: %v", raw, errors.Unwrap(err))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q must start with http:// or https://", raw)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Sprintf("%q has no host; write it like \"http://10.0.0.5:8080\"", raw)
	case u.User != nil:
		return fmt.Sprintf("%q contains credentials; remove them from the URL and send them with a plugin", redactUser(u))
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return fmt.Sprintf("%q has a query or fragment; an endpoint is a base URL with an optional path only", raw)
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("%q has an invalid port %q; use 1 to 65535", raw, port)
		}
	}
	return ""
}

func redactUser(u *url.URL) string {
	c := *u
	c.User = url.User("xxxxx")
	return c.String()
}

// checkDuration reports whether s is a valid duration within [lo, hi].
func checkDuration(p *problems, field, s string, lo, hi time.Duration) bool {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		p.add(field, "%q is not a duration; write it like \"30s\", \"500ms\" or \"1m30s\"", s)
	case d < lo || d > hi:
		p.add(field, "%s is out of range; use %s to %s", s, lo, hi)
	default:
		return true
	}
	return false
}

// isToken reports whether s is an HTTP token (header or cookie name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// Validate checks the route's own fields (not its service reference) and
// returns every problem as errors.Join of *FieldError, or nil.
func (r Route) Validate() error {
	p := &problems{object: KindRoute, name: r.Name, code: CodeRouteInvalid}
	r.validate(p)
	return errors.Join(p.errs...)
}

func (r Route) validate(p *problems) {
	checkName(p, "name", r.Name, "name")
	seen := make(map[string]bool, len(r.Domains))
	for i, d := range r.Domains {
		field := fmt.Sprintf("domains[%d]", i)
		if msg := CheckDomain(d); msg != "" {
			p.add(field, "%s", msg)
		} else if seen[d] {
			p.add(field, "domain %q is listed twice; list it once", d)
		}
		seen[d] = true
	}
	switch r.Path.Type {
	case PathExact, PathPrefix:
		if !strings.HasPrefix(r.Path.Value, "/") {
			p.add("path.value", "path %q must start with '/'", r.Path.Value)
		} else if strings.ContainsAny(r.Path.Value, "?# \t\r\n") {
			p.add("path.value", "path %q must not contain '?', '#' or spaces; match the path only", r.Path.Value)
		} else if CleanPath(r.Path.Value) != r.Path.Value {
			p.add("path.value", "path %q is not in canonical form; write %q (requests are matched after removing '.', '..' and repeated '/')", r.Path.Value, CleanPath(r.Path.Value))
		}
	case PathRegex:
		if r.Path.Value == "" {
			p.add("path.value", "a regex path needs an expression, like \"/users/[0-9]+\"")
		} else if _, err := regexp.Compile(r.Path.Value); err != nil {
			p.add("path.value", "regex %q does not compile: %s; use RE2 syntax (https://github.com/google/re2/wiki/Syntax)", r.Path.Value, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
	case "":
		p.add("path.type", "path type is required; use %q, %q or %q", PathExact, PathPrefix, PathRegex)
	default:
		p.add("path.type", "unknown path type %q; use %q, %q or %q", r.Path.Type, PathExact, PathPrefix, PathRegex)
	}
	seenM := make(map[string]bool, len(r.Methods))
	for i, m := range r.Methods {
		field := fmt.Sprintf("methods[%d]", i)
		switch {
		case !isToken(m):
			p.add(field, "%q is not an HTTP method", m)
		case strings.ToUpper(m) != m:
			p.add(field, "methods are case-sensitive; write %q", strings.ToUpper(m))
		case seenM[m]:
			p.add(field, "method %q is listed twice; list it once", m)
		}
		seenM[m] = true
	}
	seenH := make(map[string]bool, len(r.Headers))
	for i, h := range r.Headers {
		field := fmt.Sprintf("headers[%d]", i)
		key := strings.ToLower(h.Name)
		switch {
		case !isToken(h.Name):
			p.add(field+".name", "%q is not a valid header name; use letters, digits and '-'", h.Name)
		case seenH[key]:
			p.add(field+".name", "header %q is matched twice; match it once", h.Name)
		case key == "host":
			p.add(field+".name", "match the host with domains, not a header match")
		}
		seenH[key] = true
		if strings.ContainsAny(h.Value, "\r\n\x00") {
			p.add(field+".value", "header value must not contain line breaks or NUL")
		}
	}
	if r.Service == "" {
		p.add("service", "service is required: the name of the service that serves this route")
	}
}

// CheckDomain returns what is wrong with a route or scope domain, or ""
// when it is valid: a lowercase host name ("api.example.com") or a
// wildcard of the form "*.example.com".
func CheckDomain(d string) string {
	switch {
	case d == "":
		return "domain must not be empty"
	case d == "*":
		return "\"*\" is not needed: leave domains empty to match any host"
	case strings.Contains(d, ":"):
		if net.ParseIP(d) != nil {
			return fmt.Sprintf("%q is an IPv6 address; IPv6 literals are not supported as domains, leave domains empty to match any host", d)
		}
		return fmt.Sprintf("%q must not contain a port: domains match the Host header without its port", d)
	case strings.ToLower(d) != d:
		return fmt.Sprintf("domains are lowercase; write %q", strings.ToLower(d))
	}
	host := d
	if strings.HasPrefix(d, "*.") {
		host = d[2:]
	}
	if strings.Contains(host, "*") {
		return fmt.Sprintf("%q is not a valid wildcard; only a leading \"*.\" is allowed, like \"*.example.com\"", d)
	}
	if len(host) > 253 {
		return fmt.Sprintf("domain %q is longer than 253 characters", d)
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || !nameRE.MatchString(label) && !isUnderscoreLabel(label) {
			return fmt.Sprintf("%q is not a valid domain; use a host name like \"api.example.com\" or a wildcard like \"*.example.com\"", d)
		}
	}
	return ""
}

func isUnderscoreLabel(l string) bool {
	return strings.Trim(strings.ReplaceAll(l, "_", "a"), "abcdefghijklmnopqrstuvwxyz0123456789-") == "" && l[0] != '-' && l[len(l)-1] != '-'
}

// CleanPath returns the canonical form of a request path, the form that
// routes are matched against: '.' and '..' segments resolved and repeated
// '/' merged, keeping a trailing '/'. It returns p itself when p is
// already canonical.
func CleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] == '/' && !strings.Contains(p, "//") && !strings.Contains(p, "/.") {
		return p
	}
	return cleanPathSlow(p)
}

func cleanPathSlow(p string) string {
	trailing := strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..")
	var out []string
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	s := "/" + strings.Join(out, "/")
	if trailing && s != "/" {
		s += "/"
	}
	return s
}

// Validate checks the instance's own fields (not its scope reference) and
// returns every problem as errors.Join of *FieldError, or nil. The config
// itself is validated by the plugin when the configuration is compiled.
func (pi PluginInstance) Validate() error {
	p := &problems{object: KindPluginInstance, name: pi.Name, code: CodePluginInstanceInvalid}
	pi.validate(p)
	return errors.Join(p.errs...)
}

func (pi PluginInstance) validate(p *problems) {
	checkName(p, "name", pi.Name, "name")
	checkName(p, "plugin", pi.Plugin, "plugin name")
	switch pi.Scope.Type {
	case ScopeGlobal:
		if pi.Scope.Value != "" {
			p.add("scope.value", "a global instance takes no scope value; remove %q", pi.Scope.Value)
		}
	case ScopeDomain:
		if msg := CheckDomain(pi.Scope.Value); msg != "" {
			p.add("scope.value", "%s", msg)
		}
	case ScopeRoute:
		if pi.Scope.Value == "" {
			p.add("scope.value", "a route-scoped instance needs the route name in scope.value")
		}
	case ScopeMCPServer:
		if pi.Scope.Value == "" {
			p.add("scope.value", "an mcp-server-scoped instance needs the MCP server name in scope.value")
		}
	case ScopeAIRoute:
		if pi.Scope.Value == "" {
			p.add("scope.value", "an ai-route-scoped instance needs the AI route name in scope.value")
		}
	case "":
		p.add("scope.type", "scope type is required; use %q, %q, %q, %q or %q", ScopeGlobal, ScopeDomain, ScopeRoute, ScopeMCPServer, ScopeAIRoute)
	default:
		p.add("scope.type", "unknown scope type %q; use %q, %q, %q, %q or %q", pi.Scope.Type, ScopeGlobal, ScopeDomain, ScopeRoute, ScopeMCPServer, ScopeAIRoute)
	}
	if c := bytes.TrimSpace(pi.Config); len(c) > 0 && !bytes.Equal(c, []byte("null")) {
		if c[0] != '{' || !json.Valid(c) {
			p.add("config", "config must be a JSON object, like {\"keys\": [\"...\"]}")
		}
	}
}

// Validate checks the whole snapshot: every object's fields, duplicate
// names, references (a route's service, a route-scoped instance's route)
// and routes that match exactly the same requests. It returns every
// problem at once as errors.Join of *FieldError, or nil.
func (s Snapshot) Validate() error {
	var errs []error
	services := make(map[string]bool, len(s.Services))
	for _, svc := range s.Services {
		p := &problems{object: KindService, name: svc.Name, code: CodeServiceInvalid}
		svc.validate(p)
		if svc.Name != "" && services[svc.Name] {
			p.add("name", "another service is named %q; names must be unique", svc.Name)
		}
		services[svc.Name] = true
		errs = append(errs, p.errs...)
	}
	routes := make(map[string]bool, len(s.Routes))
	conflicts := make(map[string]string, len(s.Routes))
	for _, r := range s.Routes {
		p := &problems{object: KindRoute, name: r.Name, code: CodeRouteInvalid}
		r.validate(p)
		if r.Name != "" && routes[r.Name] {
			p.add("name", "another route is named %q; names must be unique", r.Name)
		}
		routes[r.Name] = true
		if r.Service != "" && !services[r.Service] {
			p.add("service", "service %q does not exist; create it first or fix the name", r.Service)
		}
		if len(p.errs) == 0 && r.IsEnabled() {
			for _, key := range matchKeys(r) {
				if other, dup := conflicts[key]; dup {
					p.add("path", "route %q matches exactly the same requests; change the priority, path, methods or headers of one of them", other)
					break
				}
				conflicts[key] = r.Name
			}
		}
		errs = append(errs, p.errs...)
	}
	mcpServers, mcpErrs := validateMCPServers(s.MCPServers)
	errs = append(errs, mcpErrs...)
	errs = append(errs, s.validateAI()...)
	instances := make(map[string]bool, len(s.PluginInstances))
	for _, pi := range s.PluginInstances {
		p := &problems{object: KindPluginInstance, name: pi.Name, code: CodePluginInstanceInvalid}
		pi.validate(p)
		if pi.Name != "" && instances[pi.Name] {
			p.add("name", "another plugin instance is named %q; names must be unique", pi.Name)
		}
		instances[pi.Name] = true
		if pi.Scope.Type == ScopeRoute && pi.Scope.Value != "" && !routes[pi.Scope.Value] {
			p.add("scope.value", "route %q does not exist; create it first or fix the name", pi.Scope.Value)
		}
		if pi.Scope.Type == ScopeMCPServer && pi.Scope.Value != "" && !mcpServers[pi.Scope.Value] {
			p.add("scope.value", "MCP server %q does not exist; create it first or fix the name", pi.Scope.Value)
		}
		if pi.Scope.Type == ScopeAIRoute && pi.Scope.Value != "" && !slices.ContainsFunc(s.AIRoutes, func(r AIRoute) bool { return r.Name == pi.Scope.Value }) {
			p.add("scope.value", "AI route %q does not exist; create it first (POST /api/v1/ai-routes) or fix the name", pi.Scope.Value)
		}
		errs = append(errs, p.errs...)
	}
	errs = append(errs, s.validateMCPPlacement()...)
	for _, kind := range slices.Sorted(maps.Keys(s.Others)) {
		objs := s.Others[kind]
		names := make(map[string]bool, len(objs))
		for _, o := range objs {
			errs = append(errs, o.Validate())
			if n := o.ObjectName(); names[n] {
				errs = append(errs, &FieldError{Object: kind, Name: n, Field: "name", Code: strings.ReplaceAll(kind, "-", "_") + "_invalid",
					Message: fmt.Sprintf("another %s is named %q; names must be unique", strings.ReplaceAll(kind, "-", " "), n)})
			}
			names[o.ObjectName()] = true
		}
	}
	return errors.Join(errs...)
}

// matchKeys returns one key per domain of r that is equal for two routes
// exactly when they match the same requests on that domain.
func matchKeys(r Route) []string {
	methods := slices.Clone(r.Methods)
	slices.Sort(methods)
	headers := make([]string, len(r.Headers))
	for i, h := range r.Headers {
		headers[i] = strings.ToLower(h.Name) + "\x00" + h.Value
	}
	slices.Sort(headers)
	value := r.Path.Value
	if r.Path.Type == PathPrefix {
		value = NormalizePrefix(value)
	}
	rest := fmt.Sprintf("\x01%s\x01%s\x01%s\x01%s\x01%d", r.Path.Type, value, strings.Join(methods, ","), strings.Join(headers, "\x02"), r.Priority)
	if len(r.Domains) == 0 {
		return []string{rest}
	}
	keys := make([]string, len(r.Domains))
	for i, d := range r.Domains {
		keys[i] = d + rest
	}
	return keys
}

// NormalizePrefix returns a prefix path without its trailing '/' ("/" stays
// "/"): "/echo/" and "/echo" match the same requests.
func NormalizePrefix(p string) string {
	if len(p) > 1 && strings.HasSuffix(p, "/") {
		return strings.TrimRight(p, "/")
	}
	return p
}
