// Package store keeps the dynamic state of gatehouse in a relational
// database through gorm: SQLite by default, PostgreSQL or MySQL when several
// instances share one database. It is the only package that imports gorm.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Errors callers branch on.
var (
	// ErrNotFound means the object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means an object with that name exists already, or the
	// version given is not the stored one.
	ErrConflict = errors.New("conflict")
	// ErrAlreadyInitialized means an administrator exists already.
	ErrAlreadyInitialized = errors.New("already initialized")
)

// Store is a handle on the database. It is safe for concurrent use.
type Store struct {
	db     *gorm.DB
	driver string
}

// Driver names the database kind: sqlite, postgres or mysql.
func (s *Store) Driver() string { return s.driver }

// Open connects to the database named by dsn and migrates it: a postgres://
// or postgresql:// URL selects PostgreSQL, a mysql:// URL or a DSN with
// "@tcp(" selects MySQL, anything else is a SQLite file path (its directory
// is created).
func Open(ctx context.Context, dsn string, log *slog.Logger) (*Store, error) {
	driver, dialector, err := dialectorFor(dsn)
	if err != nil {
		return nil, err
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		Logger:         logger.Discard,
		TranslateError: true,
		NowFunc:        func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", driver, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", driver, err)
	}
	if driver == "sqlite" {
		// One writer at a time is SQLite's model; WAL lets readers go on.
		sqlDB.SetMaxOpenConns(1)
	}
	s := &Store{db: db, driver: driver}
	if err := s.Ping(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("connect to %s database: %w", driver, err)
	}
	if err := db.WithContext(ctx).AutoMigrate(models...); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("migrate %s database: %w", driver, err)
	}
	log.Info("database ready", "driver", driver)
	return s, nil
}

func dialectorFor(dsn string) (string, gorm.Dialector, error) {
	switch {
	case dsn == "":
		return "", nil, errors.New("database: empty DSN; set GATEHOUSE_DATABASE or GATEHOUSE_DATA_DIR")
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "postgres", postgres.Open(dsn), nil
	case strings.HasPrefix(dsn, "mysql://"):
		return "mysql", mysql.Open(withMySQLParams(strings.TrimPrefix(dsn, "mysql://"))), nil
	case strings.Contains(dsn, "@tcp(") || strings.Contains(dsn, "@unix("):
		return "mysql", mysql.Open(withMySQLParams(dsn)), nil
	default:
		if err := os.MkdirAll(filepath.Dir(dsn), 0o750); err != nil {
			return "", nil, fmt.Errorf("create the database directory: %w", err)
		}
		if err := privateFile(dsn); err != nil {
			return "", nil, err
		}
		return "sqlite", sqlite.Open("file:" + dsn + "?_busy_timeout=5000&_journal_mode=WAL&_foreign_keys=on"), nil
	}
}

// privateFile creates the SQLite file readable by its owner only, or
// narrows an existing one to that: it holds the JWT secret, password
// hashes and stored credentials. SQLite gives its -wal and -shm files the
// database file's mode.
func privateFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create the database file %s: %w — check the directory's permissions", path, err)
	}
	info, err := f.Stat()
	_ = f.Close()
	if err != nil {
		return fmt.Errorf("inspect the database file %s: %w", path, err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Chmod(p, info.Mode().Perm()&0o700); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("make the database file %s private (chmod 600): %w", p, err)
			}
		}
	}
	return nil
}

func withMySQLParams(dsn string) string {
	if strings.Contains(dsn, "parseTime=") {
		return dsn
	}
	if strings.Contains(dsn, "?") {
		return dsn + "&parseTime=true"
	}
	return dsn + "?parseTime=true"
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close closes the connection pool.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// translate maps gorm's errors to the package's.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return ErrConflict
	}
	return err
}
