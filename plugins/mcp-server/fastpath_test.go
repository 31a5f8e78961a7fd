package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/internal/front"
)

// The differential test of the tools/call fast path: the same request
// sequences go to a gateway with the fast path and to one without
// (toolCallFastPath: false, every message through the SDK), and everything
// a client or an operator can see must be the same: statuses, headers and
// answers, event ids, the events stored for Last-Event-ID, the session
// record, metrics and rate-limit counts.

// diffDefinition adds to restDefinition a slow tool (for cancellation),
// a tool that reads the client's request (getRealIP) and a rate limit.
func diffDefinition(backend, slow string, fast bool) string {
	extra := fmt.Sprintf(`, "rateLimit": {"toolCallsPerMinute": 12}, "toolCallFastPath": %t`, fast)
	def := restDefinition("weather", backend, extra)
	slowTool := fmt.Sprintf(`{"name": "slow", "description": "Waits for the client to give up",
     "requestTemplate": {"url": %q, "method": "GET"}},
    {"name": "whoami", "description": "The client's address, as the upstream saw it",
     "requestTemplate": {"url": %q, "method": "GET",
                         "headers": [{"key": "X-Api-Key", "value": "{{.config.apiKey}}"}, {"key": "Authorization", "value": "{{getRealIP}}"}]},
     "responseTemplate": {"body": "{{.city}} at {{.auth}}"}},
    {"name": "secret_tool"`, slow, backend+"/weather?city=me")
	def = strings.Replace(def, `{"name": "secret_tool"`, slowTool, 1)
	return strings.Replace(def, `"allowTools": ["get_weather", "echo"]`, `"allowTools": ["get_weather", "echo", "slow", "whoami"]`, 1)
}

type diffPair struct {
	fast, sdk *gateway
}

// startDiffPair starts the two gateways, each on its own Redis when
// onRedis, else each on its own memory.
func startDiffPair(t testing.TB, onRedis ...bool) *diffPair {
	t.Helper()
	var rcFast, rcSDK redis.UniversalClient
	if len(onRedis) > 0 && onRedis[0] {
		_, rcFast = startRedis(t)
		_, rcSDK = startRedis(t)
	}
	backend := startBackend(t)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	return &diffPair{
		fast: startGateway(t, newTestHost(t, "gw", rcFast), diffDefinition(backend.srv.URL, slow.URL+"/slow", true), testOptions()),
		sdk:  startGateway(t, newTestHost(t, "gw", rcSDK), diffDefinition(backend.srv.URL, slow.URL+"/slow", false), testOptions()),
	}
}

// step is one request of a sequence. Its session header is the sequence's
// session (set by an initialize step) unless session is set.
type step struct {
	method  string
	body    string
	session string // "none": no header; "": the sequence's
	version string // Mcp-Protocol-Version; "": the sequence's
	resume  int    // GET: Last-Event-ID of this earlier step's first event (1-based)
	async   bool   // sent without waiting; the next step goes on, collected at the end
	header  map[string]string
}

// transcript is what a client saw of one sequence, normalized: session
// and stream ids replaced by their order of appearance.
type transcript struct {
	lines  []string
	sid    string
	stream []string // stream ids, in order of appearance
	events []string // the first event id of each step, for resume
}

var (
	eventIDRe = regexp.MustCompile(`id: ([A-Z2-7]{26})_(\d+)`)
	// retryRe matches the time a rate-limited client is told to wait.
	retryRe = regexp.MustCompile(`retry in [0-9hms.]+|"retryAfterSeconds":\d+`)
)

func (tr *transcript) norm(s string) string {
	s = retryRe.ReplaceAllString(s, "RETRY")
	if tr.sid != "" {
		s = strings.ReplaceAll(s, tr.sid, "SESSION")
	}
	return eventIDRe.ReplaceAllStringFunc(s, func(m string) string {
		sub := eventIDRe.FindStringSubmatch(m)
		i := -1
		for j, id := range tr.stream {
			if id == sub[1] {
				i = j
			}
		}
		if i < 0 {
			tr.stream = append(tr.stream, sub[1])
			i = len(tr.stream) - 1
		}
		return fmt.Sprintf("id: STREAM%d_%s", i, sub[2])
	})
}

func runSequence(t *testing.T, g *gateway, version string, steps []step) *transcript {
	t.Helper()
	tr := &transcript{}
	endpoint := g.url("/mcp-servers/weather")
	type result struct {
		i    int
		line string
		raw  string
	}
	results := make([]result, len(steps))
	var wg sync.WaitGroup
	for i, st := range steps {
		req, err := http.NewRequest(st.method, endpoint, strings.NewReader(st.body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		v := version
		if st.version != "" {
			v = st.version
		}
		if v != "-" {
			req.Header.Set(front.ProtocolVersionHeader, v)
		}
		switch st.session {
		case "":
			if tr.sid != "" {
				req.Header.Set(front.SessionIDHeader, tr.sid)
			}
		case "none":
		default:
			req.Header.Set(front.SessionIDHeader, st.session)
		}
		for k, v := range st.header {
			req.Header.Set(k, v)
		}
		if st.resume > 0 {
			req.Header.Set("Last-Event-ID", tr.events[st.resume-1])
		}
		do := func() (string, string, string) {
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			head := fmt.Sprintf("%d ct=%q cc=%q conn=%q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), resp.Header.Get("Connection"))
			return head, string(body), resp.Header.Get(front.SessionIDHeader)
		}
		if st.async {
			wg.Go(func() {
				head, body, _ := do()
				results[i] = result{i: i, line: head, raw: body}
			})
			// Let the call reach the tool before the next step.
			time.Sleep(200 * time.Millisecond)
			tr.events = append(tr.events, "")
			continue
		}
		head, body, sid := do()
		if sid != "" && tr.sid == "" {
			tr.sid = sid
		}
		first := ""
		if m := eventIDRe.FindStringSubmatch(body); m != nil {
			first = m[1] + "_" + m[2]
		}
		tr.events = append(tr.events, first)
		results[i] = result{i: i, line: head, raw: body}
	}
	wg.Wait()
	for _, r := range results {
		tr.lines = append(tr.lines, fmt.Sprintf("step %d: %s\n%s", r.i+1, r.line, tr.norm(r.raw)))
	}
	return tr
}

// stored lists the events the store keeps for the transcript's streams.
func stored(t *testing.T, g *gateway, tr *transcript) []string {
	t.Helper()
	var out []string
	for i, id := range tr.stream {
		for data, err := range g.inst.events.After(context.Background(), tr.sid, id, -1) {
			require.NoError(t, err)
			out = append(out, fmt.Sprintf("stream %d: %s", i, tr.norm(string(data))))
		}
	}
	return out
}

// listedStreams is which of the transcript's streams the session's DELETE
// would remove, by order of appearance ("" is the standalone stream, "?"
// one the client never saw), sorted: the SDK lists a stream when it makes
// it, the fast path when it stores its first event.
func listedStreams(t *testing.T, g *gateway, tr *transcript) []string {
	t.Helper()
	ids, err := g.inst.events.Streams(context.Background(), tr.sid)
	require.NoError(t, err)
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		name := "?"
		if id == "" {
			name = "standalone"
		}
		for i, seen := range tr.stream {
			if seen == id {
				name = fmt.Sprint("stream ", i)
			}
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// record is the session's registry record without what differs by
// instance and time.
func record(t *testing.T, g *gateway, sid string) string {
	t.Helper()
	rec, err := g.inst.registry.Get(context.Background(), sid)
	require.NoError(t, err)
	rec.ID, rec.Owner, rec.CreatedAt = "", "", time.Time{}
	b, err := json.Marshal(rec)
	require.NoError(t, err)
	return string(b)
}

// metricsOf lists the plugin's counters and the sample counts of its
// histograms (durations differ).
func metricsOf(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var out []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, lp.GetName()+"="+lp.GetValue())
			}
			v := 0.0
			switch {
			case m.GetCounter() != nil:
				v = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				v = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				v = float64(m.GetHistogram().GetSampleCount())
			}
			out = append(out, fmt.Sprintf("%s{%s} %g", mf.GetName(), strings.Join(labels, ","), v))
		}
	}
	sort.Strings(out)
	return out
}

func call(id any, params string) string {
	idj, _ := json.Marshal(id)
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":%s}`, idj, params)
}

func initializeFor(version string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":%q,"capabilities":{},"clientInfo":{"name":"diff","version":"1"}}}`, version)
}

// diffSequence is the request sequence of the differential test.
func diffSequence(version string) []step {
	s := []step{
		{method: http.MethodPost, body: initializeFor(version), session: "none", version: "-"},
		{method: http.MethodPost, body: `{"jsonrpc":"2.0","method":"notifications/initialized"}`},
		{method: http.MethodPost, body: call(1, `{"name":"echo","arguments":{"n":7}}`)},
		{method: http.MethodPost, body: call("two", `{"name":"get_weather","arguments":{"city":"Paris"}}`)},
		{method: http.MethodPost, body: call(3, `{"name":"nope","arguments":{}}`)},
		{method: http.MethodPost, body: call(4, `{"name":"secret_tool"}`)},
		{method: http.MethodPost, body: call(5, `{"name":"echo","arguments":{"n":"seven"}}`)},
		{method: http.MethodPost, body: call(6, `{"name":"echo","arguments":{}}`)},
		{method: http.MethodPost, body: call(7, `{"name":"echo","arguments":[1]}`)},
		{method: http.MethodPost, body: call(8, `{"name":7}`)},
		{method: http.MethodPost, body: `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99}}`},
		{method: http.MethodPost, body: call(9, `{"name":"echo","arguments":{"n":9},"_meta":{"progressToken":"p"}}`)},
		{method: http.MethodPost, body: call(10, `{"name":"echo","name":"get_weather","arguments":{"n":10}}`)},
		{method: http.MethodPost, body: `{"jsonrpc":"2.0","id":11,"method":"tools/call","params":`},
		{method: http.MethodPost, body: call(12, `{"name":"echo","arguments":{"n":12}}`), session: "UNKNOWNSESSION"},
		{method: http.MethodPost, body: "[" + call(13, `{"name":"echo","arguments":{"n":13}}`) + "]"},
		{method: http.MethodPost, body: `{"jsonrpc":"1.0","id":14,"method":"tools/call","params":{"name":"echo","arguments":{"n":14}}}`},
		{method: http.MethodGet, resume: 3},
		{method: http.MethodPost, body: call(15, `{"name":"slow"}`), async: true},
		{method: http.MethodPost, body: `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":15,"reason":"user"}}`},
		{method: http.MethodPost, body: call(16, `{"name":"echo","arguments":{"n":16}}`)},
		{method: http.MethodPost, body: `{"jsonrpc":"2.0","id":17,"method":"tools/list"}`},
		{method: http.MethodPost, body: call(18, `{"name":"whoami"}`)},
	}
	// Beyond the rate limit (12 calls a minute reach the limiter).
	for i := range 4 {
		s = append(s, step{method: http.MethodPost, body: call(20+i, `{"name":"echo","arguments":{"n":1}}`)})
	}
	return append(s, step{method: http.MethodPost, body: call(30, `{"name":"echo","arguments":{"n":30}}`), version: "2025-03-26"})
}

func TestFastPathAnswersAsTheSDK(t *testing.T) {
	for _, run := range []string{"2025-11-25", "2025-06-18", "2025-03-26", "2025-11-25/redis"} {
		version, store, _ := strings.Cut(run, "/")
		t.Run(run, func(t *testing.T) {
			p := startDiffPair(t, store == "redis")
			steps := diffSequence(version)
			// Both runs count their calls in the same rate-limit minute.
			inOneMinute()
			fast := runSequence(t, p.fast, version, steps)
			sdk := runSequence(t, p.sdk, version, steps)
			require.Equal(t, sdk.lines, fast.lines, "answers")
			require.NotEmpty(t, fast.stream)
			require.Equal(t, stored(t, p.sdk, sdk), stored(t, p.fast, fast), "stored events")
			require.Equal(t, listedStreams(t, p.sdk, sdk), listedStreams(t, p.fast, fast), "streams a DELETE removes")
			require.Equal(t, record(t, p.sdk, sdk.sid), record(t, p.fast, fast.sid), "session record")
			require.Equal(t, metricsOf(t, p.sdk.host.reg), metricsOf(t, p.fast.host.reg), "metrics")
			// The fast path did serve: the answers are the same, not the code.
			require.Contains(t, strings.Join(fast.lines, "\n"), `"text":"echo 7"`)
			require.Contains(t, strings.Join(fast.lines, "\n"), `"text":"me at 127.0.0.1"`)
			require.EqualValues(t, 14, p.fast.inst.fastServed.Load(), "tools/call served by the fast path")
			require.Zero(t, p.sdk.inst.fastServed.Load())
		})
	}
}

func TestFastPathCanBeTurnedOff(t *testing.T) {
	d := `{"name":"w","server":{"name":"w"},"toolCallFastPath":false,"tools":[{"name":"echo","responseTemplate":{"body":"x"}}]}`
	g := startGateway(t, newTestHost(t, "gw", nil), d, testOptions())
	require.False(t, g.inst.fast)
	g = startGateway(t, newTestHost(t, "gw", nil), strings.Replace(d, `"toolCallFastPath":false,`, "", 1), testOptions())
	require.True(t, g.inst.fast)
}

// legacyTranscript runs calls over a legacy SSE session and returns the
// events the stream carried.
func legacyTranscript(t *testing.T, g *gateway, bodies []string) []string {
	t.Helper()
	resp, err := http.Get(g.url("/mcp-servers/weather/sse"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	r := bufio.NewReader(resp.Body)
	next := func() string {
		var name, data string
		for {
			line, err := r.ReadString('\n')
			require.NoError(t, err)
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "" && name != "":
				return name + ": " + data
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			}
		}
	}
	endpoint := strings.TrimPrefix(next(), "endpoint: ")
	sid := sidOf(endpoint)
	var out []string
	for _, b := range bodies {
		status := postTo(t, http.DefaultClient, g.url(endpoint), b)
		out = append(out, fmt.Sprint(status))
		if status == http.StatusAccepted && strings.Contains(b, `"id"`) {
			out = append(out, strings.ReplaceAll(next(), sid, "SESSION"))
		}
	}
	return out
}

func TestFastPathAnswersAsTheSDKOnLegacySSE(t *testing.T) {
	p := startDiffPair(t)
	bodies := []string{
		initializeFor("2024-11-05"),
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		call(1, `{"name":"echo","arguments":{"n":7}}`),
		call(2, `{"name":"get_weather","arguments":{"city":"Oslo"}}`),
		call(3, `{"name":"nope"}`),
		call(4, `{"name":"echo","arguments":{"n":"x"}}`),
		call(5, `{"name":"echo","arguments":{"n":5},"_meta":{"progressToken":1}}`),
		`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99}}`,
		call("six", `{"name":"echo","arguments":{"n":6}}`),
	}
	sdk := legacyTranscript(t, p.sdk, bodies)
	fast := legacyTranscript(t, p.fast, bodies)
	require.Equal(t, sdk, fast)
	require.Contains(t, strings.Join(fast, "\n"), `echo 7`)
	require.EqualValues(t, 5, p.fast.inst.fastServed.Load(), "tools/call served by the fast path")
	require.Zero(t, p.sdk.inst.fastServed.Load())
	require.Equal(t, metricsOf(t, p.sdk.host.reg), metricsOf(t, p.fast.host.reg), "metrics")
}

// FuzzFastPath sends one arbitrary tools/call to both paths, on an
// established session or (stateless) as a 2026-07-28 request named by its
// headers: the answers must be the same.
func FuzzFastPath(f *testing.F) {
	meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	for _, p := range []string{
		`{"name":"echo","arguments":{"n":1}}`, `{"name":"echo"}`, `{"name":"get_weather","arguments":{"city":"x y"}}`,
		`{"name":"nope","arguments":{}}`, `{"name":"echo","arguments":{"n":1.5}}`, `{"name":"echo","arguments":null}`,
		`{"name":"echo","arguments":{"n":1},"arguments":{"n":2}}`, `{"name":"e\u0063ho","arguments":{"n":3}}`,
		`{"Name":"echo"}`, `{"name":"echo","arguments":{"n":[[[[1]]]]}}`, `{}`, `[]`, `"x"`,
		`{"name":"echo","arguments":{"n":1},` + meta + `}`,
		`{"name":"echo","arguments":{"n":1},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"roots":{"listChanged":true}},"io.modelcontextprotocol/clientInfo":{"name":"c","version":"1","title":"t"}}}`,
		`{"name":"echo","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":[]}}`,
	} {
		f.Add(p, "1", false, "echo")
		f.Add(p, "1", true, "echo")
	}
	f.Add(`{"name":"echo","arguments":{"n":1}}`, `"id"`, false, "echo")
	f.Add(`{"name":"echo","arguments":{"n":1}}`, `1.0`, false, "echo")
	f.Add(`{"name":"echo","arguments":{"n":1}}`, `null`, false, "echo")
	backend := startBackend(f)
	quiet := func() *testHost {
		h := newTestHost(f, "gw", nil)
		h.logger = slog.New(slog.DiscardHandler)
		return h
	}
	fast := startGateway(f, quiet(), restDefinition("weather", backend.srv.URL, ""), testOptions())
	sdk := startGateway(f, quiet(), restDefinition("weather", backend.srv.URL, `, "toolCallFastPath": false`), testOptions())
	open := func(g *gateway) string {
		req, _ := http.NewRequest(http.MethodPost, g.url("/mcp-servers/weather"), strings.NewReader(initializeFor("2025-11-25")))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(f, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.Header.Get(front.SessionIDHeader)
	}
	fsid, ssid := open(fast), open(sdk)
	send := func(t *testing.T, g *gateway, sid, body string, stateless bool, name string) string {
		req, _ := http.NewRequest(http.MethodPost, g.url("/mcp-servers/weather"), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if stateless {
			req.Header.Set(front.ProtocolVersionHeader, "2026-07-28")
			req.Header.Set("Mcp-Method", "tools/call")
			if validHeaderValue(name) {
				req.Header.Set("Mcp-Name", name)
			}
		} else {
			req.Header.Set(front.SessionIDHeader, sid)
			req.Header.Set(front.ProtocolVersionHeader, "2025-11-25")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		tr := &transcript{sid: sid}
		return fmt.Sprintf("%d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), tr.norm(string(b)))
	}
	f.Fuzz(func(t *testing.T, params, id string, stateless bool, name string) {
		body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":%s}`, id, params)
		require.Equal(t, send(t, sdk, ssid, body, stateless, name), send(t, fast, fsid, body, stateless, name), "body %s", body)
	})
}

// statelessCall is a 2026-07-28 tools/call with its headers.
func statelessCall(id any, name, args, meta string, header map[string]string) step {
	if meta == "" {
		meta = `{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}`
	}
	params := fmt.Sprintf(`{"name":%q,"_meta":%s}`, name, meta)
	if args != "" {
		params = fmt.Sprintf(`{"name":%q,"arguments":%s,"_meta":%s}`, name, args, meta)
	}
	h := map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": name}
	for k, v := range header {
		if v == "" {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	return step{method: http.MethodPost, body: call(id, params), session: "none", header: h}
}

func TestFastPathAnswersAsTheSDKStateless(t *testing.T) {
	p := startDiffPair(t)
	steps := []step{
		statelessCall(1, "echo", `{"n":7}`, "", nil),
		statelessCall("two", "get_weather", `{"city":"Rome"}`, "", nil),
		statelessCall(3, "nope", `{}`, "", nil),
		statelessCall(4, "echo", `{"n":"x"}`, "", nil),
		statelessCall(5, "echo", ``, "", nil),
		statelessCall(6, "echo", `{"n":6}`, "", map[string]string{"Mcp-Name": "get_weather"}),
		statelessCall(7, "echo", `{"n":7}`, "", map[string]string{"Mcp-Name": ""}),
		statelessCall(8, "echo", `{"n":8}`, "", map[string]string{"Mcp-Method": ""}),
		statelessCall(9, "echo", `{"n":9}`, `{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}`, nil),
		statelessCall(10, "echo", `{"n":10}`, `{"io.modelcontextprotocol/protocolVersion":"2025-11-25","io.modelcontextprotocol/clientCapabilities":{}}`, nil),
		statelessCall(11, "echo", `{"n":11}`, `{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"roots":5}}`, nil),
		statelessCall(12, "echo", `{"n":12}`, `{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":3}}`, nil),
		statelessCall(13, "secret_tool", ``, "", nil),
		statelessCall(14, "echo", `[1]`, "", nil),
		statelessCall(15, "echo", `{"n":15}`, `{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"progressToken":1}`, nil),
	}
	for i := range 8 {
		steps = append(steps, statelessCall(20+i, "echo", `{"n":1}`, "", nil))
	}
	inOneMinute()
	sdk := runSequence(t, p.sdk, "2026-07-28", steps)
	fast := runSequence(t, p.fast, "2026-07-28", steps)
	require.Equal(t, sdk.lines, fast.lines)
	require.Contains(t, strings.Join(fast.lines, "\n"), `"text":"echo 7"`)
	require.Contains(t, strings.Join(fast.lines, "\n"), `-32029`, "the sequence reaches the rate limit")
	require.EqualValues(t, 14, p.fast.inst.fastServed.Load(), "tools/call served by the fast path")
	require.Zero(t, p.sdk.inst.fastServed.Load())
	require.Equal(t, metricsOf(t, p.sdk.host.reg), metricsOf(t, p.fast.host.reg), "metrics")
}

// A client may reuse a request id as soon as it has the answer (the SDK
// path allows it): the fast path releases a call's id before the answer
// leaves, not after (CI once saw "duplicate in-flight request ID 1" from
// a call sent right after the previous answer with the same id).
func TestFastCallIDIsFreeOnceAnswered(t *testing.T) {
	backend := startBackend(t)
	g := startGateway(t, newTestHost(t, "gw", nil), restDefinition("weather", backend.srv.URL, ""), testOptions())
	post := func(sid, body string) (*http.Response, string) {
		version := ""
		if sid != "" {
			version = "2025-11-25"
		}
		resp := mcpPost(t, g.url("/mcp-servers/weather"), sid, version, body)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, _ := post("", initializeFor("2025-11-25"))
	sid := resp.Header.Get(front.SessionIDHeader)
	require.NotEmpty(t, sid)
	for i := range 2000 {
		resp, body := post(sid, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"n":1}}}`)
		require.Equal(t, http.StatusOK, resp.StatusCode, "call %d: %s", i, body)
		require.NotContains(t, body, "duplicate", "call %d", i)
	}
	require.EqualValues(t, 2000, g.inst.fastServed.Load(), "served by the fast path")
}

// A call that outlives the server's timeout answers the same on both
// paths: a tool error naming the timeout (the fast path's call context
// carries the deadline; the call makes none of its own).
func TestFastPathTimesOutAsTheSDK(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	def := func(fast bool) string {
		return fmt.Sprintf(`{"name":"weather","server":{"name":"weather","timeout":200},"toolCallFastPath":%t,
			"tools":[{"name":"slow","description":"never answers in time","requestTemplate":{"url":%q,"method":"GET"}}]}`, fast, slow.URL+"/slow")
	}
	fast := startGateway(t, newTestHost(t, "gw", nil), def(true), testOptions())
	sdk := startGateway(t, newTestHost(t, "gw", nil), def(false), testOptions())
	steps := []step{
		{method: http.MethodPost, body: initializeFor("2025-11-25"), session: "none", version: "-"},
		{method: http.MethodPost, body: `{"jsonrpc":"2.0","method":"notifications/initialized"}`},
		{method: http.MethodPost, body: call(1, `{"name":"slow"}`)},
	}
	f := runSequence(t, fast, "2025-11-25", steps)
	s := runSequence(t, sdk, "2025-11-25", steps)
	require.Equal(t, s.lines, f.lines)
	require.Contains(t, strings.Join(f.lines, "\n"), `did not answer within 200 ms (server.timeout)`)
	require.Contains(t, strings.Join(f.lines, "\n"), `"isError":true`)
	require.EqualValues(t, 1, fast.inst.fastServed.Load(), "served by the fast path")
}
