// Command sseidle opens many legacy HTTP+SSE (2024-11-05) MCP sessions and
// holds them idle, for the memory benchmark in scripts/bench/mcp/mcp.sh.
// It runs as its own process so that the gateway's memory can be measured
// without the client's.
//
// Each session: GET -url (the SSE endpoint), read the endpoint event, and
// with -init post initialize to the announced message URL, wait for its
// answer on the stream and post notifications/initialized, as a real client
// does before it goes idle. Then the stream is only read (the gateway's
// keep-alive comments) until the end.
//
// When every session is open it prints "ready <n> <seconds to open>" on
// stdout; it then holds them until SIGINT, SIGTERM or the end of stdin,
// closes them and prints "closed <streams that ended early>".
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/scripts/bench/mcp/internal/sse"
)

func main() {
	sseURL := flag.String("url", "", "the SSE endpoint, http://host:port/mcp-servers/<name>/sse")
	n := flag.Int("n", 10000, "sessions to open")
	workers := flag.Int("workers", 64, "sessions opened at once")
	init := flag.Bool("init", true, "initialize each session (initialize + notifications/initialized) before it goes idle")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("sseidle: ")
	if *sseURL == "" || *n <= 0 || *workers <= 0 {
		log.Fatal("-url is required; -n and -workers must be positive")
	}
	base, err := url.Parse(*sseURL)
	if err != nil {
		log.Fatalf("-url: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// One connection per stream; small buffers, since they sit idle.
	streams := &http.Client{Transport: &http.Transport{
		DialContext:        (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		DisableCompression: true,
		ReadBufferSize:     1024,
		WriteBufferSize:    1024,
	}}
	posts := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *workers, DisableCompression: true}, Timeout: 30 * time.Second}

	var closing atomic.Bool
	var ended atomic.Int64
	var readers sync.WaitGroup
	bodies := make([]io.Closer, *n)
	jobs := make(chan int)
	var failed atomic.Pointer[error]
	start := time.Now()
	var openers sync.WaitGroup
	for range *workers {
		openers.Go(func() {
			for i := range jobs {
				if failed.Load() != nil {
					continue
				}
				body, rd, err := open(ctx, streams, posts, base, *init)
				if err != nil {
					err = fmt.Errorf("session %d: %w", i, err)
					failed.CompareAndSwap(nil, &err)
					continue
				}
				bodies[i] = body
				readers.Go(func() {
					for {
						if _, err := rd.Next(); err != nil {
							if !closing.Load() {
								ended.Add(1)
							}
							return
						}
					}
				})
			}
		})
	}
	for i := range *n {
		jobs <- i
	}
	close(jobs)
	openers.Wait()
	if p := failed.Load(); p != nil {
		log.Fatal(*p)
	}
	fmt.Printf("ready %d %.1f\n", *n, time.Since(start).Seconds())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	stdin := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdin)
	}()
	select {
	case <-sig:
	case <-stdin:
	}
	closing.Store(true)
	for _, b := range bodies {
		if b != nil {
			_ = b.Close()
		}
	}
	readers.Wait()
	fmt.Printf("closed %d\n", ended.Load())
}

// open starts one session and returns its stream, positioned after the
// handshake.
func open(ctx context.Context, streams, posts *http.Client, base *url.URL, initialize bool) (io.Closer, *sse.Reader, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base.String(), nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := streams.Do(req)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		_ = resp.Body.Close()
		return nil, nil, fmt.Errorf("GET %s: %d %s", base, resp.StatusCode, b)
	}
	rd := sse.NewReader(resp.Body, 512)
	ev, err := rd.Next()
	if err != nil || ev.Name != "endpoint" {
		_ = resp.Body.Close()
		return nil, nil, fmt.Errorf("want the endpoint event first, got %q (%v)", ev.Name, err)
	}
	if !initialize {
		return resp.Body, rd, nil
	}
	msgURL, err := base.Parse(string(ev.Data))
	if err != nil {
		_ = resp.Body.Close()
		return nil, nil, fmt.Errorf("endpoint %q: %w", ev.Data, err)
	}
	post := func(body string) error {
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, msgURL.String(), bytes.NewBufferString(body))
		if err != nil {
			return err
		}
		r.Header.Set("Content-Type", "application/json")
		a, err := posts.Do(r)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(a.Body)
		_ = a.Body.Close()
		if a.StatusCode != http.StatusAccepted {
			return fmt.Errorf("POST %s: %d %s", msgURL, a.StatusCode, b)
		}
		return nil
	}
	if err := post(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"sseidle","version":"1"}}}`); err != nil {
		_ = resp.Body.Close()
		return nil, nil, fmt.Errorf("initialize: %w", err)
	}
	for {
		ev, err := rd.Next()
		if err != nil {
			_ = resp.Body.Close()
			return nil, nil, fmt.Errorf("wait for the initialize answer: %w", err)
		}
		if ev.Name == "message" && bytes.Contains(ev.Data, []byte(`"id":0,`)) {
			if !bytes.Contains(ev.Data, []byte(`"result"`)) {
				_ = resp.Body.Close()
				return nil, nil, fmt.Errorf("initialize failed: %s", ev.Data)
			}
			break
		}
	}
	if err := post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`); err != nil {
		_ = resp.Body.Close()
		return nil, nil, fmt.Errorf("notifications/initialized: %w", err)
	}
	return resp.Body, rd, nil
}
