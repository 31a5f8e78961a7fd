package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/plugintest"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/front"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/restmcp"
)

// upstreamMCP is an MCP server built with the Go SDK, behind mcp-proxy.
type upstreamMCP struct {
	srv         *httptest.Server
	handler     atomic.Pointer[http.Handler]
	initialized atomic.Int64 // notifications/initialized received
	server      *mcp.Server
	sse         bool
}

func startUpstream(t *testing.T, sse bool) *upstreamMCP {
	t.Helper()
	u := &upstreamMCP{sse: sse}
	s := mcp.NewServer(&mcp.Implementation{Name: "upstream", Version: "2.0"}, &mcp.ServerOptions{
		Instructions:       "upstream instructions",
		InitializedHandler: func(context.Context, *mcp.InitializedRequest) { u.initialized.Add(1) },
	})
	type askIn struct {
		Question string `json:"question"`
	}
	mcp.AddTool(s, &mcp.Tool{Name: "ask", Description: "Ask the client's model"},
		func(ctx context.Context, req *mcp.CallToolRequest, in askIn) (*mcp.CallToolResult, any, error) {
			res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{
				Messages:  []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: in.Question}}},
				MaxTokens: 16,
			})
			if err != nil {
				return nil, nil, fmt.Errorf("sampling failed: %w", err)
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "model said: " + res.Content.(*mcp.TextContent).Text}}}, nil, nil
		})
	type addIn struct {
		A int `json:"a"`
		B int `json:"b"`
	}
	type addOut struct {
		Sum int `json:"sum"`
	}
	mcp.AddTool(s, &mcp.Tool{Name: "add", Description: "Add two numbers"},
		func(ctx context.Context, req *mcp.CallToolRequest, in addIn) (*mcp.CallToolResult, addOut, error) {
			return nil, addOut{Sum: in.A + in.B}, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "slow", Description: "Reports progress and logs"},
		func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
			if tok := req.Params.GetProgressToken(); tok != nil {
				for i := 1; i <= 2; i++ {
					_ = req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: tok, Progress: float64(i), Total: 2})
				}
			}
			_ = req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: "warning", Logger: "upstream", Data: "halfway"})
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "done"}}}, nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "hidden", Description: "Not in the allowlist"},
		func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "should not run"}}}, nil, nil
		})
	s.AddPrompt(&mcp.Prompt{Name: "greet", Description: "Greets"}, func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: "hello " + req.Params.Arguments["name"]}}}}, nil
	})
	s.AddResource(&mcp.Resource{URI: "file:///readme", Name: "readme", MIMEType: "text/plain"}, func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, Text: "read me"}}}, nil
	})
	u.server = s
	u.reset()
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*u.handler.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

// reset replaces the upstream's handler: every session is forgotten, as
// when the upstream restarts.
func (u *upstreamMCP) reset() {
	var h http.Handler
	if u.sse {
		h = mcp.NewSSEHandler(func(*http.Request) *mcp.Server { return u.server }, nil)
	} else {
		h = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return u.server }, nil)
	}
	u.handler.Store(&h)
}

// sessions counts the upstream's open sessions.
func (u *upstreamMCP) sessions() int {
	n := 0
	for range u.server.Sessions() {
		n++
	}
	return n
}

func (u *upstreamMCP) endpoint() string {
	if u.sse {
		return u.srv.URL + "/sse"
	}
	return u.srv.URL + "/mcp"
}

func proxyDefinition(u *upstreamMCP) string {
	transport := "http"
	if u.sse {
		transport = "sse"
	}
	return fmt.Sprintf(`{
  "name": "upstream", "type": "mcp-proxy",
  "server": {"name": "upstream", "transport": %q, "mcpServerURL": %q},
  "tools": [{"name": "ask", "description": "Ask the model (through Gatehouse)"}, {"name": "add"}, {"name": "slow"}]
}`, transport, u.endpoint())
}

// samplingClient answers sampling requests and records notifications.
type samplingClient struct {
	mu       sync.Mutex
	progress []float64
	logs     []string
	sampled  atomic.Int64
}

func (c *samplingClient) options() *mcp.ClientOptions {
	return &mcp.ClientOptions{
		CreateMessageHandler: func(ctx context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			c.sampled.Add(1)
			q := req.Params.Messages[0].Content.(*mcp.TextContent).Text
			return &mcp.CreateMessageResult{Role: "assistant", Model: "test-model", Content: &mcp.TextContent{Text: "42 (to: " + q + ")"}}, nil
		},
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			c.mu.Lock()
			c.progress = append(c.progress, req.Params.Progress)
			c.mu.Unlock()
		},
		LoggingMessageHandler: func(_ context.Context, req *mcp.LoggingMessageRequest) {
			c.mu.Lock()
			c.logs = append(c.logs, fmt.Sprint(req.Params.Data))
			c.mu.Unlock()
		},
	}
}

func TestProxyPassesEverythingThroughIncludingSampling(t *testing.T) {
	for _, sse := range []bool{false, true} {
		t.Run(map[bool]string{false: "upstream http", true: "upstream sse"}[sse], func(t *testing.T) {
			up := startUpstream(t, sse)
			_, rc := startRedis(t)
			g := startGateway(t, newTestHost(t, "gw-a", rc), proxyDefinition(up), testOptions())
			sc := &samplingClient{}
			cs := connect(t, g.url("/mcp-servers/upstream"), nil, sc.options())
			ctx := context.Background()

			ir := cs.InitializeResult()
			require.Equal(t, "upstream instructions", ir.Instructions)
			require.Equal(t, "upstream", ir.ServerInfo.Name)
			require.NotNil(t, ir.Capabilities.Tools)
			require.NotNil(t, ir.Capabilities.Prompts)
			require.NotNil(t, ir.Capabilities.Resources)

			lt, err := cs.ListTools(ctx, nil)
			require.NoError(t, err)
			desc := map[string]string{}
			for _, tl := range lt.Tools {
				desc[tl.Name] = tl.Description
			}
			require.Equal(t, map[string]string{
				"ask":  "Ask the model (through Gatehouse)",
				"add":  "Add two numbers",
				"slow": "Reports progress and logs",
			}, desc, "the tools list is an allowlist with overridden descriptions")

			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "add", Arguments: map[string]any{"a": 2, "b": 3}})
			require.NoError(t, err)
			require.Equal(t, map[string]any{"sum": float64(5)}, res.StructuredContent)

			res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "ask", Arguments: map[string]any{"question": "meaning of life?"}})
			require.NoError(t, err)
			require.False(t, res.IsError, "%+v", res.Content)
			require.Equal(t, "model said: 42 (to: meaning of life?)", textOf(t, res), "the sampling request reached the client and its answer returned")
			require.Equal(t, int64(1), sc.sampled.Load())

			_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "hidden"})
			require.ErrorContains(t, err, "unknown tool")

			require.NoError(t, cs.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: "info"}))
			params := &mcp.CallToolParams{Name: "slow"}
			params.SetProgressToken("p1")
			res, err = cs.CallTool(ctx, params)
			require.NoError(t, err)
			require.Equal(t, "done", textOf(t, res))
			require.Eventually(t, func() bool {
				sc.mu.Lock()
				defer sc.mu.Unlock()
				return len(sc.progress) == 2 && len(sc.logs) == 1
			}, 5*time.Second, 10*time.Millisecond, "progress and log notifications pass through")
			sc.mu.Lock()
			require.Equal(t, []float64{1, 2}, sc.progress)
			require.Equal(t, []string{"halfway"}, sc.logs)
			sc.mu.Unlock()

			pr, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "greet", Arguments: map[string]string{"name": "Ada"}})
			require.NoError(t, err)
			require.Equal(t, "hello Ada", pr.Messages[0].Content.(*mcp.TextContent).Text)
			rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "file:///readme"})
			require.NoError(t, err)
			require.Equal(t, "read me", rr.Contents[0].Text)
			rl, err := cs.ListResources(ctx, nil)
			require.NoError(t, err)
			require.Len(t, rl.Resources, 1)

			tools, err := g.inst.Tools(ctx)
			require.NoError(t, err)
			require.Len(t, tools, 3)
			require.Equal(t, 3, g.inst.MCPStatus().Tools)

			// Ending the client session ends its upstream session.
			before := up.sessions()
			require.NoError(t, cs.Close())
			require.Eventually(t, func() bool { return up.sessions() == before-1 }, 5*time.Second, 10*time.Millisecond)
		})
	}
}

func TestProxySessionMovesBetweenInstancesAndSurvivesUpstreamRestart(t *testing.T) {
	up := startUpstream(t, false)
	_, rc := startRedis(t)
	def := proxyDefinition(up)
	a := startGateway(t, newTestHost(t, "gw-a", rc), def, testOptions())
	b := startGateway(t, newTestHost(t, "gw-b", rc), def, testOptions())

	sw := &switchingTransport{first: mustURL(t, a.srv.URL), then: mustURL(t, b.srv.URL), n: 2, base: http.DefaultTransport}
	sc := &samplingClient{}
	cs := connect(t, a.url("/mcp-servers/upstream"), &http.Client{Transport: sw}, sc.options())
	ctx := context.Background()
	require.Equal(t, int64(1), up.initialized.Load())

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "add", Arguments: map[string]any{"a": 1, "b": 1}})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"sum": float64(2)}, res.StructuredContent)
	require.Equal(t, int64(1), up.initialized.Load(), "B resumed the upstream session instead of starting one")

	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "ask", Arguments: map[string]any{"question": "from B"}})
	require.NoError(t, err)
	require.Equal(t, "model said: 42 (to: from B)", textOf(t, res), "sampling works on the instance that rebuilt the session")

	// The upstream restarts and forgets its sessions: the next call
	// re-initializes transparently.
	up.reset()
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "add", Arguments: map[string]any{"a": 20, "b": 22}})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"sum": float64(42)}, res.StructuredContent)
	require.GreaterOrEqual(t, up.initialized.Load(), int64(2))

	// The new upstream session is recorded: A resumes it without a new
	// initialize.
	inits := up.initialized.Load()
	sw.onlyTo.Store(mustURL(t, a.srv.URL))
	a.inst.sessionEndedElsewhere(cs.ID()) // drop A's stale copy, as idle eviction would
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "add", Arguments: map[string]any{"a": 1, "b": 2}})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"sum": float64(3)}, res.StructuredContent)
	require.Equal(t, inits, up.initialized.Load())
}

func TestProxyServesStatelessClients(t *testing.T) {
	up := startUpstream(t, false)
	g := startGateway(t, newTestHost(t, "gw-a", nil), proxyDefinition(up), testOptions())
	c := mcp.NewClient(&mcp.Implementation{Name: "new-client", Version: "1"}, nil)
	ctx := context.Background()
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: g.url("/mcp-servers/upstream")}, nil)
	require.NoError(t, err)
	defer cs.Close()
	require.Equal(t, "2026-07-28", cs.InitializeResult().ProtocolVersion)
	require.NotNil(t, cs.InitializeResult().Capabilities.Tools, "discover shows the upstream's capabilities")
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "add", Arguments: map[string]any{"a": 4, "b": 5}})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"sum": float64(9)}, res.StructuredContent)
}

// answerRouter sends the client's answers to server requests to one
// gateway and everything else to another.
type answerRouter struct {
	answers, rest *url.URL
	base          http.RoundTripper
}

func (a answerRouter) RoundTrip(r *http.Request) (*http.Response, error) {
	target := a.rest
	if r.Body != nil {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if answersOnly(body) {
			target = a.answers
		}
	}
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host, r2.Host = target.Scheme, target.Host, target.Host
	return a.base.RoundTrip(r2)
}

func TestProxySamplingAnswerPostedToAnotherInstance(t *testing.T) {
	up := startUpstream(t, false)
	_, rc := startRedis(t)
	def := proxyDefinition(up)
	a := startGateway(t, newTestHost(t, "gw-a", rc), def, testOptions())
	b := startGateway(t, newTestHost(t, "gw-b", rc), def, testOptions())
	require.Eventually(t, func() bool { return a.inst.handoff.Subscribed() && b.inst.handoff.Subscribed() }, 5*time.Second, 10*time.Millisecond)

	sc := &samplingClient{}
	hc := &http.Client{Transport: answerRouter{answers: mustURL(t, a.srv.URL), rest: mustURL(t, b.srv.URL), base: http.DefaultTransport}}
	cs := connect(t, b.url("/mcp-servers/upstream"), hc, sc.options())
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "ask", Arguments: map[string]any{"question": "via A?"}})
	require.NoError(t, err)
	require.Equal(t, "model said: 42 (to: via A?)", textOf(t, res))
	// Two answers went through A: roots/list (the proxy copies the client's
	// roots upstream after initialize) and the sampling request.
	requireCounterSoon(t, a.host.reg, "gatehouse_mcp_cross_instance_handoffs_total", map[string]string{"result": "sent"}, 2)
	requireCounterSoon(t, b.host.reg, "gatehouse_mcp_cross_instance_handoffs_total", map[string]string{"result": "received"}, 2)
}

func TestProxyForwardsProgressBeforeTheResult(t *testing.T) {
	for _, sse := range []bool{false, true} {
		t.Run(map[bool]string{false: "upstream http", true: "upstream sse"}[sse], func(t *testing.T) {
			up := startUpstream(t, sse)
			_, rc := startRedis(t)
			g := startGateway(t, newTestHost(t, "gw-a", rc), proxyDefinition(up), testOptions())
			endpoint := g.url("/mcp-servers/upstream")
			post := func(sid, body string) (*http.Response, <-chan sseEvent) {
				version := ""
				if sid != "" {
					version = "2025-11-25"
				}
				resp := mcpPost(t, endpoint, sid, version, body)
				t.Cleanup(func() { resp.Body.Close() })
				return resp, readEvents(resp.Body)
			}
			resp, events := post("", initializeBody)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			for range events {
			}
			sid := resp.Header.Get(front.SessionIDHeader)
			require.NotEmpty(t, sid)
			resp, _ = post(sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
			require.Equal(t, http.StatusAccepted, resp.StatusCode)

			// A client like the TypeScript SDK drops progress that comes
			// after the result: every call must see both steps first.
			for i := range 20 {
				id := 100 + i
				_, events := post(sid, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"slow","arguments":{},"_meta":{"progressToken":"t%d"}}}`, id, i))
				var order []string
				for ev := range events {
					switch {
					case strings.Contains(ev.data, `"notifications/progress"`):
						order = append(order, "progress")
					case strings.Contains(ev.data, fmt.Sprintf(`"id":%d`, id)):
						require.Contains(t, ev.data, "done")
						order = append(order, "result")
					}
				}
				require.Equal(t, []string{"progress", "progress", "result"}, order, "call %d", i)
			}
		})
	}
}

// firstWrite calls wrote once the response's first bytes are written.
type firstWrite struct {
	http.ResponseWriter
	once  *sync.Once
	wrote func()
}

func (w *firstWrite) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.once.Do(w.wrote)
	return n, err
}

func (w *firstWrite) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestProxyNotificationReachesTheStreamHeldByAnotherInstance(t *testing.T) {
	up := startUpstream(t, false)
	// Know when the gateway's upstream client holds the upstream's
	// standalone stream, on which the upstream announces list changes.
	upstreamStream := make(chan struct{})
	var once sync.Once
	inner := *up.handler.Load()
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w = &firstWrite{ResponseWriter: w, once: &once, wrote: func() { close(upstreamStream) }}
		}
		inner.ServeHTTP(w, r)
	})
	up.handler.Store(&h)

	_, rc := startRedis(t)
	def := proxyDefinition(up)
	a := startGateway(t, newTestHost(t, "gw-a", rc), def, testOptions())
	b := startGateway(t, newTestHost(t, "gw-b", rc), def, testOptions())
	require.Eventually(t, func() bool { return a.inst.handoff.Subscribed() && b.inst.handoff.Subscribed() }, 5*time.Second, 10*time.Millisecond)

	// The session starts on B, whose upstream client receives what the
	// upstream sends outside requests.
	req, _ := http.NewRequest(http.MethodPost, b.url("/mcp-servers/upstream"), strings.NewReader(initializeBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	sid := resp.Header.Get(front.SessionIDHeader)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.NotEmpty(t, sid)
	status, _ := rawPOST(t, b.url("/mcp-servers/upstream"), sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	require.Equal(t, http.StatusAccepted, status)
	select {
	case <-upstreamStream:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream client on B did not open the upstream's standalone stream")
	}

	// The client's standalone stream is on A.
	get, _ := http.NewRequest(http.MethodGet, a.url("/mcp-servers/upstream"), nil)
	get.Header.Set("Accept", "text/event-stream")
	get.Header.Set(front.SessionIDHeader, sid)
	get.Header.Set(front.ProtocolVersionHeader, "2025-11-25")
	events := openStream(t, get)
	next := func(what string) sseEvent {
		t.Helper()
		timer := time.NewTimer(5 * time.Second)
		defer timer.Stop()
		for {
			select {
			case ev, ok := <-events:
				require.True(t, ok, "A's stream ended while waiting for %s", what)
				if ev.name == "message" {
					return ev
				}
			case <-timer.C:
				t.Fatalf("%s did not arrive on the stream held by A", what)
			}
		}
	}

	// The upstream's tools change: B receives the notification, the
	// client gets it live on A, once.
	up.server.AddTool(&mcp.Tool{Name: "late", InputSchema: map[string]any{"type": "object"}},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{}, nil
		})
	tools := next("tools/list_changed")
	require.Contains(t, tools.data, `"notifications/tools/list_changed"`)
	up.server.AddResource(&mcp.Resource{URI: "file:///late", Name: "late"},
		func(context.Context, *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{}, nil
		})
	resources := next("resources/list_changed")
	require.Contains(t, resources.data, `"notifications/resources/list_changed"`, "tools/list_changed came once, then this")
	require.Eventually(t, func() bool {
		return counterValue(t, b.host.reg, "gatehouse_mcp_cross_instance_handoffs_total", map[string]string{"result": "sent"}) == 2
	}, 5*time.Second, 10*time.Millisecond, "B handed both over")

	// The event store holds each once, so that the client resumes after
	// either on any instance.
	stored, err := rc.LRange(context.Background(), "gatehouse:mcp:eventlist:{"+sid+"}:-", 0, -1).Result()
	require.NoError(t, err)
	require.Len(t, stored, 2)
	resume, _ := http.NewRequest(http.MethodGet, b.url("/mcp-servers/upstream"), nil)
	resume.Header = get.Header.Clone()
	resume.Header.Set("Last-Event-ID", tools.id)
	events = openStream(t, resume)
	replayed := next("the replayed resources/list_changed")
	require.Equal(t, resources.id, replayed.id)
	require.Equal(t, resources.data, replayed.data)
}

func TestProxyUpstreamURLCredentialsStayOutOfLogsAndErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // the upstream is down: every error quotes its URL
	secrets := []string{"s3cret-pa55", "k-0123-secret"}
	upstream := "http://svc:s3cret-pa55@" + addr + "/mcp?region=eu&api_key=k-0123-secret"
	def := fmt.Sprintf(`{"name": "locked", "type": "mcp-proxy",
	  "server": {"name": "locked", "transport": "http", "mcpServerURL": %q}}`, upstream)

	logs := &plugintest.Buffer{}
	host := newTestHost(t, "gw-a", nil)
	host.logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g := startGateway(t, host, def, testOptions())
	noSecrets := func(what, text string) {
		t.Helper()
		for _, s := range secrets {
			require.NotContains(t, text, s, "%s shows a credential of the upstream URL", what)
		}
	}

	status, body := rawPOST(t, g.url("/mcp-servers/locked"), "", initializeBody)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "connect to upstream MCP server http://svc:********@"+addr+"/mcp?region=eu&api_key=********")
	noSecrets("the client's error", body)

	_, err = g.inst.CallTool(context.Background(), "add", map[string]any{"a": 1, "b": 2})
	require.Error(t, err)
	noSecrets("the admin API's tool call error", err.Error())

	st := g.inst.MCPStatus()
	require.Contains(t, st.LastError, addr)
	noSecrets("the health the admin API shows", st.LastError)

	require.Contains(t, logs.String(), "upstream MCP server unavailable")
	noSecrets("the log", logs.String())

	// A definition refused for its URL does not quote the credentials.
	d, err := restmcp.Parse([]byte(`{"name": "bad", "type": "mcp-proxy",
	  "server": {"name": "bad", "transport": "http", "mcpServerURL": "ftp://svc:s3cret-pa55@host/mcp?token=k-0123-secret"}}`), "application/json")
	require.NoError(t, err)
	_, err = restmcp.Compile(d)
	require.ErrorContains(t, err, "ftp://svc:********@host/mcp?token=********")
	noSecrets("the validation error", err.Error())
}
