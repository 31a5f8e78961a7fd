// Package memstore is the host's in-memory pluginapi.SharedStore: the
// gateway gives each plugin one Store for the life of the process
// (Host.SharedStore). Tests of plugins build their own with New.
package memstore

import (
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// DefaultMaxListBytes caps the lists of a Store together: their entries,
// and for each list its key and listOverhead.
const DefaultMaxListBytes = 32 << 20

// listOverhead is what a list costs the process besides its key and
// entries (its record, its map slot, the record of its first entry's
// place in the order of appends), counted in the size cap: a list is made
// per stream, and streams of one entry each (one per MCP call) would
// otherwise hold memory the cap does not see until they expire.
const listOverhead = 160

// Every sweepEvery-th write looks at sweepSample keys of each map for
// expired ones, and at another sample while a quarter or more of the last
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

	mu     sync.Mutex
	values map[string]value
	lists  map[string]*list
	bytes  int // of all lists: entries, keys and listOverhead each
	writes int
	// order holds the list entries from order[head] on in the order they
	// were appended, so that the size cap drops the oldest first in
	// constant time; some were removed since (maxLen, Delete, expiry) and
	// are skipped. entries counts the entries held.
	order   []entryRef
	head    int
	entries int

	subMu sync.Mutex
	subs  map[string]map[*subscription]struct{} // channel → subscriptions
}

type value struct {
	data    []byte
	count   int64
	expires time.Time
}

func (v value) live(now time.Time) bool { return now.Before(v.expires) }

// list is one list, named key: data[i] is entry first+i. data starts in
// inline: most lists are a stream of one MCP call (two events), and one
// object less per list is less for the garbage collector to mark.
type list struct {
	key     string
	first   int64
	data    [][]byte
	inline  [2][]byte
	size    int
	expires time.Time
	gone    bool // removed from the store
}

// entryRef is entry index of list l.
type entryRef struct {
	l     *list
	index int64
}

// held reports whether the entry is still in the store.
func (r entryRef) held() bool { return !r.l.gone && r.index >= r.l.first }

// removeFirstLocked removes the first entry of l.
func (s *Store) removeFirstLocked(l *list) {
	n := len(l.data[0])
	l.data[0] = nil
	l.data = l.data[1:]
	l.first++
	l.size -= n
	s.bytes -= n
	s.entries--
}

// dropListLocked removes list l.
func (s *Store) dropListLocked(l *list) {
	s.bytes -= l.size + len(l.key) + listOverhead
	s.entries -= len(l.data)
	l.gone = true
	delete(s.lists, l.key)
}

// New returns an empty Store whose lists hold at most maxListBytes
// together (0: DefaultMaxListBytes), counting their keys and listOverhead
// each.
func New(maxListBytes int) *Store {
	if maxListBytes <= 0 {
		maxListBytes = DefaultMaxListBytes
	}
	return &Store{
		maxListBytes: maxListBytes,
		values:       make(map[string]value),
		lists:        make(map[string]*list),
		subs:         make(map[string]map[*subscription]struct{}),
	}
}

// Namespace returns a view of s whose keys and channels are prefixed with
// prefix, so that several plugins share one Store without meeting.
func (s *Store) Namespace(prefix string) pluginapi.SharedStore {
	return &namespaced{s: s, prefix: prefix}
}

// sweepLocked removes expired keys from a sample of the keys, every
// sweepEvery writes (Go starts each range over a map at a random place).
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
		for _, l := range s.lists {
			if !now.Before(l.expires) {
				s.dropListLocked(l)
				expired++
			}
			if seen++; seen == 2*sweepSample {
				break
			}
		}
		if expired*4 < seen {
			return
		}
	}
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
	if l := s.lists[key]; l != nil && now.Before(l.expires) {
		l.expires = now.Add(ttl)
		return true
	}
	return false
}

// Delete implements pluginapi.SharedStore.
func (s *Store) Delete(keys ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		delete(s.values, k)
		if l := s.lists[k]; l != nil {
			s.dropListLocked(l)
		}
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
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lists[key]
	if l == nil || !now.Before(l.expires) {
		if l != nil {
			s.dropListLocked(l)
		}
		l = &list{key: key}
		l.data = l.inline[:0]
		s.lists[key] = l
		s.bytes += len(key) + listOverhead
	}
	l.data = append(l.data, data)
	l.size += len(data)
	l.expires = now.Add(ttl)
	s.bytes += len(data)
	s.entries++
	index := l.first + int64(len(l.data)) - 1
	s.order = append(s.order, entryRef{l: l, index: index})
	for maxLen > 0 && len(l.data) > maxLen {
		s.removeFirstLocked(l)
	}
	s.sweepLocked(now)
	s.purgeLocked()
	s.compactLocked()
	return index
}

// purgeLocked drops the oldest entries of all lists until the total is
// within the cap, but not the entry just appended (the last in order). A
// list it empties goes, as Redis evicts a key under its memory limit: it
// then reads as missing, and a new entry starts it again at index 0.
func (s *Store) purgeLocked() {
	for s.bytes > s.maxListBytes && s.head < len(s.order)-1 {
		r := s.order[s.head]
		s.order[s.head] = entryRef{}
		s.head++
		if r.held() {
			s.removeFirstLocked(r.l) // the oldest of its list: order is append order
			if len(r.l.data) == 0 {
				s.dropListLocked(r.l)
			}
		}
	}
}

// compactLocked keeps order from growing beyond twice the entries held
// (plus some), in amortized constant time per append.
func (s *Store) compactLocked() {
	n := len(s.order) - s.head
	if n <= 1024 || n <= 2*s.entries {
		if s.head > 1024 && s.head > n {
			s.order = append(s.order[:0], s.order[s.head:]...)
			clear(s.order[len(s.order):cap(s.order)])
			s.head = 0
		}
		return
	}
	kept := s.order[:0]
	for _, r := range s.order[s.head:] {
		if r.held() {
			kept = append(kept, r)
		}
	}
	clear(s.order[len(kept):])
	s.order = kept
	s.head = 0
}

// After implements pluginapi.SharedStore.
func (s *Store) After(key string, index int64) ([][]byte, bool) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lists[key]
	if l == nil || !now.Before(l.expires) {
		return nil, true
	}
	start := index + 1 - l.first
	if start < 0 {
		return nil, false
	}
	if start >= int64(len(l.data)) {
		return nil, true
	}
	return append([][]byte(nil), l.data[start:]...), true
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
	return n.s.Append(n.k(key), v, maxLen, ttl)
}
func (n *namespaced) After(key string, index int64) ([][]byte, bool) {
	return n.s.After(n.k(key), index)
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
