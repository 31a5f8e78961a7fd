package main

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/redistest"
)

// startRedis starts a real redis-server on a free port for one test.
func startRedis(t testing.TB) *redistest.Server { return redistest.Start(t) }

// waitFor polls cond every 20 ms until it is true or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
