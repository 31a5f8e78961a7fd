package h1server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type seen struct {
	mu   sync.Mutex
	reqs []string // "METHOD target body"
	fast []bool   // served by the engine (not net/http)
}

func (s *seen) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...)
}

// start serves h on a fresh port with the engine; it returns the address.
func start(t *testing.T, h http.Handler, tune func(*Server)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &Server{Std: &http.Server{Handler: h, ReadHeaderTimeout: 2 * time.Second, IdleTimeout: 2 * time.Second}}
	if tune != nil {
		tune(srv)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
		require.ErrorIs(t, <-done, http.ErrServerClosed)
	})
	return ln.Addr().String()
}

func recorder(s *seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		_, fast := w.(*response)
		s.mu.Lock()
		s.reqs = append(s.reqs, fmt.Sprintf("%s %s %q", r.Method, r.RequestURI, b))
		s.fast = append(s.fast, fast)
		s.mu.Unlock()
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Engine", fmt.Sprint(fast))
		_, _ = w.Write([]byte("ok"))
	})
}

// exchange writes raw and reads until the server closes or 2s pass.
func exchange(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, raw)
	require.NoError(t, err)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	b, _ := io.ReadAll(c)
	return string(b)
}

func TestServesKeepAliveAndPipelinedRequests(t *testing.T) {
	var s seen
	addr := start(t, recorder(&s), nil)
	out := exchange(t, addr, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcPOST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\nGET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	require.Equal(t, []string{`GET /a ""`, `POST /b "abc"`, `POST /c "hi"`, `GET /d ""`}, s.list())
	require.Equal(t, []bool{true, true, true, true}, s.fast, "plain HTTP/1.1 is the engine's")
	require.Equal(t, 4, strings.Count(out, "HTTP/1.1 200 OK\r\n"), out)
	require.Equal(t, 4, strings.Count(out, "Content-Length: 2\r\n"), out)
	require.Contains(t, out, "Connection: close\r\n")
}

func TestHandsUnusualRequestsToNetHTTP(t *testing.T) {
	var s seen
	addr := start(t, recorder(&s), nil)
	for _, raw := range []string{
		"GET /h10 HTTP/1.0\r\n\r\n",
		"POST /exp HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\nConnection: close\r\n\r\nz",
		"GET http://x/abs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	} {
		out := exchange(t, addr, raw)
		require.Contains(t, out, " 200 OK\r\n", raw)
		require.Contains(t, out, "X-Engine: false\r\n", "net/http served %q", raw)
	}
	// A later request on a connection the engine served can go there too.
	out := exchange(t, addr, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
	require.Contains(t, out, "X-Engine: true\r\n")
	require.Contains(t, out, "X-Engine: false\r\n")
}

// The smuggling corpus: every case is refused, or framed as one request
// whose body is what net/http would have read — never a second request.
func TestSmugglingCorpusNeverReachesASecondRequest(t *testing.T) {
	smuggled := "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	cases := map[string]string{
		"CL.TE":                 "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
		"TE.CL":                 "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n" + smuggled,
		"duplicate CL":          "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 45\r\n\r\n" + smuggled,
		"comma CL":              "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 45\r\n\r\n" + smuggled,
		"xchunked":              "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\nContent-Length: 0\r\n\r\n" + smuggled,
		"chunked, identity":     "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled,
		"space before colon":    "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n" + smuggled,
		"obs-fold TE":           "POST /a HTTP/1.1\r\nHost: x\r\nX: y\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
		"bare LF":               "POST /a HTTP/1.1\r\nHost: x\r\nX: a\nContent-Length: 35\r\n\r\n" + smuggled,
		"bare CR":               "POST /a HTTP/1.1\r\nHost: x\rContent-Length: 45\r\n\r\n" + smuggled,
		"NUL in header":         "POST /a HTTP/1.1\r\nHost: x\r\nX: \x00\r\nContent-Length: 0\r\n\r\n" + smuggled,
		"negative CL":           "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: -45\r\n\r\n" + smuggled,
		"overflowing CL":        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551616\r\n\r\n" + smuggled,
		"overflowing chunk":     "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000002\r\nab\r\n0\r\n\r\n" + smuggled,
		"negative chunk":        "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\nab\r\n0\r\n\r\n" + smuggled,
		"chunk extension":       "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2;a=\"\r\n0\r\n\r\n\"\r\nab\r\n0\r\n\r\n" + smuggled,
		"oversized chunk line":  "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + strings.Repeat("0", 100) + "2\r\nab\r\n0\r\n\r\n" + smuggled,
		"chunk without CRLF":    "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX0\r\n\r\n" + smuggled,
		"HTTP/0.9":              "GET /a\r\n\r\n" + smuggled,
		"HTTP/2.0 request line": "GET /a HTTP/2.0\r\nHost: x\r\n\r\n" + smuggled,
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			var s seen
			addr := start(t, recorder(&s), nil)
			_ = exchange(t, addr, raw)
			for _, r := range s.list() {
				require.False(t, strings.HasPrefix(r, "GET /smuggled"), "a second request reached the handler")
			}
		})
	}
}

func TestBothLengthsAreRefused(t *testing.T) {
	var s seen
	addr := start(t, recorder(&s), nil)
	out := exchange(t, addr, "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n")
	require.True(t, strings.HasPrefix(out, "HTTP/1.1 400 "), out)
	require.Empty(t, s.list())
}

func TestHeadTooLargeIs431(t *testing.T) {
	var s seen
	addr := start(t, recorder(&s), nil)
	out := exchange(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 2<<20)+"\r\n\r\n")
	require.True(t, strings.HasPrefix(out, "HTTP/1.1 431 "), out[:min(len(out), 80)])
	require.Empty(t, s.list())
}

func TestHeaderTimeoutAndIdleTimeoutClose(t *testing.T) {
	var s seen
	addr := start(t, recorder(&s), func(srv *Server) {
		srv.Std.ReadHeaderTimeout = 300 * time.Millisecond
		srv.Std.IdleTimeout = 300 * time.Millisecond
	})
	for _, raw := range []string{"GET / HTTP/1.1\r\nHost: x\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"} {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		_, _ = io.WriteString(c, raw)
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		t0 := time.Now()
		_, _ = io.ReadAll(c) // the server closes: EOF before the deadline
		require.Less(t, time.Since(t0), 2*time.Second, "closed by the server for %q", raw)
		c.Close()
	}
}

func TestMaxRequestsPerConnection(t *testing.T) {
	var s seen
	addr := start(t, recorder(&s), func(srv *Server) { srv.MaxRequestsPerConn = 2 })
	out := exchange(t, addr, strings.Repeat("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 3))
	require.Equal(t, 2, strings.Count(out, "200 OK"), out)
	require.Contains(t, out, "Connection: close\r\n")
	require.Len(t, s.list(), 2)
}

func TestBrokenChunkedBodyFailsTheReadAndCloses(t *testing.T) {
	var s seen
	addr := start(t, recorder(&s), nil)
	out := exchange(t, addr, "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2;ext\r\nab\r\n0\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
	require.True(t, strings.HasPrefix(out, "HTTP/1.1 400 "), out)
	require.Equal(t, 1, strings.Count(out, "HTTP/1.1"), "nothing after the refused body")
}

func TestStreamingFlushesEachEvent(t *testing.T) {
	release := make(chan struct{})
	addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "data: two\n\n")
	}), nil)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, _ = io.WriteString(c, "GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"chunked"}, resp.TransferEncoding)
	buf := make([]byte, 11)
	_, err = io.ReadFull(resp.Body, buf)
	require.NoError(t, err, "the first event arrives before the handler returns")
	require.Equal(t, "data: one\n\n", string(buf))
	close(release)
	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "data: two\n\n", string(rest))
}

func TestResponseMatchesNetHTTPConventions(t *testing.T) {
	addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/html":
			_, _ = io.WriteString(w, "<html><body>hi</body></html>")
		case "/split":
			w.Header().Set("X-Bad", "a\r\nInjected: yes")
			w.WriteHeader(http.StatusNoContent)
		case "/big":
			_, _ = w.Write([]byte(strings.Repeat("x", 10000)))
		}
	}), nil)
	get := func(path string) (*http.Response, string) {
		resp, err := http.Get("http://" + addr + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(b)
	}
	resp, body := get("/html")
	require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"), "content is sniffed as net/http does")
	require.NotEmpty(t, resp.Header.Get("Date"))
	require.Equal(t, int64(len(body)), resp.ContentLength)
	resp, _ = get("/split")
	require.Equal(t, 204, resp.StatusCode)
	require.Empty(t, resp.Header.Get("Injected"), "CR LF in a value cannot start a header")
	resp, body = get("/big")
	require.Len(t, body, 10000)
	require.Equal(t, []string{"chunked"}, resp.TransferEncoding)
}

// The engine writes a complete response when the connection next waits for
// a request; a shutdown that begins meanwhile must not lose it.
func TestResponseIsDeliveredWhenShutdownBeginsDuringTheRequest(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &Server{Std: &http.Server{ReadHeaderTimeout: 2 * time.Second, IdleTimeout: 2 * time.Second}}
	shutdown := make(chan error, 1)
	srv.Std.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			shutdown <- srv.Shutdown(ctx)
		}()
		for deadline := time.Now().Add(2 * time.Second); !srv.closing.Load() && time.Now().Before(deadline); {
			runtime.Gosched()
		}
		_, _ = io.WriteString(w, "last answer")
	})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	out := exchange(t, ln.Addr().String(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	require.True(t, strings.HasPrefix(out, "HTTP/1.1 200 OK\r\n"), out)
	require.True(t, strings.HasSuffix(out, "\r\n\r\nlast answer"), out)
	require.NoError(t, <-shutdown)
	require.ErrorIs(t, <-served, http.ErrServerClosed)
}

// HandlerScoped holds for the context the engine gives a handler while it
// runs, and for nothing else: a context derived from it (which a plugin's
// deadline can cancel early), the same context after the handler
// returned, and net/http's contexts (cancelled when the client leaves).
func TestHandlerScopedOnlyForTheEnginesOwnContext(t *testing.T) {
	type result struct{ fast, own, derived bool }
	results := make(chan result, 2)
	after := make(chan context.Context, 2)
	addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, fast := w.(*response)
		derived, cancel := context.WithTimeout(r.Context(), time.Minute)
		defer cancel()
		results <- result{fast: fast, own: HandlerScoped(r.Context()), derived: HandlerScoped(derived)}
		after <- r.Context()
	}), nil)
	for _, extra := range []string{"", "Upgrade: h2c\r\nConnection: Upgrade\r\n"} {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		_, err = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n"+extra+"\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		_ = resp.Body.Close()
		_ = c.Close()
		got := <-results
		require.Equal(t, got.fast, got.own, "handler-scoped exactly when the engine serves (fast=%v)", got.fast)
		require.False(t, got.derived, "a derived context is not handler-scoped")
		require.False(t, HandlerScoped(<-after), "not after the handler returned")
	}
	require.False(t, HandlerScoped(context.Background()))
}

// On a kept-alive connection the head of the next request is bounded by
// the head timeout (not the longer idle timeout), and neither deadline
// outlives the head: a handler may read a slow body for longer than both.
func TestDeadlinesBoundTheHeadOnly(t *testing.T) {
	// keptAlive serves one request on a new connection to a server with
	// these timeouts and returns the connection, ready for the next.
	keptAlive := func(s *seen, headTimeout, idleTimeout time.Duration) (net.Conn, *bufio.Reader) {
		addr := start(t, recorder(s), func(srv *Server) {
			srv.Std.ReadHeaderTimeout, srv.Std.IdleTimeout = headTimeout, idleTimeout
		})
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		br := bufio.NewReader(c)
		_, err = io.WriteString(c, "GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		return c, br
	}

	t.Run("a slow body outlasts both timeouts", func(t *testing.T) {
		var s seen
		c, br := keptAlive(&s, 300*time.Millisecond, 500*time.Millisecond)
		_, err := io.WriteString(c, "POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello")
		require.NoError(t, err)
		time.Sleep(900 * time.Millisecond) // the client is slow on purpose
		_, err = io.WriteString(c, "world")
		require.NoError(t, err)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err, "the slow body was read to its end")
		_, _ = io.Copy(io.Discard, resp.Body)
		require.Equal(t, `POST /two "helloworld"`, s.list()[1])
	})

	t.Run("an incomplete head is closed after the head timeout", func(t *testing.T) {
		var s seen
		c, br := keptAlive(&s, 300*time.Millisecond, 5*time.Second)
		_, err := io.WriteString(c, "GET /three HTTP/1.1\r\nHost: x\r\n")
		require.NoError(t, err)
		_ = c.SetReadDeadline(time.Now().Add(4 * time.Second))
		t0 := time.Now()
		_, _ = io.ReadAll(br)
		require.Less(t, time.Since(t0), 2*time.Second, "closed by the head timeout, not the idle one")
	})
}

// A POST that accepts a stream (an MCP call) is served by the engine and
// watched from the first flush of its answer on: a client that leaves
// cancels the request at once, as with net/http, and a client that sends
// its next request meanwhile gets it answered. GET streams still go to
// net/http.
func TestStreamedAnswersAreWatchedFromTheFirstFlush(t *testing.T) {
	type call struct{ fast, scoped bool }
	calls := make(chan call, 8)
	cancelled := make(chan struct{}, 8)
	addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, fast := w.(*response)
		calls <- call{fast: fast, scoped: HandlerScoped(r.Context())}
		_, _ = io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/quick": // no flush: never watched
			_, _ = io.WriteString(w, "data: quick\n\n")
		case "/wait": // flushed, then silent until the client leaves
			_, _ = io.WriteString(w, "data: first\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				cancelled <- struct{}{}
			case <-time.After(5 * time.Second):
			}
		case "/slow": // flushed, then done after the client sent more
			_, _ = io.WriteString(w, "data: first\n\n")
			w.(http.Flusher).Flush()
			time.Sleep(300 * time.Millisecond)
			_, _ = io.WriteString(w, "data: last\n\n")
		}
	}), nil)
	post := func(path string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: x\r\nAccept: application/json, text/event-stream\r\nContent-Length: 2\r\n\r\n{}"
	}

	t.Run("a client that leaves cancels the request", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		_, err = io.WriteString(c, post("/wait"))
		require.NoError(t, err)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "data: first\n", line)
		got := <-calls
		require.True(t, got.fast, "served by the engine")
		require.False(t, got.scoped, "a watched request is not handler-scoped")
		_ = c.Close()
		select {
		case <-cancelled:
		case <-time.After(3 * time.Second):
			t.Fatal("the request was not cancelled when the client left")
		}
	})

	t.Run("the next request sent during a stream is answered", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		br := bufio.NewReader(c)
		_, err = io.WriteString(c, post("/slow"))
		require.NoError(t, err)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		// The stream is open and watched: the next request arrives now.
		_, err = io.WriteString(c, post("/quick"))
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, "data: first\n\ndata: last\n\n", string(body))
		resp, err = http.ReadResponse(br, nil)
		require.NoError(t, err, "the second request was answered on the same connection")
		body, err = io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, "data: quick\n\n", string(body))
		require.True(t, (<-calls).fast)
		require.True(t, (<-calls).fast)
	})

	t.Run("GET streams go to net/http", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		_, err = io.WriteString(c, "GET /quick HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		require.False(t, (<-calls).fast)
	})
}

// A handler may keep the request's header after it returns, as with
// net/http: the MCP SDK reads a posted message's header on another
// goroutine while it handles the message. The engine once reused the
// header map for the connection's next request, which cleared it under
// the reader (and, when both touched it at once, crashed the process:
// "concurrent map read and map write").
// keepAlive dials addr and returns a func that writes one raw request on
// that connection and reads its whole answer; the connection closes when
// the test ends.
func keepAlive(t *testing.T, addr string) func(raw string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	br := bufio.NewReader(c)
	return func(raw string) {
		t.Helper()
		_, err := io.WriteString(c, raw)
		require.NoError(t, err)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func TestHandlersMayKeepTheRequestHeader(t *testing.T) {
	type kept struct {
		h    http.Header
		want string
	}
	keptc := make(chan kept, 8)
	addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keptc <- kept{r.Header, r.Header.Get("X-N")}
		_, _ = w.Write([]byte("ok"))
	}), nil)
	roundTrip := keepAlive(t, addr)
	for i := range 4 {
		roundTrip(fmt.Sprintf("GET /%d HTTP/1.1\r\nHost: x\r\nX-N: %d\r\nX-Other: %d\r\n\r\n", i, i, i))
	}
	for n := range 4 {
		k := <-keptc
		require.Equal(t, fmt.Sprint(n), k.want)
		require.Equal(t, k.want, k.h.Get("X-N"), "request %d's header changed after its handler returned", n)
		require.Equal(t, http.Header{"X-N": {k.want}, "X-Other": {k.want}}, k.h, "request %d's header", n)
	}
}

// A request body read after its handler returned fails, as net/http's
// does (an http.Transport may read a body after RoundTrip returns), and
// never reaches the next request's bytes on the connection.
func TestBodyReadAfterTheHandlerReturnedFails(t *testing.T) {
	bodies := make(chan io.Reader, 2)
	got := make(chan string, 2)
	addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/keep" {
			bodies <- r.Body // and leave it unread
		} else {
			b, _ := io.ReadAll(r.Body)
			got <- string(b)
		}
		_, _ = w.Write([]byte("ok"))
	}), nil)
	send := keepAlive(t, addr)
	roundTrip := func(path, body string) {
		send(fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", path, len(body), body))
	}
	roundTrip("/keep", "abc")
	stale := <-bodies
	// Once the connection serves the next request, the first is over.
	roundTrip("/next", "xyz")
	require.Equal(t, "xyz", <-got, "the next request's body")
	n, err := stale.Read(make([]byte, 16))
	require.Zero(t, n)
	require.ErrorIs(t, err, http.ErrBodyReadAfterClose)
}

// BenchmarkKeepAliveGET is the engine's cost of one bodiless request on a
// keep-alive connection, client included (allocs/op is what to watch).
func BenchmarkKeepAliveGET(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	srv := &Server{Std: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})}}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(b, err)
	defer c.Close()
	req := []byte("GET /bench HTTP/1.1\r\nHost: x\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	buf := make([]byte, 4096)
	roundTrip := func() int {
		_, err := c.Write(req)
		require.NoError(b, err)
		n := 0
		for !bytes.HasSuffix(buf[:n], []byte("\r\n\r\nok")) {
			m, err := c.Read(buf[n:])
			require.NoError(b, err)
			n += m
		}
		return n
	}
	roundTrip()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		roundTrip()
	}
}
