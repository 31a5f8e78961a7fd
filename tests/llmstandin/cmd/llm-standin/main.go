// Command llm-standin serves the LLM provider stand-in (package
// llmstandin) on an address, for benchmarks and trying the gateway by hand.
//
//	go run ./tests/llmstandin/cmd/llm-standin -addr 127.0.0.1:9000
//
// It prints "listening on http://<addr>" once it accepts connections.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/tests/llmstandin"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on (port 0 picks a free one)")
	keys := flag.String("keys", "", "comma-separated credentials accepted (empty: any non-empty credential)")
	noAuth := flag.Bool("no-auth", false, "accept requests without a credential")
	fail := flag.String("fail", "", "directives applied to every request, e.g. status=500 or chunk-delay=10ms")
	chunkDelay := flag.Duration("chunk-delay", 0, "pause between streamed events")
	record := flag.Bool("record", false, "keep every request in memory (off: counters only, for benchmarks)")
	flag.Parse()

	opts := llmstandin.Options{NoAuth: *noAuth, Fail: *fail, ChunkDelay: *chunkDelay, NoRecord: !*record}
	if *keys != "" {
		opts.Keys = strings.Split(*keys, ",")
	}
	if err := run(*addr, opts); err != nil {
		fmt.Fprintln(os.Stderr, "llm-standin:", err)
		os.Exit(1)
	}
}

func run(addr string, opts llmstandin.Options) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is the port in use?)", addr, err)
	}
	srv := &http.Server{
		Handler:           llmstandin.New(opts),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(slog.NewTextHandler(os.Stderr, nil), slog.LevelWarn),
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
