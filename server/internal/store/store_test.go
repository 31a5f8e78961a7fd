package store

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"
)

// openStores returns a fresh store on SQLite, and on PostgreSQL and MySQL
// when GATEHOUSE_TEST_POSTGRES_DSN / GATEHOUSE_TEST_MYSQL_DSN name a server:
// each gets a throwaway database dropped at the end of the test.
func openStores(t *testing.T) map[string]*Store {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	out := map[string]*Store{}
	open := func(name, dsn string) {
		s, err := Open(ctx, dsn, log)
		require.NoError(t, err, name)
		t.Cleanup(func() { _ = s.Close() })
		out[name] = s
	}
	open("sqlite", filepath.Join(t.TempDir(), "db", "gatehouse.db"))
	dbName := fmt.Sprintf("gatehouse_test_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	if dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN"); dsn != "" {
		admin, err := sql.Open("pgx", dsn)
		require.NoError(t, err)
		_, err = admin.ExecContext(ctx, "CREATE DATABASE "+dbName)
		require.NoError(t, err, "create a throwaway PostgreSQL database")
		t.Cleanup(func() {
			_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+dbName+" WITH (FORCE)")
			_ = admin.Close()
		})
		open("postgres", replaceDBName(dsn, dbName))
	}
	if dsn := os.Getenv("GATEHOUSE_TEST_MYSQL_DSN"); dsn != "" {
		plain := strings.TrimPrefix(dsn, "mysql://")
		admin, err := sql.Open("mysql", plain)
		require.NoError(t, err)
		_, err = admin.ExecContext(ctx, "CREATE DATABASE "+dbName)
		require.NoError(t, err, "create a throwaway MySQL database")
		t.Cleanup(func() {
			_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+dbName)
			_ = admin.Close()
		})
		open("mysql", replaceDBName(plain, dbName))
	}
	return out
}

// replaceDBName swaps the database of a URL-style or MySQL-style DSN.
func replaceDBName(dsn, db string) string {
	q := ""
	if i := strings.Index(dsn, "?"); i >= 0 {
		dsn, q = dsn[:i], dsn[i:]
	}
	slash := strings.LastIndex(dsn, "/")
	if slash < 0 || strings.HasSuffix(dsn[:slash], "/") {
		return dsn + "/" + db + q
	}
	return dsn[:slash+1] + db + q
}

func TestUsersOnEveryDriver(t *testing.T) {
	ctx := context.Background()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			has, err := s.HasUsers(ctx)
			require.NoError(t, err)
			require.False(t, has, "a new database has no administrator")

			u, err := s.CreateFirstUser(ctx, "admin", "hash-1")
			require.NoError(t, err)
			require.Equal(t, "admin", u.Username)

			_, err = s.CreateFirstUser(ctx, "other", "hash-2")
			require.ErrorIs(t, err, ErrAlreadyInitialized, "a second first-run must be refused")

			got, err := s.GetUser(ctx, "admin")
			require.NoError(t, err)
			require.Equal(t, "hash-1", got.PasswordHash)
			require.WithinDuration(t, time.Now(), got.CreatedAt, time.Minute)

			require.NoError(t, s.SetPassword(ctx, "admin", "hash-3"))
			got, err = s.GetUser(ctx, "admin")
			require.NoError(t, err)
			require.Equal(t, "hash-3", got.PasswordHash)

			_, err = s.GetUser(ctx, "nobody")
			require.ErrorIs(t, err, ErrNotFound)
			require.ErrorIs(t, s.SetPassword(ctx, "nobody", "x"), ErrNotFound)
		})
	}
}

func TestFirstUserRaceCreatesExactlyOne(t *testing.T) {
	ctx := context.Background()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			created := 0
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := s.CreateFirstUser(ctx, fmt.Sprintf("user%d", i), "h"); err == nil {
						mu.Lock()
						created++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			require.Equal(t, 1, created, "concurrent first-run requests must create exactly one administrator")
		})
	}
}

func TestSettingsAndPluginAddresses(t *testing.T) {
	ctx := context.Background()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			_, err := s.Setting(ctx, "jwt.secret")
			require.ErrorIs(t, err, ErrNotFound)
			v, err := s.SettingOrCreate(ctx, "jwt.secret", "first")
			require.NoError(t, err)
			require.Equal(t, "first", v)
			v, err = s.SettingOrCreate(ctx, "jwt.secret", "second")
			require.NoError(t, err)
			require.Equal(t, "first", v, "an existing secret is kept across restarts")
			require.NoError(t, s.SetSetting(ctx, "redis.settings", `{"a":1}`))
			require.NoError(t, s.SetSetting(ctx, "redis.settings", `{"a":2}`))
			v, err = s.Setting(ctx, "redis.settings")
			require.NoError(t, err)
			require.Equal(t, `{"a":2}`, v, "SetSetting replaces the stored value")

			require.NoError(t, s.EnsurePluginAddress(ctx, "mcp-server", "file:///a/mcp-server.so"))
			require.NoError(t, s.EnsurePluginAddress(ctx, "mcp-server", "file:///b/mcp-server.so"))
			addrs, err := s.PluginAddresses(ctx)
			require.NoError(t, err)
			require.Equal(t, "file:///a/mcp-server.so", addrs["mcp-server"].ImageAddress, "Ensure must not overwrite an edited address")
			require.NoError(t, s.SetPluginAddress(ctx, "mcp-server", "file:///c/mcp-server.so"))
			addrs, err = s.PluginAddresses(ctx)
			require.NoError(t, err)
			require.Equal(t, "file:///c/mcp-server.so", addrs["mcp-server"].ImageAddress)
		})
	}
}

func TestOpenRefusesUnreachableDatabaseWithDriverName(t *testing.T) {
	_, err := Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.Error(t, err)
	require.Contains(t, err.Error(), "postgres")
}

func TestAPITokens(t *testing.T) {
	ctx := context.Background()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			exp := time.Now().Add(time.Hour).UTC()
			tok, err := s.CreateToken(ctx, APIToken{Name: "ci", Username: "admin", Scope: "read", Prefix: "ght_abcd", ExpiresAt: &exp}, "h1")
			require.NoError(t, err)
			require.NotZero(t, tok.ID)
			_, err = s.CreateToken(ctx, APIToken{Name: "dup", Username: "admin", Scope: "read", Prefix: "x"}, "h1")
			require.ErrorIs(t, err, ErrConflict)
			got, err := s.TokenByHash(ctx, "h1")
			require.NoError(t, err)
			require.Equal(t, "ci", got.Name)
			require.Nil(t, got.LastUsedAt)
			require.NoError(t, s.TouchToken(ctx, tok.ID, time.Now()))
			got, _ = s.TokenByHash(ctx, "h1")
			require.NotNil(t, got.LastUsedAt)
			list, err := s.Tokens(ctx)
			require.NoError(t, err)
			require.Len(t, list, 1)
			require.NoError(t, s.DeleteToken(ctx, tok.ID))
			require.ErrorIs(t, s.DeleteToken(ctx, tok.ID), ErrNotFound)
			_, err = s.TokenByHash(ctx, "h1")
			require.ErrorIs(t, err, ErrNotFound)
		})
	}
}

// The SQLite database holds the JWT secret, password hashes and stored
// credentials: it and its WAL are readable by their owner only.
func TestSQLiteFilesAreOwnerOnly(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	check := func(t *testing.T, path string) {
		t.Helper()
		s, err := Open(ctx, path, log)
		require.NoError(t, err)
		require.NoError(t, s.SetSetting(ctx, "k", "v")) // writes the WAL
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			info, err := os.Stat(p)
			require.NoError(t, err, p)
			require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), p)
		}
		require.NoError(t, s.Close())
	}
	t.Run("new database", func(t *testing.T) { check(t, filepath.Join(t.TempDir(), "gatehouse.db")) })
	t.Run("an existing world-readable database is narrowed", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "gatehouse.db")
		s, err := Open(ctx, path, log)
		require.NoError(t, err)
		require.NoError(t, s.Close())
		require.NoError(t, os.Chmod(path, 0o644))
		check(t, path)
	})
}
