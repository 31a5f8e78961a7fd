package redisx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Code classifies the outcome of a connection test. Clients branch on it.
type Code string

// The codes of a Diagnosis.
const (
	CodeOK                    Code = "ok"
	CodeDNSNotFound           Code = "dns_not_found"
	CodeConnectionRefused     Code = "connection_refused"
	CodeTimeout               Code = "timeout"
	CodeTLSHandshakeFailed    Code = "tls_handshake_failed"
	CodeAuthFailed            Code = "auth_failed"
	CodeDBOutOfRange          Code = "db_out_of_range"
	CodeNotACluster           Code = "not_a_cluster"
	CodeSentinelMasterUnknown Code = "sentinel_master_unknown"
	// CodeWrongMode is a server of another kind than the mode expects: a
	// cluster node or a Sentinel in standalone mode, or a plain server
	// given as a Sentinel.
	CodeWrongMode Code = "wrong_mode"
	// CodeInvalidSettings is settings that fail Validate; nothing was dialled.
	CodeInvalidSettings Code = "invalid_settings"
	CodeUnknown         Code = "unknown"
)

// Diagnosis is the outcome of a connection test, for a person: Message says
// what happened with the values involved, Hint what to check. Neither ever
// holds the password.
type Diagnosis struct {
	OK      bool   `json:"ok"`
	Code    Code   `json:"code"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
	// ServerVersion is the server's redis_version, when it answered.
	ServerVersion string `json:"serverVersion,omitempty"`
	// Mode is the server's own redis_mode (standalone, cluster, sentinel),
	// when it answered.
	Mode string `json:"mode,omitempty"`
	// LatencyMS is the round trip of one PING on an open connection.
	LatencyMS float64 `json:"latencyMs"`
}

// Diagnose connects with s using a client of its own (one attempt, no
// retries), runs PING and INFO server, closes the client and tells what
// happened. It never returns an error: invalid settings give
// CodeInvalidSettings. It takes at most about twice the dial and read
// timeouts, or less if ctx ends sooner.
func Diagnose(ctx context.Context, s Settings) Diagnosis {
	if err := s.Validate(); err != nil {
		return scrubbed(Diagnosis{Code: CodeInvalidSettings, Message: err.Error(),
			Hint: "correct the fields named in the message in Settings → Redis"}, s.Password)
	}
	c, err := build(s, true)
	if err != nil {
		return scrubbed(Diagnosis{Code: CodeInvalidSettings, Message: err.Error()}, s.Password)
	}
	defer func() { _ = c.Close() }()
	dialT, readT, writeT := s.timeouts()
	// Sentinel mode dials a Sentinel and then the master.
	ctx, cancel := context.WithTimeout(ctx, 2*(dialT+readT)+writeT+time.Second)
	defer cancel()
	return check(ctx, c, s, true)
}

// check runs PING (twice on a fresh client: the first one connects, the
// second is timed) and INFO server on c.
func check(ctx context.Context, c redis.UniversalClient, s Settings, fresh bool) Diagnosis {
	fail := func(err error) Diagnosis {
		d := classify(err, s)
		// The socket deadline follows ctx's, so the read may fail a moment
		// before ctx reports its end.
		if dl, ok := ctx.Deadline(); ok && d.Code == CodeTimeout && time.Until(dl) < 50*time.Millisecond {
			d.Message = fmt.Sprintf("redis: %s did not answer before the connection test's deadline", describe(s))
		}
		return scrubbed(d, s.Password)
	}
	if fresh {
		if err := c.Ping(ctx).Err(); err != nil {
			return fail(err)
		}
	}
	start := time.Now()
	if err := c.Ping(ctx).Err(); err != nil {
		return fail(err)
	}
	latency := time.Since(start)
	d := Diagnosis{OK: true, Code: CodeOK, LatencyMS: float64(latency.Microseconds()) / 1000}
	info, err := c.Info(ctx, "server").Result()
	switch {
	case err == nil:
		d.ServerVersion, d.Mode = infoField(info, "redis_version"), infoField(info, "redis_mode")
	case redis.IsPermissionError(err):
		// An ACL user without INFO can still use Redis; the version stays
		// unknown.
	default:
		return fail(err)
	}
	switch {
	case s.Mode == ModeStandalone && d.Mode == "cluster":
		return scrubbed(Diagnosis{Code: CodeWrongMode, ServerVersion: d.ServerVersion, Mode: d.Mode, LatencyMS: d.LatencyMS,
			Message: fmt.Sprintf("%s is a Redis Cluster node; in standalone mode, keys held by other nodes would fail with MOVED", s.Addresses[0]),
			Hint:    "choose mode cluster in Settings → Redis and list the cluster nodes"}, s.Password)
	case s.Mode == ModeStandalone && d.Mode == "sentinel":
		return scrubbed(Diagnosis{Code: CodeWrongMode, ServerVersion: d.ServerVersion, Mode: d.Mode, LatencyMS: d.LatencyMS,
			Message: fmt.Sprintf("%s is a Redis Sentinel, which holds no data", s.Addresses[0]),
			Hint:    "choose mode sentinel in Settings → Redis and set the master name the Sentinels monitor"}, s.Password)
	}
	version := d.ServerVersion
	if version == "" {
		version = "(version hidden by ACL)"
	}
	d.Message = fmt.Sprintf("connected to Redis %s, %s; PING took %.3f ms", version, describe(s), d.LatencyMS)
	return scrubbed(d, s.Password)
}

// describe names what the settings point at.
func describe(s Settings) string {
	switch s.Mode {
	case ModeSentinel:
		return fmt.Sprintf("master %q via Sentinel %s, db %d", s.MasterName, strings.Join(s.Addresses, ", "), s.DB)
	case ModeCluster:
		return "cluster seeds " + strings.Join(s.Addresses, ", ")
	}
	return fmt.Sprintf("%s db %d", strings.Join(s.Addresses, ", "), s.DB)
}

func infoField(info, key string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+":"); ok {
			return v
		}
	}
	return ""
}

const (
	hintReachable = "is Redis running and reachable from this container? check the address in Settings → Redis"
	hintTimeout   = "a firewall may drop the packets, the address may be wrong, or the server is overloaded; check the address in Settings → Redis or raise the timeouts"
	hintPlainPort = "this port seems to serve Redis without TLS: turn TLS off in Settings → Redis, or use the server's tls-port"
)

// classify turns a client error into a diagnosis.
func classify(err error, s Settings) Diagnosis {
	var (
		hs    *handshakeError
		dnsE  *net.DNSError
		opErr *net.OpError
	)
	who := user(s)
	switch {
	case errors.As(err, &hs):
		return tlsDiagnosis(hs)

	case errors.As(err, &dnsE) && !dnsE.IsTimeout:
		where := addressWithHost(s, dnsE.Name)
		msg := fmt.Sprintf("the host name %q of %s is not found in DNS", dnsE.Name, where)
		if !dnsE.IsNotFound {
			msg = fmt.Sprintf("looking up the host name %q of %s failed: %v", dnsE.Name, where, dnsE.Err)
		}
		return Diagnosis{Code: CodeDNSNotFound, Message: msg,
			Hint: "check the host name in Settings → Redis; inside Docker or Kubernetes use the service name (such as redis:6379), and 'localhost' means this container itself"}

	case errors.Is(err, syscall.ECONNREFUSED):
		return Diagnosis{Code: CodeConnectionRefused,
			Message: fmt.Sprintf("redis: %s: connection refused; nothing accepts connections on that port", remote(err, s)),
			Hint:    hintReachable}

	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return Diagnosis{Code: CodeConnectionRefused,
			Message: fmt.Sprintf("redis: %s is unreachable: %v", remote(err, s), rootCause(err)),
			Hint:    "no route to that host: " + hintReachable}

	case isTimeout(err):
		dialT, readT, _ := s.timeouts()
		// go-redis returns a dial error as *net.OpError and a read or write
		// deadline unwrapped.
		what := fmt.Sprintf("accepted the connection but did not answer within the read timeout (%s)", readT)
		switch {
		case errors.As(err, &opErr) && opErr.Op == "dial":
			what = fmt.Sprintf("could not be connected to within the dial timeout (%s)", dialT)
		case errors.Is(err, redis.ErrPoolTimeout):
			what = "had no free connection in the pool in time; raise the pool size"
		case errors.Is(err, context.DeadlineExceeded):
			what = "did not answer in time"
		}
		return Diagnosis{Code: CodeTimeout, Message: fmt.Sprintf("redis: %s %s", remote(err, s), what), Hint: hintTimeout}

	case redis.IsAuthError(err) && strings.HasPrefix(redisError(err), "NOAUTH") && s.Password == "":
		return Diagnosis{Code: CodeAuthFailed,
			Message: fmt.Sprintf("%s requires a password, and none is set (%s)", describe(s), redisError(err)),
			Hint:    "set the password (and the ACL user name, if any) in Settings → Redis"}

	case redis.IsAuthError(err):
		return Diagnosis{Code: CodeAuthFailed,
			Message: fmt.Sprintf("%s refused the credentials of %s (%s)", describe(s), who, redisError(err)),
			Hint:    "check the user name and password in Settings → Redis against the server's requirepass or ACL user"}

	case redis.IsPermissionError(err):
		return Diagnosis{Code: CodeAuthFailed,
			Message: fmt.Sprintf("%s: %s may not run the commands gatehouse needs (%s)", describe(s), who, redisError(err)),
			Hint:    "grant the ACL user the commands gatehouse uses (for example +@all ~* &*), or use another user"}

	case redis.HasErrorPrefix(err, "DB index is out of range"):
		return Diagnosis{Code: CodeDBOutOfRange,
			Message: fmt.Sprintf("%s has no database %d (%s)", strings.Join(s.Addresses, ", "), s.DB, redisError(err)),
			Hint:    "choose a db below the server's 'databases' setting (16 by default, so 0 to 15) in Settings → Redis"}

	case redis.HasErrorPrefix(err, "This instance has cluster support disabled"):
		return Diagnosis{Code: CodeNotACluster,
			Message: fmt.Sprintf("%s is not part of a Redis Cluster (%s)", remoteOr(err, strings.Join(s.Addresses, ", ")), redisError(err)),
			Hint:    "choose mode standalone in Settings → Redis, or list the nodes of your cluster"}

	case s.Mode == ModeSentinel && errors.Is(err, redis.Nil):
		return Diagnosis{Code: CodeSentinelMasterUnknown,
			Message: fmt.Sprintf("the Sentinels at %s know no master named %q", strings.Join(s.Addresses, ", "), s.MasterName),
			Hint:    "set the master name to the name in the Sentinels' 'sentinel monitor <name> …' line (SENTINEL MASTERS lists them)"}

	case s.Mode == ModeSentinel && strings.Contains(redisError(err), "unknown command"):
		return Diagnosis{Code: CodeWrongMode,
			Message: fmt.Sprintf("%s is not a Redis Sentinel (%s)", strings.Join(s.Addresses, ", "), redisError(err)),
			Hint:    "give the Sentinels' addresses (usually port 26379), or choose mode standalone for a single server"}

	case redis.IsClusterDownError(err):
		return Diagnosis{Code: CodeUnknown,
			Message: fmt.Sprintf("the cluster at %s is down (%s)", strings.Join(s.Addresses, ", "), redisError(err)),
			Hint:    "check CLUSTER INFO on the nodes: every hash slot must be served"}

	case strings.Contains(err.Error(), "can't parse") || strings.Contains(err.Error(), "invalid reply"):
		return Diagnosis{Code: CodeUnknown,
			Message: fmt.Sprintf("%s answered, but not in the Redis protocol (%v)", strings.Join(s.Addresses, ", "), err),
			Hint:    "this is another kind of server: check the port in Settings → Redis (Redis listens on 6379 by default)"}

	case errors.Is(err, context.Canceled):
		return Diagnosis{Code: CodeUnknown, Message: fmt.Sprintf("the connection test of %s was cancelled", describe(s)),
			Hint: "run the test again"}

	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		hint := "if the server accepts only TLS, enable TLS in Settings → Redis; otherwise check the server's log (maxclients, protected mode)"
		if s.TLS.Enabled {
			hint = "check the server's log (maxclients, protected mode, TLS client certificates)"
		}
		return Diagnosis{Code: CodeUnknown,
			Message: fmt.Sprintf("redis: %s closed the connection without answering (%v)", remote(err, s), rootCause(err)),
			Hint:    hint}
	}
	return Diagnosis{Code: CodeUnknown, Message: fmt.Sprintf("redis: %s: %v", describe(s), err),
		Hint: "check the settings in Settings → Redis and the server's log"}
}

func tlsDiagnosis(hs *handshakeError) Diagnosis {
	var (
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		record    tls.RecordHeaderError
		alert     tls.AlertError
	)
	d := Diagnosis{Code: CodeTLSHandshakeFailed}
	switch {
	case errors.As(hs.err, &unknownCA):
		d.Message = fmt.Sprintf("the certificate of %s is signed by an authority this host does not trust", hs.addr)
		d.Hint = "paste the CA certificate into TLS → CA certificate in Settings → Redis"
	case errors.As(hs.err, &hostErr):
		d.Message = fmt.Sprintf("the certificate of %s is not valid for the name %q: %v", hs.addr, hostErr.Host, hostErr)
		d.Hint = "set TLS → server name in Settings → Redis to a name the certificate holds"
	case errors.As(hs.err, &invalid):
		d.Message = fmt.Sprintf("the certificate of %s is not valid: %v", hs.addr, invalid)
		d.Hint = "renew the server certificate, or check this host's clock"
	case errors.As(hs.err, &record):
		d.Message = fmt.Sprintf("%s answered, but not with TLS", hs.addr)
		d.Hint = hintPlainPort
	case isTimeout(hs.err):
		d.Message = fmt.Sprintf("%s accepted the TCP connection but did not complete a TLS handshake in time", hs.addr)
		d.Hint = hintPlainPort
	case errors.As(hs.err, &alert):
		d.Message = fmt.Sprintf("%s refused the TLS handshake: %v", hs.addr, alert)
		d.Hint = "the server may require a TLS version or a client certificate gatehouse does not offer (set tls-auth-clients no or optional on the server)"
	default:
		d.Message = fmt.Sprintf("the TLS handshake with %s failed: %v", hs.addr, hs.err)
		d.Hint = hintPlainPort
	}
	return d
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, redis.ErrPoolTimeout) || (errors.As(err, &ne) && ne.Timeout())
}

// remote is the address a network error happened with, else the target of s.
func remote(err error, s Settings) string {
	return remoteOr(err, strings.Join(s.Addresses, ", "))
}

func remoteOr(err error, fallback string) string {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Addr != nil {
		return opErr.Addr.String()
	}
	return fallback
}

func addressWithHost(s Settings, host string) string {
	for _, a := range s.Addresses {
		if h, _, err := net.SplitHostPort(a); err == nil && h == host {
			return a
		}
	}
	return strings.Join(s.Addresses, ", ")
}

func user(s Settings) string {
	if s.Username == "" {
		return "the default user"
	}
	return fmt.Sprintf("user %q", s.Username)
}

// redisError is the text of the Redis error reply in err's chain.
func redisError(err error) string {
	var re redis.Error
	if errors.As(err, &re) {
		return re.Error()
	}
	return err.Error()
}

func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// scrubbed removes the password from d's texts in case a server or library
// echoed it.
func scrubbed(d Diagnosis, password string) Diagnosis {
	if password != "" {
		d.Message = strings.ReplaceAll(d.Message, password, "***")
		d.Hint = strings.ReplaceAll(d.Hint, password, "***")
	}
	return d
}
