// Command loadgen sends requests at a fixed rate over a fixed number of
// keep-alive connections and prints latency percentiles, measured from
// each request's scheduled start (so a stalled server cannot hide its
// queueing: no coordinated omission). It complements wrk, which measures
// peak throughput, in scripts/bench/proxy.sh.
//
// It has to be cheap: it shares CPUs with the backend (and unpinned, with
// the proxy), and at half of nginx's peak a net/http client (two goroutines
// per connection, channels between them) took a whole CPU, so every proxy,
// nginx included, showed hundreds of milliseconds of "added" latency that
// were the load generator's. Each connection is one goroutine writing a
// prepared GET and reading the answer with net/http's parser; each
// request leaves at its scheduled time (package pace: a sleeping
// dispatcher released them in bursts of a millisecond's worth).
//
// Output, one line: achieved_rps p50_ms p90_ms p99_ms max_ms errors
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/scripts/bench/internal/pace"
)

func main() {
	target := flag.String("url", "http://127.0.0.1:18081/bench", "URL to GET (http only)")
	rate := flag.Int("rate", 1000, "requests per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	conns := flag.Int("conns", 64, "connections (and concurrent requests)")
	flag.Parse()
	if *rate <= 0 || *conns <= 0 {
		log.Fatal("loadgen: -rate and -conns must be positive")
	}
	u, err := url.Parse(*target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		log.Fatalf("loadgen: -url %q: want http://host:port/path", *target)
	}
	req, err := http.NewRequest(http.MethodGet, *target, nil)
	if err != nil {
		log.Fatalf("loadgen: -url %q: %v", *target, err)
	}
	head := fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: loadgen\r\n\r\n", u.RequestURI(), u.Host)

	jobs := make(chan time.Time, *rate)
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var wg sync.WaitGroup
	for range *conns {
		wg.Go(func() {
			c := &conn{addr: u.Host, head: head, req: req}
			defer c.close()
			var mine []time.Duration
			bad := 0
			for sched := range jobs {
				if err := c.get(); err != nil {
					bad++
				}
				mine = append(mine, time.Since(sched))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		})
	}

	interval := time.Second / time.Duration(*rate)
	start := time.Now()
	if err := pace.Run(start, interval, int(*duration/interval), jobs); err != nil {
		log.Fatalf("loadgen: %v", err)
	}
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

// conn is one keep-alive connection, dialled again after a failure or a
// "Connection: close".
type conn struct {
	addr string
	head []byte
	req  *http.Request // for http.ReadResponse: the method (HEAD or not)
	nc   net.Conn
	br   *bufio.Reader
}

// get sends the request and reads the whole answer; anything but a 200
// is an error.
func (c *conn) get() error {
	if c.nc == nil {
		nc, err := net.Dial("tcp", c.addr)
		if err != nil {
			return err
		}
		c.nc, c.br = nc, bufio.NewReaderSize(nc, 16<<10)
	}
	if _, err := c.nc.Write(c.head); err != nil {
		c.close()
		return err
	}
	resp, err := http.ReadResponse(c.br, c.req)
	if err != nil {
		c.close()
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil || resp.Close {
		c.close()
	}
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return err
}

func (c *conn) close() {
	if c.nc != nil {
		_ = c.nc.Close()
		c.nc, c.br = nil, nil
	}
}
