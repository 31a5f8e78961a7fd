// Command floorproxy is the least a Go proxy in Gatehouse's design can do
// per request: one goroutine per client connection, a keep-alive upstream
// connection of its own, Go's network poller, and no HTTP beyond finding
// where a message ends — no request object, no header map, no allocation
// per request, the bytes passed on as they came. It is a measuring stick
// for the proxy benchmark (scripts/bench/proxy.sh, target go-floor), not a
// proxy: it knows only bodiless requests and answers that carry a
// Content-Length, and closes the connection on anything else.
package main

import (
	"bytes"
	"flag"
	"log"
	"net"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18090", "listen address")
	upstream := flag.String("upstream", "127.0.0.1:18081", "backend host:port")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(c, *upstream)
	}
}

// serve passes c's requests to a connection of its own to upstream, one at
// a time, and each answer back.
func serve(c net.Conn, upstream string) {
	defer c.Close()
	u, err := net.Dial("tcp", upstream)
	if err != nil {
		return
	}
	defer u.Close()
	in := make([]byte, 16<<10)
	out := make([]byte, 64<<10)
	for {
		n, err := readMessage(c, in, false)
		if err != nil {
			return
		}
		if _, err := u.Write(in[:n]); err != nil {
			return
		}
		m, err := readMessage(u, out, true)
		if err != nil {
			return
		}
		if _, err := c.Write(out[:m]); err != nil {
			return
		}
	}
}

var (
	headEnd          = []byte("\r\n\r\n")
	contentLength    = []byte("\ncontent-length:")
	transferEncoding = []byte("\ntransfer-encoding:")
)

// readMessage reads one message into buf and returns its length: a
// request's head (a request with a body is refused), or an answer's head
// and the Content-Length bytes that follow it.
func readMessage(c net.Conn, buf []byte, answer bool) (int, error) {
	n, end := 0, -1
	for end < 0 {
		if n == len(buf) {
			return 0, net.ErrClosed
		}
		k, err := c.Read(buf[n:])
		if err != nil {
			return 0, err
		}
		n += k
		end = bytes.Index(buf[:n], headEnd)
	}
	end += len(headEnd)
	length := bodyLength(buf[:end])
	if !answer {
		if length > 0 || n != end || indexFold(buf[:end], transferEncoding) >= 0 {
			return 0, net.ErrClosed // a body, or pipelined requests
		}
		return n, nil
	}
	if length < 0 || end+length > len(buf) || n > end+length {
		return 0, net.ErrClosed // no Content-Length, too long, or more than it declared
	}
	for n < end+length {
		k, err := c.Read(buf[n : end+length])
		if err != nil {
			return 0, err
		}
		n += k
	}
	return n, nil
}

// bodyLength is head's Content-Length: -1 without one or when it cannot
// be read.
func bodyLength(head []byte) int {
	i := indexFold(head, contentLength)
	if i < 0 {
		return -1
	}
	v := bytes.TrimSpace(head[i+len(contentLength):][:bytes.IndexByte(head[i+len(contentLength):], '\r')])
	if len(v) == 0 || len(v) > 9 {
		return -1
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// indexFold is bytes.Index with ASCII letters of s matched in either case
// (sep is lower case).
func indexFold(s, sep []byte) int {
	for i := 0; i+len(sep) <= len(s); i++ {
		j := 0
		for ; j < len(sep); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sep[j] {
				break
			}
		}
		if j == len(sep) {
			return i
		}
	}
	return -1
}
