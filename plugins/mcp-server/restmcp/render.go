package restmcp

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/textproto"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// RenderedRequest is an upstream request built from a tool call, before
// it is sent. Header names are canonical (textproto.CanonicalMIMEHeaderKey).
type RenderedRequest struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// Render builds the upstream request of a tool call without sending it:
// the dry run behind the console's "render". args are the call's
// arguments as decoded from JSON; in is the client's request, used for
// passthrough credentials and getRealIP, and may be nil. Errors:
// ErrUnknownTool, ErrInvalidArguments, ErrNoRequest (the tool sends
// nothing), ErrNotREST, or a *FieldError when a template fails.
func (s *Server) Render(tool string, args map[string]any, in *http.Request) (*RenderedRequest, error) {
	t, err := s.lookup(tool)
	if err != nil {
		return nil, err
	}
	if t.direct {
		return nil, fmt.Errorf("%w: tool %q answers from its response template alone", ErrNoRequest, tool)
	}
	a, err := t.prepareArgs(args)
	if err != nil {
		return nil, err
	}
	r, err := s.build(t, a, in)
	if err != nil {
		return nil, err
	}
	return r.public(), nil
}

// rendered is a RenderedRequest as build makes it, with the headers in
// order (canonical names; a later header replaces an earlier one of the
// same name), which a call sets on its request without a map in between.
type rendered struct {
	Method, URL, Body string
	headers           []header
}

func (r *rendered) public() *RenderedRequest {
	out := &RenderedRequest{Method: r.Method, URL: r.URL, Headers: make(map[string]string, len(r.headers)), Body: r.Body}
	for _, h := range r.headers {
		out.Headers[h.key] = h.value
	}
	return out
}

func (s *Server) lookup(tool string) (*compiledTool, error) {
	if s.def.Type != TypeREST {
		return nil, fmt.Errorf("%w: server %q is an mcp-proxy; its tools are served by %s", ErrNotREST, s.def.Name, MaskURLCredentials(s.def.Server.MCPServerURL))
	}
	t, ok := s.byName[tool]
	if !ok || !t.allowed {
		names := make([]string, len(s.specs))
		for i, sp := range s.specs {
			names[i] = sp.Name
		}
		has := "no tools"
		if len(names) > 0 {
			has = "tools " + strings.Join(names, ", ")
		}
		return nil, fmt.Errorf("%w %q: server %q has %s", ErrUnknownTool, tool, s.def.Name, has)
	}
	return t, nil
}

// prepareArgs keeps the declared arguments, fills defaults and converts
// values to the declared types as Higress does; a missing required
// argument is an error.
func (t *compiledTool) prepareArgs(in map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(t.def.Args))
	var missing []string
	for _, a := range t.def.Args {
		v, ok := in[a.Name]
		if !ok || v == nil {
			if a.Default != nil {
				out[a.Name] = normalizeArg(a.Default) // a copy: maps and slices are rebuilt
			} else if a.Required {
				missing = append(missing, a.Name)
			}
			continue
		}
		out[a.Name] = convertArg(a.Type, v)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: tool %q needs %s", ErrInvalidArguments, t.def.Name, quoteList(missing))
	}
	if err := t.checkArgs(out); err != nil {
		return nil, err
	}
	return out, nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

func convertArg(typ string, v any) any {
	v = normalizeArg(v)
	switch typ {
	case "boolean":
		if s, ok := v.(string); ok {
			switch s {
			case "true":
				return true
			case "false":
				return false
			}
		}
	case "integer":
		switch x := v.(type) {
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int64(x)
			}
		case string:
			if i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return i
			}
		}
	case "number":
		if s, ok := v.(string); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
				return f
			}
		}
	}
	return v
}

// normalizeArg makes argument values look like decoded JSON: integers of
// any Go type become int64, json.Number becomes int64 or float64.
func normalizeArg(v any) any {
	switch x := v.(type) {
	case json.Number:
		return numberValue(x)
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case float32:
		return float64(x)
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = normalizeArg(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = normalizeArg(e)
		}
		return l
	}
	return v
}

// deepCopy copies maps and slices so templates (Sprig's set, for one)
// cannot change values shared between calls.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

// argString is how an argument value goes into a URL, header, cookie or
// form: strings as they are, numbers and booleans printed, the rest as
// JSON.
func argString(v any) string {
	switch v.(type) {
	case map[string]any, []any:
		return compactJSON(v)
	}
	if rv := reflect.ValueOf(v); rv.IsValid() && (rv.Kind() == reflect.Map || rv.Kind() == reflect.Slice) {
		return compactJSON(v)
	}
	return printString(v)
}

type header struct{ key, value string }

func (s *Server) templateData(args map[string]any) map[string]any {
	return map[string]any{"config": deepCopy(s.config), "args": args}
}

// build renders the request the way Higress's REST-to-MCP does (see the
// package documentation).
func (s *Server) build(t *compiledTool, args map[string]any, in *http.Request) (rendered, error) {
	// The data (a copy of config) only for templates that are not
	// constant (most URLs and headers are, once config is known).
	var data map[string]any
	if t.url == nil || !t.url.isConstant || (t.body != nil && !t.body.isConstant) ||
		slices.ContainsFunc(t.headers, func(h compiledHeader) bool { return !h.value.isConstant }) {
		data = s.templateData(args)
	}
	env := &execEnv{req: in}
	urlStr, err := t.url.execute(data, env)
	if err != nil {
		return rendered{}, err
	}
	headers := make([]header, 0, len(t.headers)+4)
	for _, h := range t.headers {
		v, err := h.value.execute(data, env)
		if err != nil {
			return rendered{}, err
		}
		headers = append(headers, header{h.key, v})
	}

	// The names of the arguments given, by position, in declaration order
	// (the buffers keep the usual few off the heap).
	var pathBuf, queryBuf [8]string
	pathArgs := t.argNames(pathBuf[:0], args, "path")
	queryArgs := t.argNames(queryBuf[:0], args, "query")
	if t.def.RequestTemplate.ArgsToURLParam {
		queryArgs = t.argNames(queryArgs, args, "")
	}
	fail := func(format string, a ...any) error {
		field := fmt.Sprintf("tools[%d].requestTemplate.url", t.index)
		return &FieldError{Field: field, Tool: t.def.Name, Message: fmt.Sprintf("tool %q: ", t.def.Name) + fmt.Sprintf(format, a...)}
	}
	// {name} placeholders: one path segment before the query, a query
	// value after it, so no argument changes the URL's shape.
	for _, name := range pathArgs {
		ph := "{" + name + "}"
		if !strings.Contains(urlStr, ph) {
			continue
		}
		v := argString(args[name])
		head, tail, hasQuery := strings.Cut(urlStr, "?")
		if strings.Contains(head, ph) {
			seg, err := pathSegment(v)
			if err != nil {
				return rendered{}, fmt.Errorf("%w: tool %q: argument %q: %v", ErrInvalidArguments, t.def.Name, name, err)
			}
			head = strings.ReplaceAll(head, ph, seg)
		}
		if hasQuery {
			tail = strings.ReplaceAll(tail, ph, url.QueryEscape(v))
			urlStr = head + "?" + tail
		} else {
			urlStr = head
		}
	}
	urlStr = strings.TrimSpace(urlStr)
	origin := t.urlShape.origin
	if strings.HasPrefix(urlStr, "/") && !strings.HasPrefix(urlStr, "//") {
		base := s.serviceBase()
		if base == "" {
			return rendered{}, fail("the url is relative (a path); give the MCP server a service (a Gatehouse service) for relative URLs to resolve against, or write an absolute http(s) URL")
		}
		bu, _ := url.Parse(base)
		origin = strings.ToLower(bu.Scheme + "://" + bu.Host)
		urlStr = strings.TrimSuffix(base, "/") + urlStr
	}
	u, err := url.Parse(urlStr)
	if err != nil {
		return rendered{}, fail("rendered to something that is not a URL: %v", unwrapURLError(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return rendered{}, fail("rendered to %q, which is not an absolute http(s) URL", redactURL(urlStr))
	}
	// The host is the definition's, never the caller's: a credential for
	// it must not go elsewhere.
	if t.urlShape.hostFromRequest {
		return rendered{}, fail("the url template takes its scheme or host from the call (an argument or the request); refused so that no call chooses where the tool's request and credentials go: write the host literally, from .config, or use service")
	}
	if sfx := t.urlShape.hostSuffix; sfx != "" && !strings.HasSuffix(strings.ToLower(u.Host), sfx) {
		return rendered{}, fail("the arguments moved the request's host %s out of the definition's domain %s; refused, nothing was sent", strings.ToLower(u.Host), strings.TrimPrefix(sfx, "."))
	}
	if got := strings.ToLower(u.Scheme + "://" + u.Host); origin != "" && got != origin {
		return rendered{}, fail("the arguments changed the request's destination from %s to %s; refused, nothing was sent", origin, got)
	}
	u.RawQuery = setQuery(u.RawQuery, queryArgs, args)

	for _, a := range t.args {
		if v, ok := args[a.name]; ok && a.pos == "header" {
			headers = append(headers, header{a.name, argString(v)})
		}
	}
	for _, a := range t.args {
		if v, ok := args[a.name]; ok && a.pos == "cookie" {
			headers = addCookie(headers, a.name, argString(v))
		}
	}

	rt := &t.def.RequestTemplate
	hasJSON := hasContentType(headers, "application/json")
	hasForm := hasContentType(headers, "application/x-www-form-urlencoded")
	var body string
	switch {
	case t.body != nil:
		if body, err = t.body.execute(data, env); err != nil {
			return rendered{}, err
		}
		trimmed := strings.TrimSpace(body)
		if !hasJSON && len(trimmed) > 1 &&
			((trimmed[0] == '{' && trimmed[len(trimmed)-1] == '}') || (trimmed[0] == '[' && trimmed[len(trimmed)-1] == ']')) &&
			json.Valid([]byte(trimmed)) {
			headers = append(headers, header{"Content-Type", "application/json; charset=utf-8"})
		}
	case rt.ArgsToJSONBody:
		names := t.argNames(t.argNames(nil, args, "body"), args, "")
		obj := make(map[string]any, len(names))
		for _, name := range names {
			obj[name] = args[name]
		}
		body = compactJSON(obj)
		if !hasJSON {
			headers = append(headers, header{"Content-Type", "application/json; charset=utf-8"})
		}
	case rt.ArgsToFormBody:
		form := url.Values{}
		for _, name := range t.argNames(t.argNames(nil, args, "body"), args, "") {
			form.Set(name, argString(args[name]))
		}
		body = form.Encode()
		if !hasForm {
			headers = append(headers, header{"Content-Type", "application/x-www-form-urlencoded"})
		}
	case slices.ContainsFunc(t.args, func(a argPosition) bool { _, ok := args[a.name]; return ok && a.pos == "body" }):
		bodyArgs := t.argNames(nil, args, "body")
		if hasForm {
			form := url.Values{}
			for _, name := range bodyArgs {
				form.Set(name, argString(args[name]))
			}
			body = form.Encode()
		} else {
			obj := make(map[string]any, len(bodyArgs))
			for _, name := range bodyArgs {
				obj[name] = args[name]
			}
			body = compactJSON(obj)
			if !hasJSON {
				headers = append(headers, header{"Content-Type", "application/json; charset=utf-8"})
			}
		}
	}
	if !slices.ContainsFunc(headers, func(h header) bool { return strings.EqualFold(h.key, "Accept") }) {
		headers = append(headers, header{"Accept", "*/*"})
	}
	headers = s.applySecurity(t, u, headers, in)

	// Rebuild the URL as Higress does: the escaped path and the re-encoded query.
	var b strings.Builder
	path := u.EscapedPath()
	b.Grow(len(u.Scheme) + len("://@") + len(u.Host) + len(path) + 1 + len(u.RawQuery))
	b.WriteString(u.Scheme)
	b.WriteString("://")
	if u.User != nil {
		b.WriteString(u.User.String())
		b.WriteByte('@')
	}
	b.WriteString(u.Host)
	b.WriteString(path)
	if u.RawQuery != "" {
		b.WriteByte('?')
		b.WriteString(u.RawQuery)
	}
	if u.Fragment != "" {
		b.WriteByte('#')
		b.WriteString(u.EscapedFragment())
	}
	for i := range headers {
		headers[i].key = textproto.CanonicalMIMEHeaderKey(headers[i].key)
	}
	return rendered{Method: t.method, URL: b.String(), Body: body, headers: headers}, nil
}

// argNames appends to dst the names of the arguments in args at position
// pos, in declaration order.
func (t *compiledTool) argNames(dst []string, args map[string]any, pos string) []string {
	for _, a := range t.args {
		if _, ok := args[a.name]; ok && a.pos == pos {
			dst = append(dst, a.name)
		}
	}
	return dst
}

// setQuery returns the query raw with each of names set to its argument,
// encoded as url.Values encodes (sorted by name); names may be sorted in
// place. Without a query in the template, as for most tools, it takes no
// detour through url.Values.
func setQuery(raw string, names []string, args map[string]any) string {
	if raw != "" {
		query, _ := url.ParseQuery(raw) // as url.URL.Query
		for _, name := range names {
			query.Set(name, argString(args[name]))
		}
		return query.Encode()
	}
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	var pairs [8][2]string
	kv := pairs[:0]
	n := 0
	for _, name := range names {
		k, v := url.QueryEscape(name), url.QueryEscape(argString(args[name]))
		kv = append(kv, [2]string{k, v})
		n += len(k) + len(v) + 2
	}
	var b strings.Builder
	b.Grow(n)
	for i, p := range kv {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p[0])
		b.WriteByte('=')
		b.WriteString(p[1])
	}
	return b.String()
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok { //nolint:errorlint // url.Parse returns *url.Error itself
		return ue.Err
	}
	return err
}

func hasContentType(headers []header, sub string) bool {
	return slices.ContainsFunc(headers, func(h header) bool {
		return strings.EqualFold(h.key, "Content-Type") && strings.Contains(strings.ToLower(h.value), sub)
	})
}

func addCookie(headers []header, name, value string) []header {
	c := name + "=" + value
	for i, h := range headers {
		if strings.EqualFold(h.key, "Cookie") {
			headers[i].value = h.value + "; " + c
			return headers
		}
	}
	return append(headers, header{"Cookie", c})
}

// applySecurity adds the upstream credential: the client's own when the
// tool passes it through and the client sent one, else the requirement's
// credential, else the scheme's default. Without any, the request goes
// without (as in Higress) and the upstream will say so.
func (s *Server) applySecurity(t *compiledTool, u *url.URL, headers []header, in *http.Request) []header {
	up := t.upstream
	if up == nil {
		return headers
	}
	scheme := s.schemes[up.ID]
	var cred string
	fromClient := false
	if in != nil {
		switch {
		case t.client != nil && t.client.Passthrough:
			cred = clientCredential(s.schemes[t.client.ID], in)
		case t.client == nil && up.Passthrough:
			cred = clientCredential(scheme, in)
		}
		fromClient = cred != ""
	}
	if cred == "" {
		cred = scheme.DefaultCredential
		if up.Credential != "" {
			cred = up.Credential
		}
	}
	if cred == "" {
		return headers
	}
	switch scheme.Type {
	case "http":
		value := cred
		switch strings.ToLower(scheme.Scheme) {
		case "basic":
			if !strings.HasPrefix(value, "Basic ") {
				if !fromClient && strings.Contains(cred, ":") {
					value = "Basic " + base64.StdEncoding.EncodeToString([]byte(cred))
				} else {
					value = "Basic " + cred
				}
			}
		case "bearer":
			if !strings.HasPrefix(value, "Bearer ") {
				value = "Bearer " + cred
			}
		}
		headers = setHeader(headers, "Authorization", value)
	case "apiKey":
		switch scheme.In {
		case "header":
			headers = setHeader(headers, scheme.Name, cred)
		case "query":
			q := u.Query()
			q.Set(scheme.Name, cred)
			u.RawQuery = q.Encode()
		case "cookie":
			headers = addCookie(headers, scheme.Name, cred)
		}
	}
	return headers
}

func setHeader(headers []header, key, value string) []header {
	headers = slices.DeleteFunc(headers, func(h header) bool { return strings.EqualFold(h.key, key) })
	return append(headers, header{key, value})
}

// clientCredential extracts the credential a client sent for scheme: the
// token of a Bearer or Basic Authorization header, or the API key from
// its header, query parameter or cookie.
func clientCredential(scheme SecurityScheme, in *http.Request) string {
	switch scheme.Type {
	case "http":
		auth := in.Header.Get("Authorization")
		prefix := strings.ToLower(scheme.Scheme) + " "
		if len(auth) > len(prefix) && strings.EqualFold(auth[:len(prefix)], prefix) {
			return strings.TrimSpace(auth[len(prefix):])
		}
	case "apiKey":
		switch scheme.In {
		case "header":
			return in.Header.Get(scheme.Name)
		case "query":
			if in.URL != nil {
				return in.URL.Query().Get(scheme.Name)
			}
		case "cookie":
			if c, err := in.Cookie(scheme.Name); err == nil {
				return c.Value
			}
		}
	}
	return ""
}

// responseData is what response templates see: the parsed JSON body (with
// .args and .config added to an object that lacks them), or the raw text
// as ._body when the body is not JSON. raw is the JSON body, which gjson
// evaluates at the root without re-encoding.
func (s *Server) responseData(body []byte, args map[string]any) (data any, raw []byte) {
	v, err := decodeJSONValue(body)
	if err != nil {
		return map[string]any{"_body": string(body), "args": args, "config": deepCopy(s.publicConfig)}, nil
	}
	if obj, ok := v.(map[string]any); ok {
		if _, taken := obj["args"]; !taken {
			obj["args"] = args
		}
		if _, taken := obj["config"]; !taken {
			obj["config"] = deepCopy(s.publicConfig)
		}
	}
	return v, body
}

// errorData adds the response headers as ._headers (lower-case names, and
// ":status"), as Higress does for errorResponseTemplate.
func errorData(data any, resp *http.Response) any {
	h := make(map[string]any, len(resp.Header)+1)
	for k, v := range resp.Header {
		h[strings.ToLower(k)] = strings.Join(v, ",")
	}
	h[":status"] = strconv.Itoa(resp.StatusCode)
	if obj, ok := data.(map[string]any); ok {
		obj = maps.Clone(obj)
		obj["_headers"] = h
		return obj
	}
	return map[string]any{"_headers": h, "_body": printString(data)}
}
