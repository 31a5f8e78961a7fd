package main

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/strictjson"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// config is an instance's configuration as the admin API stores it.
type config struct {
	Consumers       []consumerConfig `json:"consumers"`
	Keys            []string         `json:"keys"`
	InHeader        *bool            `json:"inHeader"`
	InQuery         *bool            `json:"inQuery"`
	HideCredentials bool             `json:"hideCredentials"`
	Realm           string           `json:"realm"`
}

type consumerConfig struct {
	Name string `json:"name"`
	Key  string `json:"key"`
	// KeySHA256 and ExpiresAt are Gatehouse extensions: the hex SHA-256
	// of the key in place of the key (a name may then have several keys,
	// for rotation), and when the key stops being accepted.
	KeySHA256 string `json:"keySha256"`
	ExpiresAt string `json:"expiresAt"`
	expires   time.Time
}

const (
	defaultKeyHeader = "x-api-key"
	defaultRealm     = "gatehouse"
	minKeyLength     = 16
	maxKeyLength     = 4096
)

var (
	consumerNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$`)
	tokenRE        = regexp.MustCompile("^[!#$%&'*+.^_|~0-9A-Za-z-]+$")
	sha256HexRE    = regexp.MustCompile("^[0-9a-f]{64}$")
)

// parseConfig unmarshals data strictly, applies the defaults and validates
// the result, returning every problem at once.
func parseConfig(data []byte) (*config, error) {
	var c config
	shape, err := strictjson.Decode(data, &c)
	if err != nil {
		return nil, err
	}
	if len(c.Keys) == 0 {
		c.Keys = []string{defaultKeyHeader}
	}
	if c.InHeader == nil {
		t := true
		c.InHeader = &t
	}
	if c.InQuery == nil {
		f := false
		c.InQuery = &f
	}
	if c.Realm == "" {
		c.Realm = defaultRealm
	}
	if err := strictjson.Join(shape, c.validate()); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *config) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &pluginapi.ConfigError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if len(c.Consumers) == 0 {
		bad("consumers", `is required: add at least one consumer, such as {"name": "alice", "key": "<at least %d characters>"}`, minKeyLength)
	}
	names := map[string]int{}
	keys := map[string]int{}
	digests := map[string]int{}
	for i := range c.Consumers {
		cc := &c.Consumers[i]
		at := "consumers[" + strconv.Itoa(i) + "]"
		if cc.ExpiresAt != "" {
			t, err := time.Parse(time.RFC3339, cc.ExpiresAt)
			if err != nil {
				bad(at+".expiresAt", "%q is not an RFC 3339 time such as 2027-01-31T00:00:00Z", cc.ExpiresAt)
			}
			cc.expires = t
		}
		if cc.KeySHA256 != "" {
			// A hashed key: the name may repeat (one entry per key).
			switch {
			case cc.Name == "":
				bad(at+".name", "is required")
			case !consumerNameRE.MatchString(cc.Name):
				bad(at+".name", "%q is not a valid consumer name: use up to 128 letters, digits and . _ @ -, starting with a letter or digit", cc.Name)
			}
			switch {
			case cc.Key != "":
				bad(at+".key", "and keySha256 are both set; give one of them")
			case !sha256HexRE.MatchString(cc.KeySHA256):
				bad(at+".keySha256", "must be 64 lowercase hex digits, the SHA-256 of the key")
			default:
				if j, dup := digests[cc.KeySHA256]; dup {
					bad(at+".keySha256", "is the same key as consumers[%d].keySha256; every key must be different", j)
				}
				digests[cc.KeySHA256] = i
			}
			continue
		}
		switch {
		case cc.Name == "":
			bad(at+".name", "is required")
		case !consumerNameRE.MatchString(cc.Name):
			bad(at+".name", "%q is not a valid consumer name: use up to 128 letters, digits and . _ @ -, starting with a letter or digit", cc.Name)
		default:
			if j, dup := names[cc.Name]; dup {
				bad(at+".name", "%q is already the name of consumers[%d]; every consumer needs its own name", cc.Name, j)
			} else {
				names[cc.Name] = i
			}
		}
		// The key itself never appears in a message: messages reach logs
		// and the console.
		switch {
		case cc.Key == "":
			bad(at+".key", "is required")
		case len(cc.Key) < minKeyLength:
			bad(at+".key", "is %d characters long; use at least %d (for example the output of: openssl rand -hex 24)", len(cc.Key), minKeyLength)
		case len(cc.Key) > maxKeyLength:
			bad(at+".key", "is %d characters long; use at most %d", len(cc.Key), maxKeyLength)
		case !printableNoSpace(cc.Key):
			bad(at+".key", "must be printable ASCII without spaces, so that it travels unchanged in a header or a query parameter")
		default:
			if j, dup := keys[cc.Key]; dup {
				bad(at+".key", "is the same key as consumers[%d].key; every consumer needs its own key", j)
			} else {
				keys[cc.Key] = i
			}
		}
	}
	seen := map[string]int{}
	for i, k := range c.Keys {
		at := "keys[" + strconv.Itoa(i) + "]"
		switch {
		case k == "":
			bad(at, "must not be empty")
		case !tokenRE.MatchString(k):
			bad(at, "%q is not a valid header or query parameter name: use letters, digits and - _ . (such as x-api-key)", k)
		default:
			lk := strings.ToLower(k)
			if j, dup := seen[lk]; dup {
				bad(at, "%q repeats keys[%d]", k, j)
			} else {
				seen[lk] = i
			}
		}
	}
	if !*c.InHeader && !*c.InQuery {
		bad("inHeader", "and inQuery are both false: the key could not be sent anywhere; set one of them to true")
	}
	if strings.ContainsAny(c.Realm, "\"\\") || strings.ContainsFunc(c.Realm, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		bad("realm", "must not contain quotes, backslashes or control characters")
	}
	return errors.Join(errs...)
}

func printableNoSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// isAuthorization reports whether header name k is Authorization, whose
// value is read as "Bearer <key>".
func isAuthorization(k string) bool {
	return http.CanonicalHeaderKey(k) == "Authorization"
}
