// Package health aggregates the health of gatehouse's components (database,
// plugins, Redis, gateway) into one report for /readyz and the console.
package health

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Status is a component's or the whole process's state.
type Status string

// The statuses, from best to worst.
const (
	StatusOK            Status = "ok"
	StatusNotConfigured Status = "not_configured"
	StatusDegraded      Status = "degraded"
	StatusDown          Status = "down"
)

// Component is one part's state with a reason a person can act on.
type Component struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Status  Status `json:"status"`
	Message string `json:"message,omitempty"`
	// Critical components make the whole report down when they are down;
	// others only degrade it.
	Critical bool `json:"-"`
}

// Check reports one or more components.
type Check func(ctx context.Context) []Component

// Report is the whole picture.
type Report struct {
	Status        Status      `json:"status"`
	Version       string      `json:"version"`
	StartedAt     time.Time   `json:"startedAt"`
	UptimeSeconds int64       `json:"uptimeSeconds"`
	Ready         bool        `json:"ready"`
	Components    []Component `json:"components"`
}

// Checker collects checks and the readiness flag. It is safe for concurrent
// use; checks are added while wiring, before serving.
type Checker struct {
	version   string
	startedAt time.Time
	ready     atomic.Bool
	mu        sync.Mutex
	checks    []Check
}

// NewChecker returns a checker for a process of the given version started now.
func NewChecker(version string) *Checker {
	return &Checker{version: version, startedAt: time.Now().UTC()}
}

// Add registers a check.
func (c *Checker) Add(check Check) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checks = append(c.checks, check)
}

// SetReady marks the process ready (started, configuration applied) or not
// (starting, shutting down).
func (c *Checker) SetReady(ready bool) { c.ready.Store(ready) }

// Ready reports the readiness flag.
func (c *Checker) Ready() bool { return c.ready.Load() }

// Report runs every check, each bounded by ctx.
func (c *Checker) Report(ctx context.Context) Report {
	c.mu.Lock()
	checks := append([]Check(nil), c.checks...)
	c.mu.Unlock()
	r := Report{
		Status:        StatusOK,
		Version:       c.version,
		StartedAt:     c.startedAt,
		UptimeSeconds: int64(time.Since(c.startedAt).Seconds()),
		Ready:         c.Ready(),
		Components:    []Component{},
	}
	for _, check := range checks {
		for _, comp := range check(ctx) {
			r.Components = append(r.Components, comp)
			switch {
			case comp.Status == StatusDown && comp.Critical:
				r.Status = StatusDown
			case (comp.Status == StatusDown || comp.Status == StatusDegraded) && r.Status == StatusOK:
				r.Status = StatusDegraded
			}
		}
	}
	if !r.Ready && r.Status == StatusOK {
		r.Status = StatusDegraded
	}
	return r
}
