package restmcp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var schemaPrinter = message.NewPrinter(language.English)

// compileInputSchema compiles a tool's input schema for checking
// arguments; nil, with the reason, when the schema cannot be compiled.
func compileInputSchema(schema []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("input.schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("input.schema.json")
}

// checkArgs validates prepared arguments against the tool's input schema.
// The error wraps ErrInvalidArguments and names each offending argument.
func (t *compiledTool) checkArgs(args map[string]any) error {
	if t.schema == nil || t.fitsBare(args) {
		return nil
	}
	err := t.schema.Validate(map[string]any(args))
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError) //nolint:errorlint // Validate returns it itself
	if !ok {
		return fmt.Errorf("%w: tool %q: %v", ErrInvalidArguments, t.def.Name, err)
	}
	var problems []string
	var leaves func(e *jsonschema.ValidationError)
	leaves = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				leaves(c)
			}
			return
		}
		msg := e.ErrorKind.LocalizedString(schemaPrinter)
		if len(e.InstanceLocation) == 0 {
			problems = append(problems, msg)
			return
		}
		where := fmt.Sprintf("argument %q", e.InstanceLocation[0])
		if len(e.InstanceLocation) > 1 {
			where += " at /" + strings.Join(e.InstanceLocation[1:], "/")
		}
		problems = append(problems, where+": "+msg)
	}
	leaves(ve)
	sort.Strings(problems)
	return fmt.Errorf("%w: tool %q: %s", ErrInvalidArguments, t.def.Name, strings.Join(problems, "; "))
}

// bareTypes returns each argument's type when the input schema (built by
// inputSchema) gives every argument a bare type — string, integer, number
// or boolean, with annotations only (description, default, title,
// examples) —, else nil. Most tools' arguments are such; fitsBare then
// accepts their usual values without the validator.
func bareTypes(schema []byte) map[string]string {
	var s struct {
		Properties map[string]map[string]any `json:"properties"`
	}
	if json.Unmarshal(schema, &s) != nil {
		return nil
	}
	types := make(map[string]string, len(s.Properties))
	for name, p := range s.Properties {
		for k := range p {
			switch k {
			case "type", "description", "default", "title", "examples":
			default:
				return nil
			}
		}
		switch typ, _ := p["type"].(string); typ {
		case "string", "integer", "number", "boolean":
			types[name] = typ
		default:
			return nil
		}
	}
	return types
}

// fitsBare reports whether prepared arguments (see prepareArgs: every
// required one present, numbers as int64 or float64) surely fit a schema
// of bare types. false means only "not sure": the validator decides, and
// says what is wrong.
func (t *compiledTool) fitsBare(args map[string]any) bool {
	if t.bare == nil {
		return false
	}
	for name, v := range args {
		var ok bool
		switch t.bare[name] {
		case "string":
			_, ok = v.(string)
		case "boolean":
			_, ok = v.(bool)
		case "integer":
			_, ok = v.(int64)
		case "number":
			switch x := v.(type) {
			case int64:
				ok = true
			case float64:
				ok = !math.IsInf(x, 0) && !math.IsNaN(x)
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
