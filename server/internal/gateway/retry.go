package gateway

import (
	"errors"
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
	canRetry := isIdempotent(req.Method) && (req.Body == nil || req.Body == http.NoBody || req.GetBody != nil)
	path, rawPath := req.URL.Path, req.URL.RawPath
	var resp *http.Response
	send := func(ep *endpoint, attempt int) (int, error) {
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
					return 0, errNoReplay
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
		var err error
		if h1client.Eligible(out) {
			resp, err = p.transport.h1.SendWith(out, ep.dialAddr, opts)
		} else {
			resp, err = p.transport.t.RoundTrip(out)
		}
		if err != nil {
			return 0, err
		}
		return resp.StatusCode, nil
	}
	drop := func() string {
		// Drain a little so that the connection can be reused.
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
		_ = resp.Body.Close()
		return resp.Status
	}
	ep, tracked, err := rt.try(req, req.Method, canRetry, send, drop)
	if err != nil {
		return nil, err
	}
	if tracked {
		if resp.StatusCode == http.StatusSwitchingProtocols {
			ep.inflight.Add(-1)
		} else {
			resp.Body = &inflightBody{ReadCloser: resp.Body, ep: ep}
		}
	}
	return resp, nil
}

// errNoReplay: the request cannot be sent again (its body cannot be read
// again); the last attempt's error stands.
var errNoReplay = errors.New("request cannot be sent again")

// try makes the attempts of one proxied request: on the endpoint the pool
// picks, then, for a request that may be sent again (canRetry, and an
// idempotent method), on others while the service's retries allow, after a
// connection error or a 502, 503 or 504 answer. send makes one attempt and
// returns the status of its answer, or an error; drop discards an answer
// that is retried and returns its status line. req, when not nil, is the
// request (its client may leave, or fail its body, which ends the
// attempts), also given to the balancer. It returns the endpoint whose
// answer is final (the last one's 5xx when retries ran out) and whether
// that endpoint counts the request in flight until the answer is done
// (least-request balancing): the caller then ends the count.
func (rt *roundTripper) try(req *http.Request, method string, canRetry bool,
	send func(ep *endpoint, attempt int) (int, error), drop func() string) (ep *endpoint, tracked bool, err error) {
	p := rt.pool
	canRetry = canRetry && p.retries > 0 && isIdempotent(method)
	var triedBuf [4]int
	tried := triedBuf[:0]
	var lastErr error
	next := p.pick(req, tried)
	for attempt := 0; ; attempt++ {
		i := next
		if i < 0 {
			if lastErr != nil {
				return nil, false, lastErr
			}
			rt.table.countUpstreamError(p.name)
			return nil, false, &upstreamError{service: p.name, endpoint: "-", err: errNoEndpoint}
		}
		tried = append(tried, i)
		ep = p.endpoints[i]
		tracking := p.policy == spec.LBLeastRequest
		if tracking {
			ep.inflight.Add(1)
		}
		status, err := send(ep, attempt)
		if err == errNoReplay {
			if tracking {
				ep.inflight.Add(-1)
			}
			return nil, false, lastErr
		}
		failed := err != nil
		switch status {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			failed = true
		}
		if !failed {
			p.succeeded(ep)
			return ep, tracking, nil
		}
		if tracking {
			ep.inflight.Add(-1)
		}
		if err != nil && req != nil && (req.Context().Err() != nil || clientBodyError(req.Context()) != nil) {
			// The client went away or sent a broken body: not the
			// endpoint's fault.
			return nil, false, err
		}
		p.failed(ep)
		rt.table.countUpstreamError(p.name)
		if err != nil {
			lastErr = &upstreamError{service: p.name, endpoint: ep.raw, err: err}
		}
		next = -1
		if canRetry && attempt < p.retries && (req == nil || req.Context().Err() == nil) {
			next = p.pick(req, tried)
		}
		if next < 0 {
			if err != nil {
				return nil, false, lastErr
			}
			// The upstream's own 5xx answer goes back to the client.
			return ep, false, nil
		}
		if err == nil {
			lastErr = &upstreamError{service: p.name, endpoint: ep.raw, err: fmt.Errorf("upstream answered %s", drop())}
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
