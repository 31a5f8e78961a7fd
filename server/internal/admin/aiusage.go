package admin

import (
	"context"
	"math"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gatehouse-dev/gatehouse/server/internal/series"
)

// aiState is the admin server's AI gateway state: the provider test's
// client (tests set it) and the usage aggregator.
type aiState struct {
	testTimeout time.Duration
	testClient  *http.Client
	usage       *aiUsage
}

// Metric names the ai-proxy plugin registers (AI contract §4, Higress's
// names for tokens and durations).
const (
	metricAIInputTokens  = "route_upstream_model_consumer_metric_input_token"
	metricAIOutputTokens = "route_upstream_model_consumer_metric_output_token"
	metricAIFirstToken   = "route_upstream_model_consumer_metric_llm_first_token_duration"
	metricAIRequests     = "gatehouse_ai_requests_total"
	metricAIFallbacks    = "gatehouse_ai_fallbacks_total"
	// The ai-cache plugin's counters (plugins/ai-cache/metrics.go).
	metricAICacheHits   = "route_model_consumer_metric_ai_cache_hit"
	metricAICacheMisses = "route_model_consumer_metric_ai_cache_miss"
)

// Usage windows of GET /api/v1/ai/usage.
var aiUsageWindows = map[string]time.Duration{"1h": time.Hour, "24h": 24 * time.Hour}

// aiUsageInterval is how often the aggregator samples the registry; a
// window's start is known to within one interval.
const aiUsageInterval = time.Minute

// aiUsage keeps samples of the AI metrics' cumulative values for the last
// day, so that usage over a window is the newest values minus those at
// the window's start. Counters start at zero with the process: without a
// sample that old, the window starts at zero.
type aiUsage struct {
	gatherer prometheus.Gatherer
	now      func() time.Time

	mu      sync.Mutex
	samples []aiSample // oldest first
}

type aiSample struct {
	at     time.Time
	totals aiTotals
}

type usageKey struct{ model, consumer string }

type usageCounts struct {
	input, output, requests, errors float64
}

// aiTotals are cumulative values read from the registry.
type aiTotals struct {
	by         map[usageKey]*usageCounts
	firstToken map[float64]float64 // upper bound (s) → cumulative count
	ftCount    float64
	fallbacks  float64
	cacheHits  float64
	cacheMiss  float64
}

func newAIUsage(g prometheus.Gatherer) *aiUsage {
	return &aiUsage{gatherer: g, now: time.Now}
}

// Run samples every aiUsageInterval until ctx ends.
func (u *aiUsage) Run(ctx context.Context) {
	t := time.NewTicker(aiUsageInterval)
	defer t.Stop()
	u.sample(u.now())
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			u.sample(u.now())
		}
	}
}

// sample records the registry's values at time at and forgets samples
// older than the longest window, keeping one as that window's baseline.
func (u *aiUsage) sample(at time.Time) {
	tot := u.read()
	u.mu.Lock()
	defer u.mu.Unlock()
	u.samples = append(u.samples, aiSample{at: at, totals: tot})
	cut := at.Add(-24*time.Hour - aiUsageInterval)
	i := 0
	for i < len(u.samples)-1 && u.samples[i+1].at.Before(cut) {
		i++
	}
	u.samples = u.samples[i:]
}

// baseline is the newest sample taken at or before start, else zero.
func (u *aiUsage) baseline(start time.Time) aiTotals {
	u.mu.Lock()
	defer u.mu.Unlock()
	var base aiTotals
	for _, s := range u.samples {
		if s.at.After(start) {
			break
		}
		base = s.totals
	}
	return base
}

func (u *aiUsage) read() aiTotals {
	t := aiTotals{by: map[usageKey]*usageCounts{}, firstToken: map[float64]float64{}}
	if u.gatherer == nil {
		return t
	}
	families, err := u.gatherer.Gather()
	if err != nil && families == nil {
		return t
	}
	at := func(m *dto.Metric) *usageCounts {
		k := usageKey{metricLabel(m, "ai_model"), metricLabel(m, "ai_consumer")}
		c := t.by[k]
		if c == nil {
			c = &usageCounts{}
			t.by[k] = c
		}
		return c
	}
	for _, f := range families {
		switch f.GetName() {
		case metricAIInputTokens:
			for _, m := range f.GetMetric() {
				at(m).input += m.GetCounter().GetValue()
			}
		case metricAIOutputTokens:
			for _, m := range f.GetMetric() {
				at(m).output += m.GetCounter().GetValue()
			}
		case metricAIRequests:
			for _, m := range f.GetMetric() {
				c := at(m)
				v := m.GetCounter().GetValue()
				c.requests += v
				if code, err := strconv.Atoi(metricLabel(m, "status")); err != nil || code >= 400 {
					c.errors += v
				}
			}
		case metricAIFirstToken:
			for _, m := range f.GetMetric() {
				h := m.GetHistogram()
				t.ftCount += float64(h.GetSampleCount())
				for _, b := range h.GetBucket() {
					t.firstToken[b.GetUpperBound()] += float64(b.GetCumulativeCount())
				}
			}
		case metricAIFallbacks:
			for _, m := range f.GetMetric() {
				t.fallbacks += m.GetCounter().GetValue()
			}
		case metricAICacheHits:
			for _, m := range f.GetMetric() {
				t.cacheHits += m.GetCounter().GetValue()
			}
		case metricAICacheMisses:
			for _, m := range f.GetMetric() {
				t.cacheMiss += m.GetCounter().GetValue()
			}
		}
	}
	return t
}

func metricLabel(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// aiModelUsage and aiConsumerUsage are the rows of the usage answer.
type aiModelUsage struct {
	Model        string  `json:"model"`
	InputTokens  float64 `json:"inputTokens"`
	OutputTokens float64 `json:"outputTokens"`
	Requests     float64 `json:"requests"`
	Errors       float64 `json:"errors"`
}

type aiConsumerUsage struct {
	Consumer     string  `json:"consumer"`
	InputTokens  float64 `json:"inputTokens"`
	OutputTokens float64 `json:"outputTokens"`
	Requests     float64 `json:"requests"`
}

type aiQuantiles struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
}

// aiCacheUsage is what the AI cache did over the window: hits were
// answered from Redis without a provider call, misses went to the
// provider. HitRate is hits / (hits + misses), 0 without lookups.
type aiCacheUsage struct {
	Hits    float64 `json:"hits"`
	Misses  float64 `json:"misses"`
	HitRate float64 `json:"hitRate"`
}

type aiUsageAnswer struct {
	Window       string            `json:"window"`
	ByModel      []aiModelUsage    `json:"byModel"`
	ByConsumer   []aiConsumerUsage `json:"byConsumer"`
	FirstTokenMs aiQuantiles       `json:"firstTokenMs"`
	Errors       float64           `json:"errors"`
	Fallbacks    float64           `json:"fallbacks"`
	Requests     float64           `json:"requests"`
	Cache        aiCacheUsage      `json:"cache"`
}

// report is the usage over the window ending now.
func (u *aiUsage) report(window string, d time.Duration) aiUsageAnswer {
	now := u.now()
	cur := u.read()
	base := u.baseline(now.Add(-d))
	out := aiUsageAnswer{Window: window, ByModel: []aiModelUsage{}, ByConsumer: []aiConsumerUsage{}}
	models := map[string]*aiModelUsage{}
	consumers := map[string]*aiConsumerUsage{}
	for k, c := range cur.by {
		var b usageCounts
		if base.by != nil && base.by[k] != nil {
			b = *base.by[k]
		}
		in, outT, req, errs := nonNeg(c.input-b.input), nonNeg(c.output-b.output), nonNeg(c.requests-b.requests), nonNeg(c.errors-b.errors)
		if in == 0 && outT == 0 && req == 0 {
			continue
		}
		m := models[k.model]
		if m == nil {
			m = &aiModelUsage{Model: k.model}
			models[k.model] = m
		}
		m.InputTokens += in
		m.OutputTokens += outT
		m.Requests += req
		m.Errors += errs
		cu := consumers[k.consumer]
		if cu == nil {
			cu = &aiConsumerUsage{Consumer: k.consumer}
			consumers[k.consumer] = cu
		}
		cu.InputTokens += in
		cu.OutputTokens += outT
		cu.Requests += req
		out.Requests += req
		out.Errors += errs
	}
	for _, m := range models {
		out.ByModel = append(out.ByModel, *m)
	}
	for _, c := range consumers {
		out.ByConsumer = append(out.ByConsumer, *c)
	}
	sort.Slice(out.ByModel, func(i, j int) bool {
		a, b := out.ByModel[i], out.ByModel[j]
		if ta, tb := a.InputTokens+a.OutputTokens, b.InputTokens+b.OutputTokens; ta != tb {
			return ta > tb
		}
		return a.Model < b.Model
	})
	sort.Slice(out.ByConsumer, func(i, j int) bool {
		a, b := out.ByConsumer[i], out.ByConsumer[j]
		if ta, tb := a.InputTokens+a.OutputTokens, b.InputTokens+b.OutputTokens; ta != tb {
			return ta > tb
		}
		return a.Consumer < b.Consumer
	})
	delta := map[float64]float64{}
	for le, c := range cur.firstToken {
		delta[le] = nonNeg(c - base.firstToken[le])
	}
	n := nonNeg(cur.ftCount - base.ftCount)
	out.FirstTokenMs = aiQuantiles{P50: round1(series.Quantile(delta, n, 0.50) * 1000), P99: round1(series.Quantile(delta, n, 0.99) * 1000)}
	out.Fallbacks = nonNeg(cur.fallbacks - base.fallbacks)
	out.Cache.Hits, out.Cache.Misses = nonNeg(cur.cacheHits-base.cacheHits), nonNeg(cur.cacheMiss-base.cacheMiss)
	if n := out.Cache.Hits + out.Cache.Misses; n > 0 {
		out.Cache.HitRate = math.Round(out.Cache.Hits/n*1000) / 1000
	}
	return out
}

// aiUsageReport answers GET /api/v1/ai/usage?window=1h|24h: tokens in and
// out and requests per model and per consumer, time to first token p50
// and p99, errors, fallbacks and AI cache hits and misses over the window.
func (s *Server) aiUsageReport(c *gin.Context) {
	window := c.DefaultQuery("window", "1h")
	d, ok := aiUsageWindows[window]
	if !ok {
		s.fail(c, newError(http.StatusBadRequest, "invalid_query", "window must be 1h or 24h", fieldDetail{Field: "window", Message: "1h or 24h"}))
		return
	}
	c.JSON(http.StatusOK, s.ai.usage.report(window, d))
}

// RunAIUsage samples the AI metrics for the usage view until ctx ends;
// the process runs it in the background like the dashboard's series.
func (s *Server) RunAIUsage(ctx context.Context) { s.ai.usage.Run(ctx) }

func nonNeg(v float64) float64 { return math.Max(v, 0) }

func round1(v float64) float64 { return math.Round(v*10) / 10 }
