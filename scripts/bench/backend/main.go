// Command backend is the upstream of the proxy benchmarks
// (scripts/bench/proxy.sh): it answers every request at once with a
// fixed body, like a fast API.
package main

import (
	"flag"
	"log"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	size := flag.Int("size", 64, "response body size in bytes")
	flag.Parse()
	body := []byte(strings.Repeat("x", *size))
	length := strconv.Itoa(len(body))
	srv := &http.Server{
		Addr: *addr,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h["Content-Type"] = []string{"text/plain"}
			h["Content-Length"] = []string{length}
			_, _ = w.Write(body)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	log.Fatal(srv.ListenAndServe())
}
