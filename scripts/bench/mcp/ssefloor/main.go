// Command ssefloor is the reference of the idle-session memory benchmark in
// scripts/bench/mcp/mcp.sh: the least a net/http server holds for a legacy
// HTTP+SSE stream. GET /sse answers the endpoint event and holds the
// response open like an MCP server would; POST /message?sessionId= answers
// any request with an empty result on that stream. There is no MCP in it,
// so what Gatehouse holds above this per session is Gatehouse's (and the
// MCP SDK's) own.
//
// GET /metrics serves the Go runtime metrics under the same names as
// Gatehouse's /metrics (go_memstats_*, go_goroutines); POST /gc runs a
// garbage collection first, so the live heap can be read at once.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type stream struct {
	mu sync.Mutex
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (s *stream) event(name string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", name, data); err != nil {
		return err
	}
	return s.rc.Flush()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18311", "listen address")
	flag.Parse()
	var (
		mu      sync.Mutex
		streams = map[string]*stream{}
		next    atomic.Int64
	)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sse", func(w http.ResponseWriter, r *http.Request) {
		id := strconv.FormatInt(next.Add(1), 10)
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		s := &stream{w: w, rc: http.NewResponseController(w)}
		mu.Lock()
		streams[id] = s
		mu.Unlock()
		defer func() {
			mu.Lock()
			delete(streams, id)
			mu.Unlock()
		}()
		if err := s.event("endpoint", []byte("/message?sessionId="+id)); err != nil {
			return
		}
		<-r.Context().Done()
	})
	mux.HandleFunc("POST /message", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		s := streams[r.URL.Query().Get("sessionId")]
		mu.Unlock()
		if s == nil {
			http.Error(w, "no such session", http.StatusNotFound)
			return
		}
		var msg struct {
			ID json.RawMessage `json:"id"`
		}
		body, err := io.ReadAll(r.Body)
		if err == nil {
			err = json.Unmarshal(body, &msg)
		}
		if err != nil {
			http.Error(w, "not JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		if msg.ID != nil {
			_ = s.event("message", fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"result":{}}`, msg.ID))
		}
	})
	mux.Handle("GET /metrics", promhttp.Handler())
	mux.HandleFunc("POST /gc", func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		w.WriteHeader(http.StatusNoContent)
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
