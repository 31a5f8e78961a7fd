// Package redisx builds gatehouse's one Redis client from RedisSettings
// (standalone, Sentinel or Cluster; ACL user and password; db; TLS; pool and
// timeouts), diagnoses a connection so that a person knows what to fix, and
// keeps the process's current client in a Manager that swaps it when the
// settings change and watches its health (ARCHITECTURE §8). A Service keeps
// the settings in a SettingsStore (the database), applies them, and follows
// the settings that another instance stored.
//
// Passwords never leave this package in an error, a diagnosis or a log
// record: Settings' String and LogValue leave the password out, and
// diagnosis messages are scrubbed of it.
package redisx

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Mode says how the Redis deployment is reached.
type Mode string

// The modes.
const (
	// ModeStandalone is one server at Addresses[0].
	ModeStandalone Mode = "standalone"
	// ModeSentinel asks the Sentinels at Addresses for the master named
	// MasterName and follows failovers.
	ModeSentinel Mode = "sentinel"
	// ModeCluster uses Addresses as seed nodes of a Redis Cluster.
	ModeCluster Mode = "cluster"
)

// Defaults of the durations, used when a duration is left empty.
const (
	DefaultDialTimeout  = 5 * time.Second
	DefaultReadTimeout  = 3 * time.Second
	DefaultWriteTimeout = 3 * time.Second
)

// Bounds of the settings.
const (
	maxTimeout  = 10 * time.Minute
	maxPoolSize = 10000
)

// TLS configures an encrypted connection.
type TLS struct {
	// Enabled turns TLS on for every connection (Sentinels and cluster
	// nodes included).
	Enabled bool `json:"enabled"`
	// InsecureSkipVerify accepts any server certificate. For tests only.
	InsecureSkipVerify bool `json:"insecureSkipVerify"`
	// ServerName is the name checked against the server certificate; empty
	// means the host of the address being dialled.
	ServerName string `json:"serverName"`
	// CACertPEM holds the PEM certificates of the authorities that sign the
	// server certificate; empty means the system's roots.
	CACertPEM string `json:"caCertPEM"`
}

// Settings are the Redis settings of the process (Settings → Redis in the
// console). The zero value is not valid: Mode and Addresses are required.
// Durations are strings such as "5s" or "500ms"; empty means the default.
type Settings struct {
	Mode Mode `json:"mode"`
	// Addresses are host:port: the server (standalone, exactly one), the
	// Sentinels (sentinel) or seed nodes (cluster).
	Addresses []string `json:"addresses"`
	// MasterName is the master the Sentinels monitor; sentinel mode only.
	MasterName string `json:"masterName"`
	// Username is the ACL user; empty means the default user.
	Username string `json:"username"`
	// Password authenticates Username (or requirepass). It is write-only
	// for the admin API and never logged.
	Password string `json:"password,omitempty"`
	// DB is the database index; cluster mode has only db 0.
	DB  int `json:"db"`
	TLS TLS `json:"tls"`
	// PoolSize is the most connections per node; 0 means 10 per CPU.
	PoolSize int `json:"poolSize"`
	// MinIdleConns are kept open even when idle.
	MinIdleConns int    `json:"minIdleConns"`
	DialTimeout  string `json:"dialTimeout"`
	ReadTimeout  string `json:"readTimeout"`
	WriteTimeout string `json:"writeTimeout"`
}

// Defaults returns the settings the console starts from: standalone, no
// address yet, the default timeouts written out.
func Defaults() Settings {
	return Settings{
		Mode:         ModeStandalone,
		Addresses:    []string{},
		DialTimeout:  DefaultDialTimeout.String(),
		ReadTimeout:  DefaultReadTimeout.String(),
		WriteTimeout: DefaultWriteTimeout.String(),
	}
}

// FieldError is one invalid value of Settings.
type FieldError struct {
	// Field is the JSON path of the value, such as "addresses[1]" or
	// "tls.caCertPEM".
	Field string
	// Message says what is wrong and what is allowed.
	Message string
}

// Error implements error.
func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// FieldPath names the offending field for the admin API's error details.
func (e *FieldError) FieldPath() string { return e.Field }

// Validate reports every invalid value at once: errors.Join of
// *FieldError, or nil.
func (s Settings) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}

	switch s.Mode {
	case ModeStandalone, ModeSentinel, ModeCluster:
	case "":
		bad("mode", "is required; use standalone, sentinel or cluster")
	default:
		bad("mode", "%q is not a mode; use standalone, sentinel or cluster", s.Mode)
	}

	switch {
	case len(s.Addresses) == 0:
		bad("addresses", "give at least one host:port, such as redis:6379")
	case s.Mode == ModeStandalone && len(s.Addresses) > 1:
		bad("addresses", "standalone mode takes exactly one address; for several nodes choose sentinel or cluster mode")
	}
	seen := map[string]int{}
	for i, a := range s.Addresses {
		field := fmt.Sprintf("addresses[%d]", i)
		if msg := checkAddress(a); msg != "" {
			bad(field, "%s", msg)
			continue
		}
		if j, dup := seen[a]; dup {
			bad(field, "%q is also addresses[%d]; give each node once", a, j)
		}
		seen[a] = i
	}

	switch {
	case s.Mode == ModeSentinel && strings.TrimSpace(s.MasterName) == "":
		bad("masterName", "is required in sentinel mode: the name in the Sentinels' 'sentinel monitor <name> …' line")
	case s.Mode != ModeSentinel && s.MasterName != "":
		bad("masterName", "is only used in sentinel mode; clear it or choose mode sentinel")
	}

	switch {
	case s.DB < 0:
		bad("db", "%d is negative; use 0 or a higher database index", s.DB)
	case s.Mode == ModeCluster && s.DB != 0:
		bad("db", "Redis Cluster has only database 0; set db to 0")
	}

	if s.TLS.Enabled {
		if s.TLS.CACertPEM != "" {
			if s.TLS.InsecureSkipVerify {
				bad("tls.insecureSkipVerify", "skipping verification makes the CA certificate pointless; choose one")
			}
			if _, err := certPool(s.TLS.CACertPEM); err != nil {
				bad("tls.caCertPEM", "%v", err)
			}
		}
	} else {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"tls.insecureSkipVerify", s.TLS.InsecureSkipVerify},
			{"tls.serverName", s.TLS.ServerName != ""},
			{"tls.caCertPEM", s.TLS.CACertPEM != ""},
		} {
			if f.set {
				bad(f.name, "is set but TLS is off; enable tls or clear it")
			}
		}
	}

	switch {
	case s.PoolSize < 0:
		bad("poolSize", "%d is negative; use 0 for the default (10 per CPU) or a positive size", s.PoolSize)
	case s.PoolSize > maxPoolSize:
		bad("poolSize", "%d is more than %d connections per node", s.PoolSize, maxPoolSize)
	}
	switch {
	case s.MinIdleConns < 0:
		bad("minIdleConns", "%d is negative; use 0 or more", s.MinIdleConns)
	case s.PoolSize > 0 && s.MinIdleConns > s.PoolSize:
		bad("minIdleConns", "%d is more than the pool size %d", s.MinIdleConns, s.PoolSize)
	}

	for _, d := range []struct{ field, val string }{
		{"dialTimeout", s.DialTimeout}, {"readTimeout", s.ReadTimeout}, {"writeTimeout", s.WriteTimeout},
	} {
		if _, err := parseTimeout(d.val, time.Second); err != nil {
			bad(d.field, "%v", err)
		}
	}
	return errors.Join(errs...)
}

func checkAddress(a string) string {
	if strings.Contains(a, "://") {
		return fmt.Sprintf("%q is a URL; give host:port only, such as redis:6379 (TLS, user and db have their own fields)", a)
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil || host == "" {
		return fmt.Sprintf("%q is not host:port; use a form such as redis:6379 or 10.0.0.5:6379", a)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("port %q of %q must be a number from 1 to 65535", port, a)
	}
	return ""
}

// parseTimeout reads a duration field; empty means def.
func parseTimeout(v string, def time.Duration) (time.Duration, error) {
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not a duration; use a number with a unit such as 5s or 500ms", v)
	case d <= 0:
		return 0, fmt.Errorf("%q must be positive, such as 5s", v)
	case d > maxTimeout:
		return 0, fmt.Errorf("%q is longer than %s", v, maxTimeout)
	}
	return d, nil
}

func certPool(pemText string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(pemText)) {
		return nil, errors.New("holds no PEM certificate; paste the CA certificate including the BEGIN CERTIFICATE and END CERTIFICATE lines")
	}
	return pool, nil
}

// timeouts returns the dial, read and write timeouts, defaults filled in.
// The settings must be valid.
func (s Settings) timeouts() (dial, read, write time.Duration) {
	dial, _ = parseTimeout(s.DialTimeout, DefaultDialTimeout)
	read, _ = parseTimeout(s.ReadTimeout, DefaultReadTimeout)
	write, _ = parseTimeout(s.WriteTimeout, DefaultWriteTimeout)
	return dial, read, write
}

// String describes the settings for people and logs, without the password.
func (s Settings) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", s.Mode, strings.Join(s.Addresses, ","))
	if s.Mode == ModeSentinel {
		fmt.Fprintf(&b, " master %q", s.MasterName)
	}
	fmt.Fprintf(&b, " db %d", s.DB)
	if s.TLS.Enabled {
		b.WriteString(" tls")
	}
	if s.Username != "" {
		fmt.Fprintf(&b, " user %q", s.Username)
	}
	return b.String()
}

// LogValue logs the settings without the password (passwordSet says
// whether there is one) and without the CA certificate's text.
func (s Settings) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("mode", string(s.Mode)),
		slog.String("addresses", strings.Join(s.Addresses, ",")),
		slog.String("master_name", s.MasterName),
		slog.String("username", s.Username),
		slog.Bool("password_set", s.Password != ""),
		slog.Int("db", s.DB),
		slog.Bool("tls", s.TLS.Enabled),
		slog.Bool("tls_insecure_skip_verify", s.TLS.InsecureSkipVerify),
		slog.Bool("tls_ca_set", s.TLS.CACertPEM != ""),
		slog.Int("pool_size", s.PoolSize),
		slog.Int("min_idle_conns", s.MinIdleConns),
		slog.String("dial_timeout", s.DialTimeout),
		slog.String("read_timeout", s.ReadTimeout),
		slog.String("write_timeout", s.WriteTimeout),
	)
}

// clone returns a copy that shares no slice with s.
func (s Settings) clone() Settings {
	s.Addresses = slices.Clone(s.Addresses)
	return s
}

var _ slog.LogValuer = Settings{}

// SameDestination reports whether a and b send credentials to the same
// place, so that a stored password may be reused: the same mode, the same
// addresses (in any order), master name and username, and the same TLS
// verification (enabled, server name, skip-verify, CA certificates). A
// stored password must never follow a changed destination.
func SameDestination(a, b Settings) bool {
	if a.Mode != b.Mode || a.MasterName != b.MasterName || a.Username != b.Username || a.TLS != b.TLS {
		return false
	}
	if len(a.Addresses) != len(b.Addresses) {
		return false
	}
	x := slices.Clone(a.Addresses)
	y := slices.Clone(b.Addresses)
	for i := range x {
		x[i] = strings.ToLower(strings.TrimSpace(x[i]))
	}
	for i := range y {
		y[i] = strings.ToLower(strings.TrimSpace(y[i]))
	}
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
