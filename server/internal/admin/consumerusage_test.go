package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

type usageAnswerForTest struct {
	Consumer string `json:"consumer"`
	Period   string `json:"period"`
	Source   string `json:"source"`
	Note     string `json:"note"`
	Totals   struct {
		Tokens   int64   `json:"tokens"`
		USD      float64 `json:"usd"`
		Requests int64   `json:"requests"`
	} `json:"totals"`
	Quota *struct {
		UsedTokens      int64 `json:"usedTokens"`
		TopUpTokens     int64 `json:"topUpTokens"`
		RemainingTokens int64 `json:"remainingTokens"`
	} `json:"quota"`
	Budget *struct {
		SpentUSD     float64   `json:"spentUsd"`
		TopUpUSD     float64   `json:"topUpUsd"`
		RemainingUSD float64   `json:"remainingUsd"`
		ResetsAt     time.Time `json:"resetsAt"`
	} `json:"budget"`
	Models []struct {
		Model        string  `json:"model"`
		InputTokens  int64   `json:"inputTokens"`
		OutputTokens int64   `json:"outputTokens"`
		USD          float64 `json:"usd"`
	} `json:"models"`
}

// TestConsumerUsageAPI reads, tops up and resets a consumer's usage kept
// in a real redis-server in the layout the ai-consumer plugin writes, and
// falls back to the database's rollups when Redis is gone.
func TestConsumerUsageAPI(t *testing.T) {
	rs := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	a := newAIAdminOn(t, rdb)
	ctx := context.Background()

	code, body := a.do(t, "POST", "/api/v1/consumers", `{"name":"team-a","budget":{"usd":5,"period":"month"},"quota":{"tokens":1000,"period":"day"}}`)
	require.Equal(t, http.StatusCreated, code, body)
	code, body = a.do(t, "POST", "/api/v1/consumers", `{"name":"team-b"}`)
	require.Equal(t, http.StatusCreated, code, body)

	// What the plugin counted: 300 tokens and $1.25 today (so this month).
	now := time.Now()
	month, _, monthEnd := pluginapi.UsagePeriod(pluginapi.PeriodMonth, now)
	day, _, _ := pluginapi.UsagePeriod(pluginapi.PeriodDay, now)
	require.NoError(t, rdb.Set(ctx, pluginapi.UsageEpochKey, "e1", 0).Err())
	for _, id := range []string{month, day} {
		require.NoError(t, rdb.HSet(ctx, pluginapi.UsageKey("team-a", id),
			pluginapi.UsageTokens, 300, pluginapi.UsageMicros, 1_250_000, pluginapi.UsageRequests, 2,
			pluginapi.UsageModelField("gpt-4o-mini", "in"), 200, pluginapi.UsageModelField("gpt-4o-mini", "out"), 100,
			pluginapi.UsageModelField("gpt-4o-mini", "micros"), 1_250_000, pluginapi.UsageModelField("gpt-4o-mini", "req"), 2).Err())
	}
	get := func(path string) usageAnswerForTest {
		t.Helper()
		code, body := a.do(t, "GET", path, "")
		require.Equal(t, http.StatusOK, code, body)
		var u usageAnswerForTest
		require.NoError(t, json.Unmarshal([]byte(body), &u), body)
		return u
	}

	u := get("/api/v1/consumers/team-a/usage")
	require.Equal(t, "month", u.Period, "the budget's period by default")
	require.Equal(t, "redis", u.Source)
	require.Equal(t, int64(300), u.Totals.Tokens)
	require.InDelta(t, 1.25, u.Totals.USD, 1e-9)
	require.InDelta(t, 3.75, u.Budget.RemainingUSD, 1e-9)
	require.True(t, u.Budget.ResetsAt.Equal(monthEnd), "the budget resets when its month ends: %s", u.Budget.ResetsAt)
	require.Equal(t, int64(700), u.Quota.RemainingTokens, "the day quota counts today's tokens")
	require.Len(t, u.Models, 1)
	require.Equal(t, "gpt-4o-mini", u.Models[0].Model)
	require.Equal(t, int64(200), u.Models[0].InputTokens)

	// Top-ups land in the budget's month and the quota's day.
	code, body = a.do(t, "POST", "/api/v1/consumers/team-a/usage/top-up", `{"usd":2}`)
	require.Equal(t, http.StatusOK, code, body)
	code, body = a.do(t, "POST", "/api/v1/consumers/team-a/usage/top-up", `{"tokens":500}`)
	require.Equal(t, http.StatusOK, code, body)
	u = get("/api/v1/consumers/team-a/usage")
	require.InDelta(t, 5.75, u.Budget.RemainingUSD, 1e-9)
	require.Equal(t, int64(1200), u.Quota.RemainingTokens)
	got, err := rdb.HGet(ctx, pluginapi.UsageKey("team-a", month), pluginapi.UsageTopUpMicros).Int64()
	require.NoError(t, err)
	require.Equal(t, int64(2_000_000), got, "the plugin reads the top-up from the month's hash")

	// Bad top-ups name the field and change nothing.
	for _, c := range []struct{ path, body, field string }{
		{"/api/v1/consumers/team-a/usage/top-up", `{}`, "usd"},
		{"/api/v1/consumers/team-a/usage/top-up", `{"usd":-1}`, "usd"},
		{"/api/v1/consumers/team-a/usage/top-up", `{"tokens":0}`, "tokens"},
		{"/api/v1/consumers/team-a/usage/top-up", `{"tokens":9223372036854775000}`, "tokens"},
		{"/api/v1/consumers/team-b/usage/top-up", `{"usd":1}`, "usd"},
		{"/api/v1/consumers/team-b/usage/top-up", `{"tokens":10}`, "tokens"},
		{"/api/v1/consumers/team-a/usage/reset", `{"period":"year"}`, "period"},
	} {
		code, body := a.do(t, "POST", c.path, c.body)
		require.Equal(t, http.StatusBadRequest, code, "%s %s: %s", c.path, c.body, body)
		require.Contains(t, body, `"field":"`+c.field+`"`, body)
	}
	code, body = a.do(t, "GET", "/api/v1/consumers/team-a/usage?period=week", "")
	require.Equal(t, http.StatusBadRequest, code, body)
	code, _ = a.do(t, "GET", "/api/v1/consumers/nobody/usage", "")
	require.Equal(t, http.StatusNotFound, code)
	u = get("/api/v1/consumers/team-a/usage")
	require.InDelta(t, 5.75, u.Budget.RemainingUSD, 1e-9, "refused top-ups changed nothing")

	// Every consumer is listed, the ones that spent nothing with zeros.
	code, body = a.do(t, "GET", "/api/v1/consumers/usage?period=day", "")
	require.Equal(t, http.StatusOK, code, body)
	var list struct {
		Period string               `json:"period"`
		Items  []usageAnswerForTest `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	require.Equal(t, "day", list.Period)
	require.Len(t, list.Items, 2)
	require.Equal(t, "team-a", list.Items[0].Consumer)
	require.Equal(t, int64(300), list.Items[0].Totals.Tokens)
	require.Equal(t, "team-b", list.Items[1].Consumer)
	require.Zero(t, list.Items[1].Totals.Tokens)

	// A consumer that spent nothing has an empty list of models (the
	// console lists them), and no quota or budget.
	code, body = a.do(t, "GET", "/api/v1/consumers/team-b/usage", "")
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"models":[]`)
	require.Contains(t, body, `"quota":null`)
	require.Contains(t, body, `"budget":null`)

	// A reset starts the month over: spending and top-ups are gone.
	code, body = a.do(t, "POST", "/api/v1/consumers/team-a/usage/reset", ``)
	require.Equal(t, http.StatusOK, code, body)
	u = get("/api/v1/consumers/team-a/usage")
	require.Zero(t, u.Totals.Tokens)
	require.InDelta(t, 5.0, u.Budget.RemainingUSD, 1e-9)

	// Without Redis the figures come from the database, and a top-up
	// changes nothing.
	code, body = a.do(t, "POST", "/api/v1/consumers/team-a/usage/top-up", `{"usd":1}`)
	require.Equal(t, http.StatusOK, code, body)
	rs.Stop()
	u = get("/api/v1/consumers/team-a/usage")
	require.Equal(t, "database", u.Source)
	require.NotEmpty(t, u.Note)
	require.InDelta(t, 6.0, u.Budget.RemainingUSD, 1e-9, "the top-up was written into the database at once")
	require.Zero(t, u.Totals.Tokens, "the reset was written into the database at once")
	require.Empty(t, u.Models, "the reset month lists no models, as it does from Redis (the database keeps the reset models' rows, zeroed)")
	code, body = a.do(t, "POST", "/api/v1/consumers/team-a/usage/top-up", `{"usd":1}`)
	require.Equal(t, http.StatusServiceUnavailable, code, body)
	require.Contains(t, body, `"code":"usage_unavailable"`)
	u = get("/api/v1/consumers/team-a/usage")
	require.InDelta(t, 6.0, u.Budget.RemainingUSD, 1e-9, "nothing changed")
}

// TestConsumerUsageBudgetInCents: a budget and a top-up in dollars and
// cents are shown back exactly, not a micro-dollar more ($4.03 was
// 4030001 micro-dollars, and $8.100002 remained).
func TestConsumerUsageBudgetInCents(t *testing.T) {
	rs := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	a := newAIAdminOn(t, rdb)
	require.NoError(t, rdb.Set(context.Background(), pluginapi.UsageEpochKey, "e1", 0).Err())

	code, body := a.do(t, "POST", "/api/v1/consumers", `{"name":"team-c","budget":{"usd":4.03,"period":"month"}}`)
	require.Equal(t, http.StatusCreated, code, body)
	code, body = a.do(t, "POST", "/api/v1/consumers/team-c/usage/top-up", `{"usd":4.07}`)
	require.Equal(t, http.StatusOK, code, body)
	var u usageAnswerForTest
	require.NoError(t, json.Unmarshal([]byte(body), &u), body)
	require.Equal(t, 4.07, u.Budget.TopUpUSD, body)
	require.Equal(t, 8.1, u.Budget.RemainingUSD, body)
}
