package logging

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// newTestLogger opens a logger in a temp dir; it is closed at test end.
func newTestLogger(t *testing.T, opts Options) *Logger {
	t.Helper()
	if opts.File == "" {
		opts.File = filepath.Join(t.TempDir(), "logs", "gateway.log")
	}
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	l, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Close()) })
	return l
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// syncBuffer is a bytes.Buffer safe for the test and the logger to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestNewWritesFormatToFileAndStdout(t *testing.T) {
	tests := []struct {
		format string
		check  func(t *testing.T, line string)
	}{
		{"text", func(t *testing.T, line string) {
			require.Regexp(t, `^time=\S+ level=INFO msg="request done" component=gateway route=/v1/chat status=200$`, line)
		}},
		{"", func(t *testing.T, line string) { // text is the default
			require.Regexp(t, `^time=\S+ level=INFO msg="request done" component=gateway`, line)
		}},
		{"JSON", func(t *testing.T, line string) {
			var rec map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &rec))
			require.Equal(t, "INFO", rec["level"])
			require.Equal(t, "request done", rec["msg"])
			require.Equal(t, "gateway", rec["component"])
			require.Equal(t, "/v1/chat", rec["route"])
			require.InDelta(t, 200, rec["status"], 0)
			require.NotEmpty(t, rec["time"])
		}},
	}
	for _, tt := range tests {
		t.Run("format="+tt.format, func(t *testing.T) {
			stdout := &syncBuffer{}
			l := newTestLogger(t, Options{Format: tt.format, Stdout: stdout})
			require.Equal(t, filepath.Base(l.Path()), "gateway.log")
			l.Slog().With("component", "gateway").Info("request done", "route", "/v1/chat", "status", 200)

			lines := readLines(t, l.Path())
			require.Len(t, lines, 1)
			tt.check(t, lines[0])
			require.Equal(t, lines[0]+"\n", stdout.String(), "stdout gets the same record as the file")

			// What was written can be read back with its level and time.
			got, err := Tail(l.Path(), 10, Filter{})
			require.NoError(t, err)
			require.Len(t, got, 1)
			require.Equal(t, "INFO", got[0].Level)
			require.NotEmpty(t, got[0].Time)
			require.Contains(t, lines[0], got[0].Time)
		})
	}
}

func TestNewLevel(t *testing.T) {
	tests := []struct {
		level string
		want  []string // messages that reach the file
	}{
		{"", []string{"i", "w", "e"}},
		{"debug", []string{"d", "i", "w", "e"}},
		{"INFO", []string{"i", "w", "e"}},
		{"warn", []string{"w", "e"}},
		{" error ", []string{"e"}},
	}
	for _, tt := range tests {
		t.Run("level="+tt.level, func(t *testing.T) {
			l := newTestLogger(t, Options{Level: tt.level, Format: "json"})
			log := l.Slog()
			log.Debug("d")
			log.Info("i")
			log.Warn("w")
			log.Error("e")
			var got []string
			for _, line := range readLines(t, l.Path()) {
				var rec struct{ Msg string }
				require.NoError(t, json.Unmarshal([]byte(line), &rec))
				got = append(got, rec.Msg)
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"no file", Options{}, []string{"log file path is empty"}},
		{"bad level", Options{File: filepath.Join(dir, "a.log"), Level: "verbose"}, []string{`"verbose"`, "debug, info, warn or error"}},
		{"bad format", Options{File: filepath.Join(dir, "b.log"), Format: "xml"}, []string{`"xml"`, "text or json"}},
		{"negative size", Options{File: filepath.Join(dir, "c.log"), MaxSizeBytes: -1}, []string{"max size -1"}},
		{"negative backups", Options{File: filepath.Join(dir, "d.log"), MaxBackups: -2}, []string{"max backups -2"}},
		{"every problem at once", Options{Level: "loud", Format: "yaml"}, []string{"log file path is empty", `"loud"`, `"yaml"`}},
		{"file under a regular file", Options{File: filepath.Join(dir, "plain", "gateway.log")}, []string{"create log directory"}},
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "plain"), nil, 0o600))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := New(tt.opts)
			require.Error(t, err)
			require.Nil(t, l)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    slog.Level
		wantErr bool
	}{
		{"debug", slog.LevelDebug, false},
		{"Info", slog.LevelInfo, false},
		{"WARN", slog.LevelWarn, false},
		{"error", slog.LevelError, false},
		{"warning", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLevel(tt.in)
			if tt.wantErr {
				require.ErrorContains(t, err, "use debug, info, warn or error")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestRotationKeepsMaxBackups(t *testing.T) {
	tests := []struct {
		maxBackups int
		wantFiles  int // backups expected after many rotations
	}{
		{1, 1},
		{3, 3},
		{0, DefaultMaxBackups},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("backups=%d", tt.maxBackups), func(t *testing.T) {
			const maxSize = 300
			l := newTestLogger(t, Options{MaxSizeBytes: maxSize, MaxBackups: tt.maxBackups, Format: "json"})
			for i := range 200 {
				l.Slog().Info("record", "seq", i)
			}
			path := l.Path()
			_, err := os.Stat(backupName(path, tt.wantFiles+1))
			require.ErrorIs(t, err, os.ErrNotExist, "more than MaxBackups rotated files kept")

			// Oldest backup to current file: consecutive records ending at
			// the last one, each file within the size limit.
			var seqs []int
			for i := tt.wantFiles; i >= 0; i-- {
				name := backupName(path, i)
				info, err := os.Stat(name)
				require.NoError(t, err, "rotated file %d missing", i)
				require.LessOrEqual(t, info.Size(), int64(maxSize))
				for _, line := range readLines(t, name) {
					var rec struct{ Seq int }
					require.NoError(t, json.Unmarshal([]byte(line), &rec))
					seqs = append(seqs, rec.Seq)
				}
			}
			require.Equal(t, 199, seqs[len(seqs)-1])
			for i := 1; i < len(seqs); i++ {
				require.Equal(t, seqs[i-1]+1, seqs[i], "records lost or reordered across rotation")
			}
		})
	}
}

func TestRotationDropsBackupsBeyondALoweredMax(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.log")
	for i := 1; i <= 6; i++ {
		require.NoError(t, os.WriteFile(backupName(path, i), []byte("old\n"), 0o600))
	}
	l := newTestLogger(t, Options{File: path, MaxSizeBytes: 100, MaxBackups: 2})
	for range 10 {
		l.Slog().Info("a record long enough to rotate")
	}
	for i := 3; i <= 6; i++ {
		_, err := os.Stat(backupName(path, i))
		require.ErrorIs(t, err, os.ErrNotExist, "backup %d kept beyond MaxBackups=2", i)
	}
}

func TestNewAppendsToExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.log")
	require.NoError(t, os.WriteFile(path, []byte("before restart\n"), 0o600))
	l := newTestLogger(t, Options{File: path})
	l.Slog().Info("after restart")
	lines := readLines(t, path)
	require.Len(t, lines, 2)
	require.Equal(t, "before restart", lines[0])
	require.Contains(t, lines[1], "after restart")
}

func TestRedaction(t *testing.T) {
	const secret = "s3cr3t-VALUE"
	tests := []struct {
		name string
		log  func(l *slog.Logger)
	}{
		{"password", func(l *slog.Logger) { l.Info("login", "user", "alice", "password", secret) }},
		{"mixed case key", func(l *slog.Logger) { l.Info("login", "user", "alice", "Password", secret) }},
		{"suffix", func(l *slog.Logger) { l.Info("db", "user", "alice", "db_password", secret) }},
		{"secret", func(l *slog.Logger) { l.Info("cfg", "user", "alice", "jwt_secret", secret) }},
		{"token", func(l *slog.Logger) { l.Info("auth", "user", "alice", "refresh_token", secret) }},
		{"authorization header", func(l *slog.Logger) { l.Info("req", "user", "alice", "Authorization", "Bearer "+secret) }},
		{"apikey", func(l *slog.Logger) { l.Info("up", "user", "alice", "openaiApiKey", secret) }},
		{"api_key", func(l *slog.Logger) { l.Info("up", "user", "alice", "api_key", secret) }},
		{"hyphenated api key", func(l *slog.Logger) { l.Info("up", "user", "alice", "X-Api-Key", secret) }},
		{"cookie", func(l *slog.Logger) { l.Info("req", "user", "alice", "Cookie", "session="+secret) }},
		{"jwt", func(l *slog.Logger) { l.Info("auth", "user", "alice", "JWT", secret) }},
		{"inside a group", func(l *slog.Logger) {
			l.Info("req", "user", "alice", slog.Group("headers", "accept", "json", "authorization", secret))
		}},
		{"inside WithGroup", func(l *slog.Logger) {
			l.WithGroup("upstream").Info("call", "user", "alice", "token", secret)
		}},
		{"With attribute", func(l *slog.Logger) { l.With("client_secret", secret).Info("oauth", "user", "alice") }},
		{"group named like a secret", func(l *slog.Logger) {
			l.Info("auth", "user", "alice", slog.Group("authorization", "scheme", "Bearer", "credentials", secret))
		}},
		{"LogValuer", func(l *slog.Logger) { l.Info("auth", "user", "alice", "token", valuer(secret)) }},
		{"error level", func(l *slog.Logger) { l.Error("auth failed", "user", "alice", "password", secret) }},
	}
	for _, format := range []string{"text", "json"} {
		for _, tt := range tests {
			t.Run(format+"/"+tt.name, func(t *testing.T) {
				stdout := &syncBuffer{}
				l := newTestLogger(t, Options{Format: format, Stdout: stdout})
				tt.log(l.Slog())
				b, err := os.ReadFile(l.Path())
				require.NoError(t, err)
				file := string(b)
				require.NotContains(t, file, secret, "secret reached gateway.log")
				require.NotContains(t, stdout.String(), secret, "secret reached stdout")
				require.Contains(t, file, Redacted)
				require.Contains(t, file, "alice", "non-secret attributes are kept")
			})
		}
	}
}

func TestRedactionKeepsOrdinaryKeys(t *testing.T) {
	l := newTestLogger(t, Options{})
	l.Slog().Info("usage", "tokens_used", 42, "max_tokens", 100, "secretary", "bob", "route", "chat")
	file := strings.Join(readLines(t, l.Path()), "\n")
	require.NotContains(t, file, Redacted)
	for _, want := range []string{"tokens_used=42", "max_tokens=100", "secretary=bob", "route=chat"} {
		require.Contains(t, file, want)
	}
}

type valuer string

func (v valuer) LogValue() slog.Value { return slog.StringValue(string(v)) }

func TestConcurrentLoggingWithRotation(t *testing.T) {
	const writers, perWriter = 8, 250
	l := newTestLogger(t, Options{MaxSizeBytes: 4 << 10, MaxBackups: 1000, Format: "text"})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			log := l.Slog().With("writer", w)
			for i := range perWriter {
				log.Info("concurrent record", "seq", i)
			}
		})
	}
	// Readers run during the writes: Tail must stay consistent.
	wg.Go(func() {
		for range 20 {
			lines, err := Tail(l.Path(), 100, Filter{Query: "concurrent"})
			if err != nil {
				t.Error(err)
				return
			}
			for _, line := range lines {
				if line.Level != "INFO" {
					t.Errorf("torn line read back: %q", line.Text)
				}
			}
		}
	})
	wg.Wait()

	// Every record is in exactly one file, whole.
	seen := map[string]int{}
	for i := 0; ; i++ {
		f, err := os.Open(backupName(l.Path(), i))
		if os.IsNotExist(err) {
			break
		}
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			require.Regexp(t, `^time=\S+ level=INFO msg="concurrent record" writer=\d+ seq=\d+$`, line)
			key := line[strings.Index(line, "writer="):]
			seen[key]++
		}
		require.NoError(t, sc.Err())
		require.NoError(t, f.Close())
	}
	require.Len(t, seen, writers*perWriter)
	for w := range writers {
		for i := range perWriter {
			require.Equal(t, 1, seen["writer="+strconv.Itoa(w)+" seq="+strconv.Itoa(i)])
		}
	}
}

func TestCloseStopsFileButNotStdout(t *testing.T) {
	stdout := &syncBuffer{}
	l, err := New(Options{File: filepath.Join(t.TempDir(), "gateway.log"), Stdout: stdout})
	require.NoError(t, err)
	l.Slog().Info("before close")
	require.NoError(t, l.Close())
	require.NoError(t, l.Close(), "Close is idempotent")
	l.Slog().Info("after close")
	require.Len(t, readLines(t, l.Path()), 1)
	require.Contains(t, stdout.String(), "after close")
}

// TestLongValuesAreCapped: a client that sends a 900 KB username or path
// must not write 900 KB lines (and rotate the log away).
func TestLongValuesAreCapped(t *testing.T) {
	huge := strings.Repeat("a", 900<<10)
	tests := []struct {
		name string
		log  func(l *slog.Logger)
	}{
		{"string attribute", func(l *slog.Logger) { l.Warn("failed admin login", "user", huge, "client", "127.0.0.1") }},
		{"error attribute", func(l *slog.Logger) { l.Warn("upstream failed", "error", errors.New(huge), "client", "127.0.0.1") }},
		{"message", func(l *slog.Logger) { l.Warn("x"+huge, "client", "127.0.0.1") }},
		{"inside a group", func(l *slog.Logger) { l.Warn("req", slog.Group("headers", "user_agent", huge), "client", "127.0.0.1") }},
	}
	for _, format := range []string{"text", "json"} {
		for _, tt := range tests {
			t.Run(format+"/"+tt.name, func(t *testing.T) {
				l := newTestLogger(t, Options{Format: format, Stdout: &syncBuffer{}})
				tt.log(l.Slog())
				lines := readLines(t, l.Path())
				require.Len(t, lines, 1)
				require.Less(t, len(lines[0]), MaxMessageBytes+MaxValueBytes+512, "the line is capped")
				require.Contains(t, lines[0], "…[truncated ", "the cut is visible")
				require.Contains(t, lines[0], "127.0.0.1", "other attributes are kept")
			})
		}
	}
	require.Equal(t, "h…[truncated 5 bytes]", Truncate("héllo", 2), "cuts on a rune boundary")
}
