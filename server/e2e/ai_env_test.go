package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
	"github.com/gatehouse-dev/gatehouse/tests/llmstandin"
)

// An AI gateway made one of two ways, so that the same scenarios run on
// both: "objects" through the admin API's LLM providers and AI routes (what
// the console writes), and "plugin" with Higress's ai-proxy config as a
// plugin instance on a plain route (what a Higress user brings).

const (
	aiModeObjects = "objects"
	aiModePlugin  = "plugin"
)

// aiModes are the ways the AI tests make their routes.
var aiModes = []string{aiModePlugin, aiModeObjects}

// Consumer keys of the key-auth instance; the AI routes admit them.
const (
	teamAKey = "team-a-key-0123456789abcdef"
	teamBKey = "team-b-key-fedcba9876543210"
)

// aiProviderSpec is an LLM provider in test terms.
type aiProviderSpec struct {
	Name     string
	Type     string
	Endpoint string
	Tokens   []string
}

// aiUpstreamSpec is one provider of an AI route.
type aiUpstreamSpec struct {
	Provider     string
	Weight       int
	ModelMapping map[string]string
}

// aiRouteSpec is an AI route in test terms; its path prefix is
// /ai/<Name>.
type aiRouteSpec struct {
	Name             string
	Upstreams        []aiUpstreamSpec
	Fallback         []aiUpstreamSpec
	FallbackOn       []string
	AllowedConsumers []string
	// Consumers admits every consumer object (authConfig enabled without
	// allowedConsumers); AllowedConsumers implies it.
	Consumers bool
}

// aiEnv is a running gatehouse with AI providers and routes.
type aiEnv struct {
	mode string
	g    *testenv.Gatehouse
	api  *testenv.Client
	// providers by name, as created (for updates in tests).
	providers map[string]aiProviderSpec
	routes    map[string]aiRouteSpec
}

// openAIBase and anthropicBase are the URLs the SDKs take for route name.
func (e *aiEnv) openAIBase(g *testenv.Gatehouse, route string) string {
	return g.GatewayURL + "/ai/" + route + "/v1"
}

func (e *aiEnv) anthropicBase(g *testenv.Gatehouse, route string) string {
	return g.GatewayURL + "/ai/" + route
}

// newAIEnv makes the providers and routes on g through api, the way mode
// says, with a key-auth instance holding the team-a and team-b consumers.
func newAIEnv(t *testing.T, mode string, g *testenv.Gatehouse, api *testenv.Client, providers []aiProviderSpec, routes []aiRouteSpec) *aiEnv {
	t.Helper()
	e := &aiEnv{mode: mode, g: g, api: api, providers: map[string]aiProviderSpec{}, routes: map[string]aiRouteSpec{}}
	// A plain service and route: the holder of the key-auth consumers in
	// objects mode, the service of the AI routes in plugin mode. ai-proxy
	// passes to the next handler what its route does not serve (a model
	// list when the route maps models: each ai-proxy of the chain adds its
	// models, and a 404 at the end becomes the list), so this service
	// answers 404 like the end of an AI route's chain.
	nowhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NotFound(w, r)
	}))
	t.Cleanup(nowhere.Close)
	create(t, api, "/services", map[string]any{"name": "ai-none", "endpoints": []map[string]any{{"url": nowhere.URL}}})
	if mode == aiModeObjects {
		create(t, api, "/routes", route("consumers", "/consumers", "ai-none"))
		create(t, api, "/plugin-instances", pluginInstance("consumers", "key-auth", "consumers", teamKeyAuth()))
		for _, p := range providers {
			create(t, api, "/llm-providers", p.object())
		}
		for _, r := range routes {
			create(t, api, "/ai-routes", r.object())
		}
	} else {
		byName := map[string]aiProviderSpec{}
		for _, p := range providers {
			byName[p.Name] = p
		}
		for _, r := range routes {
			create(t, api, "/routes", route("ai-"+r.Name, "/ai/"+r.Name, "ai-none"))
			if len(r.AllowedConsumers) > 0 {
				create(t, api, "/plugin-instances", pluginInstance("auth-"+r.Name, "key-auth", "ai-"+r.Name, teamKeyAuth()))
			}
			create(t, api, "/plugin-instances", pluginInstance("ai-"+r.Name, "ai-proxy", "ai-"+r.Name, r.pluginConfig(byName)))
		}
	}
	for _, p := range providers {
		e.providers[p.Name] = p
	}
	for _, r := range routes {
		e.routes[r.Name] = r
	}
	return e
}

func teamKeyAuth() map[string]any {
	return map[string]any{
		"consumers":       []map[string]string{{"name": "team-a", "key": teamAKey}, {"name": "team-b", "key": teamBKey}},
		"keys":            []string{"authorization", "x-api-key"},
		"hideCredentials": true,
	}
}

// object is the provider as /api/v1/llm-providers takes it.
func (p aiProviderSpec) object() map[string]any {
	return map[string]any{"name": p.Name, "type": p.Type, "endpoint": p.Endpoint, "tokens": p.Tokens}
}

// higress is the provider as ai-proxy's providers[] takes it.
func (p aiProviderSpec) higress() map[string]any {
	return map[string]any{"id": p.Name, "type": p.Type, "endpoint": p.Endpoint, "apiTokens": p.Tokens}
}

func (u aiUpstreamSpec) object() map[string]any {
	o := map[string]any{"provider": u.Provider}
	if u.Weight > 0 {
		o["weight"] = u.Weight
	}
	if u.ModelMapping != nil {
		o["modelMapping"] = u.ModelMapping
	}
	return o
}

func upstreamObjects(us []aiUpstreamSpec) []map[string]any {
	out := []map[string]any{}
	for _, u := range us {
		out = append(out, u.object())
	}
	return out
}

// object is the route as /api/v1/ai-routes takes it.
func (r aiRouteSpec) object() map[string]any {
	o := map[string]any{"name": r.Name, "pathPrefix": "/ai/" + r.Name, "upstreams": upstreamObjects(r.Upstreams), "enabled": true}
	if len(r.AllowedConsumers) > 0 {
		o["authConfig"] = map[string]any{"enabled": true, "allowedConsumers": r.AllowedConsumers}
	} else if r.Consumers {
		o["authConfig"] = map[string]any{"enabled": true}
	}
	if len(r.Fallback) > 0 {
		o["fallbackConfig"] = map[string]any{"enabled": true, "upstreams": upstreamObjects(r.Fallback),
			"fallbackStrategy": "SEQUENCE", "onStatus": r.FallbackOn}
	}
	return o
}

// pluginConfig is the route as an ai-proxy instance config (contract §1).
func (r aiRouteSpec) pluginConfig(providers map[string]aiProviderSpec) map[string]any {
	seen := map[string]bool{}
	var ps []map[string]any
	for _, u := range append(append([]aiUpstreamSpec{}, r.Upstreams...), r.Fallback...) {
		if !seen[u.Provider] {
			seen[u.Provider] = true
			ps = append(ps, providers[u.Provider].higress())
		}
	}
	c := map[string]any{"providers": ps, "upstreams": upstreamObjects(r.Upstreams), "routeName": r.Name}
	if len(r.AllowedConsumers) > 0 {
		c["allowedConsumers"] = r.AllowedConsumers
	}
	if len(r.Fallback) > 0 {
		c["fallback"] = map[string]any{"enabled": true, "upstreams": upstreamObjects(r.Fallback), "strategy": "SEQUENCE", "onStatus": r.FallbackOn}
	}
	return c
}

// newStandin starts a provider stand-in for the test.
func newStandin(t *testing.T, opts llmstandin.Options) (*llmstandin.Server, string) {
	t.Helper()
	s := llmstandin.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

// createConsumer creates a consumer object (POST /consumers) and returns
// its key, which the answer shows once.
func createConsumer(t *testing.T, api *testenv.Client, obj map[string]any) string {
	t.Helper()
	var got struct {
		Credentials []struct{ Key string }
	}
	resp := api.Do(t, "POST", "/consumers", obj, &got)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "POST /consumers %v", obj["name"])
	require.Len(t, got.Credentials, 1)
	return got.Credentials[0].Key
}

// aiChat posts body as an OpenAI chat completion to the AI route named
// route on g, with a consumer's key; header adds name, value pairs.
func aiChat(t *testing.T, g *testenv.Gatehouse, route, key string, body map[string]any, header ...string) gwResponse {
	t.Helper()
	bs, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, g.GatewayURL+"/ai/"+route+"/v1/chat/completions", bytes.NewReader(bs))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return gwResponse{status: resp.StatusCode, header: resp.Header, body: string(out)}
}

// redisClient is a client of the test's redis-server, for looking at
// what the gateway keeps there.
func redisClient(t *testing.T, r *testenv.Redis) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: r.Addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// periodMargin is how long before the end of a UTC day or month a test
// that counts within one such period is skipped. Generous: the suite
// runs on two shared, loaded cores.
const periodMargin = 15 * time.Minute

// skipNearPeriodEnd skips t when the UTC period ("day" or "month", as
// budgets, quotas and day token limits cut time) ends within
// periodMargin: the counters the test checks would start again halfway,
// and a refusal it waits for would not come.
func skipNearPeriodEnd(t *testing.T, period string) {
	t.Helper()
	_, _, end := pluginapi.UsagePeriod(period, time.Now())
	if left := time.Until(end); left < periodMargin {
		t.Skipf("the UTC %s ends in %s, before this test would finish, and its counters would start again halfway: run it after %s",
			period, left.Round(time.Second), end.Format(time.RFC3339))
	}
}

// metricsText reads g's /metrics with the admin token.
func metricsText(t *testing.T, g *testenv.Gatehouse, token string) string {
	t.Helper()
	req, err := http.NewRequest("GET", g.ConsoleURL+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(data)
}

var metricLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([0-9.eE+-]+|NaN|\+Inf)$`)
var labelPair = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// metricSum sums the samples of metric name whose labels include want.
func metricSum(text, name string, want map[string]string) float64 {
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := metricLine.FindStringSubmatch(sc.Text())
		if m == nil || m[1] != name {
			continue
		}
		labels := map[string]string{}
		for _, p := range labelPair.FindAllStringSubmatch(m[3], -1) {
			labels[p[1]] = p[2]
		}
		ok := true
		for k, v := range want {
			if labels[k] != v {
				ok = false
			}
		}
		if ok {
			v, _ := strconv.ParseFloat(m[4], 64)
			sum += v
		}
	}
	return sum
}

// aiLogLines returns the "ai request" access lines of g's log tail (the
// admin API's view), each as its key=value pairs.
func aiLogLines(t *testing.T, api *testenv.Client, query string) []map[string]string {
	t.Helper()
	var got struct {
		Items []struct{ Text string }
	}
	q := url.QueryEscape(`msg="ai request"`)
	if query != "" {
		q = url.QueryEscape(query)
	}
	resp := api.Do(t, "GET", "/logs/gateway?lines=2000&q="+q, nil, &got)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out []map[string]string
	for _, it := range got.Items {
		if !strings.Contains(it.Text, `msg="ai request"`) {
			continue
		}
		out = append(out, logfmt(it.Text))
	}
	return out
}

var logfmtPair = regexp.MustCompile(`([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)`)

// logfmt reads the key=value pairs of a text log line.
func logfmt(line string) map[string]string {
	out := map[string]string{}
	for _, m := range logfmtPair.FindAllStringSubmatch(line, -1) {
		v := m[2]
		if u, err := strconv.Unquote(v); err == nil {
			v = u
		}
		out[m[1]] = v
	}
	return out
}

// usageTotals sums the usage the stand-in answered with successfully.
func usageTotals(reqs []llmstandin.Request) (in, out, cached, reasoning int64, n int) {
	for _, r := range reqs {
		if r.Status == http.StatusOK && (r.Kind == "chat" || r.Kind == "messages" || r.Kind == "gemini") {
			in += r.Usage.InputTokens
			out += r.Usage.OutputTokens
			cached += r.Usage.CachedTokens
			reasoning += r.Usage.ReasoningTokens
			n++
		}
	}
	return
}

// requireNoSecret fails when any of secrets appears in text.
func requireNoSecret(t *testing.T, where, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if i := strings.Index(text, s); i >= 0 {
			lo, hi := max(0, i-200), min(len(text), i+len(s)+100)
			t.Errorf("the provider token %q appears in %s:\n…%s…", s, where, text[lo:hi])
		}
	}
}

func fmtUsage(in, out int64) string { return fmt.Sprintf("in=%d out=%d", in, out) }
