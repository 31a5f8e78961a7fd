package restmcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// MaxResponseBytes bounds the upstream response body Call reads.
const MaxResponseBytes = 32 << 20

// CallResult is the outcome of a tool call, ready to become an MCP
// CallToolResult: Text is the text content; Structured, when the tool has
// an output schema and the upstream answered JSON, is the
// structuredContent; IsError marks a failed call (upstream status not
// 2xx, unreachable upstream, failing template) whose Text says why.
type CallResult struct {
	Text       string
	Structured any
	IsError    bool
	// Status is the upstream HTTP status, 0 when no response arrived or
	// the tool sends no request.
	Status int
	// ImageData and ImageMIMEType are set instead of Text when the
	// upstream answered with an image/* body.
	ImageData     []byte
	ImageMIMEType string
}

// Call runs a tool: it renders the request (see Render), sends it with
// client (http.DefaultClient when nil) and turns the response into a
// CallResult. Failures the model should see (upstream errors, templates
// that fail on this response) are results with IsError; the error return
// is for ErrUnknownTool, ErrInvalidArguments, ErrNotREST and the
// cancellation of ctx.
func (s *Server) Call(ctx context.Context, client *http.Client, tool string, args map[string]any, in *http.Request) (*CallResult, error) {
	res, err := s.call(ctx, client, tool, args, in)
	if res != nil && res.IsError {
		// An upstream may echo the request; a template error may quote a value.
		res.Text = s.secrets.Redact(res.Text)
	}
	return res, err
}

func (s *Server) call(ctx context.Context, client *http.Client, tool string, args map[string]any, in *http.Request) (*CallResult, error) {
	t, err := s.lookup(tool)
	if err != nil {
		return nil, err
	}
	a, err := t.prepareArgs(args)
	if err != nil {
		return nil, err
	}
	if t.direct {
		data := map[string]any{"config": deepCopy(s.publicConfig), "args": a}
		text, err := t.response.execute(data, &execEnv{req: in})
		if err != nil {
			return errorResult(0, err.Error()), nil
		}
		res := &CallResult{Text: text}
		if t.spec.OutputSchema != nil {
			res.Structured = structured([]byte(text))
		}
		return res, nil
	}
	r, err := s.build(t, a, in)
	if err != nil {
		if errors.Is(err, ErrInvalidArguments) {
			return nil, err
		}
		return errorResult(0, err.Error()), nil
	}
	// The call's deadline is a context's: http.Client's own Timeout, with
	// a transport other than http.Transport, starts a goroutine and a
	// timer per request. When ctx ends sooner (CallContext made it), a
	// deadline of the call's own would never be the first to pass.
	timeout := s.timeout(client)
	if client == nil {
		client = http.DefaultClient
	}
	client = s.redirects.of(client)
	callCtx := ctx
	if d, ok := ctx.Deadline(); timeout > 0 && (!ok || d.After(time.Now().Add(timeout))) {
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	// gone reports whether the caller ended the call (not the call's own
	// timeout, which is a result).
	gone := func() bool { return ctx.Err() != nil && !errors.Is(context.Cause(ctx), errCallTimeout) }
	var reqBody io.Reader
	if r.Body != "" {
		reqBody = strings.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(callCtx, r.Method, r.URL, reqBody)
	if err != nil {
		return errorResult(0, fmt.Sprintf("tool %q: build the request to %s: %v", tool, redactURL(r.URL), unwrapURLError(err))), nil
	}
	if reqBody == nil {
		req.Body, req.GetBody = http.NoBody, noBody
	}
	// The names are canonical (rendered): set as Header.Set does, a later
	// value replacing an earlier one, the values in one array.
	values := make([]string, len(r.headers))
	for i, h := range r.headers {
		if h.key == "Host" {
			req.Host = h.value
			continue
		}
		values[i] = h.value
		req.Header[h.key] = values[i : i+1 : i+1]
	}
	resp, err := send(client, req)
	if err != nil {
		if gone() {
			return nil, fmt.Errorf("call tool %q: %w", tool, ctx.Err())
		}
		if errors.Is(err, context.DeadlineExceeded) {
			if s.def.Server.Timeout > 0 {
				return errorResult(0, fmt.Sprintf("tool %q: upstream %s %s did not answer within %d ms (server.timeout)", tool, r.Method, redactURL(r.URL), s.def.Server.Timeout)), nil
			}
			return errorResult(0, fmt.Sprintf("tool %q: upstream %s %s did not answer within %s (set server.timeout in milliseconds to change it)", tool, r.Method, redactURL(r.URL), timeout)), nil
		}
		return errorResult(0, fmt.Sprintf("tool %q: upstream %s %s failed: %v", tool, r.Method, redactURL(r.URL), unwrapURLError(err))), nil
	}
	defer resp.Body.Close()
	body, err := readLimited(resp.Body, resp.ContentLength, MaxResponseBytes+1)
	if err != nil {
		if gone() {
			return nil, fmt.Errorf("call tool %q: %w", tool, ctx.Err())
		}
		return errorResult(resp.StatusCode, fmt.Sprintf("tool %q: upstream %s %s: reading the response failed: %v", tool, r.Method, redactURL(r.URL), err)), nil
	}
	if len(body) > MaxResponseBytes {
		return errorResult(resp.StatusCode, fmt.Sprintf("tool %q: upstream %s %s answered more than %d bytes; narrow the request", tool, r.Method, redactURL(r.URL), MaxResponseBytes)), nil
	}
	return s.result(t, a, resp, body), nil
}

func noBody() (io.ReadCloser, error) { return http.NoBody, nil }

// timeout is the deadline Call gives a call with client: the server's
// timeout (milliseconds), else the client's; 0 is none.
func (s *Server) timeout(client *http.Client) time.Duration {
	if ms := s.def.Server.Timeout; ms > 0 {
		return time.Duration(ms) * time.Millisecond
	}
	if client == nil {
		return http.DefaultClient.Timeout
	}
	return client.Timeout
}

// errCallTimeout is the cause of a CallContext's end at its deadline. It
// reads as, and wraps, context.DeadlineExceeded (a transport may return a
// context's cause instead of its error): every message is the one a
// deadline of Call's own gives.
var errCallTimeout error = callTimeout{}

type callTimeout struct{}

func (callTimeout) Error() string { return context.DeadlineExceeded.Error() }
func (callTimeout) Unwrap() error { return context.DeadlineExceeded }

// CallContext returns parent, cancellable and with the deadline Call gives
// a call with client, for a caller that makes a context for one call
// anyway: Call then sets no deadline of its own (a context and a timer
// fewer), and reports that deadline passing as its own timeout, a result.
func (s *Server) CallContext(parent context.Context, client *http.Client) (context.Context, context.CancelFunc) {
	if timeout := s.timeout(client); timeout > 0 {
		return context.WithDeadlineCause(parent, time.Now().Add(timeout), errCallTimeout)
	}
	return context.WithCancel(parent)
}

// send sends req as client.Do does. A GET or HEAD goes to the client's
// transport itself: client.Do copies every request's headers and URL to be
// ready for a redirect (~5 allocations per call). When the answer is a
// redirect, the request is sent again through client.Do, which follows it
// (same origin only, see sameOriginRedirects): such a GET or HEAD reaches
// the upstream twice, as a client's retry would. Other methods, a URL with
// user info (client.Do sends it as Basic auth) and a client with a cookie
// jar take client.Do.
func send(client *http.Client, req *http.Request) (*http.Response, error) {
	if (req.Method != http.MethodGet && req.Method != http.MethodHead) || req.URL.User != nil || client.Jar != nil {
		return client.Do(req)
	}
	rt := client.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		_, _ = io.CopyN(io.Discard, resp.Body, 2<<10)
		_ = resp.Body.Close()
		return client.Do(req)
	}
	return resp, nil
}

// redirectClients keeps the last client a Server called with and its
// sameOriginRedirects copy, made once rather than per call (the host
// passes the same client every time).
type redirectClients struct {
	last atomic.Pointer[[2]*http.Client] // the client, its copy
}

// of returns sameOriginRedirects(client), made once per client.
func (r *redirectClients) of(client *http.Client) *http.Client {
	if p := r.last.Load(); p != nil && p[0] == client {
		return p[1]
	}
	c := sameOriginRedirects(client)
	r.last.Store(&[2]*http.Client{client, c})
	return c
}

// sameOriginRedirects returns client, changed to follow redirects only to
// the same scheme and host: credentials in headers (API keys) and query
// parameters must not reach another host. A redirect elsewhere is answered
// as the upstream's own response, an error status. (Higress follows none.)
// The copy has no Timeout: call sets the deadline on the request's context.
func sameOriginRedirects(client *http.Client) *http.Client {
	c := *client
	c.Timeout = 0
	next := client.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !strings.EqualFold(req.URL.Scheme, via[0].URL.Scheme) || !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
			return http.ErrUseLastResponse
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &c
}

// readLimited reads r to its end, but no more than limit bytes, as
// io.ReadAll(io.LimitReader(r, limit)) does; size, when not negative, is
// how much r holds (Content-Length), so that one buffer holds it all.
func readLimited(r io.Reader, size, limit int64) ([]byte, error) {
	n := int64(512)
	if size >= 0 && size < limit {
		n = size + 1 // room for the read that finds the end
	}
	b := make([]byte, 0, n)
	for int64(len(b)) < limit {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		room := b[len(b):cap(b)]
		if left := limit - int64(len(b)); int64(len(room)) > left {
			room = room[:left]
		}
		m, err := r.Read(room)
		b = b[:len(b)+m]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}

// mayBeImage reports whether the Content-Type value ct may name an image
// type (mime.ParseMediaType then says), without parsing it. Values with
// non-ASCII bytes may: ParseMediaType lowercases U+0130 to "i".
func mayBeImage(ct string) bool {
	for i := 0; i < len(ct); i++ {
		if ct[i] >= utf8.RuneSelf {
			return true
		}
	}
	ct = strings.TrimSpace(ct) // as mime.ParseMediaType trims
	return len(ct) >= len("image/") && strings.EqualFold(ct[:len("image/")], "image/")
}

func errorResult(status int, text string) *CallResult {
	return &CallResult{Text: text, IsError: true, Status: status}
}

// result turns an upstream response into the tool's result, as Higress
// does.
func (s *Server) result(t *compiledTool, args map[string]any, resp *http.Response, body []byte) *CallResult {
	status := resp.StatusCode
	if status < 200 || status >= 300 {
		if t.errorResp != nil {
			// The raw body lacks _headers, so gjson re-encodes the data.
			data, _ := s.responseData(body, args)
			text, err := t.errorResp.execute(errorData(data, resp), &execEnv{})
			if err != nil {
				return errorResult(status, err.Error())
			}
			if text != "" {
				return errorResult(status, text)
			}
		}
		target := redactURL(resp.Request.URL.String())
		if loc, err := resp.Location(); err == nil && status >= 300 && status < 400 && redactURL(loc.String()) != target {
			return errorResult(status, fmt.Sprintf("tool %q: upstream %s answered HTTP %d, a redirect to another host (%s); not followed, so the tool's credentials stay with %s", t.def.Name, target, status, redactURL(loc.String()), target))
		}
		return errorResult(status, fmt.Sprintf("tool %q: upstream %s returned HTTP %d: %s", t.def.Name, target, status, errorBody(body)))
	}
	if ct := resp.Header.Get("Content-Type"); mayBeImage(ct) {
		if mediaType, _, _ := mime.ParseMediaType(ct); strings.HasPrefix(mediaType, "image/") {
			return &CallResult{Status: status, ImageData: body, ImageMIMEType: mediaType}
		}
	}
	res := &CallResult{Status: status}
	rt := &t.def.ResponseTemplate
	switch {
	case t.response != nil:
		text, err := s.renderResponse(t.response, body, args)
		if err != nil {
			return errorResult(status, err.Error())
		}
		res.Text = text
	case rt.PrependBody != "" || rt.AppendBody != "":
		res.Text = rt.PrependBody + string(body) + rt.AppendBody
	default:
		res.Text = string(body)
	}
	if res.Text == "" {
		res.Text = "success"
	}
	if t.spec.OutputSchema != nil {
		res.Structured = structured(body)
	}
	return res
}

// renderResponse runs a response template on the upstream's answer body:
// from the raw JSON when the template only prints values of it, else on
// the decoded answer (responseData).
func (s *Server) renderResponse(t *tmpl, body []byte, args map[string]any) (string, error) {
	if t.paths != nil && !t.isConstant {
		if text, ok := t.paths.render(body, args, s.publicConfig); ok {
			return text, nil
		}
	}
	data, raw := s.responseData(body, args)
	return t.execute(data, &execEnv{rootRaw: raw})
}

// structured is the structuredContent for a JSON answer: the object
// itself, or any other JSON value as {"data": value}, since MCP wants an
// object; nil when the answer is not JSON.
func structured(body []byte) any {
	v, err := decodeJSONValue(body)
	if err != nil {
		return nil
	}
	if _, ok := v.(map[string]any); !ok {
		v = map[string]any{"data": v}
	}
	return v
}

// maxErrorBody bounds how much of an error response reaches the model.
const maxErrorBody = 16 << 10

func errorBody(body []byte) string {
	if len(body) <= maxErrorBody {
		return string(body)
	}
	return fmt.Sprintf("%s… (%d more bytes)", strings.ToValidUTF8(string(body[:maxErrorBody]), ""), len(body)-maxErrorBody)
}

// redactURL is what an error shows of a URL: its scheme and host, never
// the userinfo, the path (which may carry a token, as in /bot<token>/) or
// the query (api_key=…).
func redactURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return "(a URL that is not absolute)"
	}
	return u.Scheme + "://" + u.Host
}

// serviceBase is the base URL relative request URLs resolve against: the
// endpoints of the server's service, in turn; "" without a service.
func (s *Server) serviceBase() string {
	urls := s.def.ServiceURLs
	if len(urls) == 0 {
		return ""
	}
	return urls[int(s.next.Add(1)-1)%len(urls)]
}
