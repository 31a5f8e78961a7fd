package redisx

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

const secretPassword = "s3cret-Pa55word-never-shown"

// installedVersion is the version of the redis-server binary the tests run.
func installedVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("redis-server", "--version").Output()
	require.NoError(t, err)
	for _, f := range strings.Fields(string(out)) {
		if v, ok := strings.CutPrefix(f, "v="); ok {
			return v
		}
	}
	t.Fatalf("no version in %q", out)
	return ""
}

// TestDiagnose runs every diagnosis against real servers: each case is a
// mistake a person makes in Settings → Redis, and the diagnosis must name
// it with the values involved and say what to check, never showing the
// password.
func TestDiagnose(t *testing.T) {
	plain := testenv.StartRedis(t)
	locked := testenv.StartRedis(t, "--requirepass", secretPassword)
	acl := testenv.StartRedis(t, "--user", "limited", "on", ">"+secretPassword, "~*", "+ping")
	sentinelSrv := startSentinel(t, "known", plain.Port)
	cluster := startClusterNode(t)
	certs := newTLSFiles(t)
	_, tlsAddr := startTLSRedis(t, certs)
	silent := silentListener(t)
	refusedAddr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	web := httptest.NewServer(http.NotFoundHandler())
	defer web.Close()
	webAddr := strings.TrimPrefix(web.URL, "http://")
	version := installedVersion(t)

	cases := []struct {
		name     string
		settings func() Settings
		code     Code
		mode     string
		// message must contain each of these.
		message []string
		hint    string
	}{
		{
			name:     "ok standalone with server version",
			settings: func() Settings { return standalone(plain.Addr) },
			code:     CodeOK, mode: "standalone",
			message: []string{"Redis " + version, plain.Addr, "db 0"},
		},
		{
			name: "ok with requirepass and db 5",
			settings: func() Settings {
				s := standalone(locked.Addr)
				s.Password, s.DB = secretPassword, 5
				return s
			},
			code: CodeOK, mode: "standalone",
			message: []string{locked.Addr, "db 5"},
		},
		{
			name:     "wrong port is refused",
			settings: func() Settings { return standalone(refusedAddr) },
			code:     CodeConnectionRefused,
			message:  []string{refusedAddr, "connection refused"},
			hint:     "is Redis running and reachable from this container? check the address in Settings → Redis",
		},
		{
			name: "wrong password with requirepass",
			settings: func() Settings {
				s := standalone(locked.Addr)
				s.Password = "wrong-" + secretPassword
				return s
			},
			code:    CodeAuthFailed,
			message: []string{locked.Addr, "WRONGPASS", "default user"},
			hint:    "password",
		},
		{
			name:     "no password with requirepass",
			settings: func() Settings { return standalone(locked.Addr) },
			code:     CodeAuthFailed,
			message:  []string{locked.Addr, "NOAUTH", "requires a password"},
			hint:     "set the password",
		},
		{
			name: "unknown ACL user",
			settings: func() Settings {
				s := standalone(locked.Addr)
				s.Username, s.Password = "nobody", secretPassword
				return s
			},
			code:    CodeAuthFailed,
			message: []string{`user "nobody"`, "WRONGPASS"},
		},
		{
			name: "ACL user without INFO still works",
			settings: func() Settings {
				s := standalone(acl.Addr)
				s.Username, s.Password = "limited", secretPassword
				return s
			},
			code:    CodeOK,
			message: []string{"version hidden by ACL", acl.Addr},
		},
		{
			name: "db 99 on a 16-database server",
			settings: func() Settings {
				s := standalone(plain.Addr)
				s.DB = 99
				return s
			},
			code:    CodeDBOutOfRange,
			message: []string{plain.Addr, "database 99"},
			hint:    "0 to 15",
		},
		{
			name:     "unresolvable host name",
			settings: func() Settings { return standalone("nonexistent.invalid:6379") },
			code:     CodeDNSNotFound,
			message:  []string{`"nonexistent.invalid"`, "nonexistent.invalid:6379", "not found in DNS"},
			hint:     "service name",
		},
		{
			name: "server accepts and never answers",
			settings: func() Settings {
				s := standalone(silent)
				s.ReadTimeout = "300ms"
				return s
			},
			code:    CodeTimeout,
			message: []string{silent, "read timeout (300ms)"},
			hint:    "timeouts",
		},
		{
			name: "TLS against a plain server",
			settings: func() Settings {
				s := standalone(plain.Addr)
				s.TLS.Enabled, s.TLS.InsecureSkipVerify = true, true
				s.DialTimeout = "500ms"
				return s
			},
			code:    CodeTLSHandshakeFailed,
			message: []string{plain.Addr},
			hint:    "turn TLS off",
		},
		{
			name: "TLS with the server's CA",
			settings: func() Settings {
				s := standalone(tlsAddr)
				s.TLS.Enabled, s.TLS.CACertPEM = true, certs.CAPEM
				return s
			},
			code: CodeOK, mode: "standalone",
			message: []string{"Redis " + version, tlsAddr},
		},
		{
			name: "TLS with another CA",
			settings: func() Settings {
				s := standalone(tlsAddr)
				s.TLS.Enabled, s.TLS.CACertPEM = true, certs.OtherCAPEM
				return s
			},
			code:    CodeTLSHandshakeFailed,
			message: []string{tlsAddr, "authority"},
			hint:    "CA certificate",
		},
		{
			name: "TLS with a server name the certificate lacks",
			settings: func() Settings {
				s := standalone(tlsAddr)
				s.TLS.Enabled, s.TLS.CACertPEM, s.TLS.ServerName = true, certs.CAPEM, "cache.example.com"
				return s
			},
			code:    CodeTLSHandshakeFailed,
			message: []string{tlsAddr, `"cache.example.com"`},
			hint:    "server name",
		},
		{
			name: "TLS server name given explicitly",
			settings: func() Settings {
				s := standalone(tlsAddr)
				s.TLS.Enabled, s.TLS.CACertPEM, s.TLS.ServerName = true, certs.CAPEM, "redis.test"
				return s
			},
			code: CodeOK, mode: "standalone",
		},
		{
			name:     "plain client on a TLS port",
			settings: func() Settings { return standalone(tlsAddr) },
			code:     CodeUnknown,
			message:  []string{tlsAddr, "closed the connection"},
			hint:     "enable TLS",
		},
		{
			name:     "an HTTP server is not Redis",
			settings: func() Settings { return standalone(webAddr) },
			code:     CodeUnknown,
			message:  []string{webAddr, "not in the Redis protocol"},
			hint:     "check the port",
		},
		{
			name: "cluster mode against a standalone server",
			settings: func() Settings {
				s := standalone(plain.Addr)
				s.Mode = ModeCluster
				return s
			},
			code:    CodeNotACluster,
			message: []string{plain.Addr, "not part of a Redis Cluster"},
			hint:    "standalone",
		},
		{
			name: "cluster mode against a cluster",
			settings: func() Settings {
				s := standalone(cluster.Addr)
				s.Mode = ModeCluster
				return s
			},
			code: CodeOK, mode: "cluster",
			message: []string{"cluster seeds " + cluster.Addr},
		},
		{
			name:     "standalone mode against a cluster node",
			settings: func() Settings { return standalone(cluster.Addr) },
			code:     CodeWrongMode, mode: "cluster",
			message: []string{cluster.Addr, "Cluster node"},
			hint:    "choose mode cluster",
		},
		{
			name: "sentinel with an unknown master",
			settings: func() Settings {
				s := standalone(sentinelSrv.Addr)
				s.Mode, s.MasterName = ModeSentinel, "mymaster"
				return s
			},
			code:    CodeSentinelMasterUnknown,
			message: []string{sentinelSrv.Addr, `"mymaster"`},
			hint:    "sentinel monitor",
		},
		{
			name: "sentinel with the known master and db 2",
			settings: func() Settings {
				s := standalone(sentinelSrv.Addr)
				s.Mode, s.MasterName, s.DB = ModeSentinel, "known", 2
				return s
			},
			code: CodeOK, mode: "standalone",
			message: []string{`master "known"`, sentinelSrv.Addr, "db 2"},
		},
		{
			name: "sentinel mode against a plain server",
			settings: func() Settings {
				s := standalone(plain.Addr)
				s.Mode, s.MasterName = ModeSentinel, "known"
				return s
			},
			code:    CodeWrongMode,
			message: []string{plain.Addr, "not a Redis Sentinel"},
			hint:    "26379",
		},
		{
			name:     "standalone mode against a Sentinel",
			settings: func() Settings { return standalone(sentinelSrv.Addr) },
			code:     CodeWrongMode, mode: "sentinel",
			message: []string{sentinelSrv.Addr, "Sentinel"},
			hint:    "choose mode sentinel",
		},
		{
			name: "invalid settings are not dialled",
			settings: func() Settings {
				s := standalone("no-port")
				s.Password = secretPassword
				return s
			},
			code:    CodeInvalidSettings,
			message: []string{"addresses[0]", `"no-port"`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.settings()
			d := Diagnose(context.Background(), s)
			require.Equal(t, tc.code, d.Code, "diagnosis: %+v", d)
			require.Equal(t, tc.code == CodeOK, d.OK)
			for _, want := range tc.message {
				require.Contains(t, d.Message, want)
			}
			if tc.hint != "" {
				require.Contains(t, d.Hint, tc.hint)
			}
			if tc.mode != "" {
				require.Equal(t, tc.mode, d.Mode)
			}
			if d.OK {
				if !strings.Contains(d.Message, "hidden") {
					require.Equal(t, version, d.ServerVersion, "an OK diagnosis shows the server version")
				}
				require.Greater(t, d.LatencyMS, 0.0, "an OK diagnosis shows the latency")
			} else {
				require.NotEmpty(t, d.Hint, "a failed diagnosis says what to check")
			}
			data, err := json.Marshal(d)
			require.NoError(t, err)
			require.NotContains(t, string(data), secretPassword, "the password never appears in a diagnosis")
		})
	}
}

func TestDiagnoseEndsWithContext(t *testing.T) {
	silent := silentListener(t)
	s := standalone(silent)
	s.ReadTimeout = "1m"
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	d := Diagnose(ctx, s)
	require.Equal(t, CodeTimeout, d.Code, "the caller's deadline ends the test: %+v", d)
	require.Contains(t, d.Message, "deadline")
	require.Contains(t, d.Message, silent)
}

func TestDiagnosisScrubsPassword(t *testing.T) {
	s := standalone("127.0.0.1:1")
	s.Password = "topsecret"
	d := scrubbed(Diagnosis{Message: "server said topsecret is wrong", Hint: "topsecret"}, s.Password)
	require.NotContains(t, d.Message+d.Hint, "topsecret")
}
