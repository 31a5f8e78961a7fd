package promreg

import "sync"

// Other is the label value that stands for every value past a Bounded's
// limits.
const Other = "other"

// Bounded keeps the values that a client's input gives one label (a model
// name, a tool name) to a bounded set: the first Max distinct values of
// at most MaxLen bytes are kept, every other value is counted as Other.
// Without it a client sending random names would add a time series per
// request, without end, to the process's memory and to every scrape. A
// plugin keeps one per label for the process (package state, as the
// collectors it guards are the process's). Safe for concurrent use.
type Bounded struct {
	max, maxLen int
	mu          sync.RWMutex
	seen        map[string]struct{}
}

// NewBounded returns a Bounded keeping up to max values of up to maxLen
// bytes.
func NewBounded(max, maxLen int) *Bounded {
	return &Bounded{max: max, maxLen: maxLen, seen: make(map[string]struct{})}
}

// Known returns v when it is already kept, else Other: for values a
// failed request brings (an unknown model, a tool that does not exist),
// which must not take the places of the values that work.
func (b *Bounded) Known(v string) string {
	b.mu.RLock()
	_, ok := b.seen[v]
	b.mu.RUnlock()
	if ok {
		return v
	}
	return Other
}

// Of returns v when it is kept or can still be kept, else Other.
func (b *Bounded) Of(v string) string {
	if len(v) > b.maxLen {
		return Other
	}
	b.mu.RLock()
	_, ok := b.seen[v]
	n := len(b.seen)
	b.mu.RUnlock()
	if ok {
		return v
	}
	if n >= b.max {
		return Other
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.seen[v]; ok {
		return v
	}
	if len(b.seen) >= b.max {
		return Other
	}
	b.seen[v] = struct{}{}
	return v
}
