package admin

import (
	"sync"
	"time"
)

// loginLimiter throttles failed logins per client address: after max
// failures within window, further attempts are refused until the window
// since the first failure has passed.
type loginLimiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	clients map[string]*failures
}

type failures struct {
	count int
	first time.Time
}

func newLoginLimiter(max int, window time.Duration) *loginLimiter {
	return &loginLimiter{max: max, window: window, now: time.Now, clients: map[string]*failures{}}
}

// blocked returns how long client must wait, or 0.
func (l *loginLimiter) blocked(client string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.clients[client]
	if !ok {
		return 0
	}
	left := l.window - l.now().Sub(f.first)
	if left <= 0 {
		delete(l.clients, client)
		return 0
	}
	if f.count < l.max {
		return 0
	}
	return left
}

func (l *loginLimiter) fail(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	// Forget expired entries so the map stays bounded by recent offenders.
	for k, f := range l.clients {
		if now.Sub(f.first) >= l.window {
			delete(l.clients, k)
		}
	}
	f, ok := l.clients[client]
	if !ok {
		f = &failures{first: now}
		l.clients[client] = f
	}
	f.count++
}

func (l *loginLimiter) reset(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.clients, client)
}
