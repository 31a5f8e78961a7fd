package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// UsageRow is what a consumer spent in one period (the usage package rolls
// it up from Redis): the totals (Model "") or one model's share.
//
// Generation counts the resets of the period: a row is only ever replaced
// by values of the same generation that are not smaller, or by values of a
// newer generation, so that the database never goes back (a slower
// instance's older rollup) and a reset is not undone by a rollup that read
// the counters before it.
type UsageRow struct {
	Consumer     string
	PeriodID     string
	Model        string
	Generation   int64
	InputTokens  int64
	OutputTokens int64
	CachedTokens int64
	Tokens       int64
	Micros       int64
	Requests     int64
	TopUpTokens  int64
	TopUpMicros  int64
	UpdatedAt    time.Time
}

type usageRow struct {
	Consumer     string `gorm:"primaryKey;size:128"`
	PeriodID     string `gorm:"primaryKey;size:16;index"`
	Model        string `gorm:"primaryKey;size:160"`
	Generation   int64  `gorm:"not null;default:0"`
	InputTokens  int64  `gorm:"not null;default:0"`
	OutputTokens int64  `gorm:"not null;default:0"`
	CachedTokens int64  `gorm:"not null;default:0"`
	Tokens       int64  `gorm:"not null;default:0"`
	Micros       int64  `gorm:"not null;default:0"`
	Requests     int64  `gorm:"not null;default:0"`
	TopUpTokens  int64  `gorm:"column:topup_tokens;not null;default:0"`
	TopUpMicros  int64  `gorm:"column:topup_micros;not null;default:0"`
	UpdatedAt    time.Time
}

func (usageRow) TableName() string { return "consumer_usage" }

// usageCounters are the columns a rollup replaces, in the order the
// upsert assigns them; generation is assigned after them (MySQL evaluates
// its assignments left to right, seeing the values already assigned).
var usageCounters = []string{"input_tokens", "output_tokens", "cached_tokens", "tokens", "micros", "requests", "topup_tokens", "topup_micros"}

// WriteUsage stores rows in one transaction. A stored row of the same
// consumer, period and model keeps, per counter, the larger of its value
// and the new one when the generations are equal, its own values when its
// generation is newer, and takes the new values when theirs is newer.
// Several instances may write at once.
func (s *Store) WriteUsage(ctx context.Context, rows []UsageRow) error {
	if len(rows) == 0 {
		return nil
	}
	now := time.Now().UTC()
	recs := make([]usageRow, len(rows))
	for i, r := range rows {
		recs[i] = usageRow{Consumer: r.Consumer, PeriodID: r.PeriodID, Model: r.Model, Generation: r.Generation,
			InputTokens: r.InputTokens, OutputTokens: r.OutputTokens, CachedTokens: r.CachedTokens, Tokens: r.Tokens,
			Micros: r.Micros, Requests: r.Requests, TopUpTokens: r.TopUpTokens, TopUpMicros: r.TopUpMicros, UpdatedAt: now}
	}
	table := usageRow{}.TableName()
	newer := func(col string) string { return s.excluded(col) }
	set := make([]clause.Assignment, 0, len(usageCounters)+2)
	for _, col := range usageCounters {
		set = append(set, clause.Assignment{Column: clause.Column{Name: col}, Value: gorm.Expr(fmt.Sprintf(
			"CASE WHEN %[1]s > %[2]s.generation THEN %[3]s WHEN %[1]s = %[2]s.generation THEN %[4]s ELSE %[2]s.%[5]s END",
			newer("generation"), table, newer(col), s.greatest(table+"."+col, newer(col)), col))})
	}
	set = append(set,
		clause.Assignment{Column: clause.Column{Name: "updated_at"}, Value: gorm.Expr(newer("updated_at"))},
		clause.Assignment{Column: clause.Column{Name: "generation"}, Value: gorm.Expr(s.greatest(table+".generation", newer("generation")))})
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "consumer"}, {Name: "period_id"}, {Name: "model"}},
			DoUpdates: set,
		}).CreateInBatches(recs, 500).Error
	})
}

// excluded names the value an upsert tried to insert into col.
func (s *Store) excluded(col string) string {
	if s.driver == "mysql" {
		return "VALUES(" + col + ")"
	}
	return "excluded." + col
}

// greatest is the SQL of the larger of a and b.
func (s *Store) greatest(a, b string) string {
	if s.driver == "sqlite" {
		return "MAX(" + a + ", " + b + ")"
	}
	return "GREATEST(" + a + ", " + b + ")"
}

// UsageOfPeriods returns the rows of the periods periodIDs, every
// consumer's, ordered by consumer and model.
func (s *Store) UsageOfPeriods(ctx context.Context, periodIDs ...string) ([]UsageRow, error) {
	var recs []usageRow
	if err := s.db.WithContext(ctx).Where("period_id IN ?", periodIDs).Order("consumer, period_id, model").Find(&recs).Error; err != nil {
		return nil, err
	}
	return usageRows(recs), nil
}

// ConsumerUsage returns consumer's rows of period periodID, the totals
// (model "") first.
func (s *Store) ConsumerUsage(ctx context.Context, consumer, periodID string) ([]UsageRow, error) {
	var recs []usageRow
	if err := s.db.WithContext(ctx).Where("consumer = ? AND period_id = ?", consumer, periodID).Order("model").Find(&recs).Error; err != nil {
		return nil, err
	}
	return usageRows(recs), nil
}

// ResetUsage zeroes consumer's rows of period periodID that are older
// than generation, and records generation in the totals row.
func (s *Store) ResetUsage(ctx context.Context, consumer, periodID string, generation int64) error {
	zero := map[string]any{"generation": generation, "updated_at": time.Now().UTC()}
	for _, col := range usageCounters {
		zero[col] = 0
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Model(&usageRow{}).Where("consumer = ? AND period_id = ? AND generation < ?", consumer, periodID, generation).
			Updates(zero).Error
		if err != nil {
			return err
		}
		return tx.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&usageRow{Consumer: consumer, PeriodID: periodID, Generation: generation, UpdatedAt: time.Now().UTC()}).Error
	})
}

func usageRows(recs []usageRow) []UsageRow {
	out := make([]UsageRow, len(recs))
	for i, r := range recs {
		out[i] = UsageRow{Consumer: r.Consumer, PeriodID: r.PeriodID, Model: r.Model, Generation: r.Generation,
			InputTokens: r.InputTokens, OutputTokens: r.OutputTokens, CachedTokens: r.CachedTokens, Tokens: r.Tokens,
			Micros: r.Micros, Requests: r.Requests, TopUpTokens: r.TopUpTokens, TopUpMicros: r.TopUpMicros, UpdatedAt: r.UpdatedAt}
	}
	return out
}
