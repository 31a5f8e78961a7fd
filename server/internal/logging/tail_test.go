package logging

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func texts(lines []Line) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		out = append(out, l.Text)
	}
	return out
}

// msgs returns the msg of each line, assuming messages without spaces.
func msgs(lines []Line) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		out = append(out, msgOf(l.Text))
	}
	return out
}

func msgOf(text string) string {
	if v := jsonField([]byte(text), "msg"); v != nil {
		return string(v)
	}
	return string(textField([]byte(text), "msg"))
}

func TestTailFilters(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		filter Filter
		want   []string
	}{
		{"all", 100, Filter{}, []string{"boot", "dbg", "req-a", "slow-upstream", "req-B", "crash"}},
		{"last n", 2, Filter{}, []string{"req-B", "crash"}},
		{"min level warn", 100, Filter{Level: "warn"}, []string{"slow-upstream", "crash"}},
		{"min level is case-insensitive", 100, Filter{Level: "ERROR"}, []string{"crash"}},
		{"debug lets all through", 100, Filter{Level: "debug"}, []string{"boot", "dbg", "req-a", "slow-upstream", "req-B", "crash"}},
		{"query ignores case", 100, Filter{Query: "REQ-"}, []string{"req-a", "req-B"}},
		{"query matches attributes", 100, Filter{Query: "/V1/"}, []string{"req-a", "req-B"}},
		{"query and level", 100, Filter{Query: "req", Level: "info"}, []string{"req-a", "req-B"}},
		{"last n of filtered", 1, Filter{Query: "req"}, []string{"req-B"}},
		{"no match", 100, Filter{Query: "nothing like this"}, []string{}},
		{"zero n", 0, Filter{}, []string{}},
		{"negative n", -5, Filter{}, []string{}},
	}
	for _, format := range []string{"text", "json"} {
		l := newTestLogger(t, Options{Format: format, Level: "debug"})
		log := l.Slog()
		log.Info("boot")
		log.Debug("dbg")
		log.Info("req-a", "route", "/v1/chat")
		log.Warn("slow-upstream")
		log.Info("req-B", "route", "/v1/embed")
		log.Error("crash")
		for _, tt := range tests {
			t.Run(format+"/"+tt.name, func(t *testing.T) {
				got, err := Tail(l.Path(), tt.n, tt.filter)
				require.NoError(t, err)
				require.NotNil(t, got)
				require.Equal(t, tt.want, msgs(got))
				for _, line := range got {
					require.NotEmpty(t, line.Time)
					require.Contains(t, []string{"DEBUG", "INFO", "WARN", "ERROR"}, line.Level)
				}
			})
		}
	}
}

func TestTailLevelFilterSkipsLinesWithoutLevel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.log")
	content := "panic: something\n" +
		`time=2025-01-01T00:00:00Z level=ERROR msg=x` + "\n" +
		`{"time":"2025-01-01T00:00:01Z","level":"WARN","msg":"y"}` + "\n" +
		`time=2025-01-01T00:00:02Z level=INFO msg="level=ERROR in text"` + "\n"
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))

	all, err := Tail(path, 10, Filter{})
	require.NoError(t, err)
	require.Len(t, all, 4)
	require.Equal(t, Line{Text: "panic: something"}, all[0])
	require.Equal(t, "2025-01-01T00:00:01Z", all[2].Time)
	require.Equal(t, "INFO", all[3].Level, "level inside the message does not count")

	warn, err := Tail(path, 10, Filter{Level: "warn"})
	require.NoError(t, err)
	require.Equal(t, []string{"x", "y"}, msgs(warn))
}

func TestTailRejectsBadLevel(t *testing.T) {
	_, err := Tail(filepath.Join(t.TempDir(), "gateway.log"), 10, Filter{Level: "loud"})
	require.ErrorContains(t, err, "use debug, info, warn or error")
}

func TestTailMissingFileHasNoLines(t *testing.T) {
	got, err := Tail(filepath.Join(t.TempDir(), "gateway.log"), 10, Filter{})
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestTailAcrossRotation(t *testing.T) {
	l := newTestLogger(t, Options{MaxSizeBytes: 1 << 10, MaxBackups: 50})
	for i := range 100 {
		if i%10 == 0 {
			l.Slog().Warn(fmt.Sprintf("rec-%03d", i))
		} else {
			l.Slog().Info(fmt.Sprintf("rec-%03d", i))
		}
	}
	_, err := os.Stat(backupName(l.Path(), 3))
	require.NoError(t, err, "the test needs several rotated files")

	want := func(from, to, step int) []string {
		var out []string
		for i := from; i < to; i += step {
			out = append(out, fmt.Sprintf("rec-%03d", i))
		}
		return out
	}
	tests := []struct {
		name   string
		n      int
		filter Filter
		want   []string
	}{
		{"every line from every file", 1000, Filter{}, want(0, 100, 1)},
		{"last lines span files", 30, Filter{}, want(70, 100, 1)},
		{"filtered lines come from old files", 1000, Filter{Level: "warn"}, want(0, 100, 10)},
		{"last filtered", 3, Filter{Level: "warn"}, want(70, 100, 10)},
		{"query only in the oldest file", 10, Filter{Query: "rec-001"}, []string{"rec-001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Tail(l.Path(), tt.n, tt.filter)
			require.NoError(t, err)
			require.Equal(t, tt.want, msgs(got))
		})
	}
}

func TestTailCurrentFileMissingReadsBackups(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.log")
	require.NoError(t, os.WriteFile(backupName(path, 2), []byte("one\ntwo\n"), 0o600))
	require.NoError(t, os.WriteFile(backupName(path, 1), []byte("three\n"), 0o600))
	got, err := Tail(path, 10, Filter{})
	require.NoError(t, err)
	require.Equal(t, []string{"one", "two", "three"}, texts(got))
}

func TestTailCapsAtMaxTailLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.log")
	var b strings.Builder
	for i := range MaxTailLines + 500 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	got, err := Tail(path, 1_000_000, Filter{})
	require.NoError(t, err)
	require.Len(t, got, MaxTailLines)
	require.Equal(t, "line 500", got[0].Text)
	require.Equal(t, fmt.Sprintf("line %d", MaxTailLines+499), got[len(got)-1].Text)
}

// TestTailBlockBoundaries checks lines that straddle the blocks Tail reads
// against a plain forward split, for lines shorter and longer than a block.
func TestTailBlockBoundaries(t *testing.T) {
	tests := []struct {
		name    string
		lineLen func(i int) int
		count   int
		noFinal bool // no newline after the last line
	}{
		{"short lines", func(i int) int { return 10 + i%90 }, 5000, false},
		{"lines around the block size", func(i int) int { return tailBlockSize - 3 + i%7 }, 12, false},
		{"lines longer than several blocks", func(i int) int { return 3*tailBlockSize + 17*i }, 5, false},
		{"unterminated last line", func(i int) int { return 100 + i }, 1500, true},
		{"empty lines skipped", func(i int) int { return (i % 3) * 50 }, 300, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			var want []string
			for i := range tt.count {
				line := fmt.Sprintf("%d:", i) + strings.Repeat(string(rune('a'+i%26)), tt.lineLen(i))
				if tt.lineLen(i) == 0 {
					line = ""
				}
				b.WriteString(line)
				if !tt.noFinal || i < tt.count-1 {
					b.WriteByte('\n')
				}
				if line != "" {
					want = append(want, line)
				}
			}
			path := filepath.Join(t.TempDir(), "gateway.log")
			require.NoError(t, os.WriteFile(path, b.Bytes(), 0o600))
			n := min(len(want), MaxTailLines)
			got, err := Tail(path, n, Filter{})
			require.NoError(t, err)
			require.Equal(t, want[len(want)-n:], texts(got))
		})
	}
}

func TestTailCutsOverlongLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.log")
	long := "time=2025-01-01T00:00:00Z level=ERROR msg=huge " + strings.Repeat("x", 3*maxLineBytes)
	require.NoError(t, os.WriteFile(path, []byte("before\n"+long+"\nafter\n"), 0o600))
	got, err := Tail(path, 10, Filter{Level: "error"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Len(t, got[0].Text, maxLineBytes)
	require.Equal(t, long[:maxLineBytes], got[0].Text)

	all, err := Tail(path, 10, Filter{})
	require.NoError(t, err)
	require.Len(t, all, 3)
	require.Equal(t, "before", all[0].Text)
	require.Equal(t, "after", all[2].Text)
}

// BenchmarkTail reads the last lines of a 64 MiB log: its cost follows the
// lines returned, not the size of the file.
func BenchmarkTail(b *testing.B) {
	path := filepath.Join(b.TempDir(), "gateway.log")
	line := `time=2025-01-01T00:00:00.000Z level=INFO msg="request done" component=gateway route=/v1/chat status=200 duration_ms=12` + "\n"
	chunk := bytes.Repeat([]byte(line), (1<<20)/len(line))
	f, err := os.Create(path)
	require.NoError(b, err)
	for range 64 {
		_, err := f.Write(chunk)
		require.NoError(b, err)
	}
	_, err = f.WriteString(`time=2025-01-01T00:00:01.000Z level=ERROR msg="upstream failed" route=/v1/chat` + "\n")
	require.NoError(b, err)
	require.NoError(b, f.Close())

	for _, bc := range []struct {
		name   string
		n      int
		filter Filter
	}{
		{"last100", 100, Filter{}},
		{"last5000", MaxTailLines, Filter{}},
		{"last100-query", 100, Filter{Query: "STATUS=200"}},
		{"last-error", 1, Filter{Level: "error"}},
		{"no-match-whole-file", 1, Filter{Query: "nothing like this"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				lines, err := Tail(path, bc.n, bc.filter)
				if err != nil || len(lines) == 0 && bc.filter.Query != "nothing like this" {
					b.Fatalf("Tail: %d lines, %v", len(lines), err)
				}
			}
		})
	}
}
