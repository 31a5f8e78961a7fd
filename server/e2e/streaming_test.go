package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/websocket"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

func routeTo(t *testing.T, api *testenv.Client, name, prefix, url string) {
	t.Helper()
	require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/services", map[string]any{"name": name, "endpoints": []map[string]any{{"url": url}}}, nil).StatusCode)
	require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/routes", map[string]any{"name": name, "path": map[string]string{"type": "prefix", "value": prefix}, "service": name}, nil).StatusCode)
}

func TestSSEFirstByteArrivesBeforeTheUpstreamFinishes(t *testing.T) {
	release := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = fmt.Fprint(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = fmt.Fprint(w, "data: last\n\n")
	}))
	t.Cleanup(upstream.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})

	g := testenv.StartGatehouse(t, testenv.Options{Env: bootstrapEnv()})
	routeTo(t, g.Login(t, adminUser, adminPass), "events", "/events", upstream.URL)

	resp, err := http.Get(g.GatewayURL + "/events/stream")
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	r := bufio.NewReader(resp.Body)
	// The upstream is still holding the response open: the first event
	// must come through without waiting for the end.
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "data: first\n", line)
	close(release)
	rest := ""
	for !strings.Contains(rest, "data: last") {
		l, err := r.ReadString('\n')
		require.NoError(t, err)
		rest += l
	}
}

func TestWebSocketEchoThroughTheGateway(t *testing.T) {
	upstream := httptest.NewServer(websocket.Handler(func(c *websocket.Conn) {
		for {
			var msg string
			if err := websocket.Message.Receive(c, &msg); err != nil {
				return
			}
			if err := websocket.Message.Send(c, "echo: "+msg); err != nil {
				return
			}
		}
	}))
	t.Cleanup(upstream.Close)

	g := testenv.StartGatehouse(t, testenv.Options{Env: bootstrapEnv()})
	routeTo(t, g.Login(t, adminUser, adminPass), "ws", "/ws", upstream.URL)

	wsURL := "ws" + strings.TrimPrefix(g.GatewayURL, "http") + "/ws/socket"
	conn, err := websocket.Dial(wsURL, "", g.GatewayURL)
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	for i := range 3 {
		require.NoError(t, websocket.Message.Send(conn, fmt.Sprintf("hello %d", i)))
		var got string
		require.NoError(t, websocket.Message.Receive(conn, &got))
		require.Equal(t, fmt.Sprintf("echo: hello %d", i), got)
	}
}
