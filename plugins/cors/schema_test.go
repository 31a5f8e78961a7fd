package main

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/schematest"
)

// requireSchemaAgrees checks that the schema accepts what the plugin
// accepts, and refuses what it refuses.
func requireSchemaAgrees(t *testing.T, configs []string, valid bool) {
	t.Helper()
	schematest.RequireAgrees(t, Plugin.ConfigSchema(), func(b []byte) error {
		_, err := parseConfig(b)
		return err
	}, configs, valid)
}

func TestSchemaAgreesWithThePlugin(t *testing.T) {
	requireSchemaAgrees(t, []string{
		`{"allowOrigins":["*"]}`,
		`{"allowOrigins":["https://app.example.com","https://*.example.com","*.example.org"],"allowMethods":["GET","*"],"allowHeaders":["x-api-key"],"exposeHeaders":["x-request-id"],"allowCredentials":true,"maxAge":0}`,
	}, true)
	requireSchemaAgrees(t, []string{
		`{}`,
		`{"allowOrigins":[]}`,
		`{"allowOrigins":["*"],"maxAge":-1}`,
		`{"allowOrigins":["*"],"maxAge":86401}`,
		`{"allowOrigins":["*"],"allowMethods":["PO ST"]}`,
		`{"allowOrigins":["*"],"exposeHeaders":["x y"]}`,
		`{"allowOrigins":["*"],"allowOrigin":["x"]}`,
		`{"allowOrigins":["*"],"allowCredentials":"yes"}`,
		`{"allowOrigins":["https://a.example.com","*"],"allowCredentials":true}`,
		`{"allowOrigins":["https://a.example.com"],"allowCredentials":true,"exposeHeaders":["*"]}`,
	}, false)
}
