package store

import "time"

// models lists every table, migrated at Open.
var models = []any{&userRow{}, &settingRow{}, &pluginRow{}, &objectRow{}, &revisionRow{}, &apiTokenRow{}, &revokedSessionRow{}, &usageRow{}}

type userRow struct {
	ID           uint   `gorm:"primaryKey"`
	Username     string `gorm:"size:64;uniqueIndex;not null"`
	PasswordHash string `gorm:"size:100;not null"`
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (userRow) TableName() string { return "users" }

type settingRow struct {
	Key       string `gorm:"primaryKey;size:128"`
	Value     string `gorm:"type:text;not null"`
	UpdatedAt time.Time
}

func (settingRow) TableName() string { return "settings" }

type pluginRow struct {
	Name         string `gorm:"primaryKey;size:64"`
	ImageAddress string `gorm:"size:2048;not null"`
	UpdatedAt    time.Time
}

func (pluginRow) TableName() string { return "plugins" }
