package gateway

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

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

// FuzzDirectMatchesForward sends request heads through the fast engine
// with and without the direct path and requires the same upstream
// request and the same answer (dates and generated request ids aside).
// make fuzz runs it for FUZZTIME; go test runs the seeds.
func FuzzDirectMatchesForward(f *testing.F) {
	for _, seed := range []string{
		"GET /plain?x=1&y=%20 HTTP/1.1\r\nHost: a.example\r\nAccept: */*\r\nX-Multi: 1\r\nX-Multi: 2\r\n\r\n",
		"GET /plain HTTP/1.1\r\nHost: a.example\r\nX-Forwarded-For: 10.0.0.1\r\nForwarded: for=10.0.0.1\r\nX-Gatehouse-Consumer: forged\r\nX-Request-Id: r1\r\n\r\n",
		"HEAD /plain HTTP/1.1\r\nHost: a.example:80\r\nUser-Agent: curl/8\r\nConnection: close\r\n\r\n",
		"DELETE /a%2Fb/c HTTP/1.1\r\nHost: a.example\r\nIdempotency-Key: k\r\nX-Real-Ip: 1.2.3.4\r\n\r\n",
		"POST /chunked HTTP/1.1\r\nHost: a.example\r\nContent-Length: 0\r\nuser-agent: x\r\n\r\n",
		"OPTIONS /no-content HTTP/1.1\r\nHost: a.example\r\nConnection: keep-alive\r\nKeep-Alive: 5\r\nClose: x\r\n\r\n",
	} {
		f.Add(seed)
	}
	answers := map[string]string{
		"/plain":      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nSet-Cookie: a=1\r\nConnection: keep-alive\r\nX-Request-Id: up\r\n\r\nhello",
		"/chunked":    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"/no-content": "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
	}
	be := newRawBackend(f, func(path string) string {
		if a, ok := answers[path]; ok {
			return a
		}
		return "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
	})
	snap := spec.Snapshot{Services: []spec.Service{svc("s", "http://"+be.ln.Addr().String())}, Routes: []spec.Route{prefixRoute("r", "/", "s")}}
	fast, _ := serveGateway(f, "fast", snap, CompileOptions{})
	direct, _ := serveGateway(f, "direct", snap, CompileOptions{})
	f.Fuzz(func(t *testing.T, request string) {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(request)))
		if err != nil || req.ContentLength != 0 || len(req.TransferEncoding) > 0 || !strings.HasSuffix(request, "\r\n\r\n") ||
			strings.Count(request, "\r\n\r\n") != 1 || req.Header.Get("Upgrade") != "" || req.Header.Get("Expect") != "" ||
			req.Method == http.MethodConnect {
			t.Skip("not a single request without a body")
		}
		be.take()
		want := exchangeAnswer(t, fast, request)
		wantUp := maskIDs(be.take())
		got := exchangeAnswer(t, direct, request)
		gotUp := maskIDs(be.take())
		require.Equal(t, want, got, "the client's answer")
		require.Equal(t, wantUp, gotUp, "what the upstream received")
	})
}

// exchangeAnswer is exchangeRaw's normalized answer, or what went wrong
// for a request the gateway refused or dropped.
func exchangeAnswer(t *testing.T, addr, request string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(2*time.Second)))
	if _, err := io.WriteString(c, request); err != nil {
		return "write failed"
	}
	req, _ := http.ReadRequest(bufio.NewReader(strings.NewReader(request)))
	rec := &recorder{r: c}
	br := bufio.NewReader(rec)
	for {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return "no answer after " + normalAnswer(rec.buf.String())
		}
		if _, err = io.Copy(io.Discard, resp.Body); err != nil {
			return "body cut: " + normalAnswer(rec.buf.String())
		}
		if resp.StatusCode >= 200 {
			return normalAnswer(string(rec.buf.Bytes()[:rec.buf.Len()-br.Buffered()]))
		}
	}
}

// An answer retried after an endpoint's streamed 503 (one the direct path
// reads through the standard objects) is the only answer the client
// gets: the next request on the connection gets its own.
func TestDirectRetryAfterAStreamedFailure(t *testing.T) {
	busy := newBackend(t, "busy", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "busy")
		w.(http.Flusher).Flush() // chunked: not a plain answer
	})
	good := newBackend(t, "good", nil)
	s := svc("s", busy.URL, good.URL)
	s.Retries = 1
	snap := spec.Snapshot{Services: []spec.Service{s}, Routes: []spec.Route{prefixRoute("r", "/", "s")}}
	for _, engine := range []string{"std", "fast"} {
		t.Run(engine, func(t *testing.T) {
			h := newHarnessOn(t, engine)
			h.apply(snap, CompileOptions{})
			c, err := net.Dial("tcp", h.srv.Listener.Addr().String())
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
			br := bufio.NewReader(c)
			for i := 0; i < 4; i++ {
				_, err := io.WriteString(c, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
				require.NoError(t, err)
				resp, err := http.ReadResponse(br, nil)
				require.NoError(t, err, "request %d", i)
				body, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				require.Equal(t, http.StatusOK, resp.StatusCode, "request %d: %s", i, body)
				var seen seenRequest
				require.NoError(t, json.Unmarshal(body, &seen), "request %d: %s", i, body)
				require.Equal(t, "good", seen.Backend)
			}
		})
	}
}
