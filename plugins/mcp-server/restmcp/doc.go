// Package restmcp turns REST APIs into MCP tools. It reads MCP server
// definitions in Higress's REST-to-MCP format (plus Gatehouse's own fields),
// validates them, parses every template once, renders upstream requests
// from tool arguments and turns upstream responses into tool results.
//
// Every definition published with Higress loads unchanged: the tests load
// each file of testdata/higress, list its tools and render its requests.
//
// # API
//
//	def, err := restmcp.Parse(body, contentType)   // JSON or YAML, unknown fields refused, defaults applied
//	srv, err := restmcp.Compile(def)               // validates everything, parses every template once
//	srv.Definition()                               // def, defaults applied
//	srv.Tools()                                    // []ToolSpec{Name, Description, InputSchema, OutputSchema} after allowTools
//	srv.Tool(name), srv.AllowsTool(name)           // one listed tool; allowTools as a predicate (also for mcp-proxy)
//	srv.Render(tool, args, incoming)               // *RenderedRequest{Method, URL, Headers, Body}, not sent (dry run)
//	srv.Call(ctx, client, tool, args, incoming)    // *CallResult{Text, Structured, IsError, Status, ImageData, ImageMIMEType}
//	restmcp.ImportOpenAPI(doc, name, baseURL)      // a *Definition generated from OpenAPI 3.0/3.1 (kin-openapi)
//
// Parse and Compile return errors.Join of *FieldError{Field, Message, Tool}
// values, one per problem: Field is the path ("tools[3].requestTemplate.body"),
// Message says what is wrong and what to do ("tool \"x\": template: line
// 4: ..."), Tool names the tool when the problem is inside one. Render and
// Call return ErrUnknownTool (absent or hidden by allowTools),
// ErrInvalidArguments (an argument missing, not fitting the input schema,
// or a dot segment in the path), ErrNotREST (an
// mcp-proxy server) and, for Render only, ErrNoRequest (a tool that
// answers from its response template alone) or a *FieldError when a
// template fails on these arguments. Call reports upstream failures,
// statuses outside 2xx and failing response templates as a CallResult
// with IsError, so the model sees them; its error return is for the
// sentinels and the cancellation of ctx.
//
// A *Server is immutable and safe for concurrent use; build a new one for
// each configuration version. Nothing in it parses a template per call.
//
// # Definition format
//
// A definition is the Higress document
//
//	server:
//	  name: weather
//	  config: {apiKey: "..."}            # .config in templates
//	  securitySchemes:                   # upstream and client credentials
//	  - {id: key, type: apiKey, in: header, name: X-API-Key, defaultCredential: "..."}
//	  defaultUpstreamSecurity: {id: key} # used by tools without requestTemplate.security
//	tools:
//	- name: get_weather
//	  description: ...
//	  args:
//	  - {name: city, type: string, required: true, position: query}
//	  requestTemplate: {url: "https://api.example.com/weather", method: GET}
//	  responseTemplate: {body: "{{.main.temp}}"}
//	allowTools: [get_weather]
//
// plus the Gatehouse fields name (default server.name), type ("rest" or
// "mcp-proxy"), path (default /mcp-servers/<name>), ssePath (default
// <path>/sse, must end in /sse), domains, enabled (default true), auth and
// rateLimit. The main package serves the transports; this package only
// validates those fields.
//
// # Templates
//
// Templates are Go text/template with the Sprig functions (except env,
// expandenv and getHostByName, which would leak the gateway's environment
// or resolve names), and these, as in Higress:
//
//   - gjson PATH: the GJSON path evaluated against the current value (dot);
//   - getRealIP: the client address from X-Forwarded-For, else the peer;
//   - getSocketIP: the peer address of the incoming request.
//
// Request templates (url, header values, body) see .config (server.config)
// and .args (the arguments after defaults and type conversion). Response
// templates see the fields of the parsed JSON response (.field), and also
// .args and .config when the response is an object without such keys; a
// response that is not JSON is available as ._body. The error response
// template also sees ._headers (lower-case header names and ":status").
//
// Values print as Higress prints them: a missing value prints nothing (not
// "<no value>"), numbers print without exponent, objects and arrays print
// as compact JSON. eq, ne, lt, le, gt and ge compare numbers of any
// representation, and a number with a numeric string.
//
// A character constant such as ',' is the one-character string, so
// Higress's {{join ',' .args.labels}} works. Arguments a tool does not
// declare are dropped; declared ones get their default when absent and
// are converted to their type (integer "5" and 5.0 become 5, boolean
// "true" becomes true), as in Higress.
//
// # Differences from Higress
//
// Higress runs templates on gjson_template, a text/template fork over raw
// JSON; this package runs text/template over decoded JSON with the
// printing and comparison rules above, so the definitions behave the
// same with these exceptions: a field of a non-object (.x.y where .x is a
// number) is an execution error rather than empty; a relative url ("/x")
// goes to the server's service (Definition.ServiceURLs), as Higress sends it
// to the route's cluster; response templates additionally see .args,
// .config without its secret-named values, and ._body; env, expandenv and
// getHostByName are not available. Where Higress is lenient (unknown
// server, tool and argument fields, an argument declared twice, type
// aliases such as int or bool, required: true on a property) the
// definition loads and Server.Warnings names each field.
//
// # Arguments and the URL
//
// Arguments are validated against the tool's input schema after Higress's
// conversions (ErrInvalidArguments names each argument). Values printed
// into the url template are escaped for where they print: in the path each
// "/"-separated part is escaped as one segment and "." or ".." parts are
// refused; in the query and fragment as a query value; in the host only as
// one DNS label before a literal domain of two or more labels. Values of
// .config and literals print as they are (they are the operator's). The
// rendered scheme and host must be the template's literal ones (or the
// service's); a host that comes wholly from the call is refused at every
// call. Call follows redirects only to the same scheme and host, and its
// error texts name the tool, host and status, with the server's secrets
// masked.
//
// # Requests
//
// The request is built as Higress builds it: the url template is rendered,
// {name} is replaced by each path argument, the query string is parsed and
// re-encoded with query arguments (and, with argsToUrlParam, every argument
// without a position) added; header and cookie arguments become headers;
// the body is the body template, or the arguments as JSON (argsToJsonBody)
// or as a form (argsToFormBody), or the body arguments as a form when the
// Content-Type header says so and as JSON otherwise. Accept defaults to */*.
// The upstream security scheme is applied last, with the client's own
// credential when the tool's security says passthrough.
package restmcp
