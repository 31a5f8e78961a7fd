package pluginapi

import (
	"testing"
	"time"
)

func TestUsagePeriodIsTheUTCCalendarDayOrMonth(t *testing.T) {
	// 23:30 on 31 December in New York is already 1 January in UTC.
	ny := time.FixedZone("EST", -5*3600)
	at := time.Date(2026, 12, 31, 23, 30, 0, 0, ny)
	for _, c := range []struct {
		period, id string
		start, end time.Time
	}{
		{PeriodDay, "d2027-01-01", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)},
		{PeriodMonth, "m2027-01", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)},
	} {
		id, start, end := UsagePeriod(c.period, at)
		if id != c.id || !start.Equal(c.start) || !end.Equal(c.end) {
			t.Errorf("UsagePeriod(%q) = %q %s %s, want %q %s %s", c.period, id, start, end, c.id, c.start, c.end)
		}
	}
	if got := UsageKey("team-a", "m2027-01"); got != "gatehouse:usage:{team-a}:m2027-01" {
		t.Errorf("UsageKey = %q", got)
	}
	if got := USDToMicros(0.0000011); got != 2 {
		t.Errorf("USDToMicros rounds up: got %d, want 2", got)
	}
}
