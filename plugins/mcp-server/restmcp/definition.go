package restmcp

import (
	"strings"
)

// Server types.
const (
	TypeREST     = "rest"
	TypeMCPProxy = "mcp-proxy"
)

// Definition is one MCP server object: a Higress REST-to-MCP definition plus Gatehouse fields.
type Definition struct {
	Name       string       `json:"name,omitempty" yaml:"name,omitempty"`       // defaults to Server.Name
	Type       string       `json:"type,omitempty" yaml:"type,omitempty"`       // "rest" (default) | "mcp-proxy"
	Path       string       `json:"path,omitempty" yaml:"path,omitempty"`       // default /mcp-servers/<name>
	SSEPath    string       `json:"ssePath,omitempty" yaml:"ssePath,omitempty"` // default <path>/sse; must end in /sse
	Domains    []string     `json:"domains,omitempty" yaml:"domains,omitempty"`
	Enabled    *bool        `json:"enabled,omitempty" yaml:"enabled,omitempty"` // default true
	Server     ServerConfig `json:"server" yaml:"server"`                       // name, config, securitySchemes, transport, mcpServerURL, ...
	Tools      []Tool       `json:"tools,omitempty" yaml:"tools,omitempty"`
	AllowTools []string     `json:"allowTools,omitempty" yaml:"allowTools,omitempty"`
	Auth       *Auth        `json:"auth,omitempty" yaml:"auth,omitempty"`           // type none|api-key|jwt (+ consumers / issuer, jwksURL, audience, passthrough)
	RateLimit  *RateLimit   `json:"rateLimit,omitempty" yaml:"rateLimit,omitempty"` // toolCallsPerMinute per consumer, failOpen
	// Sessions bounds the sessions clients may open (defaults when nil).
	Sessions *SessionLimits `json:"sessions,omitempty" yaml:"sessions,omitempty"`
	// ToolCallFastPath false serves every tools/call of a REST tool through
	// the official MCP SDK instead of Gatehouse's fast path (default true).
	ToolCallFastPath *bool `json:"toolCallFastPath,omitempty" yaml:"toolCallFastPath,omitempty"`
	Version          int64 `json:"version,omitempty" yaml:"-"`
	// Service names the Gatehouse service that relative request URLs
	// ("/users/{id}") are sent to, as Higress sends them to the route's
	// upstream.
	Service string `json:"service,omitempty" yaml:"service,omitempty"`
	// ServiceURLs are the base URLs of Service's endpoints. The host fills
	// them in from the service when it builds the server; a definition
	// written by hand may set them instead of Service.
	ServiceURLs []string `json:"serviceURLs,omitempty" yaml:"serviceURLs,omitempty"`

	// warnings are what Parse accepted leniently (unknown fields, type
	// aliases, duplicate arguments); Compile adds its own.
	warnings []FieldError
}

// ServerConfig is the Higress "server" object.
type ServerConfig struct {
	// Name names the server; it is the default Definition.Name.
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Type is Higress's place for the server type; Definition.Type wins
	// when both are set and they must then agree.
	Type string `json:"type,omitempty" yaml:"type,omitempty"`
	// Config is available to templates as .config.
	Config map[string]any `json:"config,omitempty" yaml:"config,omitempty"`
	// SecuritySchemes are the credentials tools can use upstream
	// (requestTemplate.security) and accept from clients (security).
	SecuritySchemes []SecurityScheme `json:"securitySchemes,omitempty" yaml:"securitySchemes,omitempty"`
	// DefaultDownstreamSecurity applies to tools without security.
	DefaultDownstreamSecurity *SecurityRequirement `json:"defaultDownstreamSecurity,omitempty" yaml:"defaultDownstreamSecurity,omitempty"`
	// DefaultUpstreamSecurity applies to tools without requestTemplate.security.
	DefaultUpstreamSecurity *SecurityRequirement `json:"defaultUpstreamSecurity,omitempty" yaml:"defaultUpstreamSecurity,omitempty"`
	// Transport is the upstream MCP transport of an mcp-proxy server:
	// "http" (Streamable HTTP, the default) or "sse".
	Transport string `json:"transport,omitempty" yaml:"transport,omitempty"`
	// MCPServerURL is the upstream MCP endpoint of an mcp-proxy server.
	MCPServerURL string `json:"mcpServerURL,omitempty" yaml:"mcpServerURL,omitempty"`
	// Timeout is the upstream timeout in milliseconds (0: the client's).
	Timeout int `json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

// SecurityScheme is a credential kind, as in OpenAPI: http basic or bearer,
// or an API key in a header, query parameter or cookie.
type SecurityScheme struct {
	ID                string `json:"id" yaml:"id"`
	Type              string `json:"type" yaml:"type"`                         // http | apiKey
	Scheme            string `json:"scheme,omitempty" yaml:"scheme,omitempty"` // basic | bearer (type http)
	In                string `json:"in,omitempty" yaml:"in,omitempty"`         // header | query | cookie (type apiKey)
	Name              string `json:"name,omitempty" yaml:"name,omitempty"`     // header, parameter or cookie name (type apiKey)
	DefaultCredential string `json:"defaultCredential,omitempty" yaml:"defaultCredential,omitempty"`
}

// SecurityRequirement points at a SecurityScheme. On requestTemplate it is
// the upstream credential (Credential overrides the scheme's default); on
// the tool it is how the client sends its own credential, which is used
// upstream when Passthrough is set.
type SecurityRequirement struct {
	ID          string `json:"id" yaml:"id"`
	Credential  string `json:"credential,omitempty" yaml:"credential,omitempty"`
	Passthrough bool   `json:"passthrough,omitempty" yaml:"passthrough,omitempty"`
}

// Tool is one REST-backed MCP tool (or, for mcp-proxy, one allowed
// upstream tool with an optional description override).
type Tool struct {
	Name        string               `json:"name" yaml:"name"`
	Description string               `json:"description,omitempty" yaml:"description,omitempty"`
	Security    *SecurityRequirement `json:"security,omitempty" yaml:"security,omitempty"`
	Args        []Arg                `json:"args,omitempty" yaml:"args,omitempty"`
	// OutputSchema is the JSON Schema of the structured result; when set,
	// a JSON response becomes the result's structuredContent.
	OutputSchema          map[string]any   `json:"outputSchema,omitempty" yaml:"outputSchema,omitempty"`
	RequestTemplate       RequestTemplate  `json:"requestTemplate,omitzero" yaml:"requestTemplate,omitempty"`
	ResponseTemplate      ResponseTemplate `json:"responseTemplate,omitzero" yaml:"responseTemplate,omitempty"`
	ErrorResponseTemplate string           `json:"errorResponseTemplate,omitempty" yaml:"errorResponseTemplate,omitempty"`
}

// Arg is one tool argument. Its schema keywords become the property of the
// tool's input schema; Position says where the value goes in the request.
type Arg struct {
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	Type        string `json:"type,omitempty" yaml:"type,omitempty"` // string (default), number, integer, boolean, array, object
	Required    bool   `json:"required,omitempty" yaml:"required,omitempty"`
	Default     any    `json:"default,omitempty" yaml:"default,omitempty"`
	Enum        []any  `json:"enum,omitempty" yaml:"enum,omitempty"`
	Items       any    `json:"items,omitempty" yaml:"items,omitempty"`           // schema of array items
	Properties  any    `json:"properties,omitempty" yaml:"properties,omitempty"` // schemas of object properties
	Position    string `json:"position,omitempty" yaml:"position,omitempty"`     // query, path, header, cookie, body

	// JSON Schema keywords passed through to the input schema as written.
	Format               string `json:"format,omitempty" yaml:"format,omitempty"`
	Pattern              string `json:"pattern,omitempty" yaml:"pattern,omitempty"`
	Minimum              any    `json:"minimum,omitempty" yaml:"minimum,omitempty"`
	Maximum              any    `json:"maximum,omitempty" yaml:"maximum,omitempty"`
	ExclusiveMinimum     any    `json:"exclusiveMinimum,omitempty" yaml:"exclusiveMinimum,omitempty"`
	ExclusiveMaximum     any    `json:"exclusiveMaximum,omitempty" yaml:"exclusiveMaximum,omitempty"`
	MinLength            any    `json:"minLength,omitempty" yaml:"minLength,omitempty"`
	MaxLength            any    `json:"maxLength,omitempty" yaml:"maxLength,omitempty"`
	MinItems             any    `json:"minItems,omitempty" yaml:"minItems,omitempty"`
	MaxItems             any    `json:"maxItems,omitempty" yaml:"maxItems,omitempty"`
	UniqueItems          any    `json:"uniqueItems,omitempty" yaml:"uniqueItems,omitempty"`
	AdditionalProperties any    `json:"additionalProperties,omitempty" yaml:"additionalProperties,omitempty"`
	OneOf                any    `json:"oneOf,omitempty" yaml:"oneOf,omitempty"`
	AnyOf                any    `json:"anyOf,omitempty" yaml:"anyOf,omitempty"`
	AllOf                any    `json:"allOf,omitempty" yaml:"allOf,omitempty"`
	Const                any    `json:"const,omitempty" yaml:"const,omitempty"`
	Examples             any    `json:"examples,omitempty" yaml:"examples,omitempty"`
	Title                string `json:"title,omitempty" yaml:"title,omitempty"`
}

// Header is one request header; Value is a template.
type Header struct {
	Key   string `json:"key" yaml:"key"`
	Value string `json:"value" yaml:"value"`
}

// RequestTemplate says how to build the upstream request. A tool without
// a URL sends nothing and answers with its response template.
type RequestTemplate struct {
	URL            string               `json:"url,omitempty" yaml:"url,omitempty"`
	Method         string               `json:"method,omitempty" yaml:"method,omitempty"` // default GET
	Headers        []Header             `json:"headers,omitempty" yaml:"headers,omitempty"`
	Body           string               `json:"body,omitempty" yaml:"body,omitempty"`
	ArgsToJSONBody bool                 `json:"argsToJsonBody,omitempty" yaml:"argsToJsonBody,omitempty"`
	ArgsToURLParam bool                 `json:"argsToUrlParam,omitempty" yaml:"argsToUrlParam,omitempty"`
	ArgsToFormBody bool                 `json:"argsToFormBody,omitempty" yaml:"argsToFormBody,omitempty"`
	Security       *SecurityRequirement `json:"security,omitempty" yaml:"security,omitempty"`
}

// ResponseTemplate turns the upstream response into the tool's text: Body
// is a template; PrependBody and AppendBody (plain text, not templates)
// wrap the raw response instead. Body excludes the other two.
type ResponseTemplate struct {
	Body        string `json:"body,omitempty" yaml:"body,omitempty"`
	PrependBody string `json:"prependBody,omitempty" yaml:"prependBody,omitempty"`
	AppendBody  string `json:"appendBody,omitempty" yaml:"appendBody,omitempty"`
}

// Auth types.
const (
	AuthNone   = "none"
	AuthAPIKey = "api-key"
	AuthJWT    = "jwt"
)

// Auth is how clients authenticate to this MCP server. The main package
// enforces it; this package only validates it.
type Auth struct {
	Type string `json:"type" yaml:"type"` // none | api-key | jwt
	// Consumers narrows api-key auth to these key-auth consumers (empty: any).
	Consumers []string `json:"consumers,omitempty" yaml:"consumers,omitempty"`
	// Issuer, JWKSURL and Audience validate jwt bearer tokens.
	Issuer   string `json:"issuer,omitempty" yaml:"issuer,omitempty"`
	JWKSURL  string `json:"jwksURL,omitempty" yaml:"jwksURL,omitempty"`
	Audience string `json:"audience,omitempty" yaml:"audience,omitempty"`
	// Passthrough keeps the client's credential on the request so tools
	// with a passthrough security requirement can use it upstream.
	Passthrough bool `json:"passthrough,omitempty" yaml:"passthrough,omitempty"`
}

// RateLimit limits tools/call per consumer.
type RateLimit struct {
	ToolCallsPerMinute int `json:"toolCallsPerMinute" yaml:"toolCallsPerMinute"`
	// FailOpen lets calls through when the counter store is unreachable.
	FailOpen bool `json:"failOpen,omitempty" yaml:"failOpen,omitempty"`
}

// SessionLimits bounds what unauthenticated clients can make a server
// hold. Zero fields take the defaults.
type SessionLimits struct {
	// Max is the most sessions one gateway instance holds for the server
	// (default DefaultMaxSessions); initialize beyond it answers 503.
	Max int `json:"max,omitempty" yaml:"max,omitempty"`
	// InitializePerMinute is how many sessions one client address may
	// start per minute (default DefaultInitializePerMinute), counted
	// across instances when Redis is configured; beyond it 429.
	InitializePerMinute int `json:"initializePerMinute,omitempty" yaml:"initializePerMinute,omitempty"`
}

// Session limit defaults.
const (
	DefaultMaxSessions         = 5000
	DefaultInitializePerMinute = 120
)

// Limits returns the session limits with the defaults filled in.
func (d *Definition) Limits() SessionLimits {
	l := SessionLimits{Max: DefaultMaxSessions, InitializePerMinute: DefaultInitializePerMinute}
	if d.Sessions != nil {
		if d.Sessions.Max > 0 {
			l.Max = d.Sessions.Max
		}
		if d.Sessions.InitializePerMinute > 0 {
			l.InitializePerMinute = d.Sessions.InitializePerMinute
		}
	}
	return l
}

// DefaultPathPrefix is the prefix of a server's default path.
const DefaultPathPrefix = "/mcp-servers/"

// SetDefaults fills the fields a definition may leave out: Name from
// Server.Name, Type from Server.Type (else rest), Path, SSEPath, Enabled,
// and an mcp-proxy server's transport. It keeps every field already set.
func (d *Definition) SetDefaults() {
	if d.Name == "" {
		d.Name = d.Server.Name
	}
	if d.Type == "" {
		d.Type = d.Server.Type
	}
	if d.Type == "" {
		d.Type = TypeREST
	}
	if d.Path == "" && d.Name != "" {
		d.Path = DefaultPathPrefix + d.Name
	}
	if d.SSEPath == "" && d.Path != "" {
		d.SSEPath = strings.TrimSuffix(d.Path, "/") + "/sse"
	}
	if d.Enabled == nil {
		enabled := true
		d.Enabled = &enabled
	}
	if d.Type == TypeMCPProxy && d.Server.Transport == "" {
		d.Server.Transport = "http"
	}
	for i := range d.Tools {
		if d.Tools[i].RequestTemplate.URL != "" && d.Tools[i].RequestTemplate.Method == "" {
			d.Tools[i].RequestTemplate.Method = "GET"
		}
	}
}

// FastPath reports whether tools/call of REST tools may take the fast
// path (ToolCallFastPath unset means yes).
func (d *Definition) FastPath() bool {
	return d.Type != TypeMCPProxy && (d.ToolCallFastPath == nil || *d.ToolCallFastPath)
}

// IsEnabled reports whether the server is enabled (Enabled unset means yes).
func (d *Definition) IsEnabled() bool { return d.Enabled == nil || *d.Enabled }

// MessagePath is the legacy SSE message endpoint: <path>/message.
func (d *Definition) MessagePath() string { return strings.TrimSuffix(d.Path, "/") + "/message" }
