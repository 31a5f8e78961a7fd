// Package series samples gatehouse's own Prometheus metrics into a small
// in-process time series for the console's dashboard: request rate, error
// rate, p50/p99 latency and MCP tool calls per server over the last hour.
// It reads the registry the process already has; nothing is counted twice.
package series

import (
	"context"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Metric names read from the registry.
const (
	requestsTotal   = "gatehouse_gateway_requests_total"
	requestDuration = "gatehouse_gateway_request_duration_seconds"
	toolCallsTotal  = "gatehouse_mcp_tool_calls_total"
)

// Point is one sample interval.
type Point struct {
	Time time.Time `json:"time"`
	// RequestRate and ErrorRate are per second over the interval; errors
	// are responses with status 5xx.
	RequestRate float64 `json:"requestRate"`
	ErrorRate   float64 `json:"errorRate"`
	// P50Ms and P99Ms are latency quantiles of the interval's requests,
	// estimated from the histogram buckets; 0 when there were none.
	P50Ms float64 `json:"p50Ms"`
	P99Ms float64 `json:"p99Ms"`
	// ToolCallRate is MCP tools/call per second, by MCP server.
	ToolCallRate map[string]float64 `json:"toolCallRate"`
}

// Recorder samples the registry every interval and keeps the last size
// points. Run it in a goroutine; Points is safe to call concurrently.
type Recorder struct {
	gatherer prometheus.Gatherer
	interval time.Duration
	size     int

	mu     sync.Mutex
	points []Point
	prev   *snapshot
}

// New returns a recorder of size points every interval.
func New(g prometheus.Gatherer, interval time.Duration, size int) *Recorder {
	return &Recorder{gatherer: g, interval: interval, size: size}
}

// Run samples until ctx ends.
func (r *Recorder) Run(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	r.Sample(time.Now())
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.Sample(now)
		}
	}
}

// Points returns the recorded points, oldest first.
func (r *Recorder) Points() []Point {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Point(nil), r.points...)
}

// Interval is the time between points.
func (r *Recorder) Interval() time.Duration { return r.interval }

type snapshot struct {
	at       time.Time
	requests float64
	errors   float64
	buckets  map[float64]float64 // upper bound → cumulative count, summed over routes
	count    float64
	tools    map[string]float64
}

// Sample records one point now (the first call only sets the baseline).
func (r *Recorder) Sample(now time.Time) {
	cur := r.read(now)
	r.mu.Lock()
	defer r.mu.Unlock()
	prev := r.prev
	r.prev = cur
	if prev == nil {
		return
	}
	secs := cur.at.Sub(prev.at).Seconds()
	if secs <= 0 {
		return
	}
	p := Point{
		Time:         now.UTC().Truncate(time.Second),
		RequestRate:  nonNeg(cur.requests-prev.requests) / secs,
		ErrorRate:    nonNeg(cur.errors-prev.errors) / secs,
		ToolCallRate: map[string]float64{},
	}
	delta := map[float64]float64{}
	for le, c := range cur.buckets {
		delta[le] = nonNeg(c - prev.buckets[le])
	}
	n := nonNeg(cur.count - prev.count)
	p.P50Ms = Quantile(delta, n, 0.50) * 1000
	p.P99Ms = Quantile(delta, n, 0.99) * 1000
	for server, c := range cur.tools {
		if d := nonNeg(c - prev.tools[server]); d > 0 {
			p.ToolCallRate[server] = d / secs
		}
	}
	r.points = append(r.points, p)
	if len(r.points) > r.size {
		r.points = r.points[len(r.points)-r.size:]
	}
}

func (r *Recorder) read(now time.Time) *snapshot {
	s := &snapshot{at: now, buckets: map[float64]float64{}, tools: map[string]float64{}}
	families, err := r.gatherer.Gather()
	if err != nil && families == nil {
		return s
	}
	for _, f := range families {
		switch f.GetName() {
		case requestsTotal:
			for _, m := range f.GetMetric() {
				v := m.GetCounter().GetValue()
				s.requests += v
				if code, err := strconv.Atoi(label(m, "status")); err == nil && code >= 500 {
					s.errors += v
				}
			}
		case requestDuration:
			for _, m := range f.GetMetric() {
				h := m.GetHistogram()
				s.count += float64(h.GetSampleCount())
				for _, b := range h.GetBucket() {
					s.buckets[b.GetUpperBound()] += float64(b.GetCumulativeCount())
				}
			}
		case toolCallsTotal:
			for _, m := range f.GetMetric() {
				s.tools[label(m, "server")] += m.GetCounter().GetValue()
			}
		}
	}
	return s
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func nonNeg(v float64) float64 { return math.Max(v, 0) }

// Quantile estimates the q-quantile from cumulative bucket counts (upper
// bound → count) by linear interpolation inside the bucket, like
// Prometheus's histogram_quantile; 0 when count is 0.
func Quantile(buckets map[float64]float64, count, q float64) float64 {
	if count <= 0 {
		return 0
	}
	bounds := make([]float64, 0, len(buckets))
	for le := range buckets {
		bounds = append(bounds, le)
	}
	sort.Float64s(bounds)
	rank := q * count
	lower, prevCount := 0.0, 0.0
	for _, le := range bounds {
		c := buckets[le]
		if c >= rank {
			if math.IsInf(le, 1) {
				return lower
			}
			if c == prevCount {
				return le
			}
			return lower + (le-lower)*(rank-prevCount)/(c-prevCount)
		}
		lower, prevCount = le, c
	}
	return lower
}
