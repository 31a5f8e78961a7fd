package session

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
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
// so that every instance shares one count, or in memory without Redis.
type Limiter struct {
	redis    RedisFunc
	limit    int
	window   time.Duration
	failOpen bool

	mu  sync.Mutex
	mem map[string]memWindow
}

type memWindow struct {
	start time.Time
	count int
}

// NewLimiter allows limit calls per window. With failOpen, calls proceed
// when Redis is configured but unreachable; otherwise they fail.
func NewLimiter(rf RedisFunc, limit int, window time.Duration, failOpen bool) *Limiter {
	return &Limiter{redis: rf, limit: limit, window: window, failOpen: failOpen, mem: make(map[string]memWindow)}
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
		l.mu.Lock()
		key := server + "\x00" + consumer
		w := l.mem[key]
		if !w.start.Equal(start) {
			w = memWindow{start: start}
			if len(l.mem) > 4096 {
				for k, old := range l.mem {
					if old.start.Before(start) {
						delete(l.mem, k)
					}
				}
			}
		}
		w.count++
		l.mem[key] = w
		l.mu.Unlock()
		d.Allowed = w.count <= l.limit
		return d, nil
	}
	key := KeyPrefix + "ratelimit:{" + server + "}:" + consumer + ":" + strconv.FormatInt(start.Unix(), 10)
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
