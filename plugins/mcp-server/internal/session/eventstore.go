package session

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// EventStore is an mcp.EventStore on Redis Streams, so that a client can
// resume a stream with Last-Event-ID on any instance. Without Redis it keeps
// events in a Memory, so that any plugin instance of the process can
// replay them.
//
// Event i of a stream is stored with the stream entry id 0-(i+1), so that
// After is one range query. Streams expire ttl after their last append and
// keep at most maxLen events.
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
	return KeyPrefix + "events:{" + sessionID + "}:" + streamID
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

// appendScript appends events ARGV[4:] to stream KEYS[1] (at most ARGV[1]
// entries, approximately; 0: no bound), refreshes its time to live
// (ARGV[2] ms), and lists a new stream in the session's list of its latest
// ARGV[3] streams KEYS[2]: one command, where a MULTI pipeline costs seven
// round-trip replies to parse.
var appendScript = redis.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 0 then
	redis.call("RPUSH", KEYS[2], KEYS[1])
	redis.call("LTRIM", KEYS[2], -tonumber(ARGV[3]), -1)
end
for i = 4, #ARGV do
	if ARGV[1] == "0" then
		redis.call("XADD", KEYS[1], "0-*", "d", ARGV[i])
	else
		redis.call("XADD", KEYS[1], "MAXLEN", "~", ARGV[1], "0-*", "d", ARGV[i])
	end
end
redis.call("PEXPIRE", KEYS[1], ARGV[2])
redis.call("PEXPIRE", KEYS[2], ARGV[2])
return 1
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
		var first, rest *redis.XMessageSliceCmd
		_, err := rc.Pipelined(ctx, func(p redis.Pipeliner) error {
			first = p.XRangeN(ctx, key, "-", "+", 1)
			rest = p.XRange(ctx, key, "(0-"+strconv.Itoa(index+1), "+")
			return nil
		})
		if err != nil {
			yield(nil, unavailable("read events", err))
			return
		}
		if f := first.Val(); len(f) > 0 {
			seq, err := entrySeq(f[0].ID)
			if err != nil {
				yield(nil, err)
				return
			}
			// Entry index+1 (sequence index+2) must still be there.
			if seq > int64(index)+2 {
				yield(nil, fmt.Errorf("events of session %q stream %q after %d: %w", sessionID, streamID, index, mcp.ErrEventsPurged))
				return
			}
		}
		for _, m := range rest.Val() {
			var data []byte
			switch v := m.Values["d"].(type) {
			case string:
				data = []byte(v)
			case []byte:
				data = v
			}
			if !yield(data, nil) {
				return
			}
		}
	}
}

func entrySeq(id string) (int64, error) {
	_, seq, ok := strings.Cut(id, "-")
	if !ok {
		return 0, fmt.Errorf("malformed stream entry id %q", id)
	}
	n, err := strconv.ParseInt(seq, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("malformed stream entry id %q: %w", id, err)
	}
	return n, nil
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
