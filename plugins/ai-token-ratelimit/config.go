package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/strictjson"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// config is Higress's ai-token-ratelimit configuration, plus Gatehouse's
// extensions defaultMaxTokens and failureMode.
type config struct {
	RuleName     string     `json:"rule_name"`
	RuleItems    []ruleItem `json:"rule_items"`
	RejectedCode int        `json:"rejected_code"`
	RejectedMsg  string     `json:"rejected_msg"`
	// Redis is Higress's connection block. Gatehouse counts in its own
	// Redis (Settings → Redis), so the block is refused, named.
	Redis any `json:"redis"`

	// DefaultMaxTokens is the output reserved for a request that sets
	// neither max_tokens nor max_completion_tokens (Gatehouse extension).
	DefaultMaxTokens *int64 `json:"defaultMaxTokens"`
	// FailureMode is what happens while Redis fails: open lets requests
	// through unlimited, closed answers 503 (Gatehouse extension).
	FailureMode string `json:"failureMode"`

	defaultMax int64
}

// ruleItem is one of Higress's rule_items: exactly one limit_by_* field
// and its limit_keys.
type ruleItem struct {
	LimitByHeader      *string    `json:"limit_by_header"`
	LimitByParam       *string    `json:"limit_by_param"`
	LimitByConsumer    *string    `json:"limit_by_consumer"`
	LimitByCookie      *string    `json:"limit_by_cookie"`
	LimitByPerHeader   *string    `json:"limit_by_per_header"`
	LimitByPerParam    *string    `json:"limit_by_per_param"`
	LimitByPerConsumer *string    `json:"limit_by_per_consumer"`
	LimitByPerCookie   *string    `json:"limit_by_per_cookie"`
	LimitByPerIP       *string    `json:"limit_by_per_ip"`
	LimitKeys          []limitKey `json:"limit_keys"`

	kind string // header, param, consumer, cookie, or per_… of them, per_ip
	name string // the header, param or cookie name
	per  bool
}

// limitKey is one key of a rule item and its limit: exactly one of the
// token_per_* fields.
type limitKey struct {
	Key            string `json:"key"`
	TokenPerSecond int64  `json:"token_per_second"`
	TokenPerMinute int64  `json:"token_per_minute"`
	TokenPerHour   int64  `json:"token_per_hour"`
	TokenPerDay    int64  `json:"token_per_day"`

	limit  int64
	window time.Duration
	any    bool           // key "*"
	re     *regexp.Regexp // key "regexp:…"
	ipnet  *net.IPNet     // limit_by_per_ip: an address or CIDR
}

// Defaults of Higress, and of the extensions.
const (
	defaultRejectedCode     = http.StatusTooManyRequests
	defaultRejectedMsg      = "Too many requests"
	defaultDefaultMaxTokens = 1024
	failureOpen             = "open"
	failureClosed           = "closed"
)

// parseConfig unmarshals data strictly, applies the defaults and validates
// the result, returning every problem at once.
func parseConfig(data []byte) (*config, error) {
	var c config
	shape, err := strictjson.Decode(data, &c)
	if err != nil {
		return nil, err
	}
	if c.RejectedCode == 0 {
		c.RejectedCode = defaultRejectedCode
	}
	if c.RejectedMsg == "" {
		c.RejectedMsg = defaultRejectedMsg
	}
	if c.FailureMode == "" {
		c.FailureMode = failureOpen
	}
	c.defaultMax = defaultDefaultMaxTokens
	if c.DefaultMaxTokens != nil {
		c.defaultMax = *c.DefaultMaxTokens
	}
	if err := strictjson.Join(shape, c.validate()); err != nil {
		return nil, err
	}
	return &c, nil
}

var ruleNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func (c *config) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &pluginapi.ConfigError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case c.RuleName == "":
		bad("rule_name", "is required: it names this limit's counters in Redis; instances with the same rule_name (on every gateway sharing the Redis) share one limit")
	case !ruleNameRE.MatchString(c.RuleName):
		bad("rule_name", "%q is not a valid rule name: use up to 64 letters, digits and . _ -, starting with a letter or digit", c.RuleName)
	}
	if c.Redis != nil {
		bad("redis", "is not supported: Gatehouse counts token limits in its own Redis (Settings → Redis or GATEHOUSE_REDIS_ADDR), shared by every instance; remove this block")
	}
	if len(c.RuleItems) == 0 {
		bad("rule_items", "is required: give at least one item, such as {\"limit_by_per_consumer\":\"\",\"limit_keys\":[{\"key\":\"*\",\"token_per_minute\":10000}]}")
	}
	if c.RejectedCode < 400 || c.RejectedCode > 599 {
		bad("rejected_code", "%d is not an error status; use 400–599 (default 429)", c.RejectedCode)
	}
	if c.defaultMax < 1 || c.defaultMax > 10_000_000 {
		bad("defaultMaxTokens", "%d is out of range; use 1–10000000 output tokens (default %d)", c.defaultMax, defaultDefaultMaxTokens)
	}
	if c.FailureMode != failureOpen && c.FailureMode != failureClosed {
		bad("failureMode", "%q is not a failure mode; use %q (requests pass unlimited while Redis fails) or %q (503)", c.FailureMode, failureOpen, failureClosed)
	}
	for i := range c.RuleItems {
		c.RuleItems[i].validate(fmt.Sprintf("rule_items[%d]", i), bad)
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

func (it *ruleItem) validate(field string, bad func(field, format string, args ...any)) {
	var set []string
	pick := func(name string, v *string, kind string, per bool) {
		if v == nil {
			return
		}
		set = append(set, name)
		it.kind, it.name, it.per = kind, *v, per
	}
	pick("limit_by_header", it.LimitByHeader, "header", false)
	pick("limit_by_param", it.LimitByParam, "param", false)
	pick("limit_by_consumer", it.LimitByConsumer, "consumer", false)
	pick("limit_by_cookie", it.LimitByCookie, "cookie", false)
	pick("limit_by_per_header", it.LimitByPerHeader, "per_header", true)
	pick("limit_by_per_param", it.LimitByPerParam, "per_param", true)
	pick("limit_by_per_consumer", it.LimitByPerConsumer, "per_consumer", true)
	pick("limit_by_per_cookie", it.LimitByPerCookie, "per_cookie", true)
	pick("limit_by_per_ip", it.LimitByPerIP, "per_ip", true)
	switch {
	case len(set) == 0:
		bad(field, "names nothing to limit by: set one of limit_by_header, limit_by_param, limit_by_consumer, limit_by_cookie, limit_by_per_header, limit_by_per_param, limit_by_per_consumer, limit_by_per_cookie, limit_by_per_ip")
		return
	case len(set) > 1:
		bad(field, "sets %s; a rule item limits by one thing, split it into several items", strings.Join(set, " and "))
		return
	}
	switch it.kind {
	case "header", "per_header", "param", "per_param", "cookie", "per_cookie":
		if strings.TrimSpace(it.name) == "" {
			bad(field+"."+set[0], "is empty: give the %s name", strings.TrimPrefix(it.kind, "per_"))
		}
	case "consumer", "per_consumer", "per_ip":
		// Higress writes them as "": the value is not used.
	}
	if strings.HasSuffix(it.kind, "header") {
		it.name = http.CanonicalHeaderKey(it.name)
	}
	if len(it.LimitKeys) == 0 {
		bad(field+".limit_keys", "is required: give at least one {key, token_per_minute (or _second, _hour, _day)}")
	}
	for j := range it.LimitKeys {
		it.LimitKeys[j].validate(fmt.Sprintf("%s.limit_keys[%d]", field, j), it, bad)
	}
}

func (k *limitKey) validate(field string, it *ruleItem, bad func(field, format string, args ...any)) {
	n := 0
	for _, w := range []struct {
		v int64
		d time.Duration
	}{{k.TokenPerSecond, time.Second}, {k.TokenPerMinute, time.Minute}, {k.TokenPerHour, time.Hour}, {k.TokenPerDay, 24 * time.Hour}} {
		if w.v != 0 {
			n++
			k.limit, k.window = w.v, w.d
		}
	}
	switch {
	case n == 0:
		bad(field, "has no limit: set one of token_per_second, token_per_minute, token_per_hour, token_per_day")
	case n > 1:
		bad(field, "sets several of token_per_second, token_per_minute, token_per_hour, token_per_day; a key has one limit, give another key for another window")
	case k.limit < 0:
		bad(field, "a token limit must be positive, not %d", k.limit)
	}
	switch {
	case k.Key == "":
		bad(field+".key", "is required")
	case it.kind == "per_ip":
		if k.Key == "*" {
			k.any = true
			break
		}
		s := k.Key
		if !strings.Contains(s, "/") {
			if ip := net.ParseIP(s); ip != nil && ip.To4() != nil {
				s += "/32"
			} else {
				s += "/128"
			}
		}
		_, ipnet, err := net.ParseCIDR(s)
		if err != nil {
			bad(field+".key", "%q is not an IP address or CIDR (such as 10.0.0.0/8 or 0.0.0.0/0)", k.Key)
			break
		}
		k.ipnet = ipnet
	case it.per && k.Key == "*":
		k.any = true
	case it.per && strings.HasPrefix(k.Key, "regexp:"):
		re, err := regexp.Compile(strings.TrimPrefix(k.Key, "regexp:"))
		if err != nil {
			bad(field+".key", "%q is not a valid regular expression: %v", k.Key, err)
			break
		}
		k.re = re
	}
}

// matches reports whether the request's value v falls under k.
func (k *limitKey) matches(v string) bool {
	switch {
	case k.any:
		return true
	case k.re != nil:
		return k.re.MatchString(v)
	case k.ipnet != nil:
		ip := net.ParseIP(v)
		return ip != nil && k.ipnet.Contains(ip)
	}
	return k.Key == v
}
