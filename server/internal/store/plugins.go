package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"
)

// PluginAddress is the image address a plugin is loaded from.
type PluginAddress struct {
	Name         string
	ImageAddress string
	UpdatedAt    time.Time
}

// PluginAddresses lists the stored image addresses by name.
func (s *Store) PluginAddresses(ctx context.Context) (map[string]PluginAddress, error) {
	var rows []pluginRow
	if err := s.db.WithContext(ctx).Order("name").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]PluginAddress, len(rows))
	for _, r := range rows {
		out[r.Name] = PluginAddress{Name: r.Name, ImageAddress: r.ImageAddress, UpdatedAt: r.UpdatedAt}
	}
	return out, nil
}

// EnsurePluginAddress stores address for name unless one is stored already.
func (s *Store) EnsurePluginAddress(ctx context.Context, name, address string) error {
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&pluginRow{Name: name, ImageAddress: address}).Error
}

// SetPluginAddress stores address for name, replacing any other.
func (s *Store) SetPluginAddress(ctx context.Context, name, address string) error {
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "name"}},
		DoUpdates: clause.AssignmentColumns([]string{"image_address", "updated_at"}),
	}).Create(&pluginRow{Name: name, ImageAddress: address}).Error
}
