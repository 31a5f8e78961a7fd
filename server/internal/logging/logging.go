// Package logging owns gateway.log: it builds the process's one slog logger,
// which writes every record to stdout and to a size-rotated log file with
// secrets redacted, and it reads that file back for the admin API (Tail for
// the last lines, Follow for a live stream that survives rotation).
package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// Defaults applied by New when the corresponding Options field is zero.
const (
	DefaultMaxSizeBytes int64 = 10 << 20
	DefaultMaxBackups         = 5
)

// Options configures New.
type Options struct {
	// File is the path of gateway.log. Missing parent directories are created.
	File string
	// Level is the minimum level written: debug, info, warn or error
	// (case-insensitive). Empty means info.
	Level string
	// Format is text or json (case-insensitive). Empty means text.
	Format string
	// MaxSizeBytes is the size a log file may reach before it is rotated.
	// Zero means DefaultMaxSizeBytes.
	MaxSizeBytes int64
	// MaxBackups is how many rotated files (gateway.log.1 … gateway.log.N)
	// are kept. Zero means DefaultMaxBackups.
	MaxBackups int
	// Stdout receives the same records as the file. Nil means os.Stdout.
	Stdout io.Writer
}

// Logger is the process logger: one slog.Logger writing to stdout and to a
// rotated log file. It is safe for concurrent use. Close releases the file;
// the owner (the app) calls it last, after everything that logs has stopped.
type Logger struct {
	file *rotatingFile
	log  *slog.Logger
}

// New opens (or creates) the log file and returns a Logger writing to it and
// to opts.Stdout. Every invalid option is reported at once.
func New(opts Options) (*Logger, error) {
	var errs []error
	if opts.File == "" {
		errs = append(errs, errors.New("log file path is empty: set the path of gateway.log (GATEHOUSE_LOG_FILE)"))
	}
	level := slog.LevelInfo
	if opts.Level != "" {
		l, err := ParseLevel(opts.Level)
		if err != nil {
			errs = append(errs, err)
		}
		level = l
	}
	format := strings.ToLower(strings.TrimSpace(opts.Format))
	switch format {
	case "":
		format = "text"
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log format %q is not supported: use text or json", opts.Format))
	}
	if opts.MaxSizeBytes < 0 {
		errs = append(errs, fmt.Errorf("log max size %d bytes is negative: use a positive size, or 0 for the default of %d", opts.MaxSizeBytes, DefaultMaxSizeBytes))
	}
	if opts.MaxBackups < 0 {
		errs = append(errs, fmt.Errorf("log max backups %d is negative: use a positive count, or 0 for the default of %d", opts.MaxBackups, DefaultMaxBackups))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	maxSize := opts.MaxSizeBytes
	if maxSize == 0 {
		maxSize = DefaultMaxSizeBytes
	}
	maxBackups := opts.MaxBackups
	if maxBackups == 0 {
		maxBackups = DefaultMaxBackups
	}
	stdout := opts.Stdout
	if stdout == nil {
		stdout = os.Stdout
	}

	file, err := openRotatingFile(opts.File, maxSize, maxBackups)
	if err != nil {
		return nil, err
	}
	w := &teeWriter{file: file, out: stdout}
	hopts := &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, hopts)
	} else {
		h = slog.NewTextHandler(w, hopts)
	}
	return &Logger{file: file, log: slog.New(h)}, nil
}

// Slog returns the logger. Every record goes to stdout and to the log file in
// the configured format, with secret attribute values redacted.
func (l *Logger) Slog() *slog.Logger { return l.log }

// Path returns the path of the current log file (gateway.log).
func (l *Logger) Path() string { return l.file.path }

// Close closes the log file. Records logged afterwards still reach stdout but
// not the file. Close is idempotent.
func (l *Logger) Close() error { return l.file.Close() }

// ParseLevel parses debug, info, warn or error (case-insensitive, surrounding
// spaces ignored) into a slog level.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("log level %q is not supported: use debug, info, warn or error", s)
}

// teeWriter writes each record to the file and to stdout. A failure of one
// does not keep the record from the other.
type teeWriter struct {
	file *rotatingFile
	out  io.Writer
}

func (w *teeWriter) Write(p []byte) (int, error) {
	_, ferr := w.file.Write(p)
	_, oerr := w.out.Write(p)
	if err := errors.Join(ferr, oerr); err != nil {
		return 0, err
	}
	return len(p), nil
}
