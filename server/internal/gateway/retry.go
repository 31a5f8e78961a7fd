package gateway

import (
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/gatehouse-dev/gatehouse/server/internal/h1client"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

// isIdempotent reports whether a request may be sent again.
func isIdempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}

// upstreamError describes a failed attempt for the error handler.
type upstreamError struct {
	service  string
	endpoint string
	err      error
}

func (e *upstreamError) Error() string {
	return fmt.Sprintf("service %q endpoint %s: %v", e.service, e.endpoint, e.err)
}

func (e *upstreamError) Unwrap() error { return e.err }

// roundTripper sends a proxied request to the pool's endpoints, retrying
// idempotent requests on another endpoint.
type roundTripper struct {
	pool  *pool
	table *Table
}

func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	return rt.roundTrip(req, nil)
}

// roundTrip is RoundTrip with options for h1client's exchanges (nil:
// none).
func (rt *roundTripper) roundTrip(req *http.Request, opts *h1client.Options) (*http.Response, error) {
	p := rt.pool
	canRetry := p.retries > 0 && isIdempotent(req.Method) &&
		(req.Body == nil || req.Body == http.NoBody || req.GetBody != nil)
	var triedBuf [4]int
	tried := triedBuf[:0]
	var lastErr error
	path, rawPath := req.URL.Path, req.URL.RawPath
	next := p.pick(req, tried)
	for attempt := 0; ; attempt++ {
		i := next
		if i < 0 {
			if lastErr != nil {
				return nil, lastErr
			}
			rt.table.countUpstreamError(p.name)
			return nil, &upstreamError{service: p.name, endpoint: "-", err: errNoEndpoint}
		}
		tried = append(tried, i)
		ep := p.endpoints[i]
		out := req
		if attempt > 0 {
			// The failed attempt may still hold req: send a copy.
			out = new(http.Request)
			*out = *req
			u := *req.URL
			out.URL = &u
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, lastErr
				}
				out.Body = body
			}
		}
		out.URL.Scheme = ep.scheme
		out.URL.Host = ep.host
		if ep.basePath != "" || attempt > 0 {
			out.URL.Path = ep.basePath + path
			if rawPath != "" {
				out.URL.RawPath = ep.basePath + rawPath
			}
		}
		out.Host = ""

		tracking := p.policy == spec.LBLeastRequest
		if tracking {
			ep.inflight.Add(1)
		}
		var resp *http.Response
		var err error
		if h1client.Eligible(out) {
			resp, err = p.transport.h1.SendWith(out, ep.dialAddr, opts)
		} else {
			resp, err = p.transport.t.RoundTrip(out)
		}
		failed := err != nil
		if err == nil {
			switch resp.StatusCode {
			case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
				failed = true
			}
		}
		if !failed {
			p.succeeded(ep)
			if tracking {
				if resp.StatusCode == http.StatusSwitchingProtocols {
					ep.inflight.Add(-1)
				} else {
					resp.Body = &inflightBody{ReadCloser: resp.Body, ep: ep}
				}
			}
			return resp, nil
		}
		if tracking {
			ep.inflight.Add(-1)
		}
		if err != nil && (req.Context().Err() != nil || clientBodyError(req.Context()) != nil) {
			// The client went away or sent a broken body: not the
			// endpoint's fault.
			return nil, err
		}
		p.failed(ep)
		rt.table.countUpstreamError(p.name)
		if err != nil {
			lastErr = &upstreamError{service: p.name, endpoint: ep.raw, err: err}
		}
		next = -1
		if canRetry && attempt < p.retries && req.Context().Err() == nil {
			next = p.pick(req, tried)
		}
		if next < 0 {
			if err != nil {
				return nil, lastErr
			}
			// The upstream's own 5xx answer goes back to the client.
			return resp, nil
		}
		if resp != nil {
			// Drain a little so that the connection can be reused.
			_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
			_ = resp.Body.Close()
			lastErr = &upstreamError{service: p.name, endpoint: ep.raw, err: fmt.Errorf("upstream answered %s", resp.Status)}
		}
	}
}

// inflightBody ends an endpoint's in-flight count when the response body
// is closed.
type inflightBody struct {
	io.ReadCloser
	ep   *endpoint
	once sync.Once
}

func (b *inflightBody) Close() error {
	b.once.Do(func() { b.ep.inflight.Add(-1) })
	return b.ReadCloser.Close()
}
