package restmcp

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// Mask is what MaskURLCredentials and Redactor show in place of a
// credential: pluginapi.SecretMask, as the admin API shows.
const Mask = pluginapi.SecretMask

// MaskURLCredentials returns URL s with the credentials it carries
// (userinfo, query parameters whose name looks secret: api_key, token, …)
// replaced by Mask, for messages and logs.
func MaskURLCredentials(s string) string { return pluginapi.MaskURLCredentials(s) }

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
		pluginapi.ScanURLCredentials(u, func(c pluginapi.URLCredential) string {
			add(c.Raw)
			if d, err := c.Unescaped(); err == nil {
				add(d)
				add(url.QueryEscape(d))
				add(url.PathEscape(d))
			}
			return c.Raw
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
func secretName(name string) bool { return pluginapi.SecretParamName(name) }

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
