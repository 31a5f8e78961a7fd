package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/aiwire"
	"github.com/gatehouse-dev/gatehouse/plugins/internal/redisgate"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// redisTimeout bounds one Redis call.
const redisTimeout = time.Second

// maxWarnedModels bounds the models remembered for the "no price" warning.
const maxWarnedModels = 1000

// epochCheckEvery is how often an instance asks whether the usage
// counters are whole (failure mode closed).
const epochCheckEvery = time.Second

// errRestoring is why a reservation was not tried while the host restores
// the usage counters after a Redis loss.
var errRestoring = errors.New("the usage counters are being restored")

// instance enforces one configuration's consumers. It is safe for
// concurrent use.
type instance struct {
	host pluginapi.Host
	log  *slog.Logger
	cfg  *config
	m    *metrics
	now  func() time.Time

	redis *redisgate.Gate

	warnedMu sync.Mutex
	warned   map[string]bool // models without a price, warned about

	epochChecked atomic.Int64 // unix nanoseconds of the last epoch check
	epochMissing atomic.Bool  // the last check found no epoch
}

func newInstance(c *config, host pluginapi.Host) *instance {
	in := &instance{host: host, log: host.Logger(), cfg: c, m: sharedMetrics(host.Metrics()), now: time.Now, warned: map[string]bool{}}
	what := "requests are served and not counted until it answers (failureMode open)"
	if c.FailureMode == failureClosed {
		what = "requests of consumers with a quota or budget are refused with 503 until it answers (failureMode closed)"
	}
	in.redis = redisgate.New(host, in.log, redisgate.Messages{
		Failed:    "AI consumer usage: Redis failed; " + what,
		Recovered: "AI consumer usage: Redis answers again; quotas and budgets are enforced",
	}, in.m.redisUp)
	return in
}

// Handler implements pluginapi.Instance.
func (in *instance) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, _ := pluginapi.ConsumerFromContext(r.Context())
		cc, ok := in.cfg.Consumers[name]
		if !ok || r.Method != http.MethodPost {
			// Not a consumer object (an inline key-auth consumer, or no
			// auth), or a call that costs nothing (/v1/models).
			next.ServeHTTP(w, r)
			return
		}
		req := aiwire.ReadRequest(r)
		if !cc.allowsModel(req.Model) {
			in.m.refusals.WithLabelValues(name, "model").Inc()
			aiwire.WriteError(w, r, http.StatusForbidden, "model_not_allowed", modelRefusal(name, req.Model, cc.AllowedModels), 0)
			return
		}
		now := in.now()
		var q, b *limit
		if cc.Quota != nil {
			q = periodLimit(name, "quota", cc.Quota.Period, cc.Quota.Tokens, now)
		}
		if cc.Budget != nil {
			b = periodLimit(name, "budget", cc.Budget.Period, cc.Budget.micros, now)
		}
		// The estimate: reserved before the call, and what an answer
		// that reports no usage costs.
		out := req.MaxTokens
		if out == 0 {
			out = in.cfg.defaultMax
		}
		price, _ := in.cfg.priceOf(req.Model)
		tokens := req.PromptTokens + out
		micros := price.CostMicros(req.PromptTokens, 0, out)
		est := &answer{model: trim(req.Model), input: req.PromptTokens, output: out, micros: micros}
		var res *reservation
		if q != nil || b != nil {
			var ref *refusal
			var err error
			res, ref, err = in.reserve(r.Context(), name, q, b, tokens, micros)
			switch {
			case err != nil:
				if r.Context().Err() != nil {
					return // the client left
				}
				if in.cfg.FailureMode == failureClosed {
					in.m.refusals.WithLabelValues(name, "redis").Inc()
					why := "the gateway's Redis is unavailable; retry later"
					if errors.Is(err, errRestoring) {
						why = "the gateway's Redis lost its data and the usage counters are being restored from the database; retry in a few seconds"
					}
					aiwire.WriteError(w, r, http.StatusServiceUnavailable, "usage_unavailable",
						fmt.Sprintf("the quota and budget of consumer %q cannot be checked because %s", name, why), time.Second)
					return
				}
				in.m.uncounted.WithLabelValues(name).Inc()
				next.ServeHTTP(w, r)
				return
			case ref != nil:
				in.m.refusals.WithLabelValues(name, ref.limit.what).Inc()
				code := "quota_exceeded"
				if ref.limit.what == "budget" {
					code = "budget_exceeded"
				}
				writeExhausted(w, r, code, ref.message(name, tokens, micros), ref.limit.end.Sub(now))
				return
			}
		}
		ctx, rec := pluginapi.WithAIUsageRecorder(r.Context())
		sw := &aiwire.StatusWriter{ResponseWriter: w}
		defer func() { in.settle(r.Context(), name, res, rec, sw.Status, est) }()
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

// writeExhausted answers 429 for an exhausted quota or budget: OpenAI's
// insufficient_quota shape, or Anthropic's rate_limit_error.
func writeExhausted(w http.ResponseWriter, r *http.Request, code, msg string, retryAfter time.Duration) {
	if aiwire.ProtocolOf(r) == aiwire.Anthropic {
		aiwire.WriteError(w, r, http.StatusTooManyRequests, code, msg, retryAfter)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Retry-After", itoa(int64((retryAfter+time.Second-1)/time.Second)))
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write(openAIInsufficientQuota(code, msg))
}

// reserve reserves the estimate, or says why Redis could not be asked.
// While the host restores the counters after a Redis loss, failure mode
// closed refuses (the counters would look unspent); open counts on, and
// the restore adds the database's figures to what was counted.
func (in *instance) reserve(ctx context.Context, name string, q, b *limit, tokens, micros int64) (*reservation, *refusal, error) {
	rdb, err := in.redis.Client()
	if err != nil {
		return nil, nil, err
	}
	if in.cfg.FailureMode == failureClosed {
		whole, err := in.countersWhole(ctx, rdb)
		if err != nil {
			return nil, nil, err
		}
		if !whole {
			return nil, nil, errRestoring
		}
	}
	cctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	res, ref, err := reserve(cctx, rdb, name, q, b, tokens, micros)
	if err != nil {
		in.redis.Failed(ctx, err)
		return nil, nil, err
	}
	in.redis.Recovered()
	return res, ref, nil
}

// settle counts the answer's usage, priced, and releases the reservation.
// A failed call and an AI cache hit (unless its hitsCountUsage counts the
// stored usage) only release it. A successful answer whose usage nobody
// reported (a provider that does not report it, a pass-through endpoint
// such as images) costs the estimate: never nothing.
func (in *instance) settle(ctx context.Context, name string, res *reservation, rec *pluginapi.AIUsageRecorder, status int, est *answer) {
	var a *answer
	u, ok := rec.Usage()
	switch {
	case ok && u.FromCache && u.InputTokens+u.OutputTokens == 0:
	case !ok && status >= 200 && status < 300:
		a = est
		in.warnNoUsage(name, est.model)
	case ok:
		model := u.Model
		if model == "" {
			model = u.RequestedModel
		}
		price, known := in.cfg.priceOf(u.Model)
		if !known {
			price, known = in.cfg.priceOf(u.RequestedModel)
		}
		if !known {
			in.warnUnpriced(model)
		}
		a = &answer{model: trim(model), input: u.InputTokens, output: u.OutputTokens, cached: u.CachedInputTokens,
			micros: price.CostMicros(u.InputTokens, u.CachedInputTokens, u.OutputTokens)}
	}
	if res == nil && a == nil {
		return
	}
	rdb, err := in.redis.Client()
	if err != nil {
		if a != nil {
			in.m.uncounted.WithLabelValues(name).Inc()
		}
		return
	}
	// The client may have left: the settlement still counts.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), redisTimeout)
	defer cancel()
	if err := settle(cctx, rdb, name, res, a, in.now()); err != nil {
		in.redis.Failed(cctx, err)
		if a != nil {
			in.m.uncounted.WithLabelValues(name).Inc()
		}
		return
	}
	in.redis.Recovered()
}

// countersWhole reports whether Redis holds the usage epoch, i.e. the
// counters are whole (pluginapi.UsageEpochKey: the host sets it once it
// restored them). It asks Redis at most once every epochCheckEvery.
func (in *instance) countersWhole(ctx context.Context, rdb redis.UniversalClient) (bool, error) {
	now := time.Now().UnixNano()
	last := in.epochChecked.Load()
	if now-last < int64(epochCheckEvery) || !in.epochChecked.CompareAndSwap(last, now) {
		return !in.epochMissing.Load(), nil
	}
	cctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	n, err := rdb.Exists(cctx, pluginapi.UsageEpochKey).Result()
	if err != nil {
		in.epochChecked.Store(0) // ask again next time
		in.redis.Failed(ctx, err)
		return false, err
	}
	in.redis.Recovered()
	in.epochMissing.Store(n == 0)
	return n != 0, nil
}

// warnUnpriced logs once per model that it has no price.
func (in *instance) warnUnpriced(model string) {
	in.warnOnce("unpriced:"+model, fmt.Sprintf("AI consumer usage: model %q has no price; it is counted at the highest input and output prices of the table — add a model price", trim(model)),
		"ai_model", trim(model))
}

// warnNoUsage logs once per model that an answer reported no usage.
func (in *instance) warnNoUsage(consumer, model string) {
	in.warnOnce("no-usage:"+model, fmt.Sprintf("AI consumer usage: an answer of model %q reported no token usage; it is counted at the request's estimate (request bytes / 4 + max_tokens, or 1024 output tokens)", trim(model)),
		"ai_model", trim(model), "consumer", consumer)
}

// warnOnce logs msg the first time key is seen (up to maxWarnedModels keys).
func (in *instance) warnOnce(key, msg string, attrs ...any) {
	in.warnedMu.Lock()
	seen := in.warned[key]
	if !seen && len(in.warned) < maxWarnedModels {
		in.warned[key] = true
	}
	in.warnedMu.Unlock()
	if !seen {
		in.log.Warn(msg, attrs...)
	}
}

// Close implements pluginapi.Instance. The counters stay in Redis for the
// instances of the next configuration.
func (in *instance) Close() error { return nil }

// modelRefusal is the 403's message for a model the consumer may not use.
func modelRefusal(name, model string, allowed []string) string {
	if model == "" {
		return fmt.Sprintf("consumer %q must name a model in the request; it may use: %s", name, strings.Join(allowed, ", "))
	}
	return fmt.Sprintf("consumer %q may not use the model %q; it may use: %s", name, trim(model), strings.Join(allowed, ", "))
}

// message is the 429's message: which allowance, how it stands, when it
// resets, what to do. It never names another consumer.
func (f *refusal) message(name string, tokens, micros int64) string {
	l := f.limit
	period := "monthly"
	if l.period == pluginapi.PeriodDay {
		period = "daily"
	}
	resets := l.end.UTC().Format(time.RFC3339)
	if l.what == "budget" {
		usd := func(m int64) string { return fmt.Sprintf("$%.2f", pluginapi.MicrosToUSD(m)) }
		if f.settled+f.reserved >= l.limit+f.topUp {
			return fmt.Sprintf("consumer %q has spent its %s budget of %s (%s spent, %s topped up); it resets at %s — ask an administrator to top it up",
				name, period, usd(l.limit), usd(f.settled), usd(f.topUp), resets)
		}
		return fmt.Sprintf("consumer %q has too little of its %s budget of %s left for this request (%s spent, %s reserved by requests in flight, %s topped up; this request may cost up to %s); it resets at %s — ask for fewer tokens (max_tokens), or ask an administrator to top it up",
			name, period, usd(l.limit), usd(f.settled), usd(f.reserved), usd(f.topUp), usd(micros), resets)
	}
	if f.settled+f.reserved >= l.limit+f.topUp {
		return fmt.Sprintf("consumer %q has used its %s quota of %d tokens (%d used, %d topped up); it resets at %s — ask an administrator to top it up",
			name, period, l.limit, f.settled, f.topUp, resets)
	}
	return fmt.Sprintf("consumer %q has too little of its %s quota of %d tokens left for this request (%d used, %d reserved by requests in flight, %d topped up; this request may use up to %d); it resets at %s — ask for fewer tokens (max_tokens), or ask an administrator to top it up",
		name, period, l.limit, f.settled, f.reserved, f.topUp, tokens, resets)
}

// trim bounds a client-chosen value in messages and logs.
func trim(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

var _ pluginapi.Instance = (*instance)(nil)
