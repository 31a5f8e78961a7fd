package store

import (
	"context"

	"gorm.io/gorm/clause"
)

// Setting returns the value stored under key, or ErrNotFound.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var row settingRow
	if err := s.db.WithContext(ctx).Where(clause.Eq{Column: clause.Column{Name: "key"}, Value: key}).Take(&row).Error; err != nil {
		return "", translate(err)
	}
	return row.Value, nil
}

// SettingOrCreate returns the value stored under key; when there is none it
// stores value and returns it. Concurrent callers all get the one stored
// value.
func (s *Store) SettingOrCreate(ctx context.Context, key, value string) (string, error) {
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&settingRow{Key: key, Value: value}).Error
	if err != nil {
		return "", err
	}
	return s.Setting(ctx, key)
}

// SetSetting stores value under key, replacing any other.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "key"}},
		DoUpdates: clause.AssignmentColumns([]string{"value", "updated_at"}),
	}).Create(&settingRow{Key: key, Value: value}).Error
}
