package usage

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/server/internal/store"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// generationField is the usage hash's count of resets, kept by the host
// only (pluginapi.UsageGeneration).
const generationField = pluginapi.UsageGeneration

// Counters are what a consumer spent in one period: the usage hash of
// pluginapi's layout, or its rows in the database.
type Counters struct {
	Consumer string
	PeriodID string
	// Generation counts the period's resets.
	Generation int64
	// Tokens (input + output) and Micros (USD × 1e6) are the settled usage.
	Tokens, Micros int64
	// ReservedTokens and ReservedMicros are held by requests in flight
	// (Redis only).
	ReservedTokens, ReservedMicros int64
	// TopUpTokens and TopUpMicros add to the quota and the budget.
	TopUpTokens, TopUpMicros int64
	Requests                 int64
	// Models are the per-model counters, sorted by name.
	Models []ModelCounters
}

// ModelCounters are one model's share of a period's usage.
type ModelCounters struct {
	Model string
	// InputTokens include CachedTokens.
	InputTokens, OutputTokens, CachedTokens int64
	Micros, Requests                        int64
}

// InputTokens is the sum of the models' input tokens.
func (c Counters) InputTokens() int64 {
	return c.sum(func(m ModelCounters) int64 { return m.InputTokens })
}

// OutputTokens is the sum of the models' output tokens.
func (c Counters) OutputTokens() int64 {
	return c.sum(func(m ModelCounters) int64 { return m.OutputTokens })
}

// CachedTokens is the sum of the models' cached input tokens.
func (c Counters) CachedTokens() int64 {
	return c.sum(func(m ModelCounters) int64 { return m.CachedTokens })
}

func (c Counters) sum(f func(ModelCounters) int64) int64 {
	var n int64
	for _, m := range c.Models {
		n += f(m)
	}
	return n
}

// parseHash reads a usage hash. Fields it does not know are ignored.
func parseHash(consumer, periodID string, h map[string]string) Counters {
	c := Counters{Consumer: consumer, PeriodID: periodID}
	models := map[string]*ModelCounters{}
	for f, v := range h {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue
		}
		switch f {
		case generationField:
			c.Generation = n
		case pluginapi.UsageTokens:
			c.Tokens = n
		case pluginapi.UsageMicros:
			c.Micros = n
		case pluginapi.UsageReservedTokens:
			c.ReservedTokens = n
		case pluginapi.UsageReservedMicros:
			c.ReservedMicros = n
		case pluginapi.UsageTopUpTokens:
			c.TopUpTokens = n
		case pluginapi.UsageTopUpMicros:
			c.TopUpMicros = n
		case pluginapi.UsageRequests:
			c.Requests = n
		default:
			// m:<model>:<what>; a model name may hold ':' itself.
			rest, ok := strings.CutPrefix(f, "m:")
			i := strings.LastIndexByte(rest, ':')
			if !ok || i <= 0 {
				continue
			}
			name := rest[:i]
			m := models[name]
			if m == nil {
				m = &ModelCounters{Model: name}
				models[name] = m
			}
			switch rest[i+1:] {
			case "in":
				m.InputTokens = n
			case "out":
				m.OutputTokens = n
			case "cached":
				m.CachedTokens = n
			case "micros":
				m.Micros = n
			case "req":
				m.Requests = n
			}
		}
	}
	c.Models = make([]ModelCounters, 0, len(models))
	for _, m := range models {
		c.Models = append(c.Models, *m)
	}
	sort.Slice(c.Models, func(i, j int) bool { return c.Models[i].Model < c.Models[j].Model })
	return c
}

// rows are c as database rows: the totals (model "") and one per model.
func (c Counters) rows() []store.UsageRow {
	out := make([]store.UsageRow, 0, 1+len(c.Models))
	out = append(out, store.UsageRow{Consumer: c.Consumer, PeriodID: c.PeriodID, Generation: c.Generation,
		InputTokens: c.InputTokens(), OutputTokens: c.OutputTokens(), CachedTokens: c.CachedTokens(),
		Tokens: c.Tokens, Micros: c.Micros, Requests: c.Requests, TopUpTokens: c.TopUpTokens, TopUpMicros: c.TopUpMicros})
	for _, m := range c.Models {
		out = append(out, store.UsageRow{Consumer: c.Consumer, PeriodID: c.PeriodID, Model: m.Model, Generation: c.Generation,
			InputTokens: m.InputTokens, OutputTokens: m.OutputTokens, CachedTokens: m.CachedTokens,
			Tokens: m.InputTokens + m.OutputTokens, Micros: m.Micros, Requests: m.Requests})
	}
	return out
}

// countersFromRows reads one consumer's rows of one period (the totals
// row and the model rows); model rows of an older generation than the
// totals' (left by a reset that did not finish) are left out.
func countersFromRows(consumer, periodID string, rows []store.UsageRow) Counters {
	c := Counters{Consumer: consumer, PeriodID: periodID, Models: []ModelCounters{}}
	for _, r := range rows {
		if r.Model == "" {
			c.Generation, c.Tokens, c.Micros, c.Requests = r.Generation, r.Tokens, r.Micros, r.Requests
			c.TopUpTokens, c.TopUpMicros = r.TopUpTokens, r.TopUpMicros
		}
	}
	for _, r := range rows {
		if r.Model != "" && r.Generation == c.Generation {
			c.Models = append(c.Models, ModelCounters{Model: r.Model, InputTokens: r.InputTokens, OutputTokens: r.OutputTokens,
				CachedTokens: r.CachedTokens, Micros: r.Micros, Requests: r.Requests})
		}
	}
	sort.Slice(c.Models, func(i, j int) bool { return c.Models[i].Model < c.Models[j].Model })
	return c
}

// fields are c as the usage hash's fields to add on a restore (reservations
// are not restored: their requests ended with the Redis that held them).
func (c Counters) fields() []any {
	out := []any{pluginapi.UsageTokens, c.Tokens, pluginapi.UsageMicros, c.Micros, pluginapi.UsageRequests, c.Requests,
		pluginapi.UsageTopUpTokens, c.TopUpTokens, pluginapi.UsageTopUpMicros, c.TopUpMicros}
	for _, m := range c.Models {
		out = append(out,
			pluginapi.UsageModelField(m.Model, "in"), m.InputTokens,
			pluginapi.UsageModelField(m.Model, "out"), m.OutputTokens,
			pluginapi.UsageModelField(m.Model, "cached"), m.CachedTokens,
			pluginapi.UsageModelField(m.Model, "micros"), m.Micros,
			pluginapi.UsageModelField(m.Model, "req"), m.Requests)
	}
	return out
}

// parseKey splits a usage hash's key into consumer and period id.
func parseKey(key string) (consumer, periodID string, ok bool) {
	rest, ok := strings.CutPrefix(key, pluginapi.UsageKeyPrefix+"{")
	i := strings.LastIndex(rest, "}:")
	if !ok || i <= 0 {
		return "", "", false
	}
	return rest[:i], rest[i+2:], true
}

// periodEnd is when the period periodID ends ("d2026-12-04", "m2026-12").
func periodEnd(periodID string) (time.Time, bool) {
	if len(periodID) < 2 {
		return time.Time{}, false
	}
	switch periodID[0] {
	case 'd':
		t, err := time.Parse(time.DateOnly, periodID[1:])
		return t.AddDate(0, 0, 1), err == nil
	case 'm':
		t, err := time.Parse("2006-01", periodID[1:])
		return t.AddDate(0, 1, 0), err == nil
	}
	return time.Time{}, false
}

// keyLifetime is how long a usage hash outlives its period, as the plugin
// sets it: the period's end + 48 h.
const keyLifetime = 48 * time.Hour

// livePeriods are the periods whose hashes Redis still holds at now (their
// end + keyLifetime is later): the ones a restore puts back.
func livePeriods(now time.Time) []string {
	var ids []string
	for _, period := range []string{pluginapi.PeriodDay, pluginapi.PeriodMonth} {
		t := now
		for {
			id, start, end := pluginapi.UsagePeriod(period, t)
			if !end.Add(keyLifetime).After(now) {
				break
			}
			ids = append(ids, id)
			t = start.Add(-time.Nanosecond)
		}
	}
	return ids
}
