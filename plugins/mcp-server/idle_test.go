package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// rawLegacy is a legacy SSE stream read on the test's goroutine, so that
// the client side adds no goroutine per stream.
type rawLegacy struct {
	conn     net.Conn
	r        *bufio.Reader
	endpoint string
}

// dialLegacy opens GET <sse> on a connection of its own and reads the
// endpoint event.
func dialLegacy(t *testing.T, base string) *rawLegacy {
	t.Helper()
	u, err := url.Parse(base)
	require.NoError(t, err)
	conn, err := net.Dial("tcp", u.Host)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	_, err = fmt.Fprintf(conn, "GET /mcp-servers/weather/sse HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", u.Host)
	require.NoError(t, err)
	l := &rawLegacy{conn: conn, r: bufio.NewReader(conn)}
	resp, err := http.ReadResponse(l.r, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	l.r = bufio.NewReader(resp.Body) // undoes the chunked framing
	name, data := l.event(t)
	require.Equal(t, "endpoint", name)
	l.endpoint = data
	return l
}

// event reads the next event, skipping keep-alive comments.
func (l *rawLegacy) event(t *testing.T) (name, data string) {
	t.Helper()
	require.NoError(t, l.conn.SetReadDeadline(time.Now().Add(20*time.Second)))
	for {
		line, err := l.r.ReadString('\n')
		require.NoError(t, err)
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && name != "":
			return name, data
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
}

// initialize starts the session over POSTs to the announced endpoint.
func (l *rawLegacy) initialize(t *testing.T, base string) {
	t.Helper()
	require.Equal(t, http.StatusAccepted, postTo(t, http.DefaultClient, base+l.endpoint,
		`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`))
	name, data := l.event(t)
	require.Equal(t, "message", name)
	require.Contains(t, data, `"protocolVersion":"2024-11-05"`)
	require.Equal(t, http.StatusAccepted, postTo(t, http.DefaultClient, base+l.endpoint, `{"jsonrpc":"2.0","method":"notifications/initialized"}`))
}

// serveSSEGoroutines counts the goroutines running the legacy SSE handler.
func serveSSEGoroutines() int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "(*instance).serveSSE(")
}

// Idle legacy sessions are what a gateway holds by the thousand: each must
// cost the SDK's reader and nothing of net/http (no handler goroutine, no
// background reader), which is most of their memory.
func TestIdleLegacySessionsHoldNoHandlerGoroutine(t *testing.T) {
	backend := startBackend(t)
	g := startGateway(t, newTestHost(t, "gw-a", nil), restDefinition("weather", backend.srv.URL, ""), testOptions())
	base := g.url("")
	// A first session warms up what is shared (client connections of the
	// POSTs, the server's background work).
	dialLegacy(t, base).initialize(t, base)
	before := runtime.NumGoroutine()

	const n = 40
	streams := make([]*rawLegacy, n)
	for i := range streams {
		streams[i] = dialLegacy(t, base)
		streams[i].initialize(t, base)
	}
	require.Equal(t, n+1, g.inst.ActiveSessions()["sse"])
	require.Zero(t, serveSSEGoroutines(), "an idle legacy stream keeps no handler running")
	require.Eventually(t, func() bool {
		return runtime.NumGoroutine()-before <= n+n/4
	}, 5*time.Second, 20*time.Millisecond, "goroutines per idle legacy session: want 1 (the SDK's reader), have %.2f",
		float64(runtime.NumGoroutine()-before)/n)

	// The streams still carry messages, keep-alive comments included.
	l := streams[n/2]
	require.Equal(t, http.StatusAccepted, postTo(t, http.DefaultClient, base+l.endpoint, `{"jsonrpc":"2.0","id":"p","method":"ping"}`))
	name, data := l.event(t)
	require.Equal(t, "message", name)
	require.Contains(t, data, `"id":"p"`)
	require.NoError(t, l.conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	comment, err := l.r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, ": ping\n", comment)

	// Clients that go away are released at the next keep-alive comments.
	for _, s := range streams {
		require.NoError(t, s.conn.Close())
	}
	require.Eventually(t, func() bool { return g.inst.ActiveSessions()["sse"] == 1 }, 10*time.Second, 20*time.Millisecond)
	// The record is deleted right after the session is released.
	require.Eventually(t, func() bool {
		_, err := g.inst.registry.Get(context.Background(), sidOf(l.endpoint))
		return err != nil
	}, 10*time.Second, 20*time.Millisecond, "the ended session left the registry")
}

func sidOf(endpoint string) string {
	_, sid, _ := strings.Cut(endpoint, "sessionId=")
	return sid
}

// A configuration change closes the instance that served a legacy stream
// (its table is retired once no request runs on it, and the stream holds
// none): the stream must go on, its messages served through the next
// version's instance, until its client goes away.
func TestLegacyStreamOutlivesItsInstanceClose(t *testing.T) {
	backend := startBackend(t)
	_, rc := startRedis(t)
	def := restDefinition("weather", backend.srv.URL, "")
	old := startGateway(t, newTestHost(t, "gw-a", rc), def, testOptions())
	next := startGateway(t, newTestHost(t, "gw-a", rc), def, testOptions())
	require.Eventually(t, old.inst.handoff.Subscribed, 5*time.Second, 10*time.Millisecond)

	l := dialLegacy(t, old.url(""))
	l.initialize(t, old.url(""))
	require.NoError(t, old.inst.Close())

	require.Equal(t, http.StatusAccepted, postTo(t, http.DefaultClient, next.url(l.endpoint),
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"n":7}}}`))
	name, data := l.event(t)
	require.Equal(t, "message", name)
	require.Contains(t, data, "echo 7")
	select {
	case <-old.inst.ctx.Done():
		t.Fatal("the closed instance stopped while its legacy stream is open")
	default:
	}

	// The client goes away: the stream ends, and the instance with it.
	require.NoError(t, l.conn.Close())
	require.Eventually(t, func() bool { return old.inst.ctx.Err() != nil }, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		return postTo(t, http.DefaultClient, next.url(l.endpoint), `{"jsonrpc":"2.0","id":8,"method":"ping"}`) == http.StatusNotFound
	}, 10*time.Second, 20*time.Millisecond)
}

// Drain (shutdown) ends a legacy stream with the end of its body, not a cut.
func TestDrainEndsLegacyStreamCleanly(t *testing.T) {
	backend := startBackend(t)
	g := startGateway(t, newTestHost(t, "gw-a", nil), restDefinition("weather", backend.srv.URL, ""), testOptions())
	l := dialLegacy(t, g.url(""))
	l.initialize(t, g.url(""))
	g.inst.Drain()
	require.NoError(t, l.conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err := io.Copy(io.Discard, l.r)
	require.False(t, errors.Is(err, io.ErrUnexpectedEOF), "the stream was cut: %v", err)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return g.inst.ActiveSessions()["sse"] == 0 }, 5*time.Second, 10*time.Millisecond)
}

// A client that closed its connection is released at the next keep-alive
// pass, by looking at the connection, not by a write that fails. The
// client here only shuts down its sending side, so that writes to it keep
// succeeding: only the check can notice that it went away.
func TestLegacyClientThatClosedIsReleasedAtTheNextKeepAlive(t *testing.T) {
	backend := startBackend(t)
	g := startGateway(t, newTestHost(t, "gw-a", nil), restDefinition("weather", backend.srv.URL, ""), testOptions())
	base := g.url("")
	stay := dialLegacy(t, base)
	stay.initialize(t, base)
	l := dialLegacy(t, base)
	l.initialize(t, base)
	require.Equal(t, 2, g.inst.ActiveSessions()["sse"])

	require.NoError(t, l.conn.(*net.TCPConn).CloseWrite())
	require.Eventually(t, func() bool { return g.inst.ActiveSessions()["sse"] == 1 }, 10*time.Second, 20*time.Millisecond,
		"the session of the client that closed is released")
	require.Eventually(t, func() bool {
		_, err := g.inst.registry.Get(context.Background(), sidOf(l.endpoint))
		return err != nil
	}, 10*time.Second, 20*time.Millisecond, "the ended session left the registry")
	require.Equal(t, http.StatusNotFound, postTo(t, http.DefaultClient, base+l.endpoint, `{"jsonrpc":"2.0","id":1,"method":"ping"}`))

	// The stream ended with the connection; the other one goes on.
	require.NoError(t, l.conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err := io.Copy(io.Discard, l.r)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the stream is still open")
	require.Equal(t, http.StatusAccepted, postTo(t, http.DefaultClient, base+stay.endpoint, `{"jsonrpc":"2.0","id":"s","method":"ping"}`))
	name, data := stay.event(t)
	require.Equal(t, "message", name)
	require.Contains(t, data, `"id":"s"`)
}
