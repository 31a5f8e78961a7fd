package logging

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const waitFor = 10 * time.Second

// collector gathers the lines a Follow call delivers.
type collector struct {
	mu    sync.Mutex
	lines []Line
}

func (c *collector) add(l Line) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, l)
}

// msgs returns the messages delivered so far, without the probes.
func (c *collector) msgs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, l := range c.lines {
		if m := msgOf(l.Text); !strings.HasPrefix(m, "probe") {
			out = append(out, m)
		}
	}
	return out
}

func (c *collector) snapshot() []Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines)
}

func (c *collector) has(msg string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.ContainsFunc(c.lines, func(l Line) bool { return msgOf(l.Text) == msg })
}

// startFollow runs Follow until the test ends and checks that it then
// returns nil.
func startFollow(t *testing.T, path string, f Filter) *collector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{}
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, path, f, c.add) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err, "Follow must return nil when its context ends")
		case <-time.After(waitFor):
			t.Error("Follow did not return after its context ended")
		}
	})
	return c
}

// waitFollowing writes probe lines until the follower reports one, so that
// what the test writes next is written after Follow has found the file's end.
func waitFollowing(t *testing.T, c *collector, probe func()) {
	t.Helper()
	require.Eventually(t, func() bool {
		probe()
		return c.has("probe")
	}, waitFor, 20*time.Millisecond, "Follow never delivered a probe line")
}

func waitMsg(t *testing.T, c *collector, msg string) {
	t.Helper()
	require.Eventually(t, func() bool { return c.has(msg) }, waitFor, 10*time.Millisecond, "Follow never delivered %q", msg)
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	require.NoError(t, err)
	_, err = f.WriteString(s)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func TestFollowDeliversNewMatchingLines(t *testing.T) {
	tests := []struct {
		name   string
		filter Filter
		want   []string
	}{
		{"all", Filter{}, []string{"req-one", "debug-two", "warn-three", "req-four", "end"}},
		{"min level", Filter{Level: "warn"}, []string{"warn-three", "end"}},
		{"query", Filter{Query: "REQ"}, []string{"req-one", "req-four"}},
	}
	for _, format := range []string{"text", "json"} {
		for _, tt := range tests {
			t.Run(format+"/"+tt.name, func(t *testing.T) {
				l := newTestLogger(t, Options{Format: format, Level: "debug"})
				log := l.Slog()
				log.Info("old-req-line")
				c := startFollow(t, l.Path(), tt.filter)
				waitFollowing(t, c, func() { log.Error("probe", "q", "req") })

				log.Info("req-one")
				log.Debug("debug-two")
				log.Warn("warn-three")
				log.Info("req-four")
				log.Error("end", "q", "req")
				waitMsg(t, c, "end")
				got := c.msgs()
				if !slices.Contains(tt.want, "end") {
					got = slices.DeleteFunc(got, func(s string) bool { return s == "end" })
				}
				require.Equal(t, tt.want, got, "lines written before Follow started must not be delivered")
				for _, line := range c.snapshot() {
					require.NotEmpty(t, line.Level)
					require.NotEmpty(t, line.Time)
				}
			})
		}
	}
}

func TestFollowAcrossRotation(t *testing.T) {
	tests := []struct {
		format string
		burst  int // records written at once, rotating many times between polls
	}{
		{"text", 400},
		{"json", 400},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			l := newTestLogger(t, Options{Format: tt.format, MaxSizeBytes: 1 << 10, MaxBackups: 1000})
			log := l.Slog()
			c := startFollow(t, l.Path(), Filter{})
			waitFollowing(t, c, func() { log.Info("probe") })

			var want []string
			write := func(n int) {
				for range n {
					msg := fmt.Sprintf("rec-%04d", len(want))
					want = append(want, msg)
					log.Info(msg, "pad", strings.Repeat("p", 40))
				}
			}
			// Write, rotate, write: each phase waits until the follower
			// caught up, so it sees each rotation on its own.
			write(5)
			waitMsg(t, c, want[len(want)-1])
			write(10) // past 1 KiB: rotates
			waitMsg(t, c, want[len(want)-1])
			_, err := os.Stat(backupName(l.Path(), 1))
			require.NoError(t, err, "the test must have rotated the log")
			write(5)
			waitMsg(t, c, want[len(want)-1])
			write(tt.burst)
			waitMsg(t, c, want[len(want)-1])

			require.Equal(t, want, c.msgs(), "every line exactly once, in order")
		})
	}
}

func TestFollowWaitsForFileToExist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not-yet", "gateway.log")
	c := startFollow(t, path, Filter{})
	l := newTestLogger(t, Options{File: path})
	waitFollowing(t, c, func() { l.Slog().Info("probe") })
	l.Slog().Info("after")
	waitMsg(t, c, "after")
	require.Equal(t, []string{"after"}, c.msgs())
}

func TestFollowerReadsFileCreatedLaterFromItsStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not-yet", "gateway.log")
	fl, c := newPolledFollower(t, path)
	require.NoError(t, fl.poll(context.Background()))
	l := newTestLogger(t, Options{File: path})
	l.Slog().Info("first")
	l.Slog().Info("second")
	require.NoError(t, fl.poll(context.Background()))
	require.Equal(t, []string{"first", "second"}, c.msgs())
}

func TestFollowTruncatedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.log")
	appendFile(t, path, strings.Repeat("msg=old-line padding padding padding\n", 100))
	c := startFollow(t, path, Filter{})
	waitFollowing(t, c, func() { appendFile(t, path, "msg=probe\n") })

	require.NoError(t, os.WriteFile(path, []byte("msg=after-1\nmsg=after-2\n"), 0o600))
	waitMsg(t, c, "after-2")
	require.Equal(t, []string{"after-1", "after-2"}, c.msgs())
}

func TestFollowRejectsBadLevel(t *testing.T) {
	err := Follow(context.Background(), filepath.Join(t.TempDir(), "gateway.log"), Filter{Level: "loud"}, func(Line) {})
	require.ErrorContains(t, err, "use debug, info, warn or error")
}

// The tests below drive one follower poll by poll, which makes the moment
// of each rotation relative to the reads exact.

func newPolledFollower(t *testing.T, path string) (*Follower, *collector) {
	t.Helper()
	m, err := newMatcher(Filter{})
	require.NoError(t, err)
	c := &collector{}
	fl := &Follower{path: path, m: m, fn: c.add, buf: make([]byte, 4<<10)}
	t.Cleanup(fl.close)
	require.NoError(t, fl.start())
	return fl, c
}

func TestFollowerPollScenarios(t *testing.T) {
	type env struct {
		t    *testing.T
		path string
		log  func(msg string)
		fl   *Follower
		poll func()
	}
	tests := []struct {
		name    string
		initial string               // the file's content when the follower starts
		run     func(e env) []string // returns the expected messages
	}{
		{"write rotate write", "msg=before\n", func(e env) []string {
			var want []string
			for i := range 60 {
				msg := fmt.Sprintf("r%02d", i)
				want = append(want, msg)
				e.log(msg)
				if i%7 == 0 {
					e.poll()
				}
			}
			e.poll()
			return want
		}},
		{"many rotations between two polls", "msg=before\n", func(e env) []string {
			var want []string
			for i := range 200 {
				msg := fmt.Sprintf("r%03d", i)
				want = append(want, msg)
				e.log(msg)
			}
			_, err := os.Stat(backupName(e.path, 5))
			require.NoError(e.t, err, "the test must rotate several times")
			e.poll()
			return want
		}},
		{"line started before Follow is delivered whole", "msg=before\nmsg=half", func(e env) []string {
			appendFile(e.t, e.path, "-done\n")
			e.poll()
			return []string{"half-done"}
		}},
		{"line written in two parts", "msg=before\nmsg=half", func(e env) []string {
			appendFile(e.t, e.path, "\nmsg=part-one")
			e.poll()
			appendFile(e.t, e.path, "+two\n")
			e.poll()
			return []string{"half", "part-one+two"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "gateway.log")
			appendFile(t, path, tt.initial)
			fl, c := newPolledFollower(t, path)
			l := newTestLogger(t, Options{File: path, MaxSizeBytes: 300, MaxBackups: 100})
			e := env{
				t:    t,
				path: path,
				log:  func(msg string) { l.Slog().Info(msg) },
				fl:   fl,
				poll: func() { require.NoError(t, fl.poll(context.Background())) },
			}
			want := tt.run(e)
			require.Equal(t, want, c.msgs(), "every line after the start exactly once, in order")
		})
	}
}

func TestFollowerDroppedBackupsNeverDuplicate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.log")
	fl, c := newPolledFollower(t, path)
	l := newTestLogger(t, Options{File: path, MaxSizeBytes: 200, MaxBackups: 1})
	for i := range 300 {
		l.Slog().Info(fmt.Sprintf("r%03d", i))
		if i%50 == 0 {
			require.NoError(t, fl.poll(context.Background()))
		}
	}
	require.NoError(t, fl.poll(context.Background()))
	got := c.msgs()
	require.NotEmpty(t, got)
	require.True(t, slices.IsSorted(got), "lines out of order: %v", got)
	require.Equal(t, len(got), len(slices.Compact(slices.Clone(got))), "a line was delivered twice")
	require.Equal(t, "r299", got[len(got)-1])
}

func TestFollowerCutsOverlongLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.log")
	appendFile(t, path, "")
	fl, c := newPolledFollower(t, path)
	long := "msg=huge " + strings.Repeat("x", 2*maxLineBytes+5)
	appendFile(t, path, long+"\nmsg=next\n")
	require.NoError(t, fl.poll(context.Background()))
	require.Len(t, c.lines, 2)
	require.Equal(t, long[:maxLineBytes], c.lines[0].Text)
	require.Equal(t, "msg=next", c.lines[1].Text)
}

// A client is told it is attached once StartFollow returns; a line written
// at that moment, before Run's first poll, must still reach it.
func TestStartFollowFixesTheStartBeforeRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.log")
	appendFile(t, path, "time=t level=INFO msg=old\n")
	fl, err := StartFollow(path, Filter{})
	require.NoError(t, err)
	appendFile(t, path, "time=t level=INFO msg=right-after-attach\n")

	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{}
	done := make(chan error, 1)
	go func() { done <- fl.Run(ctx, c.add) }()
	waitMsg(t, c, "right-after-attach")
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, []string{"right-after-attach"}, c.msgs(), "the line before StartFollow is not repeated")
}
