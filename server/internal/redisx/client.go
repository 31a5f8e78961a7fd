package redisx

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// NewClient builds one client for s: a *redis.Client for standalone, a
// Sentinel-backed failover *redis.Client for sentinel, a
// *redis.ClusterClient for cluster. It validates s first and returns its
// errors (errors.Join of *FieldError). It does not connect: connections are
// opened on first use and reopened by the client after Redis comes back.
// The caller owns the client and closes it.
func NewClient(s Settings) (redis.UniversalClient, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return build(s, false)
}

// build makes the client of valid settings. A probe client (diagnosis)
// makes one attempt per operation and keeps no idle connections, so that
// the first error comes back at once and unchanged.
func build(s Settings, probe bool) (redis.UniversalClient, error) {
	dialT, readT, writeT := s.timeouts()
	var tlsConf *tls.Config
	if s.TLS.Enabled {
		tlsConf = &tls.Config{
			MinVersion:         tls.VersionTLS12,
			ServerName:         s.TLS.ServerName,
			InsecureSkipVerify: s.TLS.InsecureSkipVerify, //nolint:gosec // the user's explicit choice, shown in the console as insecure
		}
		if s.TLS.CACertPEM != "" {
			pool, err := certPool(s.TLS.CACertPEM)
			if err != nil {
				return nil, &FieldError{Field: "tls.caCertPEM", Message: err.Error()}
			}
			tlsConf.RootCAs = pool
		}
	}
	o := &redis.UniversalOptions{
		Addrs:      s.Addresses,
		MasterName: s.MasterName,
		Username:   s.Username,
		Password:   s.Password,
		DB:         s.DB,
		// The dialer does TLS itself so that a handshake failure is told
		// apart from a slow server (see handshakeError).
		Dialer:                dialer(tlsConf, dialT),
		DialTimeout:           dialT,
		ReadTimeout:           readT,
		WriteTimeout:          writeT,
		ContextTimeoutEnabled: true,
		PoolSize:              s.PoolSize,
		MinIdleConns:          s.MinIdleConns,
	}
	if probe {
		o.MaxRetries = -1
		o.DialerRetries = 1
		o.PoolSize = 1
		o.MinIdleConns = 0
	}
	switch s.Mode {
	case ModeSentinel:
		return redis.NewFailoverClient(o.Failover()), nil
	case ModeCluster:
		return redis.NewClusterClient(o.Cluster()), nil
	default:
		return redis.NewClient(o.Simple()), nil
	}
}

// handshakeError is a TLS handshake that failed after the TCP connection
// was made.
type handshakeError struct {
	addr string
	err  error
}

func (e *handshakeError) Error() string {
	return fmt.Sprintf("tls handshake with %s: %v", e.addr, e.err)
}

func (e *handshakeError) Unwrap() error { return e.err }

// dialer connects over TCP and, when tlsConf is set, completes the TLS
// handshake within timeout. The server name defaults to the dialled host,
// so every cluster node and Sentinel is checked against its own name.
func dialer(tlsConf *tls.Config, timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil || tlsConf == nil {
			return conn, err
		}
		cfg := tlsConf.Clone()
		if cfg.ServerName == "" {
			if host, _, err := net.SplitHostPort(addr); err == nil {
				cfg.ServerName = host
			}
		}
		tc := tls.Client(conn, cfg)
		hctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := tc.HandshakeContext(hctx); err != nil {
			_ = conn.Close()
			return nil, &handshakeError{addr: addr, err: err}
		}
		return tc, nil
	}
}

// RouteLibraryLogs sends go-redis's own log lines (dial failures, Sentinel
// master changes) to log at debug level instead of stderr. go-redis keeps
// one logger per process, so call it once, at start.
func RouteLibraryLogs(log *slog.Logger) {
	redis.SetLogger(libraryLogger{log: log})
}

type libraryLogger struct{ log *slog.Logger }

func (l libraryLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...))
}
