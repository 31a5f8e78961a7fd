package health

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReportAggregates(t *testing.T) {
	comp := func(s Status, critical bool) Check {
		return func(context.Context) []Component {
			return []Component{{Name: "x", Kind: "plugin", Status: s, Critical: critical}}
		}
	}
	cases := []struct {
		name   string
		ready  bool
		checks []Check
		want   Status
	}{
		{"all ok", true, []Check{comp(StatusOK, true)}, StatusOK},
		{"not ready", false, []Check{comp(StatusOK, true)}, StatusDegraded},
		{"redis not configured is fine", true, []Check{comp(StatusNotConfigured, false)}, StatusOK},
		{"optional plugin down degrades", true, []Check{comp(StatusDown, false)}, StatusDegraded},
		{"database down is down", true, []Check{comp(StatusDegraded, false), comp(StatusDown, true)}, StatusDown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := NewChecker("v1")
			c.SetReady(tc.ready)
			for _, ch := range tc.checks {
				c.Add(ch)
			}
			r := c.Report(context.Background())
			require.Equal(t, tc.want, r.Status)
			require.Equal(t, "v1", r.Version)
			require.Len(t, r.Components, len(tc.checks))
		})
	}
}
