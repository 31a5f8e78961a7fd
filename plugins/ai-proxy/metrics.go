package main

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/promreg"
)

// metrics are the plugin's Prometheus collectors, with Higress's names.
// Every instance in a process shares them: the first registers them on
// the host's registry and later ones (other AI routes, later
// configuration versions) reuse the registered collectors.
type metrics struct {
	inputTokens     *prometheus.CounterVec
	outputTokens    *prometheus.CounterVec
	cachedTokens    *prometheus.CounterVec
	reasoningTokens *prometheus.CounterVec
	firstToken      *prometheus.HistogramVec
	service         *prometheus.HistogramVec
	requests        *prometheus.CounterVec
	fallbacks       *prometheus.CounterVec
	attempts        *prometheus.CounterVec
}

var usageLabels = []string{"ai_route", "ai_cluster", "ai_model", "ai_consumer"}

// modelLabels bounds the ai_model label, which comes from the client's
// request: a model is added by an answer that succeeded (a model the
// provider serves); a failed request's unknown model counts as "other".
var modelLabels = promreg.NewBounded(500, 200)

// llmBuckets span a fast first token to a long generation, in seconds.
var llmBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	counter := func(name, help string, labels []string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	hist := func(name, help string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: llmBuckets}, usageLabels)
	}
	m := &metrics{
		inputTokens:     counter("route_upstream_model_consumer_metric_input_token", "Input (prompt) tokens reported by LLM providers, by AI route, provider, mapped model and consumer.", usageLabels),
		outputTokens:    counter("route_upstream_model_consumer_metric_output_token", "Output (completion) tokens reported by LLM providers.", usageLabels),
		cachedTokens:    counter("route_upstream_model_consumer_metric_cached_token", "Input tokens read from the provider's prompt cache.", usageLabels),
		reasoningTokens: counter("route_upstream_model_consumer_metric_reasoning_token", "Output tokens spent on reasoning.", usageLabels),
		firstToken:      hist("route_upstream_model_consumer_metric_llm_first_token_duration", "Seconds from the request to the first token of the answer (the whole answer when not streamed)."),
		service:         hist("route_upstream_model_consumer_metric_llm_service_duration", "Seconds from the request to the end of the answer."),
		requests:        counter("gatehouse_ai_requests_total", "AI requests by route, provider, mapped model, consumer and HTTP status.", append(append([]string{}, usageLabels...), "status")),
		fallbacks:       counter("gatehouse_ai_fallbacks_total", "Fallbacks from one provider to the next before the answer began.", []string{"ai_route", "from", "to"}),
		attempts:        counter("gatehouse_ai_attempts_total", "Calls to providers by outcome (ok, status_4xx, status_5xx, connection_error, timeout, broken, cancelled).", []string{"ai_route", "ai_cluster", "outcome"}),
	}
	var err error
	if m.inputTokens, err = register(reg, m.inputTokens); err != nil {
		return nil, err
	}
	if m.outputTokens, err = register(reg, m.outputTokens); err != nil {
		return nil, err
	}
	if m.cachedTokens, err = register(reg, m.cachedTokens); err != nil {
		return nil, err
	}
	if m.reasoningTokens, err = register(reg, m.reasoningTokens); err != nil {
		return nil, err
	}
	if m.firstToken, err = register(reg, m.firstToken); err != nil {
		return nil, err
	}
	if m.service, err = register(reg, m.service); err != nil {
		return nil, err
	}
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.fallbacks, err = register(reg, m.fallbacks); err != nil {
		return nil, err
	}
	if m.attempts, err = register(reg, m.attempts); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// its name, so that the collectors exist once per process.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if reg == nil {
		return c, nil
	}
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	var zero C
	return zero, fmt.Errorf("register ai-proxy metrics: %w", err)
}
