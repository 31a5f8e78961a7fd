package series

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

func TestRecorderComputesRatesAndQuantiles(t *testing.T) {
	reg := prometheus.NewRegistry()
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: requestsTotal}, []string{"route", "status"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: requestDuration, Buckets: []float64{.001, .01, .1, 1}}, []string{"route"})
	tools := prometheus.NewCounterVec(prometheus.CounterOpts{Name: toolCallsTotal}, []string{"server", "tool", "outcome"})
	reg.MustRegister(reqs, dur, tools)

	r := New(reg, 10*time.Second, 3)
	t0 := time.Unix(1_000_000, 0)
	r.Sample(t0)
	require.Empty(t, r.Points(), "the first sample is the baseline")

	// 100 requests in 10 s: 90 fast (0.5 ms) and 10 slow (50 ms), 5 of them 502.
	for i := range 100 {
		status := "200"
		if i < 5 {
			status = "502"
		}
		reqs.WithLabelValues("a", status).Inc()
		if i < 90 {
			dur.WithLabelValues("a").Observe(0.0005)
		} else {
			dur.WithLabelValues("a").Observe(0.05)
		}
	}
	tools.WithLabelValues("weather", "now", "ok").Add(20)
	r.Sample(t0.Add(10 * time.Second))
	pts := r.Points()
	require.Len(t, pts, 1)
	p := pts[0]
	require.InDelta(t, 10, p.RequestRate, 1e-9)
	require.InDelta(t, 0.5, p.ErrorRate, 1e-9)
	require.Greater(t, p.P50Ms, 0.0)
	require.LessOrEqual(t, p.P50Ms, 1.0, "half the requests took under 1 ms")
	require.Greater(t, p.P99Ms, 10.0, "the slowest tenth took 50 ms")
	require.LessOrEqual(t, p.P99Ms, 100.0)
	require.InDelta(t, 2, p.ToolCallRate["weather"], 1e-9)

	// An idle interval has zero rates and no latency.
	r.Sample(t0.Add(20 * time.Second))
	require.Zero(t, r.Points()[1].RequestRate)
	require.Zero(t, r.Points()[1].P99Ms)

	// Only size points are kept.
	r.Sample(t0.Add(30 * time.Second))
	r.Sample(t0.Add(40 * time.Second))
	require.Len(t, r.Points(), 3)
	require.Equal(t, t0.Add(40*time.Second).UTC(), r.Points()[2].Time)
}
