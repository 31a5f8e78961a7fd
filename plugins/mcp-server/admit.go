package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/front"
)

// admitSession decides whether the client of r may open one more session
// (initialize, or a legacy SSE stream): at most sessions.max held by this
// instance, at most sessions.initializePerMinute new ones per client
// address. When it may not, it answers (503 or 429, a JSON-RPC error with
// Retry-After) and returns false. On true the caller must call done once
// the session is registered or has failed.
func (in *instance) admitSession(w http.ResponseWriter, r *http.Request, rpcID json.RawMessage) (done func(), ok bool) {
	limits := in.def.Limits()
	in.mu.Lock()
	held := len(in.sessions)
	in.mu.Unlock()
	if pending := in.initializing.Add(1); held+int(pending) > limits.Max {
		in.initializing.Add(-1)
		in.metrics.rejected.WithLabelValues(in.name, "sessions_full").Inc()
		in.logger.Warn("session refused: the server holds the most sessions it keeps", "sessions", held, "max", limits.Max)
		w.Header().Set("Retry-After", "30")
		front.WriteError(w, http.StatusServiceUnavailable, rpcID, front.CodeUnavailable,
			fmt.Sprintf("MCP server %q holds %d sessions, the most it keeps (sessions.max); retry later, end unused sessions with DELETE, or raise sessions.max", in.name, limits.Max))
		return nil, false
	}
	addr := front.ClientAddress(r)
	d, err := in.initLimiter.Allow(r.Context(), in.name, "initialize@"+addr)
	if err == nil && !d.Allowed {
		in.initializing.Add(-1)
		in.metrics.rejected.WithLabelValues(in.name, "initialize_rate").Inc()
		secs := int(d.RetryAfter.Seconds()) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		front.WriteError(w, http.StatusTooManyRequests, rpcID, front.CodeRateLimited,
			fmt.Sprintf("too many new sessions from %s: at most %d per minute (sessions.initializePerMinute); retry in %d s or reuse a session", addr, d.Limit, secs))
		return nil, false
	}
	return func() { in.initializing.Add(-1) }, true
}
