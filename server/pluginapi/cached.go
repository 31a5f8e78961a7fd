package pluginapi

import (
	"context"
	"net/http"
)

// CachedAnswer is an answer a plugin keeps for a request (ai-cache). The
// plugin does not answer with it where it runs: it passes the request on
// with the answer (WithCachedAnswer), and what would call the upstream
// serves it instead: ai-proxy once it has chosen the AI route and admitted
// the caller, the gateway in place of a route's service. So a cached
// answer reaches exactly the callers an upstream's answer would, whatever
// the plugins in between decide (allowed consumers, model routing).
type CachedAnswer struct {
	serve  func(http.ResponseWriter)
	served bool
}

type cachedAnswerKey struct{}

// WithCachedAnswer returns ctx carrying an answer that serve writes.
func WithCachedAnswer(ctx context.Context, serve func(http.ResponseWriter)) (context.Context, *CachedAnswer) {
	a := &CachedAnswer{serve: serve}
	return context.WithValue(ctx, cachedAnswerKey{}, a), a
}

// CachedAnswerFrom returns the answer set by WithCachedAnswer that is not
// served yet, nil without one.
func CachedAnswerFrom(ctx context.Context) *CachedAnswer {
	a, _ := ctx.Value(cachedAnswerKey{}).(*CachedAnswer)
	if a == nil || a.served {
		return nil
	}
	return a
}

// Serve answers the request with the cached answer, once.
func (a *CachedAnswer) Serve(w http.ResponseWriter) {
	if a.served {
		return
	}
	a.served = true
	a.serve(w)
}

// Served reports whether Serve ran: false when a plugin after the one that
// found the answer refused the request, or nothing served its path.
func (a *CachedAnswer) Served() bool { return a.served }
