package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/promreg"
)

// Metric names: Higress's label names (ai_route, ai_model, ai_consumer)
// in its route_…_metric_ style. The admin API's AI usage answer reads the
// hit and miss counters.
const (
	MetricHits     = "route_model_consumer_metric_ai_cache_hit"
	MetricMisses   = "route_model_consumer_metric_ai_cache_miss"
	MetricBypassed = "gatehouse_ai_cache_bypassed_total"
	MetricRedisUp  = "gatehouse_ai_cache_redis_up"
)

// modelLabels bounds the ai_model label, which comes from the client's
// request: a hit's model was answered before; a miss adds its model only
// when the provider's answer succeeded, else it counts as "other".
var modelLabels = promreg.NewBounded(500, 200)

// metrics are shared by every instance of a process.
type metrics struct {
	hits, misses *prometheus.CounterVec
	bypassed     *prometheus.CounterVec
	redisUp      prometheus.Gauge
}

// sharedMetrics returns the collectors registered on reg, registering them
// on first use.
func sharedMetrics(reg prometheus.Registerer) *metrics {
	labels := []string{"ai_route", "ai_model", "ai_consumer"}
	m := &metrics{
		hits:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricHits, Help: "Chat requests answered from the AI cache, by AI route, requested model and consumer."}, labels),
		misses:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricMisses, Help: "Chat requests the AI cache did not hold, passed to the provider."}, labels),
		bypassed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricBypassed, Help: "Chat requests that skipped the AI cache, by reason (skip_header, redis_unavailable)."}, []string{"ai_route", "reason"}),
		redisUp:  prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricRedisUp, Help: "1 while the AI cache's last Redis call succeeded, 0 while it is bypassed."}),
	}
	m.redisUp.Set(1)
	if reg == nil {
		return m
	}
	m.hits = promreg.Register(reg, m.hits)
	m.misses = promreg.Register(reg, m.misses)
	m.bypassed = promreg.Register(reg, m.bypassed)
	m.redisUp = promreg.Register(reg, m.redisUp)
	return m
}
