package gateway

import (
	"bufio"
	"bytes"
	"net"
	"testing"

	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

// BenchmarkForwardFast measures one proxied GET on a keep-alive
// connection through the fast engine, with and without the direct path,
// against an upstream that answers from memory: allocations per request
// (exact) and time (with the client's and upstream's share).
func BenchmarkForwardFast(b *testing.B) {
	const answer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
	up := fixedUpstream(b, answer)
	snap := spec.Snapshot{Services: []spec.Service{svc("s", "http://"+up)}, Routes: []spec.Route{prefixRoute("r", "/", "s")}}
	for _, engine := range []string{"fast", "direct"} {
		b.Run(engine, func(b *testing.B) {
			addr, _ := serveGateway(b, engine, snap, CompileOptions{})
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			req := []byte("GET /bench HTTP/1.1\r\nHost: bench\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n")
			buf := make([]byte, 4096)
			roundTrip := func() {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				n, err := readAnswer(br, buf)
				if err != nil || !bytes.HasSuffix(buf[:n], []byte("\r\n\r\nok")) {
					b.Fatalf("answer %q: %v", buf[:n], err)
				}
			}
			roundTrip()
			b.ReportAllocs()
			for b.Loop() {
				roundTrip()
			}
		})
	}
}

// readAnswer reads one answer with a Content-Length into buf, without
// allocating: the benchmark's allocations are the gateway's.
func readAnswer(br *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for bytes.Index(buf[:n], []byte("\r\n\r\n")) < 0 {
		m, err := br.Read(buf[n:])
		if err != nil {
			return n, err
		}
		n += m
	}
	end := bytes.Index(buf[:n], []byte("\r\n\r\n")) + 4
	length := 0
	if i := bytes.Index(buf[:end], []byte("Content-Length: ")); i >= 0 {
		for k := i + len("Content-Length: "); buf[k] >= '0' && buf[k] <= '9'; k++ {
			length = length*10 + int(buf[k]-'0')
		}
	}
	want := end + length
	for n < want {
		m, err := br.Read(buf[n:])
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}

// fixedUpstream answers every request head it reads with answer.
func fixedUpstream(b *testing.B, answer string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ln.Close() })
	ans := []byte(answer)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 8192)
				n := 0
				for {
					m, err := c.Read(buf[n:])
					if err != nil {
						return
					}
					n += m
					for {
						i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
						if i < 0 {
							break
						}
						n = copy(buf, buf[i+4:n])
						if _, err := c.Write(ans); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}
