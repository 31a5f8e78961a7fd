package main

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/strictjson"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// config is an instance's configuration as the admin API stores it.
type config struct {
	RuleName     string `json:"ruleName"`
	LimitBy      string `json:"limitBy"`
	HeaderName   string `json:"headerName"`
	Requests     int64  `json:"requests"`
	Window       string `json:"window"`
	FailOpen     bool   `json:"failOpen"`
	RedisTimeout string `json:"redisTimeout"`

	window       time.Duration
	redisTimeout time.Duration
}

// What requests are counted by.
const (
	limitByRoute         = "route"
	limitByConsumer      = "consumer"
	limitByClientAddress = "client-address"
	limitByHeader        = "header"
)

const (
	defaultRedisTimeout = time.Second
	maxRedisTimeout     = 30 * time.Second
	minWindow           = 100 * time.Millisecond
)

var (
	ruleNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	tokenRE    = regexp.MustCompile("^[!#$%&'*+.^_|~0-9A-Za-z-]+$")
)

// parseConfig unmarshals data strictly, applies the defaults and validates
// the result, returning every problem at once.
func parseConfig(data []byte) (*config, error) {
	var c config
	shape, err := strictjson.Decode(data, &c)
	if err != nil {
		return nil, err
	}
	if c.LimitBy == "" {
		c.LimitBy = limitByRoute
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
	switch {
	case c.RuleName == "":
		bad("ruleName", "is required: it names this limit's counters in Redis; instances with the same ruleName share one limit, so give each route its own (such as orders-api)")
	case !ruleNameRE.MatchString(c.RuleName):
		bad("ruleName", "%q is not a valid rule name: use up to 64 letters, digits and . _ -, starting with a letter or digit", c.RuleName)
	}
	switch c.LimitBy {
	case limitByRoute, limitByConsumer, limitByClientAddress:
		if c.HeaderName != "" {
			bad("headerName", "is only used with limitBy %q; remove it or set limitBy to %q", limitByHeader, limitByHeader)
		}
	case limitByHeader:
		switch {
		case c.HeaderName == "":
			bad("headerName", "is required with limitBy %q: name the request header to count by, such as x-tenant-id", limitByHeader)
		case !tokenRE.MatchString(c.HeaderName):
			bad("headerName", "%q is not a valid header name", c.HeaderName)
		}
	default:
		bad("limitBy", "%q is not one of route, consumer, client-address, header", c.LimitBy)
	}
	if c.Requests < 1 {
		bad("requests", "is %d; allow at least 1 request per window", c.Requests)
	}
	if c.Window == "" {
		bad("window", "is required: a duration such as 1s, 1m or 1h")
	} else if d, err := time.ParseDuration(c.Window); err != nil {
		bad("window", "%q is not a duration; use a form such as 1s, 1m or 1h30m", c.Window)
	} else if d < minWindow {
		bad("window", "is %s; use at least %s", d, minWindow)
	} else {
		c.window = d
	}
	c.redisTimeout = defaultRedisTimeout
	if c.RedisTimeout != "" {
		if d, err := time.ParseDuration(c.RedisTimeout); err != nil {
			bad("redisTimeout", "%q is not a duration; use a form such as 500ms or 1s", c.RedisTimeout)
		} else if d <= 0 || d > maxRedisTimeout {
			bad("redisTimeout", "is %s; use more than 0 and at most %s", d, maxRedisTimeout)
		} else {
			c.redisTimeout = d
		}
	}
	return errors.Join(errs...)
}
