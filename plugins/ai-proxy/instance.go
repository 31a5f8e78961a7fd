package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/translate"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// instance is one configured ai-proxy: an AI route's providers, upstreams
// and fallback. It is immutable after New, except for the token pools'
// health, and safe for concurrent use. Close stops its health checks.
type instance struct {
	log       *slog.Logger
	client    *http.Client
	metrics   *metrics
	routeName string

	providers   map[string]*provider
	primary     []upstream
	totalWeight int
	fallback    []upstream
	fbRandom    bool
	fbOn        statusSet
	predicates  []predicate
	allowed     map[string]bool // nil: every caller
	maxBody     int64
	subPaths    []string // every provider's subPath, longest first
	offered     []string // exact model names this route offers
	offeredDesc []string // the same plus patterns, for messages

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// upstream is a provider with the route's model mapping and weight.
type upstream struct {
	p       *provider
	mapping *modelMapping
	weight  int
}

// predicate is one compiled modelPredicates entry.
type predicate struct {
	typ, value string
	re         *regexp.Regexp
}

func (p predicate) match(model string) bool {
	switch p.typ {
	case "EQUAL":
		return model == p.value
	case "PRE":
		return strings.HasPrefix(model, p.value)
	default:
		return p.re.MatchString(model)
	}
}

func newInstance(c *config, host pluginapi.Host) (*instance, error) {
	m, err := newMetrics(host.Metrics())
	if err != nil {
		return nil, err
	}
	in := &instance{
		log:       host.Logger(),
		client:    providerClient(host),
		metrics:   m,
		routeName: c.RouteName,
		providers: map[string]*provider{},
		maxBody:   defaultMaxBody,
	}
	if c.MaxRequestBodyBytes > 0 {
		in.maxBody = c.MaxRequestBodyBytes
	}
	ps, _ := c.providerList()
	var order []*provider
	for _, pc := range ps {
		p, err := compileProvider(pc)
		if err != nil {
			return nil, fmt.Errorf("provider %q: %w", pc.providerID(), err)
		}
		in.providers[p.id] = p
		order = append(order, p)
		if p.subPath != "" {
			in.subPaths = append(in.subPaths, p.subPath)
		}
	}
	slices.SortFunc(in.subPaths, func(a, b string) int { return len(b) - len(a) })
	toUpstream := func(u upstreamConfig) (upstream, error) {
		mm, err := compileMapping(u.ModelMapping)
		w := 100
		if u.Weight != nil {
			w = *u.Weight
		}
		return upstream{p: in.providers[u.Provider], mapping: mm, weight: w}, err
	}
	if len(c.Upstreams) > 0 {
		for _, uc := range c.Upstreams {
			u, err := toUpstream(uc)
			if err != nil {
				return nil, err
			}
			if u.weight > 0 {
				in.primary = append(in.primary, u)
				in.totalWeight += u.weight
			}
		}
	} else {
		active := order[0]
		if c.ActiveProviderID != "" {
			active = in.providers[c.ActiveProviderID]
		}
		in.primary = []upstream{{p: active, weight: 1}}
		in.totalWeight = 1
	}
	if f := c.Fallback; f != nil && f.Enabled {
		for _, uc := range f.Upstreams {
			u, err := toUpstream(uc)
			if err != nil {
				return nil, err
			}
			in.fallback = append(in.fallback, u)
		}
		in.fbRandom = f.Strategy == "RANDOM"
		if in.fbOn, err = compileStatusSet(f.OnStatus); err != nil {
			return nil, err
		}
	}
	for _, mp := range c.ModelPredicates {
		pr := predicate{typ: mp.MatchType, value: mp.MatchValue}
		if mp.MatchType == "REGULAR" {
			pr.re = regexp.MustCompile(mp.MatchValue) // validated
		}
		in.predicates = append(in.predicates, pr)
	}
	// Present but empty admits nobody (every consumer was excluded by
	// its allowedAiRoutes); absent admits every consumer.
	if c.AllowedConsumers != nil {
		in.allowed = map[string]bool{}
		for _, name := range c.AllowedConsumers {
			in.allowed[name] = true
		}
	}
	in.offered, in.offeredDesc = offeredModels(in)

	ctx, cancel := context.WithCancel(context.Background())
	in.stop = cancel
	for _, p := range order {
		if p.tokens.fo != nil && p.tokens.fo.model != "" {
			in.wg.Add(1)
			go in.healthChecks(ctx, p)
		}
	}
	return in, nil
}

// providerClient returns the client for provider calls: the host's shared,
// tuned transport (one keep-alive pool per process), without the host
// client's overall timeout, which would cut long streams; each call has
// its own deadlines.
func providerClient(host pluginapi.Host) *http.Client {
	var rt http.RoundTripper
	if hc := host.HTTPClient(); hc != nil {
		rt = hc.Transport
	}
	return &http.Client{
		Transport: rt,
		// A provider's redirect is not followed: it would carry the token
		// to wherever it points.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// offeredModels returns the exact model names the route offers (for
// /v1/models) and a description of every model it accepts (for errors).
func offeredModels(in *instance) ([]string, []string) {
	var exact, desc []string
	if len(in.predicates) > 0 {
		for _, p := range in.predicates {
			switch p.typ {
			case "EQUAL":
				exact = append(exact, p.value)
				desc = append(desc, p.value)
			case "PRE":
				desc = append(desc, p.value+"*")
			default:
				desc = append(desc, "~"+p.value)
			}
		}
	} else {
		for _, u := range in.primary {
			exact = append(exact, u.mapping.names()...)
			exact = append(exact, u.p.mapping.names()...)
		}
		desc = append(desc, exact...)
	}
	slices.Sort(exact)
	slices.Sort(desc)
	return slices.Compact(exact), slices.Compact(desc)
}

// Handler implements pluginapi.Instance.
func (in *instance) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.serve(w, r, next)
	})
}

// Close implements pluginapi.Instance: it stops the health checks and
// waits for them. Requests in flight finish on their own.
func (in *instance) Close() error {
	if in.stop != nil {
		in.stop()
	}
	in.wg.Wait()
	return nil
}

// healthChecks brings back p's tokens that failover took out of use: each
// interval, a one-token request with the health check model per token
// that is down.
func (in *instance) healthChecks(ctx context.Context, p *provider) {
	defer in.wg.Done()
	t := time.NewTicker(p.tokens.fo.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, tok := range p.tokens.downTokens() {
			ok := in.healthCheck(ctx, p, tok)
			p.tokens.checked(tok, ok)
			in.log.Info("ai provider token health check", "provider", p.id, "token_index", tok.index, "ok", ok)
		}
	}
}

func (in *instance) healthCheck(ctx context.Context, p *provider, tok *token) bool {
	ctx, cancel := context.WithTimeout(ctx, p.tokens.fo.timeout)
	defer cancel()
	model := p.tokens.fo.model
	wire := p.wire
	if wire == "" {
		wire = translate.OpenAI
	}
	var body string
	switch wire {
	case translate.Anthropic:
		body = `{"model":` + quote(model) + `,"max_tokens":1,"messages":[{"role":"user","content":"ping"}]}`
	case translate.Gemini:
		body = `{"contents":[{"role":"user","parts":[{"text":"ping"}]}],"generationConfig":{"maxOutputTokens":1}}`
	default:
		body = `{"model":` + quote(model) + `,"max_tokens":1,"messages":[{"role":"user","content":"ping"}]}`
	}
	k := kindChat
	if wire == translate.Anthropic {
		k = kindMessages
	}
	path := "/v1/chat/completions"
	if k == kindMessages {
		path = "/v1/messages"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.target(k, path, path[3:], model, false, ""), strings.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	p.authorize(req.Header, tok)
	resp, err := in.client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// authorize sets p's credential on h.
// The values are built once per provider and shared by every request:
// nothing in the request's path changes a header value in place.
func (p *provider) authorize(h http.Header, tok *token) {
	if tok != nil {
		if tok.auth == nil {
			h.Set(p.authHeader, p.authPrefix+tok.value)
		} else {
			h[p.authKey] = tok.auth
		}
	}
	if p.claudeVersion != "" {
		h["Anthropic-Version"] = p.claudeVersionHdr
	}
}

// quote returns s as a JSON string.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

var _ pluginapi.Instance = (*instance)(nil)
