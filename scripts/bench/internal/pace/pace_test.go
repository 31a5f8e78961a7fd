package pace

import (
	"testing"
	"time"
)

// Every request is released once, in order, with its own scheduled time,
// never before that time; then the channel closes.
func TestRunReleasesEachRequestAtItsTime(t *testing.T) {
	const total, interval = 200, 250 * time.Microsecond
	jobs := make(chan time.Time, total)
	start := time.Now()
	errc := make(chan error, 1)
	go func() { errc <- Run(start, interval, total, jobs) }()
	i := 0
	for sched := range jobs {
		got := time.Now()
		if want := start.Add(time.Duration(i) * interval); !sched.Equal(want) {
			t.Fatalf("request %d: scheduled %v after start, want %v", i, sched.Sub(start), want.Sub(start))
		}
		if got.Before(sched) {
			t.Fatalf("request %d released %v before its time", i, sched.Sub(got))
		}
		i++
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if i != total {
		t.Fatalf("released %d requests, want %d", i, total)
	}
}
