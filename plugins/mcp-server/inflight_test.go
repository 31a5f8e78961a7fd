package main

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/stretchr/testify/require"
)

// A fast call's context is a child of the instance's: it ends with the
// instance, has the request's values, costs no goroutine while it runs,
// and leaves nothing attached to the instance's context when it ends.
// (Before, every call's context stayed attached to the instance's until
// the server was reconfigured or stopped, so the gateway's memory grew
// with each call.)
func TestFastCallsReleaseTheInstanceContext(t *testing.T) {
	type key struct{}
	req := context.WithValue(t.Context(), key{}, "identity")
	instance, end := context.WithCancel(context.Background())
	var f inflight
	start := func(i int) (context.Context, func()) {
		id, err := jsonrpc.MakeID(float64(i))
		require.NoError(t, err)
		ctx, done, ok := f.start(req, instance, id, cancelOnly{})
		require.True(t, ok)
		return ctx, done
	}

	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	for i := range 100_000 {
		ctx, done := start(i)
		require.NoError(t, ctx.Err())
		done()
		require.Error(t, ctx.Err(), "a finished call's context ends")
	}
	// 100,000 contexts left attached would hold ~10 MB.
	require.Less(t, int64(heap())-int64(before), int64(2<<20), "finished calls' contexts are still held")

	goroutines := runtime.NumGoroutine()
	var running []context.Context
	for i := range 100 {
		ctx, _ := start(i)
		running = append(running, ctx)
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), goroutines+2, "a goroutine per running call")
	require.Equal(t, "identity", running[0].Value(key{}), "the request's values")
	id5, err := jsonrpc.MakeID(float64(5))
	require.NoError(t, err)
	_, _, ok := f.start(req, instance, id5, cancelOnly{})
	require.False(t, ok, "a repeated id is refused while its call runs")
	end()
	for _, ctx := range running {
		require.ErrorIs(t, ctx.Err(), context.Canceled, "a running call ends with the instance")
	}
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

// A worker that keeps getting calls serves them all; once the calls stop
// it ends by itself, within twice its idle time.
func TestWorkersEndWhenIdle(t *testing.T) {
	var wg sync.WaitGroup
	p := newWorkers(t.Context(), &wg)
	p.idle = 200 * time.Millisecond
	goroutine := func() string { // "goroutine N"
		var buf [64]byte
		s := string(buf[:runtime.Stack(buf[:], false)])
		return s[:strings.Index(s, " [")]
	}
	var mu sync.Mutex
	ran := map[string]int{}
	for range 25 { // a call every 20 ms for 500 ms: two and a half idle periods
		done := make(chan struct{})
		p.run(func() {
			mu.Lock()
			ran[goroutine()]++
			mu.Unlock()
			close(done)
		})
		<-done
		time.Sleep(20 * time.Millisecond)
	}
	require.Len(t, ran, 1, "one worker served every call: %v", ran)
	ended := make(chan struct{})
	go func() { wg.Wait(); close(ended) }()
	select {
	case <-ended:
	case <-time.After(2 * time.Second):
		t.Fatal("the idle worker did not end")
	}
}

// cancelOnly makes a call's context without a deadline.
type cancelOnly struct{}

func (cancelOnly) callContext(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithCancel(parent)
}
