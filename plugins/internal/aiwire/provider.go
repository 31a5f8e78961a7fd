package aiwire

import "context"

type providerKey struct{}

// WithProvider returns ctx naming the provider a model router took from
// the request's model ("openai" of "openai/gpt-4o"). ai-proxy then serves
// the request only with its upstreams of that provider (matched by id,
// else by type), and a route without one passes the request on. A client
// cannot set it with a header: only a plugin of the chain can.
func WithProvider(ctx context.Context, provider string) context.Context {
	return context.WithValue(ctx, providerKey{}, provider)
}

// ProviderFrom returns the provider set by WithProvider.
func ProviderFrom(ctx context.Context) (string, bool) {
	p, ok := ctx.Value(providerKey{}).(string)
	return p, ok && p != ""
}
