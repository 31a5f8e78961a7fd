package main

import (
	"encoding/json"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
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
	m.refusals = register(reg, m.refusals)
	m.uncounted = register(reg, m.uncounted)
	m.redisUp = register(reg, m.redisUp)
	return m
}

// register registers c, or returns the collector already registered under
// its name (an instance of an earlier configuration registered it).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

// openAIInsufficientQuota is OpenAI's error body for an exhausted quota:
// type insufficient_quota, with code saying which allowance.
func openAIInsufficientQuota(code, msg string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": "insufficient_quota", "param": nil, "code": code}})
	return b
}
