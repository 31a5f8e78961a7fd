// Package redisgate guards a plugin's calls to the host's Redis: after a
// failure, calls skip Redis for a while instead of each waiting for its
// timeout, and an outage is logged once, not once per request.
package redisgate

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// RetryAfter is how long calls skip a failing Redis before one tries it
// again.
const RetryAfter = time.Second

// ErrNotConfigured is the error while the gateway has no Redis.
var ErrNotConfigured = errors.New("redis is not configured (set it in Settings → Redis or with GATEHOUSE_REDIS_ADDR)")

// Messages are what a Gate logs, in the plugin's words.
type Messages struct {
	// Failed is logged at WARN, with the error, when an outage starts.
	Failed string
	// Recovered is logged at INFO when Redis answers again.
	Recovered string
}

// Gate is the state of one instance's Redis. It is safe for concurrent
// use.
type Gate struct {
	host pluginapi.Host
	log  *slog.Logger
	msgs Messages
	up   prometheus.Gauge

	down      atomic.Bool  // Redis failed and has not answered since (one log line per outage)
	downUntil atomic.Int64 // unix nanoseconds until which Redis is skipped
}

// New returns a gate for host's Redis that logs on log. up, if not nil,
// is set to 0 at each failure and to 1 at each answer.
func New(host pluginapi.Host, log *slog.Logger, msgs Messages, up prometheus.Gauge) *Gate {
	return &Gate{host: host, log: log, msgs: msgs, up: up}
}

// Client returns the host's client, or an error while Redis is skipped or
// not configured. When it succeeds, the caller reports the call's outcome
// with Failed or Recovered.
func (g *Gate) Client() (redis.UniversalClient, error) {
	rdb := g.host.Redis()
	if rdb == nil {
		g.Failed(context.Background(), ErrNotConfigured)
		return nil, ErrNotConfigured
	}
	if until := g.downUntil.Load(); until != 0 {
		now := time.Now().UnixNano()
		if now < until || !g.downUntil.CompareAndSwap(until, now+int64(RetryAfter)) {
			return nil, errors.New("redis failed recently")
		}
	}
	return rdb, nil
}

// Failed notes a Redis failure, logged once per outage. A call whose
// client left (ctx cancelled) says nothing about Redis and is ignored.
func (g *Gate) Failed(ctx context.Context, err error) {
	if ctx.Err() != nil && !errors.Is(err, context.DeadlineExceeded) {
		return
	}
	if g.up != nil {
		g.up.Set(0)
	}
	g.downUntil.Store(time.Now().Add(RetryAfter).UnixNano())
	if g.down.CompareAndSwap(false, true) {
		g.log.Warn(g.msgs.Failed, "error", err.Error())
	}
}

// Recovered notes that Redis answered.
func (g *Gate) Recovered() {
	if g.up != nil {
		g.up.Set(1)
	}
	g.downUntil.Store(0)
	if g.down.CompareAndSwap(true, false) {
		g.log.Info(g.msgs.Recovered)
	}
}
