package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"gopkg.in/yaml.v3"

	"github.com/gatehouse-dev/gatehouse/server/internal/control"
	"github.com/gatehouse-dev/gatehouse/server/internal/health"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

// readConfigFile reads a declarative configuration file strictly.
func readConfigFile(path string) (spec.Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return spec.Snapshot{}, fmt.Errorf("read the configuration file: %w", err)
	}
	defer func() { _ = f.Close() }()
	var snap spec.Snapshot
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(&snap); err != nil {
		return spec.Snapshot{}, fmt.Errorf("configuration file %s: %w (the file holds services, routes, pluginInstances, mcpServers, llmProviders and aiRoutes)", path, err)
	}
	return snap, nil
}

// applyConfigFile makes the stored configuration what the file says (the
// ConfigMap/GitOps way), validated whole like any change. In seed mode it
// does so only while the database holds no configuration, so changes made
// in the console survive a restart.
func applyConfigFile(ctx context.Context, ctl *control.Control, path, mode string, log *slog.Logger) error {
	if mode == "seed" {
		if _, rev := ctl.Snapshot(); rev > 0 {
			log.Info("configuration file not applied: the database has a configuration already (seed mode)", "file", path, "revision", rev)
			return nil
		}
	}
	snap, err := readConfigFile(path)
	if err != nil {
		return err
	}
	n, err := ctl.Replace(ctx, "config-file", snap)
	if err != nil {
		return fmt.Errorf("configuration file %s refused, nothing changed: %w", path, err)
	}
	log.Info("configuration file applied", "file", path, "objects_changed", n)
	return nil
}

// configChannel is the Redis pub/sub channel on which instances announce
// a new configuration revision.
const configChannel = "gatehouse:config:changed"

// pollInterval is the fallback when Redis is not configured or down.
const pollInterval = 2 * time.Second

// publishChange tells other instances that revision rev is stored.
func publishChange(redisClient func() redis.UniversalClient, log *slog.Logger) func(int64) {
	return func(rev int64) {
		c := redisClient()
		if c == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := c.Publish(ctx, configChannel, strconv.FormatInt(rev, 10)).Err(); err != nil {
			log.Warn("could not announce the configuration change over Redis; other instances pick it up by polling", "revision", rev, "error", err)
		}
	}
}

// syncConfig keeps this instance on the newest stored configuration until
// ctx ends: at once when another instance announces a change over Redis,
// and by polling the database as the fallback.
// also runs with every sync (the Redis settings follow the same way).
func syncConfig(ctx context.Context, ctl *control.Control, redisClient func() redis.UniversalClient, also func(context.Context), log *slog.Logger) {
	poll := time.NewTicker(pollInterval)
	defer poll.Stop()
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
	sync := func(trigger string) {
		also(ctx)
		changed, err := ctl.Sync(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("configuration sync failed; will retry", "trigger", trigger, "error", err)
		case changed:
			log.Info("configuration synced from another instance", "trigger", trigger)
		}
	}
	for {
		// The Redis client changes when its settings change: follow it.
		if c := redisClient(); c != client {
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
			sync("pubsub")
		case <-poll.C:
			sync("poll")
		}
	}
}

// gatewayHealth reports the configuration the gateway serves.
func gatewayHealth(ctl *control.Control) health.Check {
	return func(context.Context) []health.Component {
		snap, rev := ctl.Snapshot()
		return []health.Component{{Name: "gateway", Kind: "gateway", Status: health.StatusOK,
			Message: fmt.Sprintf("configuration revision %d: %d routes, %d services, %d plugin instances, %d MCP servers, %d AI routes",
				rev, len(snap.Routes), len(snap.Services), len(snap.PluginInstances), len(snap.MCPServers), len(snap.AIRoutes))}}
	}
}
