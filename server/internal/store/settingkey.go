package store

import (
	"context"
	"errors"
)

// SettingKey is one key of the settings table seen as a single value
// (redisx.SettingsStore for the Redis settings).
type SettingKey struct {
	s   *Store
	key string
}

// SettingKey returns the value stored under key as a SettingKey.
func (s *Store) SettingKey(key string) SettingKey { return SettingKey{s: s, key: key} }

// Load returns the value; found is false when none is stored.
func (k SettingKey) Load(ctx context.Context) (string, bool, error) {
	v, err := k.s.Setting(ctx, k.key)
	switch {
	case errors.Is(err, ErrNotFound):
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	return v, true, nil
}

// Save stores value, replacing any other.
func (k SettingKey) Save(ctx context.Context, value string) error {
	return k.s.SetSetting(ctx, k.key, value)
}

// SaveIfAbsent stores value unless a value is stored already.
func (k SettingKey) SaveIfAbsent(ctx context.Context, value string) error {
	_, err := k.s.SettingOrCreate(ctx, k.key, value)
	return err
}
