package pluginapi

import "time"

// SharedStore is a key-value and publish/subscribe store that the host
// keeps in the process's memory for one plugin: every instance of the
// plugin in the process sees the same data, across configuration versions
// (a configuration change starts new instances next to the old ones, and
// they serve each other's state as instances of several processes do
// through Redis). Plugins use it where they would use Redis while Redis
// is not configured.
//
// It behaves like the small part of Redis plugins use: values, counters
// and lists expire after their time to live; a list keeps at most maxLen
// entries, numbered from 0 in append order, and all lists of the store
// together are capped in size (the oldest entries go first). A message is
// published to the subscribers of one channel. It is safe for concurrent
// use; keys and channels of different plugins never meet.
type SharedStore interface {
	// Get returns the value of key, if it is live.
	Get(key string) ([]byte, bool)
	// Set sets key to value for ttl.
	Set(key string, value []byte, ttl time.Duration)
	// SetNX sets key unless it holds a live value, and reports whether it
	// did.
	SetNX(key string, value []byte, ttl time.Duration) bool
	// Expire restarts the time to live of a live key (value, counter or
	// list), and reports whether it was live.
	Expire(key string, ttl time.Duration) bool
	// Delete removes keys (values, counters and lists).
	Delete(keys ...string)
	// DeleteIf removes key only while it holds value, and reports whether
	// it did.
	DeleteIf(key string, value []byte) bool
	// Incr adds one to the counter key and returns the new count; a new
	// counter lives for ttl.
	Incr(key string, ttl time.Duration) int64
	// Append adds value to the end of the list key, keeping at most maxLen
	// entries (0: no limit), and restarts the list's time to live. It
	// returns the new entry's index.
	Append(key string, value []byte, maxLen int, ttl time.Duration) int64
	// After returns the entries of the list key after index (-1: all). It
	// reports false when the entry just after index was dropped (maxLen or
	// the store's size cap) and is no longer there. A missing list has no
	// entries; a list the size cap emptied is missing (as a key Redis
	// evicted), and a new entry starts it again at index 0.
	After(key string, index int64) ([][]byte, bool)
	// Publish gives msg to every subscription of channel and returns how
	// many took it (a subscription whose backlog is full does not).
	Publish(channel string, msg []byte) int
	// Subscribe returns a subscription to channels: what is published to
	// any of them, in publication order, until Close.
	Subscribe(channels ...string) Subscription
}

// Subscription is what SharedStore.Subscribe returns. It is safe for
// concurrent use.
type Subscription interface {
	// Ready gets a token when messages may be waiting; call Take then.
	Ready() <-chan struct{}
	// Take returns and clears the waiting messages, oldest first.
	Take() []SharedMessage
	// Close ends the subscription.
	Close()
}

// SharedMessage is one message of a Subscription.
type SharedMessage struct {
	Channel string
	Payload []byte
}
