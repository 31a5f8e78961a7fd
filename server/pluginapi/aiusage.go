package pluginapi

import (
	"context"
	"sync"
)

// AIUsage is the token usage of one AI answer as the terminal AI plugin
// (ai-proxy) counted it, exact for streams.
type AIUsage struct {
	// Provider is the id of the provider that answered.
	Provider string
	// RequestedModel is the model the client asked for; Model is the one
	// the provider was asked for after mapping.
	RequestedModel string
	Model          string
	// InputTokens includes CachedInputTokens.
	InputTokens       int64
	OutputTokens      int64
	CachedInputTokens int64
	// FromCache says that ai-cache answered: no provider was called. Its
	// tokens are the stored answer's when ai-cache's hitsCountUsage is on,
	// else zero: the answer cost nothing.
	FromCache bool
}

// AIUsageRecorder receives the usage of the answer to one request. A plugin
// that needs it (a token limit settling a reservation, a budget, a cache)
// creates one with WithAIUsageRecorder before calling next and reads it
// after next returned, which for a stream is after its last byte.
// It is safe for concurrent use.
type AIUsageRecorder struct {
	parent *AIUsageRecorder
	mu     sync.Mutex
	usage  AIUsage
	known  bool
}

type aiUsageKey struct{}

// WithAIUsageRecorder returns ctx carrying a new recorder. Recorders nest:
// usage recorded for the request reaches every recorder of the chain.
func WithAIUsageRecorder(ctx context.Context) (context.Context, *AIUsageRecorder) {
	parent, _ := ctx.Value(aiUsageKey{}).(*AIUsageRecorder)
	r := &AIUsageRecorder{parent: parent}
	return context.WithValue(ctx, aiUsageKey{}, r), r
}

// RecordAIUsage gives u to every recorder in ctx. The terminal AI plugin
// calls it once per answer whose usage it knows; without a recorder it
// does nothing.
func RecordAIUsage(ctx context.Context, u AIUsage) {
	for r, _ := ctx.Value(aiUsageKey{}).(*AIUsageRecorder); r != nil; r = r.parent {
		r.mu.Lock()
		r.usage, r.known = u, true
		r.mu.Unlock()
	}
}

// Usage returns the recorded usage, and false when none was recorded (the
// request failed before an answer, or the provider did not report usage).
func (r *AIUsageRecorder) Usage() (AIUsage, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.usage, r.known
}
