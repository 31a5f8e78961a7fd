package pluginapi

import (
	"context"
	"testing"
)

func TestAIUsageReachesEveryRecorderOfTheChain(t *testing.T) {
	ctx, outer := WithAIUsageRecorder(context.Background())
	ctx, inner := WithAIUsageRecorder(ctx)
	if _, ok := outer.Usage(); ok {
		t.Fatal("usage known before any was recorded")
	}
	RecordAIUsage(ctx, AIUsage{Model: "m", InputTokens: 7, OutputTokens: 3})
	for name, r := range map[string]*AIUsageRecorder{"outer": outer, "inner": inner} {
		u, ok := r.Usage()
		if !ok || u.InputTokens != 7 || u.OutputTokens != 3 || u.Model != "m" {
			t.Errorf("%s recorder: %+v %v", name, u, ok)
		}
	}
	RecordAIUsage(context.Background(), AIUsage{InputTokens: 1}) // no recorder: no panic
}
