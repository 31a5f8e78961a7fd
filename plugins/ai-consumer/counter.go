package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// The counters are pluginapi's usage hashes (usage.go). Besides them the
// plugin keeps, per consumer, a sorted set of the reservations in flight
// (InFlightKey), each with the time by which it must be settled: a
// reservation whose gateway instance died is released by the next
// reservation of the same consumer after ReservationHold, so that it
// stops counting within that time.
const (
	// ReservationHold is how long a reservation counts without being
	// settled.
	ReservationHold = 10 * time.Minute
	// hashGrace is how long a usage hash outlives its period, for the
	// rollup to read it.
	hashGrace = 48 * time.Hour
)

// InFlightKey is the sorted set of consumer's reservations in flight. It
// shares the consumer's hash tag with its usage hashes (one slot on Redis
// Cluster).
func InFlightKey(consumer string) string {
	return pluginapi.UsageKeyPrefix + "{" + consumer + "}:inflight"
}

// script replaces the field names of the usage layout in a Lua script.
func script(src string) *redis.Script {
	return redis.NewScript(strings.NewReplacer(
		"$tokens", pluginapi.UsageTokens, "$micros", pluginapi.UsageMicros,
		"$rtokens", pluginapi.UsageReservedTokens, "$rmicros", pluginapi.UsageReservedMicros,
		"$topup_tokens", pluginapi.UsageTopUpTokens, "$topup_micros", pluginapi.UsageTopUpMicros,
		"$requests", pluginapi.UsageRequests,
	).Replace(src))
}

// release gives back the reservation a member of the in-flight set
// describes: "<id> <quota hash|-> <tokens> <budget hash|-> <micros>".
const releaseLua = `
local function release(m)
  local _, qkey, qn, bkey, bn = string.match(m, '^(%S+) (%S+) (%d+) (%S+) (%d+)$')
  if qkey and qkey ~= '-' then redis.call('HINCRBY', qkey, '$rtokens', '-' .. qn) end
  if bkey and bkey ~= '-' then redis.call('HINCRBY', bkey, '$rmicros', '-' .. bn) end
end
`

// reserveScript releases the consumer's expired reservations, then checks
// the quota (KEYS[2]) and the budget (KEYS[3]) and, when the estimate fits
// in both, reserves it in both and notes the reservation in the in-flight
// set (KEYS[1]).
//
// ARGV: member, hold ms, quota limit (0: none), tokens estimate, quota hash
// expiry (unix s), budget limit in micros (0: none), micros estimate,
// budget hash expiry.
//
// A limit refuses when settled + reserved + estimate > limit + top-up,
// except when nothing is settled or reserved yet in the period: a request
// larger than the whole allowance is served once. It returns {1} when
// reserved, else {0, 1 (quota) | 2 (budget), settled, reserved, top-up}.
var reserveScript = script(releaseLua + `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  release(m)
  redis.call('ZREM', KEYS[1], m)
end
local function over(key, limit, est, sf, rf, tf)
  local v = redis.call('HMGET', key, sf, rf, tf)
  local s, r, top = tonumber(v[1] or '0'), tonumber(v[2] or '0'), tonumber(v[3] or '0')
  if (s > 0 or r > 0) and s + r + est > limit + top then
    return {s, r, top}
  end
  return nil
end
local ql, qe, bl, be = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6]), tonumber(ARGV[7])
if ql > 0 then
  local o = over(KEYS[2], ql, qe, '$tokens', '$rtokens', '$topup_tokens')
  if o then return {0, 1, o[1], o[2], o[3]} end
end
if bl > 0 then
  local o = over(KEYS[3], bl, be, '$micros', '$rmicros', '$topup_micros')
  if o then return {0, 2, o[1], o[2], o[3]} end
end
if ql > 0 then
  redis.call('HINCRBY', KEYS[2], '$rtokens', ARGV[4])
  redis.call('EXPIREAT', KEYS[2], ARGV[5])
end
if bl > 0 then
  redis.call('HINCRBY', KEYS[3], '$rmicros', ARGV[7])
  redis.call('EXPIREAT', KEYS[3], ARGV[8])
end
local hold = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + hold, ARGV[1])
redis.call('PEXPIRE', KEYS[1], 2 * hold)
return {1}
`)

// settleScript releases a reservation (ARGV[1], "" for none) unless it was
// already released as expired, and, when ARGV[2] is "1", counts the
// answer in the day (KEYS[2]) and month (KEYS[3]) hashes.
//
// ARGV: member, counted, tokens, micros, model field in, out, cached,
// micros, req, input, output, cached input, day hash expiry, month hash
// expiry.
var settleScript = script(releaseLua + `
if ARGV[1] ~= '' and redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  release(ARGV[1])
end
if ARGV[2] ~= '1' then
  return 0
end
for i = 2, 3 do
  local k = KEYS[i]
  redis.call('HINCRBY', k, '$tokens', ARGV[3])
  redis.call('HINCRBY', k, '$micros', ARGV[4])
  redis.call('HINCRBY', k, '$requests', 1)
  redis.call('HINCRBY', k, ARGV[5], ARGV[10])
  redis.call('HINCRBY', k, ARGV[6], ARGV[11])
  redis.call('HINCRBY', k, ARGV[7], ARGV[12])
  redis.call('HINCRBY', k, ARGV[8], ARGV[4])
  redis.call('HINCRBY', k, ARGV[9], 1)
  redis.call('EXPIREAT', k, ARGV[11 + i])
end
return 1
`)

// limit is one of a consumer's allowances in the current period.
type limit struct {
	what   string // "quota" or "budget"
	period string
	key    string // the period's usage hash
	limit  int64  // tokens or micros
	end    time.Time
}

// reservation is what a request reserved: released or settled when its
// answer ended.
type reservation struct {
	member string
}

// refusal says which limit refused a request and how it stood.
type refusal struct {
	limit                    *limit
	settled, reserved, topUp int64
}

// reserve reserves tokens against q and micros against b (either may be
// nil). It returns the refusal when they do not fit.
func reserve(ctx context.Context, rdb redis.UniversalClient, consumer string, q, b *limit, tokens, micros int64) (*reservation, *refusal, error) {
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	qkey, bkey, qlim, blim := "-", "-", int64(0), int64(0)
	var qexp, bexp int64
	if q != nil {
		qkey, qlim, qexp = q.key, q.limit, q.end.Add(hashGrace).Unix()
	} else {
		tokens = 0
	}
	if b != nil {
		bkey, blim, bexp = b.key, b.limit, b.end.Add(hashGrace).Unix()
	} else {
		micros = 0
	}
	member := fmt.Sprintf("%s %s %d %s %d", hex.EncodeToString(id), qkey, tokens, bkey, micros)
	keys := []string{InFlightKey(consumer), orKey(qkey, bkey), orKey(bkey, qkey)}
	v, err := reserveScript.Run(ctx, rdb, keys, member, ReservationHold.Milliseconds(),
		qlim, tokens, qexp, blim, micros, bexp).Int64Slice()
	if err == nil && (len(v) == 0 || v[0] == 0 && len(v) != 5) {
		err = fmt.Errorf("the reserve script answered %v", v)
	}
	if err != nil {
		return nil, nil, err
	}
	if v[0] == 0 {
		l := q
		if v[1] == 2 {
			l = b
		}
		return nil, &refusal{limit: l, settled: v[2], reserved: v[3], topUp: v[4]}, nil
	}
	return &reservation{member: member}, nil, nil
}

// orKey is key, or other when key is "-" (the script's KEYS are real keys
// of the consumer's slot).
func orKey(key, other string) string {
	if key == "-" {
		return other
	}
	return key
}

// answer is the usage to count for one answer.
type answer struct {
	model                 string
	input, output, cached int64
	micros                int64
}

// settle releases res (nil: nothing reserved) and counts a (nil: nothing
// to count) in the consumer's day and month hashes, marking them dirty
// for the rollup.
func settle(ctx context.Context, rdb redis.UniversalClient, consumer string, res *reservation, a *answer, now time.Time) error {
	dayID, _, dayEnd := pluginapi.UsagePeriod(pluginapi.PeriodDay, now)
	monthID, _, monthEnd := pluginapi.UsagePeriod(pluginapi.PeriodMonth, now)
	day, month := pluginapi.UsageKey(consumer, dayID), pluginapi.UsageKey(consumer, monthID)
	member := ""
	if res != nil {
		member = res.member
	}
	args := []any{member, "0"}
	if a != nil {
		f := func(what string) string { return pluginapi.UsageModelField(a.model, what) }
		args = []any{member, "1", a.input + a.output, a.micros,
			f("in"), f("out"), f("cached"), f("micros"), f("req"),
			a.input, a.output, a.cached,
			dayEnd.Add(hashGrace).Unix(), monthEnd.Add(hashGrace).Unix()}
	}
	if err := settleScript.Run(ctx, rdb, []string{InFlightKey(consumer), day, month}, args...).Err(); err != nil {
		return err
	}
	if a == nil {
		return nil
	}
	return rdb.SAdd(ctx, pluginapi.UsageDirtyKey, day, month).Err()
}

// periodLimit is the consumer's allowance of period in force at now.
func periodLimit(consumer, what, period string, n int64, now time.Time) *limit {
	id, _, end := pluginapi.UsagePeriod(period, now)
	return &limit{what: what, period: period, key: pluginapi.UsageKey(consumer, id), limit: n, end: end}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
