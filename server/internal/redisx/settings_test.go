package redisx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

func TestValidateReportsEveryProblemWithItsField(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(*Settings)
		fields []string
	}{
		{"valid standalone", func(*Settings) {}, nil},
		{"empty durations take the defaults", func(s *Settings) { s.DialTimeout, s.ReadTimeout, s.WriteTimeout = "", "", "" }, nil},
		{"valid sentinel", func(s *Settings) {
			s.Mode, s.MasterName, s.Addresses = ModeSentinel, "mymaster", []string{"s1:26379", "s2:26379"}
		}, nil},
		{"valid cluster", func(s *Settings) { s.Mode, s.Addresses = ModeCluster, []string{"n1:7000", "n2:7000"} }, nil},
		{"valid TLS with CA", func(s *Settings) { s.TLS = TLS{Enabled: true, ServerName: "redis.test", CACertPEM: testCAPEM(t)} }, nil},
		{"mode missing", func(s *Settings) { s.Mode = "" }, []string{"mode"}},
		{"mode unknown", func(s *Settings) { s.Mode = "ring" }, []string{"mode"}},
		{"no address", func(s *Settings) { s.Addresses = nil }, []string{"addresses"}},
		{"standalone with two addresses", func(s *Settings) { s.Addresses = []string{"a:1", "b:1"} }, []string{"addresses"}},
		{"bad addresses", func(s *Settings) {
			s.Mode, s.Addresses = ModeCluster, []string{"redis://x:6379", "nohost", ":6379", "h:0", "h:70000", "ok:1", "ok:1"}
		}, []string{"addresses[0]", "addresses[1]", "addresses[2]", "addresses[3]", "addresses[4]", "addresses[6]"}},
		{"sentinel without master", func(s *Settings) { s.Mode = ModeSentinel }, []string{"masterName"}},
		{"master name outside sentinel", func(s *Settings) { s.MasterName = "m" }, []string{"masterName"}},
		{"negative db", func(s *Settings) { s.DB = -1 }, []string{"db"}},
		{"cluster ignores db", func(s *Settings) { s.Mode, s.DB = ModeCluster, 3 }, []string{"db"}},
		{"TLS fields while TLS is off", func(s *Settings) {
			s.TLS = TLS{InsecureSkipVerify: true, ServerName: "x", CACertPEM: "y"}
		}, []string{"tls.insecureSkipVerify", "tls.serverName", "tls.caCertPEM"}},
		{"CA that is not PEM", func(s *Settings) { s.TLS = TLS{Enabled: true, CACertPEM: "not a certificate"} }, []string{"tls.caCertPEM"}},
		{"CA and skip verify together", func(s *Settings) {
			s.TLS = TLS{Enabled: true, InsecureSkipVerify: true, CACertPEM: testCAPEM(t)}
		}, []string{"tls.insecureSkipVerify"}},
		{"pool sizes", func(s *Settings) { s.PoolSize, s.MinIdleConns = -1, -1 }, []string{"poolSize", "minIdleConns"}},
		{"pool too large", func(s *Settings) { s.PoolSize = 10001 }, []string{"poolSize"}},
		{"more idle than pool", func(s *Settings) { s.PoolSize, s.MinIdleConns = 4, 5 }, []string{"minIdleConns"}},
		{"durations", func(s *Settings) { s.DialTimeout, s.ReadTimeout, s.WriteTimeout = "5", "-1s", "2h" },
			[]string{"dialTimeout", "readTimeout", "writeTimeout"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := standalone("redis:6379")
			tc.edit(&s)
			err := s.Validate()
			if tc.fields == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var fe *FieldError
				require.True(t, errors.As(e, &fe), "every problem is a *FieldError: %v", e)
				require.NotEmpty(t, fe.Message)
				got = append(got, fe.FieldPath())
			}
			require.Equal(t, tc.fields, got)
		})
	}
}

func TestValidateMessagesSayWhatToDo(t *testing.T) {
	s := standalone("redis://cache:6379")
	s.Mode, s.DB = ModeCluster, 2
	err := s.Validate()
	require.ErrorContains(t, err, `addresses[0]: "redis://cache:6379" is a URL; give host:port only`)
	require.ErrorContains(t, err, "db: Redis Cluster has only database 0; set db to 0")
}

func TestSettingsNeverShowThePassword(t *testing.T) {
	s := standalone("redis:6379")
	s.Username, s.Password = "app", secretPassword
	require.NotContains(t, s.String(), secretPassword)
	require.Contains(t, s.String(), `redis:6379 db 0 user "app"`)
	require.NotContains(t, fmt.Sprintf("%v %+v %s", s, s, s), secretPassword)

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("applied", "settings", s)
	require.NotContains(t, buf.String(), secretPassword)
	require.Contains(t, buf.String(), `"password_set":true`)
	require.Contains(t, buf.String(), `"addresses":"redis:6379"`)
}

func TestSettingsJSONRoundTrip(t *testing.T) {
	s := standalone("redis:6379")
	s.Mode, s.MasterName, s.Addresses = ModeSentinel, "m", []string{"s1:26379"}
	s.Username, s.Password, s.DB, s.PoolSize, s.MinIdleConns = "u", "p", 3, 20, 2
	s.TLS = TLS{Enabled: true, ServerName: "redis.test", CACertPEM: testCAPEM(t)}
	data, err := json.Marshal(s)
	require.NoError(t, err)
	for _, key := range []string{`"mode":"sentinel"`, `"addresses":["s1:26379"]`, `"masterName":"m"`, `"db":3`,
		`"tls":{"enabled":true,"insecureSkipVerify":false,"serverName":"redis.test"`, `"poolSize":20`, `"minIdleConns":2`,
		`"dialTimeout":"2s"`} {
		require.Contains(t, string(data), key)
	}
	var back Settings
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, s, back)

	s.Password = ""
	data, err = json.Marshal(s)
	require.NoError(t, err)
	require.NotContains(t, string(data), `"password"`, "an empty password is left out")
}

// TestNewClientHonoursSettings checks that every setting reaches the
// go-redis options of the client kind the mode asks for.
func TestNewClientHonoursSettings(t *testing.T) {
	s := standalone("cache:6380")
	s.Username, s.Password, s.DB = "app", "pw", 7
	s.PoolSize, s.MinIdleConns = 12, 3
	s.DialTimeout, s.ReadTimeout, s.WriteTimeout = "1500ms", "700ms", "900ms"
	c, err := NewClient(s)
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	rc, ok := c.(*redis.Client)
	require.True(t, ok, "standalone builds a *redis.Client, got %T", c)
	o := rc.Options()
	require.Equal(t, "cache:6380", o.Addr)
	require.Equal(t, "app", o.Username)
	require.Equal(t, "pw", o.Password)
	require.Equal(t, 7, o.DB)
	require.Equal(t, 12, o.PoolSize)
	require.Equal(t, 3, o.MinIdleConns)
	require.Equal(t, 1500*time.Millisecond, o.DialTimeout)
	require.Equal(t, 700*time.Millisecond, o.ReadTimeout)
	require.Equal(t, 900*time.Millisecond, o.WriteTimeout)

	s.Mode, s.Addresses, s.DB = ModeCluster, []string{"n1:7000", "n2:7000"}, 0
	c, err = NewClient(s)
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	cc, ok := c.(*redis.ClusterClient)
	require.True(t, ok, "cluster builds a *redis.ClusterClient, got %T", c)
	co := cc.Options()
	require.Equal(t, []string{"n1:7000", "n2:7000"}, co.Addrs)
	require.Equal(t, 12, co.PoolSize)
	require.Equal(t, 700*time.Millisecond, co.ReadTimeout)

	s.DB = 4
	_, err = NewClient(s)
	var fe *FieldError
	require.ErrorAs(t, err, &fe, "cluster mode with db 4 is refused, not silently ignored")
	require.Equal(t, "db", fe.FieldPath())
}

func testCAPEM(t *testing.T) string {
	t.Helper()
	_, _, pemText := newCA(t, "validation CA")
	return pemText
}
