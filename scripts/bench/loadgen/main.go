// Command loadgen sends requests at a fixed rate over a fixed number of
// keep-alive connections and prints latency percentiles, measured from
// each request's scheduled start (so a stalled server cannot hide its
// queueing: no coordinated omission). It complements wrk, which measures
// peak throughput, in scripts/bench/proxy.sh.
//
// Output, one line: achieved_rps p50_ms p90_ms p99_ms max_ms errors
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:18081/bench", "URL to GET")
	rate := flag.Int("rate", 1000, "requests per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	conns := flag.Int("conns", 64, "connections (and concurrent requests)")
	flag.Parse()
	if *rate <= 0 || *conns <= 0 {
		log.Fatal("loadgen: -rate and -conns must be positive")
	}

	tr := &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	jobs := make(chan time.Time, *rate)
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var wg sync.WaitGroup
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for sched := range jobs {
				resp, err := client.Get(*url)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						bad++
					}
				}
				if err != nil {
					bad++
				}
				mine = append(mine, time.Since(sched))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		}()
	}

	interval := time.Second / time.Duration(*rate)
	start := time.Now()
	total := int(*duration / interval)
	for sent := 0; sent < total; {
		due := min(total, int(time.Since(start)/interval)+1)
		for ; sent < due; sent++ {
			jobs <- start.Add(time.Duration(sent) * interval)
		}
		time.Sleep(interval / 2)
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)

	if len(lat) == 0 {
		fmt.Fprintln(os.Stderr, "loadgen: no requests were sent")
		os.Exit(1)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	fmt.Printf("%.0f %.3f %.3f %.3f %.3f %d\n", float64(len(lat))/elapsed.Seconds(), pct(.50), pct(.90), pct(.99), pct(1), errs)
}
