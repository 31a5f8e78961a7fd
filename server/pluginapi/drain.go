package pluginapi

// Drainer is implemented by instances that hold long-lived streams (the
// mcp-server plugin's SSE and Streamable HTTP streams). Drain ends those
// streams cleanly — the current event finishes and the response closes;
// sessions kept in Redis stay there so clients resume on another
// instance — without closing the instance. The host calls it once when
// shutdown begins, then waits for the remaining in-flight requests within
// the shutdown timeout.
type Drainer interface {
	Drain()
}
