// Package secret keeps the secrets of configuration objects (API keys,
// tokens, upstream credentials) out of everything Gatehouse shows: it says
// where a JSON document holds secrets (a Rule), masks them with Mask, and
// puts the stored secret back where a write sends the mask — only while
// the place the secret is sent to (scheme and host, LLM endpoint, MCP
// destinations) is unchanged. It knows nothing of HTTP: spec's object
// types mask themselves with it (spec.SecretHolder) and the admin API maps
// its *Error to a 400. The mask, the secret-name words and the URL
// credential scanner are pluginapi's, shared with the plugins.
package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// Mask is what Gatehouse shows in place of a secret. Sending it back
// unchanged keeps the stored secret; sending it where nothing is stored is
// refused with the field named.
const Mask = pluginapi.SecretMask

// Error is a write refused because it sends Mask where no stored secret
// can be kept. It names every such field; it never contains a secret.
type Error struct {
	// Code is the stable error code, such as "mcp_server_invalid".
	Code    string
	Message string
	Details []Detail
}

// Detail is one refused field.
type Detail struct {
	Field   string
	Message string
}

// Error implements error.
func (e *Error) Error() string { return e.Message }

// Rule says where the secrets of a JSON document are: at the
// location it describes (secret), or below it (field, item). A nil rule
// means nothing is secret at or below a location.
type Rule interface {
	secret() bool
	// field is the rule of member name of obj.
	field(name string, obj map[string]any) Rule
	// item is the rule of an array's items.
	item() Rule
}

// Leaf marks a secret location.
type Leaf struct{}

func (Leaf) secret() bool                      { return true }
func (Leaf) field(string, map[string]any) Rule { return nil }
func (Leaf) item() Rule                        { return nil }

// Tree lists the members and items that are, or hold, secrets.
type Tree struct {
	Fields map[string]Rule
	Items  Rule
}

func (Tree) secret() bool { return false }
func (t Tree) field(name string, _ map[string]any) Rule {
	if r, ok := t.Fields[name]; ok {
		return r
	}
	return nil
}
func (t Tree) item() Rule { return t.Items }

// Named makes every member whose name looks secret a secret, at any
// depth (server.config, or a plugin config without a known schema).
type Named struct{}

func (Named) secret() bool { return false }
func (Named) field(name string, _ map[string]any) Rule {
	if pluginapi.SecretName(name) {
		return Leaf{}
	}
	return Named{}
}
func (Named) item() Rule { return Named{} }

// Header is one {key, value} request header: its value is a secret
// when the header's name looks secret and the value is not a template.
type Header struct{}

func (Header) secret() bool { return false }
func (Header) field(name string, obj map[string]any) Rule {
	key, _ := obj["key"].(string)
	value, _ := obj["value"].(string)
	if name == "value" && pluginapi.SecretName(key) && !strings.Contains(value, "{{") {
		return Leaf{}
	}
	return nil
}
func (Header) item() Rule { return nil }

// URL is a URL whose credentials are secrets: the password of its
// userinfo (the user when there is no password: a token) and the values of
// query parameters whose name looks secret (pluginapi.ScanURLCredentials
// finds them). The rest of the URL is not, and is shown. A masked
// credential is kept on write only while the URL keeps its scheme and host.
type URL struct{}

func (URL) secret() bool                      { return false }
func (URL) field(string, map[string]any) Rule { return nil }
func (URL) item() Rule                        { return nil }

// isTemplate reports whether a value is a template ({{.config.apiKey}}):
// what it names is masked where it is stored, the text itself is not a
// secret.
func isTemplate(v string) bool { return strings.Contains(v, "{{") }

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
func newSchemaRule(schema json.RawMessage) (Rule, bool) {
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

func (r schemaRule) field(name string, _ map[string]any) Rule {
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

func (r schemaRule) item() Rule {
	var next []map[string]any
	for _, n := range r.expand() {
		if sub, ok := n["items"].(map[string]any); ok {
			next = append(next, sub)
		}
	}
	return r.with(next)
}

func (r schemaRule) with(nodes []map[string]any) Rule {
	if len(nodes) == 0 {
		return nil
	}
	return schemaRule{root: r.root, nodes: nodes}
}

// maskValue replaces every value at a secret location of v (decoded JSON)
// by Mask, in place, and reports whether it replaced any. Empty
// values (null, "") are left as they are: there is nothing to hide.
func maskValue(v any, r Rule) (any, bool) {
	if r == nil {
		return v, false
	}
	if _, ok := r.(URL); ok {
		if s, ok := v.(string); ok {
			return maskURL(s)
		}
		return v, false
	}
	if r.secret() {
		if v == nil || v == "" {
			return v, false
		}
		return Mask, true
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
// Mask at a secret location, in place. stored is the object as
// stored (nil when there is none); array items are matched by their name
// or id when they have one (so a consumer keeps its own key when others
// are added, removed or reordered), else by position. path names the
// location in field errors; missing collects the masked locations with
// no stored secret. It reports whether it replaced any mask.
func restoreValue(in, stored any, r Rule, path string, missing *[]string) (any, bool) {
	if r == nil {
		return in, false
	}
	if _, ok := r.(URL); ok {
		s, ok := in.(string)
		if !ok {
			return in, false
		}
		ss, _ := stored.(string)
		return restoreURL(s, ss, path, missing)
	}
	if r.secret() {
		if in != Mask {
			return in, false
		}
		if stored == nil || stored == "" || stored == Mask {
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

// MaskJSON returns data with its secrets masked; data itself when it has
// none. Data that is not JSON (no stored object is) is masked whole.
func MaskJSON(data []byte, r Rule) []byte {
	if r == nil || len(data) == 0 {
		return data
	}
	whole := []byte(strconv.Quote(Mask))
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

// RestoreJSON returns in with the stored secrets put back where it has
// the mask, or an error naming every masked field without a stored secret.
func RestoreJSON(code string, in, stored []byte, r Rule, path string) ([]byte, error) {
	if r == nil || len(in) == 0 || !bytes.Contains(in, []byte(Mask)) {
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
		details := make([]Detail, len(missing))
		for i, f := range missing {
			details[i] = Detail{Field: f, Message: fmt.Sprintf("is %q, the mask the API shows in place of a secret, but no secret is stored there to keep; send the secret itself", Mask)}
			if field, part, ok := strings.Cut(f, " ("); ok {
				// A credential inside a URL (URL).
				details[i] = Detail{Field: field, Message: fmt.Sprintf("its %s is %q, the mask the API shows in place of a secret, but no credential is stored for this scheme and host to keep; send the credential itself",
					strings.TrimSuffix(part, ")"), Mask)}
			}
		}
		return nil, &Error{Code: code + "_invalid", Details: details, Message: fmt.Sprintf("the change was refused and nothing was changed: %s holds the mask %q where no secret is stored; send the secret itself (the mask keeps a stored secret only on update)", strings.Join(missing, ", "), Mask)}
	}
	if !changed {
		return in, nil
	}
	return json.Marshal(v)
}

// Plugins finds the rule of each plugin's config: the locations its
// config schema marks "writeOnly": true. A plugin whose schema is unknown
// (it did not load) falls back to secret names (Named), so that nothing
// is shown that might be a secret. A nil *Plugins knows no schema. It is
// built per request and is not safe for concurrent use.
type Plugins struct {
	schemas map[string]json.RawMessage // plugin name → config schema
	rules   map[string]Rule            // plugin name → rule, parsed once
}

// NewPlugins returns the rules of plugins with these config schemas (by
// plugin name).
func NewPlugins(schemas map[string]json.RawMessage) *Plugins {
	return &Plugins{schemas: schemas, rules: map[string]Rule{}}
}

// Rule is the rule of plugin's config.
func (p *Plugins) Rule(plugin string) Rule {
	if p == nil {
		return Named{}
	}
	if r, ok := p.rules[plugin]; ok {
		return r
	}
	var r Rule = Named{}
	if schema, ok := p.schemas[plugin]; ok {
		if sch, ok := newSchemaRule(schema); ok {
			r = sch
		}
	}
	p.rules[plugin] = r
	return r
}

// maskURL masks the credentials of URL s (the URL rule).
func maskURL(s string) (string, bool) {
	changed := false
	out := pluginapi.ScanURLCredentials(s, func(c pluginapi.URLCredential) string {
		if isTemplate(c.Raw) {
			return c.Raw
		}
		changed = true
		return Mask
	})
	return out, changed
}

// credentialKey names a URL credential for matching it with the stored
// URL's: its part and, for query parameters, name and position.
func credentialKey(c pluginapi.URLCredential) string {
	return c.Part + "\x00" + c.Name + "\x00" + strconv.Itoa(c.N)
}

// restoreURL puts the stored credentials back where URL in has the mask
// (the URL rule). A credential is kept only while the URL keeps the stored
// scheme and host, so that a changed URL cannot carry it to another
// server; a mask without a credential to keep is added to missing.
func restoreURL(in, stored, path string, missing *[]string) (string, bool) {
	if !strings.Contains(in, Mask) {
		return in, false
	}
	same := stored != "" && pluginapi.URLOrigin(in) == pluginapi.URLOrigin(stored)
	was := map[string]string{}
	pluginapi.ScanURLCredentials(stored, func(c pluginapi.URLCredential) string {
		was[credentialKey(c)] = c.Raw
		return c.Raw
	})
	changed := false
	out := pluginapi.ScanURLCredentials(in, func(c pluginapi.URLCredential) string {
		if c.Raw != Mask {
			return c.Raw
		}
		if sv, ok := was[credentialKey(c)]; same && ok && sv != Mask {
			changed = true
			return sv
		}
		part := c.Part
		if c.Part == pluginapi.URLQuery {
			part += " " + c.ParamName()
		}
		*missing = append(*missing, path+" ("+part+")")
		return c.Raw
	})
	if !changed {
		return in, false
	}
	return out, true
}

// urlSecrets returns the credentials of URL s (the URL rule), as written
// and decoded, and user:password as sent in Basic credentials.
func urlSecrets(s string) []string {
	var out []string
	pluginapi.ScanURLCredentials(s, func(c pluginapi.URLCredential) string {
		if c.Raw == Mask || isTemplate(c.Raw) {
			return c.Raw
		}
		out = append(out, c.Raw)
		d, err := c.Unescaped()
		if err == nil && d != c.Raw {
			out = append(out, d)
		}
		if c.Part == pluginapi.URLPassword {
			user, _ := url.PathUnescape(c.User)
			pass, _ := url.PathUnescape(c.Raw)
			out = append(out, user+":"+pass)
		}
		return c.Raw
	})
	return out
}
