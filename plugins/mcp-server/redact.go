package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/restmcp"
)

// The credentials an mcp-proxy upstream URL may carry (userinfo, api_key=…)
// must not reach logs, the health the admin API shows, or clients: the Go
// HTTP client and the SDK quote the URL they failed to reach in their
// errors. The instance's logger, noteError and the errors of proxied calls
// replace them by restmcp.Mask.

// redactingHandler masks credentials in every log record before its
// handler sees it.
type redactingHandler struct {
	h slog.Handler
	r *restmcp.Redactor
}

func (h redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.h.Enabled(ctx, l)
}

func (h redactingHandler) Handle(ctx context.Context, r slog.Record) error {
	nr := slog.NewRecord(r.Time, r.Level, h.r.Redact(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		nr.AddAttrs(h.attr(a))
		return true
	})
	return h.h.Handle(ctx, nr)
}

func (h redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = h.attr(a)
	}
	return redactingHandler{h: h.h.WithAttrs(out), r: h.r}
}

func (h redactingHandler) WithGroup(name string) slog.Handler {
	return redactingHandler{h: h.h.WithGroup(name), r: h.r}
}

func (h redactingHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.Redact(v.String()))
	case slog.KindGroup:
		group := v.Group()
		out := make([]slog.Attr, len(group))
		for i, g := range group {
			out[i] = h.attr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		// Errors and other values are logged as text: mask that text.
		s := fmt.Sprint(v.Any())
		if red := h.r.Redact(s); red != s {
			return slog.String(a.Key, red)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
