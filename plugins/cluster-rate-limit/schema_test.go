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
		`{"ruleName":"orders","requests":10,"window":"1m"}`,
		`{"ruleName":"a.b_c-1","limitBy":"header","headerName":"x-tenant","requests":1,"window":"1h30m","failOpen":true,"redisTimeout":"500ms"}`,
		`{"ruleName":"r","limitBy":"client-address","requests":5,"window":"1.5s"}`,
	}, true)
	requireSchemaAgrees(t, []string{
		`{}`,
		`{"ruleName":"r","requests":10}`,
		`{"ruleName":"r","requests":0,"window":"1m"}`,
		`{"ruleName":"r","requests":1.5,"window":"1m"}`,
		`{"ruleName":"r","requests":1,"window":"10"}`,
		`{"ruleName":"r","requests":1,"window":"1m","limitBy":"ip"}`,
		`{"ruleName":"-r","requests":1,"window":"1m"}`,
		`{"ruleName":"r","requests":1,"window":"1m","failopen":true}`,
		`{"ruleName":"r","requests":1,"window":"1m","redisTimeout":"soon"}`,
		`{"ruleName":"r","requests":1,"window":"1m","limitBy":"header"}`,
		`{"ruleName":"r","requests":1,"window":"1m","headerName":"x-tenant"}`,
	}, false)
}
