package logging

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// rotatingFile is an append-only file that is renamed to path.1 (shifting
// path.1 to path.2 and so on, keeping at most maxBackups) before a write would
// make it exceed maxSize. It is safe for concurrent use.
type rotatingFile struct {
	path       string
	maxSize    int64
	maxBackups int

	mu     sync.Mutex
	f      *os.File
	size   int64
	closed bool
}

func openRotatingFile(path string, maxSize int64, maxBackups int) (*rotatingFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create log directory %q: %w — check the permissions of the data directory or set another log file path", filepath.Dir(path), err)
	}
	r := &rotatingFile{path: path, maxSize: maxSize, maxBackups: maxBackups}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// open opens r.path for appending and records its current size. The caller
// holds r.mu (or owns r exclusively).
func (r *rotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open log file %q: %w — check the permissions of its directory or set another log file path", r.path, err)
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("stat log file %q: %w", r.path, err)
	}
	r.f = f
	r.size = info.Size()
	return nil
}

// Write appends p, rotating first when p would push the file past maxSize.
// A record larger than maxSize is written whole into a fresh file. If the
// rotation fails the record is still appended to the current file.
func (r *rotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, fmt.Errorf("write log file %q: %w", r.path, os.ErrClosed)
	}
	var rotErr error
	if r.size > 0 && r.size+int64(len(p)) > r.maxSize {
		rotErr = r.rotate()
		if r.f == nil {
			return 0, rotErr
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	if err != nil {
		err = fmt.Errorf("write log file %q: %w", r.path, err)
	}
	return n, errors.Join(rotErr, err)
}

// rotate shifts the backups, renames the current file to path.1 and opens a
// new current file. The caller holds r.mu. When renaming fails the current
// file is reopened so that logging goes on; r.f is nil only if no file could
// be opened at all.
func (r *rotatingFile) rotate() error {
	var errs []error
	if err := r.f.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close log file %q: %w", r.path, err))
	}
	r.f = nil
	// Drop the oldest backup and any left over from a larger MaxBackups.
	for i := r.maxBackups; ; i++ {
		err := os.Remove(backupName(r.path, i))
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("remove old log file: %w", err))
			break
		}
	}
	for i := r.maxBackups - 1; i >= 1; i-- {
		err := os.Rename(backupName(r.path, i), backupName(r.path, i+1))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("rotate log file: %w", err))
		}
	}
	if err := os.Rename(r.path, backupName(r.path, 1)); err != nil {
		errs = append(errs, fmt.Errorf("rotate log file: %w", err))
	}
	if err := r.open(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Close closes the file; later writes fail with os.ErrClosed.
func (r *rotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	if err != nil {
		return fmt.Errorf("close log file %q: %w", r.path, err)
	}
	return nil
}

// backupName is the name of the i-th rotated file; backup 0 is the current one.
func backupName(path string, i int) string {
	if i == 0 {
		return path
	}
	return path + "." + strconv.Itoa(i)
}
