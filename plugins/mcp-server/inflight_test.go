package main

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/stretchr/testify/require"
)

// countingContext counts the functions registered to run when it ends
// that are still registered (context.AfterFunc and cancel contexts
// register through its AfterFunc method).
type countingContext struct {
	context.Context
	done chan struct{}
	live atomic.Int64
}

func (c *countingContext) Done() <-chan struct{} { return c.done }

func (c *countingContext) AfterFunc(func()) func() bool {
	c.live.Add(1)
	var once sync.Once
	return func() bool {
		stopped := false
		once.Do(func() { c.live.Add(-1); stopped = true })
		return stopped
	}
}

// A finished fast call leaves nothing registered on the instance's
// context: before, every call's context stayed attached to it until the
// server was reconfigured or stopped, so the gateway's memory grew with
// each call.
func TestFastCallsReleaseTheInstanceContext(t *testing.T) {
	instance := &countingContext{Context: context.Background(), done: make(chan struct{})}
	var f inflight
	for i := range 100 {
		id, err := jsonrpc.MakeID(float64(i))
		require.NoError(t, err)
		ctx, done, ok := f.start(t.Context(), instance, id)
		require.True(t, ok)
		require.NoError(t, ctx.Err())
		done()
		require.Error(t, ctx.Err(), "a finished call's context ends")
	}
	require.Zero(t, instance.live.Load(), "registrations left on the instance context")
}

// Every call handed to the workers runs, concurrent ones at once, and the
// idle workers end with the instance, so that Close does not hang.
func TestWorkersRunEveryCallAndEndWithTheInstance(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	p := newWorkers(ctx, &wg)
	var ran atomic.Int64
	release := make(chan struct{})
	var started, done sync.WaitGroup
	for range 20 { // concurrent: each waits until all have started
		started.Add(1)
		done.Add(1)
		p.run(func() {
			started.Done()
			<-release
			ran.Add(1)
			done.Done()
		})
	}
	started.Wait()
	close(release)
	done.Wait()
	for range 100 { // one after another, on the idle workers
		done.Add(1)
		p.run(func() { ran.Add(1); done.Done() })
		done.Wait()
	}
	require.Equal(t, int64(120), ran.Load())
	cancel()
	wg.Wait()
}
