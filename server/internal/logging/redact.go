package logging

import (
	"log/slog"
	"strings"
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
func redactAttr(groups []string, a slog.Attr) slog.Attr {
	if isSecretKey(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	for _, g := range groups {
		if isSecretKey(g) {
			return slog.String(a.Key, Redacted)
		}
	}
	return a
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
