package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The benchmark's requests (bodiless GETs on keep-alive connections) come
// back with the backend's answer, several on one connection.
func TestPassesRequestsAndAnswersThrough(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "answer to "+r.URL.Path)
	}))
	defer backend.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c, strings.TrimPrefix(backend.URL, "http://"))
		}
	}()
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	for _, path := range []string{"/bench", "/second", "/third"} {
		res, err := client.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || string(body) != "answer to "+path {
			t.Fatalf("GET %s: %q, %v; want the backend's answer", path, body, err)
		}
	}
}

func TestBodyLength(t *testing.T) {
	for head, want := range map[string]int{
		"HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n":            64,
		"HTTP/1.1 200 OK\r\ncontent-length:7\r\nX: y\r\n\r\n":      7,
		"HTTP/1.1 200 OK\r\nCONTENT-LENGTH:  12 \r\n\r\n":          12,
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n":                        -1,
		"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n":            -1,
		"HTTP/1.1 200 OK\r\nContent-Length: 9999999999\r\n\r\n":    -1,
		"HTTP/1.1 200 OK\r\nX-Content-Length: 5\r\n\r\n":           -1,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n":    -1,
		"HTTP/1.1 200 OK\r\nContent-Length: \r\nServer: x\r\n\r\n": -1,
	} {
		if got := bodyLength([]byte(head)); got != want {
			t.Errorf("bodyLength(%q) = %d, want %d", head, got, want)
		}
	}
}
