// Package freeport hands tests loopback TCP ports to listen on.
package freeport

import (
	"net"
	"sync"
	"testing"
)

// handedOut are the ports Get returned in this process: the kernel may
// offer a port again as soon as the probe closes it, and two servers of
// one test (a gateway and its console) must not get the same one.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// Get returns a TCP port on 127.0.0.1 that was free a moment ago and that
// it never returned before in this process.
func Get(t testing.TB) int {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		if !handedOut.ports[port] {
			handedOut.ports[port] = true
			return port
		}
	}
	t.Fatal("no free port that was not handed out already")
	return 0
}
