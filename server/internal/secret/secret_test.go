package secret

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// testSchema has writeOnly properties in array items, in nested arrays,
// under additionalProperties, behind a $ref and in an allOf branch.
const testSchema = `{
  "type": "object",
  "$defs": {"cred": {"type": "string", "writeOnly": true}},
  "properties": {
    "consumers": {"type": "array", "items": {"type": "object", "properties": {
      "name": {"type": "string"},
      "key": {"type": "string", "writeOnly": true}
    }}},
    "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "object", "properties": {
      "token": {"type": "string", "writeOnly": true},
      "label": {"type": "string"}
    }}}},
    "upstreams": {"type": "object", "additionalProperties": {"type": "object", "properties": {
      "password": {"$ref": "#/$defs/cred"},
      "host": {"type": "string"}
    }}},
    "extra": {"allOf": [{"properties": {"secret": {"writeOnly": true}}}]},
    "whole": {"type": "object", "writeOnly": true},
    "keys": {"type": "array", "items": {"type": "string"}}
  }
}`

func schemaRuleOf(t *testing.T, schema string) Rule {
	t.Helper()
	r, ok := newSchemaRule(json.RawMessage(schema))
	require.True(t, ok)
	require.NotNil(t, r)
	return r
}

func TestMaskFollowsWriteOnlyInTheSchema(t *testing.T) {
	r := schemaRuleOf(t, testSchema)
	tests := []struct {
		name, in, want string
	}{
		{"writeOnly in array items",
			`{"consumers":[{"name":"alice","key":"alice-key-0123456789"},{"name":"bob","key":"bob-key-0123456789"}],"keys":["x-api-key"]}`,
			`{"consumers":[{"key":"********","name":"alice"},{"key":"********","name":"bob"}],"keys":["x-api-key"]}`},
		{"nested arrays",
			`{"matrix":[[{"token":"t1-secret","label":"a"}],[],[{"token":"t2-secret","label":"b"},{"label":"c"}]]}`,
			`{"matrix":[[{"label":"a","token":"********"}],[],[{"label":"b","token":"********"},{"label":"c"}]]}`},
		{"additionalProperties and $ref",
			`{"upstreams":{"db":{"host":"db.local","password":"hunter2-secret"},"cache":{"host":"c.local"}}}`,
			`{"upstreams":{"cache":{"host":"c.local"},"db":{"host":"db.local","password":"********"}}}`},
		{"allOf branch", `{"extra":{"secret":"s3cr3t-value","other":1}}`, `{"extra":{"other":1,"secret":"********"}}`},
		{"writeOnly object is masked whole", `{"whole":{"a":1,"b":[2]}}`, `{"whole":"********"}`},
		{"empty values stay: nothing to hide", `{"consumers":[{"name":"x","key":""},{"name":"y","key":null}]}`, `{"consumers":[{"name":"x","key":""},{"name":"y","key":null}]}`},
		{"numbers stay exact", `{"consumers":[{"name":"n","key":12345678901234567890123}],"n":1.50}`, `{"consumers":[{"key":"********","name":"n"}],"n":1.50}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.JSONEq(t, tt.want, string(MaskJSON([]byte(tt.in), r)))
		})
	}
	t.Run("unchanged documents are returned as they are", func(t *testing.T) {
		in := []byte(`{ "keys": ["a"],  "consumers": [] }`)
		require.Equal(t, string(in), string(MaskJSON(in, r)))
	})
	t.Run("what is not JSON is masked whole", func(t *testing.T) {
		require.Equal(t, `"********"`, string(MaskJSON([]byte(`{"consumers":[{"key":"abc"`), r)))
	})
	t.Run("a schema without writeOnly masks nothing", func(t *testing.T) {
		nr, ok := newSchemaRule(json.RawMessage(`{"properties":{"key":{"type":"string"}}}`))
		require.True(t, ok)
		require.Nil(t, nr)
		in := []byte(`{"key":"visible"}`)
		require.Equal(t, string(in), string(MaskJSON(in, nr)))
	})
	t.Run("a cyclic $ref ends", func(t *testing.T) {
		cr := schemaRuleOf(t, `{"$ref":"#","writeOnly":false,"properties":{"k":{"writeOnly":true},"next":{"$ref":"#"}}}`)
		require.JSONEq(t, `{"k":"********","next":{"k":"********"}}`, string(MaskJSON([]byte(`{"k":"a","next":{"k":"b"}}`), cr)))
	})
}

func TestRestoreKeepsStoredSecrets(t *testing.T) {
	r := schemaRuleOf(t, testSchema)
	stored := []byte(`{"consumers":[{"name":"alice","key":"alice-key-0123456789"},{"name":"bob","key":"bob-key-0123456789"}],
		"matrix":[[{"token":"t1-secret"}]],"upstreams":{"db":{"password":"hunter2-secret"}}}`)
	tests := []struct {
		name, in, want string
	}{
		{"what GET showed comes back unchanged",
			string(MaskJSON(stored, r)),
			string(stored)},
		{"items are matched by name: bob keeps his key after alice is removed and carol added",
			`{"consumers":[{"name":"carol","key":"carol-key-0123456789"},{"name":"bob","key":"********"}]}`,
			`{"consumers":[{"name":"carol","key":"carol-key-0123456789"},{"name":"bob","key":"bob-key-0123456789"}]}`},
		{"a new value replaces the stored one",
			`{"consumers":[{"name":"alice","key":"alice-new-key-0123456789"}]}`,
			`{"consumers":[{"name":"alice","key":"alice-new-key-0123456789"}]}`},
		{"items without a name are matched by position; maps by key",
			`{"matrix":[[{"token":"********","label":"x"}]],"upstreams":{"db":{"password":"********","host":"h"}}}`,
			`{"matrix":[[{"token":"t1-secret","label":"x"}]],"upstreams":{"db":{"password":"hunter2-secret","host":"h"}}}`},
		{"the mask where nothing is secret is a value like any other",
			`{"keys":["********"]}`,
			`{"keys":["********"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := RestoreJSON("plugin_instance", []byte(tt.in), stored, r, "config")
			require.NoError(t, err)
			require.JSONEq(t, tt.want, string(out))
		})
	}

	t.Run("a mask with nothing stored is refused, naming every field", func(t *testing.T) {
		in := `{"consumers":[{"name":"dave","key":"********"},{"name":"bob","key":"********"}],"matrix":[[],[{"token":"********"}]]}`
		_, err := RestoreJSON("plugin_instance", []byte(in), stored, r, "config")
		var ae *Error
		require.True(t, errors.As(err, &ae), "%v", err)
		require.Equal(t, "plugin_instance_invalid", ae.Code)
		fields := []string{}
		for _, d := range ae.Details {
			fields = append(fields, d.Field)
		}
		require.Equal(t, []string{"config.consumers[0].key", "config.matrix[1][0].token"}, fields)
		require.Contains(t, ae.Message, "config.consumers[0].key")
		require.NotContains(t, ae.Message, "bob-key", "the stored secret is not in the error")
	})
	t.Run("a new object has nothing stored", func(t *testing.T) {
		_, err := RestoreJSON("plugin_instance", []byte(`{"consumers":[{"name":"alice","key":"********"}]}`), nil, r, "config")
		require.ErrorContains(t, err, "config.consumers[0].key")
	})
}

func TestSecretNames(t *testing.T) {
	for _, n := range []string{"apiKey", "apikey", "API_KEY", "accessToken", "token", "clientSecret", "password", "dbPasswd", "credential", "appCode", "Authorization", "X-Api-Key", "Cookie"} {
		require.True(t, pluginapi.SecretName(n), n)
	}
	for _, n := range []string{"region", "baseURL", "timeout", "Accept", "Content-Type", "name"} {
		require.False(t, pluginapi.SecretName(n), n)
	}
}
