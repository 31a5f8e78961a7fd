package restmcp

import (
	"bytes"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"text/template/parse"
)

// The functions a url template's printing actions end in, by where they
// print (see escapeURLTemplate). Their names cannot clash with Sprig's.
const (
	pathSegmentFunc = "_gatehousePathSegment"
	queryValueFunc  = "_gatehouseQueryValue"
	hostLabelFunc   = "_gatehouseHostLabel"
)

// hostLabel prints v as part of one DNS label: letters, digits and '-'
// only, so that a value in the host ("49999-{{.args.id}}.e2b.dev")
// cannot leave the definition's domain.
func hostLabel(v any) (string, error) {
	s := printString(v)
	if s == "" || len(s) > 63 {
		return "", fmt.Errorf("the value %q cannot go into the URL's host: it must be 1 to 63 letters, digits, '-' or '_'", truncate(s, 70))
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return "", fmt.Errorf("the value %q cannot go into the URL's host: only letters, digits, '-' and '_' may", truncate(s, 70))
		}
	}
	return s, nil
}

// domainSuffixRE is a literal host suffix that pins a host to a domain:
// ".e2b.dev", ".api.example.com:8443" — at least two labels.
var domainSuffixRE = regexp.MustCompile(`^\.[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d{1,5})?$`)

// pathSegment prints v as Higress prints it, percent-escaped for the URL
// path: each "/"-separated part is escaped as one segment, so "?", "#",
// "%" and "@" cannot add a query or change the host, and a "." or ".."
// part is refused, so the value cannot climb out of the tool's path.
// A "/" stays, because published definitions take whole paths from one
// argument (GitHub's contents/{{.args.path}}, Context7's v1{libraryId}).
func pathSegment(v any) (string, error) {
	parts := strings.Split(printString(v), "/")
	for i, p := range parts {
		if p == "." || p == ".." {
			return "", fmt.Errorf("the value cannot go into the URL path: its part %q would climb out of the tool's path", p)
		}
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/"), nil
}

// queryValue prints v percent-escaped as a query parameter name or value,
// so that "&", "=" and "#" cannot add parameters.
func queryValue(v any) string { return url.QueryEscape(printString(v)) }

// urlShape is what escapeURLTemplate learns of a url template.
type urlShape struct {
	// origin is the template's literal scheme://host ("" when the
	// authority is not literal text).
	origin string
	// relative: the template starts with "/", a path on the server's
	// service.
	relative bool
	// hostFromRequest: an action in the scheme or host may print a value
	// the caller controls (an argument, a request header), so the host
	// is not fixed by the definition.
	hostFromRequest bool
	// hostSuffix, when the host holds such values only as parts of its
	// first labels, is the literal domain after them (".e2b.dev"): the
	// host must end in it.
	hostSuffix string
}

// escapeURLTemplate makes every printing action of a url template print
// escaped for where it stands: in the path as one segment, in the query
// and fragment as a query value. Actions that print only literals and
// .config (the operator's values, such as a base URL) are left as they
// are. It reports the template's shape.
func escapeURLTemplate(root *parse.ListNode) urlShape {
	w := &urlWalk{}
	var lead strings.Builder
	leading := true
	for _, n := range root.Nodes {
		tn, ok := n.(*parse.TextNode)
		if !ok {
			leading = false
			break
		}
		lead.Write(tn.Text)
	}
	w.list(root)
	shape := urlShape{hostFromRequest: w.hostFromRequest}
	if w.labels && !shape.hostFromRequest {
		if domainSuffixRE.MatchString(w.suffix.String()) {
			shape.hostSuffix = strings.ToLower(w.suffix.String())
		} else {
			shape.hostFromRequest = true
		}
	}
	l := lead.String()
	if strings.HasPrefix(strings.TrimSpace(l), "/") {
		shape.relative = true
	}
	if i := strings.Index(l, "://"); i >= 0 {
		rest := l[i+3:]
		if j := strings.IndexAny(rest, "/?#"); j >= 0 || leading {
			if j >= 0 {
				rest = rest[:j]
			}
			if u, err := url.Parse(strings.TrimSpace(l[:i+3] + rest)); err == nil && u.Host != "" {
				shape.origin = strings.ToLower(u.Scheme + "://" + u.Host)
			}
		}
	}
	return shape
}

// URL parts, in the order they come.
const (
	inAuthority = iota
	inPath
	inQuery
	inFragment
)

type urlWalk struct {
	part            int
	sawScheme       bool
	hostFromRequest bool
	// labels: caller values print as host labels; suffix is the literal
	// host text after the last of them.
	labels bool
	suffix strings.Builder
}

func (w *urlWalk) list(l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		w.node(n)
	}
}

func (w *urlWalk) node(n parse.Node) {
	switch n := n.(type) {
	case *parse.TextNode:
		w.text(n.Text)
	case *parse.ActionNode:
		if len(n.Pipe.Decl) > 0 || len(n.Pipe.Cmds) == 0 {
			return
		}
		trusted := operatorOnly(n.Pipe)
		if trusted {
			if w.part == inAuthority && w.labels {
				w.hostFromRequest = true // an operator value after a caller's: no literal domain
			}
			return
		}
		last := n.Pipe.Cmds[len(n.Pipe.Cmds)-1]
		id, ok := last.Args[0].(*parse.IdentifierNode)
		if !ok || id.Ident != printFunc || len(last.Args) != 1 {
			if w.part == inAuthority {
				w.hostFromRequest = true
			}
			return
		}
		switch w.part {
		case inAuthority:
			if !w.sawScheme {
				w.hostFromRequest = true
				return
			}
			id.Ident = hostLabelFunc
			w.labels = true
			w.suffix.Reset()
		case inPath:
			id.Ident = pathSegmentFunc
		default:
			id.Ident = queryValueFunc
		}
	case *parse.IfNode:
		w.branch(&n.BranchNode)
	case *parse.RangeNode:
		w.branch(&n.BranchNode)
	case *parse.WithNode:
		w.branch(&n.BranchNode)
	case *parse.TemplateNode:
		if w.part == inAuthority {
			w.hostFromRequest = true
		}
	}
}

func (w *urlWalk) branch(b *parse.BranchNode) {
	w.list(b.List)
	w.list(b.ElseList)
}

func (w *urlWalk) text(s []byte) {
	for i := 0; i < len(s); i++ {
		switch w.part {
		case inAuthority:
			if !w.sawScheme && bytes.HasPrefix(s[i:], []byte("://")) {
				w.sawScheme = true
				i += 2
				continue
			}
			if w.sawScheme {
				if j := bytes.IndexAny(s[i:i+1], "/?#"); j < 0 {
					w.suffix.WriteByte(s[i])
				}
			}
			switch s[i] {
			case '{':
				// A {name} placeholder, filled from an argument after rendering.
				w.hostFromRequest = true
			case '/':
				w.part = inPath
			case '?':
				w.part = inQuery
			case '#':
				w.part = inFragment
			}
		case inPath:
			switch s[i] {
			case '?':
				w.part = inQuery
			case '#':
				w.part = inFragment
			}
		case inQuery:
			if s[i] == '#' {
				w.part = inFragment
			}
		}
	}
}

// requestFuncs print what the caller sends.
var requestFuncs = map[string]bool{"gjson": true, "getRealIP": true, "getSocketIP": true}

// operatorOnly reports whether a pipeline prints only literals and
// .config values: nothing an MCP client chooses.
func operatorOnly(p *parse.PipeNode) bool {
	if p == nil {
		return true
	}
	if len(p.Decl) > 0 {
		return false
	}
	for _, cmd := range p.Cmds {
		for _, a := range cmd.Args {
			if !operatorArg(a) {
				return false
			}
		}
	}
	return true
}

func operatorArg(n parse.Node) bool {
	switch n := n.(type) {
	case *parse.FieldNode:
		return len(n.Ident) > 0 && n.Ident[0] == "config"
	case *parse.StringNode, *parse.NumberNode, *parse.BoolNode, *parse.NilNode:
		return true
	case *parse.IdentifierNode:
		return !requestFuncs[n.Ident]
	case *parse.PipeNode:
		return operatorOnly(n)
	case *parse.ChainNode:
		return operatorArg(n.Node)
	}
	return false // dot, variables: what they hold depends on the call
}
