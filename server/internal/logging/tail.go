package logging

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
)

// MaxTailLines bounds the n of Tail.
const MaxTailLines = 5000

// tailBlockSize is how much of a file Tail reads at a time, from the end.
const tailBlockSize = 64 << 10

// maxBackupScan bounds how many rotated files Tail and Follow look at.
const maxBackupScan = 1000

// Tail returns the last n lines of the log at path that pass f, oldest first.
// It reads the file backwards in blocks, so its cost follows the lines it
// returns rather than the file's size, and continues into path.1, path.2, …
// while fewer than n lines have matched. n is capped at MaxTailLines; n <= 0
// returns no lines. A log that does not exist yet has no lines. Tail only
// reads and is safe to call while the log is written and rotated.
func Tail(path string, n int, f Filter) ([]Line, error) {
	m, err := newMatcher(f)
	if err != nil {
		return nil, err
	}
	n = min(n, MaxTailLines)
	out := []Line{}
	if n <= 0 {
		return out, nil
	}
	// A rotation while Tail runs shifts files it has read to higher
	// numbers; remembering them keeps a line from being returned twice.
	var seen []os.FileInfo
	for i := 0; i <= maxBackupScan && len(out) < n; i++ {
		name := backupName(path, i)
		file, err := os.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			if i == 0 {
				// The current file is missing between a rotation's rename
				// and reopen, or before the first record; backups may exist.
				continue
			}
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tail log: %w", err)
		}
		info, err := file.Stat()
		if err != nil {
			_ = file.Close()
			return nil, fmt.Errorf("tail log %q: %w", name, err)
		}
		if slices.ContainsFunc(seen, func(s os.FileInfo) bool { return os.SameFile(s, info) }) {
			_ = file.Close()
			continue
		}
		seen = append(seen, info)
		err = scanBackward(file, info.Size(), func(b []byte) bool {
			if l, ok := m.match(b); ok {
				out = append(out, l)
			}
			return len(out) < n
		})
		_ = file.Close()
		if err != nil {
			return nil, fmt.Errorf("tail log %q: %w", name, err)
		}
	}
	slices.Reverse(out)
	return out, nil
}

// scanBackward calls fn with each non-empty line of the first size bytes of
// r, last line first, until fn returns false. The last line need not end in
// a newline. fn must not keep the slice. A line longer than maxLineBytes is
// cut to its first maxLineBytes bytes.
func scanBackward(r io.ReaderAt, size int64, fn func([]byte) bool) error {
	buf := make([]byte, min(size, tailBlockSize))
	// head holds the part of a line whose beginning lies in a block not
	// read yet.
	var head lineHead
	pos := size
	for pos > 0 {
		n := min(int64(len(buf)), pos)
		pos -= n
		b := buf[:n]
		if _, err := r.ReadAt(b, pos); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		end := len(b)
		for {
			i := bytes.LastIndexByte(b[:end], '\n')
			if i < 0 {
				break
			}
			line := head.join(b[i+1 : end])
			head.reset()
			if len(line) > 0 && !fn(line) {
				return nil
			}
			end = i
		}
		head.prepend(b[:end])
	}
	if line := head.join(nil); len(line) > 0 {
		fn(line)
	}
	return nil
}

// lineHead collects a line read backwards, block by block, keeping only
// what can be part of its first maxLineBytes bytes.
type lineHead struct {
	parts [][]byte // copies, last part of the line first
	n     int
}

// prepend adds b (which the caller will reuse) in front of what is held.
func (h *lineHead) prepend(b []byte) {
	if len(b) == 0 {
		return
	}
	h.parts = append(h.parts, bytes.Clone(b))
	h.n += len(b)
	// The last part cannot reach into the first maxLineBytes bytes once
	// the parts before it fill them.
	for len(h.parts) > 1 && h.n-len(h.parts[0]) >= maxLineBytes {
		h.n -= len(h.parts[0])
		h.parts[0] = nil
		h.parts = h.parts[1:]
	}
}

// join returns front followed by the held parts, cut to maxLineBytes. With
// nothing held it returns front itself.
func (h *lineHead) join(front []byte) []byte {
	if len(h.parts) == 0 {
		if len(front) > maxLineBytes {
			return front[:maxLineBytes]
		}
		return front
	}
	out := make([]byte, 0, min(len(front)+h.n, maxLineBytes))
	out = append(out, front[:min(len(front), maxLineBytes)]...)
	for i := len(h.parts) - 1; i >= 0 && len(out) < maxLineBytes; i-- {
		p := h.parts[i]
		out = append(out, p[:min(len(p), maxLineBytes-len(out))]...)
	}
	return out
}

func (h *lineHead) reset() {
	h.parts = nil
	h.n = 0
}
