// Command handoff measures cross-instance delivery of legacy HTTP+SSE
// (2024-11-05) MCP messages, for scripts/bench/mcp/mcp.sh: the SSE stream
// is held on instance A and each message is posted to instance B, which
// hands it to A through Redis; the answer then arrives on A's stream.
//
// Each session opens the stream on A (-sse), initializes, then alternates
// two kinds of round trip, one at a time:
//
//	cross  POST <message URL on B> a ping, wait for its answer on A's stream
//	local  POST <message URL on A> a ping, wait for its answer on A's stream
//
// The latency of a round trip runs from just before the POST is sent to the
// moment the answer's event is read from the stream. "local" is the same
// path without the handoff, for reference, measured in the same run.
// Every answer must arrive exactly once, with the id that was sent.
//
// Output, one line per kind, then the number of answers that arrived twice:
//
//	kind count p50_ms p90_ms p99_ms max_ms errors
//	duplicates n
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
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/scripts/bench/mcp/internal/sse"
)

type arrival struct {
	id int64
	at time.Time
}

type stats struct {
	mu   sync.Mutex
	lat  map[string][]time.Duration
	errs map[string]int
	dups int
	msgs []string
}

func (s *stats) duplicate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dups++
}

func (s *stats) add(kind string, d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errs[kind]++
		if len(s.msgs) < 3 {
			s.msgs = append(s.msgs, kind+": "+err.Error())
		}
		return
	}
	s.lat[kind] = append(s.lat[kind], d)
}

func main() {
	sseURL := flag.String("sse", "", "the SSE endpoint on instance A, http://host:port/mcp-servers/<name>/sse")
	other := flag.String("b", "", "instance B's gateway base URL, http://host:port")
	n := flag.Int("n", 2000, "round trips of each kind per session")
	warmup := flag.Int("warmup", 100, "round trips of each kind per session before measuring")
	sessions := flag.Int("sessions", 1, "sessions measured at once, each on its own stream")
	timeout := flag.Duration("timeout", 5*time.Second, "how long an answer may take before it counts as lost")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("handoff: ")
	if *sseURL == "" || *other == "" || *n <= 0 || *sessions <= 0 {
		log.Fatal("-sse and -b are required; -n and -sessions must be positive")
	}
	a, err := url.Parse(*sseURL)
	if err != nil {
		log.Fatalf("-sse: %v", err)
	}
	b, err := url.Parse(*other)
	if err != nil {
		log.Fatalf("-b: %v", err)
	}
	st := &stats{lat: map[string][]time.Duration{}, errs: map[string]int{}}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * *sessions, DisableCompression: true}, Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	var failed error
	var fmu sync.Mutex
	for range *sessions {
		wg.Go(func() {
			if err := runSession(hc, a, b, *n, *warmup, *timeout, st); err != nil {
				fmu.Lock()
				failed = errors.Join(failed, err)
				fmu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, m := range st.msgs {
		log.Print("error: ", m)
	}
	if failed != nil {
		log.Fatal(failed)
	}
	for _, kind := range []string{"cross", "local"} {
		lat := st.lat[kind]
		if len(lat) == 0 {
			fmt.Printf("%s 0 0 0 0 0 %d\n", kind, st.errs[kind])
			continue
		}
		slices.Sort(lat)
		pct := func(p float64) float64 {
			return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
		}
		fmt.Printf("%s %d %.3f %.3f %.3f %.3f %d\n", kind, len(lat), pct(0.50), pct(0.90), pct(0.99),
			float64(lat[len(lat)-1])/float64(time.Millisecond), st.errs[kind])
	}
	fmt.Printf("duplicates %d\n", st.dups)
}

func runSession(hc *http.Client, a, b *url.URL, n, warmup int, timeout time.Duration, st *stats) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	// The stream has its own client: it must not take a pooled connection.
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		return fmt.Errorf("open the stream on A: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("open the stream on A: status %d", resp.StatusCode)
	}
	rd := sse.NewReader(resp.Body, 4096)
	ev, err := rd.Next()
	if err != nil || ev.Name != "endpoint" {
		return fmt.Errorf("want the endpoint event first, got %q (%v)", ev.Name, err)
	}
	onA, err := a.Parse(string(ev.Data))
	if err != nil {
		return fmt.Errorf("endpoint %q: %w", ev.Data, err)
	}
	onB := *onA
	onB.Scheme, onB.Host = b.Scheme, b.Host

	arrivals := make(chan arrival, 16)
	go func() {
		defer close(arrivals)
		for {
			ev, err := rd.Next()
			if err != nil {
				return
			}
			now := time.Now()
			if ev.Name != "message" {
				continue
			}
			var m struct {
				ID *int64 `json:"id"`
			}
			if json.Unmarshal(ev.Data, &m) != nil || m.ID == nil {
				continue
			}
			arrivals <- arrival{id: *m.ID, at: now}
		}
	}()

	post := func(target *url.URL, body []byte) error {
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), bytes.NewReader(body))
		if err != nil {
			return err
		}
		r.Header.Set("Content-Type", "application/json")
		pr, err := hc.Do(r)
		if err != nil {
			return err
		}
		data, _ := io.ReadAll(pr.Body)
		_ = pr.Body.Close()
		if pr.StatusCode != http.StatusAccepted {
			return fmt.Errorf("POST %s: %d %s", target, pr.StatusCode, data)
		}
		return nil
	}
	var id int64
	seen := map[int64]bool{}
	// roundTrip posts a request with a new id to target and waits for its
	// answer on the stream.
	roundTrip := func(target *url.URL, method, params string) (time.Duration, error) {
		id++
		body := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":%q%s}`, id, method, params)
		t0 := time.Now()
		if err := post(target, body); err != nil {
			return 0, err
		}
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		for {
			select {
			case got, ok := <-arrivals:
				if !ok {
					return 0, errors.New("the stream on A ended")
				}
				if seen[got.id] {
					st.duplicate()
					continue
				}
				seen[got.id] = true
				if got.id != id {
					// A late answer to a round trip that already timed out.
					continue
				}
				return got.at.Sub(t0), nil
			case <-timer.C:
				return 0, fmt.Errorf("answer %d did not arrive within %s", id, timeout)
			}
		}
	}

	if _, err := roundTrip(onA, "initialize", `,"params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"handoff","version":"1"}}`); err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	if err := post(onA, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)); err != nil {
		return fmt.Errorf("notifications/initialized: %w", err)
	}
	for i := range warmup + n {
		for _, k := range []struct {
			kind   string
			target *url.URL
		}{{"cross", &onB}, {"local", onA}} {
			d, err := roundTrip(k.target, "ping", "")
			if i >= warmup {
				st.add(k.kind, d, err)
			} else if err != nil {
				return fmt.Errorf("warm-up %s: %w", k.kind, err)
			}
		}
	}
	return nil
}
