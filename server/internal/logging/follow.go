package logging

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"time"
)

// followPollInterval is how often Follow looks for new lines and rotation.
const followPollInterval = 100 * time.Millisecond

// followBlockSize is how much Follow reads at a time.
const followBlockSize = 64 << 10

// Follow calls fn, in order, for each complete line that passes f and is
// appended to the log at path after Follow starts, until ctx is done; it then
// returns nil. A line being written when Follow starts is delivered whole.
// It is StartFollow followed by Run.
func Follow(ctx context.Context, path string, f Filter, fn func(Line)) error {
	fl, err := StartFollow(path, f)
	if err != nil {
		return err
	}
	return fl.Run(ctx, fn)
}

// StartFollow fixes where following the log at path begins: lines appended
// after StartFollow returns are delivered by Run. Callers that tell a client
// "attached" do so after StartFollow, so no line written in between is lost.
//
// Following polls the file. It survives rotation: when path is renamed away it
// finishes the old file, then continues with the files that followed it
// (path.N-1 … path.1, path) from their start, so every line is delivered
// exactly once, unless rotation dropped a file before Run got to it; then
// Run goes on with the oldest file left. A file truncated in place is read
// again from its start. A path that does not exist yet is waited for and then
// read from its start. StartFollow returns an error only for an invalid
// filter or a file it cannot read.
func StartFollow(path string, f Filter) (*Follower, error) {
	m, err := newMatcher(f)
	if err != nil {
		return nil, err
	}
	fl := &Follower{path: path, m: m, buf: make([]byte, followBlockSize)}
	if err := fl.start(); err != nil {
		fl.close()
		return nil, err
	}
	return fl, nil
}

// Run calls fn, in order and on Run's goroutine, for each complete line that
// passes the filter, until ctx is done; it then returns nil. A slow fn slows
// reading. Run may be called once.
func (fl *Follower) Run(ctx context.Context, fn func(Line)) error {
	fl.fn = fn
	defer fl.close()
	ticker := time.NewTicker(followPollInterval)
	defer ticker.Stop()
	for {
		if err := fl.poll(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// Follower is the state of one following of the log: the file being read and how far.
type Follower struct {
	path string
	m    *matcher
	fn   func(Line)
	buf  []byte

	f    *os.File    // nil while no file is open
	info os.FileInfo // identity of f
	off  int64       // next byte of f to read
	// pending is the start of a line whose newline has not been read yet,
	// at most maxLineBytes long.
	pending []byte
	// skip drops bytes up to the next newline: the tail of a line longer
	// than the whole search window at start.
	skip bool
	// prev is the file that was rotated away while f is nil and its
	// successor has not been opened yet; prevPolls counts the polls spent
	// looking for it.
	prev      os.FileInfo
	prevPolls int
}

// start opens path if it exists and positions at the start of the last
// incomplete line, or at the end.
func (fl *Follower) start() error {
	ok, err := fl.open(fl.path)
	if err != nil || !ok {
		return err
	}
	size := fl.info.Size()
	from := max(0, size-maxLineBytes)
	window := make([]byte, size-from)
	if _, err := fl.f.ReadAt(window, from); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("follow log %q: %w", fl.path, err)
	}
	switch i := bytes.LastIndexByte(window, '\n'); {
	case i >= 0:
		fl.off = from + int64(i) + 1
	case from == 0:
		fl.off = 0
	default:
		fl.off, fl.skip = size, true
	}
	return nil
}

// open opens name as the file to read from its start. It reports false when
// name does not exist.
func (fl *Follower) open(name string) (bool, error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("follow log: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return false, fmt.Errorf("follow log %q: %w", name, err)
	}
	fl.close()
	fl.f, fl.info, fl.off, fl.pending, fl.skip = f, info, 0, nil, false
	return true, nil
}

func (fl *Follower) close() {
	if fl.f != nil {
		_ = fl.f.Close()
		fl.f = nil
	}
}

// poll delivers what was appended since the last poll, following rotations
// until it reads the file now at path.
func (fl *Follower) poll(ctx context.Context) error {
	for ctx.Err() == nil {
		if fl.f == nil {
			var ok bool
			var err error
			if fl.prev != nil {
				ok, err = fl.openSuccessor()
			} else {
				ok, err = fl.open(fl.path)
			}
			if err != nil || !ok {
				return err
			}
		}
		if err := fl.drain(ctx); err != nil {
			return err
		}
		cur, err := os.Stat(fl.path)
		if errors.Is(err, fs.ErrNotExist) {
			// Renamed away and not yet recreated: keep the open file.
			return nil
		}
		if err != nil {
			return fmt.Errorf("follow log: %w", err)
		}
		if os.SameFile(cur, fl.info) {
			return nil
		}
		// Rotated. The writer closes a file before renaming it, so after
		// seeing the rename one more drain reads everything it holds.
		if err := fl.drain(ctx); err != nil {
			return err
		}
		if len(fl.pending) > 0 {
			fl.emit(fl.pending)
		}
		fl.prev, fl.prevPolls = fl.info, 0
		fl.close()
	}
	return nil
}

// drain reads the open file from fl.off to its end and delivers the complete
// lines. A file that shrank below fl.off was truncated and is read again from
// its start.
func (fl *Follower) drain(ctx context.Context) error {
	info, err := fl.f.Stat()
	if err != nil {
		return fmt.Errorf("follow log %q: %w", fl.path, err)
	}
	if info.Size() < fl.off {
		fl.off, fl.pending, fl.skip = 0, nil, false
	}
	for ctx.Err() == nil {
		n, err := fl.f.ReadAt(fl.buf, fl.off)
		fl.off += int64(n)
		fl.consume(fl.buf[:n])
		if errors.Is(err, io.EOF) || n == 0 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("follow log %q: %w", fl.path, err)
		}
	}
	return nil
}

// consume splits b into lines, joining the first with what is pending.
func (fl *Follower) consume(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if !fl.skip {
				room := max(0, maxLineBytes-len(fl.pending))
				fl.pending = append(fl.pending, b[:min(len(b), room)]...)
			}
			return
		}
		switch {
		case fl.skip:
			fl.skip = false
		case len(fl.pending) > 0:
			room := max(0, maxLineBytes-len(fl.pending))
			fl.pending = append(fl.pending, b[:min(i, room)]...)
			fl.emit(fl.pending)
		default:
			fl.emit(b[:min(i, maxLineBytes)])
		}
		fl.pending = fl.pending[:0]
		b = b[i+1:]
	}
}

func (fl *Follower) emit(b []byte) {
	if l, ok := fl.m.match(b); ok {
		fl.fn(l)
	}
}

// openSuccessor opens the file written after fl.prev, the file that was
// rotated away. Rotation renames path to path.1 and path.i to path.i+1, so
// if the old file is now path.i its successor is path.i-1 (path itself for
// i = 1). If the old file has been dropped, every backup left is newer than
// it and the oldest of them is opened. It reports false when it should be
// tried again at the next poll because a rotation is still renaming files.
func (fl *Follower) openSuccessor() (bool, error) {
	for attempt := range successorAttempts {
		if attempt > 0 {
			// Let a rotation in this process finish its renames.
			runtime.Gosched()
		}
		idx, last, settled := findBackup(fl.path, fl.prev)
		next := idx - 1
		if idx < 0 {
			if !settled {
				continue
			}
			next = last
		}
		ok, err := fl.open(backupName(fl.path, next))
		if err != nil {
			return false, err
		}
		if !ok {
			continue
		}
		// Rotation renames older files first, so if the old file is still
		// at path.idx after the open, the file opened was path.idx-1 then.
		if idx < 0 {
			fl.prev = nil
			return true, nil
		}
		if check, err := os.Stat(backupName(fl.path, idx)); err == nil && os.SameFile(check, fl.prev) {
			fl.prev = nil
			return true, nil
		}
		fl.close()
	}
	fl.prevPolls++
	if fl.prevPolls < successorPolls {
		return false, nil
	}
	// Something other than Gatehouse moves the files: continue with path.
	fl.prev = nil
	return fl.open(fl.path)
}

// successorAttempts and successorPolls bound how long openSuccessor looks
// for the old file: attempts within one poll, and polls.
const (
	successorAttempts = 3
	successorPolls    = 10
)

// findBackup looks for the file described by info among path.1, path.2, …
// It returns its index (or -1), the highest index seen, and whether the
// backups it saw were numbered without a hole. A rotation in progress
// leaves one name missing at a time, so the scan stops only at two missing
// names in a row, and a hole means renaming was under way.
func findBackup(path string, info os.FileInfo) (idx, last int, settled bool) {
	missing, hole := 0, false
	for i := 1; i <= maxBackupScan && missing < 2; i++ {
		cur, err := os.Stat(backupName(path, i))
		if err != nil {
			missing++
			continue
		}
		if missing > 0 {
			hole = true
		}
		missing, last = 0, i
		if os.SameFile(cur, info) {
			return i, last, !hole
		}
	}
	return -1, last, !hole
}
