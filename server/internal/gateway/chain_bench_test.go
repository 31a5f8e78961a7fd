package gateway

import (
	"context"
	"net/http"
	"testing"

	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkPluginChain measures what the gateway adds per request in front
// of a final handler: match, a chain of two global and one domain-scoped
// plugin instance (each passing the request on), metrics.
// The mount's handler answers without I/O, so the figure is the gateway's
// own cost.
func BenchmarkPluginChain(b *testing.B) {
	pass := func(_ string, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { next.ServeHTTP(w, r) })
	}
	plugins := pluginSet{"p": &fakePlugin{info: infoOf("p", "traffic", 0), handler: pass}}
	opts := plugins.options()
	opts.Mounts = []Mount{{Name: "m", PathPrefix: "/mcp", Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	})}}
	snap := spec.Snapshot{PluginInstances: []spec.PluginInstance{
		inst("g", "p", spec.ScopeGlobal, ""),
		inst("d", "p", spec.ScopeDomain, "*.example.com"),
		inst("g2", "p", spec.ScopeGlobal, ""),
	}}
	tbl, err := Compile(context.Background(), snap, opts)
	if err != nil {
		b.Fatal(err)
	}
	gw := New(nil, nil)
	defer gw.Close()
	gw.Swap(tbl)
	for _, host := range []string{"api.example.com", "plain.test"} {
		b.Run(host, func(b *testing.B) {
			req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/mcp/tools", nil)
			req.RemoteAddr = "127.0.0.1:40000"
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				gw.ServeHTTP(w, req)
			}
		})
	}
}
