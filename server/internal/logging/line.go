package logging

import (
	"bytes"
	"log/slog"
	"strings"
	"unicode/utf8"
)

// maxLineBytes bounds the memory one log line may take while it is read
// back; a longer line is cut to its first maxLineBytes bytes.
const maxLineBytes = 1 << 20

// Line is one line of the log file as read back by Tail and Follow.
type Line struct {
	// Text is the whole line without its trailing newline.
	Text string `json:"text"`
	// Level is the record's level as written ("INFO", "WARN", …), or empty
	// when the line has none.
	Level string `json:"level,omitempty"`
	// Time is the record's time as written, or empty when the line has none.
	Time string `json:"time,omitempty"`
}

// Filter selects lines for Tail and Follow. The zero Filter passes every line.
type Filter struct {
	// Level is the minimum level (debug, info, warn, error); empty means all
	// lines. With a level set, lines that carry no level are left out.
	Level string
	// Query keeps only lines containing it, compared case-insensitively.
	Query string
}

// matcher is a Filter compiled once per Tail or Follow call.
type matcher struct {
	min      slog.Level
	hasMin   bool
	query    []byte // lower-cased
	asciiQ   bool
	scratch  []byte
	hasQuery bool
}

func newMatcher(f Filter) (*matcher, error) {
	m := &matcher{}
	if f.Level != "" {
		l, err := ParseLevel(f.Level)
		if err != nil {
			return nil, err
		}
		m.min, m.hasMin = l, true
	}
	if f.Query != "" {
		m.hasQuery = true
		m.query = []byte(strings.ToLower(f.Query))
		m.asciiQ = isASCII(m.query)
	}
	return m, nil
}

// match reports whether b passes the filter and returns it as a Line. b may
// be reused by the caller afterwards; the Line does not alias it.
func (m *matcher) match(b []byte) (Line, bool) {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return Line{}, false
	}
	if m.hasQuery && !m.contains(b) {
		return Line{}, false
	}
	level, ts := parseFields(b)
	if m.hasMin {
		var l slog.Level
		if level == nil || l.UnmarshalText(level) != nil || l < m.min {
			return Line{}, false
		}
	}
	return Line{Text: string(b), Level: string(level), Time: string(ts)}, true
}

// contains reports whether b contains the query, ignoring case. For an ASCII
// query the line is lower-cased into a reused buffer instead of a new one.
func (m *matcher) contains(b []byte) bool {
	if !m.asciiQ {
		return bytes.Contains(bytes.ToLower(b), m.query)
	}
	m.scratch = append(m.scratch[:0], b...)
	for i, c := range m.scratch {
		if 'A' <= c && c <= 'Z' {
			m.scratch[i] = c + ('a' - 'A')
		}
	}
	return bytes.Contains(m.scratch, m.query)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// parseFields finds the level and time of a line written by slog's JSON
// handler ({"time":"…","level":"INFO",…}) or text handler
// (time=… level=INFO …). Either result is nil when absent.
func parseFields(b []byte) (level, ts []byte) {
	if t := bytes.TrimLeft(b, " \t"); len(t) > 0 && t[0] == '{' {
		return jsonField(t, "level"), jsonField(t, "time")
	}
	return textField(b, "level"), textField(b, "time")
}

// jsonField returns the string value of the first top-level-looking key in a
// JSON object line. slog writes time, level and msg first, so the first
// occurrence is the record's own.
func jsonField(b []byte, key string) []byte {
	pat := []byte(`"` + key + `"`)
	i := bytes.Index(b, pat)
	if i < 0 {
		return nil
	}
	rest := bytes.TrimLeft(b[i+len(pat):], " \t")
	if len(rest) == 0 || rest[0] != ':' {
		return nil
	}
	rest = bytes.TrimLeft(rest[1:], " \t")
	if len(rest) == 0 || rest[0] != '"' {
		return nil
	}
	rest = rest[1:]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return nil
	}
	return rest[:end]
}

// textField returns the value of key=value at the start of the line or after
// a space; a quoted value is returned without its quotes.
func textField(b []byte, key string) []byte {
	pat := []byte(key + "=")
	for off := 0; off < len(b); {
		i := bytes.Index(b[off:], pat)
		if i < 0 {
			return nil
		}
		i += off
		if i == 0 || b[i-1] == ' ' {
			v := b[i+len(pat):]
			if len(v) > 0 && v[0] == '"' {
				v = v[1:]
				if end := bytes.IndexByte(v, '"'); end >= 0 {
					return v[:end]
				}
				return v
			}
			if end := bytes.IndexByte(v, ' '); end >= 0 {
				return v[:end]
			}
			return v
		}
		off = i + len(pat)
	}
	return nil
}
