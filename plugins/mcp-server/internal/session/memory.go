package session

import (
	"fmt"
	"sync"
	"time"
)

// Memory is what the plugin instances of one process share when Redis is
// not configured, the way instances share Redis: session records, stream
// holders and requesters, events kept for resumption, the handoff between
// owners and rate-limit counters. A configuration change starts new plugin
// instances next to the old ones; sharing one Memory lets them serve each
// other's sessions, as instances of several processes do through Redis.
//
// Everything in it expires as it would in Redis (records, holders and
// streams after their time to live, windows after their minute), swept now
// and then on writes; events are also capped in total size. It is safe for
// concurrent use.
type Memory struct {
	reg    memRegistry
	events memEvents
	bus    memBus
	limits memLimits
}

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{
		reg:    memRegistry{records: make(map[string]memValue), values: make(map[string]memValue)},
		events: memEvents{sessions: make(map[string]map[string]*memStream)},
		bus:    memBus{inboxes: make(map[string]*memSub), subs: make(map[*memSub]struct{})},
		limits: memLimits{windows: make(map[string]memWindow)},
	}
}

// sweepEvery is how many writes pass between two sweeps of expired
// entries.
const sweepEvery = 256

// memValue is a value with an expiry.
type memValue struct {
	data    []byte
	expires time.Time
}

func (v memValue) live(now time.Time) bool { return now.Before(v.expires) }

// memRegistry holds session records and the small keys that go with them
// (stream holders, requesters).
type memRegistry struct {
	mu      sync.Mutex
	records map[string]memValue // session id → JSON record
	values  map[string]memValue // other keys (holderKey, requesterKey) → owner
	writes  int
}

// sweepLocked removes expired entries every sweepEvery writes.
func (m *memRegistry) sweepLocked(now time.Time) {
	m.writes++
	if m.writes%sweepEvery != 0 {
		return
	}
	for k, v := range m.records {
		if !v.live(now) {
			delete(m.records, k)
		}
	}
	for k, v := range m.values {
		if !v.live(now) {
			delete(m.values, k)
		}
	}
}

func (m *memRegistry) get(table map[string]memValue, key string) ([]byte, bool) {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := table[key]
	if ok && !v.live(now) {
		delete(table, key)
		return nil, false
	}
	return v.data, ok
}

func (m *memRegistry) set(table map[string]memValue, key string, data []byte, ttl time.Duration) {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	table[key] = memValue{data: data, expires: now.Add(ttl)}
	m.sweepLocked(now)
}

// setNX sets key unless it holds a live value, and reports whether it did.
func (m *memRegistry) setNX(table map[string]memValue, key string, data []byte, ttl time.Duration) bool {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := table[key]; ok && v.live(now) {
		return false
	}
	table[key] = memValue{data: data, expires: now.Add(ttl)}
	m.sweepLocked(now)
	return true
}

// expire restarts the time to live of a live key, and reports whether it
// was live.
func (m *memRegistry) expire(table map[string]memValue, key string, ttl time.Duration) bool {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := table[key]
	if !ok || !v.live(now) {
		delete(table, key)
		return false
	}
	v.expires = now.Add(ttl)
	table[key] = v
	return true
}

func (m *memRegistry) del(table map[string]memValue, key string) {
	m.mu.Lock()
	delete(table, key)
	m.mu.Unlock()
}

// delIf deletes key only while it holds data.
func (m *memRegistry) delIf(table map[string]memValue, key string, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := table[key]; ok && string(v.data) == string(data) {
		delete(table, key)
	}
}

// memEventsMaxBytes caps the events kept in memory for resumption, over
// every session of the process; beyond it the oldest events of each stream
// go first (a client resuming from them is told they were purged).
const memEventsMaxBytes = 32 << 20

// memEvents holds event streams by session and stream id.
type memEvents struct {
	mu       sync.Mutex
	sessions map[string]map[string]*memStream
	bytes    int
	appends  int
}

// memStream is one stream's events: data[i] is event first+i.
type memStream struct {
	first   int
	data    [][]byte
	size    int
	expires time.Time
}

func (s *memStream) removeFirst() int {
	n := len(s.data[0])
	s.data[0] = nil
	s.data = s.data[1:]
	s.first++
	s.size -= n
	return n
}

func (e *memEvents) append(sessionID, streamID string, data []byte, ttl time.Duration, maxLen int64) {
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	streams := e.sessions[sessionID]
	if streams == nil {
		streams = make(map[string]*memStream)
		e.sessions[sessionID] = streams
	}
	st := streams[streamID]
	if st == nil || !now.Before(st.expires) {
		if st != nil {
			e.bytes -= st.size
		}
		st = &memStream{}
		streams[streamID] = st
	}
	st.data = append(st.data, data)
	st.size += len(data)
	st.expires = now.Add(ttl)
	e.bytes += len(data)
	for maxLen > 0 && int64(len(st.data)) > maxLen {
		e.bytes -= st.removeFirst()
	}
	e.appends++
	if e.appends%sweepEvery == 0 || e.bytes > memEventsMaxBytes {
		e.sweepLocked(now)
	}
	e.purgeLocked(st)
}

// sweepLocked removes expired streams.
func (e *memEvents) sweepLocked(now time.Time) {
	for sid, streams := range e.sessions {
		for id, st := range streams {
			if !now.Before(st.expires) {
				e.bytes -= st.size
				delete(streams, id)
			}
		}
		if len(streams) == 0 {
			delete(e.sessions, sid)
		}
	}
}

// purgeLocked drops the oldest event of every stream until the total is
// within the cap, keeping the event just appended to keep.
func (e *memEvents) purgeLocked(keep *memStream) {
	for e.bytes > memEventsMaxBytes {
		progress := false
		for _, streams := range e.sessions {
			for _, st := range streams {
				if len(st.data) > 1 || (len(st.data) == 1 && st != keep) {
					e.bytes -= st.removeFirst()
					progress = true
				}
			}
		}
		if !progress {
			return
		}
	}
}

// after returns the events of a stream after index, or an error wrapping
// purged when the one just after index is gone. An unknown stream has no
// events.
func (e *memEvents) after(sessionID, streamID string, index int, purged error) ([][]byte, error) {
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.sessions[sessionID][streamID]
	if st == nil || !now.Before(st.expires) {
		return nil, nil
	}
	start := index + 1 - st.first
	if start < 0 {
		return nil, fmt.Errorf("events of session %q stream %q after %d: %w", sessionID, streamID, index, purged)
	}
	if start >= len(st.data) {
		return nil, nil
	}
	return append([][]byte(nil), st.data[start:]...), nil
}

func (e *memEvents) delete(sessionID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, st := range e.sessions[sessionID] {
		e.bytes -= st.size
	}
	delete(e.sessions, sessionID)
}

// memInboxLimit bounds the messages waiting for one owner, as Redis bounds
// the output buffer of a subscriber; callbacks do not block, so a live
// owner never gets near it.
const memInboxLimit = 1 << 16

// memBus is the publish/subscribe of the handoff: one inbox per owner, and
// the announcement of sessions that ended, to every subscriber.
type memBus struct {
	mu      sync.Mutex
	inboxes map[string]*memSub
	subs    map[*memSub]struct{}
}

// memSub is one subscription: what was published to it, in order.
type memSub struct {
	mu     sync.Mutex
	queue  []memItem
	signal chan struct{} // one token when queue may be non-empty
}

// memItem is a message for the owner, or (closed != "") a session that
// ended.
type memItem struct {
	msg    Message
	closed string
}

func (b *memBus) subscribe(owner string) *memSub {
	s := &memSub{signal: make(chan struct{}, 1)}
	b.mu.Lock()
	b.inboxes[owner] = s
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

func (b *memBus) unsubscribe(owner string, s *memSub) {
	b.mu.Lock()
	if b.inboxes[owner] == s {
		delete(b.inboxes, owner)
	}
	delete(b.subs, s)
	b.mu.Unlock()
}

// publish gives m to the subscriber of owner and reports whether there was
// one that could take it.
func (b *memBus) publish(owner string, m Message) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.inboxes[owner]
	return s != nil && s.push(memItem{msg: m})
}

// publishClosed tells every subscriber that session id ended.
func (b *memBus) publishClosed(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.push(memItem{closed: id})
	}
}

func (s *memSub) push(it memItem) bool {
	s.mu.Lock()
	if len(s.queue) >= memInboxLimit {
		s.mu.Unlock()
		return false
	}
	s.queue = append(s.queue, it)
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
	return true
}

// take returns and clears what was published to s.
func (s *memSub) take() []memItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = nil
	return q
}

// memLimits holds the rate-limit windows.
type memLimits struct {
	mu      sync.Mutex
	windows map[string]memWindow
}

type memWindow struct {
	start time.Time
	count int
}

// count counts one call of key in the window that starts at start and
// returns the calls of the window so far.
func (l *memLimits) count(key string, start time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.windows[key]
	if !w.start.Equal(start) {
		w = memWindow{start: start}
		if len(l.windows) > 4096 {
			for k, old := range l.windows {
				if old.start.Before(start) {
					delete(l.windows, k)
				}
			}
		}
	}
	w.count++
	l.windows[key] = w
	return w.count
}
