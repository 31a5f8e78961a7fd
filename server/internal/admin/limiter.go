package admin

import (
	"container/list"
	"net/netip"
	"sync"
	"time"
)

// loginLimiter throttles failed logins per client address and per
// username. An address with too many failures is refused for the rest of
// its window, whatever the username; a username with too many failures is
// refused for the rest of its window, except from an address that has
// logged in as that user before, so that an attacker spreading guesses
// over many addresses cannot lock its owner out. Every operation is O(1)
// and memory is bounded by the capacity of each counter.
type loginLimiter struct {
	now func() time.Time

	mu     sync.Mutex
	byAddr *failureCounter
	byUser *failureCounter
	// known remembers, per username, the addresses of its last successful
	// logins (at most knownPerUser). Only real users get here.
	known map[string][]string
}

const (
	knownPerUser    = 8
	limiterCapacity = 10000
)

func newLoginLimiter(addrMax int, addrWindow time.Duration, userMax int, userWindow time.Duration) *loginLimiter {
	return &loginLimiter{
		now:    time.Now,
		byAddr: newFailureCounter(addrMax, addrWindow, limiterCapacity),
		byUser: newFailureCounter(userMax, userWindow, limiterCapacity),
		known:  map[string][]string{},
	}
}

// throttleReason says which limit refused a login.
type throttleReason int

const (
	throttleAddress throttleReason = iota + 1
	throttleUser
)

// blocked returns how long the login of user from client must wait (0:
// not at all) and which limit applies.
func (l *loginLimiter) blocked(client, user string) (time.Duration, throttleReason) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if wait := l.byAddr.blocked(addrKey(client), now); wait > 0 {
		return wait, throttleAddress
	}
	if user != "" && !l.isKnown(user, client) {
		if wait := l.byUser.blocked(user, now); wait > 0 {
			return wait, throttleUser
		}
	}
	return 0, 0
}

// fail counts a failed login of user from client.
func (l *loginLimiter) fail(client, user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.byAddr.add(addrKey(client), now)
	if user != "" {
		l.byUser.add(user, now)
	}
}

// succeeded forgets the failures of client and user and remembers client
// as an address user logs in from.
func (l *loginLimiter) succeeded(client, user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byAddr.reset(addrKey(client))
	l.byUser.reset(user)
	addrs := l.known[user]
	for i, a := range addrs {
		if a == client {
			addrs = append(addrs[:i], addrs[i+1:]...)
			break
		}
	}
	if len(addrs) >= knownPerUser {
		addrs = addrs[1:]
	}
	l.known[user] = append(addrs, client)
}

func (l *loginLimiter) isKnown(user, client string) bool {
	for _, a := range l.known[user] {
		if a == client {
			return true
		}
	}
	return false
}

// addrKey groups IPv6 addresses by /64, which one host usually holds
// whole, so that rotating through it does not escape the limit.
func addrKey(client string) string {
	a, err := netip.ParseAddr(client)
	if err != nil || a.Unmap().Is4() {
		return client
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// failureCounter counts failures per key in a fixed window that starts at
// the key's first failure. Keys are kept in the order of their first
// failure, so expired ones are dropped from the front as they are met, and
// when capacity is reached the oldest key is forgotten.
type failureCounter struct {
	max      int
	window   time.Duration
	capacity int
	keys     map[string]*list.Element
	order    *list.List // of *failures, oldest first
}

type failures struct {
	key   string
	count int
	first time.Time
}

func newFailureCounter(max int, window time.Duration, capacity int) *failureCounter {
	return &failureCounter{max: max, window: window, capacity: capacity, keys: map[string]*list.Element{}, order: list.New()}
}

// expire drops the keys whose window has passed; each key is dropped once,
// so the cost is O(1) amortized.
func (f *failureCounter) expire(now time.Time) {
	for e := f.order.Front(); e != nil; e = f.order.Front() {
		fl := e.Value.(*failures)
		if now.Sub(fl.first) < f.window {
			return
		}
		f.order.Remove(e)
		delete(f.keys, fl.key)
	}
}

func (f *failureCounter) blocked(key string, now time.Time) time.Duration {
	f.expire(now)
	e, ok := f.keys[key]
	if !ok {
		return 0
	}
	fl := e.Value.(*failures)
	if fl.count < f.max {
		return 0
	}
	return f.window - now.Sub(fl.first)
}

func (f *failureCounter) add(key string, now time.Time) {
	f.expire(now)
	if e, ok := f.keys[key]; ok {
		e.Value.(*failures).count++
		return
	}
	if f.order.Len() >= f.capacity {
		oldest := f.order.Front()
		f.order.Remove(oldest)
		delete(f.keys, oldest.Value.(*failures).key)
	}
	f.keys[key] = f.order.PushBack(&failures{key: key, count: 1, first: now})
}

func (f *failureCounter) reset(key string) {
	if e, ok := f.keys[key]; ok {
		f.order.Remove(e)
		delete(f.keys, key)
	}
}

func (f *failureCounter) len() int { return f.order.Len() }
