package h1client

import (
	"net"
	"net/http"
	"time"
)

// RoundTripper sends a request through H1 when H1 may send it (Eligible,
// and no proxy applies), and through Fallback otherwise: TLS, HTTP/2,
// upgrades, large or streamed bodies, proxied destinations. It is an
// http.RoundTripper for an http.Client.
//
// One difference from Fallback alone: H1 sends no Accept-Encoding of its
// own, so an upstream answers uncompressed unless the caller asked for an
// encoding (and then the caller decodes, as with net/http).
type RoundTripper struct {
	H1       *Transport
	Fallback *http.Transport
}

// NewClient returns an http.Client whose transport is a RoundTripper over
// fallback, for calls to upstream APIs.
func NewClient(fallback *http.Transport, timeout time.Duration) *http.Client {
	return &http.Client{
		Transport: &RoundTripper{H1: New(fallback.DialContext, fallback.ResponseHeaderTimeout), Fallback: fallback},
		Timeout:   timeout,
	}
}

// RoundTrip implements http.RoundTripper.
func (rt *RoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if !Eligible(req) || req.URL.Host == "" {
		return rt.Fallback.RoundTrip(req)
	}
	if rt.Fallback.Proxy != nil {
		if proxy, err := rt.Fallback.Proxy(req); err != nil || proxy != nil {
			return rt.Fallback.RoundTrip(req)
		}
	}
	return rt.H1.Send(req, DialAddr(req.URL.Host, req.URL.Scheme))
}

// CloseIdleConnections closes the idle connections of both transports.
func (rt *RoundTripper) CloseIdleConnections() {
	rt.H1.CloseIdle()
	rt.Fallback.CloseIdleConnections()
}

// DialAddr is host with the scheme's default port when it has none.
func DialAddr(host, scheme string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	port := "80"
	if scheme == "https" {
		port = "443"
	}
	h := host
	if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
	}
	return net.JoinHostPort(h, port)
}
