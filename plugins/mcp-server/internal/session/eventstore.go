package session

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// EventStore is an mcp.EventStore on Redis, so that a client can
// resume a stream with Last-Event-ID on any instance. Without Redis it keeps
// events in a Memory, so that any plugin instance of the process can
// replay them.
//
// In Redis a stream's events are a list, so that a call's stream costs
// Redis about its events (a Redis stream preallocates 4 KiB or more: with a
// stream per call, kept ttl, that is the difference between megabytes and
// gigabytes), appended with plain commands in one MULTI (a Lua script costs
// Redis some 20 µs per call more), on a connection of the store's own
// (appendConn) unless Redis is a cluster. Event i is entry i-base, base counting
// the entries trimmed from the front (a counter key, made by the first
// trim). Streams expire ttl after their last append and keep their last
// maxLen events, trimmed in batches of a quarter of that. Appends that
// overlap share one MULTI (appendQueue).
//
// SessionClosed does not remove events: a session closes on an instance
// when that instance stops (or is replaced by a configuration change),
// while the client may resume elsewhere. Call Delete when the session ends
// for good (HTTP DELETE).
type EventStore struct {
	redis  RedisFunc
	mem    pluginapi.SharedStore
	ttl    time.Duration
	maxLen int64

	appends appendQueue // Redis appends that overlap share a transaction
	conn    appendConn  // the connection they take on a standalone or Sentinel Redis

	// opened holds the streams (streamKey) opened here and not yet
	// listed in Redis: the first append lists its stream in the same
	// round trip, and a stream that never gets an event is not listed.
	openedMu sync.Mutex
	opened   map[string]struct{}
}

// NewEventStore returns an event store whose streams expire ttl after their
// last event and keep at most maxLen events each, in Redis when rf returns
// a client and in mem otherwise.
func NewEventStore(rf RedisFunc, mem *Memory, ttl time.Duration, maxLen int64) *EventStore {
	return &EventStore{redis: rf, mem: mem.store, ttl: ttl, maxLen: maxLen, opened: map[string]struct{}{}}
}

func streamKey(sessionID, streamID string) string {
	if streamID == "" {
		streamID = "-"
	}
	return KeyPrefix + "eventlist:{" + sessionID + "}:" + streamID // streamKeyPrefix + streamID
}

// streamKeyPrefix begins the streamKey of every stream of a session.
func streamKeyPrefix(sessionID string) string { return KeyPrefix + "eventlist:{" + sessionID + "}:" }

// baseKey is the counter of the entries trimmed from the front of the
// stream whose event list is key (streamKey).
func baseKey(key string) string {
	return KeyPrefix + "eventbase:" + strings.TrimPrefix(key, KeyPrefix+"eventlist:")
}

// trackedStreams is how many of a session's latest streams are listed
// for Delete. A session makes a stream per call: a list of all of them
// would grow with every call for the session's life. Streams not listed
// any more are older; they expire ttl after their last event.
//
// In Redis the list is trimmed back to trackedStreams once it holds a
// quarter more (a command apart, once in trackedStreams/4 new streams,
// not one in each append's transaction): Delete then removes the latest
// trackedStreams streams, or up to a quarter more.
const trackedStreams = 256

// streamListKey lists a session's latest streams (their streamKey), in
// the order they got their first event (in Redis, their first event on
// the instance that opened them).
func streamListKey(sessionID string) string { return KeyPrefix + "event-streams:{" + sessionID + "}" }

// legacyStreamSetKey is where builds before 2026-12-06 listed a
// session's streams in Redis: a sorted set by time of the last append
// (a ZADD per append, the dearest command of the append). Delete still
// reads it, so that a session that began on such a build leaves nothing
// behind.
func legacyStreamSetKey(sessionID string) string { return KeyPrefix + "eventlists:{" + sessionID + "}" }

// Open implements mcp.EventStore: the stream's first append here lists
// it for Delete, in the same round trip. (The SDK opens every stream it
// makes; OpenAppend opens one with its first events.) In memory a stream
// is listed at its first event.
func (s *EventStore) Open(ctx context.Context, sessionID, streamID string) error {
	if s.redis() == nil {
		return nil
	}
	s.openedMu.Lock()
	s.opened[streamKey(sessionID, streamID)] = struct{}{}
	s.openedMu.Unlock()
	return nil
}

// firstAppend reports whether key was opened here and is not listed yet,
// and forgets it.
func (s *EventStore) firstAppend(key string) bool {
	s.openedMu.Lock()
	defer s.openedMu.Unlock()
	if _, ok := s.opened[key]; !ok {
		return false
	}
	delete(s.opened, key)
	return true
}

// OpenAppend opens a new stream and appends its first events, in one
// round trip to Redis: Open and AppendEvents together.
func (s *EventStore) OpenAppend(ctx context.Context, sessionID, streamID string, events ...[]byte) error {
	rc := s.redis()
	if rc == nil {
		return s.AppendEvents(ctx, sessionID, streamID, events...)
	}
	return s.store(ctx, rc, sessionID, streamID, true, events)
}

// Append implements mcp.EventStore.
func (s *EventStore) Append(ctx context.Context, sessionID, streamID string, data []byte) error {
	return s.AppendEvents(ctx, sessionID, streamID, data)
}

// AppendEvents appends events to a stream in order, as Append does one by
// one, in one round trip to Redis, shared with the appends of other
// streams that overlap it (see appendQueue). A cancellation of ctx does
// not stop an append to Redis once queued: the Redis client's read and
// write timeouts bound it.
func (s *EventStore) AppendEvents(ctx context.Context, sessionID, streamID string, events ...[]byte) error {
	if len(events) == 0 {
		return nil
	}
	key := streamKey(sessionID, streamID)
	listKey := streamListKey(sessionID)
	rc := s.redis()
	if rc == nil {
		for _, data := range events {
			if s.mem.Append(key, data, int(s.maxLen), s.ttl) == 0 {
				// A new stream: list it for Delete.
				s.mem.Append(listKey, []byte(key), trackedStreams, s.ttl)
			} else {
				s.mem.Expire(listKey, s.ttl)
			}
		}
		return nil
	}
	return s.store(ctx, rc, sessionID, streamID, s.firstAppend(streamKey(sessionID, streamID)), events)
}

// store appends events to a stream in Redis and, when open, lists the
// stream for Delete. A stream that has had more than maxLen events, and a
// session's list of streams that has grown past trackedStreams by a
// quarter, are trimmed after.
func (s *EventStore) store(ctx context.Context, rc redis.UniversalClient, sessionID, streamID string, open bool, events [][]byte) error {
	key, listKey := streamKey(sessionID, streamID), streamListKey(sessionID)
	a := pendingAppends.Get().(*pendingAppend)
	defer pendingAppends.Put(a)
	a.key, a.listKey, a.open, a.events, a.pushed = key, listKey, open, events, 0
	if _, ok := rc.(*redis.ClusterClient); ok {
		// A cluster has no transaction across sessions' slots.
		s.sendBatch(ctx, rc, []*pendingAppend{a})
	} else {
		s.appends.do(ctx, rc, s, a)
	}
	pushed, listed, err := a.pushed, a.listed, a.err
	a.events, a.err, a.listed = nil, nil, 0
	if err != nil {
		return unavailable("append event", err)
	}
	if listed > trackedStreams+trackedStreams/4 {
		// The events are stored: a trim that fails leaves the list
		// longer, and the session's next new stream trims it.
		_ = rc.LTrim(ctx, listKey, -trackedStreams, -1).Err()
	}
	if s.maxLen > 0 && pushed > s.maxLen+s.maxLen/4 {
		if err := trimScript.Run(ctx, rc, []string{key, baseKey(key)}, s.maxLen, s.ttl.Milliseconds()).Err(); err != nil {
			return unavailable("trim events", err)
		}
	}
	return nil
}

// trimScript keeps the last ARGV[1] entries of the event list KEYS[1] and
// adds the number it removed to the counter KEYS[2], which lives ARGV[2] ms.
var trimScript = redis.NewScript(`
local n = redis.call("LLEN", KEYS[1])
local keep = tonumber(ARGV[1])
if n > keep then
	redis.call("LTRIM", KEYS[1], n - keep, -1)
	redis.call("INCRBY", KEYS[2], n - keep)
	redis.call("PEXPIRE", KEYS[2], ARGV[2])
end
return 1
`)

// afterScript returns the index of the first event kept in list KEYS[1]
// (the trimmed count KEYS[2]) and the entries after event ARGV[1], unless
// some of them were trimmed.
var afterScript = redis.NewScript(`
local base = tonumber(redis.call("GET", KEYS[2]) or "0")
local from = tonumber(ARGV[1]) + 1 - base
if from < 0 then
	return {base}
end
local out = redis.call("LRANGE", KEYS[1], from, -1)
table.insert(out, 1, base)
return out
`)

// After implements mcp.EventStore.
func (s *EventStore) After(ctx context.Context, sessionID, streamID string, index int) iter.Seq2[[]byte, error] {
	rc := s.redis()
	if rc == nil {
		return func(yield func([]byte, error) bool) {
			events, ok := s.mem.After(streamKey(sessionID, streamID), int64(index))
			if !ok {
				yield(nil, fmt.Errorf("events of session %q stream %q after %d: %w", sessionID, streamID, index, mcp.ErrEventsPurged))
				return
			}
			for _, data := range events {
				if !yield(data, nil) {
					return
				}
			}
		}
	}
	return func(yield func([]byte, error) bool) {
		key := streamKey(sessionID, streamID)
		res, err := afterScript.Run(ctx, rc, []string{key, baseKey(key)}, index).Slice()
		if err != nil {
			yield(nil, unavailable("read events", err))
			return
		}
		base, ok := res[0].(int64)
		if !ok {
			yield(nil, fmt.Errorf("read events: unexpected answer %v", res[0]))
			return
		}
		// Event index+1 must still be there.
		if base > int64(index)+1 {
			yield(nil, fmt.Errorf("events of session %q stream %q after %d: %w", sessionID, streamID, index, mcp.ErrEventsPurged))
			return
		}
		for _, e := range res[1:] {
			data, _ := e.(string)
			if !yield([]byte(data), nil) {
				return
			}
		}
	}
}

// Close closes the store's own connection to Redis (appendConn). The
// store stays usable: a later append dials again.
func (s *EventStore) Close() { s.conn.Close() }

// SessionClosed implements mcp.EventStore. It keeps the events (see
// EventStore: they expire or Delete removes them) and forgets the
// session's streams opened here that never got an event.
func (s *EventStore) SessionClosed(ctx context.Context, sessionID string) error {
	prefix := streamKeyPrefix(sessionID)
	s.openedMu.Lock()
	defer s.openedMu.Unlock()
	for key := range s.opened {
		if strings.HasPrefix(key, prefix) {
			delete(s.opened, key)
		}
	}
	return nil
}

// Delete removes the events of a session that ended for good: its latest
// trackedStreams streams, in Redis up to a quarter more (older ones expire
// on their own).
func (s *EventStore) Delete(ctx context.Context, sessionID string) error {
	listKey := streamListKey(sessionID)
	rc := s.redis()
	keys, err := s.listedKeys(ctx, rc, sessionID)
	if err != nil {
		return err
	}
	if rc == nil {
		for _, k := range keys {
			s.mem.Delete(k)
		}
		s.mem.Delete(listKey)
		return nil
	}
	del := make([]string, 0, 2*len(keys)+2)
	for _, k := range keys {
		del = append(del, k, baseKey(k))
	}
	del = append(del, listKey, legacyStreamSetKey(sessionID))
	if err := rc.Del(ctx, del...).Err(); err != nil {
		return unavailable("delete events", err)
	}
	return nil
}

// Streams returns the ids of the session's streams that Delete would
// remove (its latest trackedStreams, in Redis up to a quarter more),
// oldest first; "" is the standalone stream. A stream opened on more than
// one instance may be listed by each.
func (s *EventStore) Streams(ctx context.Context, sessionID string) ([]string, error) {
	keys, err := s.listedKeys(ctx, s.redis(), sessionID)
	if err != nil {
		return nil, err
	}
	prefix := streamKeyPrefix(sessionID)
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = strings.TrimPrefix(k, prefix)
		if ids[i] == "-" {
			ids[i] = ""
		}
	}
	return ids, nil
}

// listedKeys returns the stream keys listed for the session, in memory
// when rc is nil: in Redis also those an earlier build listed
// (legacyStreamSetKey).
func (s *EventStore) listedKeys(ctx context.Context, rc redis.UniversalClient, sessionID string) ([]string, error) {
	listKey := streamListKey(sessionID)
	if rc == nil {
		var keys []string
		for _, k := range listed(s.mem, listKey) {
			keys = append(keys, string(k))
		}
		return keys, nil
	}
	var listedNow, listedBefore *redis.StringSliceCmd
	if _, err := rc.Pipelined(ctx, func(p redis.Pipeliner) error {
		listedBefore = p.ZRange(ctx, legacyStreamSetKey(sessionID), 0, -1)
		listedNow = p.LRange(ctx, listKey, 0, -1)
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return nil, unavailable("list event streams", err)
	}
	return append(listedBefore.Val(), listedNow.Val()...), nil
}

// listed returns every entry the in-memory list key still holds, however
// many were trimmed before them: After(i) reports the entries after index
// i, or that some of them were trimmed; the first index it answers
// without a trim is found by doubling, then halving.
func listed(m pluginapi.SharedStore, key string) [][]byte {
	if all, ok := m.After(key, -1); ok {
		return all
	}
	lo, hi := int64(-1), int64(0) // After(lo) reports a trim
	for {
		if _, ok := m.After(key, hi); ok {
			break
		}
		lo, hi = hi, 2*hi+1
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if _, ok := m.After(key, mid); ok {
			hi = mid
		} else {
			lo = mid
		}
	}
	all, _ := m.After(key, hi)
	return all
}

var _ mcp.EventStore = (*EventStore)(nil)
