package pluginapi

import "context"

type routeKey struct{}

// WithRoute returns ctx carrying the name of the route (or "mount/<name>"
// for an MCP server) that serves the request. The gateway sets it before a
// plugin chain runs.
func WithRoute(ctx context.Context, route string) context.Context {
	return context.WithValue(ctx, routeKey{}, route)
}

// RouteFromContext returns the route set by WithRoute, so that an instance
// attached globally or per domain can still tell routes apart.
func RouteFromContext(ctx context.Context) (string, bool) {
	r, ok := ctx.Value(routeKey{}).(string)
	return r, ok && r != ""
}
