package gateway

import (
	"cmp"
	"net/http"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

// entry is one route (or mount) as the router sees it. An entry that
// lists several domains is shared by their buckets.
type entry struct {
	name        string
	priority    int
	specificity int // header matches, plus one when methods are restricted
	mount       bool
	methods     []string
	headers     []headerMatch
	re          *regexp.Regexp
	reLiteral   string // every path the regex matches starts with it
	reRequired  string // every path the regex matches contains it
	target      *target
}

type headerMatch struct {
	key   string // canonical header key
	value string
}

// headerSource is what routing reads of a request's header: whether a
// field has a value.
type headerSource interface {
	hasValue(key, value string) bool
}

// stdHeader is an http.Header as a headerSource.
type stdHeader http.Header

func (h stdHeader) hasValue(key, value string) bool {
	for _, v := range h[key] {
		if v == value {
			return true
		}
	}
	return false
}

// accepts reports whether the request's method and headers satisfy e.
func (e *entry) accepts(method string, h headerSource) bool {
	if len(e.methods) > 0 {
		ok := false
		for _, m := range e.methods {
			if m == method {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, hm := range e.headers {
		if h == nil || !h.hasValue(hm.key, hm.value) {
			return false
		}
	}
	return true
}

// entryOrder sorts the entries that match a path equally well: higher
// priority, then more specific (header and method matches), then mounts,
// then by name.
func entryOrder(a, b *entry) int {
	if c := cmp.Compare(b.priority, a.priority); c != 0 {
		return c
	}
	if c := cmp.Compare(b.specificity, a.specificity); c != 0 {
		return c
	}
	if a.mount != b.mount {
		if a.mount {
			return -1
		}
		return 1
	}
	return strings.Compare(a.name, b.name)
}

// bucket holds the entries of one domain (or of no domain).
type bucket struct {
	exact  map[string][]*entry
	prefix *prefixNode
	regex  []*entry
}

// prefixNode is a node of the segment trie of prefix paths; the root is
// the prefix "/".
type prefixNode struct {
	children map[string]*prefixNode
	entries  []*entry
}

func (b *bucket) add(pathType, value string, e *entry) {
	switch pathType {
	case spec.PathExact:
		if b.exact == nil {
			b.exact = make(map[string][]*entry)
		}
		b.exact[value] = append(b.exact[value], e)
	case spec.PathPrefix:
		if b.prefix == nil {
			b.prefix = &prefixNode{}
		}
		n := b.prefix
		rest := strings.TrimPrefix(spec.NormalizePrefix(value), "/")
		for rest != "" {
			seg, after, _ := strings.Cut(rest, "/")
			rest = after
			if n.children == nil {
				n.children = make(map[string]*prefixNode)
			}
			child := n.children[seg]
			if child == nil {
				child = &prefixNode{}
				n.children[seg] = child
			}
			n = child
		}
		n.entries = append(n.entries, e)
	case spec.PathRegex:
		b.regex = append(b.regex, e)
	}
}

func (b *bucket) sort() {
	for _, es := range b.exact {
		slices.SortFunc(es, entryOrder)
	}
	if b.prefix != nil {
		b.prefix.sort()
	}
	slices.SortFunc(b.regex, entryOrder)
}

func (n *prefixNode) sort() {
	slices.SortFunc(n.entries, entryOrder)
	for _, c := range n.children {
		c.sort()
	}
}

// match returns the best entry of b for the request, or nil.
func (b *bucket) match(path, method string, h headerSource) *entry {
	for _, e := range b.exact[path] {
		if e.accepts(method, h) {
			return e
		}
	}
	if b.prefix != nil {
		var stack [16]*prefixNode
		nodes := stack[:0]
		n := b.prefix
		if len(n.entries) > 0 {
			nodes = append(nodes, n)
		}
		rest := path
		if rest != "" && rest[0] == '/' {
			rest = rest[1:]
		}
		for rest != "" && n.children != nil {
			seg := rest
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				seg, rest = rest[:i], rest[i+1:]
			} else {
				rest = ""
			}
			n = n.children[seg]
			if n == nil {
				break
			}
			if len(n.entries) > 0 {
				nodes = append(nodes, n)
			}
		}
		for i := len(nodes) - 1; i >= 0; i-- {
			for _, e := range nodes[i].entries {
				if e.accepts(method, h) {
					return e
				}
			}
		}
	}
	for _, e := range b.regex {
		if strings.HasPrefix(path, e.reLiteral) && strings.Contains(path, e.reRequired) &&
			e.re.MatchString(path) && e.accepts(method, h) {
			return e
		}
	}
	return nil
}

// router finds the entry for a request: exact domain, then wildcard
// domains from the longest suffix, then entries without domains. A bucket
// without a matching entry falls through to the next.
type router struct {
	exact    map[string]*bucket
	wildcard map[string]*bucket // keyed by the suffix with its dot: ".example.com"
	any      *bucket
}

func newRouter() *router {
	return &router{exact: make(map[string]*bucket), wildcard: make(map[string]*bucket)}
}

func (rt *router) bucketFor(domain string) *bucket {
	m, key := rt.exact, domain
	if strings.HasPrefix(domain, "*.") {
		m, key = rt.wildcard, domain[1:]
	}
	b := m[key]
	if b == nil {
		b = &bucket{}
		m[key] = b
	}
	return b
}

// add files e under each of its domains (or under no domain).
func (rt *router) add(domains []string, pathType, pathValue string, e *entry) {
	if len(domains) == 0 {
		if rt.any == nil {
			rt.any = &bucket{}
		}
		rt.any.add(pathType, pathValue, e)
		return
	}
	for _, d := range domains {
		rt.bucketFor(d).add(pathType, pathValue, e)
	}
}

func (rt *router) sort() {
	for _, b := range rt.exact {
		b.sort()
	}
	for _, b := range rt.wildcard {
		b.sort()
	}
	if rt.any != nil {
		rt.any.sort()
	}
}

// match returns the entry for a normalized host and a clean path, or nil.
func (rt *router) match(host, path, method string, h headerSource) *entry {
	if b := rt.exact[host]; b != nil {
		if e := b.match(path, method, h); e != nil {
			return e
		}
	}
	if len(rt.wildcard) > 0 {
		for i := 0; i < len(host); i++ {
			if host[i] != '.' {
				continue
			}
			if b := rt.wildcard[host[i:]]; b != nil {
				if e := b.match(path, method, h); e != nil {
					return e
				}
			}
		}
	}
	if rt.any != nil {
		return rt.any.match(path, method, h)
	}
	return nil
}

// normalizeHost returns the Host header without port and trailing dot, in
// lower case.
func normalizeHost(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.IndexByte(h[i:], ']') < 0 {
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

// compileRegex anchors a route's expression to the whole path and
// extracts two cheap filters: the literal prefix of every match, and the
// longest literal that every match contains.
func compileRegex(expr string) (re *regexp.Regexp, prefix, required string, err error) {
	anchored := `^(?:` + expr + `)$`
	re, err = regexp.Compile(anchored)
	if err != nil {
		return nil, "", "", err
	}
	prefix, _ = re.LiteralPrefix()
	if parsed, perr := syntax.Parse(anchored, syntax.Perl); perr == nil {
		required = requiredLiteral(parsed.Simplify())
	}
	return re, prefix, required, nil
}

// requiredLiteral returns the longest case-sensitive literal that is a
// mandatory part of every match of re.
func requiredLiteral(re *syntax.Regexp) string {
	best := ""
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase == 0 {
			best = string(re.Rune)
		}
	case syntax.OpCapture, syntax.OpConcat:
		for _, sub := range re.Sub {
			if lit := requiredLiteral(sub); len(lit) > len(best) {
				best = lit
			}
		}
	}
	return best
}
