// Command stockproxy is a bare httputil.ReverseProxy in front of one
// backend: the reference for net/http's own cost in the proxy benchmark
// (scripts/bench/proxy.sh).
package main

import (
	"flag"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18084", "listen address")
	upstream := flag.String("upstream", "http://127.0.0.1:18081", "backend URL")
	flag.Parse()
	target, err := url.Parse(*upstream)
	if err != nil {
		log.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true}
	rp.ErrorLog = log.New(io.Discard, "", 0) // wrk's cancelled requests at the end of a run
	srv := &http.Server{Addr: *addr, Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
