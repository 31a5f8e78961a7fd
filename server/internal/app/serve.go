package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatehouse-dev/gatehouse/server/internal/admin"
	"github.com/gatehouse-dev/gatehouse/server/internal/clientip"
	"github.com/gatehouse-dev/gatehouse/server/internal/config"
	"github.com/gatehouse-dev/gatehouse/server/internal/control"
	"github.com/gatehouse-dev/gatehouse/server/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/server/internal/h1server"
	"github.com/gatehouse-dev/gatehouse/server/internal/health"
	"github.com/gatehouse-dev/gatehouse/server/internal/logging"
	"github.com/gatehouse-dev/gatehouse/server/internal/pluginhost"
	"github.com/gatehouse-dev/gatehouse/server/internal/redisx"
	"github.com/gatehouse-dev/gatehouse/server/internal/series"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
	consumerusage "github.com/gatehouse-dev/gatehouse/server/internal/usage"
	"github.com/gatehouse-dev/gatehouse/web"
)

const jwtSecretKey = "auth.jwt_secret"

// serve runs the process until a signal: start, run and stop mirror the
// start and stop orders of ARCHITECTURE §12.
func serve(version string, s config.Settings, stdout, stderr io.Writer) int {
	p := &process{version: version, s: s, stdout: stdout, stderr: stderr}
	// Signals are caught from the start so that a stop during start-up is
	// orderly too; a second signal forces the exit.
	p.sigs = make(chan os.Signal, 2)
	signal.Notify(p.sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(p.sigs)
	code := p.start(context.Background())
	if code == ExitOK {
		code = p.run()
	}
	return p.stop(code)
}

// process is what serve starts. Every start step that acquires something
// pushes the step that releases it, so that stop releases in reverse
// order whatever a partial start acquired (Caddy's cleanup after a partial
// provision).
type process struct {
	version        string
	s              config.Settings
	stdout, stderr io.Writer
	sigs           chan os.Signal

	logs     *logging.Logger
	log      *slog.Logger
	st       *store.Store
	plugins  *pluginhost.Report
	secret   []byte
	redis    *redisx.Service
	checker  *health.Checker
	reg      *prometheus.Registry
	gw       *gateway.Gateway
	ctl      *control.Control
	follower *control.Follower
	file     *configFileWatcher
	recorder *series.Recorder
	usage    *consumerusage.Usage
	admin    *admin.Server
	servers  []*namedServer

	// stops are the release steps, run last first.
	stops []func()
}

// onStop pushes a release step.
func (p *process) onStop(f func()) { p.stops = append(p.stops, f) }

// startFailed logs why the start failed, tells the terminal and returns
// the exit code.
func (p *process) startFailed(code int, step, msg string) int {
	p.log.Error(msg, "step", step)
	_, _ = fmt.Fprintln(p.stderr, "gatehouse: "+msg)
	return code
}

// start runs the start order of ARCHITECTURE §12 up to the open
// listeners; it returns ExitOK or the code to exit with.
func (p *process) start(ctx context.Context) int {
	s := p.s
	logs, err := logging.New(logging.Options{
		File: s.LogFile, Level: s.LogLevel, Format: s.LogFormat,
		MaxSizeBytes: int64(s.LogMaxSizeMB) << 20, MaxBackups: s.LogMaxBackups, Stdout: p.stdout,
	})
	if err != nil {
		_, _ = fmt.Fprintf(p.stderr, "gatehouse: cannot open the log file %s: %v — check GATEHOUSE_LOG_FILE and the directory's permissions\n", s.LogFile, err)
		return ExitUsage
	}
	p.logs, p.log = logs, logs.Slog().With("component", "app")
	p.onStop(func() { _ = logs.Close() })
	p.log.Info("starting gatehouse", "version", p.version, "instance", s.InstanceID,
		"gateway_addr", s.GatewayAddr, "console_addr", s.ConsoleAddr, "data_dir", s.DataDir,
		"plugin_dir", s.PluginDir, "log_file", s.LogFile, "database", config.RedactDSN(s.Database))

	for _, step := range []func(context.Context) int{p.openDatabase, p.verifyPlugins, p.connectRedis, p.applyConfiguration, p.openListeners} {
		if code := step(ctx); code != ExitOK {
			return code
		}
	}
	return ExitOK
}

func (p *process) openDatabase(ctx context.Context) int {
	st, err := store.Open(ctx, p.s.Database, p.logs.Slog().With("component", "store"))
	if err != nil {
		return p.startFailed(ExitDatabase, "open_database", fmt.Sprintf("cannot open the database %s: %v — check GATEHOUSE_DATABASE and that the server is reachable", config.RedactDSN(p.s.Database), err))
	}
	p.st = st
	p.onStop(func() {
		if err := st.Close(); err != nil {
			p.log.Warn("closing the database failed", "error", err)
		}
		p.log.Info("database closed")
	})
	return ExitOK
}

// verifyPlugins runs once the database is open because an image address
// edited in the console is kept there; still before any listener opens
// (docs/adr/0001-verify-plugins-after-database.md). The administrator and
// the JWT secret are prepared here too.
func (p *process) verifyPlugins(ctx context.Context) int {
	plugins, err := verifyPlugins(ctx, p.s, p.st, p.logs.Slog())
	if err != nil {
		return p.startFailed(ExitPluginVerification, "verify_plugins", err.Error())
	}
	p.plugins = plugins
	p.secret, err = jwtSecret(ctx, p.s, p.st)
	if err == nil {
		err = bootstrapAdmin(ctx, p.s, p.st, p.log)
	}
	if err != nil {
		return p.startFailed(ExitDatabase, "auth", "start failed: "+err.Error())
	}
	return ExitOK
}

// connectRedis does not wait for Redis: a Redis that is down does not stop
// the start. It closes after the gateway.
func (p *process) connectRedis(ctx context.Context) int {
	redisx.RouteLibraryLogs(p.logs.Slog().With("component", "redis"))
	rds, err := redisx.NewService(ctx, redisx.ServiceOptions{
		Store: p.st.SettingKey(redisSettingsKey), Logger: p.logs.Slog(),
		BootstrapAddr: p.s.RedisAddr, BootstrapPassword: p.s.RedisPassword,
	})
	if err != nil {
		return p.startFailed(ExitDatabase, "redis", err.Error())
	}
	p.redis = rds
	p.onStop(func() {
		if err := rds.Close(); err != nil {
			p.log.Warn("closing redis failed", "error", err)
		}
	})
	return ExitOK
}

// applyConfiguration builds the gateway and serves the stored
// configuration, then the configuration file's.
func (p *process) applyConfiguration(ctx context.Context) int {
	s := p.s
	p.checker = health.NewChecker(p.version)
	p.checker.Add(databaseCheck(p.st))
	p.checker.Add(pluginHealth(p.plugins))
	p.checker.Add(p.redis.Health)

	p.reg = prometheus.NewRegistry()
	p.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	p.reg.MustRegister(newRedisPoolCollector(p.redis.Client))
	p.gw = gateway.New(p.logs.Slog(), p.reg)
	p.gw.LogRequests(s.AccessLog == "on")
	// Validated with the settings.
	trusted, _ := clientip.Parse(s.TrustedProxies)
	p.gw.TrustProxies(trusted)
	p.gw.LimitBodyReads(s.BodyReadTimeout, s.BodyMinRate)
	gw := p.gw
	p.onStop(func() {
		// Streams that the listener's shutdown does not wait for
		// (connections a plugin took over) end cleanly before their
		// plugin instances close; Drain is idempotent.
		gw.Drain()
		// Plugin instances and upstream pools close with the last table.
		gw.Close()
		p.log.Info("gateway closed")
	})
	notifier := redisNotifier{client: p.redis.Client, recheck: control.DefaultPollInterval}
	p.ctl = control.New(control.Options{
		Store: p.st, Gateway: p.gw, Plugins: p.plugins, Logger: p.logs.Slog(),
		Host:               hostFactory(p.logs.Slog(), p.redis.Client, p.reg, s.InstanceID),
		Changed:            control.Announcer(notifier, p.logs.Slog()),
		AIUsageFailureMode: s.AIUsageFailureMode,
	})
	if err := p.ctl.Load(ctx); err != nil {
		return p.startFailed(ExitConfig, "apply_configuration", err.Error())
	}
	// Other instances' changes are followed (pub/sub, polling as the
	// fallback), and so are the Redis settings they store.
	p.follower = control.NewFollower(p.ctl, control.FollowerOptions{
		Notifier: notifier, Logger: p.logs.Slog(), Also: p.redis.Sync,
	})
	// In replace mode the file stays the truth while running too: a
	// changed file (a ConfigMap update) is applied without a restart.
	if s.ConfigFile != "" && s.ConfigFileMode == "replace" {
		p.file = newConfigFileWatcher(p.ctl, s.ConfigFile, p.log)
	}
	if s.ConfigFile != "" {
		if err := applyConfigFile(ctx, p.ctl, s.ConfigFile, s.ConfigFileMode, p.log); err != nil {
			return p.startFailed(ExitConfig, "apply_config_file", err.Error())
		}
	}
	seedModelPrices(ctx, p.ctl, p.log)
	p.checker.Add(gatewayHealth(p.ctl))
	return ExitOK
}

// openListeners builds the admin server and opens both listeners. The
// engine that serves each listener is chosen here, and only here.
func (p *process) openListeners(context.Context) int {
	s := p.s
	trusted, _ := clientip.Parse(s.TrustedProxies)
	tokenLifetime, _ := config.ParseTokenLifetime(s.APITokenLifetime)
	p.recorder = series.New(p.reg, 10*time.Second, 360)
	u, err := consumerusage.New(consumerusage.Options{Redis: p.redis.Client, Store: p.st, Logger: p.logs.Slog(), Interval: s.UsageRollupInterval})
	if err != nil {
		return p.startFailed(ExitFailure, "usage", "start failed: "+err.Error())
	}
	p.usage = u
	adminSrv, err := admin.New(admin.Options{
		Store: p.st, Logger: p.logs.Slog(), JWTSecret: p.secret, JWTLifetime: s.JWTLifetime,
		LogFile: s.LogFile, Health: p.checker, Plugins: &pluginCatalog{report: p.plugins, store: p.st}, Config: p.ctl, Redis: p.redis,
		Registry: p.reg, Console: web.Dist(), Series: p.recorder,
		ClientIP: trusted, TokenLifetime: tokenLifetime, Usage: p.usage,
	})
	if err != nil {
		return p.startFailed(ExitFailure, "admin", "start failed: "+err.Error())
	}
	p.admin = adminSrv
	consoleLn, err := net.Listen("tcp", s.ConsoleAddr)
	if err != nil {
		return p.listenFailed("GATEHOUSE_CONSOLE_ADDR", s.ConsoleAddr, err)
	}
	gatewayLn, err := net.Listen("tcp", s.GatewayAddr)
	if err != nil {
		_ = consoleLn.Close()
		return p.listenFailed("GATEHOUSE_GATEWAY_ADDR", s.GatewayAddr, err)
	}
	console := newHTTPServer(adminSrv.Handler(), p.logs.Slog())
	console.RegisterOnShutdown(adminSrv.EndStreams)
	gw := newHTTPServer(p.gw, p.logs.Slog())
	gw.ConnState = p.gw.ConnState
	gw.RegisterOnShutdown(p.gw.Drain)
	var gwServer listenerServer = gw
	if s.GatewayEngine == "fast" {
		gwServer = &h1server.Server{Std: gw, Direct: p.gw, MaxRequestsPerConn: gatewayMaxRequestsPerConn, Log: p.logs.Slog().With("component", "http")}
	}
	p.servers = []*namedServer{
		{name: "console", ln: consoleLn, srv: console},
		{name: "gateway", ln: gatewayLn, srv: gwServer},
	}
	return ExitOK
}

// run serves until a signal or a listener failure, with the background
// work that the process owns, and returns the exit code so far.
func (p *process) run() int {
	bgCtx, stopBackground := context.WithCancel(context.Background())
	var background sync.WaitGroup
	background.Go(func() { p.follower.Run(bgCtx) })
	background.Go(func() { p.recorder.Run(bgCtx) })
	background.Go(func() { p.admin.RunAIUsage(bgCtx) })
	// Consumer usage is rolled up into the database until the stop, which
	// rolls it up once more (before Redis and the database close).
	background.Go(func() { p.usage.Run(bgCtx) })
	if p.file != nil {
		background.Go(func() { p.file.run(bgCtx, configFileInterval) })
	}
	// Stopped after the listeners drained.
	p.onStop(func() {
		stopBackground()
		background.Wait()
	})

	serveErr := make(chan error, len(p.servers))
	for _, ns := range p.servers {
		go func() {
			if err := ns.srv.Serve(ns.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				serveErr <- fmt.Errorf("%s listener: %w", ns.name, err)
			}
		}()
		p.log.Info("listening", "listener", ns.name, "addr", ns.ln.Addr().String())
	}
	p.checker.SetReady(true)
	p.log.Info("gatehouse ready", "console_url", "http://"+displayAddr(p.servers[0].ln.Addr()), "gateway_url", "http://"+displayAddr(p.servers[1].ln.Addr()))

	code := ExitOK
	select {
	case sig := <-p.sigs:
		p.log.Info("shutting down", "signal", sig.String(), "timeout", p.s.ShutdownTimeout.String())
	case err := <-serveErr:
		p.log.Error("listener failed; shutting down", "error", err)
		code = ExitFailure
	}
	go func() {
		sig := <-p.sigs
		p.log.Error("second signal: exiting now without finishing in-flight requests", "signal", sig.String())
		_ = p.logs.Close()
		os.Exit(ExitFailure)
	}()
	if err := shutdown(p.servers, p.checker, p.s.ShutdownTimeout, p.log); err != nil {
		code = ExitFailure
	}
	return code
}

// stop releases what start and run acquired, last first: background work,
// the gateway's streams and plugin instances, Redis, the database, the
// log (ARCHITECTURE §12). It returns code.
func (p *process) stop(code int) int {
	for i := len(p.stops) - 1; i >= 0; i-- {
		if i == 0 && p.log != nil {
			// The log closes last: say so while it is open.
			p.log.Info("gatehouse stopped", "exit_code", code)
		}
		p.stops[i]()
	}
	return code
}

type namedServer struct {
	name string
	ln   net.Listener
	srv  listenerServer
}

// listenerServer is what serves a listener: net/http's server, or the
// gateway's HTTP/1.1 engine in front of one (GATEHOUSE_GATEWAY_ENGINE).
type listenerServer interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
	Close() error
}

// gatewayMaxRequestsPerConn closes a keep-alive connection of the fast
// engine after that many requests, as nginx's keepalive_requests.
const gatewayMaxRequestsPerConn = 1000

func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.With("component", "http").Handler(), slog.LevelWarn),
	}
}

// redisSettingsKey is the store key of the Redis settings (JSON of
// redisx.Settings, password included).
const redisSettingsKey = "redis.settings"

// shutdown turns readiness off, stops accepting, lets in-flight requests
// finish within timeout (streams are told to end), and closes what is left
// when the timeout passes.
func shutdown(servers []*namedServer, checker *health.Checker, timeout time.Duration, log *slog.Logger) error {
	checker.SetReady(false)
	log.Info("readiness off; draining in-flight requests")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(servers))
	for i, ns := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ns.srv.Shutdown(ctx); err != nil {
				errs[i] = fmt.Errorf("%s listener: %w", ns.name, errShutdownTimeout)
				_ = ns.srv.Close()
				return
			}
			log.Info("listener drained", "listener", ns.name)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		log.Error("shutdown timeout exceeded; remaining requests were cut", "timeout", timeout.String(), "error", err)
		return err
	}
	return nil
}

func (p *process) listenFailed(key, addr string, err error) int {
	return p.startFailed(ExitListen, "listen", fmt.Sprintf("cannot listen on %s (%s): %v — is another process using the port? choose another with %s", addr, key, err, key))
}

func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if ok && tcp.IP.IsUnspecified() {
		return fmt.Sprintf("localhost:%d", tcp.Port)
	}
	return a.String()
}

func jwtSecret(ctx context.Context, s config.Settings, st *store.Store) ([]byte, error) {
	if s.JWTSecret != "" {
		return []byte(s.JWTSecret), nil
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	v, err := st.SettingOrCreate(ctx, jwtSecretKey, hex.EncodeToString(b[:]))
	if err != nil {
		return nil, fmt.Errorf("keep the generated JWT secret in the database: %w", err)
	}
	return []byte(v), nil
}

func bootstrapAdmin(ctx context.Context, s config.Settings, st *store.Store, log *slog.Logger) error {
	if s.AdminUser == "" {
		has, err := st.HasUsers(ctx)
		if err == nil && !has {
			log.Info("no administrator yet: open the console to create one, or POST /api/v1/auth/init, or set GATEHOUSE_ADMIN_USER and GATEHOUSE_ADMIN_PASSWORD")
		}
		return err
	}
	hash, err := admin.HashPassword(s.AdminPassword)
	if err != nil {
		return err
	}
	_, err = st.CreateFirstUser(ctx, s.AdminUser, hash)
	switch {
	case errors.Is(err, store.ErrAlreadyInitialized):
		log.Info("bootstrap administrator skipped: an administrator exists already", "user", s.AdminUser)
		return nil
	case err != nil:
		return fmt.Errorf("create the bootstrap administrator: %w", err)
	}
	log.Info("bootstrap administrator created", "user", s.AdminUser)
	return nil
}

func databaseCheck(st *store.Store) health.Check {
	return func(ctx context.Context) []health.Component {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		c := health.Component{Name: "database", Kind: "database", Status: health.StatusOK, Message: st.Driver(), Critical: true}
		if err := st.Ping(ctx); err != nil {
			c.Status, c.Message = health.StatusDown, st.Driver()+": "+err.Error()
		}
		return []health.Component{c}
	}
}
