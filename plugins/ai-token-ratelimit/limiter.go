package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/aiwire"
	"github.com/gatehouse-dev/gatehouse/plugins/internal/redisgate"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// KeyPrefix starts every key the plugin writes in Redis.
const KeyPrefix = "gatehouse:ai-token-ratelimit:"

// maxKeyValue is the longest request value kept readable in a key; longer
// ones are replaced by their SHA-256.
const maxKeyValue = 128

// redisTimeout bounds one Redis call.
const redisTimeout = time.Second

// reserveScript reserves ARGV[1] tokens in the current fixed window of
// KEYS[1] (windows of ARGV[3] ms aligned on Redis's clock, so that every
// instance agrees) if they fit under the limit ARGV[2]. A window that is
// still empty takes any reservation, so that a request larger than the
// limit is not refused forever. It returns {reserved (1|0), count after,
// ms left in the window, window index}.
var reserveScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local w = tonumber(ARGV[3])
local idx = math.floor(now / w)
local left = (idx + 1) * w - now
local key = KEYS[1] .. ':' .. idx
local est = tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', key) or '0')
if cur > 0 and cur + est > tonumber(ARGV[2]) then
  return {0, cur, left, idx}
end
local n = redis.call('INCRBY', key, est)
if n == est then
  redis.call('PEXPIRE', key, left + 1000)
end
return {1, n, left, idx}
`)

// settleScript adds ARGV[1] (real usage minus the reservation, often
// negative) to the window the reservation was made in, if it still exists.
var settleScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('INCRBY', KEYS[1], ARGV[1])
end
return 0
`)

// instance is one configured ai-token-ratelimit. It is safe for
// concurrent use.
type instance struct {
	host pluginapi.Host
	log  *slog.Logger
	cfg  *config

	redis *redisgate.Gate
}

func newInstance(c *config, host pluginapi.Host) *instance {
	in := &instance{host: host, log: host.Logger().With("rule", c.RuleName), cfg: c}
	what := "requests pass unlimited until it answers (failureMode open)"
	if c.FailureMode == failureClosed {
		what = "requests are refused with 503 until it answers (failureMode closed)"
	}
	in.redis = redisgate.New(host, in.log, redisgate.Messages{
		Failed:    "token rate limit: Redis failed; " + what,
		Recovered: "token rate limit: Redis answers again; limits are enforced",
	}, nil)
	return in
}

// reservation is what a request reserved: settled when its answer ended.
type reservation struct {
	key      string // the window's key
	estimate int64
}

// Handler implements pluginapi.Instance.
func (in *instance) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r) // /v1/models and the like cost no tokens
			return
		}
		lk, counter := in.match(r)
		if lk == nil {
			next.ServeHTTP(w, r)
			return
		}
		est := in.estimate(r)
		res, retry, err := in.reserve(r.Context(), counter, lk, est)
		if err != nil {
			if r.Context().Err() != nil {
				return // the client left
			}
			if in.cfg.FailureMode == failureClosed {
				aiwire.WriteError(w, r, http.StatusServiceUnavailable, "token_rate_limit_unavailable",
					"the token rate limit of this API cannot be checked because its Redis store is unavailable; retry later", time.Second)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if res == nil {
			aiwire.WriteError(w, r, in.cfg.RejectedCode, "", in.cfg.RejectedMsg, retry)
			return
		}
		ctx, rec := pluginapi.WithAIUsageRecorder(r.Context())
		sw := &aiwire.StatusWriter{ResponseWriter: w}
		defer func() {
			in.settle(r.Context(), res, rec, sw.Status)
		}()
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

// match returns the limit key the request falls under (the first that
// matches, item by item as Higress does) and the counter it is counted in,
// or nil when no rule applies.
func (in *instance) match(r *http.Request) (*limitKey, string) {
	for i := range in.cfg.RuleItems {
		it := &in.cfg.RuleItems[i]
		v, ok := requestValue(r, it)
		if !ok {
			continue
		}
		for j := range it.LimitKeys {
			k := &it.LimitKeys[j]
			if !k.matches(v) {
				continue
			}
			// A limit_by_* key is one counter for every request with
			// that value; limit_by_per_* counts each value apart.
			counter := KeyPrefix + in.cfg.RuleName + ":" + it.kind + ":" + it.name + ":" + strconv.Itoa(j) + ":" + strconv.FormatInt(k.window.Milliseconds(), 10)
			if it.per {
				counter += ":" + keyValue(v)
			}
			return k, counter
		}
	}
	return nil, ""
}

// requestValue is what the item limits by, false when the request has none.
func requestValue(r *http.Request, it *ruleItem) (string, bool) {
	var v string
	switch it.kind {
	case "header", "per_header":
		v = r.Header.Get(it.name)
	case "param", "per_param":
		v = r.URL.Query().Get(it.name)
	case "consumer", "per_consumer":
		v, _ = pluginapi.ConsumerFromContext(r.Context())
	case "cookie", "per_cookie":
		if c, err := r.Cookie(it.name); err == nil {
			v = c.Value
		}
	case "per_ip":
		v = clientAddress(r)
	}
	return v, v != ""
}

// clientAddress is the client's address as the gateway resolved it (with
// its trusted proxies) into X-Real-IP; a client's own X-Forwarded-For is
// never read. Without the gateway (tests) it is the connection's peer.
func clientAddress(r *http.Request) string {
	if v := r.Header.Get("X-Real-Ip"); v != "" {
		return v
	}
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// keyValue keeps short values readable in keys and bounds long ones.
func keyValue(v string) string {
	if len(v) <= maxKeyValue {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// estimate is the tokens reserved for r: its prompt, over-estimated as
// one token per 4 bytes of body, plus the output it may produce
// (max_tokens or max_completion_tokens, else defaultMaxTokens).
func (in *instance) estimate(r *http.Request) int64 {
	req := aiwire.ReadRequest(r)
	if req.MaxTokens == 0 {
		req.MaxTokens = in.cfg.defaultMax
	}
	return req.PromptTokens + req.MaxTokens
}

// reserve reserves est tokens in the counter of k. It returns nil and how
// long to wait when they do not fit, or an error when Redis fails.
func (in *instance) reserve(ctx context.Context, counter string, k *limitKey, est int64) (*reservation, time.Duration, error) {
	rdb, err := in.redis.Client()
	if err != nil {
		return nil, 0, err
	}
	cctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	v, err := reserveScript.Run(cctx, rdb, []string{counter}, est, k.limit, k.window.Milliseconds()).Int64Slice()
	if err == nil && len(v) != 4 {
		err = fmt.Errorf("the reserve script answered %v", v)
	}
	if err != nil {
		in.redis.Failed(ctx, err)
		return nil, 0, err
	}
	in.redis.Recovered()
	if v[0] == 0 {
		return nil, time.Duration(v[2]) * time.Millisecond, nil
	}
	return &reservation{key: counter + ":" + strconv.FormatInt(v[3], 10), estimate: est}, 0, nil
}

// settle corrects the reservation to the answer's real usage; a call that
// failed (an error status, or the client left before an answer) without
// usage gives its reservation back, and an answer whose usage is unknown
// keeps it.
func (in *instance) settle(ctx context.Context, res *reservation, rec *pluginapi.AIUsageRecorder, status int) {
	var delta int64
	if u, ok := rec.Usage(); ok {
		delta = u.InputTokens + u.OutputTokens - res.estimate
	} else if status >= 400 || (status == 0 && ctx.Err() != nil) {
		delta = -res.estimate
	}
	if delta == 0 {
		return
	}
	rdb, err := in.redis.Client()
	if err != nil {
		return
	}
	// The client may have left: the settlement still counts.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), redisTimeout)
	defer cancel()
	if err := settleScript.Run(cctx, rdb, []string{res.key}, delta).Err(); err != nil {
		in.redis.Failed(cctx, err)
		return
	}
	in.redis.Recovered()
}

// Close implements pluginapi.Instance. Counters stay in Redis for the
// instances of the next configuration.
func (in *instance) Close() error { return nil }

var _ pluginapi.Instance = (*instance)(nil)
