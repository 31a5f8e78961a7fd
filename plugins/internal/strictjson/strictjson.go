// Package strictjson decodes a plugin's JSON config strictly: unknown
// fields and values of the wrong type are reported with their paths, all at
// once, as *pluginapi.ConfigError. The bundled plugins share it; a package
// linked into several plugins is loaded once by the Go runtime.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// Decode unmarshals data into v, a pointer to a struct. Unknown
// fields (matched exactly, not case-insensitively as encoding/json does)
// and values of the wrong JSON type are problems, each a
// *pluginapi.ConfigError naming the value's path ("consumers[1].key"); v
// receives everything else, so that validation can report its own
// problems in the same answer (see Join). err is set when data is
// not a JSON object at all. An empty config or null is the empty object.
func Decode(data []byte, v any) (problems []error, err error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		data = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("config is not valid JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("config has data after its JSON object; send one object")
	}
	if _, ok := raw.(map[string]any); !ok {
		return nil, fmt.Errorf("config must be a JSON object, not %s", jsonKind(raw))
	}
	raw = checkValue(reflect.TypeOf(v).Elem(), raw, "", &problems)
	// What is left fits v.
	clean, err := json.Marshal(raw)
	if err == nil {
		err = json.Unmarshal(clean, v)
	}
	if err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	return problems, nil
}

// Join joins the problems of decodeStrict with those of
// validation, leaving out validation's findings about values that
// decodeStrict already refused (a mistyped field is not also "required").
func Join(shape []error, validation error) error {
	covered := func(field string) bool {
		for _, e := range shape {
			var ce *pluginapi.ConfigError
			if errors.As(e, &ce) && (field == ce.Field || strings.HasPrefix(field, ce.Field+".") || strings.HasPrefix(field, ce.Field+"[")) {
				return true
			}
		}
		return false
	}
	all := slices.Clone(shape)
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok { //nolint:errorlint // walking a join by hand
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var ce *pluginapi.ConfigError
		if errors.As(e, &ce) && covered(ce.Field) {
			return
		}
		all = append(all, e)
	}
	if validation != nil {
		walk(validation)
	}
	return errors.Join(all...)
}

// checkValue checks that val, decoded from JSON, fits t; it appends a
// ConfigError per problem and returns val without the refused parts (nil
// when val itself is refused).
func checkValue(t reflect.Type, val any, path string, errs *[]error) any {
	if val == nil {
		return nil // null leaves the zero value, as encoding/json does
	}
	fail := func(format string, args ...any) any {
		*errs = append(*errs, &pluginapi.ConfigError{Field: path, Message: fmt.Sprintf(format, args...)})
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return checkValue(t.Elem(), val, path, errs)
	case reflect.Struct:
		obj, ok := val.(map[string]any)
		if !ok {
			return fail("must be an object, not %s", jsonKind(val))
		}
		fields := map[string]reflect.Type{}
		var names []string
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" || name == "" {
				continue
			}
			fields[name] = f.Type
			names = append(names, name)
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			sub := joinPath(path, k)
			ft, ok := fields[k]
			if !ok {
				msg := "unknown field; the accepted fields are " + strings.Join(names, ", ")
				if n := nearest(k, names); n != "" {
					msg = fmt.Sprintf("unknown field; did you mean %q? (field names are case-sensitive)", n)
				}
				*errs = append(*errs, &pluginapi.ConfigError{Field: sub, Message: msg})
				delete(obj, k)
				continue
			}
			if kept := checkValue(ft, obj[k], sub, errs); kept != nil {
				obj[k] = kept
			} else {
				delete(obj, k)
			}
		}
		return obj
	case reflect.Slice:
		arr, ok := val.([]any)
		if !ok {
			return fail("must be an array, not %s", jsonKind(val))
		}
		for i, e := range arr {
			// A refused element becomes null, keeping the others' indexes.
			arr[i] = checkValue(t.Elem(), e, path+"["+strconv.Itoa(i)+"]", errs)
		}
		return arr
	case reflect.Map:
		obj, ok := val.(map[string]any)
		if !ok {
			return fail("must be an object, not %s", jsonKind(val))
		}
		for k, e := range obj {
			if kept := checkValue(t.Elem(), e, joinPath(path, k), errs); kept != nil {
				obj[k] = kept
			} else {
				delete(obj, k)
			}
		}
		return obj
	case reflect.String:
		if _, ok := val.(string); !ok {
			return fail("must be a string, not %s", jsonKind(val))
		}
	case reflect.Bool:
		if _, ok := val.(bool); !ok {
			return fail("must be true or false, not %s", jsonKind(val))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := val.(json.Number)
		if !ok {
			return fail("must be a whole number, not %s", jsonKind(val))
		}
		if _, err := strconv.ParseInt(string(n), 10, t.Bits()); err != nil {
			return fail("must be a whole number that fits in %d bits, not %s", t.Bits(), n)
		}
	case reflect.Float32, reflect.Float64:
		if _, ok := val.(json.Number); !ok {
			return fail("must be a number, not %s", jsonKind(val))
		}
	}
	return val
}

// nearest returns the name that k most likely misspells (same letters in
// another case, or at most two edits away), or "".
func nearest(k string, names []string) string {
	best, bestDist := "", 3
	for _, n := range names {
		if strings.EqualFold(n, k) {
			return n
		}
		if d := editDistance(strings.ToLower(k), strings.ToLower(n)); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
