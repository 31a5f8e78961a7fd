package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/promreg"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// KeyPrefix starts every key the plugin writes in Redis.
const KeyPrefix = "gatehouse:rate-limit:"

// The response headers of a counted request.
const (
	HeaderLimit     = "X-RateLimit-Limit"
	HeaderRemaining = "X-RateLimit-Remaining"
	HeaderReset     = "X-RateLimit-Reset"
)

// maxKeyValue is the longest consumer or header value kept readable in a
// key; longer ones are replaced by their SHA-256.
const maxKeyValue = 128

// warnEvery spaces the warnings about Redis failing, which would otherwise
// come once per request.
const warnEvery = 10 * time.Second

// retryRedisAfter is how long requests skip Redis after it failed: they
// get the failOpen answer at once instead of each waiting redisTimeout.
// Then one request tries Redis again while the others keep skipping.
const retryRedisAfter = time.Second

// countScript counts one request in a fixed window: the window starts with
// the key's first request. It returns the count and the window's remaining
// milliseconds. A key left without expiry (by anything) gets one, so it
// can never block forever.
var countScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
`)

// errRedisNotConfigured is what a missing Redis client counts as.
var errRedisNotConfigured = errors.New("redis is not configured (set it in Settings → Redis or with GATEHOUSE_REDIS_ADDR)")

// instance is one configured cluster-rate-limit. It is safe for concurrent
// use.
type instance struct {
	host     pluginapi.Host
	log      *slog.Logger
	cfg      *config
	prefix   string // KeyPrefix + ruleName + ":" + limitBy
	windowMS int64
	limit    string
	header   string // canonical headerName
	decided  *prometheus.CounterVec

	lastWarn   atomic.Int64 // unix nanoseconds of the last warning
	suppressed atomic.Int64 // warnings skipped since

	downUntil atomic.Int64          // unix nanoseconds until which Redis is skipped; 0 when healthy
	lastErr   atomic.Pointer[error] // why Redis was last skipped
}

func newInstance(c *config, host pluginapi.Host) *instance {
	return &instance{
		host:     host,
		log:      host.Logger().With("rule", c.RuleName),
		cfg:      c,
		prefix:   KeyPrefix + c.RuleName + ":" + c.LimitBy,
		windowMS: c.window.Milliseconds(),
		limit:    strconv.FormatInt(c.Requests, 10),
		header:   http.CanonicalHeaderKey(c.HeaderName),
		decided:  decisions(host.Metrics()),
	}
}

// decisions returns the process's decision counter, registering it on
// first use. Instances of every configuration version share it.
func decisions(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_rate_limit_decisions_total",
		Help: "Requests seen by cluster-rate-limit, by rule and decision (allowed, limited, failed_open, failed_closed).",
	}, []string{"rule", "decision"})
	return promreg.Register(reg, c)
}

// Handler implements pluginapi.Instance.
func (in *instance) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		count, ttl, err := in.count(r)
		if err != nil {
			in.unavailable(w, r, next, err)
			return
		}
		remaining := max(in.cfg.Requests-count, 0)
		reset := strconv.FormatInt(max((ttl+999)/1000, 1), 10)
		h := w.Header()
		h.Set(HeaderLimit, in.limit)
		h.Set(HeaderRemaining, strconv.FormatInt(remaining, 10))
		h.Set(HeaderReset, reset)
		if count > in.cfg.Requests {
			in.decided.WithLabelValues(in.cfg.RuleName, "limited").Inc()
			h.Set("Retry-After", reset)
			pluginapi.WriteError(w, http.StatusTooManyRequests, "rate_limited",
				fmt.Sprintf("rate limit exceeded: %d requests per %s; retry after %s s", in.cfg.Requests, in.cfg.Window, reset))
			return
		}
		in.decided.WithLabelValues(in.cfg.RuleName, "allowed").Inc()
		next.ServeHTTP(w, r)
	})
}

// count counts r in Redis and returns the window's count so far and its
// remaining milliseconds.
func (in *instance) count(r *http.Request) (count, ttlMS int64, err error) {
	rdb := in.host.Redis()
	if rdb == nil {
		return 0, 0, errRedisNotConfigured
	}
	if until := in.downUntil.Load(); until != 0 {
		now := time.Now().UnixNano()
		// Past the pause, the request that wins the swap tries Redis; the
		// others keep skipping it.
		if now < until || !in.downUntil.CompareAndSwap(until, now+int64(retryRedisAfter)) {
			if e := in.lastErr.Load(); e != nil {
				return 0, 0, *e
			}
			return 0, 0, errors.New("redis failed recently")
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), in.cfg.redisTimeout)
	defer cancel()
	res, err := countScript.Run(ctx, rdb, []string{in.key(r)}, in.windowMS).Int64Slice()
	if err == nil && len(res) != 2 {
		err = fmt.Errorf("the counting script answered %v, not [count, ttl]", res)
	}
	if err != nil {
		if r.Context().Err() != nil {
			return 0, 0, err // the client left: say nothing about Redis
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("redis did not answer within %s (redisTimeout): %w", in.cfg.redisTimeout, err)
		} else {
			err = fmt.Errorf("redis: %w", err)
		}
		in.lastErr.Store(&err)
		in.downUntil.Store(time.Now().Add(retryRedisAfter).UnixNano())
		return 0, 0, err
	}
	in.downUntil.Store(0)
	return res[0], res[1], nil
}

// key is the Redis key r is counted under.
func (in *instance) key(r *http.Request) string {
	switch in.cfg.LimitBy {
	case limitByConsumer:
		if c, ok := pluginapi.ConsumerFromContext(r.Context()); ok {
			return in.prefix + ":" + keyValue(c)
		}
	case limitByHeader:
		if v := r.Header.Get(in.header); v != "" {
			return in.prefix + ":" + keyValue(v)
		}
	case limitByClientAddress:
		return in.prefix + ":" + clientAddress(r)
	default:
		// An instance attached globally or per domain counts each route
		// on its own.
		if route, ok := pluginapi.RouteFromContext(r.Context()); ok {
			return in.prefix + ":" + keyValue(route)
		}
		return in.prefix
	}
	// No consumer or no header: count by client address, so that leaving
	// the header out does not escape the limit.
	return in.prefix + ":" + limitByClientAddress + ":" + clientAddress(r)
}

// keyValue keeps short values readable in keys and bounds long ones.
func keyValue(v string) string {
	if len(v) <= maxKeyValue {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func clientAddress(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// unavailable handles a request that could not be counted: through when
// failOpen, else 503.
func (in *instance) unavailable(w http.ResponseWriter, r *http.Request, next http.Handler, err error) {
	if r.Context().Err() != nil {
		// The client left while Redis was asked: nothing to answer.
		return
	}
	if in.cfg.FailOpen {
		in.decided.WithLabelValues(in.cfg.RuleName, "failed_open").Inc()
		in.warn("rate limit not enforced: requests pass unlimited until Redis answers (failOpen is true)", err)
		next.ServeHTTP(w, r)
		return
	}
	in.decided.WithLabelValues(in.cfg.RuleName, "failed_closed").Inc()
	in.warn("requests refused with 503: the rate limit cannot be checked without Redis (failOpen is false)", err)
	pluginapi.WriteError(w, http.StatusServiceUnavailable, "rate_limit_unavailable",
		"the rate limit of this API cannot be checked because its Redis store is unavailable; retry later")
}

// warn logs msg at most once per warnEvery, with how many were skipped.
func (in *instance) warn(msg string, err error) {
	now := time.Now().UnixNano()
	last := in.lastWarn.Load()
	if now-last < int64(warnEvery) || !in.lastWarn.CompareAndSwap(last, now) {
		in.suppressed.Add(1)
		return
	}
	in.log.Warn(msg, "error", err.Error(), "suppressed", in.suppressed.Swap(0))
}

// Close implements pluginapi.Instance. The Redis client is the host's;
// counters stay in Redis for the instances of the next configuration.
func (in *instance) Close() error { return nil }

var (
	_ pluginapi.Plugin   = rateLimitPlugin{}
	_ pluginapi.Instance = (*instance)(nil)
)
