package app

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/server/internal/control"
)

// configChannel is the Redis pub/sub channel on which instances announce
// a new configuration revision.
const configChannel = "gatehouse:config:changed"

// redisNotifier adapts Redis pub/sub to control.Notifier. The client
// comes from a function because it is replaced when the Redis settings
// change; without a client nothing is announced and the followers poll.
type redisNotifier struct {
	client func() redis.UniversalClient
	// recheck is how often Watch notices a replaced or added client.
	recheck time.Duration
}

// Notify publishes rev on configChannel.
func (n redisNotifier) Notify(ctx context.Context, rev int64) error {
	c := n.client()
	if c == nil {
		return nil
	}
	return c.Publish(ctx, configChannel, strconv.FormatInt(rev, 10)).Err()
}

// Watch subscribes to configChannel with the current client, and again
// whenever the client changes, until ctx ends.
func (n redisNotifier) Watch(ctx context.Context, changed chan<- struct{}) {
	recheck := time.NewTicker(n.recheck)
	defer recheck.Stop()
	var (
		client redis.UniversalClient
		sub    *redis.PubSub
		msgs   <-chan *redis.Message
	)
	defer func() {
		if sub != nil {
			_ = sub.Close()
		}
	}()
	for {
		if c := n.client(); c != client {
			if sub != nil {
				_ = sub.Close()
				sub, msgs = nil, nil
			}
			client = c
			if c != nil {
				sub = c.Subscribe(ctx, configChannel)
				msgs = sub.Channel()
			}
		}
		select {
		case <-ctx.Done():
			return
		case _, ok := <-msgs:
			if !ok {
				msgs = nil
				continue
			}
			select {
			case changed <- struct{}{}:
			default: // a sync is pending already; it sees this revision too
			}
		case <-recheck.C:
		}
	}
}

var _ control.Notifier = redisNotifier{}
