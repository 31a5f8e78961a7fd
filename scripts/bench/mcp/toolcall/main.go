// Command toolcall is the load generator of the tools/call benchmark in
// scripts/bench/mcp/mcp.sh. It calls one REST-to-MCP tool over Streamable
// HTTP with a session per client, or the same REST call directly, from a
// fixed number of concurrent clients, and prints the rate and latency.
//
// Modes:
//
//	-mode direct  GET -url with the -header, as the tool's upstream sees it
//	-mode raw     JSON-RPC over HTTP: each client posts initialize and
//	              notifications/initialized once, then tools/call in a loop
//	              on its session (Mcp-Session-Id), reading the JSON or SSE
//	              answer
//	-mode sdk     the same with the official Go SDK client
//	              (mcp.StreamableClientTransport), one ClientSession per client
//
// Without -rate every client sends its next request as soon as the previous
// one is answered (peak rate). With -rate the requests are scheduled at that
// rate and spread over the clients (each leaves at its time: package
// pace), and latency is measured from each request's scheduled start (no
// coordinated omission). Sessions are opened
// before the clock starts and deleted after it stops.
//
// Every answer is checked: HTTP 200, a result with -expect in its text and
// no isError. Output, one line:
//
//	achieved_rps p50_ms p90_ms p99_ms max_ms errors calls cpu_us_per_call
//
// cpu_us_per_call is this process's own CPU time (user and system) while
// the clock ran, per call: what the load costs the load CPUs besides the
// upstream.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/scripts/bench/internal/pace"
	"github.com/gatehouse-dev/gatehouse/scripts/bench/mcp/internal/sse"
)

const protocolVersion = "2025-11-25"

type config struct {
	mode     string
	url      string
	header   string
	tool     string
	args     map[string]any
	expect   []byte
	clients  int
	duration time.Duration
	rate     int
}

// caller makes one call; it is used by one goroutine at a time.
type caller interface {
	call(ctx context.Context) error
	close()
}

func main() {
	var c config
	var args string
	flag.StringVar(&c.mode, "mode", "raw", "direct, raw or sdk")
	flag.StringVar(&c.url, "url", "", "the REST URL (direct) or the MCP endpoint (raw, sdk)")
	flag.StringVar(&c.header, "header", "", "direct: a request header, \"Name: value\"")
	flag.StringVar(&c.tool, "tool", "get_weather", "raw, sdk: the tool to call")
	flag.StringVar(&args, "args", `{"city":"Paris"}`, "raw, sdk: the tool's arguments, JSON")
	expect := flag.String("expect", "21.5", "text every answer must contain")
	flag.IntVar(&c.clients, "clients", 32, "concurrent clients (each with its connection and session)")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "how long to send")
	flag.IntVar(&c.rate, "rate", 0, "requests per second over all clients; 0 = as fast as answers come")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("toolcall: ")
	if c.url == "" || c.clients <= 0 || c.rate < 0 {
		log.Fatal("-url is required; -clients must be positive and -rate not negative")
	}
	if err := json.Unmarshal([]byte(args), &c.args); err != nil {
		log.Fatalf("-args is not a JSON object: %v", err)
	}
	c.expect = []byte(*expect)
	if err := run(c); err != nil {
		log.Fatal(err)
	}
}

func run(c config) error {
	tr := &http.Transport{
		MaxIdleConns:        c.clients * 2,
		MaxIdleConnsPerHost: c.clients * 2,
		DisableCompression:  true,
	}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx := context.Background()

	callers := make([]caller, c.clients)
	var wg sync.WaitGroup
	var setupErr atomic.Pointer[error]
	for i := range callers {
		wg.Go(func() {
			cl, err := newCaller(ctx, c, hc)
			if err != nil {
				setupErr.CompareAndSwap(nil, &err)
				return
			}
			callers[i] = cl
		})
	}
	wg.Wait()
	defer func() {
		for _, cl := range callers {
			if cl != nil {
				cl.close()
			}
		}
	}()
	if p := setupErr.Load(); p != nil {
		return fmt.Errorf("open the clients: %w", *p)
	}

	var mu sync.Mutex
	var lat []time.Duration
	var errs int
	var firstErrs []string
	record := func(mine []time.Duration, bad int, msgs []string) {
		mu.Lock()
		defer mu.Unlock()
		lat = append(lat, mine...)
		errs += bad
		for _, m := range msgs {
			if len(firstErrs) < 3 {
				firstErrs = append(firstErrs, m)
			}
		}
	}

	cpu0 := cpuTime()
	start := time.Now()
	if c.rate == 0 {
		deadline := start.Add(c.duration)
		for _, cl := range callers {
			wg.Go(func() {
				var mine []time.Duration
				var msgs []string
				bad := 0
				for time.Now().Before(deadline) {
					t0 := time.Now()
					if err := cl.call(ctx); err != nil {
						bad++
						msgs = append(msgs, err.Error())
					}
					mine = append(mine, time.Since(t0))
				}
				record(mine, bad, msgs)
			})
		}
		wg.Wait()
	} else {
		jobs := make(chan time.Time, c.rate)
		for _, cl := range callers {
			wg.Go(func() {
				var mine []time.Duration
				var msgs []string
				bad := 0
				for sched := range jobs {
					if err := cl.call(ctx); err != nil {
						bad++
						msgs = append(msgs, err.Error())
					}
					mine = append(mine, time.Since(sched))
				}
				record(mine, bad, msgs)
			})
		}
		interval := time.Second / time.Duration(c.rate)
		if err := pace.Run(start, interval, int(c.duration/interval), jobs); err != nil {
			return err
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0

	for _, m := range firstErrs {
		fmt.Fprintln(os.Stderr, "toolcall: error:", m)
	}
	if len(lat) == 0 {
		return errors.New("no request completed")
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		i := min(len(lat)-1, int(p*float64(len(lat))))
		return float64(lat[i]) / float64(time.Millisecond)
	}
	fmt.Printf("%.0f %.3f %.3f %.3f %.3f %d %d %.1f\n", float64(len(lat))/elapsed.Seconds(),
		pct(0.50), pct(0.90), pct(0.99), float64(lat[len(lat)-1])/float64(time.Millisecond), errs, len(lat),
		float64(cpu.Microseconds())/float64(len(lat)))
	return nil
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func newCaller(ctx context.Context, c config, hc *http.Client) (caller, error) {
	switch c.mode {
	case "direct":
		d := &directCaller{hc: hc, url: c.url, expect: c.expect}
		if c.header != "" {
			name, value, ok := strings.Cut(c.header, ":")
			if !ok {
				return nil, fmt.Errorf("-header %q: want \"Name: value\"", c.header)
			}
			d.hname, d.hvalue = strings.TrimSpace(name), strings.TrimSpace(value)
		}
		return d, nil
	case "raw":
		return newRawCaller(ctx, c, hc)
	case "sdk":
		return newSDKCaller(ctx, c, hc)
	}
	return nil, fmt.Errorf("-mode %q: want direct, raw or sdk", c.mode)
}

type directCaller struct {
	hc            *http.Client
	url           string
	hname, hvalue string
	expect        []byte
	buf           bytes.Buffer
}

func (d *directCaller) call(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url, nil)
	if err != nil {
		return err
	}
	if d.hname != "" {
		req.Header.Set(d.hname, d.hvalue)
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return err
	}
	d.buf.Reset()
	_, err = d.buf.ReadFrom(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(d.buf.Bytes(), d.expect) {
		return fmt.Errorf("answer %d: %.200s", resp.StatusCode, d.buf.Bytes())
	}
	return nil
}

func (d *directCaller) close() {}

// rawCaller speaks JSON-RPC over HTTP on its own session.
type rawCaller struct {
	hc      *http.Client
	url     string
	session string
	params  json.RawMessage
	expect  []byte
	id      int
	buf     bytes.Buffer
}

func newRawCaller(ctx context.Context, c config, hc *http.Client) (*rawCaller, error) {
	params, err := json.Marshal(map[string]any{"name": c.tool, "arguments": c.args})
	if err != nil {
		return nil, err
	}
	r := &rawCaller{hc: hc, url: c.url, params: params, expect: c.expect}
	init := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":%q,"capabilities":{},"clientInfo":{"name":"toolcall","version":"1"}}}`, protocolVersion)
	resp, body, err := r.post(ctx, init)
	if err != nil {
		return nil, fmt.Errorf("initialize: %w", err)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"result"`)) {
		return nil, fmt.Errorf("initialize: answer %d: %.300s", resp.StatusCode, body)
	}
	r.session = resp.Header.Get("Mcp-Session-Id")
	if r.session == "" {
		return nil, errors.New("initialize: no Mcp-Session-Id in the answer")
	}
	resp, body, err = r.post(ctx, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
	if err != nil {
		return nil, fmt.Errorf("notifications/initialized: %w", err)
	}
	if resp.StatusCode != http.StatusAccepted {
		return nil, fmt.Errorf("notifications/initialized: answer %d: %.300s", resp.StatusCode, body)
	}
	return r, nil
}

// post sends one message and returns the answer's body: the JSON body, or
// the data of the first "message" event of an SSE answer.
func (r *rawCaller) post(ctx context.Context, msg []byte) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(msg))
	if err != nil {
		return nil, nil, err
	}
	h := req.Header
	h["Content-Type"] = []string{"application/json"}
	h["Accept"] = []string{"application/json, text/event-stream"}
	if r.session != "" {
		h["Mcp-Session-Id"] = []string{r.session}
		h["Mcp-Protocol-Version"] = []string{protocolVersion}
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		rd := sse.NewReader(resp.Body, 4096)
		for {
			ev, err := rd.Next()
			if err != nil {
				return resp, nil, fmt.Errorf("read the SSE answer: %w", err)
			}
			if ev.Name == "message" && len(ev.Data) > 0 {
				// Drain the rest so that the connection is reused.
				_, _ = io.Copy(io.Discard, resp.Body)
				return resp, ev.Data, nil
			}
		}
	}
	r.buf.Reset()
	if _, err := r.buf.ReadFrom(resp.Body); err != nil {
		return resp, nil, fmt.Errorf("read the answer: %w", err)
	}
	return resp, r.buf.Bytes(), nil
}

func (r *rawCaller) call(ctx context.Context) error {
	r.id++
	msg := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":%s}`, r.id, r.params)
	resp, body, err := r.post(ctx, msg)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, fmt.Appendf(nil, `"id":%d,`, r.id)) ||
		!bytes.Contains(body, r.expect) || bytes.Contains(body, []byte(`"isError":true`)) {
		return fmt.Errorf("tools/call answer %d: %.300s", resp.StatusCode, body)
	}
	return nil
}

func (r *rawCaller) close() {
	req, err := http.NewRequest(http.MethodDelete, r.url, nil)
	if err != nil {
		return
	}
	req.Header.Set("Mcp-Session-Id", r.session)
	req.Header.Set("Mcp-Protocol-Version", protocolVersion)
	if resp, err := r.hc.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
}

// sdkCaller uses the official Go SDK client.
type sdkCaller struct {
	cs     *mcp.ClientSession
	params *mcp.CallToolParams
	expect string
}

func newSDKCaller(ctx context.Context, c config, hc *http.Client) (*sdkCaller, error) {
	client := mcp.NewClient(&mcp.Implementation{Name: "toolcall", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: c.url, HTTPClient: hc, DisableStandaloneSSE: true, MaxRetries: -1},
		&mcp.ClientSessionOptions{ProtocolVersion: protocolVersion})
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return &sdkCaller{cs: cs, params: &mcp.CallToolParams{Name: c.tool, Arguments: c.args}, expect: string(c.expect)}, nil
}

func (s *sdkCaller) call(ctx context.Context) error {
	res, err := s.cs.CallTool(ctx, s.params)
	if err != nil {
		return err
	}
	if res.IsError || len(res.Content) == 0 {
		return fmt.Errorf("tools/call: error result %+v", res.Content)
	}
	text, ok := res.Content[0].(*mcp.TextContent)
	if !ok || !strings.Contains(text.Text, s.expect) {
		return fmt.Errorf("tools/call: unexpected content %+v", res.Content[0])
	}
	return nil
}

func (s *sdkCaller) close() { _ = s.cs.Close() }
