package gateway

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

// snapshot10k is 10,000 routes over 100 services: 70% on 200 exact
// domains, 20% on 50 wildcard domains, 10% without domain; paths are 60%
// prefix, 30% exact and 10% regex.
func snapshot10k() (spec.Snapshot, []benchRequest) {
	var snap spec.Snapshot
	for i := 0; i < 100; i++ {
		snap.Services = append(snap.Services, svc(fmt.Sprintf("svc-%d", i), fmt.Sprintf("http://10.0.%d.%d:8080", i/250, i%250+1)))
	}
	var reqs []benchRequest
	for i := 0; i < 10000; i++ {
		r := spec.Route{Name: fmt.Sprintf("route-%d", i), Service: fmt.Sprintf("svc-%d", i%100)}
		host := ""
		switch d := i % 10; {
		case d < 7:
			host = fmt.Sprintf("app%d.example.com", i%200)
			r.Domains = []string{host}
		case d < 9:
			r.Domains = []string{fmt.Sprintf("*.t%d.example.net", i%50)}
			host = fmt.Sprintf("tenant%d.t%d.example.net", i%7, i%50)
		default:
			host = "anything.example.org"
		}
		path := ""
		switch p := (i / 10) % 10; {
		case p == 0:
			r.Path = spec.PathMatch{Type: spec.PathRegex, Value: fmt.Sprintf("/api/v[0-9]+/items%d/[a-z]+", i)}
			path = fmt.Sprintf("/api/v2/items%d/detail", i)
		case p < 4:
			r.Path = spec.PathMatch{Type: spec.PathExact, Value: fmt.Sprintf("/api/%d/status", i)}
			path = r.Path.Value
		default:
			r.Path = spec.PathMatch{Type: spec.PathPrefix, Value: fmt.Sprintf("/svc%d/v%d", i, i%3)}
			path = r.Path.Value + "/orders/42"
		}
		if i%13 == 0 {
			r.Methods = []string{"GET", "POST"}
		}
		if i%17 == 0 {
			r.Headers = []spec.HeaderMatch{{Name: "x-env", Value: "prod"}}
		}
		snap.Routes = append(snap.Routes, r)
		if i%10 == 3 || i%97 == 0 {
			h := http.Header{}
			if len(r.Headers) > 0 {
				h.Set("X-Env", "prod")
			}
			reqs = append(reqs, benchRequest{host: host, path: path, method: "GET", header: h, want: r.Name})
		}
	}
	return snap, reqs
}

type benchRequest struct {
	host, path, method string
	header             http.Header
	want               string
}

// BenchmarkMatch10k measures one route match (host normalization, path
// check and lookup) in a table of 10,000 routes. Goal: ≤ 1 µs.
func BenchmarkMatch10k(b *testing.B) {
	snap, reqs := snapshot10k()
	tbl, err := Compile(context.Background(), snap, CompileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer tbl.Close()
	for _, r := range reqs {
		if e := tbl.router.match(normalizeHost(r.host), spec.CleanPath(r.path), r.method, stdHeader(r.header)); e == nil || e.name != r.want {
			b.Fatalf("%s %s: got %v, want %s", r.host, r.path, e, r.want)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		r := reqs[i%len(reqs)]
		i++
		if tbl.router.match(normalizeHost(r.host), spec.CleanPath(r.path), r.method, stdHeader(r.header)) == nil {
			b.Fatal("no match")
		}
	}
}

// BenchmarkCompile10k measures applying a 10,000-route configuration:
// validate, compile and swap into a serving gateway. Goal: ≤ 1 s.
func BenchmarkCompile10k(b *testing.B) {
	snap, _ := snapshot10k()
	gw := New(nil, nil)
	defer gw.Close()
	b.ReportAllocs()
	for b.Loop() {
		tbl, err := Compile(context.Background(), snap, CompileOptions{Previous: gw.Table()})
		if err != nil {
			b.Fatal(err)
		}
		gw.Swap(tbl)
	}
}
