package pluginapi

import (
	"net/url"
	"slices"
	"strings"
)

// Secrets shared by the host and the plugins, so that the admin API and a
// plugin's messages and logs cannot disagree on what a secret looks like or
// how it is shown.

// SecretMask is what Gatehouse shows in place of a secret, in the admin
// API's answers and in plugins' messages and logs. Sending it back to the
// admin API where a secret is stored keeps the stored secret.
const SecretMask = "********"

// secretWords are the parts of a name, lowercased, that make its value a
// secret; secretParamNames are whole names that do as query parameters
// and config keys.
var (
	secretWords      = []string{"key", "token", "secret", "password", "passwd", "credential", "appcode", "authorization", "cookie"}
	secretParamNames = []string{"auth", "sig", "signature", "pass", "pwd"}
)

// SecretName reports whether a property or header name looks like the name
// of a secret (apiKey, accessToken, clientSecret, Authorization, …).
func SecretName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// SecretParamName reports whether a query parameter or config key name
// (unescaped) looks like the name of a secret: SecretName, or a short
// name such as "sig" or "pwd".
func SecretParamName(name string) bool {
	return SecretName(name) || slices.Contains(secretParamNames, strings.ToLower(name))
}

// URL credential parts (URLCredential.Part).
const (
	URLPassword = "password"
	URLUser     = "user"
	URLQuery    = "query parameter"
)

// URLCredential is one credential inside a URL: the password of its
// userinfo (the user when there is no password: a token) or the value of
// a query parameter whose name looks secret (SecretParamName).
type URLCredential struct {
	// Part is URLPassword, URLUser or URLQuery.
	Part string
	// Name is the query parameter's name as written (still escaped); N
	// counts the earlier parameters of that name. Empty for userinfo.
	Name string
	N    int
	// Raw is the credential as written (still escaped), never empty.
	Raw string
	// User is, for URLPassword, the userinfo's user as written.
	User string
}

// Unescaped returns the credential as sent.
func (c URLCredential) Unescaped() (string, error) {
	if c.Part == URLQuery {
		return url.QueryUnescape(c.Raw)
	}
	return url.PathUnescape(c.Raw)
}

// ParamName is the unescaped query parameter name.
func (c URLCredential) ParamName() string {
	n, err := url.QueryUnescape(c.Name)
	if err != nil {
		return c.Name
	}
	return n
}

// ScanURLCredentials calls fn with each credential of URL s, in order,
// and returns s with each credential replaced by what fn returns; the rest
// of the URL is kept byte for byte. It splits as net/url does: the
// fragment first, then the query, then the authority. A template
// ("{{.config.token}}") is reported like any other value.
func ScanURLCredentials(s string, fn func(URLCredential) string) string {
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
			switch {
			case hasPass && pass != "":
				pass = fn(URLCredential{Part: URLPassword, Raw: pass, User: user})
			case !hasPass && user != "":
				user = fn(URLCredential{Part: URLUser, Raw: user})
			}
			b.WriteString(user)
			if hasPass {
				b.WriteString(":" + pass)
			}
			b.WriteString("@")
			auth = auth[at+1:]
		}
		b.WriteString(auth + path)
	} else {
		b.WriteString(rest)
	}
	if hasQuery {
		b.WriteByte('?')
		seen := map[string]int{}
		for i, kv := range strings.Split(query, "&") {
			if i > 0 {
				b.WriteByte('&')
			}
			if k, v, ok := strings.Cut(kv, "="); ok {
				n := seen[k]
				seen[k]++
				c := URLCredential{Part: URLQuery, Name: k, N: n, Raw: v}
				if v != "" && SecretParamName(c.ParamName()) {
					kv = k + "=" + fn(c)
				}
			}
			b.WriteString(kv)
		}
	}
	b.WriteString(frag)
	return b.String()
}

// URLOrigin is the scheme and authority of URL s without its userinfo,
// lowercased ("https://api.example.com:8443"), split as
// ScanURLCredentials splits; "" for a URL without "://".
func URLOrigin(s string) string {
	rest := s
	if k := strings.IndexAny(rest, "#?"); k >= 0 {
		rest = rest[:k]
	}
	k := strings.Index(rest, "://")
	if k < 0 {
		return ""
	}
	auth := rest[k+3:]
	if j := strings.IndexByte(auth, '/'); j >= 0 {
		auth = auth[:j]
	}
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		auth = auth[at+1:]
	}
	return strings.ToLower(rest[:k+3] + auth)
}

// MaskURLCredentials returns URL s with its credentials replaced by
// SecretMask, for messages and logs.
func MaskURLCredentials(s string) string {
	return ScanURLCredentials(s, func(URLCredential) string { return SecretMask })
}
