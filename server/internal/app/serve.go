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
	"github.com/gatehouse-dev/gatehouse/server/internal/health"
	"github.com/gatehouse-dev/gatehouse/server/internal/logging"
	"github.com/gatehouse-dev/gatehouse/server/internal/series"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
	"github.com/gatehouse-dev/gatehouse/web"
)

const jwtSecretKey = "auth.jwt_secret"

// serve runs the process until a signal, in the order of ARCHITECTURE §12.
func serve(version string, s config.Settings, stdout, stderr io.Writer) (code int) {
	logs, err := logging.New(logging.Options{
		File: s.LogFile, Level: s.LogLevel, Format: s.LogFormat,
		MaxSizeBytes: int64(s.LogMaxSizeMB) << 20, MaxBackups: s.LogMaxBackups, Stdout: stdout,
	})
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "gatehouse: cannot open the log file %s: %v — check GATEHOUSE_LOG_FILE and the directory's permissions\n", s.LogFile, err)
		return ExitUsage
	}
	defer func() { _ = logs.Close() }()
	log := logs.Slog().With("component", "app")
	// Registered first, so it runs last: after the gateway, Redis and the
	// database are closed.
	defer func() { log.Info("gatehouse stopped", "exit_code", code) }()
	log.Info("starting gatehouse", "version", version, "instance", s.InstanceID,
		"gateway_addr", s.GatewayAddr, "console_addr", s.ConsoleAddr, "data_dir", s.DataDir,
		"plugin_dir", s.PluginDir, "log_file", s.LogFile, "database", config.RedactDSN(s.Database))

	// Signals are caught from the start so that a stop during start-up is
	// orderly too; a second signal forces the exit.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	ctx := context.Background()
	st, err := store.Open(ctx, s.Database, logs.Slog().With("component", "store"))
	if err != nil {
		msg := fmt.Sprintf("cannot open the database %s: %v — check GATEHOUSE_DATABASE and that the server is reachable", config.RedactDSN(s.Database), err)
		log.Error(msg)
		_, _ = fmt.Fprintln(stderr, "gatehouse: "+msg)
		return ExitDatabase
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Warn("closing the database failed", "error", err)
		}
		log.Info("database closed")
	}()

	// Plugins are verified once the database is open because an image
	// address edited in the console is kept there; still before any
	// listener opens (docs/adr/0001-verify-plugins-after-database.md).
	plugins, err := verifyPlugins(ctx, s, st, logs.Slog())
	if err != nil {
		log.Error(err.Error(), "step", "verify_plugins")
		_, _ = fmt.Fprintln(stderr, "gatehouse: "+err.Error())
		return ExitPluginVerification
	}

	secret, err := jwtSecret(ctx, s, st)
	if err == nil {
		err = bootstrapAdmin(ctx, s, st, log)
	}
	if err != nil {
		log.Error("start failed", "error", err)
		_, _ = fmt.Fprintln(stderr, "gatehouse: start failed: "+err.Error())
		return ExitDatabase
	}

	// Redis is connected lazily: a Redis that is down does not stop the
	// start. It closes after the gateway (deferred later, so run earlier).
	rds, err := startRedis(ctx, s, st, logs.Slog())
	if err != nil {
		log.Error(err.Error(), "step", "redis")
		_, _ = fmt.Fprintln(stderr, "gatehouse: "+err.Error())
		return ExitDatabase
	}
	defer rds.close(log)

	checker := health.NewChecker(version)
	checker.Add(databaseCheck(st))
	checker.Add(pluginHealth(plugins))
	checker.Add(rds.health)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	reg.MustRegister(newRedisPoolCollector(rds.manager.Client))
	gw := gateway.New(logs.Slog(), reg)
	gw.LogRequests(s.AccessLog == "on")
	// Validated with the settings.
	trusted, _ := clientip.Parse(s.TrustedProxies)
	tokenLifetime, _ := config.ParseTokenLifetime(s.APITokenLifetime)
	gw.TrustProxies(trusted)
	gw.LimitBodyReads(s.BodyReadTimeout, s.BodyMinRate)
	defer func() {
		// Streams that the listener's shutdown does not wait for
		// (connections a plugin took over) end cleanly before their
		// plugin instances close; Drain is idempotent.
		gw.Drain()
		// Plugin instances and upstream pools close with the last table.
		gw.Close()
		log.Info("gateway closed")
	}()
	ctl := control.New(control.Options{
		Store: st, Gateway: gw, Plugins: plugins, Logger: logs.Slog(),
		Host:    hostFactory(logs.Slog(), rds.manager.Client, reg, s.InstanceID),
		Changed: publishChange(rds.manager.Client, log),
	})
	if err := ctl.Load(ctx); err != nil {
		log.Error(err.Error(), "step", "apply_configuration")
		_, _ = fmt.Fprintln(stderr, "gatehouse: "+err.Error())
		return ExitConfig
	}
	// In replace mode the file stays the truth while running too: a
	// changed file (a ConfigMap update) is applied without a restart.
	var fileWatch *configFileWatcher
	if s.ConfigFile != "" && s.ConfigFileMode == "replace" {
		fileWatch = newConfigFileWatcher(ctl, s.ConfigFile, log)
	}
	if s.ConfigFile != "" {
		if err := applyConfigFile(ctx, ctl, s.ConfigFile, s.ConfigFileMode, log); err != nil {
			log.Error(err.Error(), "step", "apply_config_file")
			_, _ = fmt.Fprintln(stderr, "gatehouse: "+err.Error())
			return ExitConfig
		}
	}

	seedModelPrices(ctx, ctl, log)
	checker.Add(gatewayHealth(ctl))

	recorder := series.New(reg, 10*time.Second, 360)

	adminSrv, err := admin.New(admin.Options{
		Store: st, Logger: logs.Slog(), JWTSecret: secret, JWTLifetime: s.JWTLifetime,
		LogFile: s.LogFile, Health: checker, Plugins: &pluginCatalog{report: plugins, store: st}, Config: ctl, Redis: rds,
		Registry: reg, Console: web.Dist(), Series: recorder,
		ClientIP: trusted, TokenLifetime: tokenLifetime,
	})
	if err != nil {
		log.Error("start failed", "error", err)
		return ExitFailure
	}
	consoleLn, err := net.Listen("tcp", s.ConsoleAddr)
	if err != nil {
		return listenFailed(log, stderr, "GATEHOUSE_CONSOLE_ADDR", s.ConsoleAddr, err)
	}
	gatewayLn, err := net.Listen("tcp", s.GatewayAddr)
	if err != nil {
		_ = consoleLn.Close()
		return listenFailed(log, stderr, "GATEHOUSE_GATEWAY_ADDR", s.GatewayAddr, err)
	}
	servers := []*namedServer{
		{name: "console", ln: consoleLn, srv: newHTTPServer(adminSrv.Handler(), logs.Slog())},
		{name: "gateway", ln: gatewayLn, srv: newHTTPServer(gw, logs.Slog())},
	}
	servers[1].srv.ConnState = gw.ConnState
	servers[1].srv.RegisterOnShutdown(gw.Drain)
	// Background work owned by serve, stopped after the listeners drained:
	// following configuration changes of other instances (pub/sub, polling
	// as the fallback) and sampling the dashboard's series.
	bgCtx, stopBackground := context.WithCancel(ctx)
	var background sync.WaitGroup
	background.Add(3)
	go func() {
		defer background.Done()
		syncConfig(bgCtx, ctl, rds.manager.Client, rds.sync, log)
	}()
	go func() {
		defer background.Done()
		recorder.Run(bgCtx)
	}()
	go func() {
		defer background.Done()
		adminSrv.RunAIUsage(bgCtx)
	}()
	servers[0].srv.RegisterOnShutdown(adminSrv.EndStreams)

	serveErr := make(chan error, len(servers))
	for _, ns := range servers {
		go func() {
			if err := ns.srv.Serve(ns.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				serveErr <- fmt.Errorf("%s listener: %w", ns.name, err)
			}
		}()
		log.Info("listening", "listener", ns.name, "addr", ns.ln.Addr().String())
	}
	if fileWatch != nil {
		background.Go(func() { fileWatch.run(bgCtx, configFileInterval) })
	}
	checker.SetReady(true)
	log.Info("gatehouse ready", "console_url", "http://"+displayAddr(consoleLn.Addr()), "gateway_url", "http://"+displayAddr(gatewayLn.Addr()))

	code = ExitOK
	select {
	case sig := <-sigs:
		log.Info("shutting down", "signal", sig.String(), "timeout", s.ShutdownTimeout.String())
	case err := <-serveErr:
		log.Error("listener failed; shutting down", "error", err)
		code = ExitFailure
	}
	go func() {
		sig := <-sigs
		log.Error("second signal: exiting now without finishing in-flight requests", "signal", sig.String())
		_ = logs.Close()
		os.Exit(ExitFailure)
	}()
	if err := shutdown(servers, checker, s.ShutdownTimeout, log); err != nil {
		code = ExitFailure
	}
	stopBackground()
	background.Wait()
	return code
}

type namedServer struct {
	name string
	ln   net.Listener
	srv  *http.Server
}

func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.With("component", "http").Handler(), slog.LevelWarn),
	}
}

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

func listenFailed(log *slog.Logger, stderr io.Writer, key, addr string, err error) int {
	msg := fmt.Sprintf("cannot listen on %s (%s): %v — is another process using the port? choose another with %s", addr, key, err, key)
	log.Error(msg)
	_, _ = fmt.Fprintln(stderr, "gatehouse: "+msg)
	return ExitListen
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
