package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

// End-to-end tests with real MCP clients against the real binary: the
// official TypeScript SDK (tests/mcp-clients/client.mjs) and the MCP
// Inspector CLI, installed once per test process with npm ci from the
// committed package-lock.json.

const weatherServer = "weather-server" // server.name in mcp-openweather.yaml

var (
	npmOnce sync.Once
	npmErr  error
)

// mcpClientsDir returns tests/mcp-clients with its node_modules installed:
// npm ci runs once per test process when node_modules is missing or older
// than package-lock.json.
func mcpClientsDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(testenv.Root(t), "tests", "mcp-clients")
	npmOnce.Do(func() {
		if _, err := exec.LookPath("npm"); err != nil {
			npmErr = errors.New("npm is not installed: the MCP client tests run the official TypeScript SDK and the MCP Inspector " +
				"from tests/mcp-clients; install Node.js 20+ with npm (for example 'apt-get install nodejs npm') and run the tests again")
			return
		}
		lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
		if err != nil {
			npmErr = fmt.Errorf("tests/mcp-clients/package-lock.json: %w", err)
			return
		}
		// npm writes node_modules/.package-lock.json at every install.
		if inst, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err == nil && !inst.ModTime().Before(lock.ModTime()) {
			return
		}
		start := time.Now()
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			npmErr = fmt.Errorf("npm ci in tests/mcp-clients: %w (is the npm registry reachable?)\n%s", err, out)
			return
		}
		t.Logf("npm ci in tests/mcp-clients took %s", time.Since(start).Round(time.Millisecond))
	})
	if npmErr != nil {
		t.Fatal(npmErr)
	}
	return dir
}

// nodeEnv is the environment of node children: a temporary HOME, so that
// the Inspector keeps its catalog and storage out of the user's home.
func nodeEnv(t *testing.T) []string {
	home := t.TempDir()
	return append(os.Environ(), "HOME="+home, "MCP_CATALOG_PATH="+filepath.Join(home, "mcp.json"), "NO_COLOR=1")
}

// inspector runs the MCP Inspector CLI and returns what it printed on
// stdout (JSON).
func inspector(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npx", append([]string{"--no-install", "@modelcontextprotocol/inspector", "--cli"}, args...)...)
	cmd.Dir = mcpClientsDir(t)
	cmd.Env = nodeEnv(t)
	var stderr testenv.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	require.NoError(t, err, "inspector %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), out, stderr.String())
	t.Logf("inspector %s: %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return out
}

// clientOutput is what client.mjs prints in one-shot mode.
type clientOutput struct {
	OK              bool      `json:"ok"`
	Error           string    `json:"error"`
	SessionID       string    `json:"sessionId"`
	ProtocolVersion string    `json:"protocolVersion"`
	Endpoint        string    `json:"endpoint"`
	Tools           []mcpTool `json:"tools"`
	Call            struct {
		Result callResult `json:"result"`
		Text   string     `json:"text"`
	} `json:"call"`
}

type mcpTool struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	InputSchema struct {
		Type       string `json:"type"`
		Properties map[string]struct {
			Type        string `json:"type"`
			Description string `json:"description"`
			Default     any    `json:"default"`
		} `json:"properties"`
		Required []string `json:"required"`
	} `json:"inputSchema"`
}

type callResult struct {
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	IsError bool `json:"isError"`
}

func (r callResult) text() string {
	var b strings.Builder
	for _, c := range r.Content {
		if c.Type == "text" {
			b.WriteString(c.Text)
		}
	}
	return b.String()
}

// runClient runs client.mjs once in one-shot mode.
func runClient(t *testing.T, args ...string) clientOutput {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"client.mjs"}, args...)...)
	cmd.Dir = mcpClientsDir(t)
	cmd.Env = nodeEnv(t)
	var stderr testenv.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	out, _ := cmd.Output()
	var res clientOutput
	require.NoError(t, json.Unmarshal(out, &res), "client.mjs %s printed no JSON\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), out, stderr.String())
	require.True(t, res.OK, "client.mjs %s: %s\nstderr:\n%s", strings.Join(args, " "), res.Error, stderr.String())
	t.Logf("client.mjs %s: %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return res
}

// tsClient is client.mjs in interactive mode: one TypeScript SDK client
// session driven command by command.
type tsClient struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *testenv.Buffer
	exited chan struct{}

	mu      sync.Mutex
	nextID  int
	replies map[int]chan json.RawMessage
	events  []map[string]any
	fatal   string // what client.mjs printed before it gave up
}

// gone fails the test: client.mjs exited.
func (c *tsClient) gone(what string) {
	c.t.Helper()
	c.mu.Lock()
	fatal := c.fatal
	c.mu.Unlock()
	c.t.Fatalf("client.mjs exited %s: %s\nstderr:\n%s", what, fatal, c.stderr.String())
}

func startTSClient(t *testing.T, endpoint, transport string, extra ...string) *tsClient {
	t.Helper()
	args := append([]string{"client.mjs", "--interactive", "--url", endpoint, "--transport", transport}, extra...)
	cmd := exec.Command("node", args...)
	cmd.Dir = mcpClientsDir(t)
	cmd.Env = nodeEnv(t)
	c := &tsClient{t: t, cmd: cmd, stderr: &testenv.Buffer{}, exited: make(chan struct{}),
		replies: map[int]chan json.RawMessage{}}
	cmd.Stderr = c.stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	c.stdin, err = cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	go func() {
		defer close(c.exited)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			c.line(sc.Bytes())
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = c.stdin.Close()
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-c.exited
		}
		if t.Failed() {
			t.Logf("client.mjs stderr:\n%s", c.stderr.String())
		}
	})
	return c
}

func (c *tsClient) line(b []byte) {
	var head struct {
		ID    *int   `json:"id"`
		Event string `json:"event"`
	}
	if json.Unmarshal(b, &head) != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if head.Event != "" {
		var ev map[string]any
		_ = json.Unmarshal(b, &ev)
		c.events = append(c.events, ev)
		return
	}
	if head.ID != nil {
		if ch := c.replies[*head.ID]; ch != nil {
			ch <- append(json.RawMessage(nil), b...)
		}
		return
	}
	// A line without id: client.mjs could not connect.
	c.fatal = string(b)
}

// send sends a command without waiting; wait returns its answer.
func (c *tsClient) send(op map[string]any) int {
	c.t.Helper()
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.replies[id] = make(chan json.RawMessage, 1)
	c.mu.Unlock()
	op["id"] = id
	line, err := json.Marshal(op)
	require.NoError(c.t, err)
	_, err = c.stdin.Write(append(line, '\n'))
	require.NoError(c.t, err, "client.mjs is gone\nstderr:\n%s", c.stderr.String())
	return id
}

// wait waits for the answer to command id and decodes it into out; it
// fails the test when the command failed.
func (c *tsClient) wait(id int, out any) {
	c.t.Helper()
	require.NoError(c.t, c.result(id, out), "client.mjs command %d failed", id)
}

// try sends a command and returns its error instead of failing the test.
func (c *tsClient) try(op map[string]any, out any) error {
	c.t.Helper()
	return c.result(c.send(op), out)
}

// result waits for the answer to command id; a command that failed in the
// client is an error, a client that is gone or silent fails the test.
func (c *tsClient) result(id int, out any) error {
	c.t.Helper()
	c.mu.Lock()
	ch := c.replies[id]
	c.mu.Unlock()
	select {
	case raw := <-ch:
		var head struct {
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		}
		require.NoError(c.t, json.Unmarshal(raw, &head))
		if !head.OK {
			return errors.New(head.Error)
		}
		if out != nil {
			require.NoError(c.t, json.Unmarshal(raw, out))
		}
		return nil
	case <-c.exited:
		c.gone(fmt.Sprintf("before answering command %d", id))
	case <-time.After(2 * time.Minute):
		c.t.Fatalf("client.mjs did not answer command %d in 2 minutes\nstderr:\n%s", id, c.stderr.String())
	}
	return nil
}

func (c *tsClient) do(op map[string]any, out any) {
	c.t.Helper()
	c.wait(c.send(op), out)
}

// call calls a tool and returns its result.
func (c *tsClient) call(name string, args map[string]any) callResult {
	c.t.Helper()
	var out struct{ Result callResult }
	c.do(map[string]any{"op": "call", "name": name, "args": args}, &out)
	return out.Result
}

// eventsOf returns the events of a kind so far.
func (c *tsClient) eventsOf(kind string) []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	for _, ev := range c.events {
		if ev["event"] == kind {
			out = append(out, ev)
		}
	}
	return out
}

type clientStats struct {
	Responses  int `json:"responses"`
	Distinct   int `json:"distinct"`
	Duplicates []struct {
		ID any `json:"id"`
		N  int `json:"n"`
	} `json:"duplicates"`
	Errors []string `json:"errors"`
}

// weatherUpstream stands in for api.openweathermap.org: it answers
// /data/2.5/weather and records the queries it saw.
type weatherUpstream struct {
	*httptest.Server
	mu      sync.Mutex
	queries []url.Values
	hits    atomic.Int64
	// A call for the city "gated" closes arrived and waits for proceed.
	arrived chan struct{}
	proceed chan struct{}
	once    sync.Once
}

func startWeatherUpstream(t *testing.T) *weatherUpstream {
	t.Helper()
	u := &weatherUpstream{arrived: make(chan struct{}), proceed: make(chan struct{})}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		if r.URL.Path != "/data/2.5/weather" {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("city") == "gated" {
			u.once.Do(func() { close(u.arrived) })
			select {
			case <-u.proceed:
			case <-r.Context().Done():
				return
			case <-time.After(time.Minute):
				http.Error(w, "the test never let the gated call proceed", http.StatusGatewayTimeout)
				return
			}
		}
		u.mu.Lock()
		if len(u.queries) < 16 {
			u.queries = append(u.queries, r.URL.Query())
		}
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"weather":[{"description":"light rain"}],"main":{"temp":21.5,"humidity":80},"wind":{"speed":3.2},"name":"Lima"}`)
	}))
	t.Cleanup(func() {
		u.CloseClientConnections()
		u.Close()
	})
	return u
}

func (u *weatherUpstream) firstQuery() url.Values {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.queries) == 0 {
		return nil
	}
	return u.queries[0]
}

// weatherDefinition is the Higress definition mcp-openweather.yaml as it is,
// pointed at the local upstream.
func weatherDefinition(t *testing.T, upstreamURL string) string {
	t.Helper()
	// The project's own copy of the Higress definitions (see its README).
	data, err := os.ReadFile(filepath.Join(testenv.Root(t), "plugins", "mcp-server", "restmcp", "testdata", "higress", "mcp-openweather.yaml"))
	require.NoError(t, err)
	def := strings.ReplaceAll(string(data), "http://api.openweathermap.org", upstreamURL)
	require.NotEqual(t, string(data), def)
	return def
}

func createWeatherServer(t *testing.T, api *testenv.Client, upstreamURL string) {
	t.Helper()
	var e apiErr
	resp := api.DoContentType(t, "POST", "/mcp-servers", "application/yaml", weatherDefinition(t, upstreamURL), &e)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "create the weather MCP server: %+v", e.Error)
}

// checkWeatherTools asserts the tools of mcp-openweather.yaml as a client
// sees them: names, descriptions, argument types, defaults and required.
func checkWeatherTools(t *testing.T, tools []mcpTool) {
	t.Helper()
	byName := map[string]mcpTool{}
	for _, tool := range tools {
		byName[tool.Name] = tool
	}
	require.Len(t, tools, 2, "tools: %+v", tools)
	w, ok := byName["get_weather"]
	require.True(t, ok, "get_weather listed: %+v", tools)
	require.Equal(t, "获取指定城市的实时天气信息", w.Description)
	require.Equal(t, "object", w.InputSchema.Type)
	require.Equal(t, []string{"city"}, w.InputSchema.Required)
	require.Len(t, w.InputSchema.Properties, 3)
	require.Equal(t, "string", w.InputSchema.Properties["city"].Type)
	require.Equal(t, "城市名称（支持中文或英文，如：苏州、suzhou）", w.InputSchema.Properties["city"].Description)
	require.Equal(t, "metric", w.InputSchema.Properties["units"].Default)
	require.Equal(t, "zh_cn", w.InputSchema.Properties["lang"].Default)
	f, ok := byName["get_weather_forecast"]
	require.True(t, ok, "get_weather_forecast listed: %+v", tools)
	require.Equal(t, []string{"city"}, f.InputSchema.Required)
	require.Equal(t, "integer", f.InputSchema.Properties["days"].Type)
	require.EqualValues(t, 5, f.InputSchema.Properties["days"].Default)
}

// checkWeatherText asserts the text the response template renders.
func checkWeatherText(t *testing.T, text, city string) {
	t.Helper()
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(text), &got), "the response template renders JSON: %q", text)
	require.Equal(t, map[string]any{"description": "light rain", "temperature": 21.5, "humidity": 80.0, "wind_speed": 3.2, "city": city}, got)
}

// startMCPGatehouse starts gatehouse with Redis and logs in.
func startMCPGatehouse(t *testing.T, redis *testenv.Redis) (*testenv.Gatehouse, *testenv.Client) {
	t.Helper()
	g := testenv.StartGatehouse(t, testenv.Options{Env: append(bootstrapEnv(), "GATEHOUSE_REDIS_ADDR="+redis.Addr)})
	return g, g.Login(t, adminUser, adminPass)
}

func TestMCPClientsRESTToMCP(t *testing.T) {
	mcpClientsDir(t)
	redis := testenv.StartRedis(t)
	g, api := startMCPGatehouse(t, redis)
	upstream := startWeatherUpstream(t)
	createWeatherServer(t, api, upstream.URL)
	endpoint := g.GatewayURL + "/mcp-servers/" + weatherServer
	sse := endpoint + "/sse"

	t.Run("TypeScriptSDKStreamableHTTP", func(t *testing.T) {
		out := runClient(t, "--url", endpoint, "--transport", "http", "--call", "get_weather", "--args", `{"city":"Lima"}`)
		require.NotEmpty(t, out.SessionID, "a Streamable HTTP session")
		require.Equal(t, "2025-11-25", out.ProtocolVersion, "the client's newest version is negotiated, not an old fixed one")
		checkWeatherTools(t, out.Tools)
		require.False(t, out.Call.Result.IsError, out.Call.Text)
		checkWeatherText(t, out.Call.Text, "Lima")
		q := upstream.firstQuery()
		require.Equal(t, "Lima", q.Get("city"))
		require.Equal(t, "metric", q.Get("units"), "argument defaults reach the upstream")
		require.Equal(t, "zh_cn", q.Get("lang"))
	})
	t.Run("TypeScriptSDKLegacySSE", func(t *testing.T) {
		out := runClient(t, "--url", sse, "--transport", "sse", "--call", "get_weather", "--args", `{"city":"Suzhou","units":"imperial"}`)
		require.True(t, strings.HasPrefix(out.Endpoint, g.GatewayURL+"/mcp-servers/"+weatherServer+"/message?sessionId="), out.Endpoint)
		checkWeatherTools(t, out.Tools)
		checkWeatherText(t, out.Call.Text, "Suzhou")
	})
	for _, transport := range []string{"http", "sse"} {
		target := endpoint
		if transport == "sse" {
			target = sse
		}
		t.Run("InspectorCLI/"+transport, func(t *testing.T) {
			var list struct{ Tools []mcpTool }
			require.NoError(t, json.Unmarshal(inspector(t, target, "--transport", transport, "--method", "tools/list"), &list))
			checkWeatherTools(t, list.Tools)

			var res callResult
			require.NoError(t, json.Unmarshal(inspector(t, target, "--transport", transport, "--method", "tools/call",
				"--tool-name", "get_weather", "--tool-arg", "city=Hangzhou"), &res))
			require.False(t, res.IsError, res.text())
			checkWeatherText(t, res.text(), "Hangzhou")
		})
	}
}

// goUpstream is an MCP server written with the Go SDK, fronted by an
// mcp-proxy server. Its tool "ask" asks the client's model (sampling), and
// "steps" reports four progress steps before it answers.
type goUpstream struct {
	*httptest.Server
	asked atomic.Int64
}

func startGoUpstream(t *testing.T) *goUpstream {
	t.Helper()
	u := &goUpstream{}
	s := mcp.NewServer(&mcp.Implementation{Name: "go-upstream", Version: "1.2.3"}, nil)
	type askIn struct {
		Question string `json:"question" jsonschema:"what to ask the model"`
	}
	mcp.AddTool(s, &mcp.Tool{Name: "ask", Description: "Ask the client's model a question"},
		func(ctx context.Context, req *mcp.CallToolRequest, in askIn) (*mcp.CallToolResult, any, error) {
			u.asked.Add(1)
			res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{
				Messages:  []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: in.Question}}},
				MaxTokens: 32,
			})
			if err != nil {
				return nil, nil, fmt.Errorf("sampling: %w", err)
			}
			text, _ := res.Content.(*mcp.TextContent)
			if text == nil {
				return nil, nil, fmt.Errorf("sampling answered %T, not text", res.Content)
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "the model (" + res.Model + ") said: " + text.Text}}}, nil, nil
		})
	type echoIn struct {
		Text string `json:"text"`
	}
	mcp.AddTool(s, &mcp.Tool{Name: "echo", Description: "Echo the text"},
		func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "echo: " + in.Text}}}, nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "steps", Description: "Report four progress steps"},
		func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
			if tok := req.Params.GetProgressToken(); tok != nil {
				for i := 1; i <= 4; i++ {
					if err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: tok, Progress: float64(i), Total: 4, Message: fmt.Sprintf("step %d", i)}); err != nil {
						return nil, nil, err
					}
				}
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "steps done"}}}, nil, nil
		})
	u.Server = httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	t.Cleanup(func() {
		// Gatehouse may still hold a stream open: Close alone would wait.
		u.CloseClientConnections()
		u.Close()
	})
	return u
}

func createProxyServer(t *testing.T, api *testenv.Client, name, upstreamURL string) {
	t.Helper()
	create(t, api, "/mcp-servers", map[string]any{
		"name": name, "type": "mcp-proxy",
		"server": map[string]any{"name": name, "transport": "http", "mcpServerURL": upstreamURL + "/mcp"},
	})
}

func toolNames(tools []mcpTool) []string {
	var out []string
	for _, tool := range tools {
		out = append(out, tool.Name)
	}
	return out
}

func TestMCPClientsProxySamplingRoundTrip(t *testing.T) {
	mcpClientsDir(t)
	redis := testenv.StartRedis(t)
	g, api := startMCPGatehouse(t, redis)
	upstream := startGoUpstream(t)
	createProxyServer(t, api, "go-upstream", upstream.URL)
	endpoint := g.GatewayURL + "/mcp-servers/go-upstream"

	for _, transport := range []string{"http", "sse"} {
		t.Run(transport, func(t *testing.T) {
			target := endpoint
			if transport == "sse" {
				target += "/sse"
			}
			c := startTSClient(t, target, transport, "--sampling")
			var session struct {
				Server struct{ Name, Version string }
			}
			c.do(map[string]any{"op": "session"}, &session)
			require.Equal(t, "go-upstream", session.Server.Name, "the client sees the upstream's identity")

			var list struct{ Tools []mcpTool }
			c.do(map[string]any{"op": "list"}, &list)
			require.ElementsMatch(t, []string{"ask", "echo", "steps"}, toolNames(list.Tools))

			asked := upstream.asked.Load()
			res := c.call("ask", map[string]any{"question": "what is 6 x 7 over " + transport + "?"})
			require.False(t, res.IsError, res.text())
			require.Equal(t, "the model (gatehouse-e2e-model) said: sampled(what is 6 x 7 over "+transport+"?)", res.text(),
				"the upstream's sampling request reached the TypeScript client and its answer came back")
			require.Equal(t, asked+1, upstream.asked.Load())
			samplings := c.eventsOf("sampling")
			require.Len(t, samplings, 1, "one sampling request: %v", samplings)
			require.Equal(t, "what is 6 x 7 over "+transport+"?", samplings[0]["text"])
			require.EqualValues(t, 32, samplings[0]["maxTokens"])

			require.Equal(t, "echo: hi", c.call("echo", map[string]any{"text": "hi"}).text())
		})
	}
}

// TestMCPClientsProxyProgressBeforeResult checks that the progress
// notifications an upstream sends during a tool call reach the client
// before the call's result; the TypeScript SDK drops any that come after.
func TestMCPClientsProxyProgressBeforeResult(t *testing.T) {
	mcpClientsDir(t)
	redis := testenv.StartRedis(t)
	g, api := startMCPGatehouse(t, redis)
	upstream := startGoUpstream(t)
	createProxyServer(t, api, "go-upstream", upstream.URL)
	c := startTSClient(t, g.GatewayURL+"/mcp-servers/go-upstream", "http")
	late := 0
	for range 20 {
		id := c.send(map[string]any{"op": "call", "name": "steps", "progress": true})
		var out struct{ Result callResult }
		c.wait(id, &out)
		require.Equal(t, "steps done", out.Result.text())
		var steps []float64
		for _, ev := range c.eventsOf("progress") {
			if int(ev["id"].(float64)) == id {
				steps = append(steps, ev["progress"].(float64))
			}
		}
		if len(steps) != 4 {
			late++
		}
	}
	var stats clientStats
	c.do(map[string]any{"op": "stats"}, &stats)
	require.Zero(t, late, "calls whose four progress steps did not all arrive before the result; client errors: %v", stats.Errors)
	require.Empty(t, stats.Errors)
}

// balancer is a load balancer in front of gatehouse instances: route picks
// the backend of each request. It records what it forwarded, and it can
// withhold what one backend sends (as a network that stalls) until the
// connection to that backend breaks, then drop the client's connection.
type balancer struct {
	*httptest.Server
	route     func(r *http.Request, body []byte) string
	transport *http.Transport

	frozen   atomic.Pointer[string] // backend whose answers are withheld
	withheld testenv.Buffer
	passed   testenv.Buffer // what reached the clients
	release  chan struct{}  // closed when withheld connections may be dropped

	mu   sync.Mutex
	seen []*forwarded
}

type forwarded struct {
	Backend     string
	Method      string
	SessionID   string
	LastEventID string
	Status      int
	Passed      int    // bytes that reached the client
	Withheld    int    // bytes that did not
	End         string // how the forwarding ended
}

func startBalancer(t *testing.T, route func(r *http.Request, body []byte) string) *balancer {
	t.Helper()
	b := &balancer{
		transport: &http.Transport{MaxIdleConnsPerHost: 2000, MaxConnsPerHost: 0, ResponseHeaderTimeout: time.Minute},
		release:   make(chan struct{}),
		route:     route,
	}
	b.Server = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(func() {
		b.CloseClientConnections()
		b.Close()
		b.transport.CloseIdleConnections()
	})
	return b
}

func (b *balancer) serve(w http.ResponseWriter, r *http.Request) {
	// The body is read first: the server may close it once the answer
	// starts, while the transport would still be reading it.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	target := b.route(r, body)
	f := &forwarded{Backend: target, Method: r.Method, SessionID: r.Header.Get("Mcp-Session-Id"), LastEventID: r.Header.Get("Last-Event-ID")}
	b.mu.Lock()
	b.seen = append(b.seen, f)
	b.mu.Unlock()
	note := func(fn func(*forwarded)) {
		b.mu.Lock()
		fn(f)
		b.mu.Unlock()
	}
	tu, _ := url.Parse(target)
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host, out.Host = tu.Scheme, tu.Host, tu.Host
	out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	if len(body) == 0 {
		out.Body = http.NoBody
	}
	resp, err := b.transport.RoundTrip(out)
	if err != nil {
		note(func(f *forwarded) { f.End = "round trip: " + err.Error() })
		http.Error(w, "balancer: "+err.Error(), http.StatusBadGateway)
		return
	}
	note(func(f *forwarded) { f.Status = resp.StatusCode })
	defer func() { _ = resp.Body.Close() }()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	held := false
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if fr := b.frozen.Load(); fr != nil && *fr == target {
				held = true
				_, _ = b.withheld.Write(buf[:n])
				note(func(f *forwarded) { f.Withheld += n })
			} else {
				if _, werr := w.Write(buf[:n]); werr != nil {
					note(func(f *forwarded) { f.End = "client: " + werr.Error() })
					return
				}
				_ = rc.Flush()
				_, _ = b.passed.Write(buf[:n])
				note(func(f *forwarded) { f.Passed += n })
			}
		}
		if err == nil {
			continue
		}
		note(func(f *forwarded) {
			f.End = fmt.Sprintf("%s backend: %v (client context: %v)", time.Now().Format("15:04:05.000"), err, r.Context().Err())
		})
		if held {
			// The client never gets what was withheld: its connection
			// breaks once the test says so.
			select {
			case <-b.release:
			case <-r.Context().Done():
			}
			panic(http.ErrAbortHandler)
		}
		if !errors.Is(err, io.EOF) {
			panic(http.ErrAbortHandler)
		}
		return
	}
}

func (b *balancer) forwarded() []forwarded {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]forwarded, len(b.seen))
	for i, f := range b.seen {
		out[i] = *f
	}
	return out
}

// String lists what the balancer forwarded, for failure messages.
func (b *balancer) String() string {
	var sb strings.Builder
	for _, f := range b.forwarded() {
		fmt.Fprintf(&sb, "%s %s session=%q last-event-id=%q -> %d, %d bytes passed, %d withheld, %s\n",
			f.Method, f.Backend, f.SessionID, f.LastEventID, f.Status, f.Passed, f.Withheld, f.End)
	}
	return sb.String()
}

// waitServes waits until g serves the MCP server at path (a POST without
// a session is refused by the server, not by the router).
func waitServes(t *testing.T, g *testenv.Gatehouse, path string) {
	t.Helper()
	testenv.WaitFor(t, 10*time.Second, g.GatewayURL+path+" to be served", func() bool {
		req, _ := http.NewRequest("POST", g.GatewayURL+path, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusBadRequest && strings.Contains(string(body), "Mcp-Session-Id")
	})
}

// metricValue returns the sum of a metric's samples on an instance whose
// lines contain every one of match.
func metricValue(t *testing.T, g *testenv.Gatehouse, token, name string, match ...string) float64 {
	t.Helper()
	req, _ := http.NewRequest("GET", g.ConsoleURL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	data, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	sum := 0.0
lines:
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		for _, m := range match {
			if !strings.Contains(line, m) {
				continue lines
			}
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
			sum += v
		}
	}
	return sum
}

func TestMCPClientsTwoInstancesOneRedis(t *testing.T) {
	mcpClientsDir(t)
	redis := testenv.StartRedis(t)
	a, b, api := startPair(t, redis)
	weather := startWeatherUpstream(t)
	createWeatherServer(t, api, weather.URL)
	goUp := startGoUpstream(t)
	createProxyServer(t, api, "go-upstream", goUp.URL)
	for _, g := range []*testenv.Gatehouse{a, b} {
		waitServes(t, g, "/mcp-servers/"+weatherServer)
		waitServes(t, g, "/mcp-servers/go-upstream")
	}

	t.Run("SessionInitializedOnAUsedOnB", func(t *testing.T) {
		// Requests without a session (initialize) go to A, all others to B.
		lb := startBalancer(t, func(r *http.Request, _ []byte) string {
			if r.Header.Get("Mcp-Session-Id") == "" {
				return a.GatewayURL
			}
			return b.GatewayURL
		})
		rebuilds := metricValue(t, b, api.Token, "gatehouse_mcp_session_rebuilds_total")
		c := startTSClient(t, lb.URL+"/mcp-servers/"+weatherServer, "http")
		var session struct{ SessionID string }
		c.do(map[string]any{"op": "session"}, &session)
		var list struct{ Tools []mcpTool }
		c.do(map[string]any{"op": "list"}, &list)
		checkWeatherTools(t, list.Tools)
		checkWeatherText(t, c.call("get_weather", map[string]any{"city": "Chengdu"}).text(), "Chengdu")

		var onA, onB int
		for _, f := range lb.forwarded() {
			switch f.Backend {
			case a.GatewayURL:
				onA++
				require.Empty(t, f.SessionID)
			case b.GatewayURL:
				onB++
				require.Equal(t, session.SessionID, f.SessionID, "B got the session A created")
			}
		}
		require.Equal(t, 1, onA, "only initialize went to A")
		require.GreaterOrEqual(t, onB, 3, "initialized, tools/list and tools/call went to B")
		require.Equal(t, rebuilds+1, metricValue(t, b, api.Token, "gatehouse_mcp_session_rebuilds_total"), "B rebuilt the session once from Redis")
	})

	t.Run("LegacySSEOnAThousandPostsToB", func(t *testing.T) {
		// The SSE stream is held by A; every POST …/message lands on B.
		lb := startBalancer(t, func(r *http.Request, _ []byte) string {
			if r.Method == http.MethodGet {
				return a.GatewayURL
			}
			return b.GatewayURL
		})
		handoffs := metricValue(t, b, api.Token, "gatehouse_mcp_cross_instance_handoffs_total", `result="sent"`)
		c := startTSClient(t, lb.URL+"/mcp-servers/"+weatherServer+"/sse", "sse")
		before := weather.hits.Load()
		const n = 1000
		var burst struct {
			Succeeded   int
			FailedCount int
			Failed      []map[string]any
			Texts       []string
			MS          int
		}
		start := time.Now()
		c.do(map[string]any{"op": "burst", "n": n, "name": "get_weather", "args": map[string]any{"city": "c{i}"}}, &burst)
		t.Logf("%d concurrent tools/call posted to B, answered on A's stream: %s (client-side %d ms)", n, time.Since(start).Round(time.Millisecond), burst.MS)
		require.Equal(t, 0, burst.FailedCount, "failed calls: %v", burst.Failed)
		require.Equal(t, n, burst.Succeeded)
		cities := map[string]int{}
		for _, text := range burst.Texts {
			var got struct{ City string }
			require.NoError(t, json.Unmarshal([]byte(text), &got), text)
			cities[got.City]++
		}
		for i := range n {
			require.Equal(t, 1, cities[fmt.Sprintf("c%d", i)], "the answer to call %d arrived once, with its own arguments", i)
		}
		c.do(map[string]any{"op": "ping"}, nil) // after any stray duplicate on the stream
		var stats clientStats
		c.do(map[string]any{"op": "stats"}, &stats)
		require.Empty(t, stats.Duplicates, "no answer arrived twice")
		require.Empty(t, stats.Errors)
		require.Equal(t, stats.Distinct, stats.Responses)
		require.Equal(t, int64(n), weather.hits.Load()-before, "each call reached the upstream exactly once")
		for _, f := range lb.forwarded() {
			if f.Method == http.MethodPost {
				require.Equal(t, b.GatewayURL, f.Backend)
			}
		}
		require.GreaterOrEqual(t, metricValue(t, b, api.Token, "gatehouse_mcp_cross_instance_handoffs_total", `result="sent"`)-handoffs, float64(n),
			"B handed every message to A through Redis")
	})

	t.Run("SamplingAnswerPostedToB", func(t *testing.T) {
		// The proxied session lives on A, which sends the sampling request
		// on its stream; the client's answer (a JSON-RPC response) lands on
		// B, which hands it to A.
		lb := startBalancer(t, func(r *http.Request, body []byte) string {
			if r.Method == http.MethodPost && bytes.Contains(body, []byte(`"result"`)) && !bytes.Contains(body, []byte(`"method"`)) {
				return b.GatewayURL
			}
			return a.GatewayURL
		})
		c := startTSClient(t, lb.URL+"/mcp-servers/go-upstream", "http", "--sampling")
		res := c.call("ask", map[string]any{"question": "which instance?"})
		require.False(t, res.IsError, res.text())
		require.Equal(t, "the model (gatehouse-e2e-model) said: sampled(which instance?)", res.text())
		// The tool's result can reach the client before B's 202 reaches
		// the balancer.
		var toB []forwarded
		testenv.WaitFor(t, 10*time.Second, "B's answer to the posted sampling answer", func() bool {
			toB = toB[:0]
			for _, f := range lb.forwarded() {
				if f.Backend == b.GatewayURL {
					toB = append(toB, f)
				}
			}
			return len(toB) > 0 && toB[0].End != ""
		})
		require.Len(t, toB, 1, "only the sampling answer went to B:\n%s", lb)
		require.Equal(t, http.StatusAccepted, toB[0].Status, "B accepted the answer:\n%s", lb)
	})

	t.Run("AKilledMidStreamClientResumesOnB", func(t *testing.T) {
		var target atomic.Pointer[string]
		target.Store(&a.GatewayURL)
		lb := startBalancer(t, func(*http.Request, []byte) string { return *target.Load() })
		c := startTSClient(t, lb.URL+"/mcp-servers/"+weatherServer, "http")
		checkWeatherText(t, c.call("get_weather", map[string]any{"city": "before"}).text(), "before")

		// A call whose upstream answers only when the test says so: A holds
		// its response stream, and the client has its priming event.
		primes := strings.Count(lb.passed.String(), "event: prime")
		callID := c.send(map[string]any{"op": "call", "name": "get_weather", "args": map[string]any{"city": "gated"}})
		select {
		case <-weather.arrived:
		case <-time.After(30 * time.Second):
			t.Fatal("the gated call never reached the upstream")
		}
		testenv.WaitFor(t, 10*time.Second, "the priming event of the call's stream to reach the client", func() bool {
			return strings.Count(lb.passed.String(), "event: prime") > primes
		})

		// The network to A stalls: what A sends from now on never reaches
		// the client, and new connections go to B. A sends the answer (and
		// keeps it in Redis), then dies.
		lb.frozen.Store(&a.GatewayURL)
		target.Store(&b.GatewayURL)
		frozenAt := time.Now()
		close(weather.proceed)
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(lb.withheld.String(), `\"city\": \"gated\"`) {
			if time.Now().After(deadline) {
				t.Fatalf("A did not send the answer of the gated call in 30s (frozen at %s)\nforwarded:\n%s\nwithheld:\n%s\npassed:\n%s\nclient errors: %v",
					frozenAt.Format("15:04:05.000"), lb, lb.withheld.String(), lb.passed.String(), c.eventsOf("error"))
			}
			time.Sleep(20 * time.Millisecond)
		}
		a.Signal(syscall.SIGKILL)
		require.Equal(t, -1, a.Wait(10*time.Second), "A was killed")
		close(lb.release)

		var out struct{ Result callResult }
		c.wait(callID, &out)
		checkWeatherText(t, out.Result.text(), "gated")

		var resumed []forwarded
		for _, f := range lb.forwarded() {
			if f.Backend == b.GatewayURL && f.Method == http.MethodGet && f.LastEventID != "" {
				resumed = append(resumed, f)
			}
		}
		require.NotEmpty(t, resumed, "the client resumed on B with Last-Event-ID:\n%s", lb)

		// The session goes on on B.
		checkWeatherText(t, c.call("get_weather", map[string]any{"city": "after"}).text(), "after")
		var stats clientStats
		c.do(map[string]any{"op": "stats"}, &stats)
		require.Empty(t, stats.Duplicates, "no answer arrived twice")
		for _, e := range stats.Errors {
			// The SDK reports the streams A's death broke, and resumes them.
			require.Contains(t, e, "SSE stream disconnected", "client errors: %v", stats.Errors)
		}
	})
}

func TestMCPClientsRedisRestartedMidSession(t *testing.T) {
	mcpClientsDir(t)
	redis := testenv.StartRedis(t)
	a, b, api := startPair(t, redis)
	weather := startWeatherUpstream(t)
	createWeatherServer(t, api, weather.URL)
	waitServes(t, a, "/mcp-servers/"+weatherServer)
	waitServes(t, b, "/mcp-servers/"+weatherServer)
	var target atomic.Pointer[string]
	target.Store(&a.GatewayURL)
	lb := startBalancer(t, func(*http.Request, []byte) string { return *target.Load() })

	c := startTSClient(t, lb.URL+"/mcp-servers/"+weatherServer, "http")
	checkWeatherText(t, c.call("get_weather", map[string]any{"city": "before"}).text(), "before")

	// Redis restarts empty: the registry and the event store lost
	// everything. The session goes on on A, which holds it.
	redis.Stop()
	// While Redis is down the session goes on where it is held, and a new
	// session is refused with an error that names Redis.
	checkWeatherText(t, c.call("get_weather", map[string]any{"city": "down"}).text(), "down")
	req, _ := http.NewRequest("POST", a.GatewayURL+"/mcp-servers/"+weatherServer, strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"probe","version":"1"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), "is Redis running", "the error says what to check")
	redis.Start()
	start := time.Now()
	var res struct{ Result callResult }
	testenv.WaitFor(t, 30*time.Second, "the session to serve calls on A after the Redis restart", func() bool {
		err := c.try(map[string]any{"op": "call", "name": "get_weather", "args": map[string]any{"city": "after"}}, &res)
		if err != nil {
			t.Logf("call after the Redis restart: %v", err)
		}
		return err == nil
	})
	checkWeatherText(t, res.Result.text(), "after")
	t.Logf("the session served a call %s after Redis came back", time.Since(start).Round(time.Millisecond))

	// A wrote the session back to Redis: B can take it over.
	var session struct{ SessionID string }
	c.do(map[string]any{"op": "session"}, &session)
	testenv.WaitFor(t, 40*time.Second, "the session record to be back in Redis (B serves it)", func() bool {
		req, _ := http.NewRequest("POST", b.GatewayURL+"/mcp-servers/"+weatherServer, strings.NewReader(`{"jsonrpc":"2.0","id":"probe","method":"ping"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Session-Id", session.SessionID)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	t.Logf("the session record was back in Redis %s after the restart", time.Since(start).Round(time.Millisecond))
	target.Store(&b.GatewayURL)
	checkWeatherText(t, c.call("get_weather", map[string]any{"city": "on B"}).text(), "on B")
}
