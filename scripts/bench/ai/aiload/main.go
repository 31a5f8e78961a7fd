// Command aiload is the load generator of scripts/bench/ai/ai.sh: it POSTs
// one LLM request body over keep-alive connections and prints latency
// percentiles, the same way for every target (the provider stand-in
// directly, Gatehouse, Portkey).
//
// Modes:
//
//	peak (default)  -conns clients send back to back for -duration
//	-rate R         R requests/s over at most -conns connections; latency is
//	                measured from each request's scheduled start (no
//	                coordinated omission), as scripts/bench/loadgen does
//	-stream         the answer is SSE: also measure the time to the first
//	                "data:" event (time to first token, TTFT)
//	-hold N         open N streams at once, wait until each has its first
//	                event, read the resident memory of process -pid, hold
//	                them -duration, and report the memory added per stream
//
// Output, one line: achieved_rps p50_ms p90_ms p99_ms max_ms errors
// [ttft_p50_ms ttft_p99_ms] — or for -hold: streams rss_before_kb
// rss_held_kb kb_per_stream.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	url := flag.String("url", "", "URL to POST to")
	body := flag.String("body", "", "request body (JSON)")
	var hdrs headers
	flag.Var(&hdrs, "H", "request header 'Name: value' (repeatable)")
	conns := flag.Int("conns", 32, "connections (concurrent clients)")
	duration := flag.Duration("duration", 10*time.Second, "how long to send (or, with -hold, to hold)")
	rate := flag.Int("rate", 0, "requests per second (0: as fast as -conns clients go)")
	stream := flag.Bool("stream", false, "the answer is SSE: measure the time to the first data: event")
	hold := flag.Int("hold", 0, "open this many streams at once and measure the memory of -pid")
	pid := flag.Int("pid", 0, "process whose resident memory -hold reads")
	flag.Parse()
	if *url == "" || *body == "" {
		log.Fatal("aiload: -url and -body are required")
	}
	if *hold > 0 {
		*conns = *hold
	}
	tr := &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns, DisableCompression: true,
		IdleConnTimeout: time.Minute}
	lg := &loader{client: &http.Client{Transport: tr, Timeout: 5 * time.Minute}, url: *url, body: []byte(*body), stream: *stream}
	for _, h := range hdrs {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			log.Fatalf("aiload: header %q is not 'Name: value'", h)
		}
		lg.header = append(lg.header, [2]string{strings.TrimSpace(name), strings.TrimSpace(value)})
	}
	switch {
	case *hold > 0:
		if *pid == 0 {
			log.Fatal("aiload: -hold needs -pid")
		}
		lg.holdStreams(*hold, *pid, *duration)
	case *rate > 0:
		lg.fixedRate(*rate, *conns, *duration)
	default:
		lg.peak(*conns, *duration)
	}
}

type loader struct {
	client *http.Client
	url    string
	body   []byte
	header [][2]string
	stream bool
}

// sample is one request's latency and time to first event.
type sample struct {
	total, first time.Duration
	err          bool
}

// do sends one request; onFirst is called at the first SSE event.
func (l *loader) do(ctx context.Context, start time.Time, onFirst func()) sample {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, bytes.NewReader(l.body))
	if err != nil {
		return sample{err: true}
	}
	req.Header.Set("Content-Type", "application/json")
	for _, h := range l.header {
		req.Header.Set(h[0], h[1])
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return sample{total: time.Since(start), err: true}
	}
	defer func() { _ = resp.Body.Close() }()
	s := sample{}
	if l.stream {
		br := bufio.NewReaderSize(resp.Body, 16<<10)
		for {
			line, err := br.ReadSlice('\n')
			if s.first == 0 && bytes.HasPrefix(line, []byte("data:")) {
				s.first = time.Since(start)
				if onFirst != nil {
					onFirst()
				}
			}
			if err != nil {
				if err != io.EOF && err != bufio.ErrBufferFull {
					s.err = true
				}
				if err != bufio.ErrBufferFull {
					break
				}
			}
		}
	} else if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		s.err = true
	}
	s.total = time.Since(start)
	if resp.StatusCode != http.StatusOK || (l.stream && s.first == 0) {
		s.err = true
	}
	return s
}

func (l *loader) peak(conns int, d time.Duration) {
	var mu sync.Mutex
	var all []sample
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []sample
			for time.Now().Before(deadline) {
				mine = append(mine, l.do(context.Background(), time.Now(), nil))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	report(all, time.Since(start), l.stream)
}

func (l *loader) fixedRate(rate, conns int, d time.Duration) {
	jobs := make(chan time.Time, rate)
	var mu sync.Mutex
	var all []sample
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []sample
			for sched := range jobs {
				mine = append(mine, l.do(context.Background(), sched, nil))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	start := time.Now()
	n := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	for i := 0; i < n; i++ {
		sched := start.Add(time.Duration(i) * interval)
		if w := time.Until(sched); w > 0 {
			time.Sleep(w) // pacing the load, not synchronisation
		}
		jobs <- sched
	}
	close(jobs)
	wg.Wait()
	report(all, time.Since(start), l.stream)
}

// holdStreams opens n streams, waits for the first event of each, reads
// the RSS of pid, holds them for d and reports the memory per stream.
func (l *loader) holdStreams(n, pid int, d time.Duration) {
	before := rssKB(pid)
	ctx, cancel := context.WithCancel(context.Background())
	var started atomic.Int64
	all := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.do(ctx, time.Now(), func() {
				if started.Add(1) == int64(n) {
					close(all)
				}
			})
		}()
	}
	select {
	case <-all:
	case <-time.After(2 * time.Minute):
		log.Fatalf("aiload: only %d of %d streams started within 2 minutes", started.Load(), n)
	}
	// Let the process settle (GC, buffers) while every stream is open,
	// then take the highest of a few readings.
	held := int64(0)
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		held = max(held, rssKB(pid))
		time.Sleep(200 * time.Millisecond) // sampling interval
	}
	cancel()
	wg.Wait()
	fmt.Printf("%d %d %d %.1f\n", n, before, held, float64(held-before)/float64(n))
}

func rssKB(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		log.Fatalf("aiload: read the memory of process %d: %v", pid, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	log.Fatalf("aiload: no VmRSS for process %d", pid)
	return 0
}

func report(all []sample, elapsed time.Duration, stream bool) {
	var lat, first []time.Duration
	errs := 0
	for _, s := range all {
		if s.err {
			errs++
		}
		lat = append(lat, s.total)
		if s.first > 0 {
			first = append(first, s.first)
		}
	}
	slices.Sort(lat)
	slices.Sort(first)
	pct := func(v []time.Duration, p float64) float64 {
		if len(v) == 0 {
			return 0
		}
		i := int(p * float64(len(v)-1))
		return float64(v[i].Microseconds()) / 1000
	}
	line := fmt.Sprintf("%.0f %.3f %.3f %.3f %.3f %d", float64(len(all))/elapsed.Seconds(),
		pct(lat, 0.50), pct(lat, 0.90), pct(lat, 0.99), pct(lat, 1), errs)
	if stream {
		line += fmt.Sprintf(" %.3f %.3f", pct(first, 0.50), pct(first, 0.99))
	}
	fmt.Println(line)
}
