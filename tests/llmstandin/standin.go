// Package llmstandin is a stand-in for LLM providers, for tests and
// benchmarks that cannot reach a real one. It speaks OpenAI chat
// completions, embeddings, models and (minimal) responses, Anthropic
// messages and Gemini generateContent, streamed and not, with tool calls,
// deterministic answers and usage, and failure modes chosen by the request.
//
// Answers are deterministic: the text is "echo: <last user text>" (or
// "echo: tool result: <result>" after a tool result); input tokens are the
// words (strings.Fields) of every text in the request (system prompt, messages,
// tool results), output tokens the words of the answer (of the arguments JSON
// for a tool call). When the request offers tools and does not end with a
// tool result, the answer is a call of the first tool (or the one tool_choice
// names) whose arguments fill each property of the tool's schema: strings
// with the last user text, numbers with 42, booleans with true.
//
// Failure modes are directives, given by the header X-Standin-Fail
// (comma-separated), by the model name ("gpt-4o+status=429+cut-stream"), by
// Options.Fail, SetFail or FailNext:
//
//	status=N            answer N with an error body in the request's protocol
//	cut-stream          stop after half the answer and drop the connection
//	broken-json         answer 200 with a body (or one SSE event) that is not JSON
//	slow-first-byte=D   wait D (a Go duration) before the first byte
//	chunk-delay=D       wait D between streamed events
//	hang                never answer; wait for the client to go away
//	words=N             make the answer N words long (pads with w1 w2 …)
//	cached=N            report N of the input tokens as read from a cache
//	reasoning=N         report N reasoning tokens (counted in the output tokens)
//
// Credentials (Authorization: Bearer, x-api-key, api-key, x-goog-api-key or
// ?key=) starting with "bad-" get 401, "limited-" 429, "forbidden-" 403.
//
// Every request is recorded (path, credential, headers, body, usage
// answered, whether the client cancelled) for assertions; see Requests.
package llmstandin

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Server. The zero value is a usable stand-in that
// accepts any non-empty credential and any model.
type Options struct {
	// Keys, when not empty, are the only credentials accepted; any other
	// gets 401. Credentials with the bad-/limited-/forbidden- prefixes fail
	// whatever Keys says.
	Keys []string
	// NoAuth accepts requests that carry no credential at all (self-hosted
	// providers such as vllm or ollama).
	NoAuth bool
	// Models are the models listed by the models endpoints (default:
	// gpt-4o, gpt-4o-mini, claude-sonnet-4-5, gemini-2.5-flash,
	// text-embedding-3-small).
	Models []string
	// StrictModels answers 404 (model not found) for a model not in Models.
	StrictModels bool
	// Fail are directives applied to every request (see the package doc).
	Fail string
	// ChunkDelay is the pause between streamed events (default none).
	ChunkDelay time.Duration
	// NoRecord keeps only the counters, not the requests (benchmarks).
	NoRecord bool
	// HangLimit bounds how long "hang" waits for the client (default 2m).
	HangLimit time.Duration
	// LimitedRetryAfter is the Retry-After of the 429 a limited- key gets
	// (default 1s).
	LimitedRetryAfter time.Duration
}

// Usage is the token usage the stand-in answered with, in OpenAI's
// sense: InputTokens counts every prompt token (cached included),
// OutputTokens every generated token (reasoning included). On the
// Anthropic wire input_tokens is InputTokens-CachedTokens and
// cache_read_input_tokens is CachedTokens; on the Gemini wire
// candidatesTokenCount is OutputTokens-ReasoningTokens.
type Usage struct {
	InputTokens     int64 `json:"inputTokens"`
	OutputTokens    int64 `json:"outputTokens"`
	CachedTokens    int64 `json:"cachedTokens"`
	ReasoningTokens int64 `json:"reasoningTokens"`
}

// Request is one request the stand-in received.
type Request struct {
	// Seq numbers requests from 1 in arrival order.
	Seq    int64       `json:"seq"`
	Method string      `json:"method"`
	Path   string      `json:"path"`
	Query  string      `json:"query"`
	Header http.Header `json:"header"`
	Body   []byte      `json:"body"`
	// Kind is chat, messages, gemini, embeddings, models, responses or
	// unknown.
	Kind string `json:"kind"`
	// Credential is the provider credential the request carried, from
	// whichever header (or ?key=) it came in; CredentialHeader names it.
	Credential       string `json:"credential"`
	CredentialHeader string `json:"credentialHeader"`
	Model            string `json:"model"`
	Stream           bool   `json:"stream"`
	// Status is the status answered (0 while the answer is being written).
	Status int `json:"status"`
	// Usage is the usage answered (zero for errors).
	Usage Usage `json:"usage"`
	// Done is true once the handler returned.
	Done bool `json:"done"`
	// Completed is true when the whole answer was written.
	Completed bool `json:"completed"`
	// Cancelled is true when the client went away before the answer was
	// complete.
	Cancelled bool `json:"cancelled"`
}

// Server is the stand-in: an http.Handler that records what it serves.
// It is safe for concurrent use.
type Server struct {
	opts  Options
	keys  map[string]bool
	seq   atomic.Int64
	total atomic.Int64

	mu       sync.Mutex
	reqs     []*Request
	fail     string
	failNext []string
}

// New returns a stand-in configured by opts. It panics on invalid
// Options.Fail directives (a test's mistake).
func New(opts Options) *Server {
	if len(opts.Models) == 0 {
		opts.Models = []string{"gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.5-flash", "text-embedding-3-small"}
	}
	if opts.HangLimit == 0 {
		opts.HangLimit = 2 * time.Minute
	}
	if _, err := parseDirectives(opts.Fail, ","); err != nil {
		panic(fmt.Sprintf("llmstandin: Options.Fail: %v", err))
	}
	s := &Server{opts: opts, keys: map[string]bool{}}
	for _, k := range opts.Keys {
		s.keys[k] = true
	}
	return s
}

// SetFail replaces the directives applied to every following request
// ("" for none). It fails on an unknown directive.
func (s *Server) SetFail(directives string) error {
	if _, err := parseDirectives(directives, ","); err != nil {
		return err
	}
	s.mu.Lock()
	s.fail = directives
	s.mu.Unlock()
	return nil
}

// FailNext applies directives to the next n requests only (after those
// already queued).
func (s *Server) FailNext(n int, directives string) error {
	if _, err := parseDirectives(directives, ","); err != nil {
		return err
	}
	s.mu.Lock()
	for i := 0; i < n; i++ {
		s.failNext = append(s.failNext, directives)
	}
	s.mu.Unlock()
	return nil
}

// Total returns how many requests arrived (recorded or not).
func (s *Server) Total() int64 { return s.total.Load() }

// Requests returns a copy of the recorded requests in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.reqs))
	for i, r := range s.reqs {
		out[i] = *r
	}
	return out
}

// Reset forgets the recorded requests and queued FailNext directives.
func (s *Server) Reset() {
	s.mu.Lock()
	s.reqs = nil
	s.failNext = nil
	s.mu.Unlock()
}

// update changes a recorded request under the lock.
func (s *Server) update(rec *Request, f func(r *Request)) {
	s.mu.Lock()
	f(rec)
	s.mu.Unlock()
}

// ServeHTTP answers one provider request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.total.Add(1)
	kind, proto := classify(r)
	body, err := readBody(r)
	rec := &Request{
		Seq:    s.seq.Add(1),
		Method: r.Method,
		Path:   r.URL.Path,
		Query:  r.URL.RawQuery,
		Header: r.Header.Clone(),
		Body:   body,
		Kind:   kind,
	}
	rec.Credential, rec.CredentialHeader = credential(r)
	if !s.opts.NoRecord {
		s.mu.Lock()
		s.reqs = append(s.reqs, rec)
		s.mu.Unlock()
	}
	ex := &exchange{s: s, w: w, r: r, rec: rec, proto: proto, body: body}
	defer func() {
		s.update(rec, func(r *Request) { r.Done = true })
	}()
	if err != nil {
		ex.fail(http.StatusBadRequest, "invalid_request_error", "read the request body: "+err.Error())
		return
	}
	ex.serve(kind)
}

// protocol is the wire protocol of a request, which decides the shape of
// errors.
type protocol int

const (
	protoOpenAI protocol = iota
	protoAnthropic
	protoGemini
)

// classify tells the endpoint from the path, whatever prefix the provider
// type puts in front of it (/v1, /openai/deployments/x, /compatible-mode/v1…).
func classify(r *http.Request) (string, protocol) {
	p := r.URL.Path
	switch {
	case strings.Contains(p, ":generateContent") || strings.Contains(p, ":streamGenerateContent"):
		return "gemini", protoGemini
	case strings.HasSuffix(p, "/chat/completions"):
		return "chat", protoOpenAI
	case strings.HasSuffix(p, "/messages"):
		return "messages", protoAnthropic
	case strings.HasSuffix(p, "/embeddings"):
		return "embeddings", protoOpenAI
	case strings.HasSuffix(p, "/responses"):
		return "responses", protoOpenAI
	case strings.HasSuffix(p, "/models"):
		switch {
		case strings.Contains(p, "/v1beta/"):
			return "models", protoGemini
		case r.Header.Get("anthropic-version") != "":
			return "models", protoAnthropic
		}
		return "models", protoOpenAI
	}
	return "unknown", protoOpenAI
}

const maxBody = 8 << 20

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err == nil && len(data) > maxBody {
		err = fmt.Errorf("body larger than %d bytes", maxBody)
	}
	return data, err
}

// credential returns the credential a request carried and the header (or
// query parameter) it came in.
func credential(r *http.Request) (string, string) {
	if a := r.Header.Get("Authorization"); a != "" {
		return strings.TrimSpace(strings.TrimPrefix(a, "Bearer ")), "Authorization"
	}
	for _, h := range []string{"x-api-key", "api-key", "x-goog-api-key"} {
		if v := r.Header.Get(h); v != "" {
			return v, h
		}
	}
	if v := r.URL.Query().Get("key"); v != "" {
		return v, "?key"
	}
	return "", ""
}

// directives are the failure modes and shapes chosen for one request.
type directives struct {
	status        int
	cutStream     bool
	brokenJSON    bool
	hang          bool
	slowFirstByte time.Duration
	chunkDelay    time.Duration
	words         int
	cached        int64
	reasoning     int64
}

// parseDirectives reads "status=429, cut-stream" (sep ",") or the parts of
// a model name (sep "+").
func parseDirectives(s, sep string) (directives, error) {
	var d directives
	return d, d.merge(s, sep)
}

func (d *directives) merge(s, sep string) error {
	for _, part := range strings.Split(s, sep) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, _ := strings.Cut(part, "=")
		var err error
		switch name {
		case "status":
			d.status, err = strconv.Atoi(val)
			if err == nil && (d.status < 100 || d.status > 599) {
				err = fmt.Errorf("not an HTTP status")
			}
		case "cut-stream":
			d.cutStream = true
		case "broken-json":
			d.brokenJSON = true
		case "hang":
			d.hang = true
		case "slow-first-byte":
			d.slowFirstByte, err = time.ParseDuration(val)
		case "chunk-delay":
			d.chunkDelay, err = time.ParseDuration(val)
		case "words":
			d.words, err = strconv.Atoi(val)
		case "cached":
			d.cached, err = strconv.ParseInt(val, 10, 64)
		case "reasoning":
			d.reasoning, err = strconv.ParseInt(val, 10, 64)
		default:
			return fmt.Errorf("unknown stand-in directive %q: use status=N, cut-stream, broken-json, slow-first-byte=D, chunk-delay=D, hang, words=N, cached=N or reasoning=N", part)
		}
		if err != nil {
			return fmt.Errorf("stand-in directive %q: %v", part, err)
		}
	}
	return nil
}

// splitModel separates a model name from the directives it carries.
func splitModel(model string) (string, string) {
	base, rest, _ := strings.Cut(model, "+")
	return base, rest
}

// exchange is one request being answered.
type exchange struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	rec   *Request
	proto protocol
	body  []byte
	d     directives
}

// serve checks credentials and directives, then dispatches on kind.
func (ex *exchange) serve(kind string) {
	if ex.proto == protoAnthropic && ex.r.Header.Get("anthropic-version") == "" {
		ex.fail(http.StatusBadRequest, "invalid_request_error", "anthropic-version: header is required")
		return
	}
	cred := ex.rec.Credential
	switch {
	case cred == "" && !ex.s.opts.NoAuth:
		ex.fail(http.StatusUnauthorized, "authentication_error", "no API key: send Authorization: Bearer, x-api-key, api-key or x-goog-api-key")
		return
	case strings.HasPrefix(cred, "bad-"):
		ex.fail(http.StatusUnauthorized, "authentication_error", "invalid API key")
		return
	case strings.HasPrefix(cred, "limited-"):
		retry := max(ex.s.opts.LimitedRetryAfter, time.Second)
		ex.w.Header().Set("Retry-After", strconv.Itoa(int(retry/time.Second)))
		ex.fail(http.StatusTooManyRequests, "rate_limit_error", "rate limit reached for this API key")
		return
	case strings.HasPrefix(cred, "forbidden-"):
		ex.fail(http.StatusForbidden, "permission_error", "this API key may not use this model")
		return
	case cred != "" && len(ex.s.keys) > 0 && !ex.s.keys[cred]:
		ex.fail(http.StatusUnauthorized, "authentication_error", "invalid API key")
		return
	}

	ex.s.mu.Lock()
	fail := ex.s.fail
	var next string
	if len(ex.s.failNext) > 0 {
		next = ex.s.failNext[0]
		ex.s.failNext = ex.s.failNext[1:]
	}
	ex.s.mu.Unlock()
	for _, src := range []string{ex.s.opts.Fail, fail, next, ex.r.Header.Get("X-Standin-Fail")} {
		if err := ex.d.merge(src, ","); err != nil {
			ex.fail(http.StatusBadRequest, "invalid_request_error", err.Error())
			return
		}
	}
	if ex.d.chunkDelay == 0 {
		ex.d.chunkDelay = ex.s.opts.ChunkDelay
	}

	switch kind {
	case "chat":
		ex.openAIChat()
	case "embeddings":
		ex.embeddings()
	case "responses":
		ex.responses()
	case "messages":
		ex.anthropicMessages()
	case "gemini":
		ex.gemini()
	case "models":
		ex.models()
	default:
		ex.fail(http.StatusNotFound, "not_found_error", fmt.Sprintf("%s %s is not an endpoint of the stand-in", ex.r.Method, ex.r.URL.Path))
	}
}

// model records the request's model, applies the directives it carries,
// and refuses it when StrictModels says so. It reports false when the
// answer was already written.
func (ex *exchange) model(model string, stream bool) bool {
	base, dirs := splitModel(model)
	ex.s.update(ex.rec, func(r *Request) { r.Model, r.Stream = model, stream })
	if err := ex.d.merge(dirs, "+"); err != nil {
		ex.fail(http.StatusBadRequest, "invalid_request_error", err.Error())
		return false
	}
	if ex.d.chunkDelay == 0 {
		ex.d.chunkDelay = ex.s.opts.ChunkDelay
	}
	if ex.s.opts.StrictModels && !contains(ex.s.opts.Models, base) {
		ex.fail(http.StatusNotFound, "not_found_error", fmt.Sprintf("model %q not found: this provider offers %s", base, strings.Join(ex.s.opts.Models, ", ")))
		return false
	}
	return ex.preamble()
}

// preamble applies the directives that act before any answer: hang,
// slow first byte, status, broken JSON (non-streamed). It reports false
// when the answer was already written (or the client is gone).
func (ex *exchange) preamble() bool {
	if ex.d.hang {
		t := time.NewTimer(ex.s.opts.HangLimit)
		defer t.Stop()
		select {
		case <-ex.r.Context().Done():
			ex.s.update(ex.rec, func(r *Request) { r.Cancelled = true })
		case <-t.C:
			ex.fail(http.StatusGatewayTimeout, "api_error", "the stand-in hung for "+ex.s.opts.HangLimit.String())
		}
		return false
	}
	if ex.d.slowFirstByte > 0 && !ex.sleep(ex.d.slowFirstByte) {
		return false
	}
	if ex.d.status != 0 && ex.d.status != http.StatusOK {
		ex.fail(ex.d.status, errorKind(ex.d.status), fmt.Sprintf("the stand-in was asked to fail with %d", ex.d.status))
		return false
	}
	return true
}

// sleep waits d or until the client goes away (then it records the cancel
// and reports false).
func (ex *exchange) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ex.r.Context().Done():
		ex.s.update(ex.rec, func(r *Request) { r.Cancelled = true })
		return false
	case <-t.C:
		return true
	}
}

func errorKind(status int) string {
	switch {
	case status == 400:
		return "invalid_request_error"
	case status == 401:
		return "authentication_error"
	case status == 403:
		return "permission_error"
	case status == 404:
		return "not_found_error"
	case status == 429:
		return "rate_limit_error"
	case status == 529:
		return "overloaded_error"
	}
	return "api_error"
}

// fail writes an error answer in the request's protocol.
func (ex *exchange) fail(status int, kind, message string) {
	var body any
	switch ex.proto {
	case protoAnthropic:
		body = map[string]any{"type": "error", "error": map[string]any{"type": kind, "message": message}}
		ex.w.Header().Set("request-id", fmt.Sprintf("req_standin_%d", ex.rec.Seq))
	case protoGemini:
		body = map[string]any{"error": map[string]any{"code": status, "message": message, "status": geminiStatus(status)}}
	default:
		code := any(nil)
		switch status {
		case 401:
			code = "invalid_api_key"
		case 404:
			code = "model_not_found"
		case 429:
			code = "rate_limit_exceeded"
		}
		body = map[string]any{"error": map[string]any{"message": message, "type": kind, "param": nil, "code": code}}
	}
	ex.writeJSON(status, body, Usage{})
}

func geminiStatus(status int) string {
	switch status {
	case 400:
		return "INVALID_ARGUMENT"
	case 401:
		return "UNAUTHENTICATED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "NOT_FOUND"
	case 429:
		return "RESOURCE_EXHAUSTED"
	case 503:
		return "UNAVAILABLE"
	}
	return "INTERNAL"
}

// writeJSON writes a whole JSON answer, honouring broken-json and
// cut-stream for successful answers.
func (ex *exchange) writeJSON(status int, v any, u Usage) {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // the stand-in's own values always marshal
	}
	ex.w.Header().Set("Content-Type", "application/json")
	if status == http.StatusOK && ex.d.brokenJSON {
		data = data[:len(data)/2]
	}
	ex.s.update(ex.rec, func(r *Request) { r.Status, r.Usage = status, u })
	if status == http.StatusOK && ex.d.cutStream {
		ex.w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		ex.w.WriteHeader(status)
		_, _ = ex.w.Write(data[:len(data)/2])
		ex.flush()
		panic(http.ErrAbortHandler)
	}
	ex.w.WriteHeader(status)
	if _, err := ex.w.Write(data); err != nil {
		ex.s.update(ex.rec, func(r *Request) { r.Cancelled = true })
		return
	}
	ex.s.update(ex.rec, func(r *Request) { r.Completed = true })
}

func (ex *exchange) flush() {
	if f, ok := ex.w.(http.Flusher); ok {
		f.Flush()
	}
}

// sse writes a stream of events with the directives' pauses, cut and
// broken event. Events are written as they come; the cut happens after
// half of them.
type sse struct {
	ex     *exchange
	events [][2]string // event name (may be empty), data
	crlf   bool        // Gemini separates events with \r\n\r\n
}

func (s *sse) add(event string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	s.events = append(s.events, [2]string{event, string(data)})
}

func (s *sse) addRaw(event, data string) { s.events = append(s.events, [2]string{event, data}) }

// send writes the events, recording usage u on the request.
func (s *sse) send(u Usage) {
	ex := s.ex
	h := ex.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	ex.s.update(ex.rec, func(r *Request) { r.Status, r.Usage = http.StatusOK, u })
	ex.w.WriteHeader(http.StatusOK)
	ex.flush()
	events := s.events
	if ex.d.brokenJSON && len(events) > 1 {
		// A broken event after the first, then the rest of the stream.
		broken := [2]string{events[1][0], `{"broken": ` + events[1][1][:len(events[1][1])/2]}
		events = append(append(append([][2]string{}, events[:1]...), broken), events[1:]...)
	}
	sep := "\n\n"
	if s.crlf {
		sep = "\r\n\r\n"
	}
	for i, e := range events {
		if ex.d.cutStream && i == len(events)/2 {
			panic(http.ErrAbortHandler)
		}
		if i > 0 && ex.d.chunkDelay > 0 && !ex.sleep(ex.d.chunkDelay) {
			return
		}
		var b strings.Builder
		if e[0] != "" {
			b.WriteString("event: ")
			b.WriteString(e[0])
			b.WriteString("\n")
		}
		b.WriteString("data: ")
		b.WriteString(e[1])
		b.WriteString(sep)
		if _, err := ex.w.Write([]byte(b.String())); err != nil {
			ex.s.update(ex.rec, func(r *Request) { r.Cancelled = true })
			return
		}
		ex.flush()
		if ex.r.Context().Err() != nil {
			ex.s.update(ex.rec, func(r *Request) { r.Cancelled = true })
			return
		}
	}
	ex.s.update(ex.rec, func(r *Request) { r.Completed = true })
}

// models lists Options.Models in the request's protocol.
func (ex *exchange) models() {
	if !ex.preamble() {
		return
	}
	created := int64(1700000000)
	switch ex.proto {
	case protoAnthropic:
		var data []map[string]any
		for _, m := range ex.s.opts.Models {
			data = append(data, map[string]any{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"})
		}
		ex.writeJSON(http.StatusOK, map[string]any{"data": data, "has_more": false, "first_id": ex.s.opts.Models[0], "last_id": ex.s.opts.Models[len(ex.s.opts.Models)-1]}, Usage{})
	case protoGemini:
		var data []map[string]any
		for _, m := range ex.s.opts.Models {
			data = append(data, map[string]any{"name": "models/" + m, "displayName": m, "supportedGenerationMethods": []string{"generateContent", "streamGenerateContent"}})
		}
		ex.writeJSON(http.StatusOK, map[string]any{"models": data}, Usage{})
	default:
		var data []map[string]any
		for _, m := range ex.s.opts.Models {
			data = append(data, map[string]any{"id": m, "object": "model", "created": created, "owned_by": "llm-standin"})
		}
		ex.writeJSON(http.StatusOK, map[string]any{"object": "list", "data": data}, Usage{})
	}
}

// conversation is a request reduced to what the answer depends on,
// whatever its protocol.
type conversation struct {
	words      int64  // words of every text in the prompt
	lastUser   string // text of the last user message
	toolResult string // set when the conversation ends with a tool result
	endsInTool bool
	tools      []tool
	toolChoice string // "auto", "none", "required" or a tool name
	maxTokens  int
}

type tool struct {
	name   string
	schema json.RawMessage
}

func (c *conversation) addText(s string) { c.words += int64(len(strings.Fields(s))) }

// answer is the stand-in's reply, whatever the protocol.
type answer struct {
	text     string
	toolName string
	toolID   string
	toolArgs string // JSON object
	stop     string // "end", "length" or "tool"
	usage    Usage
}

// reply computes the deterministic answer to c.
func (ex *exchange) reply(c conversation, idPrefix string) answer {
	var a answer
	if len(c.tools) > 0 && !c.endsInTool && c.toolChoice != "none" {
		t := c.tools[0]
		for _, x := range c.tools {
			if x.name == c.toolChoice {
				t = x
			}
		}
		a.toolName = t.name
		a.toolArgs = toolArgs(t.schema, c.lastUser)
		a.toolID = fmt.Sprintf("%s%d", idPrefix, ex.rec.Seq)
		a.stop = "tool"
		a.usage.OutputTokens = int64(max(1, len(strings.Fields(a.toolArgs))))
	} else {
		a.text = "echo: " + c.lastUser
		if c.endsInTool {
			a.text = "echo: tool result: " + c.toolResult
		}
		words := strings.Fields(a.text)
		for i := 1; len(words) < ex.d.words; i++ {
			words = append(words, "w"+strconv.Itoa(i))
		}
		a.stop = "end"
		if c.maxTokens > 0 && len(words) > c.maxTokens {
			words = words[:c.maxTokens]
			a.stop = "length"
		}
		if ex.d.words > 0 || a.stop == "length" {
			a.text = strings.Join(words, " ")
		}
		a.usage.OutputTokens = int64(len(words))
	}
	a.usage.InputTokens = c.words
	a.usage.CachedTokens = min(ex.d.cached, c.words)
	a.usage.ReasoningTokens = ex.d.reasoning
	a.usage.OutputTokens += ex.d.reasoning
	return a
}

// toolArgs fills each property of a JSON schema: strings with text,
// numbers with 42, booleans with true, others with null.
func toolArgs(schema json.RawMessage, text string) string {
	var s struct {
		Properties map[string]struct {
			Type any `json:"type"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(schema, &s)
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	args := make(map[string]any, len(names))
	for _, n := range names {
		switch fmt.Sprint(s.Properties[n].Type) {
		case "string":
			args[n] = text
		case "number", "integer":
			args[n] = 42
		case "boolean":
			args[n] = true
		default:
			args[n] = nil
		}
	}
	data, _ := json.Marshal(args)
	return string(data)
}

// pieces splits an answer into stream deltas: one word each, the
// separating space in front of every word but the first.
func pieces(text string) []string {
	words := strings.Fields(text)
	out := make([]string, len(words))
	for i, w := range words {
		if i > 0 {
			w = " " + w
		}
		out[i] = w
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}

// chunks splits s into pieces of at most n bytes.
func chunks(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// textOf reads an OpenAI/Anthropic content value: a string, or an array of
// parts whose "text" fields are joined with spaces.
func textOf(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type    string          `json:"type"`
		Text    string          `json:"text"`
		Content json.RawMessage `json:"content"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var texts []string
	for _, p := range parts {
		switch {
		case p.Text != "":
			texts = append(texts, p.Text)
		case p.Type == "tool_result":
			texts = append(texts, textOf(p.Content))
		}
	}
	return strings.Join(texts, " ")
}

// queryValue reads a query parameter.
func queryValue(u *url.URL, name string) string { return u.Query().Get(name) }
