package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/clientip"
	"github.com/gatehouse-dev/gatehouse/server/internal/h1server"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

// rawBackend is an upstream that records the bytes of every request it
// reads and answers each with the raw bytes answers gives for its path.
type rawBackend struct {
	ln      net.Listener
	answers func(path string) string
	mu      sync.Mutex
	seen    []string
}

func newRawBackend(t testing.TB, answers func(path string) string) *rawBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	b := &rawBackend{ln: ln, answers: answers}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				b.serve(c)
			}()
		}
	}()
	return b
}

// recorder keeps what is read through it.
type recorder struct {
	r   io.Reader
	buf bytes.Buffer
}

func (rec *recorder) Read(p []byte) (int, error) {
	n, err := rec.r.Read(p)
	rec.buf.Write(p[:n])
	return n, err
}

func (b *rawBackend) serve(c net.Conn) {
	rec := &recorder{r: c}
	br := bufio.NewReader(rec)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		raw := rec.buf.Bytes()[:rec.buf.Len()-br.Buffered()]
		b.mu.Lock()
		b.seen = append(b.seen, string(raw))
		b.mu.Unlock()
		rest := append([]byte(nil), rec.buf.Bytes()[len(raw):]...)
		rec.buf.Reset()
		rec.buf.Write(rest)
		answer := b.answers(req.URL.Path)
		if _, err := io.WriteString(c, answer); err != nil || strings.Contains(answer, "Connection: close\r\n") {
			return
		}
	}
}

// take returns the requests seen since the last take.
func (b *rawBackend) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.seen
	b.seen = nil
	return s
}

// exchangeRaw sends one raw request on a new connection to addr and
// returns the raw bytes of the answers (interim ones included) up to the
// end of the final one.
func exchangeRaw(t *testing.T, addr, request string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, request)
	require.NoError(t, err)
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(request)))
	require.NoError(t, err)
	rec := &recorder{r: c}
	br := bufio.NewReader(rec)
	for {
		resp, err := http.ReadResponse(br, req)
		require.NoError(t, err, "answer so far: %q", rec.buf.String())
		_, err = io.Copy(io.Discard, resp.Body)
		require.NoError(t, err)
		if resp.StatusCode >= 200 {
			return string(rec.buf.Bytes()[:rec.buf.Len()-br.Buffered()])
		}
	}
}

var (
	dateLine    = regexp.MustCompile(`(?m)^Date: [^\r]*\r\n`)
	generatedID = regexp.MustCompile(`(?m)^X-Request-Id: [0-9a-f]{32}\r\n`)
)

// maskIDs replaces generated request ids in raw heads.
func maskIDs(raw []string) []string {
	for i, r := range raw {
		raw[i] = generatedID.ReplaceAllString(r, "X-Request-Id: (generated)\r\n")
	}
	return raw
}

// normalAnswer is a raw answer without its Date lines and with the lines
// of each head sorted: the fast engine writes headers in map order.
func normalAnswer(raw string) string {
	raw = dateLine.ReplaceAllString(raw, "")
	raw = generatedID.ReplaceAllString(raw, "X-Request-Id: (generated)\r\n")
	var out strings.Builder
	for {
		end := strings.Index(raw, "\r\n\r\n")
		if end < 0 {
			return out.String() + raw
		}
		lines := strings.Split(raw[:end], "\r\n")
		slices.Sort(lines[1:])
		out.WriteString(strings.Join(lines, "\r\n") + "\r\n\r\n")
		raw = raw[end+4:]
		if !strings.HasPrefix(lines[0], "HTTP/1.1 1") {
			return out.String() + raw
		}
	}
}

// The common case's lean forward makes the same upstream request and
// gives the client the same bytes as httputil.ReverseProxy, behind both
// gateway engines: hop-by-hop headers both ways, forwarding headers,
// bodies, HEAD, 1xx, 204/304, trailers, streams, close-delimited answers,
// upstream errors and an unreachable service.
func TestForwardMatchesReverseProxy(t *testing.T) {
	answers := map[string]string{
		"/plain": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n" +
			"Connection: X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nX-Request-Id: upstream-id\r\nX-Kept: yes\r\n\r\nhello",
		"/nolength-type": "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n<html></html",
		"/chunked-trailer": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 11\r\n\r\n",
		"/chunked-unannounced": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Late: 1\r\n\r\n",
		"/sse":                 "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nContent-Length: 18\r\n\r\ndata: one\n\ndata: 2\n",
		"/no-content":          "HTTP/1.1 204 No Content\r\nX-Kept: yes\r\n\r\n",
		"/not-modified":        "HTTP/1.1 304 Not Modified\r\nEtag: \"v1\"\r\n\r\n",
		"/early-hints":         "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"/server-error":        "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
		"/bad-gateway":         "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad",
		"/until-close":         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nread until the end",
		"/close-header":        "HTTP/1.1 200 OK\r\nConnection: close\r\nClose: upstream\r\nContent-Length: 2\r\n\r\nok",
		"/head":                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 42\r\n\r\n",
		"/lower":               "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-LENGTH: 2\r\nx-request-id: up\r\nx-two: 1\r\nX-Two: 2\r\n\r\nok",
		"/http10":              "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"/http10-close-header": "HTTP/1.0 200 OK\r\nConnection: close\r\nClose: upstream\r\nContent-Length: 2\r\n\r\nok",
		"/pragma":              "HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 2\r\n\r\nok",
		"/unknown-status":      "HTTP/1.1 299 Whatever\r\nContent-Length: 0\r\n\r\n",
		"/not-found":           "HTTP/1.1 404 Nope\r\nDate: Tue, 01 Dec 2026 10:00:00 GMT\r\nContent-Length: 0\r\n\r\n",
		"/no-content-length":   "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
		"/big":                 "HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n" + strings.Repeat("b", 20000),
	}
	be := newRawBackend(t, func(path string) string {
		if a, ok := answers[path]; ok {
			return a
		}
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	})
	snap := spec.Snapshot{
		Services: []spec.Service{svc("s", "http://"+be.ln.Addr().String()), svc("down", closedURL(t)),
			svc("based", "http://"+be.ln.Addr().String()+"/base/")},
		Routes: []spec.Route{prefixRoute("down", "/down", "down"), prefixRoute("based", "/based", "based"), prefixRoute("r", "/", "s")},
	}
	const id = "X-Request-Id: fixed\r\n"
	requests := []string{
		"GET /plain?x=1&y=%20 HTTP/1.1\r\nHost: a.example\r\nAccept: */*\r\nAccept-Encoding: gzip\r\nCookie: c=1\r\nX-Multi: 1\r\nX-Multi: 2\r\n" + id + "\r\n",
		"GET /plain HTTP/1.1\r\nHost: a.example\r\nConnection: keep-alive\r\nX-Forwarded-For: 10.0.0.1\r\nForwarded: for=10.0.0.1\r\nX-Forwarded-Host: evil\r\nX-Forwarded-Proto: https\r\nX-Gatehouse-Consumer: forged\r\n" + id + "\r\n",
		"GET /plain HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\nUser-Agent: curl/8\r\n" + id + "\r\n",
		"GET /plain HTTP/1.1\r\nHost: a.example\r\nConnection: X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\nProxy-Authorization: Basic eA==\r\n" + id + "\r\n",
		"GET /plain HTTP/1.1\r\nHost: a.example\r\nTe: trailers\r\n" + id + "\r\n",
		"GET /plain HTTP/1.1\r\nHost: a.example\r\nConnection: Keep-Alive, close\r\nClose: yes\r\nX-Kept: 1\r\n" + id + "\r\n",
		"GET /plain HTTP/1.1\r\nHost: a.example\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n" + id + "\r\n",
		"GET /plain HTTP/1.1\r\nHost: a.example\r\nUser-Agent:\r\n" + id + "\r\n",
		"GET /plain?a=1;b=2 HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /a%2Fb/c%20d/../e HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"POST /plain HTTP/1.1\r\nHost: a.example\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n" + id + "\r\nhello world",
		"POST /plain HTTP/1.1\r\nHost: a.example\r\nContent-Length: 0\r\n" + id + "\r\n",
		"PUT /plain HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n" + id + "\r\n4\r\nbody\r\n0\r\n\r\n",
		"DELETE /plain HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"HEAD /head HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /nolength-type HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /chunked-trailer HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /chunked-unannounced HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /sse HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /no-content HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /not-modified HTTP/1.1\r\nHost: a.example\r\nIf-None-Match: \"v1\"\r\n" + id + "\r\n",
		"GET /early-hints HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /server-error HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /bad-gateway HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /until-close HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /close-header HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /down/x HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /lower HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /http10 HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /http10-close-header HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /pragma HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /unknown-status HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /not-found HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /no-content-length HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /big HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		// Without a request id (generated), with one too long, with two.
		"GET /plain HTTP/1.1\r\nHost: a.example\r\nuser-agent: x\r\nx-lower: 1\r\n\r\n",
		"HEAD /head HTTP/1.1\r\nHost: a.example\r\n\r\n",
		"GET /plain HTTP/1.1\r\nHost: a.example\r\nX-Request-Id: " + strings.Repeat("i", 129) + "\r\n\r\n",
		"GET /plain HTTP/1.1\r\nHost: a.example\r\nX-Request-Id: first\r\nX-Request-Id: second\r\n\r\n",
		"GET /plain? HTTP/1.1\r\nHost: a.example:8080\r\n" + id + "\r\n",
		"OPTIONS /plain HTTP/1.1\r\nHost: a.example\r\nIdempotency-Key: k1\r\n" + id + "\r\n",
		"PATCH /plain HTTP/1.1\r\nHost: a.example\r\nX-Gatehouse-Allow-Tools: a,b\r\nX-Gatehouse-Route: forged\r\n" + id + "\r\n",
		// A service whose endpoint has a base path.
		"GET /based/x?y=1 HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		"GET /based/a%2Fb%20c HTTP/1.1\r\nHost: a.example\r\n" + id + "\r\n",
		// Forwarding chains, believed only from a trusted proxy.
		"GET /plain HTTP/1.1\r\nHost: a.example\r\nX-Forwarded-For: 203.0.113.9, 127.0.0.5\r\nX-Forwarded-For: 127.0.0.6\r\nX-Real-Ip: 198.51.100.1\r\n" + id + "\r\n",
		"GET /plain HTTP/1.1\r\nHost: a.example\r\nX-Real-Ip: 198.51.100.1\r\nX-Real-Ip: 198.51.100.2\r\n" + id + "\r\n",
		"GET /plain HTTP/1.1\r\nHost: a.example\r\nX-Forwarded-For:\r\nForwarded: for=192.0.2.60\r\n" + id + "\r\n",
		"GET /plain HTTP/1.1\r\nHost: a.example\r\nX-Forwarded-For: garbage, 127.0.0.7\r\n" + id + "\r\n",
	}

	loopbackTrusted, err := clientip.Parse("127.0.0.0/8, ::1")
	require.NoError(t, err)
	for _, engine := range []string{"std", "fast", "direct", "direct behind a trusted proxy"} {
		t.Run(engine, func(t *testing.T) {
			setup := func(*Gateway) {}
			if strings.HasSuffix(engine, "behind a trusted proxy") {
				// The test's client is then a proxy whose forwarding
				// headers count.
				engine = "direct"
				setup = func(g *Gateway) { g.TrustProxies(loopbackTrusted) }
			}
			lean, reg := serveGateway(t, engine, snap, CompileOptions{}, setup)
			reverse, _ := serveGateway(t, engine, snap, CompileOptions{reverseProxyOnly: true}, setup)
			for _, request := range requests {
				line := request[:strings.Index(request, "\r\n")]
				wantAnswer := normalAnswer(exchangeRaw(t, reverse, request))
				wantUp := maskIDs(be.take())
				gotAnswer := normalAnswer(exchangeRaw(t, lean, request))
				gotUp := maskIDs(be.take())
				require.Equal(t, wantAnswer, gotAnswer, "%s: the client's answer", line)
				require.Equal(t, wantUp, gotUp, "%s: what the upstream received", line)
				if !strings.HasPrefix(line, "GET /down") {
					require.Len(t, gotUp, 1, "%s: one upstream request", line)
				}
			}
			if engine == "direct" {
				// All but those with a body (2), ';' in the query or '..'
				// in the path (2), and those the engine's parser hands to
				// net/http (Te, Connection naming a header or a list: 3).
				require.Equal(t, float64(len(requests)-7), metricValue(t, reg, "gatehouse_gateway_direct_requests_total", nil),
					"requests the direct path took")
			}
		})
	}
}

// serveGateway serves a gateway with snap's table on a loopback port with
// the engine ("std": net/http, "fast": h1server, "direct": h1server with
// Gateway.ServeDirect) and returns its address.
func serveGateway(t testing.TB, engine string, snap spec.Snapshot, opts CompileOptions, setup ...func(*Gateway)) (string, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	gw := New(slog.New(slog.DiscardHandler), reg)
	for _, f := range setup {
		f(gw)
	}
	tbl, err := Compile(context.Background(), snap, opts)
	require.NoError(t, err)
	gw.Swap(tbl)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	std := &http.Server{Handler: gw, ReadHeaderTimeout: 5 * time.Second}
	var serve func(net.Listener) error
	var shutdown func(context.Context) error
	if engine == "fast" || engine == "direct" {
		s := &h1server.Server{Std: std}
		if engine == "direct" {
			s.Direct = gw
		}
		serve, shutdown = s.Serve, s.Shutdown
	} else {
		serve, shutdown = std.Serve, std.Shutdown
	}
	done := make(chan error, 1)
	go func() { done <- serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdown(ctx)
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
		gw.Close()
	})
	return ln.Addr().String(), reg
}

// A stream's head reaches the client at once, before the upstream sends
// any of its body (an SSE stream that waits for its first event).
func TestForwardSendsAStreamsHeadAtOnce(t *testing.T) {
	for _, engine := range []string{"std", "fast"} {
		t.Run(engine, func(t *testing.T) {
			release := make(chan struct{})
			be := newBackend(t, "stream", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.WriteHeader(http.StatusOK)
				w.(http.Flusher).Flush()
				select {
				case <-release:
				case <-r.Context().Done():
				}
			})
			snap := spec.Snapshot{Services: []spec.Service{svc("s", be.URL)}, Routes: []spec.Route{prefixRoute("r", "/", "s")}}
			addr, _ := serveGateway(t, engine, snap, CompileOptions{})
			t.Cleanup(func() { close(release) }) // before the gateway's shutdown
			c := &http.Client{Timeout: 5 * time.Second}
			resp, err := c.Get("http://" + addr + "/events")
			require.NoError(t, err, "the head did not arrive while the upstream waited")
			defer resp.Body.Close()
			require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
		})
	}
}
