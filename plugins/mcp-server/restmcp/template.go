package restmcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"

	"github.com/Masterminds/sprig/v3"
	"github.com/tidwall/gjson"
)

// printFunc is appended to every printing action so values print as
// Higress prints them. Its name cannot clash with Sprig's.
const printFunc = "_gatehousePrint"

// maxTemplateOutput bounds what one template execution may write, so a
// runaway range cannot exhaust memory.
const maxTemplateOutput = 8 << 20

var errOutputTooLarge = fmt.Errorf("output larger than %d bytes; narrow the template", maxTemplateOutput)

// envFuncs are the functions that depend on the execution (the incoming
// request, the raw response): a template that uses one runs on a clone
// bound to a per-execution environment.
var envFuncs = map[string]bool{"gjson": true, "getRealIP": true, "getSocketIP": true}

// funcMap returns the template functions: Sprig without the functions
// that reach outside the template (environment, DNS), plus Higress's and
// Gatehouse's own. The per-execution functions here are unbound
// placeholders replaced on each clone.
func funcMap() template.FuncMap {
	m := sprig.TxtFuncMap()
	delete(m, "env")
	delete(m, "expandenv")
	delete(m, "getHostByName")
	unbound := &execEnv{}
	m["gjson"] = unbound.gjson
	m["getRealIP"] = unbound.realIP
	m["getSocketIP"] = unbound.socketIP
	m["eq"] = tmplEq
	m["ne"] = tmplNe
	m["lt"] = func(a, b any) (bool, error) { return tmplOrder(a, b, func(c int) bool { return c < 0 }) }
	m["le"] = func(a, b any) (bool, error) { return tmplOrder(a, b, func(c int) bool { return c <= 0 }) }
	m["gt"] = func(a, b any) (bool, error) { return tmplOrder(a, b, func(c int) bool { return c > 0 }) }
	m["ge"] = func(a, b any) (bool, error) { return tmplOrder(a, b, func(c int) bool { return c >= 0 }) }
	m[printFunc] = printString
	m[pathSegmentFunc] = pathSegment
	m[queryValueFunc] = queryValue
	m[hostLabelFunc] = hostLabel
	return m
}

// execEnv is what a template execution may consult beyond its data.
type execEnv struct {
	req     *http.Request
	root    any    // the template's data
	rootRaw []byte // root as JSON, when the caller has it
}

func (e *execEnv) bind() template.FuncMap {
	return template.FuncMap{"gjson": e.gjson, "getRealIP": e.realIP, "getSocketIP": e.socketIP}
}

// gjson evaluates a GJSON path against dot. The compiler passes dot as
// the first argument, so {{gjson "a.b"}} works inside range and with as
// it does in Higress.
func (e *execEnv) gjson(dot any, path string) any {
	var raw []byte
	if e.rootRaw != nil && sameValue(dot, e.root) {
		raw = e.rootRaw
	} else {
		var err error
		if raw, err = json.Marshal(dot); err != nil {
			return nil
		}
	}
	return gjsonValue(gjson.GetBytes(raw, path))
}

func (e *execEnv) realIP() string {
	if e.req == nil {
		return ""
	}
	if xff := e.req.Header.Get("X-Forwarded-For"); xff != "" {
		first, _, _ := strings.Cut(xff, ",")
		return hostOnly(strings.TrimSpace(first))
	}
	return hostOnly(e.req.RemoteAddr)
}

func (e *execEnv) socketIP() string {
	if e.req == nil {
		return ""
	}
	return hostOnly(e.req.RemoteAddr)
}

func hostOnly(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return strings.Trim(addr, "[]")
}

// sameValue reports whether a and b are the same map or slice (not merely
// equal), so gjson can use the raw response instead of re-encoding it.
func sameValue(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if !va.IsValid() || !vb.IsValid() || va.Kind() != vb.Kind() {
		return false
	}
	switch va.Kind() {
	case reflect.Map:
		return va.UnsafePointer() == vb.UnsafePointer()
	case reflect.Slice:
		return va.UnsafePointer() == vb.UnsafePointer() && va.Len() == vb.Len()
	}
	return false
}

// gjsonValue turns a GJSON result into the value templates work with.
func gjsonValue(r gjson.Result) any {
	if !r.Exists() {
		return nil
	}
	switch r.Type {
	case gjson.Null:
		return nil
	case gjson.True:
		return true
	case gjson.False:
		return false
	case gjson.String:
		return r.Str
	case gjson.Number:
		return numberValue(json.Number(r.Raw))
	}
	v, err := decodeJSONValue([]byte(r.Raw))
	if err != nil {
		return r.Raw
	}
	return v
}

// decodeJSONValue decodes JSON into plain values with integers as int64
// (exact, and printed without exponent) and other numbers as float64.
func decodeJSONValue(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the JSON value")
	}
	return normalizeNumbers(v), nil
}

func normalizeNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		return numberValue(v)
	case map[string]any:
		for k, e := range v {
			v[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = normalizeNumbers(e)
		}
	}
	return v
}

func numberValue(n json.Number) any {
	if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(n.String(), 64); err == nil {
		return f
	}
	return n.String()
}

// printString formats a value the way Higress's templates print JSON
// values: nothing for a missing value, strings as they are, numbers
// without exponent, objects and arrays as compact JSON.
func printString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return formatFloat(v)
	case float32:
		return formatFloat(float64(v))
	case json.Number:
		return v.String()
	case []byte:
		return string(v)
	case map[string]any, []any, []string, map[string]string:
		return compactJSON(v)
	case fmt.Stringer, error:
		return fmt.Sprint(v)
	}
	return fmt.Sprint(v)
}

func formatFloat(f float64) string { return string(appendFloat(nil, f)) }

func appendFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	}
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

func compactJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// number returns v as a float64 when it is a number or, with strings
// allowed, a numeric string.
func number(v any, strings bool) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case int32:
		return float64(v), true
	case uint:
		return float64(v), true
	case uint64:
		return float64(v), true
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case string:
		if strings {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

func isNumber(v any) bool { _, ok := number(v, false); return ok }

func tmplEqual(a, b any) bool {
	if isNumber(a) || isNumber(b) {
		x, okx := number(a, true)
		y, oky := number(b, true)
		if okx && oky {
			if ia, ok := a.(int64); ok {
				if ib, ok := b.(int64); ok {
					return ia == ib
				}
			}
			return x == y
		}
		return false
	}
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if ta, tb := reflect.TypeOf(a), reflect.TypeOf(b); ta.Comparable() && tb.Comparable() && ta == tb {
		return a == b
	}
	return reflect.DeepEqual(a, b)
}

// tmplEq is eq for JSON data: true when a equals any of bs, comparing
// numbers by value whatever their representation.
func tmplEq(a any, bs ...any) (bool, error) {
	if len(bs) == 0 {
		return false, errors.New("eq needs at least two arguments")
	}
	for _, b := range bs {
		if tmplEqual(a, b) {
			return true, nil
		}
	}
	return false, nil
}

func tmplNe(a, b any) bool { return !tmplEqual(a, b) }

func tmplOrder(a, b any, ok func(int) bool) (bool, error) {
	if x, okx := number(a, isNumber(b)); okx {
		if y, oky := number(b, isNumber(a)); oky {
			switch {
			case x < y:
				return ok(-1), nil
			case x > y:
				return ok(1), nil
			}
			return ok(0), nil
		}
	}
	return ok(strings.Compare(printString(a), printString(b))), nil
}

// tmpl is one parsed template of a definition. Execute is safe for
// concurrent use.
type tmpl struct {
	field string // the definition path, also the template's name
	tool  string
	base  *template.Template
	// constant is the output of a template without actions.
	constant   string
	isConstant bool
	// bound holds clones bound to an execEnv, for templates that use a
	// per-execution function; nil otherwise.
	bound *sync.Pool
	// paths renders the template from raw JSON when it only prints
	// values (see pathTemplate); nil otherwise.
	paths *pathTemplate
}

type boundTemplate struct {
	t   *template.Template
	env *execEnv
}

// parseTemplate parses text once and prepares it for execution: every
// printing action gets printFunc appended, and every gjson call gets dot
// as its first argument.
func parseTemplate(field, tool, text string, funcs template.FuncMap) (*tmpl, error) {
	t, err := template.New(field).Funcs(funcs).Parse(text)
	if err != nil {
		return nil, templateError(field, tool, err)
	}
	usesEnv := false
	for _, sub := range t.Templates() {
		if sub.Tree == nil || sub.Root == nil {
			continue
		}
		rewrite(sub.Root, &usesEnv)
	}
	out := &tmpl{field: field, tool: tool, base: t}
	if text, ok := constantText(t); ok {
		out.constant, out.isConstant = text, true
		return out, nil
	}
	if usesEnv {
		out.bound = &sync.Pool{}
	} else {
		out.paths = compilePaths(t, funcs)
	}
	return out, nil
}

// constantText reports whether t is plain text without actions (a fixed
// header value, say), which needs no execution.
func constantText(t *template.Template) (string, bool) {
	if len(t.Templates()) != 1 || t.Tree == nil || t.Root == nil {
		return "", false
	}
	var b strings.Builder
	for _, n := range t.Root.Nodes {
		tn, ok := n.(*parse.TextNode)
		if !ok {
			return "", false
		}
		b.Write(tn.Text)
	}
	return b.String(), true
}

// rewrite walks a parse tree: printing actions end in printFunc, gjson
// calls receive dot, and usesEnv records any per-execution function.
func rewrite(n parse.Node, usesEnv *bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			rewrite(c, usesEnv)
		}
	case *parse.ActionNode:
		rewritePipe(n.Pipe, usesEnv)
		if len(n.Pipe.Decl) == 0 {
			id := parse.NewIdentifier(printFunc).SetPos(n.Pos)
			n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pos, Args: []parse.Node{id}})
		}
	case *parse.IfNode:
		rewriteBranch(&n.BranchNode, usesEnv)
	case *parse.RangeNode:
		rewriteBranch(&n.BranchNode, usesEnv)
	case *parse.WithNode:
		rewriteBranch(&n.BranchNode, usesEnv)
	case *parse.TemplateNode:
		rewritePipe(n.Pipe, usesEnv)
	}
}

func rewriteBranch(b *parse.BranchNode, usesEnv *bool) {
	rewritePipe(b.Pipe, usesEnv)
	rewrite(b.List, usesEnv)
	if b.ElseList != nil {
		rewrite(b.ElseList, usesEnv)
	}
}

func rewritePipe(p *parse.PipeNode, usesEnv *bool) {
	if p == nil {
		return
	}
	for _, cmd := range p.Cmds {
		for i, arg := range cmd.Args {
			cmd.Args[i] = rewriteArg(arg, usesEnv)
		}
		if id, ok := cmd.Args[0].(*parse.IdentifierNode); ok && id.Ident == "gjson" {
			dot := &parse.DotNode{NodeType: parse.NodeDot, Pos: id.Pos}
			cmd.Args = append([]parse.Node{id, dot}, cmd.Args[1:]...)
		}
	}
}

// rewriteArg rewrites one argument and returns it, or its replacement:
// a character constant such as ',' becomes the one-character string,
// which is what authors of Higress templates mean by {{join ','}}.
func rewriteArg(n parse.Node, usesEnv *bool) parse.Node {
	switch n := n.(type) {
	case *parse.IdentifierNode:
		if envFuncs[n.Ident] {
			*usesEnv = true
		}
	case *parse.PipeNode:
		rewritePipe(n, usesEnv)
	case *parse.ChainNode:
		n.Node = rewriteArg(n.Node, usesEnv)
	case *parse.NumberNode:
		if strings.HasPrefix(n.Text, "'") && n.IsInt {
			s := string(rune(n.Int64))
			return &parse.StringNode{NodeType: parse.NodeString, Pos: n.Pos, Quoted: strconv.Quote(s), Text: s}
		}
	}
	return n
}

// renderOnce turns a template that prints only fields of .config between
// plain text, as a header value {{.config.apiKey}} does, into its output
// for config: the same for every call, so rendered once per configuration
// version instead of per call. Other templates, and one that fails on
// config, are left to run per call.
func (t *tmpl) renderOnce(config map[string]any) {
	if t.isConstant || t.bound != nil || len(t.base.Templates()) != 1 || t.base.Tree == nil || t.base.Root == nil {
		return
	}
	for _, n := range t.base.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
		case *parse.ActionNode:
			p := n.Pipe
			if len(p.Decl) != 0 || len(p.Cmds) != 2 || len(p.Cmds[0].Args) != 1 || len(p.Cmds[1].Args) != 1 {
				return
			}
			if f, ok := p.Cmds[0].Args[0].(*parse.FieldNode); !ok || f.Ident[0] != "config" {
				return
			}
			if id, ok := p.Cmds[1].Args[0].(*parse.IdentifierNode); !ok || id.Ident != printFunc {
				return
			}
		default:
			return
		}
	}
	out, err := t.execute(map[string]any{"config": deepCopy(config), "args": map[string]any{}}, nil)
	if err != nil {
		return
	}
	t.constant, t.isConstant = out, true
}

// execute runs the template on data. env supplies the incoming request
// and, when data came from JSON, its raw form; it may be nil.
func (t *tmpl) execute(data any, env *execEnv) (string, error) {
	if t.isConstant {
		return t.constant, nil
	}
	var out limitedBuffer
	exec := t.base
	if t.bound != nil {
		bt, _ := t.bound.Get().(*boundTemplate)
		if bt == nil {
			c, err := t.base.Clone()
			if err != nil {
				return "", templateError(t.field, t.tool, err)
			}
			bt = &boundTemplate{env: &execEnv{}}
			bt.t = c.Funcs(bt.env.bind())
		}
		if env != nil {
			*bt.env = *env
		}
		bt.env.root = data
		defer func() {
			*bt.env = execEnv{}
			t.bound.Put(bt)
		}()
		exec = bt.t
	}
	if err := exec.Execute(&out, data); err != nil {
		return "", templateError(t.field, t.tool, err)
	}
	return out.String(), nil
}

type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxTemplateOutput {
		return 0, errOutputTooLarge
	}
	return b.Buffer.Write(p)
}

var templateLineRE = regexp.MustCompile(`^(\d+)(?::\d+)?: (?:executing "[^"]*" )?(.*)$`)

// templateError turns a text/template error into a *FieldError whose
// message names the tool and the line inside the template.
func templateError(field, tool string, err error) *FieldError {
	msg := err.Error()
	if errors.Is(err, errOutputTooLarge) {
		msg = errOutputTooLarge.Error()
	} else {
		msg = strings.TrimPrefix(msg, "template: ")
		msg = strings.TrimPrefix(msg, field+":")
		msg = strings.ReplaceAll(msg, printFunc, "print")
		msg = strings.ReplaceAll(msg, pathSegmentFunc, "print")
		msg = strings.ReplaceAll(msg, queryValueFunc, "print")
		msg = strings.ReplaceAll(msg, hostLabelFunc, "print")
		if m := templateLineRE.FindStringSubmatch(msg); m != nil {
			msg = "line " + m[1] + ": " + m[2]
		}
	}
	fe := &FieldError{Field: field, Tool: tool, Message: "template: " + msg}
	if tool != "" {
		fe.Message = fmt.Sprintf("tool %q: %s", tool, fe.Message)
	}
	return fe
}
