package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tidwall/gjson"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/aiwire"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// SkipHeader is Higress's request header that bypasses the cache: with
// the value "on" the request is neither answered from nor stored in it.
const SkipHeader = "X-Higress-Skip-Ai-Cache"

// CacheHeader tells the client whether its answer came from the cache
// (hit) or from the provider (miss).
const CacheHeader = "X-Gatehouse-Ai-Cache"

// retryRedisAfter is how long lookups skip Redis after it failed; then
// one request tries again while the others keep skipping.
const retryRedisAfter = time.Second

// errRedisNotConfigured is what a missing Redis client counts as.
var errRedisNotConfigured = errors.New("redis is not configured (set it in Settings → Redis or with GATEHOUSE_REDIS_ADDR)")

// instance is one configured ai-cache. It is safe for concurrent use.
type instance struct {
	host pluginapi.Host
	log  *slog.Logger
	cfg  *config
	m    *metrics

	downUntil atomic.Int64 // unix nanoseconds until which Redis is skipped; 0 while it answers
	outageMu  sync.Mutex
	outage    bool // an outage was logged and not yet its end
}

func newInstance(c *config, host pluginapi.Host) *instance {
	return &instance{host: host, log: host.Logger(), cfg: c, m: sharedMetrics(host.Metrics())}
}

// Handler implements pluginapi.Instance.
func (in *instance) Handler(next http.Handler) http.Handler {
	if in.cfg.CacheKeyStrategy == strategyDisabled {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !isChat(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		route := routeLabel(r)
		if strings.EqualFold(r.Header.Get(SkipHeader), "on") {
			in.m.bypassed.WithLabelValues(route, "skip_header").Inc()
			next.ServeHTTP(w, r)
			return
		}
		body, err := readBody(r)
		if err != nil {
			if r.Context().Err() != nil {
				return
			}
			aiwire.WriteError(w, r, http.StatusRequestEntityTooLarge, "request_too_large", err.Error(), 0)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		model := gjson.GetBytes(body, "model").Str
		question := in.cfg.questionOf(body)
		if model == "" || question == "" {
			next.ServeHTTP(w, r)
			return
		}
		consumer, _ := pluginapi.ConsumerFromContext(r.Context())
		keyConsumer := ""
		if in.cfg.byConsumer {
			keyConsumer = consumer
		}
		key := cacheKey(in.cfg.Cache.CacheKeyPrefix, model, keyConsumer, question)
		stream := gjson.GetBytes(body, "stream").Bool()
		p := aiwire.ProtocolOf(r)

		a, err := in.lookup(r.Context(), key)
		switch {
		case err != nil:
			if r.Context().Err() != nil {
				return
			}
			in.m.bypassed.WithLabelValues(route, "redis_unavailable").Inc()
			next.ServeHTTP(w, r)
			return
		case a != nil:
			includeUsage := gjson.GetBytes(body, "stream_options.include_usage").Bool()
			serve := func(w http.ResponseWriter) {
				in.m.hits.WithLabelValues(route, modelLabels.Of(model), consumer).Inc()
				// The plugins before (budgets, token limits) learn that the
				// answer came from here: it costs nothing, unless
				// hitsCountUsage counts the stored answer's tokens.
				u := pluginapi.AIUsage{Provider: "ai-cache", RequestedModel: model, Model: a.Model, FromCache: true}
				if in.cfg.HitsCountUsage {
					u.InputTokens, u.OutputTokens = a.InputTokens, a.OutputTokens
				}
				pluginapi.RecordAIUsage(r.Context(), u)
				in.serveHit(w, a, p, model, stream, includeUsage)
			}
			// Served where the provider would be called (ai-proxy, once it
			// has chosen the route and admitted the caller; else the
			// route's service): a refusal on the way is the answer.
			ctx, _ := pluginapi.WithCachedAnswer(r.Context(), serve)
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		w.Header().Set(CacheHeader, "miss")
		cw := &captureWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(cw, r)
		label := modelLabels.Known(model)
		if cw.status < 400 {
			label = modelLabels.Of(model)
		}
		in.m.misses.WithLabelValues(route, label, consumer).Inc()
		in.store(r, cw, p, key, model, stream)
	})
}

// isChat reports whether path is a chat endpoint ai-cache answers.
func isChat(path string) bool {
	path = strings.TrimSuffix(path, "/")
	return strings.HasSuffix(path, "/v1/chat/completions") || strings.HasSuffix(path, "/v1/messages")
}

// routeLabel is the ai_route label: the AI route's name for a compiled AI
// route, else the gateway route's.
func routeLabel(r *http.Request) string {
	name, _ := pluginapi.RouteFromContext(r.Context())
	return strings.TrimPrefix(name, "ai-route/")
}

// readBody reads the request body, up to the size ai-proxy accepts.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, defaultMaxRequestBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > defaultMaxRequestBytes {
		return nil, fmt.Errorf("the request body is larger than %d bytes", defaultMaxRequestBytes)
	}
	return body, nil
}

// lookup returns the stored answer for key, nil on a miss, or an error
// when Redis cannot be asked (the cache is then bypassed).
func (in *instance) lookup(ctx context.Context, key string) (*answer, error) {
	rdb, err := in.redis()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, in.cfg.timeout)
	defer cancel()
	raw, err := rdb.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		in.recovered()
		return nil, nil
	}
	if err != nil {
		return nil, in.failed(ctx, err)
	}
	in.recovered()
	a, ok := decodeAnswer(raw)
	if !ok {
		return nil, nil // a value of another format is a miss; the answer replaces it
	}
	return a, nil
}

// redis returns the host's client unless Redis failed within the last
// retryRedisAfter (then the request skips the cache at once instead of
// waiting for a timeout).
func (in *instance) redis() (redis.UniversalClient, error) {
	rdb := in.host.Redis()
	if rdb == nil {
		in.markDown(errRedisNotConfigured)
		return nil, errRedisNotConfigured
	}
	if until := in.downUntil.Load(); until != 0 {
		now := time.Now().UnixNano()
		if now < until || !in.downUntil.CompareAndSwap(until, now+int64(retryRedisAfter)) {
			return nil, errors.New("redis failed recently")
		}
	}
	return rdb, nil
}

// failed records a Redis failure and returns it described.
func (in *instance) failed(ctx context.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		err = fmt.Errorf("redis did not answer within %s (cache.timeout): %w", in.cfg.timeout, err)
	} else {
		err = fmt.Errorf("redis: %w", err)
	}
	in.markDown(err)
	return err
}

// markDown starts skipping Redis and logs the outage once.
func (in *instance) markDown(err error) {
	in.downUntil.Store(time.Now().Add(retryRedisAfter).UnixNano())
	in.m.redisUp.Set(0)
	in.outageMu.Lock()
	defer in.outageMu.Unlock()
	if !in.outage {
		in.outage = true
		in.log.Warn("ai cache bypassed: requests go to the provider uncached until Redis answers", "error", err.Error())
	}
}

// recovered ends an outage.
func (in *instance) recovered() {
	if in.downUntil.Load() == 0 {
		return
	}
	in.downUntil.Store(0)
	in.m.redisUp.Set(1)
	in.outageMu.Lock()
	defer in.outageMu.Unlock()
	if in.outage {
		in.outage = false
		in.log.Info("ai cache back: Redis answers again")
	}
}

// serveHit answers from the cache.
func (in *instance) serveHit(w http.ResponseWriter, a *answer, p aiwire.Protocol, model string, stream, includeUsage bool) {
	body := newReplay(a, model).render(p, stream, includeUsage)
	h := w.Header()
	if stream {
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
	} else {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set(CacheHeader, "hit")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// store keeps a whole, successful answer. Errors, cut streams, answers
// the client did not wait for and answers too large are not stored.
func (in *instance) store(r *http.Request, cw *captureWriter, p aiwire.Protocol, key, model string, stream bool) {
	if r.Context().Err() != nil || cw.status != http.StatusOK || cw.over || cw.Header().Get("Content-Encoding") != "" {
		return
	}
	var a *answer
	var err error
	if ct := cw.Header().Get("Content-Type"); stream && strings.HasPrefix(ct, "text/event-stream") {
		a, err = in.cfg.answerFromStream(p, cw.buf, model)
	} else if !stream && strings.HasPrefix(ct, "application/json") {
		a, err = in.cfg.answerFromJSON(p, cw.buf, model)
	} else {
		return
	}
	if err != nil {
		return
	}
	val, err := json.Marshal(a)
	if err != nil {
		return
	}
	rdb, err := in.redis()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), in.cfg.timeout)
	defer cancel()
	if err := rdb.Set(ctx, key, val, in.cfg.ttl).Err(); err != nil {
		_ = in.failed(ctx, err)
	}
}

// Close implements pluginapi.Instance. The Redis client is the host's and
// the answers stay in Redis for the next configuration.
func (in *instance) Close() error { return nil }

// captureWriter passes an answer to the client and keeps a copy of it,
// up to maxCachedAnswerBytes.
type captureWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	buf         []byte
	over        bool
}

func (w *captureWriter) WriteHeader(status int) {
	if !w.wroteHeader {
		w.wroteHeader = true
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *captureWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.over && w.status == http.StatusOK {
		if len(w.buf)+len(b) > maxCachedAnswerBytes {
			w.over, w.buf = true, nil
		} else {
			w.buf = append(w.buf, b...)
		}
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes flushes on, so that streams stay live.
func (w *captureWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *captureWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var _ pluginapi.Instance = (*instance)(nil)
