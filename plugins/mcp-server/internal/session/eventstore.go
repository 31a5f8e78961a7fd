package session

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
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
// In Redis a stream's events are a list whose entries are "i data" (event
// i of the stream), so that After is one command. A Redis list of a few
// entries costs about the entries' size; a Redis stream would cost 4 KiB
// or more (Redis preallocates its first node): with a stream per call, kept
// ttl, that is the difference between megabytes and gigabytes. Streams
// expire ttl after their last append and keep at most maxLen events.
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
}

// NewEventStore returns an event store whose streams expire ttl after their
// last event and keep at most maxLen events each, in Redis when rf returns
// a client and in mem otherwise.
func NewEventStore(rf RedisFunc, mem *Memory, ttl time.Duration, maxLen int64) *EventStore {
	return &EventStore{redis: rf, mem: mem.store, ttl: ttl, maxLen: maxLen}
}

func streamKey(sessionID, streamID string) string {
	if streamID == "" {
		streamID = "-"
	}
	return KeyPrefix + "eventlist:{" + sessionID + "}:" + streamID
}

// trackedStreams is how many of a session's latest streams are listed
// for Delete. A session makes a stream per call: a list of all of them
// would grow with every call for the session's life. Streams not listed
// any more are older; they expire ttl after their last event.
const trackedStreams = 256

// streamListKey is the list of a session's latest streams.
func streamListKey(sessionID string) string { return KeyPrefix + "event-streams:{" + sessionID + "}" }

// Open implements mcp.EventStore. A stream needs no preparation: it starts
// with its first event.
func (s *EventStore) Open(ctx context.Context, sessionID, streamID string) error {
	return nil
}

// Append implements mcp.EventStore.
func (s *EventStore) Append(ctx context.Context, sessionID, streamID string, data []byte) error {
	return s.AppendEvents(ctx, sessionID, streamID, data)
}

// AppendEvents appends events to a stream in order, as Append does one by
// one, in one round trip to Redis.
func (s *EventStore) AppendEvents(ctx context.Context, sessionID, streamID string, events ...[]byte) error {
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
	args := make([]any, 0, len(events)+3)
	args = append(args, s.maxLen, s.ttl.Milliseconds(), trackedStreams)
	for _, data := range events {
		args = append(args, data)
	}
	if err := appendScript.Run(ctx, rc, []string{key, listKey}, args...).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return unavailable("append event", err)
	}
	return nil
}

// appendScript appends events ARGV[4:] to the event list KEYS[1] (keeping
// its last ARGV[1] entries; 0: all), each as "index data", refreshes its
// time to live (ARGV[2] ms), and lists a new stream in the session's list
// of its latest ARGV[3] streams KEYS[2]: one command, where a MULTI
// pipeline costs seven round-trip replies to parse.
var appendScript = redis.NewScript(`
local next = 0
local last = redis.call("LINDEX", KEYS[1], -1)
if last then
	next = tonumber(string.match(last, "^(%d+) ")) + 1
else
	redis.call("RPUSH", KEYS[2], KEYS[1])
	redis.call("LTRIM", KEYS[2], -tonumber(ARGV[3]), -1)
end
for i = 4, #ARGV do
	redis.call("RPUSH", KEYS[1], string.format("%d ", next) .. ARGV[i])
	next = next + 1
end
if ARGV[1] ~= "0" then
	redis.call("LTRIM", KEYS[1], -tonumber(ARGV[1]), -1)
end
redis.call("PEXPIRE", KEYS[1], ARGV[2])
redis.call("PEXPIRE", KEYS[2], ARGV[2])
return 1
`)

// afterScript returns the index of the first event kept in list KEYS[1]
// (-1: none) and the entries after event ARGV[1].
var afterScript = redis.NewScript(`
local first = redis.call("LINDEX", KEYS[1], 0)
if not first then
	return {-1}
end
local f = tonumber(string.match(first, "^(%d+) "))
local from = tonumber(ARGV[1]) + 1 - f
if from < 0 then
	from = 0
end
local out = redis.call("LRANGE", KEYS[1], from, -1)
table.insert(out, 1, f)
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
		res, err := afterScript.Run(ctx, rc, []string{streamKey(sessionID, streamID)}, index).Slice()
		if err != nil {
			yield(nil, unavailable("read events", err))
			return
		}
		first, ok := res[0].(int64)
		if !ok {
			yield(nil, fmt.Errorf("read events: unexpected answer %v", res[0]))
			return
		}
		// Event index+1 must still be there.
		if first > int64(index)+1 {
			yield(nil, fmt.Errorf("events of session %q stream %q after %d: %w", sessionID, streamID, index, mcp.ErrEventsPurged))
			return
		}
		for _, e := range res[1:] {
			entry, _ := e.(string)
			_, data, ok := strings.Cut(entry, " ")
			if !ok {
				yield(nil, fmt.Errorf("read events: malformed entry %.20q", entry))
				return
			}
			if !yield([]byte(data), nil) {
				return
			}
		}
	}
}

// SessionClosed implements mcp.EventStore. It does nothing (see
// EventStore): the events expire or Delete removes them.
func (s *EventStore) SessionClosed(ctx context.Context, sessionID string) error {
	return nil
}

// Delete removes the events of a session that ended for good: its latest
// trackedStreams streams (older ones expire on their own).
func (s *EventStore) Delete(ctx context.Context, sessionID string) error {
	listKey := streamListKey(sessionID)
	rc := s.redis()
	if rc == nil {
		for _, k := range listed(s.mem, listKey) {
			s.mem.Delete(string(k))
		}
		s.mem.Delete(listKey)
		return nil
	}
	keys, err := rc.LRange(ctx, listKey, 0, -1).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return unavailable("list event streams", err)
	}
	keys = append(keys, listKey)
	if err := rc.Del(ctx, keys...).Err(); err != nil {
		return unavailable("delete events", err)
	}
	return nil
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
