// Command upstream is the REST API behind the MCP benchmarks
// (scripts/bench/mcp/mcp.sh): it answers GET /data/2.5/weather at once with
// a small OpenWeatherMap-shaped JSON body, the API that the Higress
// definition mcp-openweather.yaml turns into the get_weather tool. It
// refuses a request without the x-api-key header or the city parameter, so
// a template that stopped sending them shows up as errors.
package main

import (
	"flag"
	"log"
	"net/http"
	"strconv"
	"time"
)

const body = `{"coord":{"lon":2.35,"lat":48.85},"weather":[{"id":800,"main":"Clear","description":"clear sky","icon":"01d"}],` +
	`"main":{"temp":21.5,"feels_like":21.1,"temp_min":20.2,"temp_max":22.8,"pressure":1016,"humidity":48},` +
	`"wind":{"speed":3.6,"deg":250},"clouds":{"all":0},"dt":1700000000,"name":"Paris","cod":200}`

func main() {
	addr := flag.String("addr", "127.0.0.1:18291", "listen address")
	flag.Parse()
	length := strconv.Itoa(len(body))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /data/2.5/weather", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") == "" || r.URL.Query().Get("city") == "" {
			http.Error(w, `{"cod":401,"message":"x-api-key header and city parameter are required"}`, http.StatusUnauthorized)
			return
		}
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{length}
		_, _ = w.Write([]byte(body))
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
