// Package pluginapi is the contract between the gatehouse host and its
// plugins. It is the only package of server/ that a plugin imports.
//
// A plugin artifact is a Go plugin (go build -buildmode=plugin) whose main
// package exports one variable named Plugin (see SymbolName) of type
// pluginapi.Plugin:
//
//	var Plugin pluginapi.Plugin = myPlugin{}
//
// The host loads every artifact once at startup and calls New once per
// configured plugin instance each time the configuration changes. The
// lifecycle follows Caddy: New unmarshals the config strictly (unknown
// fields refused), provisions, validates and returns an Instance that
// serves until the host calls Close. Close must work after a partial
// provision.
package pluginapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// ABIVersion is the version of this contract. A plugin reports the
// ABIVersion it was built against in Info; the host refuses any other.
const ABIVersion = 2

// SymbolName is the name of the variable every plugin artifact exports.
const SymbolName = "Plugin"

// Phase orders plugin instances in a chain, like Higress: authn runs first,
// then authz, traffic, transform and default.
type Phase string

// The phases, in the order a chain runs them.
const (
	PhaseAuthn     Phase = "authn"
	PhaseAuthz     Phase = "authz"
	PhaseTraffic   Phase = "traffic"
	PhaseTransform Phase = "transform"
	PhaseDefault   Phase = "default"
)

// Phases returns every phase in chain order. The slice is the caller's:
// changing it changes no chain.
func Phases() []Phase {
	return []Phase{PhaseAuthn, PhaseAuthz, PhaseTraffic, PhaseTransform, PhaseDefault}
}

// Info describes a plugin. It must be constant for the life of the process.
type Info struct {
	// Name is the plugin's name, the same as its artifact's base name
	// (mcp-server for mcp-server.so).
	Name string `json:"name"`
	// Version is the plugin's own version.
	Version string `json:"version"`
	// ABIVersion is the pluginapi.ABIVersion the plugin was built against.
	ABIVersion int `json:"abiVersion"`
	// Phase and Priority order the plugin's instances in a chain: by phase,
	// then higher priority first.
	Phase    Phase `json:"phase"`
	Priority int   `json:"priority"`
	// Description is one sentence for the console.
	Description string `json:"description"`
}

// Plugin is what a plugin artifact exports.
type Plugin interface {
	// Info describes the plugin.
	Info() Info
	// ConfigSchema returns the JSON Schema of an instance's config.
	ConfigSchema() json.RawMessage
	// New builds an instance from config: it unmarshals strictly, provisions
	// and validates. An invalid config returns an error that names the field
	// (a *ConfigError, or several joined with errors.Join) and leaves nothing
	// running. New is called at configuration time, never per request, and
	// may be called while older instances still serve.
	New(ctx context.Context, config json.RawMessage, host Host) (Instance, error)
}

// Instance is one configured use of a plugin.
type Instance interface {
	// Handler wraps next. A terminal plugin (such as mcp-server) may serve
	// the request itself and never call next. Handler is called when a
	// configuration version is compiled, once for every chain the instance
	// is part of (each route, and each domain that adds domain-scoped
	// instances), never per request; keep it cheap and keep state in the
	// instance. The returned handler is called concurrently.
	Handler(next http.Handler) http.Handler
	// Close releases what New acquired. The host calls it once, after the
	// instance stopped receiving requests or when a later step of applying
	// a configuration failed.
	Close() error
}

// Host is what the gateway gives a plugin instance. It is safe for
// concurrent use.
type Host interface {
	// Logger returns a logger with the plugin's name attached.
	Logger() *slog.Logger
	// Redis returns the process's Redis client, or nil while Redis is not
	// configured. The client is replaced when the Redis settings change, so
	// call Redis for each use instead of keeping the result.
	Redis() redis.UniversalClient
	// HTTPClient returns a shared client with a keep-alive pool for calls to
	// upstream services.
	HTTPClient() *http.Client
	// Metrics returns the registerer for the plugin's Prometheus metrics.
	// Registering the same collector twice across configuration versions is
	// the plugin's to avoid (register once, in a sync.Once).
	Metrics() prometheus.Registerer
	// InstanceID identifies this gateway process among several that share
	// one database and one Redis.
	InstanceID() string
	// SharedStore returns the plugin's process-wide in-memory store, the
	// same for every instance of the plugin in the process (see
	// SharedStore). Since ABI version 2.
	SharedStore() SharedStore
}

// ConfigError is an invalid config value, named by its JSON path.
type ConfigError struct {
	// Field is the JSON path of the value, such as "tools[2].requestTemplate.url".
	Field string
	// Message says what is wrong and what to do.
	Message string
}

// Error implements error.
func (e *ConfigError) Error() string { return e.Field + ": " + e.Message }
