package restmcp

import (
	"bytes"
	"fmt"
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
	if t.schema == nil {
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
