package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// CodeMCPServerInvalid is the error code of MCP server problems.
const CodeMCPServerInvalid = "mcp_server_invalid"

// MCPServerPathPrefix is where MCP servers are served unless their path
// says otherwise: /mcp-servers/<name>.
const MCPServerPathPrefix = "/mcp-servers/"

// MCPServer is an MCP server object: a Higress REST-to-MCP definition
// (server, tools, allowTools, …) or an mcp-proxy definition, plus the
// Gatehouse fields name, path, ssePath, domains and enabled. The host reads
// only the fields it routes by; the mcp-server plugin validates the whole
// Definition when the configuration is compiled.
type MCPServer struct {
	Name    string
	Path    string
	SSEPath string
	Domains []string
	Enabled bool
	// Service names the Gatehouse service that the server's relative
	// request URLs ("/users/{id}") go to, as Higress sends them to the
	// route's upstream; "" for none.
	Service string
	Version int64
	// Definition is the whole object as JSON, with name, path and ssePath
	// filled in, so that host and plugin agree on them.
	Definition json.RawMessage
}

var mcpNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$`)

// ParseMCPServer reads an MCP server object from JSON or YAML (the Higress
// file as it is) and fills in the defaults: name from server.name, path
// /mcp-servers/<name>, ssePath <path>/sse, enabled true.
func ParseMCPServer(data []byte) (MCPServer, error) {
	doc, err := decodeDocument(data)
	if err != nil {
		return MCPServer{}, err
	}
	return mcpServerFromMap(doc)
}

func decodeDocument(data []byte) (map[string]any, error) {
	trimmed := bytes.TrimSpace(data)
	var doc map[string]any
	if len(trimmed) > 0 && trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return nil, &FieldError{Object: KindMCPServer, Field: "body", Code: CodeMCPServerInvalid,
				Message: "not valid JSON: " + err.Error()}
		}
		return doc, nil
	}
	if err := yaml.Unmarshal(trimmed, &doc); err != nil {
		return nil, &FieldError{Object: KindMCPServer, Field: "body", Code: CodeMCPServerInvalid,
			Message: "neither JSON nor valid YAML: " + err.Error()}
	}
	if doc == nil {
		return nil, &FieldError{Object: KindMCPServer, Field: "body", Code: CodeMCPServerInvalid,
			Message: "empty definition; send a Higress REST-to-MCP definition (server, tools) as JSON or YAML"}
	}
	return doc, nil
}

func mcpServerFromMap(doc map[string]any) (MCPServer, error) {
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	name := str(doc, "name")
	if server, ok := doc["server"].(map[string]any); ok && name == "" {
		name = str(server, "name")
	}
	m := MCPServer{Name: name, Path: str(doc, "path"), SSEPath: str(doc, "ssePath"), Service: str(doc, "service"), Enabled: true}
	if m.Path == "" && name != "" {
		m.Path = MCPServerPathPrefix + name
	}
	if m.SSEPath == "" && m.Path != "" {
		m.SSEPath = strings.TrimSuffix(m.Path, "/") + "/sse"
	}
	if v, ok := doc["enabled"].(bool); ok {
		m.Enabled = v
	}
	if ds, ok := doc["domains"].([]any); ok {
		for _, d := range ds {
			s, _ := d.(string)
			m.Domains = append(m.Domains, s)
		}
	}
	switch v := doc["version"].(type) {
	case json.Number:
		n, _ := v.Int64()
		m.Version = n
	case int:
		m.Version = int64(v)
	}
	delete(doc, "version")
	// The host fills serviceURLs in from the service (PluginConfig).
	if m.Service != "" {
		delete(doc, "serviceURLs")
	}
	// Answers carry the running server's warnings; they are not part of
	// the definition, so a client may send an answer back as it is.
	delete(doc, "warnings")
	doc["name"], doc["path"], doc["ssePath"] = m.Name, m.Path, m.SSEPath
	def, err := json.Marshal(doc)
	if err != nil {
		return MCPServer{}, &FieldError{Object: KindMCPServer, Name: name, Field: "body", Code: CodeMCPServerInvalid,
			Message: "cannot be represented as JSON: " + err.Error()}
	}
	m.Definition = def
	return m, nil
}

// MarshalJSON writes the definition with its version.
func (m MCPServer) MarshalJSON() ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(m.Definition, &doc); err != nil || doc == nil {
		doc = map[string]any{"name": m.Name}
	}
	if m.Version != 0 {
		doc["version"] = m.Version
	}
	return json.Marshal(doc)
}

// UnmarshalJSON reads a definition as ParseMCPServer does.
func (m *MCPServer) UnmarshalJSON(data []byte) error {
	v, err := ParseMCPServer(data)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// MarshalYAML writes the definition as a YAML mapping.
func (m MCPServer) MarshalYAML() (any, error) {
	return jsonToNode(m.Definition)
}

// UnmarshalYAML reads a definition from a YAML mapping.
func (m *MCPServer) UnmarshalYAML(value *yaml.Node) error {
	var doc map[string]any
	if err := value.Decode(&doc); err != nil {
		return fmt.Errorf("mcp server: %w", err)
	}
	v, err := mcpServerFromMap(doc)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

func (m MCPServer) validate(p *problems) {
	if !mcpNamePattern.MatchString(m.Name) {
		p.add("name", "%q is not a valid MCP server name; use 1 to 63 lowercase letters, digits, '.', '_' or '-' (it defaults to server.name)", m.Name)
	}
	if !strings.HasPrefix(m.Path, "/") || strings.ContainsAny(m.Path, " ?#") {
		p.add("path", "%q must be an absolute URL path such as /mcp-servers/%s", m.Path, m.Name)
	}
	if !strings.HasSuffix(m.SSEPath, "/sse") || !strings.HasPrefix(m.SSEPath, "/") {
		p.add("ssePath", "%q must be an absolute path that ends in /sse (legacy SSE clients expect it), such as %s/sse", m.SSEPath, strings.TrimSuffix(m.Path, "/"))
	}
	for i, d := range m.Domains {
		if msg := CheckDomain(d); msg != "" {
			p.add(fmt.Sprintf("domains[%d]", i), "%s", msg)
		}
	}
}

// PluginConfig is the definition as the mcp-server plugin gets it: with
// serviceURLs, the base URLs of the endpoints of the server's service, so
// that relative request URLs resolve against them.
func (m MCPServer) PluginConfig(services []Service) json.RawMessage {
	if m.Service == "" {
		return m.Definition
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(m.Definition))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return m.Definition
	}
	var urls []string
	for _, svc := range services {
		if svc.Name == m.Service {
			for _, ep := range svc.Endpoints {
				urls = append(urls, ep.URL)
			}
		}
	}
	doc["serviceURLs"] = urls
	out, err := json.Marshal(doc)
	if err != nil {
		return m.Definition
	}
	return out
}

// validateMCPPlacement checks what an MCP server shares with the other
// objects: its service exists, and its path does not take requests from
// an enabled route (a route at or under the server's path would be
// answered by MCP instead). Every problem names both objects.
func (s Snapshot) validateMCPPlacement() []error {
	services := make(map[string]bool, len(s.Services))
	for _, svc := range s.Services {
		services[svc.Name] = true
	}
	var errs []error
	for _, m := range s.MCPServers {
		p := &problems{object: KindMCPServer, name: m.Name, code: CodeMCPServerInvalid}
		if m.Service != "" && !services[m.Service] {
			p.add("service", "service %q does not exist; create it first (relative request URLs go to its endpoints) or fix the name", m.Service)
		}
		if m.Enabled && strings.HasPrefix(m.Path, "/") {
			for _, r := range s.Routes {
				if !r.IsEnabled() || !domainsMeet(m.Domains, r.Domains) {
					continue
				}
				if routeUnder(r.Path, m.Path) {
					p.add("path", "%s overlaps route %q (%s %s): the MCP server would answer that route's requests; give the MCP server another path or change the route", m.Path, r.Name, r.Path.Type, r.Path.Value)
				}
			}
		}
		errs = append(errs, p.errs...)
	}
	return errs
}

// routeUnder reports whether a route's path match takes requests at or
// under prefix, where an MCP server mounted at prefix answers instead.
func routeUnder(pm PathMatch, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	under := func(p string) bool {
		p = strings.TrimSuffix(p, "/")
		return prefix == "" || p == prefix || strings.HasPrefix(p, prefix+"/")
	}
	switch pm.Type {
	case PathExact, PathPrefix:
		return under(pm.Value)
	case PathRegex:
		re, err := regexp.Compile(pm.Value)
		return err == nil && (re.MatchString(prefix) || re.MatchString(prefix+"/"))
	}
	return false
}

// domainsMeet reports whether two domain lists share a host; an empty
// list is every host.
func domainsMeet(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return true
	}
	covers := func(pattern, host string) bool {
		if pattern == host {
			return true
		}
		if suffix, ok := strings.CutPrefix(pattern, "*"); ok {
			return strings.HasSuffix(host, suffix)
		}
		return false
	}
	for _, x := range a {
		for _, y := range b {
			if covers(x, y) || covers(y, x) {
				return true
			}
		}
	}
	return false
}

// validateMCPServers checks names, paths and uniqueness; it returns the
// set of names for references from plugin instances.
func validateMCPServers(servers []MCPServer) (map[string]bool, []error) {
	var errs []error
	names := make(map[string]bool, len(servers))
	paths := make(map[string]string, len(servers))
	for _, m := range servers {
		p := &problems{object: KindMCPServer, name: m.Name, code: CodeMCPServerInvalid}
		m.validate(p)
		if m.Name != "" && names[m.Name] {
			p.add("name", "another MCP server is named %q; names must be unique", m.Name)
		}
		names[m.Name] = true
		if other, dup := paths[m.Path]; dup && m.Enabled && len(m.Domains) == 0 {
			p.add("path", "MCP server %q is served at %s already; give this one another path", other, m.Path)
		}
		if m.Enabled && len(m.Domains) == 0 {
			paths[m.Path] = m.Name
		}
		errs = append(errs, p.errs...)
	}
	return names, errs
}

// ObjectName implements Object.
func (m MCPServer) ObjectName() string { return m.Name }

// ObjectVersion implements Object.
func (m MCPServer) ObjectVersion() int64 { return m.Version }

// WithIdentity implements Object.
func (m MCPServer) WithIdentity(name string, version int64) Object {
	m.Name, m.Version = name, version
	return m
}

// Validate checks the server's own fields (not its references) and
// returns every problem as errors.Join of *FieldError, or nil. The
// definition itself is validated by the mcp-server plugin.
func (m MCPServer) Validate() error {
	p := &problems{object: KindMCPServer, name: m.Name, code: CodeMCPServerInvalid}
	m.validate(p)
	return errors.Join(p.errs...)
}
