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
// one; none waits in a queue. Workers end workerIdle after their last call
// or when ctx ends, and belong to wg.
type workers struct {
	ctx  context.Context
	wg   *sync.WaitGroup
	jobs chan func() // unbuffered: a send succeeds only to an idle worker
}

func newWorkers(ctx context.Context, wg *sync.WaitGroup) *workers {
	return &workers{ctx: ctx, wg: wg, jobs: make(chan func())}
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
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		f()
		idle.Reset(workerIdle)
		select {
		case f = <-p.jobs:
		case <-idle.C:
			return
		case <-p.ctx.Done():
			return
		}
	}
}
