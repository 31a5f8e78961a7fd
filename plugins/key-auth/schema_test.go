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
		`{"consumers":[{"name":"alice","key":"` + aliceKey + `"}]}`,
		`{"consumers":[{"name":"a.b@c-d_e","key":"` + aliceKey + `"}],"keys":["authorization","api_key"],"inHeader":true,"inQuery":true,"hideCredentials":true,"realm":"my api"}`,
	}, true)
	requireSchemaAgrees(t, []string{
		`{}`,
		`{"consumers":[]}`,
		`{"consumers":[{"name":"alice"}]}`,
		`{"consumers":[{"name":"alice","key":"short"}]}`,
		`{"consumers":[{"name":"alice","key":"` + aliceKey + `","extra":1}]}`,
		`{"consumers":[{"name":"-alice","key":"` + aliceKey + `"}]}`,
		`{"consumers":[{"name":"alice","key":"has a space 0123456789"}]}`,
		`{"consumers":[{"name":"alice","key":"` + aliceKey + `"}],"keys":["x api"]}`,
		`{"consumers":[{"name":"alice","key":"` + aliceKey + `"}],"realm":"a\"b"}`,
		`{"consumers":[{"name":"alice","key":"` + aliceKey + `"}],"inQuery":"yes"}`,
		`{"consumers":[{"name":"alice","key":"` + aliceKey + `"}],"hideCredential":true}`,
	}, false)
}
