// Package config loads the static settings of a gatehouse process: defaults,
// then an optional YAML file, then environment variables GATEHOUSE_*, then
// command-line flags (each later source wins). Static settings need a
// restart to change; everything else is dynamic configuration kept in the
// database.
package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gatehouse-dev/gatehouse/server/internal/clientip"
)

// Settings are the static settings. The yaml tags are the keys of the
// config file; the env tags are the environment variables.
type Settings struct {
	GatewayAddr        string        `yaml:"gatewayAddr" env:"GATEWAY_ADDR" flag:"gateway-addr" help:"listen address of the gateway (data plane)"`
	ConsoleAddr        string        `yaml:"consoleAddr" env:"CONSOLE_ADDR" flag:"console-addr" help:"listen address of the console and admin API"`
	DataDir            string        `yaml:"dataDir" env:"DATA_DIR" flag:"data-dir" help:"directory for the database and downloaded plugins"`
	PluginDir          string        `yaml:"pluginDir" env:"PLUGIN_DIR" flag:"plugin-dir" help:"directory of the bundled plugin artifacts and manifest.json"`
	LogFile            string        `yaml:"logFile" env:"LOG_FILE" flag:"log-file" help:"path of gateway.log (default <data dir>/logs/gateway.log)"`
	LogLevel           string        `yaml:"logLevel" env:"LOG_LEVEL" flag:"log-level" help:"debug, info, warn or error"`
	LogFormat          string        `yaml:"logFormat" env:"LOG_FORMAT" flag:"log-format" help:"text or json"`
	AccessLog          string        `yaml:"accessLog" env:"ACCESS_LOG" flag:"access-log" help:"on: one line per gateway request in gateway.log (method, host, path, status, duration, route, client, request id); off: none"`
	LogMaxSizeMB       int           `yaml:"logMaxSizeMB" env:"LOG_MAX_SIZE_MB" flag:"log-max-size-mb" help:"rotate gateway.log when it reaches this size"`
	LogMaxBackups      int           `yaml:"logMaxBackups" env:"LOG_MAX_BACKUPS" flag:"log-max-backups" help:"rotated files kept"`
	ShutdownTimeout    time.Duration `yaml:"shutdownTimeout" env:"SHUTDOWN_TIMEOUT" flag:"shutdown-timeout" help:"how long in-flight requests may take to finish at shutdown"`
	AdminUser          string        `yaml:"adminUser" env:"ADMIN_USER" flag:"admin-user" help:"bootstrap administrator created at start when no user exists"`
	AdminPassword      string        `yaml:"adminPassword" env:"ADMIN_PASSWORD" flag:"-" secret:"true" help:"password of the bootstrap administrator"`
	JWTSecret          string        `yaml:"jwtSecret" env:"JWT_SECRET" flag:"-" secret:"true" help:"HS256 secret for admin tokens (generated and kept in the database when empty)"`
	JWTLifetime        time.Duration `yaml:"jwtLifetime" env:"JWT_LIFETIME" flag:"jwt-lifetime" help:"lifetime of an admin login token"`
	Database           string        `yaml:"database" env:"DATABASE" flag:"database" secret:"dsn" help:"SQLite path (default <data dir>/gatehouse.db), or a postgres:// or mysql DSN"`
	RedisAddr          string        `yaml:"redisAddr" env:"REDIS_ADDR" flag:"redis-addr" help:"Redis host:port stored as the Redis settings at start when none are stored (then edited in Settings → Redis)"`
	RedisPassword      string        `yaml:"redisPassword" env:"REDIS_PASSWORD" flag:"-" secret:"true" help:"password for GATEHOUSE_REDIS_ADDR"`
	ConfigFile         string        `yaml:"configFile" env:"CONFIG_FILE" flag:"config-file" help:"declarative configuration (YAML: services, routes, pluginInstances, mcpServers) applied at start"`
	ConfigFileMode     string        `yaml:"configFileMode" env:"CONFIG_FILE_MODE" flag:"config-file-mode" help:"replace: the stored configuration becomes the file at every start (GitOps); seed: the file is applied only to an empty database"`
	InstanceID         string        `yaml:"instanceID" env:"INSTANCE_ID" flag:"instance-id" help:"name of this instance among several (default: host name and process id)"`
	TrustedProxies     string        `yaml:"trustedProxies" env:"TRUSTED_PROXIES" flag:"trusted-proxies" help:"comma-separated CIDRs or addresses of the proxies in front of Gatehouse whose X-Forwarded-For / X-Real-IP are believed (empty: none; the client address is the connection's peer)"`
	BodyReadTimeout    time.Duration `yaml:"bodyReadTimeout" env:"BODY_READ_TIMEOUT" flag:"body-read-timeout" help:"gateway listener: time a client may spend sending a request body on top of what the minimum rate allows (0: no limit)"`
	BodyMinRate        int           `yaml:"bodyMinRate" env:"BODY_MIN_RATE" flag:"body-min-rate" help:"gateway listener: slowest request body accepted, in bytes per second, after the body read timeout's allowance (0: no minimum)"`
	GatewayEngine      string        `yaml:"gatewayEngine" env:"GATEWAY_ENGINE" flag:"gateway-engine" help:"gateway listener engine: std (net/http) or fast (purpose-built HTTP/1.1 loop; TLS, HTTP/2, upgrades and Expect: 100-continue still go to net/http on the same port)"`
	AIUsageFailureMode string        `yaml:"aiUsageFailureMode" env:"AI_USAGE_FAILURE_MODE" flag:"ai-usage-failure-mode" help:"while Redis fails, consumers' quotas and budgets on AI routes: open serves requests uncounted (one warning per outage), closed answers 503 to consumers with a quota or budget"`
	APITokenLifetime   string        `yaml:"apiTokenLifetime" env:"API_TOKEN_LIFETIME" flag:"api-token-lifetime" help:"lifetime of an API token created without expiresIn: a duration such as 2160h, or never"`

	// Consumer usage (docs/usage.md).
	UsageRollupInterval time.Duration `yaml:"usageRollupInterval" env:"USAGE_ROLLUP_INTERVAL" flag:"usage-rollup-interval" help:"how often consumer usage counted in Redis is written into the database (what a Redis loss can cost at most), from 1s to 1h"`
}

// EnvPrefix prefixes every environment variable of Settings.
const EnvPrefix = "GATEHOUSE_"

// Defaults returns the settings used when nothing else is given.
func Defaults() Settings {
	return Settings{
		GatewayAddr:         ":8080",
		ConsoleAddr:         ":8001",
		DataDir:             "./data",
		PluginDir:           "./build/plugins",
		LogLevel:            "info",
		LogFormat:           "text",
		AccessLog:           "on",
		LogMaxSizeMB:        10,
		LogMaxBackups:       5,
		ShutdownTimeout:     30 * time.Second,
		JWTLifetime:         12 * time.Hour,
		ConfigFileMode:      "replace",
		BodyReadTimeout:     30 * time.Second,
		BodyMinRate:         1024,
		GatewayEngine:       "std",
		AIUsageFailureMode:  "open",
		APITokenLifetime:    "2160h",
		UsageRollupInterval: time.Minute,
	}
}

// FieldError is one invalid setting.
type FieldError struct {
	// Key names the setting as the user gave it (file key, variable or flag).
	Key string
	// Message says what is wrong and what is allowed.
	Message string
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Message }

// Load builds the settings from args (without the subcommand), the
// environment (a list of KEY=VALUE, as os.Environ returns) and the file
// named by --config or GATEHOUSE_CONFIG. It reports every invalid value at
// once, joined, each a *FieldError.
func Load(args []string, environ []string) (Settings, error) {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	s := Defaults()

	fs := flag.NewFlagSet("gatehouse", flag.ContinueOnError)
	fs.SetOutput(new(bytes.Buffer))
	configPath := fs.String("config", env[EnvPrefix+"CONFIG"], "YAML settings file")
	flagVals := map[string]*string{}
	forEachField(&s, func(f reflect.StructField, _ reflect.Value) {
		if name := f.Tag.Get("flag"); name != "-" {
			flagVals[name] = fs.String(name, "", f.Tag.Get("help"))
		}
	})
	if err := fs.Parse(args); err != nil {
		return s, &FieldError{Key: "flags", Message: err.Error() + " (run 'gatehouse serve --help' for the list)"}
	}
	if fs.NArg() > 0 {
		return s, &FieldError{Key: "flags", Message: fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}

	var errs []error
	if *configPath != "" {
		errs = append(errs, loadFile(&s, *configPath)...)
	}
	forEachField(&s, func(f reflect.StructField, v reflect.Value) {
		key := EnvPrefix + f.Tag.Get("env")
		if raw, ok := env[key]; ok && raw != "" {
			errs = append(errs, setValue(v, key, raw))
		}
	})
	fs.Visit(func(fl *flag.Flag) {
		forEachField(&s, func(f reflect.StructField, v reflect.Value) {
			if f.Tag.Get("flag") == fl.Name {
				errs = append(errs, setValue(v, "--"+fl.Name, fl.Value.String()))
			}
		})
	})
	s.fillDerived()
	if err := s.Validate(); err != nil {
		errs = append(errs, err.(interface{ Unwrap() []error }).Unwrap()...)
	}
	return s, errors.Join(errs...)
}

func loadFile(s *Settings, path string) []error {
	data, err := os.ReadFile(path)
	if err != nil {
		return []error{&FieldError{Key: "config", Message: fmt.Sprintf("cannot read settings file: %v", err)}}
	}
	var raw map[string]yaml.Node
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return []error{&FieldError{Key: path, Message: fmt.Sprintf("not valid YAML: %v", err)}}
	}
	known := map[string]reflect.Value{}
	var names []string
	forEachField(s, func(f reflect.StructField, v reflect.Value) {
		known[f.Tag.Get("yaml")] = v
		names = append(names, f.Tag.Get("yaml"))
	})
	sort.Strings(names)
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		v, ok := known[k]
		node := raw[k]
		if !ok {
			errs = append(errs, &FieldError{Key: path + ": " + k, Message: "unknown key; allowed keys: " + strings.Join(names, ", ")})
			continue
		}
		if node.Kind != yaml.ScalarNode {
			errs = append(errs, &FieldError{Key: path + ": " + k, Message: "must be a single value"})
			continue
		}
		errs = append(errs, setValue(v, path+": "+k, node.Value))
	}
	return errs
}

func forEachField(s *Settings, fn func(reflect.StructField, reflect.Value)) {
	v := reflect.ValueOf(s).Elem()
	t := v.Type()
	for i := range t.NumField() {
		fn(t.Field(i), v.Field(i))
	}
}

func setValue(v reflect.Value, key, raw string) error {
	switch v.Interface().(type) {
	case string:
		v.SetString(raw)
	case int:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return &FieldError{Key: key, Message: fmt.Sprintf("%q is not a whole number", raw)}
		}
		v.SetInt(int64(n))
	case time.Duration:
		d, err := time.ParseDuration(strings.TrimSpace(raw))
		if err != nil {
			return &FieldError{Key: key, Message: fmt.Sprintf("%q is not a duration; use a number with a unit such as 30s or 2m", raw)}
		}
		v.SetInt(int64(d))
	}
	return nil
}

func (s *Settings) fillDerived() {
	if s.LogFile == "" {
		s.LogFile = filepath.Join(s.DataDir, "logs", "gateway.log")
	}
	if s.Database == "" {
		s.Database = filepath.Join(s.DataDir, "gatehouse.db")
	}
	if s.InstanceID == "" {
		host, _ := os.Hostname()
		s.InstanceID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
}

// Validate reports every invalid setting at once.
func (s Settings) Validate() error {
	var errs []error
	bad := func(key, msg string) { errs = append(errs, &FieldError{Key: EnvPrefix + key, Message: msg}) }
	for _, a := range []struct{ key, val string }{{"GATEWAY_ADDR", s.GatewayAddr}, {"CONSOLE_ADDR", s.ConsoleAddr}} {
		if _, port, err := net.SplitHostPort(a.val); err != nil {
			bad(a.key, fmt.Sprintf("%q is not a listen address; use host:port or :port, such as :8080", a.val))
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad(a.key, fmt.Sprintf("port %q must be a number from 0 to 65535", port))
		}
	}
	if s.GatewayAddr == s.ConsoleAddr && !strings.HasSuffix(s.GatewayAddr, ":0") {
		bad("CONSOLE_ADDR", fmt.Sprintf("%q is also the gateway address; give the console its own port", s.ConsoleAddr))
	}
	if s.DataDir == "" {
		bad("DATA_DIR", "must not be empty")
	}
	if s.PluginDir == "" {
		bad("PLUGIN_DIR", "must not be empty")
	}
	switch s.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL", fmt.Sprintf("%q is not a level; use debug, info, warn or error", s.LogLevel))
	}
	switch s.LogFormat {
	case "text", "json":
	default:
		bad("LOG_FORMAT", fmt.Sprintf("%q is not a format; use text or json", s.LogFormat))
	}
	switch s.GatewayEngine {
	case "std", "fast":
	default:
		bad("GATEWAY_ENGINE", fmt.Sprintf("%q is not an engine; use std or fast", s.GatewayEngine))
	}
	switch s.AIUsageFailureMode {
	case "open", "closed":
	default:
		bad("AI_USAGE_FAILURE_MODE", fmt.Sprintf("%q is not a failure mode; use open (serve uncounted while Redis fails) or closed (answer 503)", s.AIUsageFailureMode))
	}
	switch s.AccessLog {
	case "on", "off":
	default:
		bad("ACCESS_LOG", fmt.Sprintf("%q is not allowed; use on or off", s.AccessLog))
	}
	if s.LogMaxSizeMB < 1 {
		bad("LOG_MAX_SIZE_MB", "must be at least 1")
	}
	if s.LogMaxBackups < 0 {
		bad("LOG_MAX_BACKUPS", "must not be negative")
	}
	switch s.ConfigFileMode {
	case "replace", "seed":
	default:
		bad("CONFIG_FILE_MODE", fmt.Sprintf("%q is not a mode; use replace (the file is the truth at every start) or seed (applied to an empty database only)", s.ConfigFileMode))
	}
	if s.ShutdownTimeout <= 0 {
		bad("SHUTDOWN_TIMEOUT", "must be positive, such as 30s")
	}
	if s.JWTLifetime < time.Minute {
		bad("JWT_LIFETIME", "must be at least 1m")
	}
	if (s.AdminUser == "") != (s.AdminPassword == "") {
		bad("ADMIN_PASSWORD", "set GATEHOUSE_ADMIN_USER and GATEHOUSE_ADMIN_PASSWORD together, or neither")
	} else if s.AdminPassword != "" && len(s.AdminPassword) < 8 {
		bad("ADMIN_PASSWORD", "must be at least 8 characters")
	}
	if s.RedisAddr != "" {
		if host, port, err := net.SplitHostPort(s.RedisAddr); err != nil || host == "" {
			bad("REDIS_ADDR", fmt.Sprintf("%q is not host:port; use a form such as redis:6379", s.RedisAddr))
		} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			bad("REDIS_ADDR", fmt.Sprintf("port %q must be a number from 1 to 65535", port))
		}
	} else if s.RedisPassword != "" {
		bad("REDIS_PASSWORD", "is set without GATEHOUSE_REDIS_ADDR; set the address too, or neither")
	}
	if _, err := clientip.Parse(s.TrustedProxies); err != nil {
		bad("TRUSTED_PROXIES", err.Error())
	}
	if s.BodyReadTimeout < 0 {
		bad("BODY_READ_TIMEOUT", "must not be negative; 0 turns the limit off")
	}
	if s.BodyMinRate < 0 {
		bad("BODY_MIN_RATE", "must not be negative; 0 turns the minimum off")
	}
	if _, err := ParseTokenLifetime(s.APITokenLifetime); err != nil {
		bad("API_TOKEN_LIFETIME", err.Error())
	}
	if s.UsageRollupInterval < time.Second || s.UsageRollupInterval > time.Hour {
		bad("USAGE_ROLLUP_INTERVAL", "must be from 1s to 1h, such as 1m")
	}
	if s.JWTSecret != "" && len(s.JWTSecret) < 32 {
		bad("JWT_SECRET", "must be at least 32 characters; leave it empty to have one generated")
	}
	return errors.Join(errs...)
}

// ParseTokenLifetime reads an API token lifetime: a duration from 1m to
// 8784h, or "never" (returned as 0).
func ParseTokenLifetime(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "never" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Minute || d > 8784*time.Hour {
		return 0, fmt.Errorf("%q is not a lifetime; use a duration from 1m to 8784h, such as 2160h (90 days), or never", v)
	}
	return d, nil
}

// Describe lists every setting with its variable, flag, value and help, for
// 'gatehouse serve --help'. Secret values are shown as set or unset.
func (s Settings) Describe() []Entry {
	var out []Entry
	forEachField(&s, func(f reflect.StructField, v reflect.Value) {
		val := fmt.Sprint(v.Interface())
		switch f.Tag.Get("secret") {
		case "true":
			val = "(unset)"
			if v.String() != "" {
				val = "(set)"
			}
		case "dsn":
			val = RedactDSN(v.String())
		}
		out = append(out, Entry{Env: EnvPrefix + f.Tag.Get("env"), Flag: f.Tag.Get("flag"), Key: f.Tag.Get("yaml"), Value: val, Help: f.Tag.Get("help")})
	})
	return out
}

// Entry describes one setting.
type Entry struct{ Env, Flag, Key, Value, Help string }

// RedactDSN hides the password of a database DSN.
func RedactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest := dsn[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if colon := strings.Index(rest[:at], ":"); colon >= 0 {
				return dsn[:i+3] + rest[:colon] + ":***" + rest[at:]
			}
		}
		return dsn
	}
	// MySQL form user:pass@tcp(host)/db
	if at := strings.LastIndex(dsn, "@"); at >= 0 {
		if colon := strings.Index(dsn[:at], ":"); colon >= 0 {
			return dsn[:colon] + ":***" + dsn[at:]
		}
	}
	return dsn
}
