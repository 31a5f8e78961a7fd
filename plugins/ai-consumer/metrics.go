package main

import (
	"encoding/json"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/promreg"
)

// Metric names.
const (
	MetricRefusals  = "gatehouse_ai_consumer_refusals_total"
	MetricRedisUp   = "gatehouse_ai_consumer_redis_up"
	MetricUncounted = "gatehouse_ai_consumer_uncounted_total"
)

// metrics are shared by every instance of a process.
type metrics struct {
	refusals  *prometheus.CounterVec
	uncounted *prometheus.CounterVec
	redisUp   prometheus.Gauge
}

// sharedMetrics returns the collectors registered on reg, registering them
// on first use.
func sharedMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricRefusals,
			Help: "AI requests of consumers refused before the call, by consumer and reason (model, quota, budget, redis)."}, []string{"consumer", "reason"}),
		uncounted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricUncounted,
			Help: "AI requests of consumers served but not counted because Redis failed (failureMode open)."}, []string{"consumer"}),
		redisUp: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricRedisUp,
			Help: "1 while the consumer usage counters' last Redis call succeeded, 0 while Redis fails."}),
	}
	m.redisUp.Set(1)
	if reg == nil {
		return m
	}
	m.refusals = promreg.Register(reg, m.refusals)
	m.uncounted = promreg.Register(reg, m.uncounted)
	m.redisUp = promreg.Register(reg, m.redisUp)
	return m
}

// openAIInsufficientQuota is OpenAI's error body for an exhausted quota:
// type insufficient_quota, with code saying which allowance.
func openAIInsufficientQuota(code, msg string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": "insufficient_quota", "param": nil, "code": code}})
	return b
}
