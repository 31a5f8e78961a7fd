package restmcp

import (
	"math"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// A tool whose arguments all have bare types is checked without the JSON
// Schema validator when the values surely fit: every value fitsBare
// accepts, the validator accepts too, and what it does not accept is
// still refused by the validator, naming the argument.
func TestBareArgumentsAgreeWithTheValidator(t *testing.T) {
	s, err := compileYAML(t, `
server: {name: bare}
tools:
- name: get
  args:
  - {name: s, type: string, required: true, description: a string, default: x}
  - {name: i, type: int}
  - {name: n, type: number, examples: [1.5]}
  - {name: b, type: boolean, title: B}
  requestTemplate: {url: "http://127.0.0.1:1/items", argsToUrlParam: true}
- name: enum
  args: [{name: s, enum: [a, b]}]
  requestTemplate: {url: "http://127.0.0.1:1/items"}
- name: pattern
  args: [{name: s, pattern: "^a+$"}]
  requestTemplate: {url: "http://127.0.0.1:1/items"}
`)
	require.NoError(t, err)
	get := s.byName["get"]
	require.Equal(t, map[string]string{"s": "string", "i": "integer", "n": "number", "b": "boolean"}, get.bare)
	require.Nil(t, s.byName["enum"].bare, "enum is more than a bare type")
	require.Nil(t, s.byName["pattern"].bare, "pattern is more than a bare type")

	values := []any{"", "x", "ü\x00", int64(3), int64(-1), float64(2), 2.5, math.Inf(1), math.NaN(), true, false,
		map[string]any{"a": 1.0}, []any{"a"}, int(4)}
	fits := 0
	for _, name := range []string{"s", "i", "n", "b"} {
		for _, v := range values {
			args := map[string]any{"s": "x", name: v}
			if get.fitsBare(args) {
				fits++
				require.NoError(t, get.schema.Validate(args), "fitsBare accepted %s=%#v, which the validator refuses", name, v)
			}
			if get.schema.Validate(args) != nil {
				err := get.checkArgs(args)
				require.ErrorIs(t, err, ErrInvalidArguments, "%s=%#v", name, v)
				require.Contains(t, err.Error(), `argument "`+name+`"`)
			}
		}
	}
	require.Equal(t, 11, fits, "the usual values of each type fit without the validator")

	// Through Render: conversions first, as Higress does, then the check.
	for _, tc := range []struct {
		args map[string]any
		bad  string
	}{
		{map[string]any{"i": "ten"}, "i"},
		{map[string]any{"i": 2.5}, "i"},
		{map[string]any{"b": "yes"}, "b"},
		{map[string]any{"n": "many"}, "n"},
		{map[string]any{"s": map[string]any{"x": 1.0}}, "s"},
	} {
		_, err := s.Render("get", tc.args, nil)
		require.ErrorIs(t, err, ErrInvalidArguments, "%v", tc.args)
		require.Contains(t, err.Error(), `argument "`+tc.bad+`"`)
	}
	r, err := s.Render("get", map[string]any{"i": "5", "n": "0.5", "b": "true"}, nil)
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:1/items?b=true&i=5&n=0.5&s=x", r.URL)
	_, err = s.Render("enum", map[string]any{"s": "c"}, nil)
	require.ErrorIs(t, err, ErrInvalidArguments)
	_, err = s.Render("pattern", map[string]any{"s": "b"}, nil)
	require.ErrorIs(t, err, ErrInvalidArguments)
}

// setQuery encodes as url.Values does: sorted by name, escaped, a
// template's own query kept and the arguments set over it.
func TestSetQueryEncodesAsURLValues(t *testing.T) {
	args := map[string]any{"b": "x y", "a": "&=?#", "é": "ü", "n": int64(7), "f": 0.5, "t": true,
		"o": map[string]any{"k": "v"}, "l": []any{"1", 2.0}, "empty": ""}
	var names []string
	for name := range args {
		names = append(names, name)
	}
	for _, raw := range []string{"", "z=1", "a=old&a=older&q=%zz&r=2", "b"} {
		want, _ := url.ParseQuery(raw)
		for _, name := range names {
			want.Set(name, argString(args[name]))
		}
		got := setQuery(raw, append([]string(nil), names...), args)
		require.Equal(t, want.Encode(), got, "template query %q", raw)
	}
	require.Empty(t, setQuery("", nil, args))
	require.Equal(t, "a=2&a=1&b=%2F", setQuery("b=/&a=2&a=1", nil, args), "a template's query is re-encoded, values in order")
}
