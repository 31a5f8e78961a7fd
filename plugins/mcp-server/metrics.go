package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/promreg"
)

// toolLabels bounds the tool label, which comes from the client's
// tools/call (an mcp-proxy passes any name to its upstream): a tool is
// added by a call that ran; a failed call's unknown name counts as
// "other".
var toolLabels = promreg.NewBounded(1000, 128)

// metrics are the plugin's Prometheus collectors. Every instance of the
// plugin in a process shares them: the first registers them and later
// ones (other servers, later configuration versions) reuse the registered
// collectors.
type metrics struct {
	toolCalls    *prometheus.CounterVec
	toolDuration *prometheus.HistogramVec
	sessions     *prometheus.GaugeVec
	handoffs     *prometheus.CounterVec
	rebuilds     *prometheus.CounterVec
	rejected     *prometheus.CounterVec
}

func registerMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		toolCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gatehouse", Subsystem: "mcp", Name: "tool_calls_total",
			Help: "MCP tools/call requests by server, tool and outcome (ok, tool_error, error, denied, rate_limited).",
		}, []string{"server", "tool", "outcome"}),
		toolDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "gatehouse", Subsystem: "mcp", Name: "tool_call_duration_seconds",
			Help:    "Duration of MCP tools/call requests that ran, by server and tool.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"server", "tool"}),
		sessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "gatehouse", Subsystem: "mcp", Name: "active_sessions",
			Help: "MCP sessions held by this instance, by server and transport (streamable, sse).",
		}, []string{"server", "transport"}),
		handoffs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gatehouse", Subsystem: "mcp", Name: "cross_instance_handoffs_total",
			Help: "Legacy SSE messages handed between instances: sent, received, dropped (stream ended), lost (no instance held the stream).",
		}, []string{"server", "result"}),
		rebuilds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gatehouse", Subsystem: "mcp", Name: "session_rebuilds_total",
			Help: "Streamable HTTP sessions rebuilt on this instance from the session registry.",
		}, []string{"server"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gatehouse", Subsystem: "mcp", Name: "sessions_rejected_total",
			Help: "New MCP sessions refused, by server and reason (sessions_full, initialize_rate).",
		}, []string{"server", "reason"}),
	}
	var err error
	if m.toolCalls, err = register(reg, m.toolCalls); err != nil {
		return nil, err
	}
	if m.toolDuration, err = register(reg, m.toolDuration); err != nil {
		return nil, err
	}
	if m.sessions, err = register(reg, m.sessions); err != nil {
		return nil, err
	}
	if m.handoffs, err = register(reg, m.handoffs); err != nil {
		return nil, err
	}
	if m.rejected, err = register(reg, m.rejected); err != nil {
		return nil, err
	}
	if m.rebuilds, err = register(reg, m.rebuilds); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// its name.
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
	return zero, fmt.Errorf("register mcp-server metrics: %w", err)
}

func (m *metrics) observeCall(server, tool, outcome string, d time.Duration) {
	switch outcome {
	case "ok", "tool_error":
		tool = toolLabels.Of(tool)
	case "denied":
		tool = "unknown"
	default:
		tool = toolLabels.Known(tool)
	}
	m.toolCalls.WithLabelValues(server, tool, outcome).Inc()
	if d > 0 {
		m.toolDuration.WithLabelValues(server, tool).Observe(d.Seconds())
	}
}
