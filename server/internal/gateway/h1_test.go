package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/h1client"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

// Every kind of answer, with or without a body, leaves the upstream
// connection reusable: a busy route holds one connection, not one per
// request.
func TestUpstreamConnectionIsReusedAcrossAnswers(t *testing.T) {
	be := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/cached":
			w.WriteHeader(http.StatusNotModified)
		case "/chunked":
			_, _ = io.WriteString(w, "part one,")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "part two")
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			_, _ = w.Write(b)
		default:
			_, _ = io.WriteString(w, "plain")
		}
	})
	h := newHarness(t)
	h.apply(spec.Snapshot{Services: []spec.Service{svc("s", be.URL)}, Routes: []spec.Route{prefixRoute("r", "/", "s")}}, CompileOptions{})

	for range 10 {
		require.Equal(t, "plain", h.get("/plain").body)
		require.Equal(t, http.StatusNoContent, h.get("/empty").status)
		require.Equal(t, http.StatusNotModified, h.get("/cached").status)
		require.Equal(t, "part one,part two", h.get("/chunked").body)
		require.Equal(t, "sent back", h.do(http.MethodPost, "", "/echo", strings.NewReader("sent back"), nil).body)
		require.Equal(t, http.StatusOK, h.do(http.MethodHead, "", "/plain", nil, nil).status)
	}
	addrs := map[string]bool{}
	be.mu.Lock()
	for _, s := range be.seen {
		addrs[s.RemoteAddr] = true
	}
	be.mu.Unlock()
	require.Len(t, addrs, 1, "sequential requests share one upstream connection")
}

// An upstream that closes idle keep-alive connections after a short time
// (Node.js: 5 s, gunicorn: 2 s) never makes a request fail, even one that
// cannot be sent twice.
func TestUpstreamClosingIdleConnectionsIsInvisible(t *testing.T) {
	var posts atomic.Int64
	closed := make(chan struct{}, 16)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.IdleTimeout = 50 * time.Millisecond
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	h := newHarness(t)
	h.apply(spec.Snapshot{Services: []spec.Service{svc("s", srv.URL)}, Routes: []spec.Route{prefixRoute("r", "/", "s")}}, CompileOptions{})

	for i := range 3 {
		require.Equal(t, http.StatusOK, h.get("/").status)
		select {
		case <-closed: // the upstream dropped the idle connection
		case <-time.After(10 * time.Second):
			t.Fatal("the upstream never closed the idle connection")
		}
		time.Sleep(h1client.CheckIdleAfter)
		res := h.do(http.MethodPost, "", "/", strings.NewReader(`{"n":1}`), nil)
		require.Equal(t, http.StatusOK, res.status, "POST %d after the upstream closed the idle connection: %s", i, res.body)
		<-closed
	}
	require.EqualValues(t, 3, posts.Load(), "each POST reached the upstream once")
}

// An upstream that drops a connection right after answering, without
// saying "Connection: close": a GET is sent again on a new connection; a
// POST is not (the upstream may have acted on it) and fails with the
// gateway's 502.
func TestConnectionDroppedAfterAnswerRetriesOnlySafeRequests(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				mu.Lock()
				got[req.Method]++
				mu.Unlock()
				// Answer once, then close without warning.
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}()
		}
	}()
	h := newHarness(t)
	h.apply(spec.Snapshot{Services: []spec.Service{svc("s", "http://"+ln.Addr().String())}, Routes: []spec.Route{prefixRoute("r", "/", "s")}}, CompileOptions{})

	for i := range 20 {
		res := h.get("/")
		require.Equal(t, http.StatusOK, res.status, "GET %d: %s", i, res.body)
		require.Equal(t, "ok", res.body)
	}
	mu.Lock()
	require.Equal(t, 20, got[http.MethodGet], "each GET answered exactly once")
	mu.Unlock()

	var failed int
	for range 5 {
		res := h.do(http.MethodPost, "", "/", strings.NewReader("x"), nil)
		if res.status != http.StatusOK {
			require.Equal(t, http.StatusBadGateway, res.status)
			require.Equal(t, CodeUpstreamUnavailable, res.errorCode(t))
			failed++
		}
	}
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 5-failed, got[http.MethodPost], "a POST is never sent twice")
}
