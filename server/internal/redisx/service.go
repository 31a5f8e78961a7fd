package redisx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/server/internal/health"
)

// SettingsStore keeps the stored Redis settings, one JSON value shared by
// every instance on the database. The process gives it a key of the
// settings table (store.Store.SettingKey).
type SettingsStore interface {
	// Load returns the stored value; found is false when none is stored.
	Load(ctx context.Context) (value string, found bool, err error)
	// Save stores value, replacing any other.
	Save(ctx context.Context, value string) error
	// SaveIfAbsent stores value unless a value is stored already; of
	// several instances starting at once, the first one's value is kept.
	SaveIfAbsent(ctx context.Context, value string) error
}

// ServiceOptions configure a Service.
type ServiceOptions struct {
	// Store keeps the settings. Required.
	Store SettingsStore
	// Logger receives state changes (component=redis). Required.
	Logger *slog.Logger
	// BootstrapAddr and BootstrapPassword (GATEHOUSE_REDIS_ADDR and
	// GATEHOUSE_REDIS_PASSWORD) are stored as the settings when none are
	// stored yet; empty: nothing is bootstrapped.
	BootstrapAddr, BootstrapPassword string
	// Manager configures the client's manager; its Logger defaults to
	// Logger.
	Manager ManagerOptions
}

// Service keeps the Redis settings in a SettingsStore and the process's
// client in a Manager: it persists (Put), applies, follows settings that
// another instance stored (Sync) and bootstraps them from the static
// settings. It is safe for concurrent use and serves the admin API's
// /settings/redis.
type Service struct {
	store   SettingsStore
	manager *Manager
	log     *slog.Logger

	// mu serialises Put and Sync so that the stored and the applied
	// settings match.
	mu sync.Mutex
	// unusable says why the stored settings could not be applied, until
	// settings are stored again.
	unusable atomic.Pointer[string]
	// applied is the stored JSON this process applies, so that settings
	// saved on another instance are noticed (Sync).
	applied string
}

// ErrUnreadableSettings is wrapped by Get when the stored value is not
// settings JSON.
var ErrUnreadableSettings = errors.New("the stored Redis settings are unreadable")

// NewService stores the bootstrap settings when none are stored and
// applies the stored settings. It does not wait for Redis: Redis being
// down never stops the start. It fails only for an invalid bootstrap
// address or an unreadable store; Close releases what it started.
func NewService(ctx context.Context, opts ServiceOptions) (*Service, error) {
	if opts.Store == nil || opts.Logger == nil {
		return nil, errors.New("redis settings service: a store and a logger are required")
	}
	if opts.Manager.Logger == nil {
		opts.Manager.Logger = opts.Logger
	}
	m, err := NewManager(opts.Manager)
	if err != nil {
		return nil, err
	}
	r := &Service{store: opts.Store, manager: m, log: opts.Logger.With("component", "redis")}
	if err := r.bootstrap(ctx, opts.BootstrapAddr, opts.BootstrapPassword); err != nil {
		_ = m.Close()
		return nil, err
	}
	raw, found, err := r.store.Load(ctx)
	if err != nil {
		_ = m.Close()
		return nil, fmt.Errorf("read the stored Redis settings: %w", err)
	}
	if !found {
		r.log.Info("redis is not configured; set it in Settings → Redis or with GATEHOUSE_REDIS_ADDR")
		return r, nil
	}
	r.applied = raw
	r.applyLocked(ctx, raw)
	return r, nil
}

// applyLocked applies the stored JSON raw, or marks it unusable.
func (r *Service) applyLocked(ctx context.Context, raw string) bool {
	var s Settings
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		r.markUnusable(fmt.Errorf("%w: %v", ErrUnreadableSettings, err))
		return false
	}
	if err := r.manager.Apply(ctx, s); err != nil {
		r.markUnusable(fmt.Errorf("the stored Redis settings are invalid: %w", err))
		return false
	}
	r.unusable.Store(nil)
	return true
}

// Sync applies Redis settings that another instance sharing the store
// saved since this one last applied them.
func (r *Service) Sync(ctx context.Context) {
	stored, found, err := r.store.Load(ctx)
	if err != nil || !found {
		return // nothing stored, or the database is away: try again later
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if stored == r.applied {
		return
	}
	r.applied = stored
	if r.applyLocked(ctx, stored) {
		s, _, _ := r.decode(stored)
		r.log.Info("redis settings changed by another instance applied", "settings", s)
	}
}

func (r *Service) markUnusable(err error) {
	msg := err.Error() + " — Redis stays off; save the settings again in Settings → Redis"
	r.unusable.Store(&msg)
	r.log.Error("redis settings not applied", "error", err)
}

func (r *Service) bootstrap(ctx context.Context, addr, password string) error {
	if addr == "" {
		return nil
	}
	boot := Defaults()
	boot.Addresses, boot.Password = []string{addr}, password
	if err := boot.Validate(); err != nil {
		return fmt.Errorf("GATEHOUSE_REDIS_ADDR=%q is not usable: %w", addr, err)
	}
	_, found, err := r.store.Load(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("read the stored Redis settings: %w", err)
	case found:
		r.log.Info("GATEHOUSE_REDIS_ADDR ignored: Redis settings are stored already; change them in Settings → Redis", "redis_addr", addr)
		return nil
	}
	data, err := json.Marshal(boot)
	if err != nil {
		return err
	}
	if err := r.store.SaveIfAbsent(ctx, string(data)); err != nil {
		return fmt.Errorf("store the Redis settings from GATEHOUSE_REDIS_ADDR: %w", err)
	}
	r.log.Info("redis settings stored from GATEHOUSE_REDIS_ADDR", "settings", boot)
	return nil
}

func (r *Service) decode(raw string) (Settings, bool, error) {
	var s Settings
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return Settings{}, false, fmt.Errorf("%w: %v", ErrUnreadableSettings, err)
	}
	return s, true, nil
}

// Get returns the stored settings, password included, or Defaults() and
// false when none are stored.
func (r *Service) Get(ctx context.Context) (Settings, bool, error) {
	raw, found, err := r.store.Load(ctx)
	switch {
	case err != nil:
		return Settings{}, false, fmt.Errorf("read the stored Redis settings: %w", err)
	case !found:
		return Defaults(), false, nil
	}
	return r.decode(raw)
}

// withPassword sets s.Password from password, or from the stored settings
// when password is nil.
func (r *Service) withPassword(ctx context.Context, s Settings, password *string) (Settings, error) {
	if password != nil {
		s.Password = *password
		return s, nil
	}
	stored, configured, err := r.Get(ctx)
	switch {
	case errors.Is(err, ErrUnreadableSettings):
		s.Password = ""
	case err != nil:
		return s, err
	case configured:
		s.Password = stored.Password
	default:
		s.Password = ""
	}
	return s, nil
}

// Put validates s whole, stores it and applies it without a restart. A
// nil password keeps the stored password; otherwise *password replaces it
// ("" clears it). When Put fails, nothing is stored and the running client
// is unchanged. It returns the settings now in force.
func (r *Service) Put(ctx context.Context, s Settings, password *string) (Settings, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, err := r.withPassword(ctx, s, password)
	if err != nil {
		return Settings{}, err
	}
	if err := s.Validate(); err != nil {
		return Settings{}, err
	}
	data, err := json.Marshal(s)
	if err != nil {
		return Settings{}, err
	}
	if err := r.store.Save(ctx, string(data)); err != nil {
		return Settings{}, fmt.Errorf("store the Redis settings: %w", err)
	}
	r.applied = string(data)
	// Apply accepts what Validate accepted; it fails only while the
	// process shuts down, and the stored settings then apply at the next
	// start.
	if err := r.manager.Apply(ctx, s); err != nil {
		return Settings{}, fmt.Errorf("apply the stored Redis settings: %w", err)
	}
	r.unusable.Store(nil)
	return s, nil
}

// Test diagnoses s without storing or applying it; a nil password uses
// the stored one. Invalid settings fail as in Put.
func (r *Service) Test(ctx context.Context, s Settings, password *string) (Diagnosis, error) {
	s, err := r.withPassword(ctx, s, password)
	if err != nil {
		return Diagnosis{}, err
	}
	if err := s.Validate(); err != nil {
		return Diagnosis{}, err
	}
	return Diagnose(ctx, s), nil
}

// Client returns the current client, or nil while Redis is not configured
// (Manager.Client).
func (r *Service) Client() redis.UniversalClient { return r.manager.Client() }

// Manager returns the manager of the process's client.
func (r *Service) Manager() *Manager { return r.manager }

// Health is the Redis component of the health report (a health.Check).
func (r *Service) Health(ctx context.Context) []health.Component {
	if msg := r.unusable.Load(); msg != nil && r.manager.Client() == nil {
		return []health.Component{{Name: "redis", Kind: "redis", Status: health.StatusDown, Message: *msg}}
	}
	return r.manager.Health(ctx)
}

// Close closes the client; call it after the listeners drained and the
// plugins were cleaned up (ARCHITECTURE §12).
func (r *Service) Close() error { return r.manager.Close() }
