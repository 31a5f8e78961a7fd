package gateway

import "time"

// Passive ejection: an endpoint that fails this many attempts in a row
// (connection error, timeout, or 502/503/504) gets no traffic for
// ejectFor, unless every endpoint of its service is out.
const (
	ejectAfterFailures = 5
	ejectFor           = 10 * time.Second
)

// available reports whether ep may get traffic; ejection is ignored in
// panic mode (every endpoint ejected).
func (ep *endpoint) available(now int64, ignoreEjection bool) bool {
	if ep.down.Load() {
		return false
	}
	return ignoreEjection || ep.ejectedUntil.Load() <= now
}

// succeeded and failed keep the passive ejection state.
func (p *pool) succeeded(ep *endpoint) {
	if ep.failures.Load() != 0 {
		ep.failures.Store(0)
	}
}

func (p *pool) failed(ep *endpoint) {
	if n := ep.failures.Add(1); n >= ejectAfterFailures {
		ep.failures.Store(0)
		ep.ejectedUntil.Store(p.now().Add(ejectFor).UnixNano())
		p.logger.Warn("endpoint ejected after consecutive failures",
			"endpoint", ep.raw, "failures", n, "cooldown", ejectFor.String())
	}
}
