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

func streamSetKey(sessionID string) string { return KeyPrefix + "events:{" + sessionID + "}" }

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
	setKey := streamSetKey(sessionID)
	rc := s.redis()
	if rc == nil {
		for _, data := range events {
			if s.mem.Append(key, data, int(s.maxLen), s.ttl) == 0 {
				// A new stream: remember it for Delete.
				s.mem.Append(setKey, []byte(key), 0, s.ttl)
			} else {
				s.mem.Expire(setKey, s.ttl)
			}
		}
		return nil
	}
	args := make([]any, 0, len(events)+2)
	args = append(args, s.maxLen, s.ttl.Milliseconds())
	for _, data := range events {
		args = append(args, data)
	}
	if err := appendScript.Run(ctx, rc, []string{key, setKey}, args...).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return unavailable("append event", err)
	}
	return nil
}

// appendScript appends events ARGV[3:] to stream KEYS[1] (at most ARGV[1]
// entries, approximately; 0: no bound), refreshes its time to live (ARGV[2] ms) and
// records it in the session's set of streams KEYS[2]: one command, where
// a MULTI pipeline costs seven round-trip replies to parse.
var appendScript = redis.NewScript(`
for i = 3, #ARGV do
	if ARGV[1] == "0" then
		redis.call("XADD", KEYS[1], "0-*", "d", ARGV[i])
	else
		redis.call("XADD", KEYS[1], "MAXLEN", "~", ARGV[1], "0-*", "d", ARGV[i])
	end
end
redis.call("PEXPIRE", KEYS[1], ARGV[2])
redis.call("SADD", KEYS[2], KEYS[1])
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

// Delete removes every event of a session that ended for good.
func (s *EventStore) Delete(ctx context.Context, sessionID string) error {
	rc := s.redis()
	if rc == nil {
		setKey := streamSetKey(sessionID)
		keys, _ := s.mem.After(setKey, -1)
		for _, k := range keys {
			s.mem.Delete(string(k))
		}
		s.mem.Delete(setKey)
		return nil
	}
	setKey := streamSetKey(sessionID)
	keys, err := rc.SMembers(ctx, setKey).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return unavailable("list event streams", err)
	}
	keys = append(keys, setKey)
	if err := rc.Del(ctx, keys...).Err(); err != nil {
		return unavailable("delete events", err)
	}
	return nil
}

var _ mcp.EventStore = (*EventStore)(nil)
