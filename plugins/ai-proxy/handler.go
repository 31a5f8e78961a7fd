package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/aiwire"
	"github.com/gatehouse-dev/gatehouse/plugins/internal/translate"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

const (
	// maxAnswerBytes bounds a non-streamed answer read into memory.
	maxAnswerBytes = 64 << 20
	// maxErrorBytes bounds a provider's error body.
	maxErrorBytes = 64 << 10
	// readBuf is the read size of a pass-through answer.
	readBuf = 8 << 10
	// streamReadBuf is the read size of a streamed chat answer. It is
	// held for the whole life of a stream, mostly waiting for the next
	// token, so it is small: SSE events are a few hundred bytes, the
	// transport reads the socket through its own buffer, and an event
	// larger than this is assembled by the stream translator.
	streamReadBuf = 2 << 10
)

// errTimeout is the cause of an attempt cancelled by the provider timeout.
var errTimeout = errors.New("provider timeout")

// call is one AI request being served.
type call struct {
	in       *instance
	w        http.ResponseWriter
	r        *http.Request
	client   translate.Protocol
	k        kind
	apiPath  string // "/v1/chat/completions"
	rest     string // "/chat/completions"
	body     []byte
	info     translate.RequestInfo
	consumer string
	route    string
	start    time.Time
	provider string // picked by model-router, "" for any

	// what happened, for the access log and metrics
	status     int
	prov       *provider
	mapped     string
	usage      translate.Usage
	firstToken time.Duration
	attempts   int
	wrote      bool // the answer to the client has begun
}

// serve handles one request.
func (in *instance) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	c := &call{in: in, w: w, r: r, client: translate.OpenAI, start: time.Now()}
	deferred := false
	defer func() {
		if !deferred {
			c.finish()
		}
	}()
	c.consumer, _ = pluginapi.ConsumerFromContext(r.Context())
	c.route = in.routeName
	if c.route == "" {
		c.route, _ = pluginapi.RouteFromContext(r.Context())
	}

	path := r.URL.Path
	for _, sp := range in.subPaths {
		if strings.HasPrefix(path, sp+"/") {
			path = path[len(sp):]
			break
		}
	}
	i := strings.Index(path, "/v1/")
	if i < 0 {
		c.fail(http.StatusNotFound, "not_found_error", fmt.Sprintf("path %s is not served by this AI route; use /v1/chat/completions, /v1/messages, /v1/embeddings, /v1/models or another /v1/ path", r.URL.Path))
		return
	}
	c.apiPath = path[i:]
	c.rest = c.apiPath[3:]
	switch {
	case c.rest == "/chat/completions":
		c.k = kindChat
	case c.rest == "/messages":
		c.k, c.client = kindMessages, translate.Anthropic
	case c.rest == "/embeddings":
		c.k = kindEmbeddings
	case c.rest == "/models":
		c.k = kindModels
		if r.Header.Get("Anthropic-Version") != "" {
			c.client = translate.Anthropic
		}
	default:
		c.k = kindPass
		if strings.HasPrefix(c.rest, "/messages/") {
			c.client = translate.Anthropic
		}
	}
	want := http.MethodPost
	if c.k == kindModels {
		want = http.MethodGet
	}
	if c.k != kindPass && r.Method != want {
		c.w.Header().Set("Allow", want)
		c.fail(http.StatusMethodNotAllowed, "invalid_request_error", fmt.Sprintf("%s %s is not served; use %s", r.Method, c.apiPath, want))
		return
	}
	if c.k == kindModels {
		if c.deny() {
			return
		}
		deferred = c.serveModels(next)
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		body, err := readRequestBody(r, in.maxBody+1)
		if err != nil {
			c.status = 499
			return
		}
		if int64(len(body)) > in.maxBody {
			c.fail(http.StatusRequestEntityTooLarge, "request_too_large", fmt.Sprintf("the request body is larger than %d bytes, the limit of this AI route", in.maxBody))
			return
		}
		c.body = body
	}
	if c.k == kindChat || c.k == kindMessages || c.k == kindEmbeddings {
		info, err := translate.Inspect(c.client, c.body)
		if err != nil {
			c.fail(http.StatusBadRequest, "invalid_request_error", "the request body is not a valid "+string(c.client)+" request: "+err.Error())
			return
		}
		if info.Model == "" {
			c.fail(http.StatusBadRequest, "invalid_request_error", `the request has no "model"; name the model to use`)
			return
		}
		c.info = info
	} else if len(c.body) > 0 && json.Valid(c.body) {
		c.info, _ = translate.Inspect(translate.OpenAI, c.body)
	}
	// A model this route does not offer belongs to another route of the
	// path, whoever asks; so the model is matched before the consumer.
	if len(in.predicates) > 0 && !in.offers(c.info.Model) {
		deferred = true
		c.deferToNext(next)
		return
	}
	// A provider picked by model-router ("openai/gpt-4o") is served only
	// by this route's upstreams of that provider; else by another route.
	if want, ok := aiwire.ProviderFrom(r.Context()); ok {
		if !in.hasProvider(want) {
			deferred = true
			c.deferToNext(next)
			return
		}
		c.provider = want
	}
	if c.deny() {
		return
	}
	c.markServed()
	if cached := pluginapi.CachedAnswerFrom(r.Context()); cached != nil {
		// ai-cache's answer in place of a provider's, now that the route
		// admitted the caller. ai-cache counts it; no usage is recorded
		// here, so a budget's or token limit's reservation is released.
		deferred = true
		cached.Serve(c.w)
		return
	}
	c.proxy()
}

// deny answers 403 when the route has allowedConsumers and the caller is
// not one of them.
func (c *call) deny() bool {
	if c.in.allowed == nil || c.in.allowed[c.consumer] {
		return false
	}
	if c.consumer == "" {
		c.fail(http.StatusForbidden, "permission_error", "this AI route only serves its allowed consumers, and the request named none; send your consumer key (Authorization: Bearer <key> or x-api-key)")
	} else {
		route := "this AI route"
		if c.in.routeName != "" {
			route = fmt.Sprintf("the AI route %q", c.in.routeName)
		}
		c.fail(http.StatusForbidden, "permission_error", fmt.Sprintf("consumer %q may not use %s; ask its administrator to admit the consumer (the route's allowedConsumers and the consumer's allowedAiRoutes)", c.consumer, route))
	}
	return true
}

// offers reports whether model matches one of the route's predicates.
func (in *instance) offers(model string) bool {
	for _, p := range in.predicates {
		if p.match(model) {
			return true
		}
	}
	return false
}

// proxy sends the request to the primary upstream, then to the fallback
// upstreams while they fail before the answer began.
func (c *call) proxy() {
	cands := c.candidates()
	if len(cands) == 0 {
		c.fail(http.StatusNotFound, "not_found_error", fmt.Sprintf("no provider of this AI route serves %s %s", c.r.Method, c.apiPath))
		return
	}
	var last *failure
	for i, u := range cands {
		if i > 0 {
			c.in.metrics.fallbacks.WithLabelValues(c.route, cands[i-1].p.id, u.p.id).Inc()
			c.in.log.Info("ai fallback", "ai_route", c.route, "from", cands[i-1].p.id, "to", u.p.id, "reason", last.reason())
		}
		f := c.try(u)
		if f == nil {
			return
		}
		last = f
		if f.final || !c.in.fallsBack(f) {
			break
		}
	}
	c.failWith(last)
}

// candidates returns the upstreams to try in order: one primary by weight,
// then the fallback upstreams by strategy; only those that serve the
// request.
func (c *call) candidates() []upstream {
	in := c.in
	if c.provider != "" {
		return c.providerCandidates()
	}
	if len(in.primary) == 1 && len(in.fallback) == 0 {
		// The common case: one upstream, no choice to make.
		if in.primary[0].p.serves(c.k, c.client, c.rest) {
			return in.primary[:1:1]
		}
		return nil
	}
	var out []upstream
	var primary []upstream
	total := 0
	for _, u := range in.primary {
		if u.p.serves(c.k, c.client, c.rest) {
			primary = append(primary, u)
			total += u.weight
		}
	}
	if len(primary) > 0 {
		n := rand.IntN(total)
		for _, u := range primary {
			if n < u.weight {
				out = append(out, u)
				break
			}
			n -= u.weight
		}
	}
	fb := make([]upstream, 0, len(in.fallback))
	for _, u := range in.fallback {
		if u.p.serves(c.k, c.client, c.rest) {
			fb = append(fb, u)
		}
	}
	if in.fbRandom {
		rand.Shuffle(len(fb), func(i, j int) { fb[i], fb[j] = fb[j], fb[i] })
	}
	return append(out, fb...)
}

// hasProvider reports whether the route has an upstream (primary or
// fallback) of provider want, by id or else by type.
func (in *instance) hasProvider(want string) bool {
	for _, list := range [][]upstream{in.primary, in.fallback} {
		for _, u := range list {
			if u.p.is(want) {
				return true
			}
		}
	}
	return false
}

// is reports whether p is the provider a model router named.
func (p *provider) is(want string) bool { return p.id == want || p.typ == want }

// providerCandidates are the upstreams of the provider model-router
// picked: its primary upstreams by weight (else its fallback ones), then
// the route's fallback upstreams.
func (c *call) providerCandidates() []upstream {
	var picked []upstream
	total := 0
	for _, list := range [][]upstream{c.in.primary, c.in.fallback} {
		for _, u := range list {
			if u.p.is(c.provider) && u.p.serves(c.k, c.client, c.rest) {
				picked = append(picked, u)
				total += max(u.weight, 1)
			}
		}
		if len(picked) > 0 {
			break
		}
	}
	var out []upstream
	if len(picked) > 0 {
		n := rand.IntN(total)
		for _, u := range picked {
			if n < max(u.weight, 1) {
				out = append(out, u)
				break
			}
			n -= max(u.weight, 1)
		}
	}
	for _, u := range c.in.fallback {
		if (len(out) == 0 || u.p != out[0].p) && u.p.serves(c.k, c.client, c.rest) {
			out = append(out, u)
		}
	}
	return out
}

// fallsBack reports whether failure f lets the next upstream be tried.
func (in *instance) fallsBack(f *failure) bool {
	if f.status == 0 {
		return true // connection error, timeout, unreadable answer
	}
	return in.fbOn.has(f.status)
}

// failure is an attempt that did not answer the client.
type failure struct {
	p       *provider
	status  int // 0: no answer
	err     error
	timeout bool
	broken  bool   // the answer could not be read or translated
	body    []byte // the provider's error body
	header  http.Header
	wire    translate.Protocol
	// final: the client has been answered already (a cancelled request).
	final bool
}

func (f *failure) reason() string {
	switch {
	case f.timeout:
		return "timeout"
	case f.broken:
		return "broken answer"
	case f.status != 0:
		return "status " + strconv.Itoa(f.status)
	case f.err != nil:
		return "connection error"
	}
	return "unknown"
}

// mapModel returns the provider's model name for the request on u.
func (c *call) mapModel(u upstream) string {
	m, _ := u.mapping.lookup(c.info.Model)
	m, _ = u.p.mapping.lookup(m)
	return m
}

// wireOf is the protocol spoken with p for this request.
func (c *call) wireOf(p *provider) translate.Protocol {
	if p.wire == "" {
		return c.client
	}
	return p.wire
}

// upstreamBody builds the body to send to p for model.
func (c *call) upstreamBody(p *provider, model string) ([]byte, error) {
	body := c.body
	if len(body) == 0 {
		return body, nil
	}
	var err error
	switch c.k {
	case kindChat, kindMessages:
		if model != c.info.Model {
			if body, err = translate.SetModel(body, model); err != nil {
				return nil, err
			}
		}
		wire := c.wireOf(p)
		opts := translate.RequestOptions{ForceStreamUsage: c.info.Stream && wire == translate.OpenAI}
		switch {
		case c.client == translate.Anthropic && wire == translate.Gemini:
			// Two steps: Anthropic → OpenAI → Gemini.
			if body, err = translate.Request(translate.Anthropic, translate.OpenAI, body, opts); err == nil {
				body, err = translate.Request(translate.OpenAI, translate.Gemini, body, opts)
			}
		default:
			body, err = translate.Request(c.client, wire, body, opts)
		}
		if err != nil {
			return nil, err
		}
		return applySettings(body, p.settings)
	default:
		if model != c.info.Model && c.info.Model != "" {
			return translate.SetModel(body, model)
		}
		return body, nil
	}
}

// try sends the request to upstream u, with another token or again as
// the provider's config allows; it returns nil when the client was
// answered.
func (c *call) try(u upstream) *failure {
	p := u.p
	model := c.mapModel(u)
	c.prov, c.mapped = p, model
	body, err := c.upstreamBody(p, model)
	if err != nil {
		status := http.StatusBadRequest
		return &failure{p: p, status: status, final: true, err: fmt.Errorf("the request cannot be sent to provider %q (%s): %w", p.id, p.typ, err)}
	}
	target := p.target(c.k, c.apiPath, c.rest, model, c.info.Stream, c.query())
	var tried []int
	retries := 0
	retryUntil := time.Now()
	if p.retry != nil {
		retryUntil = retryUntil.Add(p.retry.timeout)
	}
	for {
		tok := p.tokens.pick(tried)
		f := c.attempt(p, tok, target, body)
		if f == nil || f.final {
			return f
		}
		if f.status == 0 {
			return f
		}
		if tok != nil && tokenRefused(f.status) && len(tried)+1 < len(p.tokens.tokens) {
			tried = append(tried, tok.index)
			continue
		}
		if p.retry != nil && retries < p.retry.max && time.Now().Before(retryUntil) && matchStatus(p.retry.on, f.status) {
			retries++
			if tok != nil {
				tried = append(tried, tok.index)
			}
			if len(tried) >= len(p.tokens.tokens) {
				tried = tried[:0]
			}
			continue
		}
		return f
	}
}

// query is the client's query without credential parameters.
func (c *call) query() string {
	q := c.r.URL.RawQuery
	if q == "" {
		return ""
	}
	v, err := url.ParseQuery(q)
	if err != nil {
		return ""
	}
	for _, k := range []string{"key", "api_key", "api-key"} {
		v.Del(k)
	}
	return v.Encode()
}

// attempt is one call to a provider with one token.
func (c *call) attempt(p *provider, tok *token, target string, body []byte) *failure {
	c.attempts++
	ctx, cancel := context.WithCancelCause(c.r.Context())
	defer cancel(nil)
	timer := time.AfterFunc(p.timeout, func() { cancel(errTimeout) })
	defer timer.Stop()

	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	method := c.r.Method
	if c.k == kindModels {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return c.attemptDone(p, &failure{p: p, err: err, final: true})
	}
	copyRequestHeaders(req.Header, c.r.Header)
	if len(body) > 0 {
		req.Header["Content-Type"] = jsonContentType
	}
	p.authorize(req.Header, tok)
	resp, err := c.in.client.Do(req)
	if err != nil {
		p.tokens.report(tok, 0, 0)
		switch {
		case errors.Is(context.Cause(ctx), errTimeout):
			return c.attemptDone(p, &failure{p: p, err: err, timeout: true})
		case c.r.Context().Err() != nil:
			c.status = 499
			return c.attemptDone(p, &failure{p: p, err: err, final: true})
		}
		return c.attemptDone(p, &failure{p: p, err: err})
	}
	defer resp.Body.Close()
	p.tokens.report(tok, resp.StatusCode, retryAfter(resp.Header))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		eb, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
		if tok != nil {
			eb = bytes.ReplaceAll(eb, []byte(tok.value), []byte("***"))
		}
		return c.attemptDone(p, &failure{p: p, status: resp.StatusCode, body: eb, header: resp.Header, wire: c.wireOf(p)})
	}
	return c.attemptDone(p, c.relay(ctx, p, resp, timer))
}

// attemptDone logs and counts an attempt.
func (c *call) attemptDone(p *provider, f *failure) *failure {
	outcome := "ok"
	switch {
	case c.status == 499:
		outcome = "cancelled"
	case f == nil:
	case f.timeout:
		outcome = "timeout"
	case f.broken:
		outcome = "broken"
	case f.status >= 500:
		outcome = "status_5xx"
	case f.status != 0:
		outcome = "status_4xx"
	default:
		outcome = "connection_error"
	}
	c.in.metrics.attempts.WithLabelValues(c.route, p.id, outcome).Inc()
	if f == nil && c.in.log.Enabled(c.r.Context(), slog.LevelDebug) {
		c.in.log.Debug("ai attempt", "ai_route", c.route, "provider", p.id, "attempt", c.attempts, "outcome", outcome)
	}
	if f != nil {
		attrs := []any{"ai_route", c.route, "provider", p.id, "attempt", c.attempts, "outcome", outcome}
		if f.status != 0 {
			attrs = append(attrs, "upstream_status", f.status)
		}
		if f.err != nil {
			attrs = append(attrs, "error", capLen(causeOf(f.err), 300))
		}
		c.in.log.Info("ai attempt failed", attrs...)
	}
	return f
}

// relay sends a successful answer to the client. It returns a failure
// when the answer could not be read before anything reached the client,
// so that the next upstream can be tried.
func (c *call) relay(ctx context.Context, p *provider, resp *http.Response, timer *time.Timer) *failure {
	wire := c.wireOf(p)
	switch {
	case c.k == kindChat || c.k == kindMessages:
		if c.info.Stream {
			return c.relayStream(ctx, p, wire, resp, timer)
		}
		return c.relayJSON(ctx, p, wire, resp)
	case c.k == kindEmbeddings:
		return c.relayEmbeddings(ctx, p, resp)
	default:
		return c.relayRaw(ctx, p, resp, timer)
	}
}

func (c *call) readFailure(ctx context.Context, p *provider, err error) *failure {
	if errors.Is(context.Cause(ctx), errTimeout) {
		return &failure{p: p, err: err, timeout: true}
	}
	if c.r.Context().Err() != nil {
		c.status = 499
		return &failure{p: p, err: err, final: true}
	}
	return &failure{p: p, err: err, broken: true}
}

func (c *call) relayJSON(ctx context.Context, p *provider, wire translate.Protocol, resp *http.Response) *failure {
	buf := getAnswerBuf()
	defer putAnswerBuf(buf)
	body, err := readAnswer(buf, resp)
	if err != nil {
		return c.readFailure(ctx, p, err)
	}
	var out []byte
	var usage translate.Usage
	if c.client == translate.Anthropic && wire == translate.Gemini {
		if out, usage, err = translate.Response(translate.Gemini, translate.OpenAI, body, c.info.Model); err == nil {
			out, _, err = translate.Response(translate.OpenAI, translate.Anthropic, out, c.info.Model)
		}
	} else {
		out, usage, err = translate.Response(wire, c.client, body, c.info.Model)
	}
	if err != nil {
		return &failure{p: p, err: err, broken: true}
	}
	c.usage = usage
	c.firstToken = time.Since(c.start)
	c.writeHeader(http.StatusOK, "application/json")
	_, _ = c.w.Write(out)
	return nil
}

func (c *call) relayEmbeddings(ctx context.Context, p *provider, resp *http.Response) *failure {
	buf := getAnswerBuf()
	defer putAnswerBuf(buf)
	body, err := readAnswer(buf, resp)
	if err != nil {
		return c.readFailure(ctx, p, err)
	}
	var u struct {
		Usage struct {
			PromptTokens int64 `json:"prompt_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(body, &u); err != nil {
		return &failure{p: p, err: fmt.Errorf("the answer is not valid JSON: %w", err), broken: true}
	}
	c.usage = translate.Usage{InputTokens: u.Usage.PromptTokens, Known: true}
	c.firstToken = time.Since(c.start)
	c.writeHeader(http.StatusOK, "application/json")
	_, _ = c.w.Write(body)
	return nil
}

// relayRaw copies a pass-through answer, flushing as it arrives.
func (c *call) relayRaw(ctx context.Context, p *provider, resp *http.Response, timer *time.Timer) *failure {
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/json"
	}
	c.writeHeader(resp.StatusCode, ct)
	buf := make([]byte, readBuf)
	for {
		n, err := resp.Body.Read(buf)
		timer.Reset(p.timeout)
		if n > 0 {
			if c.firstToken == 0 {
				c.firstToken = time.Since(c.start)
			}
			if _, werr := c.w.Write(buf[:n]); werr != nil {
				c.status = 499
				return nil
			}
			c.flush()
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				if f := c.readFailure(ctx, p, err); !f.final {
					c.in.log.Info("ai pass-through answer cut", "ai_route", c.route, "provider", p.id, "error", capLen(causeOf(err), 300))
				}
			}
			return nil
		}
	}
}

// stream is translate.Stream, or two of them in a row.
type stream interface {
	Feed(p []byte) ([]byte, error)
	Finish() ([]byte, error)
	Usage() translate.Usage
	Started() bool
}

// chained feeds the output of a into b: Gemini → OpenAI → Anthropic.
type chained struct{ a, b translate.Stream }

func (s chained) Feed(p []byte) ([]byte, error) {
	mid, err := s.a.Feed(p)
	if err != nil {
		return nil, err
	}
	return s.b.Feed(mid)
}

func (s chained) Finish() ([]byte, error) {
	mid, errA := s.a.Finish()
	out, err := s.b.Feed(mid)
	if err != nil {
		return out, err
	}
	if errA != nil {
		// a's error event is in OpenAI's shape; b turns it into the
		// client's, and its Finish closes the stream.
		tail, _ := s.b.Finish()
		return append(out, tail...), errA
	}
	tail, err := s.b.Finish()
	return append(out, tail...), err
}

func (s chained) Usage() translate.Usage { return s.a.Usage() }
func (s chained) Started() bool          { return s.b.Started() }

func (c *call) newStream(wire translate.Protocol) (stream, error) {
	opts := translate.StreamOptions{Model: c.info.Model, DropUsageChunk: !c.info.IncludeUsage}
	if c.client == translate.Anthropic && wire == translate.Gemini {
		a, err := translate.NewStream(translate.Gemini, translate.OpenAI, translate.StreamOptions{Model: c.info.Model})
		if err != nil {
			return nil, err
		}
		b, err := translate.NewStream(translate.OpenAI, translate.Anthropic, opts)
		if err != nil {
			return nil, err
		}
		return chained{a, b}, nil
	}
	return translate.NewStream(wire, c.client, opts)
}

func (c *call) relayStream(ctx context.Context, p *provider, wire translate.Protocol, resp *http.Response, timer *time.Timer) *failure {
	st, err := c.newStream(wire)
	if err != nil {
		return &failure{p: p, err: err, broken: true}
	}
	emit := func(out []byte) bool {
		if len(out) == 0 {
			return true
		}
		if !c.wrote {
			c.writeHeader(http.StatusOK, "text/event-stream")
		}
		if c.firstToken == 0 && st.Started() {
			c.firstToken = time.Since(c.start)
		}
		if _, err := c.w.Write(out); err != nil {
			c.status = 499
			return false
		}
		c.flush()
		return true
	}
	// broken ends the stream early: before the answer began it is a
	// failure the next upstream may take over; after, the client gets an
	// error event and a closed stream.
	broken := func(why error) *failure {
		c.usage = st.Usage()
		if !c.wrote {
			return &failure{p: p, err: why, broken: true}
		}
		c.in.log.Info("ai stream ended early", "ai_route", c.route, "provider", p.id, "error", capLen(causeOf(why), 300))
		emit(translate.ErrorEvent(c.client, "api_error", fmt.Sprintf("the answer of provider %q ended early: %s", p.id, causeOf(why))))
		return nil
	}
	buf := make([]byte, streamReadBuf)
	for {
		n, rerr := resp.Body.Read(buf)
		timer.Reset(p.timeout)
		if n > 0 {
			out, ferr := st.Feed(buf[:n])
			if !emit(out) {
				c.usage = st.Usage()
				return nil
			}
			if ferr != nil {
				return broken(ferr)
			}
		}
		if rerr == nil {
			continue
		}
		if !errors.Is(rerr, io.EOF) {
			if errors.Is(context.Cause(ctx), errTimeout) {
				if !c.wrote {
					c.usage = st.Usage()
					return &failure{p: p, err: rerr, timeout: true}
				}
				return broken(fmt.Errorf("no data for %s", p.timeout))
			}
			if c.r.Context().Err() != nil {
				c.status = 499
				c.usage = st.Usage()
				return nil
			}
		}
		out, ferr := st.Finish()
		c.usage = st.Usage()
		if ferr != nil && !c.wrote {
			return &failure{p: p, err: ferr, broken: true}
		}
		if ferr != nil {
			c.in.log.Info("ai stream ended early", "ai_route", c.route, "provider", p.id, "error", capLen(causeOf(ferr), 300))
		}
		if !c.wrote && len(out) == 0 {
			// An empty stream: answer it as one all the same.
			c.writeHeader(http.StatusOK, "text/event-stream")
		}
		emit(out)
		return nil
	}
}

// writeHeader begins the answer to the client.
func (c *call) writeHeader(status int, contentType string) {
	h := c.w.Header()
	h.Set("Content-Type", contentType)
	if strings.HasPrefix(contentType, "text/event-stream") {
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
	}
	c.w.WriteHeader(status)
	c.status = status
	c.wrote = true
	c.markServed()
}

// markServed tells the routes before this one in a chain that the request
// was answered here.
func (c *call) markServed() {
	if rec := chainFrom(c.r.Context()); rec != nil {
		rec.served = true
	}
}

func (c *call) flush() {
	_ = http.NewResponseController(c.w).Flush()
}

// fail answers the client with an error of its protocol.
func (c *call) fail(status int, kind, message string) {
	body := translate.ErrorBody(c.client, status, kind, message)
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	c.markServed()
	c.w.WriteHeader(status)
	_, _ = c.w.Write(body)
	c.status = status
	c.wrote = true
}

// failWith answers the client after the last attempt failed.
func (c *call) failWith(f *failure) {
	if f == nil || c.wrote || c.status == 499 {
		return
	}
	p := f.p
	name := fmt.Sprintf("provider %q (%s) at %s", p.id, p.typ, p.host())
	switch {
	case f.final && f.status != 0:
		c.fail(f.status, "invalid_request_error", causeOf(f.err))
	case f.timeout:
		c.fail(http.StatusGatewayTimeout, "api_error", fmt.Sprintf("%s did not answer within %s", name, p.timeout))
	case f.broken:
		c.fail(http.StatusBadGateway, "api_error", fmt.Sprintf("%s sent an answer that could not be read: %s", name, causeOf(f.err)))
	case f.status < 400 && f.status != 0:
		c.fail(http.StatusBadGateway, "api_error", fmt.Sprintf("%s answered with a redirect (HTTP %d), which the gateway does not follow; give the provider's final URL in endpoint", name, f.status))
	case f.status == 401 || f.status == 403:
		// The client's key is fine; the gateway's provider token is not.
		// The provider's message is not passed on: it is about a
		// credential the client never sees.
		c.fail(http.StatusBadGateway, "api_error", fmt.Sprintf("%s refused the gateway's API token (HTTP %d); the gateway's administrator must check the provider's apiTokens", name, f.status))
	case f.status != 0:
		body := translate.Error(f.wire, c.client, f.status, f.body)
		h := c.w.Header()
		h.Set("Content-Type", "application/json")
		if ra := f.header.Get("Retry-After"); ra != "" {
			h.Set("Retry-After", ra)
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		c.markServed()
		c.w.WriteHeader(f.status)
		_, _ = c.w.Write(body)
		c.status, c.wrote = f.status, true
	default:
		c.fail(http.StatusBadGateway, "api_error", fmt.Sprintf("%s could not be reached: %s", name, causeOf(f.err)))
	}
}

// finish writes the access-log line and the metrics of the request.
func (c *call) finish() {
	in := c.in
	d := time.Since(c.start)
	if c.status == 0 {
		c.status = http.StatusOK
	}
	provID, provType := "", ""
	if c.prov != nil {
		provID, provType = c.prov.id, c.prov.typ
	}
	model := modelLabels.Known(c.mapped)
	if c.status < 400 {
		model = modelLabels.Of(c.mapped)
	}
	labels := []string{c.route, provID, model, c.consumer}
	in.metrics.requests.WithLabelValues(c.route, provID, model, c.consumer, strconv.Itoa(c.status)).Inc()
	if c.prov != nil && c.usage.Known {
		in.metrics.inputTokens.WithLabelValues(labels...).Add(float64(c.usage.InputTokens))
		in.metrics.outputTokens.WithLabelValues(labels...).Add(float64(c.usage.OutputTokens))
		if c.usage.CachedTokens > 0 {
			in.metrics.cachedTokens.WithLabelValues(labels...).Add(float64(c.usage.CachedTokens))
		}
		if c.usage.ReasoningTokens > 0 {
			in.metrics.reasoningTokens.WithLabelValues(labels...).Add(float64(c.usage.ReasoningTokens))
		}
		// The plugins before ai-proxy (token limits, budgets) settle on
		// it; finish runs after the stream's last event.
		pluginapi.RecordAIUsage(c.r.Context(), pluginapi.AIUsage{
			Provider: provID, RequestedModel: c.info.Model, Model: c.mapped,
			InputTokens: c.usage.InputTokens, OutputTokens: c.usage.OutputTokens, CachedInputTokens: c.usage.CachedTokens,
		})
	}
	if c.prov != nil && c.status < 400 {
		if c.firstToken > 0 {
			in.metrics.firstToken.WithLabelValues(labels...).Observe(c.firstToken.Seconds())
		}
		in.metrics.service.WithLabelValues(labels...).Observe(d.Seconds())
	}
	// LogAttrs: typed attributes, not boxed ...any, on every request.
	in.log.LogAttrs(context.Background(), slog.LevelInfo, "ai request",
		slog.String("ai_route", c.route),
		slog.String("provider", provID),
		slog.String("gen_ai.request.model", capLen(c.info.Model, 200)),
		slog.String("gen_ai.response.model", capLen(c.mapped, 200)),
		slog.String("gen_ai.provider.name", provType),
		slog.String("consumer", c.consumer),
		slog.Int64("gen_ai.usage.input_tokens", c.usage.InputTokens),
		slog.Int64("gen_ai.usage.output_tokens", c.usage.OutputTokens),
		slog.Int64("gen_ai.usage.cached_tokens", c.usage.CachedTokens),
		slog.Int64("gen_ai.usage.reasoning_tokens", c.usage.ReasoningTokens),
		slog.Int64("first_token_ms", c.firstToken.Milliseconds()),
		slog.Int64("duration_ms", d.Milliseconds()),
		slog.Int("status", c.status),
		slog.Int("attempts", c.attempts),
		slog.Bool("stream", c.info.Stream),
		slog.String("path", capLen(c.apiPath, 200)),
	)
}

// strippedHeaders never travel from the client to a provider: the
// client's credentials (the provider gets its own), cookies, Gatehouse's
// internal headers, forwarding details and hop-by-hop headers.
var strippedHeaders = map[string]bool{
	"Authorization": true, "X-Api-Key": true, "Api-Key": true, "X-Goog-Api-Key": true,
	"Cookie": true, "Proxy-Authorization": true, "Proxy-Authenticate": true,
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Host": true, "Content-Length": true, "Accept-Encoding": true,
	"Forwarded": true, "X-Real-Ip": true, "Anthropic-Version": true, "Expect": true,
}

// jsonContentType is the Content-Type of a request body sent to a
// provider, shared by every request (never changed in place).
var jsonContentType = []string{"application/json"}

// copyRequestHeaders copies the client's headers that may travel to a
// provider. The value slices are shared with src, capped so that an
// append to one of them cannot write into the client's request; nothing
// on the way to the provider changes a value in place.
func copyRequestHeaders(dst, src http.Header) {
	for k, vs := range src {
		if strippedHeaders[k] || strings.HasPrefix(k, "X-Gatehouse-") || strings.HasPrefix(k, "X-Forwarded-") {
			continue
		}
		dst[k] = vs[:len(vs):len(vs)]
	}
	for _, f := range src.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			dst.Del(strings.TrimSpace(name))
		}
	}
}

// retryAfter parses a Retry-After header in seconds.
func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// causeOf describes err without the URL a *url.Error repeats (it may
// name internal hosts twice and is noise for a person).
func causeOf(err error) string {
	if err == nil {
		return ""
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout: " + err.Error()
	}
	return err.Error()
}

func capLen(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
