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
}

// TestUSDToMicros: a budget or top-up in dollars and cents is exactly that
// many micro-dollars (the usage API shows it back unchanged); a fraction
// of a micro-dollar is rounded up.
func TestUSDToMicros(t *testing.T) {
	for _, c := range []struct {
		usd  float64
		want int64
	}{
		{0, 0},
		{0.07, 70_000},
		{4.03, 4_030_000},
		{4.07, 4_070_000},
		{8.1, 8_100_000},
		{0.075536, 75_536},
		{1e9, 1e15},
		{0.0000011, 2},
		{0.0000015, 2},
		{4.0300005, 4_030_001},
	} {
		if got := USDToMicros(c.usd); got != c.want {
			t.Errorf("USDToMicros(%v) = %d, want %d", c.usd, got, c.want)
		}
	}
	// Every amount in cents up to $10,000, and back.
	for cents := int64(0); cents <= 1_000_000; cents++ {
		usd := float64(cents) / 100
		if got := USDToMicros(usd); got != cents*10_000 {
			t.Fatalf("USDToMicros(%v) = %d, want %d", usd, got, cents*10_000)
		}
		if got := USDToMicros(MicrosToUSD(cents * 10_000)); got != cents*10_000 {
			t.Fatalf("USDToMicros(MicrosToUSD(%d)) = %d", cents*10_000, got)
		}
	}
}
