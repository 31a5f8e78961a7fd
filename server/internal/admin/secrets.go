package admin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// Secrets in configuration objects (API keys, upstream credentials) never
// leave the admin API: every response shows secretMask in their place, and
// a request that sends secretMask back where a secret is stored keeps the
// stored secret. Which values are secrets:
//
//   - plugin instances: every value at a property its plugin's config
//     schema marks "writeOnly": true (key-auth's consumers[].key); when the
//     plugin's schema is unknown (the plugin did not load), every value
//     whose property name looks secret (secretName);
//   - MCP servers: server.securitySchemes[].defaultCredential, the
//     credential of every security requirement (server.defaultUpstreamSecurity,
//     server.defaultDownstreamSecurity, tools[].security,
//     tools[].requestTemplate.security), every value under server.config
//     whose name looks secret (apiKey, accessToken, appCode, …), and the
//     literal value of a request header whose name looks secret
//     (Authorization, X-Api-Key, …; a template such as
//     "Bearer {{.config.apiKey}}" is not a secret and is shown), and the
//     credentials inside the mcp-proxy upstream URL (server.mcpServerURL)
//     and inside each tool's tools[].requestTemplate.url (literal values
//     only: a template is shown):
//     the password of its userinfo (or the user alone, often a token) and
//     the value of every query parameter whose name looks secret
//     (api_key, token, access_token, …). Only those parts of the URL are
//     masked; a masked part is kept on write while the URL keeps its
//     scheme and host.
//
// Revisions show their before and after objects masked the same way.

// secretMask is what responses show in place of a secret. Sending it back
// unchanged keeps the stored secret; sending it where nothing is stored is
// refused (400) with the field named.
const secretMask = "********"

// secretWords are the parts of a property or header name, lowercased,
// that make its value a secret.
var secretWords = []string{"key", "token", "secret", "password", "passwd", "credential", "appcode", "authorization", "cookie"}

// secretName reports whether name looks like the name of a secret.
func secretName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// secretRule says where the secrets of a JSON document are: at the
// location it describes (secret), or below it (field, item). A nil rule
// means nothing is secret at or below a location.
type secretRule interface {
	secret() bool
	// field is the rule of member name of obj.
	field(name string, obj map[string]any) secretRule
	// item is the rule of an array's items.
	item() secretRule
}

// leafRule marks a secret location.
type leafRule struct{}

func (leafRule) secret() bool                            { return true }
func (leafRule) field(string, map[string]any) secretRule { return nil }
func (leafRule) item() secretRule                        { return nil }

// treeRule lists the members and items that are, or hold, secrets.
type treeRule struct {
	fields map[string]secretRule
	items  secretRule
}

func (treeRule) secret() bool { return false }
func (t treeRule) field(name string, _ map[string]any) secretRule {
	if r, ok := t.fields[name]; ok {
		return r
	}
	return nil
}
func (t treeRule) item() secretRule { return t.items }

// namedRule makes every member whose name looks secret a secret, at any
// depth (server.config, or a plugin config without a known schema).
type namedRule struct{}

func (namedRule) secret() bool { return false }
func (namedRule) field(name string, _ map[string]any) secretRule {
	if secretName(name) {
		return leafRule{}
	}
	return namedRule{}
}
func (namedRule) item() secretRule { return namedRule{} }

// headerRule is one {key, value} request header: its value is a secret
// when the header's name looks secret and the value is not a template.
type headerRule struct{}

func (headerRule) secret() bool { return false }
func (headerRule) field(name string, obj map[string]any) secretRule {
	key, _ := obj["key"].(string)
	value, _ := obj["value"].(string)
	if name == "value" && secretName(key) && !strings.Contains(value, "{{") {
		return leafRule{}
	}
	return nil
}
func (headerRule) item() secretRule { return nil }

// urlRule is a URL whose credentials are secrets: the password of its
// userinfo (the user when there is no password: a token) and the values of
// query parameters whose name looks secret (secretQueryName). The rest of
// the URL is not, and is shown.
type urlRule struct{}

func (urlRule) secret() bool                            { return false }
func (urlRule) field(string, map[string]any) secretRule { return nil }
func (urlRule) item() secretRule                        { return nil }

// secretQueryNames are query parameter names, lowercased, that make their
// value a secret besides those secretName finds.
var secretQueryNames = []string{"auth", "sig", "signature", "pass", "pwd"}

// secretQueryName reports whether the raw (still escaped) query parameter
// name looks like the name of a secret.
func secretQueryName(raw string) bool {
	name, err := url.QueryUnescape(raw)
	if err != nil {
		name = raw
	}
	return secretName(name) || slices.Contains(secretQueryNames, strings.ToLower(name))
}

// urlParts is a URL split around its credentials, so that masking and
// restoring change only those and keep the rest byte for byte. It splits
// as net/url does: the fragment first, then the query, then the
// authority.
type urlParts struct {
	head     string // scheme and "://", "" without an authority
	hasUser  bool   // an "…@" userinfo is present
	user     string // raw
	hasPass  bool
	pass     string // raw
	hostport string
	path     string
	hasQuery bool
	query    []string // raw name=value pairs
	frag     string   // "#…"
}

func splitURL(s string) urlParts {
	var p urlParts
	rest := s
	if k := strings.IndexByte(rest, '#'); k >= 0 {
		p.frag, rest = rest[k:], rest[:k]
	}
	if k := strings.IndexByte(rest, '?'); k >= 0 {
		p.hasQuery = true
		if q := rest[k+1:]; q != "" {
			p.query = strings.Split(q, "&")
		}
		rest = rest[:k]
	}
	k := strings.Index(rest, "://")
	if k < 0 {
		p.path = rest
		return p
	}
	p.head, rest = rest[:k+3], rest[k+3:]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		p.path, rest = rest[j:], rest[:j]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		p.hasUser = true
		p.user, p.pass, p.hasPass = strings.Cut(rest[:at], ":")
		rest = rest[at+1:]
	}
	p.hostport = rest
	return p
}

func (p urlParts) String() string {
	var b strings.Builder
	b.WriteString(p.head)
	if p.hasUser {
		b.WriteString(p.user)
		if p.hasPass {
			b.WriteString(":" + p.pass)
		}
		b.WriteString("@")
	}
	b.WriteString(p.hostport)
	b.WriteString(p.path)
	if p.hasQuery {
		b.WriteString("?" + strings.Join(p.query, "&"))
	}
	b.WriteString(p.frag)
	return b.String()
}

// userSecret returns the part of the userinfo that is a secret: the
// password, or the user when there is no password.
func (p *urlParts) userSecret() (*string, string) {
	switch {
	case p.hasPass:
		return &p.pass, "password"
	case p.hasUser:
		return &p.user, "user"
	}
	return nil, ""
}

// queryValue returns the raw value of the n-th (from 0) query parameter
// named name.
func (p urlParts) queryValue(name string, n int) (string, bool) {
	for _, kv := range p.query {
		k, v, _ := strings.Cut(kv, "=")
		if k != name {
			continue
		}
		if n == 0 {
			return v, true
		}
		n--
	}
	return "", false
}

// isTemplate reports whether a value is a template ({{.config.apiKey}}):
// what it names is masked where it is stored, the text itself is not a
// secret.
func isTemplate(v string) bool { return strings.Contains(v, "{{") }

// maskURL masks the credentials of URL s (urlRule).
func maskURL(s string) (string, bool) {
	p := splitURL(s)
	changed := false
	if sec, _ := p.userSecret(); sec != nil && *sec != "" && !isTemplate(*sec) {
		*sec, changed = secretMask, true
	}
	for i, kv := range p.query {
		k, v, ok := strings.Cut(kv, "=")
		if ok && v != "" && !isTemplate(v) && secretQueryName(k) {
			p.query[i], changed = k+"="+secretMask, true
		}
	}
	if !changed {
		return s, false
	}
	return p.String(), true
}

// restoreURL puts the stored credentials back where URL in has the mask
// (urlRule). A credential is kept only while the URL keeps the stored
// scheme and host, so that a changed URL cannot carry it to another
// server; a mask without a credential to keep is added to missing.
func restoreURL(in, stored, path string, missing *[]string) (string, bool) {
	if !strings.Contains(in, secretMask) {
		return in, false
	}
	p, sp := splitURL(in), splitURL(stored)
	same := stored != "" && strings.EqualFold(p.head, sp.head) && strings.EqualFold(p.hostport, sp.hostport)
	changed := false
	if sec, part := p.userSecret(); sec != nil && *sec == secretMask {
		ssec, spart := sp.userSecret()
		if same && ssec != nil && spart == part && *ssec != "" && *ssec != secretMask {
			*sec, changed = *ssec, true
		} else {
			*missing = append(*missing, path+" ("+part+")")
		}
	}
	seen := map[string]int{}
	for i, kv := range p.query {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		n := seen[k]
		seen[k]++
		if v != secretMask || !secretQueryName(k) {
			continue
		}
		if sv, found := sp.queryValue(k, n); same && found && sv != "" && sv != secretMask {
			p.query[i], changed = k+"="+sv, true
			continue
		}
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		*missing = append(*missing, path+" (query parameter "+name+")")
	}
	if !changed {
		return in, false
	}
	return p.String(), true
}

// urlSecrets returns the credentials of URL s (urlRule), as written and
// decoded, and user:password as sent in Basic credentials.
func urlSecrets(s string) []string {
	p := splitURL(s)
	var out []string
	add := func(raw string, unescape func(string) (string, error)) {
		if raw == "" || raw == secretMask || isTemplate(raw) {
			return
		}
		out = append(out, raw)
		if d, err := unescape(raw); err == nil && d != raw {
			out = append(out, d)
		}
	}
	if sec, _ := p.userSecret(); sec != nil {
		add(*sec, url.PathUnescape)
		if p.hasPass && p.pass != "" && p.pass != secretMask {
			user, _ := url.PathUnescape(p.user)
			pass, _ := url.PathUnescape(p.pass)
			out = append(out, user+":"+pass)
		}
	}
	for _, kv := range p.query {
		if k, v, ok := strings.Cut(kv, "="); ok && secretQueryName(k) {
			add(v, url.QueryUnescape)
		}
	}
	return out
}

// requirementRule is a security requirement {id, credential, passthrough}.
var requirementRule = treeRule{fields: map[string]secretRule{"credential": leafRule{}}}

// mcpServerRule is where an MCP server definition keeps secrets.
var mcpServerRule = treeRule{fields: map[string]secretRule{
	"server": treeRule{fields: map[string]secretRule{
		"config": namedRule{},
		"securitySchemes": treeRule{items: treeRule{fields: map[string]secretRule{
			"defaultCredential": leafRule{},
		}}},
		"defaultUpstreamSecurity":   requirementRule,
		"defaultDownstreamSecurity": requirementRule,
		"mcpServerURL":              urlRule{},
	}},
	"tools": treeRule{items: treeRule{fields: map[string]secretRule{
		"security": requirementRule,
		"requestTemplate": treeRule{fields: map[string]secretRule{
			"security": requirementRule,
			"url":      urlRule{},
			"headers":  treeRule{items: headerRule{}},
		}},
	}}},
}}

// schemaRule follows a plugin's config schema: a location is secret when
// a schema that applies to it says "writeOnly": true. It walks
// properties, additionalProperties and items, through allOf, anyOf, oneOf,
// if/then/else and local $ref.
type schemaRule struct {
	root  map[string]any
	nodes []map[string]any
}

// maxSchemaDepth bounds $ref and combinator expansion (cyclic schemas).
const maxSchemaDepth = 16

// newSchemaRule returns the rule of a JSON Schema, nil when the schema
// marks nothing writeOnly, and ok false when it is not a JSON object.
func newSchemaRule(schema json.RawMessage) (secretRule, bool) {
	var root map[string]any
	if err := json.Unmarshal(schema, &root); err != nil || root == nil {
		return nil, false
	}
	if !bytes.Contains(schema, []byte(`"writeOnly"`)) {
		return nil, true
	}
	return schemaRule{root: root, nodes: []map[string]any{root}}, true
}

// expand returns the nodes with every subschema that applies at the same
// location (combinators and $ref) added.
func (r schemaRule) expand() []map[string]any {
	var out []map[string]any
	seen := map[uintptr]bool{} // a subschema reached twice (cyclic $ref) counts once
	var add func(n map[string]any, depth int)
	add = func(n map[string]any, depth int) {
		if n == nil || depth > maxSchemaDepth {
			return
		}
		p := reflect.ValueOf(n).Pointer()
		if seen[p] {
			return
		}
		seen[p] = true
		out = append(out, n)
		if ref, ok := n["$ref"].(string); ok {
			add(r.resolve(ref), depth+1)
		}
		for _, k := range []string{"allOf", "anyOf", "oneOf"} {
			list, _ := n[k].([]any)
			for _, sub := range list {
				m, _ := sub.(map[string]any)
				add(m, depth+1)
			}
		}
		for _, k := range []string{"then", "else"} {
			m, _ := n[k].(map[string]any)
			add(m, depth+1)
		}
	}
	for _, n := range r.nodes {
		add(n, 0)
	}
	return out
}

// resolve follows a local JSON pointer ("#/$defs/consumer").
func (r schemaRule) resolve(ref string) map[string]any {
	if ref == "#" {
		return r.root
	}
	if !strings.HasPrefix(ref, "#/") {
		return nil
	}
	var cur any = r.root
	for _, tok := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[tok]
	}
	m, _ := cur.(map[string]any)
	return m
}

func (r schemaRule) secret() bool {
	for _, n := range r.expand() {
		if b, _ := n["writeOnly"].(bool); b {
			return true
		}
	}
	return false
}

func (r schemaRule) field(name string, _ map[string]any) secretRule {
	nodes := r.expand()
	var next []map[string]any
	for _, n := range nodes {
		props, _ := n["properties"].(map[string]any)
		if sub, ok := props[name].(map[string]any); ok {
			next = append(next, sub)
		}
	}
	if len(next) == 0 {
		for _, n := range nodes {
			if sub, ok := n["additionalProperties"].(map[string]any); ok {
				next = append(next, sub)
			}
		}
	}
	return r.with(next)
}

func (r schemaRule) item() secretRule {
	var next []map[string]any
	for _, n := range r.expand() {
		if sub, ok := n["items"].(map[string]any); ok {
			next = append(next, sub)
		}
	}
	return r.with(next)
}

func (r schemaRule) with(nodes []map[string]any) secretRule {
	if len(nodes) == 0 {
		return nil
	}
	return schemaRule{root: r.root, nodes: nodes}
}

// maskValue replaces every value at a secret location of v (decoded JSON)
// by secretMask, in place, and reports whether it replaced any. Empty
// values (null, "") are left as they are: there is nothing to hide.
func maskValue(v any, r secretRule) (any, bool) {
	if r == nil {
		return v, false
	}
	if _, ok := r.(urlRule); ok {
		if s, ok := v.(string); ok {
			return maskURL(s)
		}
		return v, false
	}
	if r.secret() {
		if v == nil || v == "" {
			return v, false
		}
		return secretMask, true
	}
	changed := false
	switch t := v.(type) {
	case map[string]any:
		for k, cv := range t {
			if nv, ch := maskValue(cv, r.field(k, t)); ch {
				t[k], changed = nv, true
			}
		}
	case []any:
		ir := r.item()
		for i, cv := range t {
			if nv, ch := maskValue(cv, ir); ch {
				t[i], changed = nv, true
			}
		}
	}
	return v, changed
}

// restoreValue puts the stored secret back wherever in (decoded JSON) has
// secretMask at a secret location, in place. stored is the object as
// stored (nil when there is none); array items are matched by their name
// or id when they have one (so a consumer keeps its own key when others
// are added, removed or reordered), else by position. path names the
// location in field errors; missing collects the masked locations with
// no stored secret. It reports whether it replaced any mask.
func restoreValue(in, stored any, r secretRule, path string, missing *[]string) (any, bool) {
	if r == nil {
		return in, false
	}
	if _, ok := r.(urlRule); ok {
		s, ok := in.(string)
		if !ok {
			return in, false
		}
		ss, _ := stored.(string)
		return restoreURL(s, ss, path, missing)
	}
	if r.secret() {
		if in != secretMask {
			return in, false
		}
		if stored == nil || stored == "" || stored == secretMask {
			*missing = append(*missing, path)
			return in, false
		}
		return stored, true
	}
	changed := false
	switch t := in.(type) {
	case map[string]any:
		sm, _ := stored.(map[string]any)
		for k, cv := range t {
			if nv, ch := restoreValue(cv, sm[k], r.field(k, t), joinPath(path, k), missing); ch {
				t[k], changed = nv, true
			}
		}
	case []any:
		sa, _ := stored.([]any)
		ir := r.item()
		for i, cv := range t {
			if nv, ch := restoreValue(cv, counterpart(cv, i, sa), ir, path+"["+strconv.Itoa(i)+"]", missing); ch {
				t[i], changed = nv, true
			}
		}
	}
	return in, changed
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// identity is an array item's name, else its id, else "".
func identity(v any) string {
	m, _ := v.(map[string]any)
	for _, k := range []string{"name", "id"} {
		if s, _ := m[k].(string); s != "" {
			return k + "=" + s
		}
	}
	return ""
}

// counterpart is the stored item that corresponds to in, item i of a
// request's array.
func counterpart(in any, i int, stored []any) any {
	if id := identity(in); id != "" {
		for _, s := range stored {
			if identity(s) == id {
				return s
			}
		}
		return nil
	}
	if i < len(stored) {
		return stored[i]
	}
	return nil
}

// decodeValue decodes JSON keeping numbers exact.
func decodeValue(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// maskJSON returns data with its secrets masked; data itself when it has
// none. Data that is not JSON (no stored object is) is masked whole.
func maskJSON(data []byte, r secretRule) []byte {
	if r == nil || len(data) == 0 {
		return data
	}
	whole := []byte(strconv.Quote(secretMask))
	v, err := decodeValue(data)
	if err != nil {
		return whole
	}
	v, changed := maskValue(v, r)
	if !changed {
		return data
	}
	out, err := json.Marshal(v)
	if err != nil {
		return whole
	}
	return out
}

// restoreJSON returns in with the stored secrets put back where it has
// the mask, or an error naming every masked field without a stored secret.
func restoreJSON(code string, in, stored []byte, r secretRule, path string) ([]byte, error) {
	if r == nil || len(in) == 0 || !bytes.Contains(in, []byte(secretMask)) {
		return in, nil
	}
	v, err := decodeValue(in)
	if err != nil {
		return in, nil // not JSON: validation reports it
	}
	var sv any
	if len(stored) > 0 {
		if sv, err = decodeValue(stored); err != nil {
			return nil, fmt.Errorf("read the stored %s: %w", path, err)
		}
	}
	var missing []string
	v, changed := restoreValue(v, sv, r, path, &missing)
	if len(missing) > 0 {
		sort.Strings(missing)
		details := make([]fieldDetail, len(missing))
		for i, f := range missing {
			details[i] = fieldDetail{Field: f, Message: fmt.Sprintf("is %q, the mask the API shows in place of a secret, but no secret is stored there to keep; send the secret itself", secretMask)}
			if field, part, ok := strings.Cut(f, " ("); ok {
				// A credential inside a URL (urlRule).
				details[i] = fieldDetail{Field: field, Message: fmt.Sprintf("its %s is %q, the mask the API shows in place of a secret, but no credential is stored for this scheme and host to keep; send the credential itself",
					strings.TrimSuffix(part, ")"), secretMask)}
			}
		}
		return nil, newError(http.StatusBadRequest, code+"_invalid",
			fmt.Sprintf("the change was refused and nothing was changed: %s holds the mask %q where no secret is stored; send the secret itself (the mask keeps a stored secret only on update)", strings.Join(missing, ", "), secretMask),
			details...)
	}
	if !changed {
		return in, nil
	}
	return json.Marshal(v)
}

// secretRules finds the rule of each kind of object. It is built per
// request: plugins' schemas come from the plugin catalog.
type secretRules struct {
	schemas map[string]json.RawMessage // plugin name → config schema
	rules   map[string]secretRule      // plugin name → rule, parsed once
}

// secretRules loads the config schemas of the loaded plugins. Without a
// catalog (or when it fails) every plugin falls back to secret names, so
// that nothing is shown that might be a secret.
func (s *Server) secretRules(ctx context.Context) secretRules {
	sr := secretRules{schemas: map[string]json.RawMessage{}, rules: map[string]secretRule{}}
	if s.opts.Plugins == nil {
		return sr
	}
	items, err := s.opts.Plugins.List(ctx)
	if err != nil {
		s.log.Warn("plugin config schemas unavailable; masking plugin configs by property name", "error", err)
		return sr
	}
	for _, p := range items {
		if len(p.ConfigSchema) > 0 {
			sr.schemas[p.Name] = p.ConfigSchema
		}
	}
	return sr
}

// plugin is the rule of plugin's config.
func (sr secretRules) plugin(plugin string) secretRule {
	if r, ok := sr.rules[plugin]; ok {
		return r
	}
	var r secretRule = namedRule{}
	if schema, ok := sr.schemas[plugin]; ok {
		if sch, ok := newSchemaRule(schema); ok {
			r = sch
		}
	}
	if sr.rules != nil {
		sr.rules[plugin] = r
	}
	return r
}

func (sr secretRules) maskPluginInstance(p spec.PluginInstance) spec.PluginInstance {
	p.Config = maskJSON(p.Config, sr.plugin(p.Plugin))
	return p
}

func (sr secretRules) restorePluginInstance(in spec.PluginInstance, stored *spec.PluginInstance) (spec.PluginInstance, error) {
	var was []byte
	if stored != nil && stored.Plugin == in.Plugin {
		was = stored.Config
	}
	cfg, err := restoreJSON("plugin_instance", in.Config, was, sr.plugin(in.Plugin), "config")
	if err != nil {
		return in, err
	}
	in.Config = cfg
	return in, nil
}

func maskMCPServer(m spec.MCPServer) spec.MCPServer {
	m.Definition = maskJSON(m.Definition, mcpServerRule)
	return m
}

func restoreMCPServer(in spec.MCPServer, stored *spec.MCPServer) (spec.MCPServer, error) {
	var was []byte
	if stored != nil {
		was = stored.Definition
	}
	def, err := restoreJSON("mcp_server", in.Definition, was, mcpServerRule, "")
	if err != nil {
		return in, err
	}
	in.Definition = def
	return in, nil
}

// revision masks a revision's before or after object of kind.
func (sr secretRules) revision(kind string, data []byte) []byte {
	switch kind {
	case spec.KindPluginInstance:
		var head struct {
			Plugin string `json:"plugin"`
		}
		_ = json.Unmarshal(data, &head)
		return maskJSON(data, treeRule{fields: map[string]secretRule{"config": sr.plugin(head.Plugin)}})
	case spec.KindMCPServer:
		return maskJSON(data, mcpServerRule)
	case spec.KindLLMProvider:
		return maskJSON(data, llmProviderRule)
	}
	return data
}

// secretCodec hides and keeps the secrets of one kind of object; its
// functions are nil for kinds without secrets.
type secretCodec struct {
	// mask hides the secrets of v.
	mask func(sr secretRules, v spec.Object) spec.Object
	// restore keeps stored secrets where in has the mask; stored is nil
	// when the object is new.
	restore func(sr secretRules, in, stored spec.Object) (spec.Object, error)
}

// shown returns items as responses show them: secrets masked.
func (r resource) shown(ctx context.Context, s *Server, items []spec.Object) []any {
	out := make([]any, len(items))
	var sr secretRules
	if r.secrets.mask != nil && len(items) > 0 {
		sr = s.secretRules(ctx)
	}
	for i, it := range items {
		if r.secrets.mask != nil {
			it = r.secrets.mask(sr, it)
		}
		out[i] = it
	}
	return out
}

// kept returns obj, read from a request, with the stored secrets put back
// where it sends the mask.
func (r resource) kept(ctx context.Context, s *Server, obj, stored spec.Object) (spec.Object, error) {
	if r.secrets.restore == nil {
		return obj, nil
	}
	return r.secrets.restore(s.secretRules(ctx), obj, stored)
}

var (
	pluginInstanceSecrets = secretCodec{
		mask: func(sr secretRules, o spec.Object) spec.Object { return sr.maskPluginInstance(o.(spec.PluginInstance)) },
		restore: func(sr secretRules, in, stored spec.Object) (spec.Object, error) {
			var was *spec.PluginInstance
			if p, ok := stored.(spec.PluginInstance); ok {
				was = &p
			}
			return sr.restorePluginInstance(in.(spec.PluginInstance), was)
		},
	}
	mcpServerSecrets = secretCodec{
		mask: func(_ secretRules, o spec.Object) spec.Object { return maskMCPServer(o.(spec.MCPServer)) },
		restore: func(_ secretRules, in, stored spec.Object) (spec.Object, error) {
			var was *spec.MCPServer
			if m, ok := stored.(spec.MCPServer); ok {
				was = &m
			}
			return keepMCPSecrets(in.(spec.MCPServer), was)
		},
	}
)

// answer is obj as a response shows it: secrets masked; an MCP server
// also carries the warnings its running instance reports.
func (s *Server) answer(ctx context.Context, r resource, obj spec.Object) any {
	shown := r.shown(ctx, s, []spec.Object{obj})[0]
	if m, isMCP := shown.(spec.MCPServer); isMCP {
		return s.withMCPWarnings(m)
	}
	return shown
}

// The MCP tool endpoints (render and call) answer with what the upstream
// request carried or what came back, which may hold the server's
// credentials: a template puts server.config.apiKey in a header, a query
// parameter or the URL's path. hideToolSecrets replaces each of the
// server's secrets there by secretMask.

// collectSecrets appends the values at v's secret locations to out.
func collectSecrets(v any, r secretRule, out *[]string) {
	if r == nil {
		return
	}
	if _, ok := r.(urlRule); ok {
		if s, ok := v.(string); ok {
			*out = append(*out, urlSecrets(s)...)
		}
		return
	}
	if r.secret() {
		switch t := v.(type) {
		case string:
			if t != "" && t != secretMask {
				*out = append(*out, t)
			}
		case json.Number:
			*out = append(*out, t.String())
		}
		return
	}
	switch t := v.(type) {
	case map[string]any:
		for k, cv := range t {
			collectSecrets(cv, r.field(k, t), out)
		}
	case []any:
		ir := r.item()
		for _, cv := range t {
			collectSecrets(cv, ir, out)
		}
	}
}

// mcpSecretForms lists an MCP server definition's secrets in every form a
// request or a result may carry them: as written, query- and
// path-escaped, JSON-escaped and, for user:password, as Basic
// credentials. Longer forms come first, so that a secret that contains
// another is replaced whole.
func mcpSecretForms(def []byte) []string {
	v, err := decodeValue(def)
	if err != nil {
		return nil
	}
	var secrets []string
	collectSecrets(v, mcpServerRule, &secrets)
	seen := map[string]bool{}
	var forms []string
	add := func(f string) {
		if f != "" && !seen[f] {
			seen[f] = true
			forms = append(forms, f)
		}
	}
	for _, sec := range secrets {
		add(sec)
		add(url.QueryEscape(sec))
		add(url.PathEscape(sec))
		if q, err := json.Marshal(sec); err == nil {
			add(string(q[1 : len(q)-1]))
		}
		if strings.Contains(sec, ":") {
			add(base64.StdEncoding.EncodeToString([]byte(sec)))
		}
	}
	sort.SliceStable(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	return forms
}

// scrubSecrets replaces every form in text by secretMask.
func scrubSecrets(text string, forms []string) string {
	for _, f := range forms {
		text = strings.ReplaceAll(text, f, secretMask)
	}
	return text
}

// mcpSecrets is mcpSecretForms of the MCP server named name in snap.
func mcpSecrets(snap spec.Snapshot, name string) []string {
	for _, m := range snap.MCPServers {
		if m.Name == name {
			return mcpSecretForms(m.Definition)
		}
	}
	return nil
}

// hideInRendered masks an MCP server's secrets (mcpSecrets) in a dry run.
func hideInRendered(forms []string, req *pluginapi.RenderedRequest) {
	if req == nil || len(forms) == 0 {
		return
	}
	req.URL = scrubSecrets(req.URL, forms)
	req.Body = scrubSecrets(req.Body, forms)
	for k, v := range req.Headers {
		req.Headers[k] = scrubSecrets(v, forms)
	}
}

// hideInToolResult masks an MCP server's secrets (mcpSecrets) in a
// tool's result: an upstream error may quote the request, an upstream may
// echo it.
func hideInToolResult(forms []string, res *pluginapi.ToolResult) {
	if res == nil || len(forms) == 0 {
		return
	}
	res.Content = scrubJSON(res.Content, forms, json.RawMessage(`[{"type":"text","text":"hidden: the result contained a credential of this MCP server"}]`))
	res.StructuredContent = scrubJSON(res.StructuredContent, forms, nil)
}

// scrubJSON is scrubSecrets for a JSON document; should the replacement
// break the document (a secret that spans JSON syntax), it answers
// fallback rather than show it.
func scrubJSON(doc json.RawMessage, forms []string, fallback json.RawMessage) json.RawMessage {
	if len(doc) == 0 {
		return doc
	}
	out := json.RawMessage(scrubSecrets(string(doc), forms))
	if !json.Valid(out) {
		return fallback
	}
	return out
}
