package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/gatehouse-dev/gatehouse/server/internal/admin"
	"github.com/gatehouse-dev/gatehouse/server/internal/config"
	"github.com/gatehouse-dev/gatehouse/server/internal/health"
	"github.com/gatehouse-dev/gatehouse/server/internal/redisx"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
)

// redisSettingsKey is the store key of the Redis settings (JSON of
// redisx.Settings, password included).
const redisSettingsKey = "redis.settings"

// redisService keeps the Redis settings in the store and the process's
// client in a redisx.Manager. It serves /api/v1/settings/redis.
type redisService struct {
	store   *store.Store
	manager *redisx.Manager
	log     *slog.Logger

	// mu serialises Put so that the stored and the applied settings match.
	mu sync.Mutex
	// unusable says why the stored settings could not be applied at start,
	// until settings are stored again.
	unusable atomic.Pointer[string]
	// applied is the stored JSON this process applies, so that settings
	// saved on another instance are noticed (sync).
	applied string
}

// startRedis routes go-redis's logs to log, stores the GATEHOUSE_REDIS_*
// bootstrap when nothing is stored, and applies the stored settings. It
// does not wait for Redis: Redis being down never stops the start. It fails
// only for an invalid bootstrap address or an unreadable database.
func startRedis(ctx context.Context, s config.Settings, st *store.Store, logger *slog.Logger) (*redisService, error) {
	log := logger.With("component", "redis")
	redisx.RouteLibraryLogs(log)
	m, err := redisx.NewManager(redisx.ManagerOptions{Logger: logger})
	if err != nil {
		return nil, err
	}
	r := &redisService{store: st, manager: m, log: log}
	if err := r.bootstrap(ctx, s); err != nil {
		_ = m.Close()
		return nil, err
	}
	stored, configured, err := r.Get(ctx)
	switch {
	case err != nil && errors.Is(err, errUnreadableSettings):
		r.markUnusable(err)
	case err != nil:
		_ = m.Close()
		return nil, err
	case !configured:
		log.Info("redis is not configured; set it in Settings → Redis or with GATEHOUSE_REDIS_ADDR")
	default:
		if err := m.Apply(ctx, stored); err != nil {
			r.markUnusable(fmt.Errorf("the stored Redis settings are invalid: %w", err))
		}
	}
	r.applied, _ = st.Setting(ctx, redisSettingsKey)
	return r, nil
}

// sync applies Redis settings that another instance sharing the database
// stored since this one last applied them.
func (r *redisService) sync(ctx context.Context) {
	stored, err := r.store.Setting(ctx, redisSettingsKey)
	if err != nil {
		return // nothing stored, or the database is away: try again later
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if stored == r.applied {
		return
	}
	var s redisx.Settings
	if err := json.Unmarshal([]byte(stored), &s); err != nil {
		r.markUnusable(fmt.Errorf("%w: %v", errUnreadableSettings, err))
		r.applied = stored
		return
	}
	if err := r.manager.Apply(ctx, s); err != nil {
		r.markUnusable(fmt.Errorf("the stored Redis settings are invalid: %w", err))
	} else {
		r.unusable.Store(nil)
		r.log.Info("redis settings changed by another instance applied", "settings", s)
	}
	r.applied = stored
}

var errUnreadableSettings = errors.New("the stored Redis settings are unreadable")

func (r *redisService) markUnusable(err error) {
	msg := err.Error() + " — Redis stays off; save the settings again in Settings → Redis"
	r.unusable.Store(&msg)
	r.log.Error("redis settings not applied", "error", err)
}

func (r *redisService) bootstrap(ctx context.Context, s config.Settings) error {
	if s.RedisAddr == "" {
		return nil
	}
	boot := redisx.Defaults()
	boot.Addresses, boot.Password = []string{s.RedisAddr}, s.RedisPassword
	if err := boot.Validate(); err != nil {
		return fmt.Errorf("GATEHOUSE_REDIS_ADDR=%q is not usable: %w", s.RedisAddr, err)
	}
	_, err := r.store.Setting(ctx, redisSettingsKey)
	switch {
	case err == nil:
		r.log.Info("GATEHOUSE_REDIS_ADDR ignored: Redis settings are stored already; change them in Settings → Redis", "redis_addr", s.RedisAddr)
		return nil
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("read the stored Redis settings: %w", err)
	}
	data, err := json.Marshal(boot)
	if err != nil {
		return err
	}
	// Several instances may start at once: the first one's value is kept.
	if _, err := r.store.SettingOrCreate(ctx, redisSettingsKey, string(data)); err != nil {
		return fmt.Errorf("store the Redis settings from GATEHOUSE_REDIS_ADDR: %w", err)
	}
	r.log.Info("redis settings stored from GATEHOUSE_REDIS_ADDR", "settings", boot)
	return nil
}

// Get returns the stored settings, or redisx.Defaults() and false when
// none are stored.
func (r *redisService) Get(ctx context.Context) (redisx.Settings, bool, error) {
	raw, err := r.store.Setting(ctx, redisSettingsKey)
	if errors.Is(err, store.ErrNotFound) {
		return redisx.Defaults(), false, nil
	}
	if err != nil {
		return redisx.Settings{}, false, fmt.Errorf("read the stored Redis settings: %w", err)
	}
	var s redisx.Settings
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return redisx.Settings{}, false, fmt.Errorf("%w: %v", errUnreadableSettings, err)
	}
	return s, true, nil
}

// withPassword sets s.Password from password, or from the stored settings
// when password is nil.
func (r *redisService) withPassword(ctx context.Context, s redisx.Settings, password *string) (redisx.Settings, error) {
	if password != nil {
		s.Password = *password
		return s, nil
	}
	stored, configured, err := r.Get(ctx)
	switch {
	case errors.Is(err, errUnreadableSettings):
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

// Put validates s, stores it and applies it (admin.RedisSettings).
func (r *redisService) Put(ctx context.Context, s redisx.Settings, password *string) (redisx.Settings, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, err := r.withPassword(ctx, s, password)
	if err != nil {
		return redisx.Settings{}, err
	}
	if err := s.Validate(); err != nil {
		return redisx.Settings{}, err
	}
	data, err := json.Marshal(s)
	if err != nil {
		return redisx.Settings{}, err
	}
	if err := r.store.SetSetting(ctx, redisSettingsKey, string(data)); err != nil {
		return redisx.Settings{}, fmt.Errorf("store the Redis settings: %w", err)
	}
	r.applied = string(data)
	// Apply accepts what Validate accepted; it fails only while the
	// process shuts down, and the stored settings then apply at the next
	// start.
	if err := r.manager.Apply(ctx, s); err != nil {
		return redisx.Settings{}, fmt.Errorf("apply the stored Redis settings: %w", err)
	}
	r.unusable.Store(nil)
	return s, nil
}

// Test diagnoses s without storing it (admin.RedisSettings).
func (r *redisService) Test(ctx context.Context, s redisx.Settings, password *string) (redisx.Diagnosis, error) {
	s, err := r.withPassword(ctx, s, password)
	if err != nil {
		return redisx.Diagnosis{}, err
	}
	if err := s.Validate(); err != nil {
		return redisx.Diagnosis{}, err
	}
	return redisx.Diagnose(ctx, s), nil
}

// health is the Redis component of the health report.
func (r *redisService) health(ctx context.Context) []health.Component {
	if msg := r.unusable.Load(); msg != nil && r.manager.Client() == nil {
		return []health.Component{{Name: "redis", Kind: "redis", Status: health.StatusDown, Message: *msg}}
	}
	return r.manager.Health(ctx)
}

// close closes the Redis client; the listeners have drained and the
// plugins are cleaned up by then (ARCHITECTURE §12).
func (r *redisService) close(log *slog.Logger) {
	if err := r.manager.Close(); err != nil {
		log.Warn("closing redis failed", "error", err)
	}
}

var _ admin.RedisSettings = (*redisService)(nil)
