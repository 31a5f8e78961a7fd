// Command benchproxy serves one gateway.Table in front of a backend, for
// the proxy benchmark (scripts/bench/proxy.sh). It runs the same data
// plane as `gatehouse serve` (route table, plugin chain, upstream pool,
// metrics) without the admin API and database, until the real binary can
// be configured through the API in the benchmark.
package main

import (
	"context"
	"flag"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/server/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18083", "listen address")
	upstream := flag.String("upstream", "http://127.0.0.1:18081", "backend URL")
	routes := flag.Int("routes", 1, "number of routes in the table (the benchmarked one is the last)")
	stock := flag.Bool("stock", false, "serve a bare httputil.ReverseProxy instead of the gateway, as a reference for net/http's own cost")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the first -profile-for to this file")
	profileFor := flag.Duration("profile-for", 10*time.Second, "how long to profile")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		time.AfterFunc(*profileFor, func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		})
	}

	if *stock {
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

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	snap := spec.Snapshot{Services: []spec.Service{{Name: "backend", Endpoints: []spec.Endpoint{{URL: *upstream}}}}}
	for i := 1; i < *routes; i++ {
		snap.Routes = append(snap.Routes, spec.Route{Name: "filler-" + strconv.Itoa(i), Domains: []string{"host" + strconv.Itoa(i) + ".example.com"},
			Path: spec.PathMatch{Type: spec.PathPrefix, Value: "/"}, Service: "backend"})
	}
	snap.Routes = append(snap.Routes, spec.Route{Name: "bench", Path: spec.PathMatch{Type: spec.PathPrefix, Value: "/"}, Service: "backend"})
	gw := gateway.New(logger, prometheus.NewRegistry())
	tbl, err := gateway.Compile(context.Background(), snap, gateway.CompileOptions{Logger: logger})
	if err != nil {
		log.Fatal(err)
	}
	gw.Swap(tbl)
	srv := &http.Server{Addr: *addr, Handler: gw, ConnState: gw.ConnState, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
