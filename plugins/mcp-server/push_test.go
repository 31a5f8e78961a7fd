package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/front"
)

// A notification for a stream another instance holds is never stored
// here while that instance holds the stream, even when the handoff to it
// fails: the holder's event ids would fall one behind the stored events,
// and a client resuming with Last-Event-ID would see an event twice. It is
// retried, and stored here, once, when no other instance holds the stream.
func TestFailedHandoffDoesNotPutEventIDsOutOfStep(t *testing.T) {
	backend := startBackend(t)
	_, rc := startRedis(t)
	opts := testOptions()
	opts.handoffWait = 50 * time.Millisecond
	g := startGateway(t, newTestHost(t, "gw-a", rc), restDefinition("weather", backend.srv.URL, ""), opts)
	endpoint := g.url("/mcp-servers/weather")

	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(initializeBody))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sid := resp.Header.Get(front.SessionIDHeader)
	require.NotEmpty(t, sid)
	status, body := rawPOST(t, endpoint, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	require.Equal(t, http.StatusAccepted, status, body)
	s := g.inst.localSession(sid)
	require.NotNil(t, s)

	ctx := t.Context()
	// Run by require.Never and Eventually on their own goroutines, which
	// may outlive the test: no t here.
	stored := func() int {
		n := 0
		for data, err := range g.inst.events.After(context.Background(), sid, "", -1) {
			if err != nil {
				return -1
			}
			if len(data) > 0 {
				n++
			}
		}
		return n
	}
	// Another instance ("ghost", which does not answer handoffs) holds
	// the client's GET stream.
	require.NoError(t, g.inst.registry.HoldStreams(ctx, []string{sid}, "ghost", time.Minute))
	require.True(t, g.inst.pushToStreamHolder(s, "notifications/message", &mcp.LoggingMessageParams{Level: "info", Data: "hello"}))
	require.Never(t, func() bool { return stored() > 0 }, 500*time.Millisecond, 20*time.Millisecond,
		"the event was stored behind the back of the instance holding the stream")

	// The holder lets go of the stream: the message is kept here, once.
	require.NoError(t, g.inst.registry.ReleaseStream(ctx, sid, "ghost"))
	require.Eventually(t, func() bool { return stored() == 1 }, 5*time.Second, 20*time.Millisecond)
	require.Never(t, func() bool { return stored() != 1 }, 300*time.Millisecond, 20*time.Millisecond)
}
