package pluginapi

import (
	"fmt"
	"math"
	"time"
)

// Consumer usage in Redis (issue #14). The ai-consumer plugin counts what
// each consumer spends in the current day and month; the host rolls the
// counters up into the database every minute, restores them after a
// Redis loss, and serves, tops up and resets them through the admin API.
// This file is the one description of the layout both sides use.
//
// One Redis hash per consumer and period, UsageKey(consumer, periodID).
// Its fields, all integers:
//
//	tokens, micros       settled usage: input+output tokens, and USD × 1e6
//	rtokens, rmicros     reservations of requests still in flight
//	topup_tokens,        allowance added to the period's quota and budget
//	topup_micros         by a top-up
//	requests             answered requests
//	m:<model>:in         per model, as the provider named it:
//	m:<model>:out        input tokens (cached ones included), output tokens,
//	m:<model>:cached     cached input tokens, USD × 1e6, requests
//	m:<model>:micros
//	m:<model>:req
//	gen                  resets of the period, written by the host only
//
// Every change also adds the hash's key to the set UsageDirtyKey, which
// the rollup drains.
const (
	// UsageKeyPrefix starts every key of consumer usage.
	UsageKeyPrefix = "gatehouse:usage:"
	// UsageDirtyKey is the set of usage hashes changed since the last
	// rollup.
	UsageDirtyKey = UsageKeyPrefix + "dirty"
	// UsageEpochKey names the Redis data set the counters live in. The
	// host sets it after it has restored the counters from the database;
	// when it is missing, Redis lost its data and the counters are being
	// restored.
	UsageEpochKey = UsageKeyPrefix + "epoch"
)

// Fields of a usage hash.
const (
	UsageTokens         = "tokens"
	UsageMicros         = "micros"
	UsageReservedTokens = "rtokens"
	UsageReservedMicros = "rmicros"
	UsageTopUpTokens    = "topup_tokens"
	UsageTopUpMicros    = "topup_micros"
	UsageRequests       = "requests"
	// UsageGeneration counts the resets of the period. Only the host
	// writes it (reset, restore); plugins leave it alone.
	UsageGeneration = "gen"
)

// UsageModelField is the field of model's counter what ("in", "out",
// "cached", "micros", "req").
func UsageModelField(model, what string) string { return "m:" + model + ":" + what }

// Periods of quotas and budgets. Periods are calendar days and months in
// UTC.
const (
	PeriodDay   = "day"
	PeriodMonth = "month"
)

// UsagePeriod returns the id of the period ("day" or "month") that t falls
// in ("d2026-12-04", "m2026-12") and the period's start and end (UTC).
func UsagePeriod(period string, t time.Time) (id string, start, end time.Time) {
	t = t.UTC()
	switch period {
	case PeriodDay:
		start = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return "d" + start.Format(time.DateOnly), start, start.AddDate(0, 0, 1)
	case PeriodMonth:
		start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		return "m" + start.Format("2006-01"), start, start.AddDate(0, 1, 0)
	}
	panic(fmt.Sprintf("pluginapi.UsagePeriod: unknown period %q", period))
}

// UsageKey is the Redis hash of consumer's usage in the period periodID.
// The consumer's name is a hash tag, so that on Redis Cluster a
// consumer's counters share a slot.
func UsageKey(consumer, periodID string) string {
	return UsageKeyPrefix + "{" + consumer + "}:" + periodID
}

// USDToMicros converts dollars to the integer micro-dollars counted,
// rounding a fraction of a micro-dollar up (a spend is never counted
// low). An amount in whole micro-dollars converts exactly: usd * 1e6 can
// land a rounding error above it ($4.03 is 4030000.0000000005), which is
// not a fraction to round up.
func USDToMicros(usd float64) int64 {
	v := usd * 1e6
	if r := math.Round(v); math.Abs(v-r) <= max(1e-6, math.Abs(r)*1e-12) {
		return int64(r)
	}
	return int64(math.Ceil(v))
}

// MicrosToUSD converts counted micro-dollars to dollars.
func MicrosToUSD(micros int64) float64 { return float64(micros) / 1e6 }
