package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/strictjson"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// config is what control compiles from the consumer objects and the model
// prices of a configuration.
type config struct {
	// Consumers are the consumer objects by name; a caller key-auth names
	// that is not here (an inline key-auth consumer) passes uncounted.
	Consumers map[string]consumerConfig `json:"consumers"`
	// Prices price the answers' tokens.
	Prices []pluginapi.ModelPrice `json:"prices"`
	// FailureMode is what happens while Redis fails: open serves
	// uncounted, closed answers 503.
	FailureMode string `json:"failureMode"`
	// DefaultMaxTokens is the output reserved for a request that sets
	// neither max_tokens nor max_completion_tokens.
	DefaultMaxTokens *int64 `json:"defaultMaxTokens"`

	defaultMax int64
	highest    pluginapi.ModelPrice
}

// consumerConfig is one consumer's allowance.
type consumerConfig struct {
	AllowedModels []string `json:"allowedModels"`
	Quota         *quota   `json:"quota"`
	Budget        *budget  `json:"budget"`
}

type quota struct {
	Tokens int64  `json:"tokens"`
	Period string `json:"period"`
}

type budget struct {
	USD    float64 `json:"usd"`
	Period string  `json:"period"`

	micros int64
}

const (
	failureOpen             = "open"
	failureClosed           = "closed"
	defaultDefaultMaxTokens = 1024
)

var (
	consumerNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$`)
	modelRE        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}\*?$`)
)

// parseConfig unmarshals data strictly, applies the defaults and validates
// the result, returning every problem at once.
func parseConfig(data []byte) (*config, error) {
	var c config
	shape, err := strictjson.Decode(data, &c)
	if err != nil {
		return nil, err
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
	c.highest = pluginapi.HighestPrice(c.Prices)
	return &c, nil
}

func (c *config) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &pluginapi.ConfigError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if c.FailureMode != failureOpen && c.FailureMode != failureClosed {
		bad("failureMode", "%q is not a failure mode; use %q (requests are served uncounted while Redis fails) or %q (503)", c.FailureMode, failureOpen, failureClosed)
	}
	if c.defaultMax < 1 || c.defaultMax > 10_000_000 {
		bad("defaultMaxTokens", "%d is out of range; use 1–10000000 output tokens (default %d)", c.defaultMax, defaultDefaultMaxTokens)
	}
	budgets := false
	for name, cc := range c.Consumers {
		at := "consumers." + name
		if !consumerNameRE.MatchString(name) {
			bad(at, "%q is not a consumer name: use up to 128 letters, digits and . _ @ -", name)
		}
		for i, m := range cc.AllowedModels {
			if !modelRE.MatchString(m) {
				bad(fmt.Sprintf("%s.allowedModels[%d]", at, i), "%q is not a model name or a prefix ending in '*'", m)
			}
		}
		if q := cc.Quota; q != nil {
			if q.Tokens <= 0 {
				bad(at+".quota.tokens", "must be a positive number of tokens; leave quota out for no limit")
			}
			checkPeriod(bad, at+".quota.period", q.Period)
		}
		if b := cc.Budget; b != nil {
			budgets = true
			if !(b.USD > 0) || b.USD > 1e9 {
				bad(at+".budget.usd", "must be a positive amount of dollars below 1e9; leave budget out for no limit")
			}
			checkPeriod(bad, at+".budget.period", b.Period)
			b.micros = pluginapi.USDToMicros(b.USD)
		}
	}
	for i, p := range c.Prices {
		at := fmt.Sprintf("prices[%d]", i)
		if !modelRE.MatchString(p.Model) {
			bad(at+".model", "%q is not a model name or a prefix ending in '*'", p.Model)
		}
		for f, v := range map[string]float64{"input": p.Input, "output": p.Output, "cachedInput": p.CachedInput} {
			if v < 0 || v > 1e6 || v != v {
				bad(at+"."+f, "must be between 0 and 1000000 USD per million tokens")
			}
		}
	}
	if budgets && len(c.Prices) == 0 {
		bad("prices", "is empty, but a consumer has a budget: spending cannot be priced; add a model price")
	}
	return errors.Join(errs...)
}

func checkPeriod(bad func(field, format string, args ...any), field, period string) {
	if period != pluginapi.PeriodDay && period != pluginapi.PeriodMonth {
		bad(field, "%q is not a period: use %q or %q", period, pluginapi.PeriodDay, pluginapi.PeriodMonth)
	}
}

// allowsModel reports whether the consumer may ask for model: an entry
// (exact or "prefix*") matches the model as the client sent it, or the
// part after its first "/" ("openai/gpt-4o-mini" matches "gpt-4o-mini*").
func (cc *consumerConfig) allowsModel(model string) bool {
	if len(cc.AllowedModels) == 0 {
		return true
	}
	if model == "" {
		return false
	}
	match := func(m string) bool {
		return pluginapi.MatchModel(len(cc.AllowedModels), func(i int) string { return cc.AllowedModels[i] }, m) >= 0
	}
	if match(model) {
		return true
	}
	_, after, ok := strings.Cut(model, "/")
	return ok && after != "" && match(after)
}

// priceOf is the price of model: its entry in the table, else the highest
// price of the table (known is false then).
func (c *config) priceOf(model string) (p pluginapi.ModelPrice, known bool) {
	if p, ok := pluginapi.PriceOf(c.Prices, model); ok && model != "" {
		return p, true
	}
	return c.highest, false
}
