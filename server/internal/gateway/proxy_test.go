package gateway

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

func TestProxyHeadersAndRequestID(t *testing.T) {
	be := newBackend(t, "a", nil)
	h := newHarness(t)
	s := svc("echo", be.URL+"/base")
	h.apply(spec.Snapshot{Services: []spec.Service{s}, Routes: []spec.Route{prefixRoute("echo", "/echo", "echo")}}, CompileOptions{})

	res := h.do("GET", "api.example.com", "/echo/x?q=1", nil, map[string]string{"X-Forwarded-For": "203.0.113.7"})
	require.Equal(t, http.StatusOK, res.status)
	seen := res.seen(t)
	require.Equal(t, "/base/echo/x", seen.Path, "the endpoint's path is prepended")
	require.Equal(t, strings.TrimPrefix(be.URL, "http://"), seen.Host, "the upstream gets its own host")
	require.Equal(t, "127.0.0.1", seen.Header.Get("X-Forwarded-For"), "an untrusted client's X-Forwarded-For is replaced (trusted proxies: security_test.go)")
	require.Equal(t, "api.example.com", seen.Header.Get("X-Forwarded-Host"))
	require.Equal(t, "http", seen.Header.Get("X-Forwarded-Proto"))
	id := res.header.Get("X-Request-Id")
	require.Regexp(t, regexp.MustCompile(`^[0-9a-f]{32}$`), id)
	require.Equal(t, id, seen.Header.Get("X-Request-Id"), "the upstream sees the id the client gets")
	require.Len(t, res.header.Values("X-Request-Id"), 1)

	res = h.do("GET", "", "/echo", nil, map[string]string{"X-Request-Id": "client-id-1"})
	require.Equal(t, "client-id-1", res.header.Get("X-Request-Id"))
	require.Equal(t, "client-id-1", res.seen(t).Header.Get("X-Request-Id"))

	// "/echo/../secret" must not reach the upstream past the route's path.
	res = h.do("GET", "", "/echo/../echo/y", nil, nil)
	require.Equal(t, "/base/echo/y", res.seen(t).Path)
}

func TestGatewayErrorsAreJSON(t *testing.T) {
	h := newHarness(t)
	res := h.get("/")
	require.Equal(t, http.StatusServiceUnavailable, res.status)
	require.Equal(t, CodeGatewayNotReady, res.errorCode(t))

	blocked := make(chan struct{})
	slow := newBackend(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-blocked:
		}
	})
	defer close(blocked)
	timeoutSvc := svc("slow", slow.URL)
	timeoutSvc.Timeout = "200ms"
	h.apply(spec.Snapshot{
		Services: []spec.Service{svc("down", closedURL(t)), timeoutSvc},
		Routes:   []spec.Route{prefixRoute("down", "/down", "down"), prefixRoute("slow", "/slow", "slow")},
	}, CompileOptions{})

	res = h.do("GET", "nowhere.test", "/nothing", nil, nil)
	require.Equal(t, http.StatusNotFound, res.status)
	require.Equal(t, CodeRouteNotFound, res.errorCode(t))
	require.Contains(t, res.body, `/nothing on host \"nowhere.test\"`)

	res = h.get("/down")
	require.Equal(t, http.StatusBadGateway, res.status)
	require.Equal(t, CodeUpstreamUnavailable, res.errorCode(t))
	require.Contains(t, res.body, res.header.Get("X-Request-Id"), "the message points to the log line")
	require.NotContains(t, res.body, "127.0.0.1", "upstream addresses are not shown to clients")

	res = h.get("/slow")
	require.Equal(t, http.StatusGatewayTimeout, res.status)
	require.Equal(t, CodeUpstreamTimeout, res.errorCode(t))

	require.Equal(t, 1.0, metricValue(t, h.reg, "gatehouse_gateway_requests_total", map[string]string{"route": "(unmatched)", "status": "404"}))
	require.Equal(t, 1.0, metricValue(t, h.reg, "gatehouse_gateway_requests_total", map[string]string{"route": "down", "status": "502"}))
	require.Equal(t, 1.0, metricValue(t, h.reg, "gatehouse_gateway_requests_total", map[string]string{"route": "slow", "status": "504"}))
	require.Equal(t, 1.0, metricValue(t, h.reg, "gatehouse_gateway_upstream_errors_total", map[string]string{"service": "down"}))
	require.Equal(t, 1.0, metricValue(t, h.reg, "gatehouse_gateway_request_duration_seconds", map[string]string{"route": "slow"}))
	require.GreaterOrEqual(t, metricValue(t, h.reg, "gatehouse_gateway_active_connections", nil), 1.0)
}

func TestSwapUnderLoadFinishesInFlightOnOldTable(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	a := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			arrived <- struct{}{}
			<-release
		}
		_, _ = io.WriteString(w, "a")
	})
	b := newBackend(t, "b", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "b") })
	plugins := pluginSet{"mark": &fakePlugin{info: infoOf("mark", "default", 0)}}
	h := newHarness(t)
	global := spec.PluginInstance{Name: "mark", Plugin: "mark", Scope: spec.Scope{Type: spec.ScopeGlobal}}
	first := h.apply(spec.Snapshot{Services: []spec.Service{svc("s", a.URL)}, Routes: []spec.Route{prefixRoute("all", "/", "s")},
		PluginInstances: []spec.PluginInstance{global}}, plugins.options())
	oldInstance := plugins.instances()[0]

	// Load runs through both swaps; every request must succeed.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures atomic.Int64
	var served [2]atomic.Int64
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := h.hc.Get(h.srv.URL + "/fast")
				if err != nil {
					failures.Add(1)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode == http.StatusOK && string(body) == "a":
					served[0].Add(1)
				case resp.StatusCode == http.StatusOK && string(body) == "b":
					served[1].Add(1)
				default:
					failures.Add(1)
				}
			}
		}()
	}

	slowDone := make(chan response, 1)
	go func() { slowDone <- h.get("/slow") }()
	<-arrived

	h.apply(spec.Snapshot{Services: []spec.Service{svc("s", b.URL)}, Routes: []spec.Route{prefixRoute("all", "/", "s")},
		PluginInstances: []spec.PluginInstance{global}}, plugins.options())
	require.NotSame(t, first, h.gw.Table())
	require.Equal(t, "b", h.get("/fast").body, "new requests use the new table at once")
	require.Zero(t, oldInstance.closed.Load(), "the old table's instances live while a request runs on it")

	close(release)
	res := <-slowDone
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, "a", res.body, "the in-flight request finished on the old table")
	eventually(t, "old plugin instance closed", func() bool { return oldInstance.closed.Load() == 1 })

	eventually(t, "load on the new table", func() bool { return served[1].Load() > 10 })
	close(stop)
	wg.Wait()
	require.Zero(t, failures.Load(), "no request failed during the swaps")
	require.Equal(t, int32(1), oldInstance.closed.Load(), "closed exactly once")
}

func TestStreamsBeforeUpstreamFinishes(t *testing.T) {
	for _, contentType := range []string{"text/event-stream", "application/x-ndjson"} {
		t.Run(contentType, func(t *testing.T) {
			finish := make(chan struct{})
			be := newBackend(t, "stream", func(w http.ResponseWriter, r *http.Request) {
				// No Content-Length: SSE, or any chunked response.
				w.Header().Set("Content-Type", contentType)
				_, _ = io.WriteString(w, "data: first\n\n")
				w.(http.Flusher).Flush()
				select {
				case <-finish:
				case <-r.Context().Done():
					return
				}
				_, _ = io.WriteString(w, "data: last\n\n")
			})
			h := newHarness(t)
			h.apply(spec.Snapshot{Services: []spec.Service{svc("sse", be.URL)}, Routes: []spec.Route{prefixRoute("sse", "/", "sse")}}, CompileOptions{})

			resp, err := h.hc.Get(h.srv.URL + "/events")
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, contentType, resp.Header.Get("Content-Type"))
			lines := make(chan string, 4)
			go func() {
				sc := bufio.NewScanner(resp.Body)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			select {
			case l := <-lines:
				require.Equal(t, "data: first", l)
			case <-time.After(5 * time.Second):
				t.Fatal("the first event did not arrive while the upstream was still streaming: the proxy buffers")
			}
			close(finish)
			var rest []string
			for l := range lines {
				rest = append(rest, l)
			}
			require.Equal(t, []string{"", "data: last", ""}, rest)
		})
	}
}

func TestWebSocketEchoThroughProxy(t *testing.T) {
	be := newBackend(t, "ws", func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "websocket only", http.StatusBadRequest)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			wsAccept(r.Header.Get("Sec-WebSocket-Key")))
		_ = rw.Flush()
		for {
			op, payload, err := wsRead(rw.Reader)
			if err != nil || op == 0x8 {
				return
			}
			_ = wsWrite(rw.Writer, op, payload, false)
			_ = rw.Flush()
		}
	})
	h := newHarness(t)
	h.apply(spec.Snapshot{Services: []spec.Service{svc("ws", be.URL)}, Routes: []spec.Route{prefixRoute("ws", "/ws", "ws")}}, CompileOptions{})

	conn, err := net.Dial("tcp", strings.TrimPrefix(h.srv.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	fmt.Fprintf(conn, "GET /ws/chat HTTP/1.1\r\nHost: chat.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", key)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	require.Equal(t, wsAccept(key), resp.Header.Get("Sec-WebSocket-Accept"))
	require.NotEmpty(t, resp.Header.Get("X-Request-Id"))

	bw := bufio.NewWriter(conn)
	for _, msg := range []string{"hello", "gatehouse"} {
		require.NoError(t, wsWrite(bw, 0x1, []byte(msg), true))
		require.NoError(t, bw.Flush())
		op, payload, err := wsRead(br)
		require.NoError(t, err)
		require.Equal(t, byte(0x1), op)
		require.Equal(t, msg, string(payload))
	}
	require.NoError(t, wsWrite(bw, 0x8, nil, true))
	require.NoError(t, bw.Flush())
	require.NoError(t, conn.Close())
	eventually(t, "upgrade counted as 101", func() bool {
		return metricValue(t, h.reg, "gatehouse_gateway_requests_total", map[string]string{"route": "ws", "status": "101"}) == 1
	})
}

func wsAccept(key string) string {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// wsWrite writes one final frame of up to 65535 bytes.
func wsWrite(w *bufio.Writer, op byte, payload []byte, mask bool) error {
	_ = w.WriteByte(0x80 | op)
	mbit := byte(0)
	if mask {
		mbit = 0x80
	}
	if len(payload) < 126 {
		_ = w.WriteByte(mbit | byte(len(payload)))
	} else {
		_ = w.WriteByte(mbit | 126)
		_ = binary.Write(w, binary.BigEndian, uint16(len(payload)))
	}
	if mask {
		key := []byte{1, 2, 3, 4}
		_, _ = w.Write(key)
		masked := make([]byte, len(payload))
		for i, c := range payload {
			masked[i] = c ^ key[i%4]
		}
		payload = masked
	}
	_, err := w.Write(payload)
	return err
}

func wsRead(r *bufio.Reader) (byte, []byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := int(hdr[1] & 0x7f)
	if n == 126 {
		var l uint16
		if err := binary.Read(r, binary.BigEndian, &l); err != nil {
			return 0, nil, err
		}
		n = int(l)
	}
	var key [4]byte
	masked := hdr[1]&0x80 != 0
	if masked {
		if _, err := io.ReadFull(r, key[:]); err != nil {
			return 0, nil, err
		}
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	if masked {
		for i := range payload {
			payload[i] ^= key[i%4]
		}
	}
	return hdr[0] & 0x0f, payload, nil
}

func TestWeightedRoundRobin(t *testing.T) {
	a, b := newBackend(t, "a", nil), newBackend(t, "b", nil)
	h := newHarness(t)
	s := spec.Service{Name: "s", Endpoints: []spec.Endpoint{{URL: a.URL, Weight: 3}, {URL: b.URL, Weight: 1}}}
	h.apply(spec.Snapshot{Services: []spec.Service{s}, Routes: []spec.Route{prefixRoute("r", "/", "s")}}, CompileOptions{})
	var order []string
	for i := 0; i < 400; i++ {
		res := h.get("/")
		require.Equal(t, http.StatusOK, res.status)
		if i < 8 {
			order = append(order, res.seen(t).Backend)
		}
	}
	require.Equal(t, int64(300), a.hits.Load())
	require.Equal(t, int64(100), b.hits.Load())
	require.Equal(t, []string{"a", "a", "b", "a", "a", "a", "b", "a"}, order, "smooth: the light endpoint is not starved in bursts")
}

func TestLeastRequestAvoidsBusyEndpoint(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan string, 1)
	var fast [2]atomic.Int64
	mk := func(i int, name string) *backend {
		return newBackend(t, name, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/hold" {
				arrived <- name
				<-release
			} else {
				fast[i].Add(1)
			}
			_, _ = io.WriteString(w, name)
		})
	}
	a, b := mk(0, "a"), mk(1, "b")
	h := newHarness(t)
	s := spec.Service{Name: "s", LoadBalancer: spec.LBLeastRequest, Endpoints: []spec.Endpoint{{URL: a.URL}, {URL: b.URL}}}
	h.apply(spec.Snapshot{Services: []spec.Service{s}, Routes: []spec.Route{prefixRoute("r", "/", "s")}}, CompileOptions{})

	held := make(chan response, 1)
	go func() { held <- h.get("/hold") }()
	busy := <-arrived
	for i := 0; i < 10; i++ {
		require.Equal(t, http.StatusOK, h.get("/fast").status)
	}
	close(release)
	require.Equal(t, busy, (<-held).body)
	if busy == "a" {
		require.Equal(t, [2]int64{0, 10}, [2]int64{fast[0].Load(), fast[1].Load()})
	} else {
		require.Equal(t, [2]int64{10, 0}, [2]int64{fast[0].Load(), fast[1].Load()})
	}
}

func TestConsistentHash(t *testing.T) {
	for _, hashOn := range []spec.HashOn{{Type: spec.HashOnHeader, Name: "x-user"}, {Type: spec.HashOnCookie, Name: "session"}} {
		t.Run(hashOn.Type, func(t *testing.T) {
			a, b := newBackend(t, "a", nil), newBackend(t, "b", nil)
			h := newHarness(t)
			s := spec.Service{Name: "s", LoadBalancer: spec.LBConsistentHash, HashOn: &hashOn, Endpoints: []spec.Endpoint{{URL: a.URL}, {URL: b.URL}}}
			h.apply(spec.Snapshot{Services: []spec.Service{s}, Routes: []spec.Route{prefixRoute("r", "/", "s")}}, CompileOptions{})
			owners := map[string]int{}
			for u := 0; u < 20; u++ {
				var first string
				for i := 0; i < 3; i++ {
					hdr := map[string]string{"X-User": fmt.Sprint("user-", u)}
					if hashOn.Type == spec.HashOnCookie {
						hdr = map[string]string{"Cookie": fmt.Sprint("other=1; session=user-", u)}
					}
					got := h.do("GET", "", "/", nil, hdr).seen(t).Backend
					if i == 0 {
						first = got
					}
					require.Equal(t, first, got, "one key, one endpoint")
				}
				owners[first]++
			}
			require.Len(t, owners, 2, "keys spread over both endpoints: %v", owners)
		})
	}
}

func TestRetriesIdempotentRequestsOnAnotherEndpoint(t *testing.T) {
	broken := newBackend(t, "broken", func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	})
	good := newBackend(t, "good", nil)
	h := newHarness(t)
	s := svc("s", broken.URL, good.URL)
	s.Retries = 1
	h.apply(spec.Snapshot{Services: []spec.Service{s}, Routes: []spec.Route{prefixRoute("r", "/", "s")}}, CompileOptions{})

	// POST is not retried: the one that lands on the broken endpoint fails.
	codes := map[int]int{}
	for i := 0; i < 2; i++ {
		res := h.do("POST", "", "/", strings.NewReader("payload"), nil)
		codes[res.status]++
		if res.status == http.StatusBadGateway {
			require.Equal(t, CodeUpstreamUnavailable, res.errorCode(t))
		}
	}
	require.Equal(t, map[int]int{http.StatusOK: 1, http.StatusBadGateway: 1}, codes)

	for i := 0; i < 6; i++ {
		res := h.get("/")
		require.Equal(t, http.StatusOK, res.status, "GET is retried on the good endpoint")
		require.Equal(t, "good", res.seen(t).Backend)
	}
	require.GreaterOrEqual(t, broken.hits.Load(), int64(3))
}

func TestRetryOnUpstream503AndPassThroughWhenNoneLeft(t *testing.T) {
	unavailable := newBackend(t, "unavailable", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})
	good := newBackend(t, "good", nil)
	h := newHarness(t)
	retried := svc("retried", unavailable.URL, good.URL)
	retried.Retries = 2
	alone := svc("alone", unavailable.URL)
	alone.Retries = 2
	h.apply(spec.Snapshot{Services: []spec.Service{retried, alone},
		Routes: []spec.Route{prefixRoute("retried", "/r", "retried"), prefixRoute("alone", "/a", "alone")}}, CompileOptions{})
	for i := 0; i < 4; i++ {
		require.Equal(t, "good", h.get("/r").seen(t).Backend)
	}
	res := h.get("/a")
	require.Equal(t, http.StatusServiceUnavailable, res.status, "the upstream's own answer when no other endpoint is left")
	require.Equal(t, "7", res.header.Get("Retry-After"))
	require.Equal(t, "busy\n", res.body)
}

// fakeClock is a settable clock for ejection cool-downs.
type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

func TestPassiveEjectionAndReturn(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	flaky := newBackend(t, "flaky", func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		_, _ = io.WriteString(w, "flaky")
	})
	good := newBackend(t, "good", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "good") })
	solo := newBackend(t, "solo", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
	h := newHarness(t)
	tbl, err := Compile(context.Background(), spec.Snapshot{
		Services: []spec.Service{svc("s", flaky.URL, good.URL), svc("solo", solo.URL)},
		Routes:   []spec.Route{prefixRoute("r", "/", "s"), prefixRoute("solo", "/solo", "solo")},
	}, CompileOptions{})
	require.NoError(t, err)
	clock := &fakeClock{}
	tbl.pools["s"].now = clock.now
	h.gw.Swap(tbl)

	for i := 0; i < 30; i++ {
		h.get("/")
	}
	require.Equal(t, int64(ejectAfterFailures), flaky.hits.Load(), "ejected after %d failures in a row", ejectAfterFailures)
	require.Equal(t, int64(25), good.hits.Load())

	failing.Store(false)
	clock.advance(ejectFor + time.Second)
	bodies := map[string]int{}
	for i := 0; i < 10; i++ {
		bodies[h.get("/").body]++
	}
	require.Equal(t, map[string]int{"flaky": 5, "good": 5}, bodies, "back in rotation after the cool-down")

	// A service whose only endpoint is ejected keeps trying it.
	for i := 0; i < ejectAfterFailures+3; i++ {
		require.Equal(t, http.StatusServiceUnavailable, h.get("/solo").status)
	}
	require.Equal(t, int64(ejectAfterFailures+3), solo.hits.Load())
	require.Equal(t, float64(ejectAfterFailures), metricValue(t, h.reg, "gatehouse_gateway_upstream_errors_total", map[string]string{"service": "s"}))
	require.Equal(t, float64(ejectAfterFailures+3), metricValue(t, h.reg, "gatehouse_gateway_upstream_errors_total", map[string]string{"service": "solo"}))
}

func TestActiveHealthCheck(t *testing.T) {
	var healthy atomic.Bool
	be := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" && !healthy.Load() {
			http.Error(w, "sick", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	h := newHarness(t)
	s := svc("s", be.URL)
	s.HealthCheck = &spec.HealthCheck{Path: "/healthz", Interval: "100ms", Timeout: "50ms", UnhealthyThreshold: 1, HealthyThreshold: 1}
	h.apply(spec.Snapshot{Services: []spec.Service{s}, Routes: []spec.Route{prefixRoute("r", "/", "s")}}, CompileOptions{})

	eventually(t, "endpoint taken out by the health check", func() bool { return h.get("/x").status == http.StatusServiceUnavailable })
	res := h.get("/x")
	require.Equal(t, CodeUpstreamUnavailable, res.errorCode(t))
	require.Contains(t, res.body, "no healthy endpoint")

	healthy.Store(true)
	eventually(t, "endpoint back after a good check", func() bool { return h.get("/x").status == http.StatusOK })

	// Closing the gateway stops the checker: no probe after it returns.
	h.gw.Close()
	p := h.gw.table.Load()
	require.Nil(t, p)
	before := be.hits.Load()
	polls := 0
	eventually(t, "no more probes", func() bool {
		polls++
		return polls > 30 && be.hits.Load() == before
	})
}

func TestUnchangedServiceKeepsItsConnections(t *testing.T) {
	be := newBackend(t, "a", nil)
	h := newHarness(t)
	s := svc("s", be.URL)
	first := h.apply(spec.Snapshot{Services: []spec.Service{s}, Routes: []spec.Route{prefixRoute("r1", "/one", "s")}}, CompileOptions{})
	addr := h.get("/one").seen(t).RemoteAddr

	second := h.apply(spec.Snapshot{Services: []spec.Service{s}, Routes: []spec.Route{prefixRoute("r1", "/one", "s"), prefixRoute("r2", "/two", "s")}}, CompileOptions{})
	require.Same(t, first.pools["s"], second.pools["s"], "same service, same pool")
	require.Equal(t, addr, h.get("/two").seen(t).RemoteAddr, "the keep-alive connection survived the change")

	s.Retries = 2
	third := h.apply(spec.Snapshot{Services: []spec.Service{s}, Routes: []spec.Route{prefixRoute("r1", "/one", "s")}}, CompileOptions{})
	require.NotSame(t, second.pools["s"], third.pools["s"])
	require.Same(t, second.pools["s"].transport, third.pools["s"].transport)
	require.Equal(t, addr, h.get("/one").seen(t).RemoteAddr, "a changed service keeps its transport")
	require.Equal(t, http.StatusNotFound, h.get("/two").status)
}

func TestClosedCurrentTableRefusesInsteadOfHanging(t *testing.T) {
	be := newBackend(t, "a", nil)
	h := newHarness(t)
	tbl := h.apply(spec.Snapshot{Services: []spec.Service{svc("s", be.URL)}, Routes: []spec.Route{prefixRoute("r", "/", "s")}}, CompileOptions{})
	require.Equal(t, http.StatusOK, h.get("/").status)
	require.NoError(t, tbl.Close()) // misuse: the gateway still serves it
	res := h.get("/")
	require.Equal(t, http.StatusServiceUnavailable, res.status)
	require.Equal(t, CodeGatewayNotReady, res.errorCode(t))
}

// A client that leaves a silent stream ends the upstream's, on both
// engines, whether or not it said it accepts text/event-stream.
func TestClientGoneStopsTheUpstreamStream(t *testing.T) {
	for _, engine := range []string{"std", "fast"} {
		for _, accept := range []string{"", "text/event-stream"} {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				t.Run(engine+" "+method+" accept="+accept, func(t *testing.T) {
					testClientGoneStopsTheUpstreamStream(t, engine, method, accept)
				})
			}
		}
	}
}

func testClientGoneStopsTheUpstreamStream(t *testing.T, engine, method, accept string) {
	upstreamDone := make(chan struct{})
	started := make(chan struct{})
	be := newBackend(t, "stream", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/chat" {
			_, _ = io.WriteString(w, "ok")
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: token\n\n")
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done()
		close(upstreamDone)
	})
	h := newHarnessOn(t, engine)
	h.apply(spec.Snapshot{Services: []spec.Service{svc("s", be.URL)}, Routes: []spec.Route{prefixRoute("r", "/", "s")}}, CompileOptions{})

	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, method, h.srv.URL+"/chat", nil)
	require.NoError(t, err)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := h.hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	<-started
	buf := make([]byte, 5)
	_, err = io.ReadFull(resp.Body, buf)
	require.NoError(t, err)
	cancel()
	select {
	case <-upstreamDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream kept streaming after the client left")
	}
	// The next request gets a fresh, working connection.
	require.Equal(t, http.StatusOK, h.get("/x").status)
}

func TestAccessLogLinePerRequest(t *testing.T) {
	be := newBackend(t, "a", nil)
	for _, on := range []bool{true, false} {
		// slog serializes the handlers' writes, and the log is read after
		// srv.Close, which waits for every handler.
		var out strings.Builder
		gw := New(slog.New(slog.NewTextHandler(&out, nil)), nil)
		gw.LogRequests(on)
		tbl, err := Compile(context.Background(), spec.Snapshot{Services: []spec.Service{svc("s", be.URL)},
			Routes: []spec.Route{prefixRoute("orders", "/orders", "s")}}, CompileOptions{})
		require.NoError(t, err)
		gw.Swap(tbl)
		srv := httptest.NewServer(gw)

		get := func(path string) string {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			req.Header.Set("X-Request-Id", "rid-"+strings.Trim(path[:7], "/?"))
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			_ = resp.Body.Close()
			return req.Header.Get("X-Request-Id")
		}
		ok := get("/orders/1?api_key=secret-in-query")
		missing := get("/nothere")
		srv.Close()
		gw.Close()

		var lines []string
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.Contains(l, `msg="gateway request"`) {
				lines = append(lines, l)
			}
		}
		if !on {
			require.Empty(t, lines, "access log off: no request lines")
			continue
		}
		require.Len(t, lines, 2, out.String())
		require.Contains(t, lines[0], "level=INFO")
		for _, want := range []string{"method=GET", "path=/orders/1", "status=200", "route=orders", "client=127.0.0.1", "request_id=" + ok, "duration_ms="} {
			require.Contains(t, lines[0], want)
		}
		require.NotContains(t, lines[0], "secret-in-query", "the query string (often a credential) is not logged")
		require.Contains(t, lines[1], "level=WARN")
		require.Contains(t, lines[1], "status=404")
		require.Contains(t, lines[1], `route=(unmatched)`)
		require.Contains(t, lines[1], "request_id="+missing)
	}
}

// drainMount is a mount that streams until it is drained.
type drainMount struct {
	drained chan struct{}
	once    sync.Once
	closed  atomic.Bool
	started chan struct{}
}

func newDrainMount() *drainMount {
	return &drainMount{drained: make(chan struct{}), started: make(chan struct{}, 1)}
}

func (m *drainMount) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	_, _ = io.WriteString(w, ": open\n\n")
	w.(http.Flusher).Flush()
	m.started <- struct{}{}
	select {
	case <-m.drained:
		_, _ = io.WriteString(w, "event: end\n\n")
	case <-r.Context().Done():
	}
}

func (m *drainMount) Drain()       { m.once.Do(func() { close(m.drained) }) }
func (m *drainMount) Close() error { m.closed.Store(true); return nil }

// A stream still running on a table replaced by a configuration change is
// ended by Drain at shutdown too, not left to hold the shutdown until its
// timeout.
func TestDrainReachesStreamsOfReplacedTables(t *testing.T) {
	h := newHarness(t)
	old := newDrainMount()
	h.apply(spec.Snapshot{}, CompileOptions{Mounts: []Mount{{Name: "events", PathPrefix: "/events", Handler: old, Closer: old}}})

	resp, err := h.hc.Get(h.srv.URL + "/events")
	require.NoError(t, err)
	defer resp.Body.Close()
	<-old.started

	// A configuration change: the stream keeps running on the old table.
	be := newBackend(t, "a", nil)
	h.apply(spec.Snapshot{Services: []spec.Service{svc("s", be.URL)}, Routes: []spec.Route{prefixRoute("r", "/", "s")}}, CompileOptions{})
	require.False(t, old.closed.Load(), "the old table stays open while its stream runs")

	h.gw.Drain()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "the stream ended cleanly")
	require.Contains(t, string(body), "event: end")
	eventually(t, "the old table closed after its stream ended", old.closed.Load)
	eventually(t, "the gateway forgot the closed table", func() bool {
		h.gw.mu.Lock()
		defer h.gw.mu.Unlock()
		return len(h.gw.retired) == 0
	})
}
