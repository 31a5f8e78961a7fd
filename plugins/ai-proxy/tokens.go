package main

import (
	"regexp"
	"sync"
	"sync/atomic"
	"time"
)

// Cooldowns of a token that the provider refused, when failover is not
// configured: a refused key (401/403) is likely revoked or out of credit;
// a rate-limited one (429) recovers soon, or after Retry-After.
const (
	authCooldown      = 5 * time.Minute
	rateLimitCooldown = 30 * time.Second
	maxRetryAfter     = 10 * time.Minute
)

// tokenPool hands out a provider's API tokens round-robin, skipping the
// ones that are cooling down or taken out of use by failover. It is safe
// for concurrent use.
type tokenPool struct {
	tokens []*token
	next   atomic.Uint64
	fo     *failoverPolicy // nil: failover not enabled
	now    func() time.Time
}

// failoverPolicy is a provider's failover config with its defaults.
type failoverPolicy struct {
	failureThreshold int
	successThreshold int
	interval         time.Duration
	timeout          time.Duration
	model            string
	cooldown         time.Duration // 0: only health checks restore
	on               []*regexp.Regexp
}

// token is one API token and its health.
type token struct {
	value string
	index int
	// auth is the header value that carries the token (with its prefix),
	// built with the provider.
	auth []string

	mu        sync.Mutex
	until     time.Time // cooled down until
	down      bool      // taken out by failover
	downAt    time.Time // when it was taken out
	failures  int       // consecutive failures (failover)
	successes int       // consecutive successful health checks while down
}

func newTokenPool(values []string, fc *failoverConfig) (*tokenPool, error) {
	p := &tokenPool{now: time.Now}
	for i, v := range values {
		p.tokens = append(p.tokens, &token{value: v, index: i})
	}
	if fc != nil && fc.Enabled {
		fo := &failoverPolicy{
			failureThreshold: defaultFailureThreshold,
			successThreshold: defaultSuccessThreshold,
			interval:         defaultHealthCheckMS * time.Millisecond,
			timeout:          defaultHealthCheckMS * time.Millisecond,
			model:            fc.HealthCheckModel,
			cooldown:         time.Duration(fc.CooldownDuration) * time.Millisecond,
		}
		if fc.FailureThreshold > 0 {
			fo.failureThreshold = fc.FailureThreshold
		}
		if fc.SuccessThreshold > 0 {
			fo.successThreshold = fc.SuccessThreshold
		}
		if fc.HealthCheckInterval > 0 {
			fo.interval = time.Duration(fc.HealthCheckInterval) * time.Millisecond
		}
		if fc.HealthCheckTimeout > 0 {
			fo.timeout = time.Duration(fc.HealthCheckTimeout) * time.Millisecond
		}
		on := fc.FailoverOnStatus
		if len(on) == 0 {
			on = []string{"401", "403", "429"}
		}
		var err error
		if fo.on, err = compileStatusPatterns(on); err != nil {
			return nil, err
		}
		p.fo = fo
	}
	return p, nil
}

// available reports whether t may be used at now.
func (p *tokenPool) available(t *token, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.down && p.fo != nil && p.fo.cooldown > 0 && now.Sub(t.downAt) >= p.fo.cooldown {
		t.down, t.failures, t.successes = false, 0, 0
	}
	return !t.down && !now.Before(t.until)
}

// pick returns the next usable token not in tried, round-robin. When every
// untried token is cooling down it returns the one that recovers first,
// so that a request is still attempted. It returns nil when the pool is
// empty or every token was tried.
func (p *tokenPool) pick(tried []int) *token {
	n := len(p.tokens)
	if n == 0 {
		return nil
	}
	now := p.now()
	start := int(p.next.Add(1)-1) % n
	var best *token
	var bestAt time.Time
	for i := range n {
		t := p.tokens[(start+i)%n]
		if containsInt(tried, t.index) {
			continue
		}
		if p.available(t, now) {
			return t
		}
		t.mu.Lock()
		at := t.until
		if t.down {
			at = now.Add(time.Hour) // behind any cooldown
		}
		t.mu.Unlock()
		if best == nil || at.Before(bestAt) {
			best, bestAt = t, at
		}
	}
	return best
}

// report records the provider's answer to a request sent with t: its
// status (0 for a connection failure) and Retry-After.
func (p *tokenPool) report(t *token, status int, retryAfter time.Duration) {
	if t == nil {
		return
	}
	now := p.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if status >= 200 && status < 300 {
		t.failures = 0
		return
	}
	if p.fo != nil {
		if status != 0 && matchStatus(p.fo.on, status) {
			t.failures++
			if t.failures >= p.fo.failureThreshold && !t.down {
				t.down, t.downAt, t.successes = true, now, 0
			}
		}
		return
	}
	switch status {
	case 401, 403:
		t.until = now.Add(authCooldown)
	case 429:
		d := rateLimitCooldown
		if retryAfter > 0 {
			d = min(retryAfter, maxRetryAfter)
		}
		t.until = now.Add(d)
	}
}

// tokenRefused reports whether status says the token itself was refused,
// so that another token should be tried.
func tokenRefused(status int) bool {
	return status == 401 || status == 403 || status == 429
}

// down returns the tokens that failover took out of use.
func (p *tokenPool) downTokens() []*token {
	var out []*token
	for _, t := range p.tokens {
		t.mu.Lock()
		if t.down {
			out = append(out, t)
		}
		t.mu.Unlock()
	}
	return out
}

// checked records a health check of a token that is down.
func (p *tokenPool) checked(t *token, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.down {
		return
	}
	if !ok {
		t.successes = 0
		return
	}
	t.successes++
	if t.successes >= p.fo.successThreshold {
		t.down, t.failures, t.successes = false, 0, 0
	}
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
