package session

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// Decision is the outcome of Limiter.Allow.
type Decision struct {
	// Allowed reports whether the call may proceed.
	Allowed bool
	// Limit is the number of calls allowed per window.
	Limit int
	// RetryAfter is the time until the window resets (when not allowed).
	RetryAfter time.Duration
}

// Limiter counts calls per server and consumer in fixed windows, in Redis
// so that every instance shares one count, or in a Memory without Redis.
type Limiter struct {
	redis    RedisFunc
	mem      pluginapi.SharedStore
	limit    int
	window   time.Duration
	failOpen bool
}

// NewLimiter allows limit calls per window, counted in Redis when rf
// returns a client and in mem otherwise. With failOpen, calls proceed when
// Redis is configured but unreachable; otherwise they fail.
func NewLimiter(rf RedisFunc, mem *Memory, limit int, window time.Duration, failOpen bool) *Limiter {
	return &Limiter{redis: rf, mem: mem.store, limit: limit, window: window, failOpen: failOpen}
}

// Allow counts one call of consumer on server. The error wraps
// ErrUnavailable when Redis cannot be reached and the limiter fails closed.
func (l *Limiter) Allow(ctx context.Context, server, consumer string) (Decision, error) {
	now := time.Now()
	start := now.Truncate(l.window)
	reset := start.Add(l.window).Sub(now)
	d := Decision{Limit: l.limit, RetryAfter: reset}
	rc := l.redis()
	if rc == nil {
		d.Allowed = l.mem.Incr(l.key(server, consumer, start), l.window+time.Second) <= int64(l.limit)
		return d, nil
	}
	key := l.key(server, consumer, start)
	var incr *redis.IntCmd
	_, err := rc.Pipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.Incr(ctx, key)
		p.PExpire(ctx, key, l.window+time.Second)
		return nil
	})
	if err != nil {
		if l.failOpen {
			d.Allowed = true
			return d, nil
		}
		return d, unavailable("count tool call", err)
	}
	d.Allowed = incr.Val() <= int64(l.limit)
	return d, nil
}

func (l *Limiter) key(server, consumer string, start time.Time) string {
	return KeyPrefix + "ratelimit:{" + server + "}:" + consumer + ":" + strconv.FormatInt(start.Unix(), 10)
}
