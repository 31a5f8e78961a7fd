package restmcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// FieldError is one problem in a definition: Field is the path of the
// offending value ("tools[3].requestTemplate.body"), Message says what is
// wrong and, where it helps, what to do. Tool names the tool when the
// problem is inside one.
type FieldError struct {
	Field   string
	Message string
	Tool    string
}

// FieldPath names the field, for hosts that show errors next to fields.
func (e *FieldError) FieldPath() string { return e.Field }

// FieldMessage is the message without the field.
func (e *FieldError) FieldMessage() string { return e.Message }

// Error implements error as "field: message".
func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Parse decodes a definition from JSON, or from YAML when contentType is
// a YAML media type (application/yaml, application/x-yaml, text/yaml) or
// the data is not a JSON object. Unknown fields and values of the wrong
// type are refused, each with a *FieldError naming it (and its line, for
// YAML); all problems are returned at once with errors.Join. Defaults are
// applied (SetDefaults). Parse does not validate the definition: Compile
// does.
func Parse(data []byte, contentType string) (*Definition, error) {
	var (
		tree any
		errs []error
	)
	if isYAML(contentType) || !looksLikeJSON(data) {
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, &FieldError{Message: fmt.Sprintf("invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))}
		}
		if doc.Kind == 0 || len(doc.Content) == 0 {
			return nil, &FieldError{Message: "the definition is empty: send a JSON or YAML object with at least server and tools"}
		}
		tree = fromYAML(doc.Content[0], definitionType, "", &errs)
	} else {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, &FieldError{Message: fmt.Sprintf("invalid JSON: %v", err)}
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return nil, &FieldError{Message: "invalid JSON: data after the definition object; send one object"}
		}
		tree = fromJSON(v, definitionType, "", &errs)
	}
	var warnings []FieldError
	errs = slices.DeleteFunc(errs, func(e error) bool {
		w, ok := e.(*lenient) //nolint:errorlint // our own values, never wrapped
		if ok {
			warnings = append(warnings, w.FieldError)
		}
		return ok
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// The tree now has exactly the definition's shape and types.
	raw, err := json.Marshal(tree)
	if err != nil {
		return nil, &FieldError{Message: fmt.Sprintf("encode definition: %v", err)}
	}
	def := new(Definition)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(def); err != nil {
		return nil, &FieldError{Message: fmt.Sprintf("decode definition: %v", err)}
	}
	def.SetDefaults()
	def.warnings = warnings
	return def, nil
}

// lenient is a problem Parse accepts, as Higress does, with a warning.
type lenient struct{ FieldError }

// lenientTypes are the objects whose unknown fields Higress ignores and
// published definitions use (a server's or a tool's description, an
// argument's example): they load, with a warning naming the field.
var lenientTypes = map[reflect.Type]bool{
	reflect.TypeFor[ServerConfig](): true,
	reflect.TypeFor[Tool]():         true,
	reflect.TypeFor[Arg]():          true,
}

func unknownField(t reflect.Type, field, msg string) error {
	if lenientTypes[t] {
		return &lenient{FieldError{Field: field, Message: msg + "; ignored, as Higress ignores it"}}
	}
	return &FieldError{Field: field, Message: msg}
}

func isYAML(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch mt {
	case "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml":
		return true
	}
	return false
}

func looksLikeJSON(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	return len(t) > 0 && t[0] == '{'
}

var (
	definitionType = reflect.TypeFor[Definition]()
	anyType        = reflect.TypeFor[any]()
)

// structField is a decodable field of a struct: its key and type.
type structField struct {
	key     string // under the tag asked for
	jsonKey string // under the json tag, the shape Parse re-encodes to
	typ     reflect.Type
}

// fieldsOf lists the fields of struct type t under the given tag (json or
// yaml), skipping fields tagged "-".
func fieldsOf(t reflect.Type, tag string) []structField {
	var out []structField
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get(tag), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		jsonKey, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if jsonKey == "" {
			jsonKey = f.Name
		}
		out = append(out, structField{key: name, jsonKey: jsonKey, typ: f.Type})
	}
	return out
}

func lookupField(fields []structField, key string) (structField, bool) {
	for _, f := range fields {
		if f.key == key {
			return f, true
		}
	}
	return structField{}, false
}

func fieldKeys(fields []structField) string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return strings.Join(keys, ", ")
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// fromJSON checks a decoded JSON value against type t and returns it.
func fromJSON(v any, t reflect.Type, path string, errs *[]error) any {
	if t.Kind() == reflect.Pointer {
		if v == nil {
			return nil
		}
		t = t.Elem()
	}
	if t == anyType {
		return v
	}
	wrong := func() any {
		*errs = append(*errs, &FieldError{Field: path, Message: fmt.Sprintf("want %s, got %s", kindName(t), describeJSON(v))})
		return nil
	}
	if v == nil {
		return nil // null leaves the zero value, as encoding/json does
	}
	switch t.Kind() {
	case reflect.String:
		if _, ok := v.(string); !ok {
			return wrong()
		}
		return v
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return wrong()
		}
		return v
	case reflect.Int, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			return wrong()
		}
		if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
			return wrong()
		}
		return v
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			return wrong()
		}
		out := make([]any, len(list))
		for i, e := range list {
			out[i] = fromJSON(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
		}
		return out
	case reflect.Map:
		if _, ok := v.(map[string]any); !ok {
			return wrong()
		}
		return v
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return wrong()
		}
		fields := fieldsOf(t, "json")
		out := make(map[string]any, len(obj))
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			f, ok := lookupField(fields, k)
			if !ok {
				*errs = append(*errs, unknownField(t, joinPath(path, k), fmt.Sprintf("unknown field; the fields here are %s", fieldKeys(fields))))
				continue
			}
			out[k] = fromJSON(obj[k], f.typ, joinPath(path, k), errs)
		}
		return out
	}
	return wrong()
}

func describeJSON(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("string %q", truncate(v, 40))
	case bool:
		return fmt.Sprintf("boolean %t", v)
	case json.Number:
		return "number " + v.String()
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// fromYAML converts a YAML node to a JSON-encodable value shaped like type
// t, recording every unknown field and type mismatch with its line. A
// scalar of any kind is accepted where a string is wanted (YAML's "2022-06-28"
// or "1.0" are strings to their authors), and timestamps stay text.
func fromYAML(n *yaml.Node, t reflect.Type, path string, errs *[]error) any {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if t.Kind() == reflect.Pointer {
		if isYAMLNull(n) {
			return nil
		}
		t = t.Elem()
	}
	if t == anyType {
		v, err := yamlAny(n)
		if err != nil {
			*errs = append(*errs, &FieldError{Field: path, Message: fmt.Sprintf("%v (line %d)", err, n.Line)})
		}
		return v
	}
	wrong := func() any {
		*errs = append(*errs, &FieldError{Field: path, Message: fmt.Sprintf("want %s, got %s (line %d)", kindName(t), describeYAML(n), n.Line)})
		return nil
	}
	if isYAMLNull(n) {
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return wrong()
		}
		return n.Value
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			return wrong()
		}
		return b
	case reflect.Int, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
			return wrong()
		}
		return i
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return wrong()
		}
		out := make([]any, len(n.Content))
		for i, e := range n.Content {
			out[i] = fromYAML(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
		}
		return out
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return wrong()
		}
		v, err := yamlAny(n)
		if err != nil {
			*errs = append(*errs, &FieldError{Field: path, Message: fmt.Sprintf("%v (line %d)", err, n.Line)})
		}
		return v
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return wrong()
		}
		fields := fieldsOf(t, "yaml")
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			key := kn.Value
			f, ok := lookupField(fields, key)
			if !ok {
				*errs = append(*errs, unknownField(t, joinPath(path, key), fmt.Sprintf("unknown field (line %d); the fields here are %s", kn.Line, fieldKeys(fields))))
				continue
			}
			jk := f.jsonKey
			if _, dup := out[jk]; dup {
				*errs = append(*errs, &FieldError{Field: joinPath(path, key), Message: fmt.Sprintf("given twice (line %d); keep one", kn.Line)})
				continue
			}
			out[jk] = fromYAML(vn, f.typ, joinPath(path, key), errs)
		}
		return out
	}
	return wrong()
}

func isYAMLNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func describeYAML(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "an object"
	case yaml.ScalarNode:
		kind := map[string]string{"!!str": "string", "!!int": "integer", "!!float": "number", "!!bool": "boolean", "!!timestamp": "timestamp"}[n.Tag]
		if kind == "" {
			kind = "value"
		}
		return fmt.Sprintf("%s %q", kind, truncate(n.Value, 40))
	}
	return "nothing"
}

// yamlAny converts a node to plain JSON values: mappings to
// map[string]any (keys as written), sequences to []any, scalars by tag,
// with timestamps and unknown tags kept as their text.
func yamlAny(n *yaml.Node) (any, error) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return yamlAny(n.Content[0])
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, e := range n.Content {
			v, err := yamlAny(e)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := yamlAny(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			out[n.Content[i].Value] = v
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, err
			}
			return b, nil
		case "!!int":
			var i int64
			if err := n.Decode(&i); err != nil {
				return n.Value, nil //nolint:nilerr // out of int64 range: keep the text
			}
			return i, nil
		case "!!float":
			var f float64
			if err := n.Decode(&f); err != nil {
				return nil, err
			}
			if f != f || f > 1.7976931348623157e308 || f < -1.7976931348623157e308 {
				return nil, fmt.Errorf("%s is not a JSON number; quote it to make it a string", n.Value)
			}
			return f, nil
		}
		return n.Value, nil
	}
	return nil, nil
}
