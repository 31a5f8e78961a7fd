package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver for the throwaway database
)

// SharedDatabase returns a database DSN that several gatehouse instances
// can share: a throwaway PostgreSQL database (dropped at the end of the
// test) when GATEHOUSE_TEST_POSTGRES_DSN names a server, else a SQLite
// file in a temporary directory.
func SharedDatabase(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN")
	if dsn == "" {
		return filepath.Join(t.TempDir(), "shared.db")
	}
	ctx := context.Background()
	name := fmt.Sprintf("gatehouse_e2e_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create a throwaway PostgreSQL database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = admin.Close()
	})
	q := ""
	if i := strings.Index(dsn, "?"); i >= 0 {
		dsn, q = dsn[:i], dsn[i:]
	}
	return dsn[:strings.LastIndex(dsn, "/")+1] + name + q
}

// UsesPostgres reports whether SharedDatabase returns PostgreSQL.
func UsesPostgres() bool { return os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN") != "" }
