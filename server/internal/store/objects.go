package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Object is one stored configuration object: a service, route, plugin
// instance or MCP server, kept as the JSON of its spec.
type Object struct {
	Kind      string
	Name      string
	Version   int64
	Spec      []byte
	UpdatedAt time.Time
}

// Change is one object change inside a configuration change.
type Change struct {
	Kind string
	Name string
	// Spec is the new JSON; nil deletes the object.
	Spec []byte
	// ExpectVersion, when not 0, must be the stored version (an object that
	// does not exist has version 0 and is matched by -1); otherwise the
	// whole change fails with a *VersionConflict.
	ExpectVersion int64
}

// VersionConflict is a change based on a version that is no longer stored.
type VersionConflict struct {
	Kind, Name      string
	Expected, Found int64
}

func (e *VersionConflict) Error() string {
	return fmt.Sprintf("%s %q was changed by someone else (version %d, yours %d); reload it and apply your change again",
		e.Kind, e.Name, e.Found, e.Expected)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *VersionConflict) Is(target error) bool { return target == ErrConflict }

// Revision records one object change: who, when, before and after.
type Revision struct {
	ID        int64
	CreatedAt time.Time
	User      string
	Kind      string
	Name      string
	// Action is create, update or delete.
	Action string
	Before []byte
	After  []byte
	// Batch groups the revisions written by one change.
	Batch string
}

type objectRow struct {
	Kind      string `gorm:"primaryKey;size:32"`
	Name      string `gorm:"primaryKey;size:128"`
	Version   int64  `gorm:"not null"`
	Spec      string `gorm:"type:text;not null"`
	UpdatedAt time.Time
}

func (objectRow) TableName() string { return "config_objects" }

type revisionRow struct {
	ID        int64 `gorm:"primaryKey;autoIncrement"`
	CreatedAt time.Time
	User      string `gorm:"size:64;not null"`
	Kind      string `gorm:"size:32;not null;index"`
	Name      string `gorm:"size:128;not null"`
	Action    string `gorm:"size:16;not null"`
	Before    string `gorm:"type:text"`
	After     string `gorm:"type:text"`
	Batch     string `gorm:"size:64;not null"`
}

func (revisionRow) TableName() string { return "config_revisions" }

// Objects returns every stored object, ordered by kind and name, with the
// id of the newest revision (0 when there is none). The objects are at
// least as new as that revision; with a concurrent writer they may be
// newer, which only makes a caller that compares revisions load again.
func (s *Store) Objects(ctx context.Context) ([]Object, int64, error) {
	var rows []objectRow
	var rev int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The revision first: where each statement sees what was committed
		// before it (PostgreSQL's read committed), the objects read next
		// are then at least as new as the revision returned. The other
		// order could return a revision whose changes were not read, and
		// its caller would never load them.
		if err := tx.Model(&revisionRow{}).Select("COALESCE(MAX(id), 0)").Scan(&rev).Error; err != nil {
			return err
		}
		return tx.Order("kind, name").Find(&rows).Error
	})
	if err != nil {
		return nil, 0, err
	}
	out := make([]Object, len(rows))
	for i, r := range rows {
		out[i] = Object{Kind: r.Kind, Name: r.Name, Version: r.Version, Spec: []byte(r.Spec), UpdatedAt: r.UpdatedAt}
	}
	return out, rev, nil
}

// LatestRevision returns the id of the newest revision, 0 when none.
func (s *Store) LatestRevision(ctx context.Context) (int64, error) {
	var rev int64
	err := s.db.WithContext(ctx).Model(&revisionRow{}).Select("COALESCE(MAX(id), 0)").Scan(&rev).Error
	return rev, err
}

// lockRevisions makes concurrent Apply transactions commit one after the
// other, so that revision ids grow in commit order. Instances compare the
// newest id with the one they loaded; without the lock, PostgreSQL and
// MySQL hand out ids at insert time, and a change whose id is lower than
// one already committed would never be loaded by an instance that saw the
// higher one. Readers are not blocked. SQLite has one writer at a time.
func lockRevisions(tx *gorm.DB, driver string) error {
	switch driver {
	case "postgres":
		return tx.Exec("LOCK TABLE config_revisions IN SHARE ROW EXCLUSIVE MODE").Error
	case "mysql":
		var ids []int64
		return tx.Raw("SELECT id FROM config_revisions ORDER BY id DESC LIMIT 1 FOR UPDATE").Scan(&ids).Error
	}
	return nil
}

// RevisionsAfter returns the newest revision id (after itself when there
// is none newer) and how many revisions newer than after belong to
// another batch than batch: changes made by others since a configuration
// was read at revision after.
func (s *Store) RevisionsAfter(ctx context.Context, after int64, batch string) (latest int64, others int64, err error) {
	var r struct{ Latest, Others int64 }
	err = s.db.WithContext(ctx).Model(&revisionRow{}).
		Select("COALESCE(MAX(id), ?) AS latest, COALESCE(SUM(CASE WHEN batch <> ? THEN 1 ELSE 0 END), 0) AS others", after, batch).
		Where("id > ?", after).Scan(&r).Error
	return r.Latest, r.Others, err
}

// Apply writes changes and their revisions in one transaction: all or
// nothing. It returns the objects as stored (deleted ones left out).
// A change that deletes an object that does not exist returns ErrNotFound.
func (s *Store) Apply(ctx context.Context, user, batch string, changes []Change) ([]Object, error) {
	var out []Object
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockRevisions(tx, s.driver); err != nil {
			return err
		}
		out = out[:0]
		for _, c := range changes {
			var cur objectRow
			err := tx.Where("kind = ? AND name = ?", c.Kind, c.Name).Take(&cur).Error
			exists := err == nil
			if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
				return err
			}
			if c.ExpectVersion != 0 {
				found := cur.Version
				if !exists {
					found = -1
				}
				if found != c.ExpectVersion {
					return &VersionConflict{Kind: c.Kind, Name: c.Name, Expected: c.ExpectVersion, Found: cur.Version}
				}
			}
			rev := revisionRow{User: user, Kind: c.Kind, Name: c.Name, Batch: batch}
			switch {
			case c.Spec == nil && !exists:
				return fmt.Errorf("%s %q: %w", c.Kind, c.Name, ErrNotFound)
			case c.Spec == nil:
				res := tx.Where("kind = ? AND name = ? AND version = ?", c.Kind, c.Name, cur.Version).Delete(&objectRow{})
				if res.Error != nil {
					return res.Error
				}
				if res.RowsAffected != 1 {
					return &VersionConflict{Kind: c.Kind, Name: c.Name, Expected: cur.Version, Found: cur.Version + 1}
				}
				rev.Action, rev.Before = "delete", cur.Spec
			case !exists:
				row := objectRow{Kind: c.Kind, Name: c.Name, Version: 1, Spec: string(c.Spec)}
				if err := tx.Create(&row).Error; err != nil {
					if translate(err) == ErrConflict {
						return &VersionConflict{Kind: c.Kind, Name: c.Name, Expected: 0, Found: 1}
					}
					return err
				}
				rev.Action, rev.After = "create", row.Spec
				out = append(out, Object{Kind: row.Kind, Name: row.Name, Version: row.Version, Spec: c.Spec, UpdatedAt: row.UpdatedAt})
			default:
				res := tx.Model(&objectRow{}).Where("kind = ? AND name = ? AND version = ?", c.Kind, c.Name, cur.Version).
					Updates(map[string]any{"version": cur.Version + 1, "spec": string(c.Spec), "updated_at": time.Now().UTC()})
				if res.Error != nil {
					return res.Error
				}
				if res.RowsAffected != 1 {
					return &VersionConflict{Kind: c.Kind, Name: c.Name, Expected: cur.Version, Found: cur.Version + 1}
				}
				rev.Action, rev.Before, rev.After = "update", cur.Spec, string(c.Spec)
				out = append(out, Object{Kind: c.Kind, Name: c.Name, Version: cur.Version + 1, Spec: c.Spec, UpdatedAt: time.Now().UTC()})
			}
			if err := tx.Create(&rev).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Revisions lists revisions newest first, with the total count.
func (s *Store) Revisions(ctx context.Context, limit, offset int) ([]Revision, int64, error) {
	var rows []revisionRow
	var total int64
	db := s.db.WithContext(ctx)
	if err := db.Model(&revisionRow{}).Count(&total).Error; err != nil {
		return nil, 0, err
	}
	if err := db.Order("id DESC").Limit(limit).Offset(offset).Find(&rows).Error; err != nil {
		return nil, 0, err
	}
	out := make([]Revision, len(rows))
	for i, r := range rows {
		out[i] = revisionFromRow(r)
	}
	return out, total, nil
}

// GetRevision returns the revision with id, or ErrNotFound.
func (s *Store) GetRevision(ctx context.Context, id int64) (*Revision, error) {
	var row revisionRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return nil, translate(err)
	}
	r := revisionFromRow(row)
	return &r, nil
}

func revisionFromRow(r revisionRow) Revision {
	rev := Revision{ID: r.ID, CreatedAt: r.CreatedAt, User: r.User, Kind: r.Kind, Name: r.Name, Action: r.Action, Batch: r.Batch}
	if r.Before != "" {
		rev.Before = []byte(r.Before)
	}
	if r.After != "" {
		rev.After = []byte(r.After)
	}
	return rev
}
