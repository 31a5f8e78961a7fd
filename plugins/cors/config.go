package main

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/strictjson"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// config is an instance's configuration as the admin API stores it.
type config struct {
	AllowOrigins     []string `json:"allowOrigins"`
	AllowMethods     []string `json:"allowMethods"`
	AllowHeaders     []string `json:"allowHeaders"`
	ExposeHeaders    []string `json:"exposeHeaders"`
	AllowCredentials bool     `json:"allowCredentials"`
	MaxAge           *int     `json:"maxAge"`
}

const (
	defaultMaxAge = 600
	maxMaxAge     = 86400
)

var (
	defaultMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}
	tokenRE        = regexp.MustCompile("^[!#$%&'*+.^_|~0-9A-Za-z-]+$")
	schemeRE       = regexp.MustCompile(`^[a-z][a-z0-9+.-]*$`)
	hostRE         = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$|^\[[0-9a-f:.]+\]$`)
)

// originPattern is one compiled entry of allowOrigins other than "*".
type originPattern struct {
	scheme string // "" matches http and https
	host   string // the host, or the suffix with its dot (".example.com") when wildcard
	port   string // "" when the origin has no port
	wild   bool
}

func (p originPattern) matches(o origin) bool {
	if p.scheme == "" {
		if o.scheme != "http" && o.scheme != "https" {
			return false
		}
	} else if p.scheme != o.scheme {
		return false
	}
	if p.port != o.port {
		return false
	}
	if p.wild {
		return len(o.host) > len(p.host) && strings.HasSuffix(o.host, p.host)
	}
	return p.host == o.host
}

// origin is a parsed Origin header.
type origin struct{ scheme, host, port string }

// parseOrigin parses scheme://host[:port], lowercased; ok is false for
// anything else (including "null").
func parseOrigin(s string) (origin, bool) {
	s = strings.ToLower(s)
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || scheme == "" || rest == "" || strings.ContainsAny(rest, "/?#@ ") {
		return origin{}, false
	}
	host, port := splitHostPort(rest)
	if host == "" {
		return origin{}, false
	}
	return origin{scheme: scheme, host: host, port: port}, true
}

// splitHostPort splits host[:port], keeping an IPv6 literal's brackets.
func splitHostPort(s string) (host, port string) {
	if strings.HasPrefix(s, "[") {
		if i := strings.IndexByte(s, ']'); i >= 0 {
			host, rest := s[:i+1], s[i+1:]
			if p, ok := strings.CutPrefix(rest, ":"); ok {
				return host, p
			}
			if rest != "" {
				return "", ""
			}
			return host, ""
		}
		return "", ""
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// compilePattern parses an allowOrigins entry other than "*".
func compilePattern(s string) (originPattern, string) {
	const example = "use an origin such as https://app.example.com, a wildcard such as https://*.example.com or *.example.com, or \"*\""
	if strings.TrimSpace(s) != s {
		return originPattern{}, fmt.Sprintf("%q has spaces around it; remove them", s)
	}
	l := strings.ToLower(s)
	var p originPattern
	rest := l
	if scheme, r, ok := strings.Cut(l, "://"); ok {
		if !schemeRE.MatchString(scheme) {
			return p, fmt.Sprintf("%q has no valid scheme; %s", s, example)
		}
		p.scheme, rest = scheme, r
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		return p, fmt.Sprintf("%q is not an origin: an origin has no path, query or trailing slash; use %q", s, strings.TrimRight(l[:len(l)-len(rest)+i], "/"))
	}
	host, port := splitHostPort(rest)
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return p, fmt.Sprintf("%q has an invalid port %q; use a number from 1 to 65535", s, port)
		}
	}
	p.port = port
	if suffix, ok := strings.CutPrefix(host, "*."); ok {
		p.wild, host = true, suffix
	}
	if host == "" || strings.Contains(host, "*") || !hostRE.MatchString(host) {
		return p, fmt.Sprintf("%q is not a valid origin pattern (a wildcard is *. followed by a domain); %s", s, example)
	}
	if p.wild {
		p.host = "." + host
	} else {
		p.host = host
	}
	return p, ""
}

// parseConfig unmarshals data strictly, applies the defaults and validates
// the result, returning every problem at once.
func parseConfig(data []byte) (*config, error) {
	var c config
	shape, err := strictjson.Decode(data, &c)
	if err != nil {
		return nil, err
	}
	if c.AllowMethods == nil {
		c.AllowMethods = defaultMethods
	}
	if c.AllowHeaders == nil {
		c.AllowHeaders = []string{"*"}
	}
	if c.MaxAge == nil {
		m := defaultMaxAge
		c.MaxAge = &m
	}
	if err := strictjson.Join(shape, c.validate()); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *config) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &pluginapi.ConfigError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if len(c.AllowOrigins) == 0 {
		bad("allowOrigins", `is required: list the origins allowed to call, such as ["https://app.example.com"], or ["*"] for any`)
	}
	anyOrigin := false
	for i, o := range c.AllowOrigins {
		at := "allowOrigins[" + strconv.Itoa(i) + "]"
		if o == "*" {
			anyOrigin = true
			continue
		}
		if _, msg := compilePattern(o); msg != "" {
			bad(at, "%s", msg)
		}
	}
	if anyOrigin && c.AllowCredentials {
		bad("allowCredentials", `cannot be true while allowOrigins contains "*": browsers refuse credentials with a wildcard origin, and allowing every site to send a user's cookies is unsafe; list the origins instead (wildcards such as https://*.example.com are allowed)`)
	}
	checkTokens := func(field string, list []string, star bool) {
		seen := map[string]int{}
		for i, v := range list {
			at := field + "[" + strconv.Itoa(i) + "]"
			switch {
			case v == "*" && star:
			case !tokenRE.MatchString(v):
				bad(at, "%q is not a valid name: use letters, digits and -", v)
				continue
			}
			k := strings.ToLower(v)
			if j, dup := seen[k]; dup {
				bad(at, "%q repeats %s[%d]", v, field, j)
			}
			seen[k] = i
		}
	}
	checkTokens("allowMethods", c.AllowMethods, true)
	checkTokens("allowHeaders", c.AllowHeaders, true)
	checkTokens("exposeHeaders", c.ExposeHeaders, true)
	if i := slices.Index(c.ExposeHeaders, "*"); i >= 0 && c.AllowCredentials {
		bad("exposeHeaders["+strconv.Itoa(i)+"]", `"*" exposes nothing on requests with credentials (browsers read it as a header name); list the headers`)
	}
	if *c.MaxAge < 0 || *c.MaxAge > maxMaxAge {
		bad("maxAge", "is %d; use a number of seconds from 0 to %d (browsers cap it anyway: Chromium at 7200)", *c.MaxAge, maxMaxAge)
	}
	return errors.Join(errs...)
}
