// Package admin serves the console listener: the REST admin API under
// /api/v1 (JWT auth), /healthz, /readyz, /metrics and the embedded console.
// It maps domain errors to HTTP statuses and stable error codes; no other
// package knows about gin.
//
// Configuration objects are served by one set of generic handlers per
// entry of the table of kinds (spec.Kinds, as control holds it): list,
// get, create, update and delete under /api/v1/<kind>s. The objects mask
// and keep their own secrets (spec.SecretHolder, package secret); admin
// only turns a refused mask (*secret.Error) into a 400.
package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse-dev/gatehouse/server/internal/clientip"
	"github.com/gatehouse-dev/gatehouse/server/internal/control"
	"github.com/gatehouse-dev/gatehouse/server/internal/health"
	"github.com/gatehouse-dev/gatehouse/server/internal/series"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
	"github.com/gatehouse-dev/gatehouse/server/internal/usage"
)

// Options wire the admin server to the rest of the process.
type Options struct {
	Store  *store.Store
	Logger *slog.Logger
	// JWTSecret signs admin tokens (HS256); JWTLifetime bounds them.
	JWTSecret   []byte
	JWTLifetime time.Duration
	// LogFile is gateway.log, tailed by /api/v1/logs/gateway.
	LogFile string
	Health  *health.Checker
	Plugins PluginCatalog
	// Series is the dashboard's time series of gateway metrics.
	Series *series.Recorder
	// Redis serves /api/v1/settings/redis.
	Redis RedisSettings
	// Config applies configuration changes (routes, services, plugin
	// instances, MCP servers).
	Config *control.Control
	// Registry receives the admin metrics; Gatherer serves /metrics.
	Registry *prometheus.Registry
	// Console is the built web console (index.html at its root).
	Console fs.FS
	// ClientIP finds the client's address (login throttling, logs): the
	// connection's peer unless it is a trusted proxy.
	ClientIP clientip.Resolver
	// TokenLifetime is the lifetime of an API token created without
	// expiresIn; 0 means such tokens do not expire.
	TokenLifetime time.Duration
	// Usage serves the consumers' usage, top-ups and resets.
	Usage *usage.Usage
}

// Server is the console listener's handler.
type Server struct {
	opts    Options
	log     *slog.Logger
	engine  *gin.Engine
	limiter *loginLimiter
	metrics *adminMetrics
	// compareHash is bcrypt.CompareHashAndPassword (tests watch it).
	compareHash func(hash, password []byte) error

	// streams is cancelled by EndStreams so that long-lived responses (log
	// follow) end cleanly when the process shuts down.
	streams    context.Context
	endStreams context.CancelFunc

	// ai is the AI gateway's state (ai.go, aiusage.go).
	ai aiState
}

// New builds the router. It does not listen.
func New(opts Options) (*Server, error) {
	gin.SetMode(gin.ReleaseMode)
	s := &Server{
		opts:    opts,
		log:     opts.Logger.With("component", "admin"),
		limiter: newLoginLimiter(5, time.Minute, 10, 15*time.Minute),

		compareHash: bcrypt.CompareHashAndPassword,
	}
	s.streams, s.endStreams = context.WithCancel(context.Background())
	m, err := newAdminMetrics(opts.Registry)
	if err != nil {
		return nil, err
	}
	s.metrics = m

	e := gin.New()
	// Client addresses come from s.clientIP, never from gin's header
	// guessing.
	_ = e.SetTrustedProxies(nil)
	e.ForwardedByClientIP = false
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	e.Use(s.requestID, s.observe, gin.CustomRecovery(func(c *gin.Context, rec any) {
		s.log.Error("admin handler panicked", "path", c.FullPath(), "request_id", c.GetString(requestIDKey), "panic", rec)
		s.fail(c, newError(http.StatusInternalServerError, "internal_error", "the server failed; see gateway.log for request id "+c.GetString(requestIDKey)))
	}))

	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "alive"}) })
	e.GET("/readyz", s.readyz)

	api := e.Group("/api/v1", s.guardWrites)
	api.GET("/auth/status", s.authStatus)
	api.POST("/auth/init", s.authInit)
	api.POST("/auth/login", s.login)

	authed := api.Group("", s.requireAuth)
	authed.POST("/auth/logout", s.logout)
	authed.GET("/auth/me", s.me)
	authed.PUT("/users/me/password", s.sessionOnly, s.changePassword)
	authed.GET("/health", s.healthReport)
	authed.GET("/metrics/series", s.metricSeries)
	authed.GET("/logs/gateway", s.tailLog)
	authed.GET("/logs/gateway/stream", s.followLog)
	authed.GET("/plugins", s.listPlugins)
	authed.GET("/plugins/:name", s.getPlugin)
	authed.PUT("/plugins/:name", s.updatePlugin)
	authed.GET("/settings/redis", s.getRedisSettings)
	authed.PUT("/settings/redis", s.putRedisSettings)
	authed.POST("/settings/redis/test", s.testRedisSettings)
	s.registerConfig(authed)
	s.registerTokens(authed)
	s.registerMCP(authed)

	metricsHandler := promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{})
	e.GET("/metrics", s.requireAuth, gin.WrapH(metricsHandler))

	e.NoMethod(func(c *gin.Context) {
		s.fail(c, newError(http.StatusMethodNotAllowed, "method_not_allowed", c.Request.Method+" is not allowed on "+c.Request.URL.Path))
	})
	var console http.Handler
	if opts.Console != nil {
		console = newConsoleHandler(opts.Console)
	}
	e.NoRoute(func(c *gin.Context) {
		if console == nil || strings.HasPrefix(c.Request.URL.Path, "/api/") {
			s.fail(c, newError(http.StatusNotFound, "not_found", "no admin API endpoint "+c.Request.Method+" "+c.Request.URL.Path+"; README.md lists them"))
			return
		}
		c.Set(consoleFileKey, true)
		console.ServeHTTP(c.Writer, c.Request)
	})
	s.engine = e
	return s, nil
}

// EndStreams ends every open stream; the shutdown of the listener calls it.
func (s *Server) EndStreams() { s.endStreams() }

// Handler returns the console listener's handler.
func (s *Server) Handler() http.Handler { return s.engine }

// Routes lists every registered method and path, for tests that check that
// no endpoint is left unprotected.
func (s *Server) Routes() gin.RoutesInfo { return s.engine.Routes() }

const requestIDKey = "request_id"

// consoleFileKey marks a request that the console's static files served.
const consoleFileKey = "console_file"

func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if id == "" || len(id) > 128 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Set(requestIDKey, id)
	c.Header("X-Request-Id", id)
	c.Next()
}

// methodLabel is the method label of a request: the standard methods as
// they are, any other token a client makes up "other", so that made-up
// methods cannot add time series without end.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// observe logs each request once and counts it.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	d := time.Since(start)
	method := methodLabel(c.Request.Method)
	s.metrics.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	s.metrics.duration.WithLabelValues(method, route).Observe(d.Seconds())
	if route == "/healthz" || route == "/readyz" || route == "/metrics" {
		return
	}
	level := logAttrsForStatus(status)
	if level == slog.LevelInfo && c.GetBool(consoleFileKey) {
		// The console fetching its own files (scripts, styles, icons) would
		// fill the log that the console shows.
		level = slog.LevelDebug
	}
	s.log.Log(c.Request.Context(), level, "admin request",
		"method", c.Request.Method, "path", c.Request.URL.Path, "status", status,
		"duration_ms", float64(d.Microseconds())/1000, "client", s.clientIP(c), "request_id", c.GetString(requestIDKey))
}

// clientIP is the client's address: the peer's, or what a trusted proxy
// says.
func (s *Server) clientIP(c *gin.Context) string { return s.opts.ClientIP.ClientIP(c.Request) }

func (s *Server) readyz(c *gin.Context) {
	if !s.opts.Health.Ready() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "not_ready"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

// metricSeries answers the dashboard's charts: request and error rate,
// p50/p99 latency and tool calls per MCP server over the last hour.
func (s *Server) metricSeries(c *gin.Context) {
	items := []series.Point{}
	interval := 0.0
	if s.opts.Series != nil {
		if pts := s.opts.Series.Points(); pts != nil {
			items = pts
		}
		interval = s.opts.Series.Interval().Seconds()
	}
	c.JSON(http.StatusOK, gin.H{"intervalSeconds": interval, "items": items, "total": len(items)})
}

func (s *Server) healthReport(c *gin.Context) {
	c.JSON(http.StatusOK, s.opts.Health.Report(c.Request.Context()))
}

func newStrictDecoder(r io.Reader) *json.Decoder {
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	dec.DisallowUnknownFields()
	return dec
}
