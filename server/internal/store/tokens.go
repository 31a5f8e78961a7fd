package store

import (
	"context"
	"time"
)

// APIToken is a scoped token for API clients. Only its sha256 is stored;
// the token itself is shown once, when it is created.
type APIToken struct {
	ID         int64
	Name       string
	Username   string
	Scope      string
	Prefix     string
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
}

type apiTokenRow struct {
	ID         int64  `gorm:"primaryKey;autoIncrement"`
	Name       string `gorm:"size:64;not null"`
	Username   string `gorm:"size:64;not null;index"`
	Scope      string `gorm:"size:16;not null"`
	Prefix     string `gorm:"size:16;not null"`
	Hash       string `gorm:"size:64;not null;uniqueIndex"`
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
}

func (apiTokenRow) TableName() string { return "api_tokens" }

func (r apiTokenRow) token() APIToken {
	return APIToken{ID: r.ID, Name: r.Name, Username: r.Username, Scope: r.Scope, Prefix: r.Prefix,
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, LastUsedAt: r.LastUsedAt}
}

// CreateToken stores a token by its hash.
func (s *Store) CreateToken(ctx context.Context, t APIToken, hash string) (APIToken, error) {
	row := apiTokenRow{Name: t.Name, Username: t.Username, Scope: t.Scope, Prefix: t.Prefix, Hash: hash, ExpiresAt: t.ExpiresAt}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return APIToken{}, translate(err)
	}
	return row.token(), nil
}

// Tokens lists every token, newest first.
func (s *Store) Tokens(ctx context.Context) ([]APIToken, error) {
	var rows []apiTokenRow
	if err := s.db.WithContext(ctx).Order("id DESC").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]APIToken, len(rows))
	for i, r := range rows {
		out[i] = r.token()
	}
	return out, nil
}

// TokenByHash returns the token with hash, or ErrNotFound.
func (s *Store) TokenByHash(ctx context.Context, hash string) (APIToken, error) {
	var row apiTokenRow
	if err := s.db.WithContext(ctx).Where("hash = ?", hash).Take(&row).Error; err != nil {
		return APIToken{}, translate(err)
	}
	return row.token(), nil
}

// TouchToken records that token id was used at.
func (s *Store) TouchToken(ctx context.Context, id int64, at time.Time) error {
	return s.db.WithContext(ctx).Model(&apiTokenRow{}).Where("id = ?", id).Update("last_used_at", at.UTC()).Error
}

// DeleteToken revokes token id, or returns ErrNotFound.
func (s *Store) DeleteToken(ctx context.Context, id int64) error {
	res := s.db.WithContext(ctx).Where("id = ?", id).Delete(&apiTokenRow{})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteAllTokens revokes every API token and returns how many there were.
func (s *Store) DeleteAllTokens(ctx context.Context) (int64, error) {
	res := s.db.WithContext(ctx).Where("1 = 1").Delete(&apiTokenRow{})
	return res.RowsAffected, res.Error
}

// revokedSessionRow is a login token (JWT) ended by a logout before it
// expired. Every instance sharing the database refuses it; rows are
// removed once the token would have expired anyway.
type revokedSessionRow struct {
	ID        string    `gorm:"primaryKey;size:64"`
	ExpiresAt time.Time `gorm:"index;not null"`
}

func (revokedSessionRow) TableName() string { return "revoked_sessions" }

// RevokeSession records that the login token with id ends now, though it
// would be valid until expiresAt. It also forgets revocations whose tokens
// have expired.
func (s *Store) RevokeSession(ctx context.Context, id string, expiresAt time.Time) error {
	db := s.db.WithContext(ctx)
	if err := db.Where("expires_at < ?", time.Now().UTC()).Delete(&revokedSessionRow{}).Error; err != nil {
		return err
	}
	err := db.Create(&revokedSessionRow{ID: id, ExpiresAt: expiresAt.UTC()}).Error
	if translate(err) == ErrConflict {
		return nil
	}
	return err
}

// SessionRevoked reports whether the login token with id was revoked.
func (s *Store) SessionRevoked(ctx context.Context, id string) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&revokedSessionRow{}).Where("id = ?", id).Limit(1).Count(&n).Error
	return n > 0, err
}
