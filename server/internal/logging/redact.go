package logging

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Redacted replaces the value of every attribute that looks like a secret.
const Redacted = "[redacted]"

// secretSuffixes are matched against lower-cased attribute and group keys in
// which '-' is read as '_', so "X-Api-Key" and "db_password" both match.
var secretSuffixes = []string{
	"password", "secret", "token", "authorization", "apikey", "api_key", "cookie", "jwt",
}

// redactAttr is the handlers' ReplaceAttr: it hides the value of an
// attribute whose key, or the key of a group enclosing it, is or ends with a
// secret word. slog has resolved LogValuer values before calling it and calls
// it for every member of a group, so nested secrets are caught too.
// It also caps every value (capValue), so that a client cannot write huge
// lines (a 900 KB username) and rotate the log away.
func redactAttr(groups []string, a slog.Attr) slog.Attr {
	if isSecretKey(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	for _, g := range groups {
		if isSecretKey(g) {
			return slog.String(a.Key, Redacted)
		}
	}
	return capValue(a)
}

// MaxValueBytes is the longest attribute value written to the log, and
// MaxMessageBytes the longest message; longer ones are cut and end with
// a marker saying how many bytes were left out.
const (
	MaxValueBytes   = 1024
	MaxMessageBytes = 4096
)

func capValue(a slog.Attr) slog.Attr {
	limit := MaxValueBytes
	if a.Key == slog.MessageKey {
		limit = MaxMessageBytes
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); len(s) > limit {
			return slog.String(a.Key, Truncate(s, limit))
		}
	case slog.KindAny:
		var s string
		switch v := a.Value.Any().(type) {
		case error:
			s = v.Error()
		case fmt.Stringer:
			s = v.String()
		case []byte:
			s = string(v)
		default:
			return a
		}
		if len(s) > limit {
			return slog.String(a.Key, Truncate(s, limit))
		}
	}
	return a
}

// Truncate cuts s to at most n bytes on a UTF-8 boundary and appends a
// visible marker with the number of bytes left out.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…[truncated " + strconv.Itoa(len(s)-cut) + " bytes]"
}

func isSecretKey(key string) bool {
	k := strings.ReplaceAll(strings.ToLower(key), "-", "_")
	for _, s := range secretSuffixes {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	return false
}
