package main

import (
	"context"
	"sync"
	"time"
)

// workerIdle is how long a fast-call worker waits for the next call
// before it ends.
const workerIdle = 10 * time.Second

// workers runs fast calls on goroutines that serve one call after another.
// A new goroutine per call spent about 5 % of the gateway's CPU growing
// its stack (JSON decoding and schema validation run deep); a worker keeps
// the stack it grew. A call is handed to an idle worker, else to a new
// one; none waits in a queue. Workers end between idle and twice idle
// after their last call (the idle timer is not reset per call: a timer
// change takes the runtime's timer lock), or when ctx ends, and belong to
// wg.
type workers struct {
	ctx  context.Context
	wg   *sync.WaitGroup
	jobs chan func() // unbuffered: a send succeeds only to an idle worker
	idle time.Duration
}

func newWorkers(ctx context.Context, wg *sync.WaitGroup) *workers {
	return &workers{ctx: ctx, wg: wg, jobs: make(chan func()), idle: workerIdle}
}

// run runs f on a worker.
func (p *workers) run(f func()) {
	select {
	case p.jobs <- f:
	default:
		p.wg.Go(func() { p.work(f) })
	}
}

func (p *workers) work(f func()) {
	idle := time.NewTimer(p.idle)
	defer idle.Stop()
	for {
		f()
		ran := true // a call ran since the timer was set
		for f = nil; f == nil; {
			select {
			case f = <-p.jobs:
			case <-idle.C:
				if !ran {
					return
				}
				ran = false
				idle.Reset(p.idle)
			case <-p.ctx.Done():
				return
			}
		}
	}
}
