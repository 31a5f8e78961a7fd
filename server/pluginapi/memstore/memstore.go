// Package memstore is the host's in-memory pluginapi.SharedStore: the
// gateway gives each plugin one Store for the life of the process
// (Host.SharedStore). Tests of plugins build their own with New.
package memstore

import (
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// DefaultMaxListBytes caps the lists of a Store together: their entries
// (with entryHeader each), and for each list its key and listOverhead.
const DefaultMaxListBytes = 32 << 20

// listOverhead is what a list costs the process besides its key and
// entries (its record and its index slot), counted in the size cap: a list
// is made per stream, and streams of one entry each (one per MCP call)
// would otherwise hold memory the cap does not see until they expire.
const listOverhead = 128

// Every sweepEvery-th write looks at sweepSample values and 2×sweepSample
// lists for expired ones, and at another sample while a quarter or more of the last
// one had expired (at most sweepRounds): Redis's active expiry. A write
// costs the same however many keys are held, and expired keys stay a
// small share of the store (a write adds at most one key; a sweep of a
// store a quarter expired removes sweepEvery or more).
const (
	sweepEvery  = 4
	sweepSample = 16
	sweepRounds = 4
)

// subscriptionBacklog bounds the messages waiting for one subscription,
// as Redis bounds the output buffer of a subscriber.
const subscriptionBacklog = 1 << 16

// Store is an in-memory pluginapi.SharedStore. The zero value is not
// usable; call New.
type Store struct {
	maxListBytes int
	seeds        [2]maphash.Seed

	mu     sync.Mutex
	values map[string]value
	writes int

	// The lists (lists.go): records found through index, entries in log.
	index    map[listKey]int32
	recs     []listRec
	freeRecs []int32
	log      listLog
	bytes    int // of all lists: entries with their headers, keys and listOverhead each
	held     int // of the log's entries still in their lists, headers included
	entries  int
	sweepAt  int

	subMu sync.Mutex
	subs  map[string]map[*subscription]struct{} // channel → subscriptions
}

type value struct {
	data    []byte
	count   int64
	expires time.Time
}

func (v value) live(now time.Time) bool { return now.Before(v.expires) }

// New returns an empty Store whose lists hold at most maxListBytes
// together (0: DefaultMaxListBytes), counting their entries' headers, keys
// and listOverhead. The lists' log may hold up to half again as much besides, in
// entries removed but not yet passed over.
func New(maxListBytes int) *Store {
	if maxListBytes <= 0 {
		maxListBytes = DefaultMaxListBytes
	}
	return &Store{
		maxListBytes: maxListBytes,
		seeds:        [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		values:       make(map[string]value),
		index:        make(map[listKey]int32),
		subs:         make(map[string]map[*subscription]struct{}),
	}
}

// Namespace returns a view of s whose keys and channels are prefixed with
// prefix, so that several plugins share one Store without meeting.
func (s *Store) Namespace(prefix string) pluginapi.SharedStore {
	return &namespaced{s: s, prefix: prefix}
}

// sweepLocked removes expired keys from a sample of the values (Go starts
// each range over a map at a random place) and of the lists, every
// sweepEvery writes.
func (s *Store) sweepLocked(now time.Time) {
	if s.writes++; s.writes%sweepEvery != 0 {
		return
	}
	for range sweepRounds {
		seen, expired := 0, 0
		for k, v := range s.values {
			if !v.live(now) {
				delete(s.values, k)
				expired++
			}
			if seen++; seen == sweepSample {
				break
			}
		}
		if expired*4 < seen {
			break
		}
	}
	s.sweepListsLocked(now.UnixNano())
}

func (s *Store) getLocked(key string, now time.Time) (value, bool) {
	v, ok := s.values[key]
	if ok && !v.live(now) {
		delete(s.values, key)
		return value{}, false
	}
	return v, ok
}

// Get implements pluginapi.SharedStore.
func (s *Store) Get(key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.getLocked(key, time.Now())
	return v.data, ok
}

// Set implements pluginapi.SharedStore.
func (s *Store) Set(key string, data []byte, ttl time.Duration) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[key] = value{data: data, expires: now.Add(ttl)}
	s.sweepLocked(now)
}

// SetNX implements pluginapi.SharedStore.
func (s *Store) SetNX(key string, data []byte, ttl time.Duration) bool {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.getLocked(key, now); ok {
		return false
	}
	s.values[key] = value{data: data, expires: now.Add(ttl)}
	s.sweepLocked(now)
	return true
}

// Expire implements pluginapi.SharedStore.
func (s *Store) Expire(key string, ttl time.Duration) bool {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.getLocked(key, now); ok {
		v.expires = now.Add(ttl)
		s.values[key] = v
		return true
	}
	return s.expireListLocked("", key, ttl, now)
}

// Delete implements pluginapi.SharedStore.
func (s *Store) Delete(keys ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		delete(s.values, k)
		s.deleteListLocked("", k)
	}
}

// DeleteIf implements pluginapi.SharedStore.
func (s *Store) DeleteIf(key string, data []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.values[key]; ok && string(v.data) == string(data) {
		delete(s.values, key)
		return true
	}
	return false
}

// Incr implements pluginapi.SharedStore.
func (s *Store) Incr(key string, ttl time.Duration) int64 {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.getLocked(key, now)
	if !ok {
		v = value{expires: now.Add(ttl)}
	}
	v.count++
	s.values[key] = v
	s.sweepLocked(now)
	return v.count
}

// Append implements pluginapi.SharedStore.
func (s *Store) Append(key string, data []byte, maxLen int, ttl time.Duration) int64 {
	return s.appendIn("", key, data, maxLen, ttl)
}

func (s *Store) appendIn(prefix, key string, data []byte, maxLen int, ttl time.Duration) int64 {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(prefix, key, data, maxLen, ttl, now)
}

// After implements pluginapi.SharedStore.
func (s *Store) After(key string, index int64) ([][]byte, bool) {
	return s.afterIn("", key, index)
}

func (s *Store) afterIn(prefix, key string, index int64) ([][]byte, bool) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.afterLocked(prefix, key, index, now)
}

// Publish implements pluginapi.SharedStore.
func (s *Store) Publish(channel string, msg []byte) int {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	n := 0
	for sub := range s.subs[channel] {
		if sub.push(pluginapi.SharedMessage{Channel: channel, Payload: msg}) {
			n++
		}
	}
	return n
}

// Subscribe implements pluginapi.SharedStore.
func (s *Store) Subscribe(channels ...string) pluginapi.Subscription {
	sub := &subscription{s: s, channels: channels, ready: make(chan struct{}, 1)}
	s.subMu.Lock()
	for _, c := range channels {
		m := s.subs[c]
		if m == nil {
			m = make(map[*subscription]struct{})
			s.subs[c] = m
		}
		m[sub] = struct{}{}
	}
	s.subMu.Unlock()
	return sub
}

type subscription struct {
	s        *Store
	channels []string
	ready    chan struct{}

	mu    sync.Mutex
	queue []pluginapi.SharedMessage
}

func (sub *subscription) push(m pluginapi.SharedMessage) bool {
	sub.mu.Lock()
	if len(sub.queue) >= subscriptionBacklog {
		sub.mu.Unlock()
		return false
	}
	sub.queue = append(sub.queue, m)
	sub.mu.Unlock()
	select {
	case sub.ready <- struct{}{}:
	default:
	}
	return true
}

func (sub *subscription) Ready() <-chan struct{} { return sub.ready }

func (sub *subscription) Take() []pluginapi.SharedMessage {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	q := sub.queue
	sub.queue = nil
	return q
}

func (sub *subscription) Close() {
	sub.s.subMu.Lock()
	defer sub.s.subMu.Unlock()
	for _, c := range sub.channels {
		if m := sub.s.subs[c]; m != nil {
			delete(m, sub)
			if len(m) == 0 {
				delete(sub.s.subs, c)
			}
		}
	}
}

// namespaced is a Store seen through a key and channel prefix.
type namespaced struct {
	s      *Store
	prefix string
}

func (n *namespaced) k(key string) string { return n.prefix + key }

func (n *namespaced) Get(key string) ([]byte, bool) { return n.s.Get(n.k(key)) }
func (n *namespaced) Set(key string, v []byte, ttl time.Duration) {
	n.s.Set(n.k(key), v, ttl)
}
func (n *namespaced) SetNX(key string, v []byte, ttl time.Duration) bool {
	return n.s.SetNX(n.k(key), v, ttl)
}
func (n *namespaced) Expire(key string, ttl time.Duration) bool { return n.s.Expire(n.k(key), ttl) }
func (n *namespaced) Delete(keys ...string) {
	ks := make([]string, len(keys))
	for i, k := range keys {
		ks[i] = n.k(k)
	}
	n.s.Delete(ks...)
}
func (n *namespaced) DeleteIf(key string, v []byte) bool { return n.s.DeleteIf(n.k(key), v) }
func (n *namespaced) Incr(key string, ttl time.Duration) int64 {
	return n.s.Incr(n.k(key), ttl)
}
func (n *namespaced) Append(key string, v []byte, maxLen int, ttl time.Duration) int64 {
	return n.s.appendIn(n.prefix, key, v, maxLen, ttl)
}
func (n *namespaced) After(key string, index int64) ([][]byte, bool) {
	return n.s.afterIn(n.prefix, key, index)
}
func (n *namespaced) Publish(channel string, msg []byte) int {
	return n.s.Publish(n.k(channel), msg)
}
func (n *namespaced) Subscribe(channels ...string) pluginapi.Subscription {
	cs := make([]string, len(channels))
	for i, c := range channels {
		cs[i] = n.k(c)
	}
	return &nsSub{Subscription: n.s.Subscribe(cs...), prefix: n.prefix}
}

// nsSub strips the namespace from the channels of taken messages.
type nsSub struct {
	pluginapi.Subscription
	prefix string
}

func (s *nsSub) Take() []pluginapi.SharedMessage {
	ms := s.Subscription.Take()
	for i := range ms {
		ms[i].Channel = strings.TrimPrefix(ms[i].Channel, s.prefix)
	}
	return ms
}

var (
	_ pluginapi.SharedStore = (*Store)(nil)
	_ pluginapi.SharedStore = (*namespaced)(nil)
)
