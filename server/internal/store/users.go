package store

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// User is an administrator of the console and admin API.
type User struct {
	Username     string
	PasswordHash string
	CreatedAt    time.Time
}

// initializedKey marks that the first administrator was created; its
// primary key makes concurrent first-run requests race safely.
const initializedKey = "auth.initialized"

// HasUsers reports whether any administrator exists.
func (s *Store) HasUsers(ctx context.Context) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&userRow{}).Limit(1).Count(&n).Error
	return n > 0, err
}

// CreateFirstUser creates the first administrator, or returns
// ErrAlreadyInitialized when one exists.
func (s *Store) CreateFirstUser(ctx context.Context, username, passwordHash string) (*User, error) {
	var out *User
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&userRow{}).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return ErrAlreadyInitialized
		}
		if err := tx.Create(&settingRow{Key: initializedKey, Value: username}).Error; err != nil {
			if translate(err) == ErrConflict {
				return ErrAlreadyInitialized
			}
			return err
		}
		row := userRow{Username: username, PasswordHash: passwordHash}
		if err := tx.Create(&row).Error; err != nil {
			return translate(err)
		}
		out = &User{Username: row.Username, PasswordHash: row.PasswordHash, CreatedAt: row.CreatedAt}
		return nil
	})
	return out, err
}

// GetUser returns the administrator named username, or ErrNotFound.
func (s *Store) GetUser(ctx context.Context, username string) (*User, error) {
	var row userRow
	if err := s.db.WithContext(ctx).Where("username = ?", username).Take(&row).Error; err != nil {
		return nil, translate(err)
	}
	return &User{Username: row.Username, PasswordHash: row.PasswordHash, CreatedAt: row.CreatedAt}, nil
}

// SetPassword replaces the password hash of username.
func (s *Store) SetPassword(ctx context.Context, username, passwordHash string) error {
	res := s.db.WithContext(ctx).Model(&userRow{}).Where("username = ?", username).Update("password_hash", passwordHash)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}
