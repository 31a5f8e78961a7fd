package main

import (
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// A client calling random tool names cannot grow the metrics: a call that
// failed counts its name as "other"; a tool that ran keeps its own label.
func TestRandomToolNamesDoNotGrowTheMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := registerMetrics(reg)
	require.NoError(t, err)
	for i := 0; i < 100; i++ {
		m.observeCall("srv", "no-such-tool-"+strconv.Itoa(i), "error", 0)
	}
	m.observeCall("srv", "get_weather", "ok", 0)
	m.observeCall("srv", "get_weather", "error", 0)
	m.observeCall("srv", "x", "denied", 0)
	families, err := reg.Gather()
	require.NoError(t, err)
	series := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "gatehouse_mcp_tool_calls_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			l := map[string]string{}
			for _, p := range s.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			series[l["tool"]+"/"+l["outcome"]] = s.GetCounter().GetValue()
		}
	}
	require.Equal(t, map[string]float64{"other/error": 100, "get_weather/ok": 1, "get_weather/error": 1, "unknown/denied": 1}, series)
}
