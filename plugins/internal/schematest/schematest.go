// Package schematest checks, in the bundled plugins' tests, that a plugin's
// published JSON Schema agrees with what the plugin itself accepts: a console
// or editor validating against the schema must not promise otherwise.
package schematest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
)

// RequireAgrees compiles schema with a draft 2020-12 validator and checks
// that schema and parse both accept (valid) or both refuse every config.
func RequireAgrees(t *testing.T, schema json.RawMessage, parse func([]byte) error, configs []string, valid bool) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("config.schema.json", doc))
	s, err := c.Compile("config.schema.json")
	require.NoError(t, err, "ConfigSchema is a valid JSON Schema")
	for _, cfg := range configs {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(cfg))
		require.NoError(t, err)
		perr := parse([]byte(cfg))
		serr := s.Validate(inst)
		if valid {
			require.NoError(t, perr, "the plugin accepts %s", cfg)
			require.NoError(t, serr, "the schema accepts %s", cfg)
		} else {
			require.Error(t, perr, "the plugin refuses %s", cfg)
			require.Error(t, serr, "the schema refuses %s", cfg)
		}
	}
}
