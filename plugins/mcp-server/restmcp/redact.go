package restmcp

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
)

// Mask is what MaskURLCredentials and Redactor show in place of a
// credential; the admin API shows the same.
const Mask = "********"

// secretWords are the parts of a query parameter name, lowercased, that
// make its value a credential; secretNames are whole names that do.
var (
	secretWords = []string{"key", "token", "secret", "password", "passwd", "credential", "appcode", "authorization", "cookie"}
	secretNames = []string{"auth", "sig", "signature", "pass", "pwd"}
)

func secretQueryName(raw string) bool {
	name, err := url.QueryUnescape(raw)
	if err != nil {
		name = raw
	}
	n := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return slices.Contains(secretNames, n)
}

// urlCredentials finds the credentials of a URL: the password of its
// userinfo (the user when there is no password: a token) and the values of
// query parameters whose name looks secret. It calls fn with each one's
// raw text and a setter that replaces it, and returns the URL as rebuilt
// from the pieces, the rest byte for byte. It splits as net/url does: the
// fragment first, then the query, then the authority.
func urlCredentials(s string, fn func(raw string, unescape func(string) (string, error), set func(string))) string {
	rest, frag := s, ""
	if k := strings.IndexByte(rest, '#'); k >= 0 {
		rest, frag = rest[:k], rest[k:]
	}
	query, hasQuery := "", false
	if k := strings.IndexByte(rest, '?'); k >= 0 {
		rest, query, hasQuery = rest[:k], rest[k+1:], true
	}
	var b strings.Builder
	if k := strings.Index(rest, "://"); k >= 0 {
		b.WriteString(rest[:k+3])
		auth, path := rest[k+3:], ""
		if j := strings.IndexByte(auth, '/'); j >= 0 {
			auth, path = auth[:j], auth[j:]
		}
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			user, pass, hasPass := strings.Cut(auth[:at], ":")
			if hasPass {
				if pass != "" {
					fn(pass, url.PathUnescape, func(v string) { pass = v })
				}
				b.WriteString(user + ":" + pass + "@")
			} else {
				if user != "" {
					fn(user, url.PathUnescape, func(v string) { user = v })
				}
				b.WriteString(user + "@")
			}
			auth = auth[at+1:]
		}
		b.WriteString(auth + path)
	} else {
		b.WriteString(rest)
	}
	if hasQuery {
		b.WriteByte('?')
		for i, kv := range strings.Split(query, "&") {
			if i > 0 {
				b.WriteByte('&')
			}
			if k, v, ok := strings.Cut(kv, "="); ok && v != "" && secretQueryName(k) {
				fn(v, url.QueryUnescape, func(nv string) { v = nv })
				kv = k + "=" + v
			}
			b.WriteString(kv)
		}
	}
	b.WriteString(frag)
	return b.String()
}

// MaskURLCredentials returns URL s with the credentials it carries
// (userinfo, query parameters whose name looks secret: api_key, token, …)
// replaced by Mask, for messages and logs.
func MaskURLCredentials(s string) string {
	return urlCredentials(s, func(_ string, _ func(string) (string, error), set func(string)) { set(Mask) })
}

// Redactor replaces known credentials in text by Mask. The zero value
// replaces nothing.
type Redactor struct {
	forms []string // longest first
}

// NewRedactor returns a Redactor for the credentials of the URLs, in every
// form an error or a log line may carry them: as written, unescaped and
// escaped again.
func NewRedactor(urls ...string) *Redactor {
	seen := map[string]bool{}
	var forms []string
	add := func(f string) {
		if f != "" && f != Mask && !seen[f] {
			seen[f] = true
			forms = append(forms, f)
		}
	}
	for _, u := range urls {
		urlCredentials(u, func(raw string, unescape func(string) (string, error), _ func(string)) {
			add(raw)
			if d, err := unescape(raw); err == nil {
				add(d)
				add(url.QueryEscape(d))
				add(url.PathEscape(d))
			}
		})
	}
	slices.SortStableFunc(forms, func(a, b string) int { return len(b) - len(a) })
	return &Redactor{forms: forms}
}

// Empty reports whether r has nothing to replace.
func (r *Redactor) Empty() bool { return r == nil || len(r.forms) == 0 }

// Redact returns text with every credential replaced by Mask.
func (r *Redactor) Redact(text string) string {
	if r == nil {
		return text
	}
	for _, f := range r.forms {
		text = strings.ReplaceAll(text, f, Mask)
	}
	return text
}

// secretName reports whether a config key looks like the name of a
// secret (apiKey, accessToken, password, appCode, …).
func secretName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return slices.Contains(secretNames, n)
}

// withoutSecrets returns a copy of v (decoded JSON) without the members
// whose names look secret, at any depth.
func withoutSecrets(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			if !secretName(k) {
				m[k] = withoutSecrets(e)
			}
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = withoutSecrets(e)
		}
		return l
	}
	return v
}

// definitionRedactor returns a Redactor for every secret of a definition:
// the credentials of its security schemes and requirements, the values of
// config members whose names look secret, and the credentials inside its
// tools' literal URLs.
func definitionRedactor(d *Definition, config map[string]any) *Redactor {
	var raw []string
	for _, sc := range d.Server.SecuritySchemes {
		raw = append(raw, sc.DefaultCredential)
	}
	reqs := []*SecurityRequirement{d.Server.DefaultUpstreamSecurity, d.Server.DefaultDownstreamSecurity}
	var urls []string
	for i := range d.Tools {
		reqs = append(reqs, d.Tools[i].Security, d.Tools[i].RequestTemplate.Security)
		urls = append(urls, d.Tools[i].RequestTemplate.URL)
	}
	for _, r := range reqs {
		if r != nil {
			raw = append(raw, r.Credential)
		}
	}
	var walk func(v any, secret bool)
	walk = func(v any, secret bool) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(e, secret || secretName(k))
			}
		case []any:
			for _, e := range x {
				walk(e, secret)
			}
		default:
			if secret && x != nil {
				raw = append(raw, printString(x))
			}
		}
	}
	walk(config, false)
	r := NewRedactor(urls...)
	seen := map[string]bool{}
	for _, f := range r.forms {
		seen[f] = true
	}
	add := func(f string) {
		// Very short values (a "1" flag) would mask unrelated text.
		if len(f) >= 4 && f != Mask && !seen[f] {
			seen[f] = true
			r.forms = append(r.forms, f)
		}
	}
	for _, v := range raw {
		add(v)
		add(url.QueryEscape(v))
		add(url.PathEscape(v))
		if strings.Contains(v, ":") {
			add(base64.StdEncoding.EncodeToString([]byte(v)))
		}
	}
	slices.SortStableFunc(r.forms, func(a, b string) int { return len(b) - len(a) })
	return r
}
