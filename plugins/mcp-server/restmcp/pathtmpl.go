package restmcp

import (
	"bytes"
	"encoding/json"
	"strconv"
	"text/template"
	"text/template/parse"
	"unicode/utf8"
)

// Most response templates only print values of the upstream's JSON answer
// between plain text: {{.main.temp}}, {{(index .weather 0).description}},
// {{.args.city}}. Decoding the whole answer into maps and running
// text/template on them costs more than the rest of a REST tool call, so
// such a template is compiled once more into a pathTemplate, which looks
// each value up in the raw JSON and prints it as the template would. It
// answers only when it is sure to print what the template prints — the
// answer is strictly valid JSON (valid UTF-8, one value), an object, every
// value is where the template expects it —, and reports false otherwise,
// and the template runs as before. TestPathTemplateMatchesTemplate and
// FuzzPathTemplate hold the two against each other.

// pathTemplate is a response template of text and printed value paths.
type pathTemplate struct {
	parts []pathPart
	size  int // the length of the text parts
}

// pathPart is plain text, or the value at a path from the template's data.
type pathPart struct {
	text  string
	steps []pathStep // nil for text
}

// pathStep is one step of a path: a field (or an index by a string) of an
// object, or an index into an array.
type pathStep struct {
	key     string
	index   int
	isIndex bool // an integer index
	// byIndex: the key is index's argument, which yields nil for a
	// missing key where a field yields no value.
	byIndex bool
}

// compilePaths returns the pathTemplate equivalent of t (as rewritten by
// parseTemplate: printing actions end in printFunc), or nil when t uses
// anything else: functions other than the builtin index, control
// structures, variables other than $, other templates.
func compilePaths(t *template.Template, funcs template.FuncMap) *pathTemplate {
	if _, ok := funcs["index"]; ok || len(t.Templates()) != 1 || t.Tree == nil || t.Root == nil {
		return nil
	}
	p := &pathTemplate{}
	for _, n := range t.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			p.parts = append(p.parts, pathPart{text: string(n.Text)})
			p.size += len(n.Text)
		case *parse.ActionNode:
			pipe := n.Pipe
			if pipe == nil || len(pipe.Decl) != 0 || pipe.IsAssign || len(pipe.Cmds) != 2 {
				return nil
			}
			if last := pipe.Cmds[1]; len(last.Args) != 1 {
				return nil
			} else if id, ok := last.Args[0].(*parse.IdentifierNode); !ok || id.Ident != printFunc {
				return nil
			}
			steps, ok := commandPath(pipe.Cmds[0])
			if !ok || len(steps) == 0 || steps[0].isIndex {
				return nil
			}
			p.parts = append(p.parts, pathPart{steps: steps})
		default:
			return nil
		}
	}
	return p
}

// commandPath is the path a command evaluates: one operand, or index
// applied to an operand.
func commandPath(cmd *parse.CommandNode) ([]pathStep, bool) {
	if len(cmd.Args) == 1 {
		return operandPath(cmd.Args[0])
	}
	if id, ok := cmd.Args[0].(*parse.IdentifierNode); !ok || id.Ident != "index" || len(cmd.Args) < 3 {
		return nil, false
	}
	steps, ok := operandPath(cmd.Args[1])
	if !ok {
		return nil, false
	}
	for _, a := range cmd.Args[2:] {
		switch a := a.(type) {
		case *parse.NumberNode:
			// A plain decimal integer: other spellings (07, 0x1, 1.0, 'a')
			// are read differently or refused by index.
			if a.Text == "" || len(a.Text) > 9 || (a.Text[0] == '0' && a.Text != "0") || !allDigits(a.Text) {
				return nil, false
			}
			n, _ := strconv.Atoi(a.Text)
			steps = append(steps, pathStep{index: n, isIndex: true})
		case *parse.StringNode:
			steps = append(steps, pathStep{key: a.Text, byIndex: true})
		default:
			return nil, false
		}
	}
	return steps, true
}

// operandPath is the path of .a.b, $.a.b or (pipeline).a.b.
func operandPath(n parse.Node) ([]pathStep, bool) {
	switch n := n.(type) {
	case *parse.FieldNode:
		return fieldSteps(nil, n.Ident), true
	case *parse.VariableNode:
		if len(n.Ident) == 0 || n.Ident[0] != "$" {
			return nil, false
		}
		return fieldSteps(nil, n.Ident[1:]), true
	case *parse.ChainNode:
		pipe, ok := n.Node.(*parse.PipeNode)
		if !ok || len(pipe.Decl) != 0 || pipe.IsAssign || len(pipe.Cmds) != 1 {
			return nil, false
		}
		steps, ok := commandPath(pipe.Cmds[0])
		if !ok {
			return nil, false
		}
		return fieldSteps(steps, n.Field), true
	}
	return nil, false
}

func fieldSteps(steps []pathStep, names []string) []pathStep {
	for _, name := range names {
		steps = append(steps, pathStep{key: name})
	}
	return steps
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// render prints the template for the upstream answer body, whose data is
// the decoded body with args and config added (see responseData). It
// reports false when it cannot be sure to print what the template would.
func (p *pathTemplate) render(body []byte, args, config map[string]any) (string, bool) {
	root := bytes.TrimLeft(body, " \t\r\n")
	if len(root) == 0 || root[0] != '{' {
		return "", false
	}
	// One pass checks the body and finds the members of its object, which
	// every path starts from.
	var buf [32]member
	top, end, ok := scanObject(root, 0, 0, buf[:0])
	if !ok || skipWS(root, end) != len(root) {
		return "", false
	}
	// On the stack when it fits (most bodies): the string is the one copy.
	var stack [512]byte
	out := stack[:0]
	for _, part := range p.parts {
		if part.steps == nil {
			out = append(out, part.text...)
			continue
		}
		if out, ok = appendPath(out, top, part.steps, args, config); !ok {
			return "", false
		}
	}
	if len(out) > maxTemplateOutput {
		return "", false
	}
	return string(out), true
}

// appendPath appends the value at steps from the object whose members are
// top, printed by printString.
func appendPath(out []byte, top []member, steps []pathStep, args, config map[string]any) ([]byte, bool) {
	v, found, ok := lastMember(top, steps[0].key)
	if !ok {
		return nil, false
	}
	if !found {
		if steps[0].byIndex {
			return nil, false
		}
		switch steps[0].key {
		case "args":
			return appendGoPath(out, args, steps[1:])
		case "config":
			return appendGoPath(out, config, steps[1:])
		}
		return appendMissing(out, steps[1:])
	}
	for i, st := range steps[1:] {
		switch {
		case v[0] == 'n':
			// null: a field of it is an error, an index of it too.
			return nil, false
		case st.isIndex:
			if v[0] != '[' {
				return nil, false
			}
			if v, found = jsonElem(v, st.index); !found {
				return nil, false // index out of range: an error
			}
		default:
			if v[0] != '{' {
				return nil, false
			}
			if v, found, ok = jsonMember(v, st.key); !ok {
				return nil, false
			} else if !found {
				if st.byIndex {
					return nil, false
				}
				return appendMissing(out, steps[i+2:])
			}
		}
	}
	return appendJSONValue(out, v)
}

// appendMissing prints a missing map key followed by steps: text/template
// evaluates fields of it to nothing, which prints as "".
func appendMissing(out []byte, steps []pathStep) ([]byte, bool) {
	for _, st := range steps {
		if st.isIndex || st.byIndex {
			return nil, false // index of a missing value: an error
		}
	}
	return out, true
}

// appendJSONValue appends the JSON value v as printString prints its
// decoded value.
func appendJSONValue(out, v []byte) ([]byte, bool) {
	switch v[0] {
	case '"':
		if bytes.IndexByte(v, '\\') < 0 {
			return append(out, v[1:len(v)-1]...), true
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, false
		}
		return append(out, s...), true
	case 't':
		return append(out, "true"...), true
	case 'f':
		return append(out, "false"...), true
	case 'n':
		return out, true
	case '{', '[':
		d, err := decodeJSONValue(v)
		if err != nil {
			return nil, false
		}
		return append(out, printString(d)...), true
	}
	return appendNumber(out, v), true
}

// appendNumber appends the JSON number v as printString prints its
// decoded value (numberValue): an integer as it is written (but -0 as 0),
// another number as formatFloat prints it.
func appendNumber(out, v []byte) []byte {
	digits := v
	if digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) <= 18 && allDigits(string(digits)) {
		if string(v) == "-0" {
			return append(out, '0')
		}
		return append(out, v...)
	}
	n := string(v)
	// Only an integer can parse as one: trying a fraction would make
	// (and drop) an error per value.
	if allDigits(string(digits)) {
		if i, err := strconv.ParseInt(n, 10, 64); err == nil {
			return strconv.AppendInt(out, i, 10)
		}
	}
	if f, err := strconv.ParseFloat(n, 64); err == nil {
		return appendFloat(out, f)
	}
	return append(out, v...)
}

// appendGoPath appends the value at steps from v, a value of args or
// config: maps, slices and scalars as decoded from JSON.
func appendGoPath(out []byte, v any, steps []pathStep) ([]byte, bool) {
	for i, st := range steps {
		switch x := v.(type) {
		case map[string]any:
			if st.isIndex {
				return nil, false
			}
			e, ok := x[st.key]
			if !ok {
				if st.byIndex {
					return nil, false
				}
				return appendMissing(out, steps[i+1:])
			}
			v = e
		case []any:
			if !st.isIndex || st.index >= len(x) {
				return nil, false
			}
			v = x[st.index]
		default:
			return nil, false
		}
	}
	switch v.(type) {
	case nil, string, bool, int64, float64:
		return append(out, printString(v)...), true
	}
	return nil, false
}

// member is a member of a JSON object: its key as written (quoted) and
// its value.
type member struct {
	key, value []byte
}

// lastMember returns the value of the last of members named key, as
// encoding/json keeps the last of repeated keys.
func lastMember(members []member, key string) (value []byte, found, ok bool) {
	for _, m := range members {
		is, ok := keyIs(m.key, key)
		if !ok {
			return nil, false, false
		}
		if is {
			value, found = m.value, true
		}
	}
	return value, found, true
}

// keyIs reports whether the quoted JSON string quoted (valid JSON) is key,
// and false when it cannot be decoded.
func keyIs(quoted []byte, key string) (is, ok bool) {
	k := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(k, '\\') >= 0 {
		var s string
		if json.Unmarshal(quoted, &s) != nil {
			return false, false
		}
		return s == key, true
	}
	return string(k) == key, true
}

// scanObject is scanJSON of the object at data[i]; when members is not
// nil, it also appends the object's members to it (not those of nested
// objects) and returns them.
func scanObject(data []byte, i, depth int, members []member) ([]member, int, bool) {
	if depth >= maxPathDepth {
		return nil, i, false
	}
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == '}' {
		return members, i + 1, true
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return nil, i, false
		}
		kStart := i
		var ok bool
		if i, ok = scanString(data, i); !ok {
			return nil, i, false
		}
		kEnd := i
		i = skipWS(data, i)
		if i >= len(data) || data[i] != ':' {
			return nil, i, false
		}
		vStart := skipWS(data, i+1)
		if i, ok = scanJSON(data, vStart, depth+1); !ok {
			return nil, i, false
		}
		if members != nil {
			members = append(members, member{key: data[kStart:kEnd], value: data[vStart:i]})
		}
		i = skipWS(data, i)
		if i >= len(data) {
			return nil, i, false
		}
		switch data[i] {
		case '}':
			return members, i + 1, true
		case ',':
			i = skipWS(data, i+1)
		default:
			return nil, i, false
		}
	}
}

// jsonMember returns the value of the last member named key of the JSON
// object obj (valid JSON), as encoding/json keeps the last of repeated
// keys.
func jsonMember(obj []byte, key string) (value []byte, found, ok bool) {
	i := skipWS(obj, 1)
	if obj[i] == '}' {
		return nil, false, true
	}
	for {
		kStart, kEnd := i, stringEnd(obj, i)
		i = skipWS(obj, skipWS(obj, kEnd)+1) // past the colon
		vEnd, _ := scanJSON(obj, i, 0)
		is, ok := keyIs(obj[kStart:kEnd], key)
		if !ok {
			return nil, false, false
		}
		if is {
			value, found = obj[i:vEnd], true
		}
		i = skipWS(obj, vEnd)
		if obj[i] == '}' {
			return value, found, true
		}
		i = skipWS(obj, i+1) // past the comma
	}
}

// jsonElem returns element n of the JSON array arr (valid JSON).
func jsonElem(arr []byte, n int) ([]byte, bool) {
	i := skipWS(arr, 1)
	if arr[i] == ']' {
		return nil, false
	}
	for k := 0; ; k++ {
		end, _ := scanJSON(arr, i, 0)
		if k == n {
			return arr[i:end], true
		}
		i = skipWS(arr, end)
		if arr[i] == ']' {
			return nil, false
		}
		i = skipWS(arr, i+1)
	}
}

// stringEnd is the end of the JSON string at data[i] (valid JSON).
func stringEnd(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(data)
}

func skipWS(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	return i
}

// maxPathDepth bounds the nesting scanJSON accepts (encoding/json's own
// limit is 10,000); deeper answers go to the template.
const maxPathDepth = 1000

// scanJSON checks the JSON value at data[i] strictly (RFC 8259, strings of
// valid UTF-8 only) and returns its end. Whatever it accepts,
// encoding/json decodes.
func scanJSON(data []byte, i, depth int) (int, bool) {
	if i >= len(data) {
		return i, false
	}
	switch c := data[i]; {
	case c == '{':
		_, end, ok := scanObject(data, i, depth, nil)
		return end, ok
	case c == '[':
		if depth >= maxPathDepth {
			return i, false
		}
		i = skipWS(data, i+1)
		if i < len(data) && data[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = scanJSON(data, i, depth+1); !ok {
				return i, false
			}
			i = skipWS(data, i)
			if i >= len(data) {
				return i, false
			}
			switch data[i] {
			case ']':
				return i + 1, true
			case ',':
				i = skipWS(data, i+1)
			default:
				return i, false
			}
		}
	case c == '"':
		return scanString(data, i)
	case c == 't':
		return literal(data, i, "true")
	case c == 'f':
		return literal(data, i, "false")
	case c == 'n':
		return literal(data, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(data, i)
	}
	return i, false
}

func literal(data []byte, i int, lit string) (int, bool) {
	if len(data)-i >= len(lit) && string(data[i:i+len(lit)]) == lit {
		return i + len(lit), true
	}
	return i, false
}

// scanString checks the JSON string at data[i]: no control characters,
// known escapes, valid UTF-8.
func scanString(data []byte, i int) (int, bool) {
	start := i + 1
	ascii := true
	for i++; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(data[start:i]) {
				return i, false
			}
			return i + 1, true
		case c < 0x20:
			return i, false
		case c >= 0x80:
			ascii = false
		case c == '\\':
			i++
			if i >= len(data) {
				return i, false
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(data)-i < 5 {
					return i, false
				}
				for _, h := range data[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return i, false
					}
				}
				i += 4
			default:
				return i, false
			}
		}
	}
	return i, false
}

// scanNumber checks the JSON number at data[i].
func scanNumber(data []byte, i int) (int, bool) {
	if data[i] == '-' {
		i++
	}
	if i >= len(data) {
		return i, false
	}
	switch {
	case data[i] == '0':
		i++
	case data[i] >= '1' && data[i] <= '9':
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	default:
		return i, false
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			return i, false
		}
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			return i, false
		}
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	}
	return i, true
}
