// Package session keeps what several gateway instances share about MCP
// sessions: the session registry, the event store used to resume streams and
// the cross-instance delivery of legacy SSE messages. Each part runs on Redis
// when a client is available and otherwise on a Memory that every plugin
// instance of the process shares (one process, same behaviour: the
// instances a configuration change starts serve the sessions of the ones
// it replaces).
package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// KeyPrefix starts every Redis key and channel the plugin uses.
const KeyPrefix = "gatehouse:mcp:"

// ErrNotFound is returned for a session that does not exist or has expired.
var ErrNotFound = errors.New("session not found")

// ErrUnavailable wraps every failure to reach Redis.
var ErrUnavailable = errors.New("session store unavailable")

// ErrForbidden is returned for a session that belongs to another consumer.
var ErrForbidden = errors.New("session belongs to another consumer")

// RedisFunc returns the current Redis client, or nil while Redis is not
// configured. It is called for each use because the client can change.
type RedisFunc func() redis.UniversalClient

// unavailable wraps a Redis error so that a person knows what to fix.
func unavailable(op string, err error) error {
	return fmt.Errorf("%w: redis %s: %w — is Redis running and reachable from the gateway? check Settings → Redis", ErrUnavailable, op, err)
}

// Transport names how a session's client is connected.
type Transport string

// The transports a session can use.
const (
	TransportStreamable Transport = "streamable"
	TransportSSE        Transport = "sse"
)

// Record is what the registry keeps about one session.
type Record struct {
	// ID is the session id (Mcp-Session-Id, or the legacy sessionId).
	ID string `json:"id"`
	// Server is the name of the MCP server definition the session belongs to.
	Server string `json:"server"`
	// Transport is how the client is connected.
	Transport Transport `json:"transport"`
	// Owner is the plugin instance that created the session or holds its
	// legacy SSE stream (see Handoff).
	Owner string `json:"owner"`
	// State is the MCP session state (initialize parameters, negotiated
	// version, log level) used to rebuild the session on another instance.
	State *mcp.ServerSessionState `json:"state,omitempty"`
	// InitializeParams are the params of the client's initialize request as
	// sent, replayed to rebuild the session on another instance.
	InitializeParams json.RawMessage `json:"initializeParams,omitempty"`
	// Consumer is the authenticated consumer the session is bound to.
	Consumer string `json:"consumer,omitempty"`
	// AllowTools is the x-gatehouse-allow-tools header of the request that
	// created the session.
	AllowTools string `json:"allowTools,omitempty"`
	// UpstreamSessionID is the session id of an mcp-proxy upstream.
	UpstreamSessionID string `json:"upstreamSessionId,omitempty"`
	// UpstreamInitRequest is the JSON-RPC initialize request that started
	// the upstream session, replayed when the upstream forgets the session
	// (mcp-proxy).
	UpstreamInitRequest json.RawMessage `json:"upstreamInitRequest,omitempty"`
	// UpstreamInit is the upstream's initialize result (mcp-proxy).
	UpstreamInit json.RawMessage `json:"upstreamInit,omitempty"`
	// CreatedAt is when the session was created.
	CreatedAt time.Time `json:"createdAt"`
}

// Registry maps session ids to Records with a time to live that use
// refreshes. It is safe for concurrent use.
type Registry struct {
	redis RedisFunc
	mem   pluginapi.SharedStore
	ttl   time.Duration
}

// NewRegistry returns a registry whose records live ttl after their last
// use, in Redis when rf returns a client and in mem otherwise.
func NewRegistry(rf RedisFunc, mem *Memory, ttl time.Duration) *Registry {
	return &Registry{redis: rf, mem: mem.store, ttl: ttl}
}

// TTL returns the time a record lives after its last use.
func (r *Registry) TTL() time.Duration { return r.ttl }

// Remote reports whether the registry is in Redis, where other processes
// share it and where records can be lost (Redis restarted without its
// data, was flushed). In memory it is shared by this process only.
func (r *Registry) Remote() bool { return r.redis() != nil }

func recordKey(id string) string { return KeyPrefix + "session:{" + id + "}" }

// Get returns the record of session id, ErrNotFound, or an error wrapping
// ErrUnavailable.
func (r *Registry) Get(ctx context.Context, id string) (*Record, error) {
	var data []byte
	if rc := r.redis(); rc != nil {
		b, err := rc.Get(ctx, recordKey(id)).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, unavailable("get session", err)
		}
		data = b
	} else {
		b, ok := r.mem.Get(recordKey(id))
		if !ok {
			return nil, ErrNotFound
		}
		data = b
	}
	rec := new(Record)
	if err := json.Unmarshal(data, rec); err != nil {
		return nil, fmt.Errorf("decode session %q: %w", id, err)
	}
	return rec, nil
}

// Put writes rec and restarts its time to live.
func (r *Registry) Put(ctx context.Context, rec *Record) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode session %q: %w", rec.ID, err)
	}
	if rc := r.redis(); rc != nil {
		if err := rc.Set(ctx, recordKey(rec.ID), data, r.ttl).Err(); err != nil {
			return unavailable("save session", err)
		}
		return nil
	}
	r.mem.Set(recordKey(rec.ID), data, r.ttl)
	return nil
}

// Update reads the record of session id, applies fn and writes it back.
// Concurrent updates of one session are last-writer-wins.
func (r *Registry) Update(ctx context.Context, id string, fn func(*Record)) error {
	rec, err := r.Get(ctx, id)
	if err != nil {
		return err
	}
	fn(rec)
	return r.Put(ctx, rec)
}

// Touch restarts the time to live of session id. It returns ErrNotFound
// when the record is gone (expired or deleted elsewhere).
func (r *Registry) Touch(ctx context.Context, id string) error {
	if rc := r.redis(); rc != nil {
		ok, err := rc.Expire(ctx, recordKey(id), r.ttl).Result()
		if err != nil {
			return unavailable("refresh session", err)
		}
		if !ok {
			return ErrNotFound
		}
		return nil
	}
	if !r.mem.Expire(recordKey(id), r.ttl) {
		return ErrNotFound
	}
	return nil
}

// TouchMany restarts the time to live of several sessions in one round trip.
// It returns the ids whose records are gone.
func (r *Registry) TouchMany(ctx context.Context, ids []string) (gone []string, err error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rc := r.redis()
	if rc == nil {
		for _, id := range ids {
			if err := r.Touch(ctx, id); errors.Is(err, ErrNotFound) {
				gone = append(gone, id)
			}
		}
		return gone, nil
	}
	cmds := make([]*redis.BoolCmd, len(ids))
	_, err = rc.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Expire(ctx, recordKey(id), r.ttl)
		}
		return nil
	})
	if err != nil {
		return nil, unavailable("refresh sessions", err)
	}
	for i, c := range cmds {
		if !c.Val() {
			gone = append(gone, ids[i])
		}
	}
	return gone, nil
}

func ownerKey(owner string) string { return KeyPrefix + "owner:{" + owner + "}" }

// MarkAlive records, for ttl, that owner holds sessions, and reports
// whether that record was missing: Redis lost its data (it restarted
// without persistence, was flushed or evicted keys) or is another Redis
// than before. The first call of an owner reports true as well. Without
// Redis nothing can be lost: it reports false.
func (r *Registry) MarkAlive(ctx context.Context, owner string, ttl time.Duration) (lost bool, err error) {
	rc := r.redis()
	if rc == nil {
		return false, nil
	}
	key := ownerKey(owner)
	var set *redis.BoolCmd
	_, err = rc.Pipelined(ctx, func(p redis.Pipeliner) error {
		set = p.SetNX(ctx, key, "1", ttl)
		p.PExpire(ctx, key, ttl)
		return nil
	})
	if err != nil {
		return false, unavailable("mark instance alive", err)
	}
	return set.Val(), nil
}

// restoreBatch bounds the records Restore writes in one round trip.
const restoreBatch = 256

// Restore writes each of recs whose record the registry lost, with a full
// time to live, and leaves alone the records it still has (another
// instance may have written a newer one). It returns how many it wrote.
func (r *Registry) Restore(ctx context.Context, recs []*Record) (int, error) {
	rc := r.redis()
	if rc == nil {
		n := 0
		for _, rec := range recs {
			data, err := json.Marshal(rec)
			if err != nil {
				return n, fmt.Errorf("encode session %q: %w", rec.ID, err)
			}
			if r.mem.SetNX(recordKey(rec.ID), data, r.ttl) {
				n++
			}
		}
		return n, nil
	}
	n := 0
	for batch := range slices.Chunk(recs, restoreBatch) {
		data := make([][]byte, len(batch))
		for i, rec := range batch {
			b, err := json.Marshal(rec)
			if err != nil {
				return n, fmt.Errorf("encode session %q: %w", rec.ID, err)
			}
			data[i] = b
		}
		cmds := make([]*redis.BoolCmd, len(batch))
		_, err := rc.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, rec := range batch {
				cmds[i] = p.SetNX(ctx, recordKey(rec.ID), data[i], r.ttl)
			}
			return nil
		})
		if err != nil {
			return n, unavailable("restore sessions", err)
		}
		for _, c := range cmds {
			if c.Val() {
				n++
			}
		}
	}
	return n, nil
}

func endedKey(id string) string { return KeyPrefix + "session:{" + id + "}:ended" }

// Delete removes the record of session id and remembers, for the time to
// live, that the session ended (see Ended). Deleting a missing record is
// not an error.
func (r *Registry) Delete(ctx context.Context, id string) error {
	if rc := r.redis(); rc != nil {
		_, err := rc.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, recordKey(id))
			p.Set(ctx, endedKey(id), "1", r.ttl)
			return nil
		})
		if err != nil {
			return unavailable("delete session", err)
		}
		return nil
	}
	r.mem.Delete(recordKey(id))
	return nil
}

// Ended reports whether session id was deleted (rather than lost, as when
// Redis restarted without its data). In memory nothing is lost: a missing
// record always means ended.
func (r *Registry) Ended(ctx context.Context, id string) (bool, error) {
	rc := r.redis()
	if rc == nil {
		return true, nil
	}
	n, err := rc.Exists(ctx, endedKey(id)).Result()
	if err != nil {
		return false, unavailable("read session end", err)
	}
	return n > 0, nil
}

// Ping checks that the registry's store answers.
func (r *Registry) Ping(ctx context.Context) error {
	if rc := r.redis(); rc != nil {
		if err := rc.Ping(ctx).Err(); err != nil {
			return unavailable("ping", err)
		}
	}
	return nil
}

func requesterKey(id string) string { return KeyPrefix + "session:{" + id + "}:requester" }

// SetRequester records that owner sent the client of session id a request
// whose answer may arrive on another instance.
func (r *Registry) SetRequester(ctx context.Context, id, owner string) error {
	rc := r.redis()
	if rc == nil {
		r.mem.Set(requesterKey(id), []byte(owner), r.ttl)
		return nil
	}
	if err := rc.Set(ctx, requesterKey(id), owner, r.ttl).Err(); err != nil {
		return unavailable("record requester", err)
	}
	return nil
}

// Requester returns the owner that last sent the client of session id a
// request, or "" when none did.
func (r *Registry) Requester(ctx context.Context, id string) (string, error) {
	rc := r.redis()
	if rc == nil {
		v, _ := r.mem.Get(requesterKey(id))
		return string(v), nil
	}
	v, err := rc.Get(ctx, requesterKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", unavailable("read requester", err)
	}
	return v, nil
}

func holderKey(id string) string { return KeyPrefix + "session:{" + id + "}:stream" }

// HoldStreams records, for ttl, that owner holds the standalone GET stream
// of each session in ids, so that server-to-client messages produced on
// another instance reach that stream (see Message.Push).
func (r *Registry) HoldStreams(ctx context.Context, ids []string, owner string, ttl time.Duration) error {
	rc := r.redis()
	if len(ids) == 0 {
		return nil
	}
	if rc == nil {
		for _, id := range ids {
			r.mem.Set(holderKey(id), []byte(owner), ttl)
		}
		return nil
	}
	_, err := rc.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.Set(ctx, holderKey(id), owner, ttl)
		}
		return nil
	})
	if err != nil {
		return unavailable("record stream holder", err)
	}
	return nil
}

// releaseScript deletes a stream holder only if it is still the caller: a
// client may have opened its stream on another instance meanwhile.
var releaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// ReleaseStream forgets that owner holds the standalone stream of session
// id, unless another owner took it over since.
func (r *Registry) ReleaseStream(ctx context.Context, id, owner string) error {
	rc := r.redis()
	if rc == nil {
		r.mem.DeleteIf(holderKey(id), []byte(owner))
		return nil
	}
	if err := releaseScript.Run(ctx, rc, []string{holderKey(id)}, owner).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return unavailable("release stream holder", err)
	}
	return nil
}

// StreamHolder returns the owner holding the standalone stream of session
// id, or "" when no instance does.
func (r *Registry) StreamHolder(ctx context.Context, id string) (string, error) {
	rc := r.redis()
	if rc == nil {
		v, _ := r.mem.Get(holderKey(id))
		return string(v), nil
	}
	v, err := rc.Get(ctx, holderKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", unavailable("read stream holder", err)
	}
	return v, nil
}
