// This file is not built on its own. server/e2e/mcp_conformance_test.go
// adds it to the Go SDK's conformance everything-server
// (github.com/modelcontextprotocol/go-sdk/conformance/everything-server, the
// version in go.mod) with `go build -overlay`, so that the same server, with
// the same tools, resources and prompts, is served over both upstream
// transports an mcp-proxy server can use:
//
//	everything-server -gatehouse-listen 127.0.0.1:0
//
// serves Streamable HTTP (stateful, as the SDK's own conformance script runs
// it) at /mcp and legacy HTTP+SSE (2024-11-05) at /sse, and prints
// "listening on http://ADDR" once the port is bound. Without the flag the
// server behaves exactly as upstream's.

package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

var gatehouseListen = flag.String("gatehouse-listen", "", "serve Streamable HTTP at /mcp and SSE at /sse on this address (Gatehouse's conformance tests)")

func init() {
	flag.Parse()
	if *gatehouseListen == "" {
		return
	}
	// The same server as main builds.
	server := mcp.NewServer(&mcp.Implementation{Name: "mcp-conformance-test-server", Version: "1.0.0"}, &mcp.ServerOptions{
		CompletionHandler:  completionHandler,
		SubscribeHandler:   subscribeHandler,
		UnsubscribeHandler: unsubscribeHandler,
	})
	registerTools(server)
	registerResources(server)
	registerPrompts(server)
	go watchedResourceUpdater(context.Background(), server)

	get := func(*http.Request) *mcp.Server { return server }
	mux := http.NewServeMux()
	mux.Handle("/mcp", mcp.NewStreamableHTTPHandler(get, &mcp.StreamableHTTPOptions{Stateless: false}))
	mux.Handle("/sse", mcp.NewSSEHandler(get, nil))
	ln, err := net.Listen("tcp", *gatehouseListen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stdout, "listening on http://%s\n", ln.Addr())
	log.Fatal(http.Serve(ln, mux))
}
