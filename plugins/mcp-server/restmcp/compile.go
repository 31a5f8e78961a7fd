package restmcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/textproto"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"text/template"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Sentinel errors of Render and Call; match them with errors.Is.
var (
	// ErrUnknownTool: the server has no such tool, or allowTools hides it.
	ErrUnknownTool = errors.New("unknown tool")
	// ErrInvalidArguments: the arguments do not fit the tool's input schema.
	ErrInvalidArguments = errors.New("invalid arguments")
	// ErrNoRequest: the tool answers from its response template alone, so
	// there is no upstream request to render.
	ErrNoRequest = errors.New("tool sends no upstream request")
	// ErrNotREST: the server is an mcp-proxy; its tools live upstream.
	ErrNotREST = errors.New("not a rest server")
)

// ToolSpec is a tool as MCP lists it.
type ToolSpec struct {
	Name         string
	Description  string
	InputSchema  json.RawMessage
	OutputSchema json.RawMessage // nil when the tool has none
}

// Server is a compiled definition: validated, with every template parsed.
// It is immutable and safe for concurrent use. Callers must not modify
// the Definition or the ToolSpecs it returns.
type Server struct {
	def     *Definition
	tools   []*compiledTool
	byName  map[string]*compiledTool
	specs   []ToolSpec // allowed tools only, in definition order
	schemes map[string]SecurityScheme
	config  map[string]any
	// publicConfig is config without the values whose names look secret:
	// what response templates see, since their output goes to the client.
	publicConfig map[string]any
	secrets      *Redactor // masks the definition's secrets in error texts
	warnings     []FieldError
	next         atomic.Uint64 // round robin over the service's endpoints
	redirects    redirectClients
}

type compiledTool struct {
	index     int
	def       *Tool
	allowed   bool
	spec      ToolSpec
	args      []argPosition // the arguments in declaration order, with their positions
	direct    bool          // no URL: the response template is the answer
	method    string
	url       *tmpl
	urlShape  urlShape
	schema    *jsonschema.Schema // the input schema, nil when it does not compile
	bare      map[string]string  // see bareTypes; nil when some argument's schema is more
	headers   []compiledHeader
	body      *tmpl
	response  *tmpl
	errorResp *tmpl
	upstream  *SecurityRequirement // resolved with the server default
	client    *SecurityRequirement // resolved with the server default
}

type compiledHeader struct {
	key   string // canonical (textproto.CanonicalMIMEHeaderKey)
	value *tmpl
}

// argPosition is an argument's name and lower-case position ("" for
// none).
type argPosition struct {
	name, pos string
}

// Warnings lists what the definition does that Gatehouse accepts only for
// compatibility with Higress (a field it ignores, a type it normalized, an
// argument declared twice, a URL whose host comes from the call), each
// naming the field. Empty for a clean definition.
func (s *Server) Warnings() []FieldError { return slices.Clone(s.warnings) }

// Definition returns the compiled definition (defaults applied).
func (s *Server) Definition() *Definition { return s.def }

// Name returns the server's name.
func (s *Server) Name() string { return s.def.Name }

// Tools lists the tools clients may see: those named by allowTools, or
// all when allowTools is empty, in definition order. For an mcp-proxy
// server these are the optional overrides of upstream tools.
func (s *Server) Tools() []ToolSpec { return slices.Clone(s.specs) }

// Tool returns one listed tool.
func (s *Server) Tool(name string) (ToolSpec, bool) {
	t, ok := s.byName[name]
	if !ok || !t.allowed {
		return ToolSpec{}, false
	}
	return t.spec, true
}

// UsesRequest reports whether calls of the named tool read the client's
// request (Call's in): its templates call getRealIP or getSocketIP, or it
// passes the client's credential through. Call ignores in for the others,
// so a caller may pass nil and save building one.
func (s *Server) UsesRequest(name string) bool {
	t, ok := s.byName[name]
	if !ok {
		return false
	}
	if (t.client != nil && t.client.Passthrough) || (t.upstream != nil && t.upstream.Passthrough) {
		return true
	}
	bound := func(x *tmpl) bool { return x != nil && x.bound != nil }
	if bound(t.url) || bound(t.body) || (t.direct && bound(t.response)) {
		return true
	}
	return slices.ContainsFunc(t.headers, func(h compiledHeader) bool { return bound(h.value) })
}

// ReadsRequest reports whether the calls of any tool read the client's
// request (UsesRequest).
func (s *Server) ReadsRequest() bool {
	for name := range s.byName {
		if s.UsesRequest(name) {
			return true
		}
	}
	return false
}

// AllowsTool reports whether allowTools lets clients see and call the
// named tool (for an mcp-proxy server, an upstream tool).
func (s *Server) AllowsTool(name string) bool {
	if len(s.def.AllowTools) == 0 {
		return true
	}
	return slices.Contains(s.def.AllowTools, name)
}

var (
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	methodRE = regexp.MustCompile(`^[A-Z]+$`)
	// toolNameRE is the MCP specification's tool name syntax.
	toolNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)
	domainRE   = regexp.MustCompile(`^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(:\d{1,5})?$`)
)

var argTypes = []string{"string", "number", "integer", "boolean", "array", "object"}

var positions = []string{"query", "path", "header", "cookie", "body"}

// Compile validates def and parses every template once. It applies the
// defaults to def (SetDefaults) and keeps it: the Server's Definition is
// def itself. The error, if any, is errors.Join of one *FieldError per
// problem; template problems name the tool and the line in the template.
func Compile(def *Definition) (*Server, error) {
	if def == nil {
		return nil, &FieldError{Message: "no definition"}
	}
	def.SetDefaults()
	c := &compiler{def: def, funcs: funcMap()}
	s := c.compile()
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	s.warnings = append(def.warnings, c.warnings...)
	return s, nil
}

type compiler struct {
	def      *Definition
	funcs    template.FuncMap
	errs     []error
	warnings []FieldError
}

func (c *compiler) fail(field, tool, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if tool != "" {
		msg = fmt.Sprintf("tool %q: %s", tool, msg)
	}
	c.errs = append(c.errs, &FieldError{Field: field, Tool: tool, Message: msg})
}

// warn records a problem Higress would not refuse: the definition loads,
// and the warning names the field.
func (c *compiler) warn(field, tool, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if tool != "" {
		msg = fmt.Sprintf("tool %q: %s", tool, msg)
	}
	c.warnings = append(c.warnings, FieldError{Field: field, Tool: tool, Message: msg})
}

func (c *compiler) parse(field, tool, text string) *tmpl {
	t, err := parseTemplate(field, tool, text, c.funcs)
	if err != nil {
		c.errs = append(c.errs, err)
		return nil
	}
	return t
}

func (c *compiler) compile() *Server {
	d := c.def
	s := &Server{
		def:     d,
		byName:  make(map[string]*compiledTool, len(d.Tools)),
		schemes: make(map[string]SecurityScheme, len(d.Server.SecuritySchemes)),
	}
	// A private copy with numbers as int64 or float64, like arguments.
	s.config, _ = normalizeArg(d.Server.Config).(map[string]any)
	if s.config == nil {
		s.config = map[string]any{}
	}
	s.publicConfig, _ = withoutSecrets(s.config).(map[string]any)
	s.secrets = definitionRedactor(d, s.config)
	c.checkServerFields()
	c.checkSchemes(s)
	if d.Server.DefaultUpstreamSecurity != nil {
		c.checkRequirement(s, "server.defaultUpstreamSecurity", "", d.Server.DefaultUpstreamSecurity)
	}
	if d.Server.DefaultDownstreamSecurity != nil {
		c.checkRequirement(s, "server.defaultDownstreamSecurity", "", d.Server.DefaultDownstreamSecurity)
	}
	for i := range d.Tools {
		t := c.compileTool(s, i)
		if t == nil {
			continue
		}
		if _, dup := s.byName[t.def.Name]; dup {
			c.fail(fmt.Sprintf("tools[%d].name", i), "", "tool %q is defined twice; tool names must be unique", t.def.Name)
			continue
		}
		s.byName[t.def.Name] = t
		s.tools = append(s.tools, t)
	}
	for i, name := range d.AllowTools {
		if d.Type == TypeREST {
			if _, ok := s.byName[name]; !ok {
				c.fail(fmt.Sprintf("allowTools[%d]", i), "", "no tool is named %q; the tools are %s", name, strings.Join(toolNames(d), ", "))
			}
		}
	}
	for _, t := range s.tools {
		t.allowed = s.AllowsTool(t.def.Name)
		if t.allowed {
			s.specs = append(s.specs, t.spec)
		}
	}
	return s
}

func toolNames(d *Definition) []string {
	names := make([]string, len(d.Tools))
	for i, t := range d.Tools {
		names[i] = t.Name
	}
	return names
}

func (c *compiler) checkServerFields() {
	d := c.def
	switch {
	case d.Name == "":
		c.fail("name", "", "required: set name or server.name")
	case !nameRE.MatchString(d.Name):
		c.fail("name", "", "%q is not a valid server name: use letters, digits, '.', '_' and '-' (at most 128), starting with a letter or digit", d.Name)
	}
	if d.Server.Type != "" && d.Server.Type != d.Type {
		c.fail("server.type", "", "%q disagrees with type %q; set one of them", d.Server.Type, d.Type)
	}
	switch d.Type {
	case TypeREST:
		if d.Server.MCPServerURL != "" {
			c.fail("server.mcpServerURL", "", "only an mcp-proxy server has an upstream MCP URL; set type: mcp-proxy or remove it")
		}
	case TypeMCPProxy:
		switch d.Server.Transport {
		case "http", "sse":
		default:
			c.fail("server.transport", "", "%q is not a transport: use http (Streamable HTTP) or sse", d.Server.Transport)
		}
		if d.Server.MCPServerURL == "" {
			c.fail("server.mcpServerURL", "", "required for an mcp-proxy server: the upstream MCP endpoint, e.g. https://mcp.example.com/mcp")
		} else if !isHTTPURL(d.Server.MCPServerURL) {
			c.fail("server.mcpServerURL", "", "%q is not an absolute http(s) URL", MaskURLCredentials(d.Server.MCPServerURL))
		}
	default:
		c.fail("type", "", "%q is not a server type: use rest or mcp-proxy", d.Type)
	}
	if d.Server.Timeout < 0 {
		c.fail("server.timeout", "", "must not be negative (milliseconds; 0 uses the default)")
	}
	c.checkPaths()
	for i, dom := range d.Domains {
		if !domainRE.MatchString(dom) {
			c.fail(fmt.Sprintf("domains[%d]", i), "", "%q is not a host name: use e.g. api.example.com or *.example.com", dom)
		}
	}
	if a := d.Auth; a != nil {
		switch a.Type {
		case AuthNone, "":
			if len(a.Consumers) > 0 || a.Issuer != "" || a.JWKSURL != "" || a.Audience != "" {
				c.fail("auth.type", "", "consumers, issuer, jwksURL and audience need type api-key or jwt")
			}
		case AuthAPIKey:
			if a.Issuer != "" || a.JWKSURL != "" || a.Audience != "" {
				c.fail("auth", "", "issuer, jwksURL and audience are for type jwt")
			}
			for i, name := range a.Consumers {
				if strings.TrimSpace(name) == "" {
					c.fail(fmt.Sprintf("auth.consumers[%d]", i), "", "empty consumer name")
				}
			}
		case AuthJWT:
			if a.JWKSURL == "" {
				c.fail("auth.jwksURL", "", "required for jwt auth: the issuer's JWKS endpoint, e.g. https://issuer.example.com/.well-known/jwks.json")
			} else if !isHTTPURL(a.JWKSURL) {
				c.fail("auth.jwksURL", "", "%q is not an absolute http(s) URL", a.JWKSURL)
			}
			if a.Issuer == "" {
				c.fail("auth.issuer", "", "required for jwt auth: the iss claim tokens must carry")
			}
			if len(a.Consumers) > 0 {
				c.fail("auth.consumers", "", "consumers are for type api-key")
			}
		default:
			c.fail("auth.type", "", "%q is not an auth type: use none, api-key or jwt", a.Type)
		}
	}
	if l := d.Sessions; l != nil {
		if l.Max < 0 {
			c.fail("sessions.max", "", "must not be negative (0 uses the default, %d)", DefaultMaxSessions)
		}
		if l.InitializePerMinute < 0 {
			c.fail("sessions.initializePerMinute", "", "must not be negative (0 uses the default, %d)", DefaultInitializePerMinute)
		}
	}
	if r := d.RateLimit; r != nil && r.ToolCallsPerMinute <= 0 {
		c.fail("rateLimit.toolCallsPerMinute", "", "must be a positive number of tools/call per minute per consumer; remove rateLimit for no limit")
	}
}

func (c *compiler) checkPaths() {
	d := c.def
	checkPath := func(field, p string) bool {
		switch {
		case !strings.HasPrefix(p, "/"):
			c.fail(field, "", "%q must start with /", p)
		case strings.ContainsAny(p, "?# \t\r\n"):
			c.fail(field, "", "%q must be a plain path without query, fragment or spaces", p)
		case p != "/" && strings.HasSuffix(p, "/"):
			c.fail(field, "", "%q must not end with /", p)
		case slices.Contains(strings.Split(p, "/"), ".."), slices.Contains(strings.Split(p, "/"), "."):
			c.fail(field, "", "%q must not contain . or .. segments", p)
		default:
			return true
		}
		return false
	}
	if d.Path == "" || (d.Path == DefaultPathPrefix+d.Name && !nameRE.MatchString(d.Name)) {
		return // no valid name to build the paths from; already reported
	}
	checkPath("path", d.Path)
	if checkPath("ssePath", d.SSEPath) {
		if !strings.HasSuffix(d.SSEPath, "/sse") {
			c.fail("ssePath", "", "%q must end in /sse (legacy SSE clients connect to a path ending in /sse), for example %q", d.SSEPath, strings.TrimSuffix(d.Path, "/")+"/sse")
		} else if d.SSEPath == d.Path {
			c.fail("ssePath", "", "%q must differ from path", d.SSEPath)
		}
	}
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (c *compiler) checkSchemes(s *Server) {
	for i, sc := range c.def.Server.SecuritySchemes {
		field := fmt.Sprintf("server.securitySchemes[%d]", i)
		if sc.ID == "" {
			c.fail(field+".id", "", "required: tools refer to the scheme by id")
		} else if _, dup := s.schemes[sc.ID]; dup {
			c.fail(field+".id", "", "%q is used twice; scheme ids must be unique", sc.ID)
		}
		switch sc.Type {
		case "http":
			switch strings.ToLower(sc.Scheme) {
			case "basic", "bearer":
			default:
				c.fail(field+".scheme", "", "%q is not supported for type http: use basic or bearer", sc.Scheme)
			}
			if sc.In != "" || sc.Name != "" {
				c.fail(field, "", "in and name are for type apiKey")
			}
		case "apiKey":
			switch sc.In {
			case "header", "query", "cookie":
			default:
				c.fail(field+".in", "", "%q is not supported for type apiKey: use header, query or cookie", sc.In)
			}
			if sc.Name == "" {
				c.fail(field+".name", "", "required for type apiKey: the header, query parameter or cookie that carries the key")
			}
		default:
			c.fail(field+".type", "", "%q is not a security scheme type: use http or apiKey", sc.Type)
		}
		if sc.ID != "" {
			s.schemes[sc.ID] = sc
		}
	}
}

func (c *compiler) checkRequirement(s *Server, field, tool string, r *SecurityRequirement) {
	if r.ID == "" {
		c.fail(field+".id", tool, "required: the id of one of server.securitySchemes")
		return
	}
	if _, ok := s.schemes[r.ID]; !ok {
		ids := make([]string, 0, len(s.schemes))
		for _, sc := range c.def.Server.SecuritySchemes {
			ids = append(ids, sc.ID)
		}
		defined := "none is defined"
		if len(ids) > 0 {
			defined = "defined: " + strings.Join(ids, ", ")
		}
		c.fail(field+".id", tool, "no security scheme has id %q; define it under server.securitySchemes (%s)", r.ID, defined)
	}
}

func (c *compiler) compileTool(s *Server, i int) *compiledTool {
	d := c.def
	td := &d.Tools[i]
	prefix := fmt.Sprintf("tools[%d]", i)
	name := td.Name
	if name == "" {
		c.fail(prefix+".name", "", "required")
		return nil
	}
	if !toolNameRE.MatchString(name) {
		c.fail(prefix+".name", name, "MCP tool names have 1 to 128 letters, digits, '_', '-' or '.'")
	}
	t := &compiledTool{index: i, def: td}
	c.checkArgs(t, prefix, name)
	schema, err := inputSchema(td.Args)
	if err != nil {
		c.fail(prefix+".args", name, "%v", err)
	}
	t.spec = ToolSpec{Name: name, Description: td.Description, InputSchema: schema}
	if err == nil {
		if t.schema, err = compileInputSchema(schema); err != nil {
			c.warn(prefix+".args", name, "the input schema is not a valid JSON Schema, so arguments are not checked against it: %v", err)
		} else {
			t.bare = bareTypes(schema)
		}
	}
	if td.OutputSchema != nil {
		if typ, ok := td.OutputSchema["type"]; ok && typ != "object" {
			c.fail(prefix+".outputSchema.type", name, "MCP requires an output schema of type object, not %v", typ)
		}
		raw, err := marshalJSON(td.OutputSchema)
		if err != nil {
			c.fail(prefix+".outputSchema", name, "not JSON: %v", err)
		}
		t.spec.OutputSchema = raw
	}
	if d.Type == TypeMCPProxy {
		if !reflect.ValueOf(td.RequestTemplate).IsZero() || td.ResponseTemplate != (ResponseTemplate{}) || td.ErrorResponseTemplate != "" || td.Security != nil {
			c.fail(prefix, name, "an mcp-proxy tool only overrides the upstream tool's description (and args); remove requestTemplate, responseTemplate, errorResponseTemplate and security")
		}
		return t
	}

	rt := &td.RequestTemplate
	if td.Security != nil {
		c.checkRequirement(s, prefix+".security", name, td.Security)
		t.client = td.Security
	} else {
		t.client = d.Server.DefaultDownstreamSecurity
	}
	if rt.Security != nil {
		c.checkRequirement(s, prefix+".requestTemplate.security", name, rt.Security)
		t.upstream = rt.Security
	} else {
		t.upstream = d.Server.DefaultUpstreamSecurity
	}
	if t.client != nil && t.client.Passthrough && t.upstream == nil {
		c.fail(prefix+".security.passthrough", name, "passthrough needs an upstream scheme: set requestTemplate.security or server.defaultUpstreamSecurity")
	}

	if rt.URL == "" {
		t.direct = true
		if rt.Method != "" || len(rt.Headers) > 0 || rt.Body != "" || rt.ArgsToJSONBody || rt.ArgsToURLParam || rt.ArgsToFormBody {
			c.fail(prefix+".requestTemplate.url", name, "required when the request template sets anything else (a tool without url answers from responseTemplate.body alone)")
		}
		if td.ResponseTemplate.Body == "" {
			c.fail(prefix+".responseTemplate.body", name, "required for a tool without requestTemplate.url: it is the tool's answer")
		}
	} else {
		t.method = strings.ToUpper(rt.Method)
		if !methodRE.MatchString(t.method) {
			c.fail(prefix+".requestTemplate.method", name, "%q is not an HTTP method", rt.Method)
		}
		n := 0
		for _, b := range []bool{rt.ArgsToJSONBody, rt.ArgsToURLParam, rt.ArgsToFormBody} {
			if b {
				n++
			}
		}
		if n > 1 {
			c.fail(prefix+".requestTemplate", name, "set at most one of argsToJsonBody, argsToUrlParam and argsToFormBody")
		}
		if rt.Body != "" && (rt.ArgsToJSONBody || rt.ArgsToFormBody) {
			c.fail(prefix+".requestTemplate.body", name, "a body template excludes argsToJsonBody and argsToFormBody; keep one")
		}
		t.url = c.parse(prefix+".requestTemplate.url", name, rt.URL)
		if t.url != nil {
			t.urlShape = escapeURLTemplate(t.url.base.Tree.Root)
			switch {
			case t.urlShape.hostFromRequest:
				c.warn(prefix+".requestTemplate.url", name, "the scheme or host comes from the call (an argument, a {placeholder} or the request); calls are refused so that no caller chooses where the request and its credentials go: write the host literally, take it from .config, or use service")
			case t.urlShape.relative && len(d.ServiceURLs) == 0:
				c.warn(prefix+".requestTemplate.url", name, "a relative URL needs the MCP server's service (a Gatehouse service with endpoints); calls fail until one is set")
			}
		}
		for j, h := range rt.Headers {
			field := fmt.Sprintf("%s.requestTemplate.headers[%d]", prefix, j)
			if h.Key == "" || strings.ContainsAny(h.Key, " \t\r\n:") {
				c.fail(field+".key", name, "%q is not a header name", h.Key)
				continue
			}
			if v := c.parse(field+".value", name, h.Value); v != nil {
				v.renderOnce(s.config)
				t.headers = append(t.headers, compiledHeader{key: textproto.CanonicalMIMEHeaderKey(h.Key), value: v})
			}
		}
		if rt.Body != "" {
			t.body = c.parse(prefix+".requestTemplate.body", name, rt.Body)
		}
	}
	rs := &td.ResponseTemplate
	if rs.Body != "" {
		if rs.PrependBody != "" || rs.AppendBody != "" {
			c.fail(prefix+".responseTemplate", name, "body excludes prependBody and appendBody; use one or the other")
		}
		t.response = c.parse(prefix+".responseTemplate.body", name, rs.Body)
	}
	if td.ErrorResponseTemplate != "" {
		t.errorResp = c.parse(prefix+".errorResponseTemplate", name, td.ErrorResponseTemplate)
	}
	return t
}

func (c *compiler) checkArgs(t *compiledTool, prefix, tool string) {
	t.def.Args = c.dedupeArgs(t.def.Args, prefix, tool)
	for j := range t.def.Args {
		a := &t.def.Args[j]
		field := fmt.Sprintf("%s.args[%d]", prefix, j)
		if a.Name == "" {
			c.fail(field+".name", tool, "required")
			continue
		}
		if a.Type != "" && !slices.Contains(argTypes, a.Type) {
			norm, ok := typeAliases[strings.ToLower(strings.TrimSpace(a.Type))]
			if ok {
				c.warn(field+".type", tool, "%q is read as %q, the JSON Schema type", a.Type, norm)
			} else {
				norm = "string"
				c.warn(field+".type", tool, "%q is not a JSON Schema type (%s); read as string", a.Type, strings.Join(argTypes, ", "))
			}
			a.Type = norm
		}
		a.Items = c.normalizeSchema(a.Items, field+".items", tool)
		a.Properties = c.normalizeSchemaMap(a.Properties, field+".properties", tool)
		pos := strings.ToLower(a.Position)
		if pos != "" && !slices.Contains(positions, pos) {
			c.fail(field+".position", tool, "%q is not a position: use %s", a.Position, strings.Join(positions, ", "))
		}
		t.args = append(t.args, argPosition{a.Name, pos})
	}
}

// typeAliases are the type names of other languages that published
// definitions use, and the JSON Schema type each means.
var typeAliases = map[string]string{
	"string": "string", "str": "string", "text": "string", "char": "string",
	"integer": "integer", "int": "integer", "int32": "integer", "int64": "integer", "long": "integer",
	"number": "number", "float": "number", "double": "number", "decimal": "number", "float64": "number",
	"boolean": "boolean", "bool": "boolean",
	"array": "array", "list": "array",
	"object": "object", "dict": "object", "map": "object", "json": "object",
}

// dedupeArgs keeps the last declaration of an argument declared twice,
// as Higress does, with a warning naming the first.
func (c *compiler) dedupeArgs(args []Arg, prefix, tool string) []Arg {
	last := make(map[string]int, len(args))
	for j, a := range args {
		last[a.Name] = j
	}
	if len(last) == len(args) {
		return args
	}
	out := make([]Arg, 0, len(last))
	for j, a := range args {
		if k := last[a.Name]; k != j && a.Name != "" {
			c.warn(fmt.Sprintf("%s.args[%d].name", prefix, j), tool, "argument %q is declared again at args[%d]; the later declaration wins, as in Higress", a.Name, k)
			continue
		}
		out = append(out, a)
	}
	return out
}

// normalizeSchema rewrites aliased "type" names inside a nested schema
// (items, properties) to JSON Schema types.
func (c *compiler) normalizeSchema(v any, field, tool string) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if typ, ok := m["type"].(string); ok && !slices.Contains(argTypes, typ) && typ != "null" {
		if norm, ok := typeAliases[strings.ToLower(strings.TrimSpace(typ))]; ok {
			c.warn(field+".type", tool, "%q is read as %q, the JSON Schema type", typ, norm)
			m["type"] = norm
		}
	}
	if items, ok := m["items"]; ok {
		m["items"] = c.normalizeSchema(items, field+".items", tool)
	}
	if props, ok := m["properties"]; ok {
		m["properties"] = c.normalizeSchemaMap(props, field+".properties", tool)
		// "required: true" on a property, as on an argument, is the
		// parent's required list in JSON Schema.
		if pm, ok := props.(map[string]any); ok {
			var names []string
			for name := range pm {
				if p, ok := pm[name].(map[string]any); ok && p["required"] == true {
					names = append(names, name)
				}
			}
			slices.Sort(names)
			if len(names) > 0 {
				req, _ := m["required"].([]any)
				for _, n := range names {
					req = append(req, n)
				}
				m["required"] = req
			}
		}
	}
	return m
}

func (c *compiler) normalizeSchemaMap(v any, field, tool string) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	for k, p := range m {
		m[k] = c.normalizeSchema(p, field+"."+k, tool)
		if pm, ok := m[k].(map[string]any); ok {
			if b, isBool := pm["required"].(bool); isBool {
				// Moved to the parent's list by normalizeSchema, or, for an
				// argument's own properties, not expressible: dropped.
				delete(pm, "required")
				c.warn(field+"."+k+".required", tool, "required: %t on a property is not JSON Schema; read as the parent's required list where there is one", b)
			}
		}
	}
	return m
}

// inputSchema builds the tool's JSON Schema from its args, properties in
// declaration order, as Higress does: type (string when unset),
// description, enum, default, items (arrays), properties (objects), the
// other schema keywords as written, and required.
func inputSchema(args []Arg) (json.RawMessage, error) {
	var b bytes.Buffer
	b.WriteString(`{"type":"object","properties":{`)
	var required []string
	for i, a := range args {
		if i > 0 {
			b.WriteByte(',')
		}
		key, _ := marshalJSON(a.Name)
		b.Write(key)
		b.WriteByte(':')
		prop, err := argSchema(a)
		if err != nil {
			return nil, fmt.Errorf("args[%d] (%s): %w", i, a.Name, err)
		}
		b.Write(prop)
		if a.Required {
			required = append(required, a.Name)
		}
	}
	b.WriteByte('}')
	if len(required) > 0 {
		r, _ := marshalJSON(required)
		b.WriteString(`,"required":`)
		b.Write(r)
	}
	b.WriteByte('}')
	return json.RawMessage(b.Bytes()), nil
}

func argSchema(a Arg) (json.RawMessage, error) {
	typ := a.Type
	if typ == "" {
		typ = "string"
	}
	type kv struct {
		k string
		v any
	}
	fields := []kv{{"type", typ}}
	add := func(k string, v any) {
		if v == nil {
			return
		}
		if s, ok := v.(string); ok && s == "" {
			return
		}
		fields = append(fields, kv{k, v})
	}
	add("description", a.Description)
	if len(a.Enum) > 0 {
		fields = append(fields, kv{"enum", a.Enum})
	}
	add("default", a.Default)
	if typ == "array" {
		add("items", a.Items)
	}
	if typ == "object" {
		add("properties", a.Properties)
	}
	add("title", a.Title)
	add("format", a.Format)
	add("pattern", a.Pattern)
	add("minimum", a.Minimum)
	add("maximum", a.Maximum)
	add("exclusiveMinimum", a.ExclusiveMinimum)
	add("exclusiveMaximum", a.ExclusiveMaximum)
	add("minLength", a.MinLength)
	add("maxLength", a.MaxLength)
	add("minItems", a.MinItems)
	add("maxItems", a.MaxItems)
	add("uniqueItems", a.UniqueItems)
	add("additionalProperties", a.AdditionalProperties)
	add("oneOf", a.OneOf)
	add("anyOf", a.AnyOf)
	add("allOf", a.AllOf)
	add("const", a.Const)
	add("examples", a.Examples)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := marshalJSON(f.k)
		v, err := marshalJSON(f.v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.k, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return json.RawMessage(b.Bytes()), nil
}

// marshalJSON encodes v without HTML escaping and without a newline.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
