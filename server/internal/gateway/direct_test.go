package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/clientip"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

// The direct path routes on the header ServeHTTP routes on, after
// sanitize: a client cannot reach a route by forging X-Forwarded-For,
// X-Real-Ip or an X-Gatehouse-* header, and X-Real-Ip is its own
// address; behind a trusted proxy, the proxy's forwarding headers count.
// The same requests choose the same routes on both engines, and on the
// fast one they were served directly.
func TestDirectRoutesOnTheSanitizedHeader(t *testing.T) {
	be := newBackend(t, "be", nil)
	headerRoute := func(name, key, value string) spec.Route {
		r := prefixRoute(name, "/", "s")
		r.Headers = []spec.HeaderMatch{{Name: key, Value: value}}
		return r
	}
	snap := spec.Snapshot{
		Services: []spec.Service{svc("s", be.URL)},
		Routes: []spec.Route{
			headerRoute("forged-xff", "X-Forwarded-For", "6.6.6.6"),
			headerRoute("forged-forwarded", "Forwarded", "for=6.6.6.6"),
			headerRoute("forged-consumer", "X-Gatehouse-Consumer", "admin"),
			headerRoute("forged-real-ip", "X-Real-Ip", "6.6.6.6"),
			headerRoute("own-real-ip", "X-Real-Ip", "127.0.0.1"),
			headerRoute("env", "X-Env", "prod"),
			prefixRoute("any", "/", "s"),
		},
	}
	requests := []struct {
		header map[string]string
		want   string
	}{
		{map[string]string{"X-Forwarded-For": "6.6.6.6"}, "own-real-ip"},
		{map[string]string{"Forwarded": "for=6.6.6.6"}, "own-real-ip"},
		{map[string]string{"X-Gatehouse-Consumer": "admin"}, "own-real-ip"},
		{map[string]string{"X-Real-Ip": "6.6.6.6"}, "own-real-ip"},
		{map[string]string{"X-Env": "prod"}, "env"}, // "env" and "own-real-ip" match; by name, env first
	}
	// From a trusted proxy, its forwarding headers count.
	trustedRequests := []struct {
		header map[string]string
		want   string
	}{
		{map[string]string{"X-Forwarded-For": "6.6.6.6"}, "forged-real-ip"}, // the client is 6.6.6.6; by name before forged-xff
		{map[string]string{"Forwarded": "for=6.6.6.6"}, "forged-forwarded"},
		{map[string]string{"X-Gatehouse-Consumer": "admin"}, "own-real-ip"},
		{map[string]string{"X-Real-Ip": "6.6.6.6"}, "forged-real-ip"},
	}
	loopback, err := clientip.Parse("127.0.0.0/8")
	require.NoError(t, err)
	for _, engine := range []string{"std", "fast", "std behind a trusted proxy", "fast behind a trusted proxy"} {
		t.Run(engine, func(t *testing.T) {
			engine, trusted := strings.CutSuffix(engine, " behind a trusted proxy")
			h := newHarnessOn(t, engine)
			requests := requests
			if trusted {
				h.gw.TrustProxies(loopback)
				requests = trustedRequests
			}
			h.apply(snap, CompileOptions{})
			for _, rq := range requests {
				before := routeCount(t, h, rq.want)
				r := h.do(http.MethodGet, "", "/x", nil, rq.header)
				require.Equal(t, http.StatusOK, r.status, "%v", rq.header)
				var seen seenRequest
				require.NoError(t, json.Unmarshal([]byte(r.body), &seen))
				require.Empty(t, seen.Header.Get("X-Gatehouse-Consumer"), "%v", rq.header)
				require.Empty(t, seen.Header.Get("Forwarded"), "%v", rq.header)
				if !trusted {
					require.Equal(t, "127.0.0.1", seen.Header.Get("X-Real-Ip"), "%v", rq.header)
					require.Equal(t, "127.0.0.1", seen.Header.Get("X-Forwarded-For"), "%v", rq.header)
				}
				require.Equal(t, before+1, routeCount(t, h, rq.want), "%v: the route chosen", rq.header)
			}
			direct := metricValue(t, h.reg, "gatehouse_gateway_direct_requests_total", nil)
			if engine == "fast" {
				require.Equal(t, float64(len(requests)), direct, "every request took the direct path")
			} else {
				require.Zero(t, direct)
			}
		})
	}
}

// routeCount is the requests counted for route so far, for checks that
// read the counter after each request.
func routeCount(t *testing.T, h *harness, route string) float64 {
	t.Helper()
	return metricValue(t, h.reg, "gatehouse_gateway_requests_total", map[string]string{"route": route})
}

// A generated request id is the same on both sides: the one the upstream
// received is the one the client gets, on both engines; a client's id is
// kept, and one longer than 128 bytes is replaced.
func TestDirectRequestIDs(t *testing.T) {
	be := newBackend(t, "be", nil)
	snap := spec.Snapshot{Services: []spec.Service{svc("s", be.URL)}, Routes: []spec.Route{prefixRoute("r", "/", "s")}}
	for _, engine := range []string{"std", "fast"} {
		t.Run(engine, func(t *testing.T) {
			h := newHarnessOn(t, engine)
			h.apply(snap, CompileOptions{})
			ids := map[string]bool{}
			for _, sent := range []string{"", "", "client-id-1", strings.Repeat("x", 129)} {
				hdr := map[string]string{}
				if sent != "" {
					hdr[RequestIDHeader] = sent
				}
				r := h.do(http.MethodGet, "", "/x", nil, hdr)
				require.Equal(t, http.StatusOK, r.status)
				var seen seenRequest
				require.NoError(t, json.Unmarshal([]byte(r.body), &seen))
				got := r.header.Get(RequestIDHeader)
				require.Equal(t, got, seen.Header.Get(RequestIDHeader), "the upstream's id is the client's")
				require.Len(t, seen.Header.Values(RequestIDHeader), 1)
				if sent != "" && len(sent) <= 128 {
					require.Equal(t, sent, got)
					continue
				}
				require.Regexp(t, "^[0-9a-f]{32}$", got)
				require.False(t, ids[got], "a fresh id per request")
				ids[got] = true
			}
		})
	}
}
