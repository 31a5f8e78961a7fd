package store

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUsageNeverGoesBackExceptByAReset(t *testing.T) {
	ctx := context.Background()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			row := func(gen, tokens, topUp int64) UsageRow {
				return UsageRow{Consumer: "team-a", PeriodID: "m2026-12", Generation: gen, Tokens: tokens, InputTokens: tokens, TopUpMicros: topUp}
			}
			stored := func() UsageRow {
				t.Helper()
				rows, err := s.ConsumerUsage(ctx, "team-a", "m2026-12")
				require.NoError(t, err)
				require.Len(t, rows, 1)
				rows[0].UpdatedAt = rows[0].UpdatedAt.UTC()
				return rows[0]
			}
			require.NoError(t, s.WriteUsage(ctx, []UsageRow{row(0, 100, 5)}))
			require.NoError(t, s.WriteUsage(ctx, []UsageRow{row(0, 90, 7)}), "a slower instance's older rollup")
			got := stored()
			require.EqualValues(t, 100, got.Tokens, "the larger value stays")
			require.EqualValues(t, 7, got.TopUpMicros, "per counter")

			require.NoError(t, s.ResetUsage(ctx, "team-a", "m2026-12", 1))
			got = stored()
			require.Zero(t, got.Tokens+got.InputTokens+got.TopUpMicros)
			require.EqualValues(t, 1, got.Generation)

			require.NoError(t, s.WriteUsage(ctx, []UsageRow{row(0, 120, 7)}), "a rollup that read before the reset")
			require.Zero(t, stored().Tokens, "cannot undo the reset")
			require.NoError(t, s.WriteUsage(ctx, []UsageRow{row(1, 3, 0)}))
			require.EqualValues(t, 3, stored().Tokens)
			require.NoError(t, s.WriteUsage(ctx, []UsageRow{row(2, 1, 0)}), "a newer generation replaces")
			got = stored()
			require.EqualValues(t, 1, got.Tokens)
			require.EqualValues(t, 2, got.Generation)
		})
	}
}
