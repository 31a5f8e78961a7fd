package usage

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// BenchmarkRollup10kConsumers times one rollup of 10,000 consumers that
// each spent on two models since the last one (issue #14's target: ≤ 1 s),
// on a real redis-server and a real SQLite database. Each iteration marks
// every hash dirty again with new figures (not timed) and rolls them up.
//
//	go test -run '^$' -bench BenchmarkRollup10kConsumers -benchtime 5x ./server/internal/usage/
func BenchmarkRollup10kConsumers(b *testing.B) {
	const consumers = 10_000
	ctx := context.Background()
	r := newRig(b)
	u, st := r.instance()
	require.NoError(b, r.client.Set(ctx, pluginapi.UsageEpochKey, "bench", 0).Err())
	spendAll := func(round int64) {
		pipe := r.client.Pipeline()
		for i := range consumers {
			key := pluginapi.UsageKey(fmt.Sprintf("consumer-%05d", i), month)
			for _, model := range []string{"gpt-4o-mini", "claude-sonnet-4"} {
				pipe.HIncrBy(ctx, key, pluginapi.UsageModelField(model, "in"), 100+round)
				pipe.HIncrBy(ctx, key, pluginapi.UsageModelField(model, "out"), 50)
				pipe.HIncrBy(ctx, key, pluginapi.UsageModelField(model, "micros"), 900)
				pipe.HIncrBy(ctx, key, pluginapi.UsageModelField(model, "req"), 1)
			}
			pipe.HIncrBy(ctx, key, pluginapi.UsageTokens, 300+2*round)
			pipe.HIncrBy(ctx, key, pluginapi.UsageMicros, 1800)
			pipe.HIncrBy(ctx, key, pluginapi.UsageRequests, 2)
			pipe.SAdd(ctx, pluginapi.UsageDirtyKey, key)
			if pipe.Len() >= 10_000 {
				_, err := pipe.Exec(ctx)
				require.NoError(b, err)
			}
		}
		_, err := pipe.Exec(ctx)
		require.NoError(b, err)
	}
	for i := range b.N {
		b.StopTimer()
		spendAll(int64(i))
		b.StartTimer()
		n, err := u.Rollup(ctx)
		require.NoError(b, err)
		require.Equal(b, consumers, n, "every dirty hash was rolled up")
	}
	b.StopTimer()
	row := dbTotals(b, st, "consumer-09999", month)
	require.Equal(b, int64(b.N*2), row.Requests, "the database holds the last figures")
}
