package admin

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
	"github.com/gatehouse-dev/gatehouse/server/internal/usage"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// Consumer usage (issue #14, docs/usage.md): what each consumer spent in
// the current day or month, its quota and budget left, and the top-up
// and reset of an administrator. The figures come from Redis, or from the
// database's rollups when Redis cannot answer.

// codeUsageUnavailable answers a top-up or reset that Redis cannot take.
const codeUsageUnavailable = "usage_unavailable"

func (s *Server) registerConsumerUsage(g *gin.RouterGroup) {
	g.GET("/consumers/usage", s.listConsumerUsage)
	g.GET("/consumers/:name/usage", s.getConsumerUsage)
	g.POST("/consumers/:name/usage/top-up", s.topUpConsumer)
	g.POST("/consumers/:name/usage/reset", s.resetConsumerUsage)
}

type usageTotals struct {
	InputTokens       int64   `json:"inputTokens"`
	OutputTokens      int64   `json:"outputTokens"`
	CachedInputTokens int64   `json:"cachedInputTokens"`
	Tokens            int64   `json:"tokens"`
	USD               float64 `json:"usd"`
	Requests          int64   `json:"requests"`
}

type modelUsage struct {
	Model             string  `json:"model"`
	InputTokens       int64   `json:"inputTokens"`
	OutputTokens      int64   `json:"outputTokens"`
	CachedInputTokens int64   `json:"cachedInputTokens"`
	USD               float64 `json:"usd"`
	Requests          int64   `json:"requests"`
}

type quotaUsage struct {
	Tokens          int64     `json:"tokens"`
	Period          string    `json:"period"`
	UsedTokens      int64     `json:"usedTokens"`
	ReservedTokens  int64     `json:"reservedTokens"`
	TopUpTokens     int64     `json:"topUpTokens"`
	RemainingTokens int64     `json:"remainingTokens"`
	ResetsAt        time.Time `json:"resetsAt"`
}

type budgetUsage struct {
	USD          float64   `json:"usd"`
	Period       string    `json:"period"`
	SpentUSD     float64   `json:"spentUsd"`
	ReservedUSD  float64   `json:"reservedUsd"`
	TopUpUSD     float64   `json:"topUpUsd"`
	RemainingUSD float64   `json:"remainingUsd"`
	ResetsAt     time.Time `json:"resetsAt"`
}

type consumerUsage struct {
	Consumer    string        `json:"consumer"`
	Period      string        `json:"period"`
	PeriodStart time.Time     `json:"periodStart"`
	ResetsAt    time.Time     `json:"resetsAt"`
	Source      string        `json:"source"`
	Note        string        `json:"note,omitempty"`
	Totals      usageTotals   `json:"totals"`
	Quota       *quotaUsage   `json:"quota"`
	Budget      *budgetUsage  `json:"budget"`
	Models      *[]modelUsage `json:"models,omitempty"` // one consumer: always a list; the list of all: none
}

type usageList struct {
	Period      string          `json:"period"`
	PeriodStart time.Time       `json:"periodStart"`
	ResetsAt    time.Time       `json:"resetsAt"`
	Source      string          `json:"source"`
	Note        string          `json:"note,omitempty"`
	Items       []consumerUsage `json:"items"`
}

// usagePeriod is the period a request asks for: ?period=, else the
// consumer's budget's, else its quota's, else month.
func usagePeriod(c *gin.Context, asked string, cons *spec.Consumer) (string, error) {
	switch {
	case asked == spec.PeriodDay || asked == spec.PeriodMonth:
		return asked, nil
	case asked != "":
		return "", newError(http.StatusBadRequest, "invalid_period", fmt.Sprintf("period %q is not a period; use %q or %q", asked, spec.PeriodDay, spec.PeriodMonth),
			fieldDetail{Field: "period", Message: fmt.Sprintf("use %q or %q", spec.PeriodDay, spec.PeriodMonth)})
	case cons != nil && cons.Budget != nil:
		return cons.Budget.Period, nil
	case cons != nil && cons.Quota != nil:
		return cons.Quota.Period, nil
	}
	return spec.PeriodMonth, nil
}

// readUsage reads the counters of consumers in the current day and month.
func (s *Server) readUsage(c *gin.Context, consumers []spec.Consumer) (map[string]map[string]usage.Counters, usage.Source, error) {
	names := make([]string, len(consumers))
	for i, cons := range consumers {
		names[i] = cons.Name
	}
	out := map[string]map[string]usage.Counters{}
	var src usage.Source
	for _, period := range []string{spec.PeriodDay, spec.PeriodMonth} {
		p := s.opts.Usage.CurrentPeriod(period)
		got, from, err := s.opts.Usage.Read(c.Request.Context(), p.ID, names...)
		if err != nil {
			return nil, src, err
		}
		if src.Name == "" || from.Name == "database" {
			src = from
		}
		out[period] = got
	}
	return out, src, nil
}

// describe builds one consumer's usage in period from the counters of
// both periods.
func (s *Server) describe(cons spec.Consumer, period string, counters map[string]map[string]usage.Counters, src usage.Source, withModels bool) consumerUsage {
	p := s.opts.Usage.CurrentPeriod(period)
	cur := counters[period][cons.Name]
	u := consumerUsage{Consumer: cons.Name, Period: period, PeriodStart: p.Start, ResetsAt: p.End, Source: src.Name, Note: src.Note,
		Totals: usageTotals{InputTokens: cur.InputTokens(), OutputTokens: cur.OutputTokens(), CachedInputTokens: cur.CachedTokens(),
			Tokens: cur.Tokens, USD: pluginapi.MicrosToUSD(cur.Micros), Requests: cur.Requests}}
	if q := cons.Quota; q != nil {
		qc := counters[q.Period][cons.Name]
		u.Quota = &quotaUsage{Tokens: q.Tokens, Period: q.Period, UsedTokens: qc.Tokens, ReservedTokens: qc.ReservedTokens,
			TopUpTokens: qc.TopUpTokens, RemainingTokens: max(0, q.Tokens+qc.TopUpTokens-qc.Tokens),
			ResetsAt: s.opts.Usage.CurrentPeriod(q.Period).End}
	}
	if b := cons.Budget; b != nil {
		bc := counters[b.Period][cons.Name]
		limit := pluginapi.USDToMicros(b.USD)
		u.Budget = &budgetUsage{USD: b.USD, Period: b.Period, SpentUSD: pluginapi.MicrosToUSD(bc.Micros),
			ReservedUSD: pluginapi.MicrosToUSD(bc.ReservedMicros), TopUpUSD: pluginapi.MicrosToUSD(bc.TopUpMicros),
			RemainingUSD: pluginapi.MicrosToUSD(max(0, limit+bc.TopUpMicros-bc.Micros)),
			ResetsAt:     s.opts.Usage.CurrentPeriod(b.Period).End}
	}
	if withModels {
		models := make([]modelUsage, 0, len(cur.Models))
		u.Models = &models
		for _, m := range cur.Models {
			// A reset zeroes a model's row in the database rather than
			// deleting it (so that an older rollup cannot bring it
			// back): a model with nothing counted was not used in the
			// period, and Redis does not list it either.
			if m.Requests == 0 && m.InputTokens == 0 && m.OutputTokens == 0 && m.Micros == 0 {
				continue
			}
			models = append(models, modelUsage{Model: m.Model, InputTokens: m.InputTokens, OutputTokens: m.OutputTokens,
				CachedInputTokens: m.CachedTokens, USD: pluginapi.MicrosToUSD(m.Micros), Requests: m.Requests})
		}
	}
	return u
}

// listConsumerUsage answers every consumer's usage, sorted by name.
func (s *Server) listConsumerUsage(c *gin.Context) {
	period, err := usagePeriod(c, c.Query("period"), nil)
	if err != nil {
		s.fail(c, err)
		return
	}
	snap, _ := s.opts.Config.Snapshot()
	consumers := append([]spec.Consumer(nil), snap.Consumers...)
	sort.Slice(consumers, func(i, j int) bool { return consumers[i].Name < consumers[j].Name })
	counters, src, err := s.readUsage(c, consumers)
	if err != nil {
		s.fail(c, err)
		return
	}
	p := s.opts.Usage.CurrentPeriod(period)
	out := usageList{Period: period, PeriodStart: p.Start, ResetsAt: p.End, Source: src.Name, Note: src.Note, Items: make([]consumerUsage, 0, len(consumers))}
	for _, cons := range consumers {
		item := s.describe(cons, period, counters, src, false)
		item.Source, item.Note = "", ""
		out.Items = append(out.Items, item)
	}
	c.JSON(http.StatusOK, out)
}

// getConsumerUsage answers one consumer's usage with its models.
func (s *Server) getConsumerUsage(c *gin.Context) {
	cons, ok := s.consumer(c)
	if !ok {
		return
	}
	s.answerUsage(c, cons, c.Query("period"), http.StatusOK)
}

func (s *Server) answerUsage(c *gin.Context, cons spec.Consumer, asked string, status int) {
	period, err := usagePeriod(c, asked, &cons)
	if err != nil {
		s.fail(c, err)
		return
	}
	counters, src, err := s.readUsage(c, []spec.Consumer{cons})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(status, s.describe(cons, period, counters, src, true))
}

type topUpRequest struct {
	USD    *float64 `json:"usd"`
	Tokens *int64   `json:"tokens"`
}

// topUpConsumer adds dollars to the consumer's budget and tokens to its
// quota for their current periods.
func (s *Server) topUpConsumer(c *gin.Context) {
	var req topUpRequest
	if err := bindJSON(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	cons, ok := s.consumer(c)
	if !ok {
		return
	}
	var details []fieldDetail
	switch {
	case req.USD == nil && req.Tokens == nil:
		details = append(details, fieldDetail{Field: "usd", Message: `give "usd" (dollars added to the budget) and/or "tokens" (added to the quota)`})
	case req.USD != nil && cons.Budget == nil:
		details = append(details, fieldDetail{Field: "usd", Message: fmt.Sprintf("consumer %q has no budget to top up; give it one (PUT /api/v1/consumers/%s)", cons.Name, cons.Name)})
	case req.USD != nil && !(*req.USD > 0 && *req.USD <= 1e9) || req.USD != nil && math.IsNaN(*req.USD):
		details = append(details, fieldDetail{Field: "usd", Message: "must be a positive amount of dollars up to 1e9"})
	}
	switch {
	case req.Tokens != nil && cons.Quota == nil:
		details = append(details, fieldDetail{Field: "tokens", Message: fmt.Sprintf("consumer %q has no quota to top up; give it one (PUT /api/v1/consumers/%s)", cons.Name, cons.Name)})
	case req.Tokens != nil && (*req.Tokens <= 0 || *req.Tokens > spec.MaxQuotaTokens):
		details = append(details, fieldDetail{Field: "tokens", Message: fmt.Sprintf("must be a positive number of tokens up to %d", int64(spec.MaxQuotaTokens))})
	}
	if len(details) > 0 {
		s.fail(c, newError(http.StatusBadRequest, spec.CodeConsumerInvalid, "the top-up is not valid; nothing was changed", details...))
		return
	}
	ctx := c.Request.Context()
	// Budget and quota may run in different periods: one top-up each.
	if req.USD != nil {
		if err := s.opts.Usage.TopUp(ctx, cons.Name, s.opts.Usage.CurrentPeriod(cons.Budget.Period).ID, 0, pluginapi.USDToMicros(*req.USD)); err != nil {
			s.failUsage(c, err)
			return
		}
	}
	if req.Tokens != nil {
		if err := s.opts.Usage.TopUp(ctx, cons.Name, s.opts.Usage.CurrentPeriod(cons.Quota.Period).ID, *req.Tokens, 0); err != nil {
			s.failUsage(c, err)
			return
		}
	}
	s.log.Info("consumer usage topped up", "consumer", cons.Name, "usd", req.USD, "tokens", req.Tokens,
		"user", c.MustGet(userKey).(*store.User).Username)
	s.answerUsage(c, cons, "", http.StatusOK)
}

type resetRequest struct {
	Period string `json:"period"`
}

// resetConsumerUsage zeroes what the consumer spent in the current period.
func (s *Server) resetConsumerUsage(c *gin.Context) {
	var req resetRequest
	if c.Request.ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			s.fail(c, err)
			return
		}
	}
	cons, ok := s.consumer(c)
	if !ok {
		return
	}
	period, err := usagePeriod(c, req.Period, &cons)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.opts.Usage.Reset(c.Request.Context(), cons.Name, s.opts.Usage.CurrentPeriod(period).ID); err != nil {
		s.failUsage(c, err)
		return
	}
	s.answerUsage(c, cons, period, http.StatusOK)
}

// failUsage answers a top-up or reset that did not happen.
func (s *Server) failUsage(c *gin.Context, err error) {
	if errors.Is(err, usage.ErrUnavailable) {
		s.fail(c, newError(http.StatusServiceUnavailable, codeUsageUnavailable,
			"the usage counters live in Redis, which cannot take the change now ("+err.Error()+"); nothing was changed — check Settings → Redis and retry"))
		return
	}
	s.fail(c, err)
}
