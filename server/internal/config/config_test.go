package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPrecedenceFlagsOverEnvOverFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "gatehouse.yaml")
	require.NoError(t, os.WriteFile(file, []byte("gatewayAddr: \":7000\"\nconsoleAddr: \":7001\"\nlogLevel: debug\nshutdownTimeout: 5s\n"), 0o600))
	s, err := Load([]string{"--config", file, "--gateway-addr", ":9000"},
		[]string{"GATEHOUSE_GATEWAY_ADDR=:8000", "GATEHOUSE_CONSOLE_ADDR=:8002", "GATEHOUSE_DATA_DIR=/srv/gh"})
	require.NoError(t, err)
	require.Equal(t, ":9000", s.GatewayAddr, "a flag wins")
	require.Equal(t, ":8002", s.ConsoleAddr, "the environment wins over the file")
	require.Equal(t, "debug", s.LogLevel, "the file wins over the defaults")
	require.Equal(t, 5*time.Second, s.ShutdownTimeout)
	require.Equal(t, "/srv/gh/logs/gateway.log", s.LogFile, "the log file follows the data dir")
	require.Equal(t, "/srv/gh/gatehouse.db", s.Database)
}

func TestDefaults(t *testing.T) {
	s, err := Load(nil, nil)
	require.NoError(t, err)
	require.Equal(t, ":8080", s.GatewayAddr)
	require.Equal(t, ":8001", s.ConsoleAddr)
	require.Equal(t, "./build/plugins", s.PluginDir)
	require.Equal(t, 30*time.Second, s.ShutdownTimeout)
	require.Equal(t, filepath.Join("data", "logs", "gateway.log"), filepath.Clean(s.LogFile))
}

func TestEveryInvalidValueIsReportedAtOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "gatehouse.yaml")
	require.NoError(t, os.WriteFile(file, []byte("logLevl: debug\nlogMaxSizeMB: big\n"), 0o600))
	_, err := Load([]string{"--config", file}, []string{
		"GATEHOUSE_LOG_LEVEL=loud", "GATEHOUSE_LOG_FORMAT=xml", "GATEHOUSE_SHUTDOWN_TIMEOUT=soon",
		"GATEHOUSE_GATEWAY_ADDR=nope", "GATEHOUSE_ADMIN_USER=admin", "GATEHOUSE_JWT_SECRET=short",
	})
	require.Error(t, err)
	var keys []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		require.True(t, errors.As(e, &fe), "every problem is a FieldError: %v", e)
		keys = append(keys, fe.Key)
	}
	joined := strings.Join(keys, " | ")
	for _, want := range []string{"logLevl", "logMaxSizeMB", "GATEHOUSE_LOG_LEVEL", "GATEHOUSE_LOG_FORMAT",
		"GATEHOUSE_SHUTDOWN_TIMEOUT", "GATEHOUSE_GATEWAY_ADDR", "GATEHOUSE_ADMIN_PASSWORD", "GATEHOUSE_JWT_SECRET"} {
		require.Contains(t, joined, want)
	}
	require.Contains(t, err.Error(), "allowed keys:", "an unknown key lists the allowed ones")
	require.Contains(t, err.Error(), "use debug, info, warn or error")
}

func TestSecretsAreNotDescribed(t *testing.T) {
	s := Defaults()
	s.AdminPassword, s.JWTSecret = "hunter2-hunter2", strings.Repeat("x", 40)
	s.Database = "postgres://gh:topsecret@db:5432/gh"
	for _, e := range s.Describe() {
		require.NotContains(t, e.Value, "hunter2")
		require.NotContains(t, e.Value, "xxxx")
		require.NotContains(t, e.Value, "topsecret")
	}
	require.Equal(t, "gh:***@tcp(db)/gh", RedactDSN("gh:pw@tcp(db)/gh"))
}

func TestSecuritySettings(t *testing.T) {
	s, err := Load(nil, nil)
	require.NoError(t, err)
	require.Empty(t, s.TrustedProxies, "no proxy is trusted unless configured")
	require.Equal(t, 30*time.Second, s.BodyReadTimeout)
	require.Equal(t, 1024, s.BodyMinRate)
	d, err := ParseTokenLifetime(s.APITokenLifetime)
	require.NoError(t, err)
	require.Equal(t, 2160*time.Hour, d, "API tokens expire by default")

	s, err = Load(nil, []string{"GATEHOUSE_TRUSTED_PROXIES=10.0.0.0/8, 192.168.1.7", "GATEHOUSE_API_TOKEN_LIFETIME=never"})
	require.NoError(t, err)
	require.Equal(t, "10.0.0.0/8, 192.168.1.7", s.TrustedProxies)
	d, err = ParseTokenLifetime(s.APITokenLifetime)
	require.NoError(t, err)
	require.Zero(t, d, "never is allowed when said explicitly")

	_, err = Load(nil, []string{"GATEHOUSE_TRUSTED_PROXIES=10.0.0.0/8,proxy.local", "GATEHOUSE_API_TOKEN_LIFETIME=forever", "GATEHOUSE_BODY_MIN_RATE=-1"})
	require.ErrorContains(t, err, "GATEHOUSE_TRUSTED_PROXIES")
	require.ErrorContains(t, err, `"proxy.local"`)
	require.ErrorContains(t, err, "GATEHOUSE_API_TOKEN_LIFETIME")
	require.ErrorContains(t, err, "GATEHOUSE_BODY_MIN_RATE")
}

func TestGatewayEngine(t *testing.T) {
	s, err := Load(nil, nil)
	require.NoError(t, err)
	require.Equal(t, "std", s.GatewayEngine, "net/http stays the default until the fast engine meets the bar of issue 13")
	s, err = Load(nil, []string{"GATEHOUSE_GATEWAY_ENGINE=fast"})
	require.NoError(t, err)
	require.Equal(t, "fast", s.GatewayEngine)
	_, err = Load(nil, []string{"GATEHOUSE_GATEWAY_ENGINE=turbo"})
	require.ErrorContains(t, err, "GATEHOUSE_GATEWAY_ENGINE")
	require.ErrorContains(t, err, "use std or fast")
}

func TestAIUsageFailureMode(t *testing.T) {
	s, err := Load(nil, nil)
	require.NoError(t, err)
	require.Equal(t, "open", s.AIUsageFailureMode, "requests are served while Redis fails unless told otherwise")
	s, err = Load([]string{"--ai-usage-failure-mode", "closed"}, nil)
	require.NoError(t, err)
	require.Equal(t, "closed", s.AIUsageFailureMode)
	_, err = Load(nil, []string{"GATEHOUSE_AI_USAGE_FAILURE_MODE=shut"})
	require.ErrorContains(t, err, "GATEHOUSE_AI_USAGE_FAILURE_MODE")
	require.ErrorContains(t, err, "use open")
}

func TestUsageRollupInterval(t *testing.T) {
	s, err := Load(nil, nil)
	require.NoError(t, err)
	require.Equal(t, time.Minute, s.UsageRollupInterval, "usage is rolled up every minute by default")
	s, err = Load([]string{"--usage-rollup-interval", "15s"}, nil)
	require.NoError(t, err)
	require.Equal(t, 15*time.Second, s.UsageRollupInterval)
	for _, v := range []string{"0s", "500ms", "2h"} {
		_, err := Load(nil, []string{"GATEHOUSE_USAGE_ROLLUP_INTERVAL=" + v})
		require.ErrorContains(t, err, "GATEHOUSE_USAGE_ROLLUP_INTERVAL: must be from 1s to 1h", v)
	}
}
