package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/clientip"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

// rawExchange sends payload on a new connection to addr, half-closes it
// when closeWrite, and returns the first response.
func rawExchange(t *testing.T, addr, payload string, closeWrite bool) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, payload)
	require.NoError(t, err)
	if closeWrite {
		require.NoError(t, c.(*net.TCPConn).CloseWrite())
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp, string(body)
}

// Hole 4: a client that sends a broken body gets 400, and its requests
// never count against the upstream's endpoints; on both engines.
func TestBrokenClientBodiesEjectNothing(t *testing.T) {
	for _, engine := range []string{"std", "fast"} {
		t.Run(engine, func(t *testing.T) { testBrokenClientBodiesEjectNothing(t, engine) })
	}
}

func testBrokenClientBodiesEjectNothing(t *testing.T, engine string) {
	read := func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			return
		}
		_, _ = io.WriteString(w, "ok")
	}
	a := newBackend(t, "a", read)
	b := newBackend(t, "b", read)
	h := newHarnessOn(t, engine)
	tbl := h.apply(spec.Snapshot{Services: []spec.Service{svc("s", a.URL, b.URL)}, Routes: []spec.Route{prefixRoute("r", "/", "s")}}, CompileOptions{})
	addr := h.srv.Listener.Addr().String()
	broken := []struct {
		name, payload string
		closeWrite    bool
	}{
		{"malformed chunk size", "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n\r\n", false},
		{"chunk longer than announced", "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n", false},
		{"body shorter than Content-Length", "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc", true},
		{"large body shorter than Content-Length", "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + strings.Repeat("a", 70000), true},
	}
	for i := 0; i < 12; i++ {
		tc := broken[i%len(broken)]
		resp, body := rawExchange(t, addr, tc.payload, tc.closeWrite)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s: %s", tc.name, body)
		require.Contains(t, body, CodeInvalidRequestBody, tc.name)
	}
	for _, ep := range tbl.pools["s"].endpoints {
		require.Zero(t, ep.ejectedUntil.Load(), "endpoint %s was ejected for the client's fault", ep.raw)
		require.Zero(t, ep.failures.Load(), "endpoint %s was blamed for the client's fault", ep.raw)
	}
	require.Zero(t, metricValue(t, h.reg, "gatehouse_gateway_upstream_errors_total", map[string]string{"service": "s"}))
	served := map[string]int{}
	for range 10 {
		served[h.get("/").body]++
	}
	require.Equal(t, map[string]int{"ok": 10}, served)
	require.Positive(t, a.hits.Load())
	require.Positive(t, b.hits.Load())
}

// Hole 8: headers that the gateway and its plugins set are never taken
// from the client; X-Real-IP is the real client's address.
func TestInternalHeadersFromClientsNeverReachUpstreams(t *testing.T) {
	up := newBackend(t, "up", nil)
	spoof := map[string]string{
		"X-Real-IP": "6.6.6.6", "X-Gatehouse-Consumer": "admin", "X-Gatehouse-Peer-Addr": "6.6.6.6:1",
		"X-Gatehouse-Whatever": "x", "X-Forwarded-For": "6.6.6.6", "Forwarded": "for=6.6.6.6",
		"X-Gatehouse-Allow-Tools": "echo",
	}
	t.Run("untrusted client", func(t *testing.T) {
		h := newHarness(t)
		h.apply(spec.Snapshot{Services: []spec.Service{svc("s", up.URL)}, Routes: []spec.Route{prefixRoute("r", "/", "s")}}, CompileOptions{})
		seen := h.do("GET", "", "/", nil, spoof).seen(t)
		require.Equal(t, "127.0.0.1", seen.Header.Get("X-Real-Ip"))
		require.Equal(t, []string{"127.0.0.1"}, seen.Header.Values("X-Forwarded-For"), "the client's own X-Forwarded-For is dropped")
		for _, k := range []string{"X-Gatehouse-Consumer", "X-Gatehouse-Peer-Addr", "X-Gatehouse-Whatever", "Forwarded"} {
			require.Empty(t, seen.Header.Values(k), k)
		}
		require.Equal(t, "echo", seen.Header.Get("X-Gatehouse-Allow-Tools"), "narrowing the MCP tools stays the client's choice")
	})
	t.Run("trusted proxy", func(t *testing.T) {
		h := newHarness(t)
		r, err := clientip.Parse("127.0.0.1")
		require.NoError(t, err)
		h.gw.TrustProxies(r)
		h.apply(spec.Snapshot{Services: []spec.Service{svc("s", up.URL)}, Routes: []spec.Route{prefixRoute("r", "/", "s")}}, CompileOptions{})
		seen := h.do("GET", "", "/", nil, map[string]string{"X-Forwarded-For": "198.51.100.4", "X-Gatehouse-Consumer": "admin"}).seen(t)
		require.Equal(t, "198.51.100.4", seen.Header.Get("X-Real-Ip"))
		require.Equal(t, "198.51.100.4, 127.0.0.1", strings.Join(seen.Header.Values("X-Forwarded-For"), ", "))
		require.Empty(t, seen.Header.Get("X-Gatehouse-Consumer"), "not even a trusted proxy sets internal headers")
	})
}

// trickle sends start on a new connection to addr, then one byte every
// interval until the test ends; it returns the connection.
func trickle(t *testing.T, addr, start string, every time.Duration) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)))
	_, err = io.WriteString(c, start)
	require.NoError(t, err)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := c.Write([]byte("a")); err != nil {
					return
				}
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
		_ = c.Close()
	})
	return c
}

// Hole 7: a body sent slower than the minimum rate is cut with 408, and
// counts nothing against the upstream; on both engines (the fast one
// watches no body that came in whole with its head).
func TestSlowRequestBodiesAreCut(t *testing.T) {
	for _, engine := range []string{"std", "fast"} {
		t.Run(engine, func(t *testing.T) { testSlowRequestBodiesAreCut(t, engine) })
	}
}

func testSlowRequestBodiesAreCut(t *testing.T, engine string) {
	up := newBackend(t, "up", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, http.StatusText(200)+" "+strconv.FormatInt(n, 10))
	})
	h := newHarnessOn(t, engine)
	h.gw.LimitBodyReads(300*time.Millisecond, 10000)
	tbl := h.apply(spec.Snapshot{Services: []spec.Service{svc("s", up.URL)}, Routes: []spec.Route{prefixRoute("r", "/", "s")}}, CompileOptions{})
	addr := h.srv.Listener.Addr().String()

	t.Run("a trickle is cut", func(t *testing.T) {
		c := trickle(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", 50*time.Millisecond)
		start := time.Now()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
		body, _ := io.ReadAll(resp.Body)
		require.Contains(t, string(body), CodeRequestBodyTimeout)
		require.Less(t, time.Since(start), 15*time.Second, "cut long before the 100 KB arrive at 20 bytes/s")
	})
	t.Run("a trickle after a first part sent with the head is cut", func(t *testing.T) {
		c := trickle(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"+strings.Repeat("a", 500), 100*time.Millisecond)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
	})
	t.Run("a small body sent with the head passes", func(t *testing.T) {
		resp, body := rawExchange(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", false)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "OK 5", body)
	})
	t.Run("a body at full speed passes", func(t *testing.T) {
		r := h.do("POST", "", "/", strings.NewReader(strings.Repeat("z", 2<<20)), nil)
		require.Equal(t, http.StatusOK, r.status)
		require.Equal(t, "OK 2097152", r.body)
	})
	require.Zero(t, tbl.pools["s"].endpoints[0].failures.Load())
}
