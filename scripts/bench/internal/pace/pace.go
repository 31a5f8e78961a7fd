// Package pace releases the requests of a fixed-rate load generator at
// their scheduled times (scripts/bench/loadgen, scripts/bench/mcp/toolcall).
//
// A generator that sleeps between releases cannot: the Go runtime rounds a
// sleep shorter than a millisecond up to one when it has nothing else to
// run (it waits in epoll with a timeout in milliseconds; on the benchmark
// VM a 100 µs time.Sleep took 1.10 ms at the median). The requests of each
// millisecond then leave together, and a burst of five or ten queues at the
// server under test: the slower the server, the more of its latency is the
// generator's. A timer file descriptor in the runtime's poller wakes that
// epoll wait when it fires, so the requests leave at their times to within
// the kernel's timer slack (~50 µs).
package pace

import (
	"time"
)

// Run sends the scheduled start of request i, start + i·interval, on jobs
// for i = 0 … total-1, each once its time has come, and then closes jobs.
// A request whose time has passed (the receivers were busy) is sent late
// with its own scheduled time, so that its latency counts the wait.
func Run(start time.Time, interval time.Duration, total int, jobs chan<- time.Time) error {
	defer close(jobs)
	t, err := newTicker(interval)
	if err != nil {
		return err
	}
	defer t.stop()
	for sent := 0; sent < total; {
		due := min(total, int(time.Since(start)/interval)+1)
		for ; sent < due; sent++ {
			jobs <- start.Add(time.Duration(sent) * interval)
		}
		if sent < total {
			if err := t.wait(); err != nil {
				return err
			}
		}
	}
	return nil
}
