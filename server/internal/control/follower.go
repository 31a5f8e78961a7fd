package control

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Notifier carries "a new configuration revision is stored" between the
// instances that share one database. The process adapts Redis pub/sub to
// it; without one the Follower polls only.
type Notifier interface {
	// Notify tells the other instances that revision rev is stored. It is
	// best effort: the others catch up by polling when it fails.
	Notify(ctx context.Context, rev int64) error
	// Watch sends on changed whenever another instance announces a
	// revision, until ctx ends, and returns then. It must not block on
	// changed: announcements that arrive while one is pending are one
	// sync. It keeps watching across a lost or replaced connection.
	Watch(ctx context.Context, changed chan<- struct{})
}

// Syncer is what a Follower keeps current; *Control implements it.
type Syncer interface {
	// Sync loads the newest stored configuration when it is newer than
	// the one served and reports whether it did.
	Sync(ctx context.Context) (bool, error)
}

// DefaultPollInterval is how often a Follower looks at the database when
// no announcement arrives (Redis not configured or down).
const DefaultPollInterval = 2 * time.Second

// FollowerOptions configure a Follower.
type FollowerOptions struct {
	// Notifier brings announcements of other instances; nil polls only.
	Notifier Notifier
	// Interval between polls; DefaultPollInterval when zero.
	Interval time.Duration
	// Logger receives syncs and failures (component=control). Required.
	Logger *slog.Logger
	// Also, if set, runs before every sync, for state that other
	// instances change in the same database (the Redis settings).
	Also func(context.Context)
}

// Follower keeps an instance on the newest configuration that any
// instance sharing its database stored: at once when another instance
// announces a change through the Notifier, and by polling as the fallback
// (Traefik's configuration watcher: providers push, one loop applies).
type Follower struct {
	target Syncer
	opts   FollowerOptions
	log    *slog.Logger
}

// NewFollower returns a Follower of target; Run starts it.
func NewFollower(target Syncer, opts FollowerOptions) *Follower {
	if opts.Interval <= 0 {
		opts.Interval = DefaultPollInterval
	}
	return &Follower{target: target, opts: opts, log: opts.Logger.With("component", "control")}
}

// Run follows until ctx ends and returns once the Notifier's watch has
// returned too. Run it once, in a goroutine that the process owns.
func (f *Follower) Run(ctx context.Context) {
	changed := make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	if f.opts.Notifier != nil {
		wg.Go(func() { f.opts.Notifier.Watch(ctx, changed) })
	}
	poll := time.NewTicker(f.opts.Interval)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
			f.sync(ctx, "pubsub")
		case <-poll.C:
			f.sync(ctx, "poll")
		}
	}
}

func (f *Follower) sync(ctx context.Context, trigger string) {
	if f.opts.Also != nil {
		f.opts.Also(ctx)
	}
	changed, err := f.target.Sync(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		f.log.Warn("configuration sync failed; will retry", "trigger", trigger, "error", err)
	case err == nil && changed:
		f.log.Info("configuration synced from another instance", "trigger", trigger)
	}
}

// Announcer returns a function for Options.Changed that tells the other
// instances through n that a revision is stored. A failure is logged: the
// others then catch up by polling.
func Announcer(n Notifier, logger *slog.Logger) func(rev int64) {
	log := logger.With("component", "control")
	return func(rev int64) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := n.Notify(ctx, rev); err != nil {
			log.Warn("could not announce the configuration change; other instances pick it up by polling", "revision", rev, "error", err)
		}
	}
}
