package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// ErrNoReceiver is returned by Handoff.Send when no instance listens for the
// owner (it stopped, or its subscription is reconnecting).
var ErrNoReceiver = errors.New("no instance holds the session's stream")

// Message is a message for a session whose stream another instance holds:
// a client message for a legacy SSE session (or answers to requests the
// receiver sent), posted on an instance that does not hold the session's
// stream; or, with Push, a server-to-client message produced on an
// instance that does not hold the session's standalone GET stream.
type Message struct {
	// Session is the session id.
	Session string `json:"s"`
	// Body is the JSON-RPC message as posted, or as the server would send
	// it (Push).
	Body json.RawMessage `json:"b"`
	// Header is the header of the POST request.
	Header http.Header `json:"h,omitempty"`
	// Push marks a server-to-client notification for the receiver to send
	// on the standalone stream it holds (it stores it for replay too).
	Push bool `json:"p,omitempty"`
}

// Handoff moves messages between instances through Redis pub/sub, or
// without Redis through a Memory shared by the plugin instances of the
// process: each owner (one plugin instance in one gateway process) listens
// on its own channel, and every instance listens for sessions that ended
// elsewhere.
//
// Pub/sub gives each message to each subscriber once; Send reports whether
// the owner received it, so a message is either delivered once or the
// sender gets an error.
type Handoff struct {
	redis  RedisFunc
	mem    pluginapi.SharedStore
	owner  string
	logger *slog.Logger

	subscribed atomic.Bool
}

// NewHandoff returns a Handoff for owner, a name unique among every running
// plugin instance of every gateway process, that goes through Redis when
// rf returns a client and through mem otherwise.
func NewHandoff(rf RedisFunc, mem *Memory, owner string, logger *slog.Logger) *Handoff {
	return &Handoff{redis: rf, mem: mem.store, owner: owner, logger: logger}
}

// Owner returns the name this Handoff receives messages for.
func (h *Handoff) Owner() string { return h.owner }

func inboxChannel(owner string) string { return KeyPrefix + "inbox:" + owner }

// ClosedChannel is the channel that announces sessions ended for good.
const ClosedChannel = KeyPrefix + "closed"

// Send publishes m to owner. It waits up to wait for the owner to be
// subscribed (its subscription may be reconnecting), then returns
// ErrNoReceiver.
func (h *Handoff) Send(ctx context.Context, owner string, m Message, wait time.Duration) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode message for session %q: %w", m.Session, err)
	}
	deadline := time.Now().Add(wait)
	for {
		rc := h.redis()
		if rc == nil {
			if h.mem.Publish(inboxChannel(owner), data) > 0 {
				return nil
			}
		} else {
			n, err := rc.Publish(ctx, inboxChannel(owner), data).Result()
			if err != nil {
				return unavailable("publish message", err)
			}
			if n > 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return ErrNoReceiver
		}
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// PublishClosed announces that session id ended for good, so that other
// instances drop their copies.
func (h *Handoff) PublishClosed(ctx context.Context, id string) error {
	rc := h.redis()
	if rc == nil {
		h.mem.Publish(ClosedChannel, []byte(id))
		return nil
	}
	if err := rc.Publish(ctx, ClosedChannel, id).Err(); err != nil {
		return unavailable("publish session end", err)
	}
	return nil
}

// Subscribed reports whether Run currently listens.
func (h *Handoff) Subscribed() bool { return h.subscribed.Load() }

// Run listens until ctx is done, calling deliver for each message sent to
// this owner and closed for each session that ended elsewhere, in the order
// they were published. The callbacks must not block. Run follows Redis
// client changes (and the switch between Redis and memory) and reconnects
// by itself.
func (h *Handoff) Run(ctx context.Context, deliver func(Message), closed func(id string)) {
	defer h.subscribed.Store(false)
	for ctx.Err() == nil {
		rc := h.redis()
		if rc == nil {
			h.listenMemory(ctx, deliver, closed)
			continue
		}
		h.listen(ctx, rc, deliver, closed)
	}
}

// listenMemory serves the subscription in memory until ctx is done or a
// Redis client is configured.
func (h *Handoff) listenMemory(ctx context.Context, deliver func(Message), closed func(string)) {
	sub := h.mem.Subscribe(inboxChannel(h.owner), ClosedChannel)
	h.subscribed.Store(true)
	defer func() {
		h.subscribed.Store(false)
		sub.Close()
	}()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if h.redis() != nil {
				return
			}
			continue
		case <-sub.Ready():
		}
		for _, it := range sub.Take() {
			if it.Channel == ClosedChannel {
				closed(string(it.Payload))
				continue
			}
			var m Message
			if err := json.Unmarshal(it.Payload, &m); err != nil {
				h.logger.Error("drop malformed handoff message", "error", err)
				continue
			}
			deliver(m)
		}
	}
}

// listen serves one subscription until ctx is done or the Redis client
// changes.
func (h *Handoff) listen(ctx context.Context, rc redis.UniversalClient, deliver func(Message), closed func(string)) {
	ps := rc.Subscribe(ctx, inboxChannel(h.owner), ClosedChannel)
	// go-redis does not interrupt a receive when ctx ends: closing the
	// subscription does, so that stopping does not wait for the timeout.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer func() {
		stop()
		h.subscribed.Store(false)
		_ = ps.Close()
	}()
	failing := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, 2*time.Second)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if h.redis() != rc {
					return
				}
				continue
			}
			// The connection broke: go-redis reconnects and subscribes again
			// on the next receive.
			h.subscribed.Store(false)
			if !failing {
				h.logger.Warn("redis subscription for legacy SSE handoff lost; retrying", "error", err)
				failing = true
			}
			if h.redis() != rc || !wait(ctx, 250*time.Millisecond) {
				return
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Count == 2 {
				if failing {
					h.logger.Info("redis subscription for legacy SSE handoff restored")
					failing = false
				}
				h.subscribed.Store(true)
			}
		case *redis.Message:
			if m.Channel == ClosedChannel {
				closed(m.Payload)
				continue
			}
			var hm Message
			if err := json.Unmarshal([]byte(m.Payload), &hm); err != nil {
				h.logger.Error("drop malformed handoff message", "error", err)
				continue
			}
			deliver(hm)
		}
	}
}

// wait waits for d or ctx, and reports whether ctx is still live.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
