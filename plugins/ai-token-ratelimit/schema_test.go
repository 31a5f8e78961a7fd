package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/schematest"
)

func requireSchemaAgrees(t *testing.T, configs []string, valid bool) {
	t.Helper()
	schematest.RequireAgrees(t, Plugin.ConfigSchema(), func(b []byte) error {
		_, err := parseConfig(b)
		return err
	}, configs, valid)
}

func TestSchemaAgreesWithThePlugin(t *testing.T) {
	requireSchemaAgrees(t, []string{
		`{"rule_name":"r","rule_items":[{"limit_by_per_consumer":"","limit_keys":[{"key":"*","token_per_minute":100}]}]}`,
		`{"rule_name":"a.b-1","rule_items":[
			{"limit_by_header":"x-tenant","limit_keys":[{"key":"acme","token_per_second":10},{"key":"globex","token_per_day":1000}]},
			{"limit_by_param":"team","limit_keys":[{"key":"a","token_per_hour":5}]},
			{"limit_by_consumer":"","limit_keys":[{"key":"alice","token_per_minute":5}]},
			{"limit_by_cookie":"sid","limit_keys":[{"key":"x","token_per_minute":5}]},
			{"limit_by_per_header":"x-user","limit_keys":[{"key":"regexp:^u-","token_per_minute":5}]},
			{"limit_by_per_param":"u","limit_keys":[{"key":"*","token_per_minute":5}]},
			{"limit_by_per_cookie":"sid","limit_keys":[{"key":"*","token_per_minute":5}]},
			{"limit_by_per_ip":"","limit_keys":[{"key":"10.0.0.0/8","token_per_minute":5},{"key":"0.0.0.0/0","token_per_minute":1}]}],
		 "rejected_code":403,"rejected_msg":"slow down","defaultMaxTokens":64,"failureMode":"closed"}`,
	}, true)
	requireSchemaAgrees(t, []string{
		`{}`,
		`{"rule_name":"r"}`,
		`{"rule_name":"r","rule_items":[]}`,
		`{"rule_items":[{"limit_by_per_ip":"","limit_keys":[{"key":"*","token_per_minute":1}]}]}`,
		`{"rule_name":"r","rule_items":[{"limit_keys":[{"key":"*","token_per_minute":1}]}]}`,
		`{"rule_name":"r","rule_items":[{"limit_by_per_ip":"","limit_by_per_consumer":"","limit_keys":[{"key":"*","token_per_minute":1}]}]}`,
		`{"rule_name":"r","rule_items":[{"limit_by_per_ip":""}]}`,
		`{"rule_name":"r","rule_items":[{"limit_by_per_ip":"","limit_keys":[{"key":"*"}]}]}`,
		`{"rule_name":"r","rule_items":[{"limit_by_per_ip":"","limit_keys":[{"key":"*","token_per_minute":0}]}]}`,
		`{"rule_name":"r","rule_items":[{"limit_by_per_ip":"","limit_keys":[{"key":"*","token_per_minute":-5}]}]}`,
		`{"rule_name":"r","rule_items":[{"limit_by_per_ip":"","limit_keys":[{"key":"*","token_per_minute":1,"token_per_hour":2}]}]}`,
		`{"rule_name":"r","rule_items":[{"limit_by_per_ip":"","limit_keys":[{"key":"","token_per_minute":1}]}]}`,
		`{"rule_name":"r","rule_items":[{"limit_by_header":"","limit_keys":[{"key":"a","token_per_minute":1}]}]}`,
		`{"rule_name":"r","rule_items":[{"limit_by_per_ip":"","limit_keys":[{"key":"*","token_per_minute":1,"burst":2}]}]}`,
		`{"rule_name":"r","rule_items":[{"limit_by_per_ip":"","limit_keys":[{"key":"*","token_per_minute":1}]}],"rejected_code":200}`,
		`{"rule_name":"r","rule_items":[{"limit_by_per_ip":"","limit_keys":[{"key":"*","token_per_minute":1}]}],"failureMode":"maybe"}`,
		`{"rule_name":"r","rule_items":[{"limit_by_per_ip":"","limit_keys":[{"key":"*","token_per_minute":1}]}],"defaultMaxTokens":0}`,
		`{"rule_name":"r","rule_items":[{"limit_by_per_ip":"","limit_keys":[{"key":"*","token_per_minute":1}]}],"redis":{"service_name":"redis.dns","service_port":6379}}`,
		`{"rule_name":"r","rule_items":[{"limit_by_per_ip":"","limit_keys":[{"key":"*","token_per_minute":1}]}],"rulename":"x"}`,
	}, false)
}

func TestErrorsNameTheField(t *testing.T) {
	for cfg, want := range map[string]string{
		`{"rule_name":"r","rule_items":[{"limit_by_per_ip":"","limit_keys":[{"key":"*","token_per_minute":1}]}],"redis":{"service_name":"redis"}}`: "redis: is not supported",
		`{"rule_name":"r","rule_items":[{"limit_by_per_ip":"","limit_keys":[{"key":"not-an-ip","token_per_minute":1}]}]}`:                          "rule_items[0].limit_keys[0].key: \"not-an-ip\" is not an IP address",
		`{"rule_name":"r","rule_items":[{"limit_by_per_header":"x","limit_keys":[{"key":"regexp:(","token_per_minute":1}]}]}`:                      "rule_items[0].limit_keys[0].key",
		`{"rule_name":"r","rule_items":[{"limit_by_per_ip":"","limit_keys":[{"key":"*","token_per_minute":1}]}],"rejected_cod":1}`:                 "rejected_cod",
	} {
		_, err := parseConfig([]byte(cfg))
		require.Error(t, err, cfg)
		require.Contains(t, err.Error(), want)
	}
}
