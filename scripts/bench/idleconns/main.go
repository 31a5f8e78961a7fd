// Command idleconns measures the memory a proxy holds per idle keep-alive
// connection: it reads the process's anonymous resident memory (RssAnon:
// heap, stacks; not the pages of the binary and plugins, which the first
// requests fault in and whose residency depends on the page cache), opens
// -n connections that each make one request and then stay idle, reads it
// again and prints the difference per connection.
//
//	go run ./scripts/bench/idleconns -pid $(pgrep -n gatehouse) -addr 127.0.0.1:18083 -n 2000
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		fmt.Fprintln(os.Stderr, "idleconns:", err)
		os.Exit(1)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "RssAnon:"); ok {
			n, _ := strconv.Atoi(strings.Fields(rest)[0])
			return n
		}
	}
	return 0
}

func main() {
	pid := flag.Int("pid", 0, "process id of the proxy")
	addr := flag.String("addr", "", "host:port of the proxy")
	n := flag.Int("n", 2000, "idle connections to open")
	path := flag.String("path", "/bench", "request path")
	flag.Parse()
	before := rssKB(*pid)
	conns := make([]net.Conn, 0, *n)
	for range *n {
		c, err := net.Dial("tcp", *addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "idleconns: dial:", err)
			os.Exit(1)
		}
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: bench\r\n\r\n", *path)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "idleconns: response:", err)
			os.Exit(1)
		}
		resp.Body.Close()
		conns = append(conns, c)
	}
	time.Sleep(2 * time.Second)
	after := rssKB(*pid)
	fmt.Printf("anonymous rss before %d KiB, after %d idle connections %d KiB: %.1f KiB per connection\n", before, *n, after, float64(after-before)/float64(*n))
	for _, c := range conns {
		c.Close()
	}
}
