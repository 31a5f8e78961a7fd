// Command benchproxy serves one gateway.Table in front of a backend, to
// profile the data plane (-cpuprofile) under the load of the proxy
// benchmark. It runs the same data plane as `gatehouse serve` (route table,
// plugin chain, upstream pool, metrics) without the admin API and database.
// The benchmark itself (scripts/bench/proxy.sh) measures the real binary.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/server/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/server/internal/h1server"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18083", "listen address")
	upstream := flag.String("upstream", "http://127.0.0.1:18081", "backend URL")
	routes := flag.Int("routes", 1, "number of routes in the table (the benchmarked one is the last)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the first -profile-for to this file")
	profileFor := flag.Duration("profile-for", 10*time.Second, "how long to profile")
	memProfile := flag.String("memprofile", "", "write an allocation profile after -profile-for to this file")
	engine := flag.String("engine", "std", "gateway engine: std (net/http) or fast (h1server)")
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

	if *memProfile != "" {
		runtime.MemProfileRate = 4096
		time.AfterFunc(*profileFor, func() {
			f, err := os.Create(*memProfile)
			if err != nil {
				log.Fatal(err)
			}
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			_ = f.Close()
		})
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
	if *engine == string(h1server.Std) {
		log.Fatal(srv.ListenAndServe())
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fast := &h1server.Server{Std: srv, MaxRequestsPerConn: 1000, Log: logger}
	log.Fatal(fast.Serve(ln))
}
