package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

// The bundled plugins (key-auth, cors, cluster-rate-limit) in a chain,
// driven through the real binary and its admin API.

const (
	aliceKey = "alice-key-0123456789abcdef"
	bobKey   = "bob-key-fedcba9876543210"
)

// seenBackend answers with what reached it: the consumer header, the key
// headers and the query. It counts its requests.
type seenBackend struct {
	*httptest.Server
	hits atomic.Int64
}

type seen struct {
	Path          string `json:"path"`
	Consumer      string `json:"consumer"`
	APIKey        string `json:"apiKey"`
	Authorization string `json:"authorization"`
	Query         string `json:"query"`
}

func newSeenBackend(t *testing.T) *seenBackend {
	t.Helper()
	b := &seenBackend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Backend", "seen")
		_ = json.NewEncoder(w).Encode(seen{Path: r.URL.Path, Consumer: r.Header.Get("X-Gatehouse-Consumer"),
			APIKey: r.Header.Get("X-Api-Key"), Authorization: r.Header.Get("Authorization"), Query: r.URL.RawQuery})
	}))
	t.Cleanup(b.Close)
	return b
}

type gwResponse struct {
	status int
	header http.Header
	body   string
}

// gw sends a request through the gateway; header is name, value pairs.
func gw(t *testing.T, g *testenv.Gatehouse, method, path string, header ...string) gwResponse {
	t.Helper()
	req, err := http.NewRequest(method, g.GatewayURL+path, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return gwResponse{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (r gwResponse) errorCode(t *testing.T) string {
	t.Helper()
	var e apiErr
	require.NoError(t, json.Unmarshal([]byte(r.body), &e), r.body)
	return e.Error.Code
}

func (r gwResponse) errorMessage(t *testing.T) string {
	t.Helper()
	var e apiErr
	require.NoError(t, json.Unmarshal([]byte(r.body), &e), r.body)
	return e.Error.Message
}

func (r gwResponse) seen(t *testing.T) seen {
	t.Helper()
	var s seen
	require.NoError(t, json.Unmarshal([]byte(r.body), &s), r.body)
	return s
}

func create(t *testing.T, api *testenv.Client, path string, obj map[string]any) {
	t.Helper()
	var e apiErr
	resp := api.Do(t, "POST", path, obj, &e)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "POST %s %v: %+v", path, obj["name"], e.Error)
}

func route(name, prefix, service string) map[string]any {
	return map[string]any{"name": name, "path": map[string]string{"type": "prefix", "value": prefix}, "service": service}
}

func pluginInstance(name, plugin, routeName string, config any) map[string]any {
	return map[string]any{"name": name, "plugin": plugin, "scope": map[string]string{"type": "route", "value": routeName}, "config": config}
}

func keyAuthConfig() map[string]any {
	return map[string]any{
		"consumers":       []map[string]string{{"name": "alice", "key": aliceKey}, {"name": "bob", "key": bobKey}},
		"keys":            []string{"x-api-key", "authorization"},
		"hideCredentials": true,
	}
}

func TestInvalidPluginConfigIsRefusedAndChangesNothing(t *testing.T) {
	g := testenv.StartGatehouse(t, testenv.Options{Env: bootstrapEnv()})
	api := g.Login(t, adminUser, adminPass)
	b := newSeenBackend(t)
	create(t, api, "/services", map[string]any{"name": "b", "endpoints": []map[string]any{{"url": b.URL}}})
	create(t, api, "/routes", route("open", "/open", "b"))
	create(t, api, "/routes", route("api", "/api", "b"))
	create(t, api, "/plugin-instances", pluginInstance("auth", "key-auth", "api", keyAuthConfig()))
	require.Equal(t, 401, gw(t, g, "GET", "/api/x").status)
	require.Equal(t, 200, gw(t, g, "GET", "/api/x", "X-Api-Key", aliceKey).status)

	cases := []struct {
		plugin string
		config string
		fields map[string]string // field → part of the message
	}{
		{"key-auth", `{"consumers":[{"name":"carol","key":"short"}],"hideCredential":true}`,
			map[string]string{"config.consumers[0].key": "at least 16", "config.hideCredential": `did you mean "hideCredentials"`}},
		{"cors", `{"allowOrigins":["https://app.example.com/"],"allowCredentials":"yes"}`,
			map[string]string{"config.allowOrigins[0]": "trailing slash", "config.allowCredentials": "true or false"}},
		{"cluster-rate-limit", `{"limitBy":"ip","requests":0,"window":"1m"}`,
			map[string]string{"config.ruleName": "is required", "config.limitBy": `"ip" is not one of`, "config.requests": "at least 1"}},
	}
	for _, tc := range cases {
		t.Run(tc.plugin, func(t *testing.T) {
			var e apiErr
			resp := api.Do(t, "POST", "/plugin-instances", pluginInstance("bad-"+tc.plugin, tc.plugin, "open", json.RawMessage(tc.config)), &e)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
			require.Equal(t, "plugin_instance_invalid", e.Error.Code)
			got := map[string]string{}
			for _, d := range e.Error.Details {
				got[d.Field] = d.Message
			}
			for f, msg := range tc.fields {
				require.Contains(t, got, f, "the API names %s: %+v", f, e.Error.Details)
				require.Contains(t, got[f], msg)
			}
		})
	}

	// A bad update of the working instance is refused too, and the old
	// instance keeps serving.
	var current struct{ Version int64 }
	require.Equal(t, 200, api.Do(t, "GET", "/plugin-instances/auth", nil, &current).StatusCode)
	bad := pluginInstance("auth", "key-auth", "api", map[string]any{"consumers": []map[string]string{{"name": "alice", "key": aliceKey}}, "inHeader": false})
	bad["version"] = current.Version
	var e apiErr
	require.Equal(t, http.StatusBadRequest, api.Do(t, "PUT", "/plugin-instances/auth", bad, &e).StatusCode)
	require.Equal(t, "config.inHeader", e.Error.Details[0].Field)

	var list struct {
		Items []struct{ Name string }
		Total int
	}
	api.Do(t, "GET", "/plugin-instances", nil, &list)
	require.Equal(t, 1, list.Total, "nothing refused was stored: %+v", list.Items)
	require.Equal(t, "auth", list.Items[0].Name)
	require.Equal(t, 200, gw(t, g, "GET", "/open/x").status, "other routes keep serving")
	require.Equal(t, 401, gw(t, g, "GET", "/api/x").status, "the stored instance still guards its route")
	require.Equal(t, 200, gw(t, g, "GET", "/api/x", "X-Api-Key", bobKey).status)
}

func TestKeyAuthAndCORSOnARoute(t *testing.T) {
	g := testenv.StartGatehouse(t, testenv.Options{Env: bootstrapEnv()})
	api := g.Login(t, adminUser, adminPass)
	b := newSeenBackend(t)
	create(t, api, "/services", map[string]any{"name": "b", "endpoints": []map[string]any{{"url": b.URL}}})
	create(t, api, "/routes", route("api", "/api", "b"))
	create(t, api, "/routes", route("open", "/open", "b"))
	create(t, api, "/plugin-instances", pluginInstance("auth", "key-auth", "api", keyAuthConfig()))
	create(t, api, "/plugin-instances", pluginInstance("cors", "cors", "api", map[string]any{
		"allowOrigins": []string{"https://*.example.com"}, "allowHeaders": []string{"x-api-key", "content-type"},
		"exposeHeaders": []string{"x-backend"}, "maxAge": 120,
	}))

	t.Run("key-auth", func(t *testing.T) {
		r := gw(t, g, "GET", "/api/orders")
		require.Equal(t, http.StatusUnauthorized, r.status)
		require.Equal(t, "unauthorized", r.errorCode(t))
		require.Equal(t, "an API key is required: send it in the X-Api-Key header or the Authorization header as 'Bearer <key>'", r.errorMessage(t))
		require.Equal(t, []string{`Key realm="gatehouse"`, `Bearer realm="gatehouse"`}, r.header.Values("WWW-Authenticate"))

		r = gw(t, g, "GET", "/api/orders", "X-Api-Key", "not-a-key-0123456789abcdef")
		require.Equal(t, http.StatusUnauthorized, r.status)
		require.Contains(t, r.errorMessage(t), "the API key is not valid")
		hits := b.hits.Load()

		r = gw(t, g, "GET", "/api/orders?page=2", "X-Api-Key", aliceKey, "X-Gatehouse-Consumer", "bob")
		require.Equal(t, http.StatusOK, r.status, r.body)
		s := r.seen(t)
		require.Equal(t, seen{Path: "/api/orders", Consumer: "alice", Query: "page=2"}, s,
			"the upstream sees the consumer key-auth found, not the client's claim, and not the key (hideCredentials)")

		r = gw(t, g, "GET", "/api/orders", "Authorization", "Bearer "+bobKey)
		require.Equal(t, http.StatusOK, r.status)
		require.Equal(t, "bob", r.seen(t).Consumer)
		require.Empty(t, r.seen(t).Authorization)
		require.Equal(t, hits+2, b.hits.Load(), "refused requests never reached the upstream")

		// A route without the plugin: the client's claim is its own business.
		r = gw(t, g, "GET", "/open/x")
		require.Equal(t, http.StatusOK, r.status)
	})

	t.Run("cors", func(t *testing.T) {
		hits := b.hits.Load()
		r := gw(t, g, "OPTIONS", "/api/orders", "Origin", "https://app.example.com",
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "x-api-key, content-type")
		require.Equal(t, http.StatusNoContent, r.status, "the preflight is answered without a key: cors runs before key-auth\n%s", r.body)
		require.Equal(t, "https://app.example.com", r.header.Get("Access-Control-Allow-Origin"))
		require.Equal(t, "GET, HEAD, POST, PUT, PATCH, DELETE", r.header.Get("Access-Control-Allow-Methods"))
		require.Equal(t, "x-api-key, content-type", r.header.Get("Access-Control-Allow-Headers"))
		require.Equal(t, "120", r.header.Get("Access-Control-Max-Age"))
		require.Equal(t, hits, b.hits.Load(), "a preflight never reaches the upstream")

		r = gw(t, g, "OPTIONS", "/api/orders", "Origin", "https://evil.test", "Access-Control-Request-Method", "GET")
		require.Equal(t, http.StatusForbidden, r.status)
		require.Equal(t, "cors_preflight_refused", r.errorCode(t))
		require.Empty(t, r.header.Get("Access-Control-Allow-Origin"), "a disallowed origin gets no CORS headers")

		r = gw(t, g, "GET", "/api/orders", "Origin", "https://app.example.com", "X-Api-Key", aliceKey)
		require.Equal(t, http.StatusOK, r.status)
		require.Equal(t, "https://app.example.com", r.header.Get("Access-Control-Allow-Origin"))
		require.Equal(t, "x-backend", r.header.Get("Access-Control-Expose-Headers"))
		require.Contains(t, r.header.Values("Vary"), "Origin")

		r = gw(t, g, "GET", "/api/orders", "Origin", "https://app.example.com")
		require.Equal(t, http.StatusUnauthorized, r.status)
		require.Equal(t, "https://app.example.com", r.header.Get("Access-Control-Allow-Origin"),
			"the page's script can read key-auth's 401")

		r = gw(t, g, "GET", "/api/orders", "Origin", "https://evil.test", "X-Api-Key", aliceKey)
		require.Equal(t, http.StatusOK, r.status, "CORS does not block requests, browsers do")
		require.Empty(t, r.header.Get("Access-Control-Allow-Origin"))
	})

	logs, err := os.ReadFile(g.LogFile)
	require.NoError(t, err)
	require.NotEmpty(t, logs)
	for _, k := range []string{aliceKey, bobKey} {
		require.NotContains(t, string(logs), k, "API keys never reach gateway.log")
	}
}

// TestClusterRateLimitSharedByTwoInstances runs two gateways on one
// redis-server. Each has its own SQLite database and is configured through
// its own admin API with the same objects: that is what a rate limit
// shared through Redis needs (the same ruleName on both), and it keeps
// this test about the limit, independent of how instances share their
// configuration (tested on one database in multi_test.go). One instance
// gets Redis from PUT /api/v1/settings/redis, the other from
// GATEHOUSE_REDIS_ADDR.
func TestClusterRateLimitSharedByTwoInstances(t *testing.T) {
	redis := testenv.StartRedis(t)
	b := newSeenBackend(t)
	a := testenv.StartGatehouse(t, testenv.Options{Env: append(bootstrapEnv(), "GATEHOUSE_INSTANCE_ID=a")})
	bb := testenv.StartGatehouse(t, testenv.Options{Env: append(bootstrapEnv(), "GATEHOUSE_INSTANCE_ID=b", "GATEHOUSE_REDIS_ADDR="+redis.Addr)})
	apiA, apiB := a.Login(t, adminUser, adminPass), bb.Login(t, adminUser, adminPass)

	var e apiErr
	resp := apiA.Do(t, "PUT", "/settings/redis", map[string]any{"mode": "standalone", "addresses": []string{redis.Addr}}, &e)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%+v", e.Error)

	const limit = 10
	for _, api := range []*testenv.Client{apiA, apiB} {
		create(t, api, "/services", map[string]any{"name": "b", "endpoints": []map[string]any{{"url": b.URL}}})
		for _, r := range []string{"limited", "per-consumer", "lenient", "open"} {
			create(t, api, "/routes", route(r, "/"+r, "b"))
		}
		create(t, api, "/plugin-instances", pluginInstance("limit", "cluster-rate-limit", "limited",
			map[string]any{"ruleName": "e2e-limited", "requests": limit, "window": "1h", "redisTimeout": "300ms"}))
		create(t, api, "/plugin-instances", pluginInstance("auth", "key-auth", "per-consumer", keyAuthConfig()))
		create(t, api, "/plugin-instances", pluginInstance("consumer-limit", "cluster-rate-limit", "per-consumer",
			map[string]any{"ruleName": "e2e-per-consumer", "limitBy": "consumer", "requests": 3, "window": "1h"}))
		create(t, api, "/plugin-instances", pluginInstance("lenient", "cluster-rate-limit", "lenient",
			map[string]any{"ruleName": "e2e-lenient", "requests": 1000, "window": "1h", "failOpen": true, "redisTimeout": "300ms"}))
	}
	gateways := []*testenv.Gatehouse{a, bb}

	t.Run("one limit across both instances", func(t *testing.T) {
		// First in turn, so that each instance counts some of the budget
		// (the remaining count goes down across both), then a concurrent
		// burst on both for the rest.
		const inTurn = 6
		for i := range inTurn {
			r := gw(t, gateways[i%2], "GET", "/limited/x")
			require.Equal(t, http.StatusOK, r.status, r.body)
			require.Equal(t, strconv.Itoa(limit-1-i), r.header.Get("X-RateLimit-Remaining"), "request %d, on instance %d", i, i%2)
		}
		var mu sync.Mutex
		statuses := map[int]int{}
		var limited []gwResponse
		var wg sync.WaitGroup
		for i := range 3*limit - inTurn {
			wg.Go(func() {
				r := gw(t, gateways[i%2], "GET", "/limited/x")
				mu.Lock()
				defer mu.Unlock()
				statuses[r.status]++
				if r.status == http.StatusTooManyRequests {
					limited = append(limited, r)
				}
			})
		}
		wg.Wait()
		require.Equal(t, map[int]int{http.StatusOK: limit - inTurn, http.StatusTooManyRequests: 2 * limit}, statuses,
			"exactly %d requests got through, counted once across both instances", limit)
		require.Equal(t, int64(limit), b.hits.Load())
		r := limited[0]
		require.Equal(t, "rate_limited", r.errorCode(t))
		require.Equal(t, strconv.Itoa(limit), r.header.Get("X-RateLimit-Limit"))
		require.Equal(t, "0", r.header.Get("X-RateLimit-Remaining"))
		retry, err := strconv.Atoi(r.header.Get("Retry-After"))
		require.NoError(t, err)
		require.True(t, retry > 3000 && retry <= 3600, "Retry-After is the rest of the 1h window: %d", retry)

		// Other routes are not affected by this limit.
		require.Equal(t, http.StatusOK, gw(t, a, "GET", "/open/x").status)
	})

	t.Run("per consumer after key-auth", func(t *testing.T) {
		for i := range 3 {
			r := gw(t, gateways[i%2], "GET", "/per-consumer/x", "X-Api-Key", aliceKey)
			require.Equal(t, http.StatusOK, r.status, r.body)
			require.Equal(t, strconv.Itoa(2-i), r.header.Get("X-RateLimit-Remaining"))
		}
		require.Equal(t, http.StatusTooManyRequests, gw(t, bb, "GET", "/per-consumer/x", "X-Api-Key", aliceKey).status)
		require.Equal(t, http.StatusTooManyRequests, gw(t, a, "GET", "/per-consumer/x", "X-Api-Key", aliceKey).status)
		require.Equal(t, http.StatusOK, gw(t, a, "GET", "/per-consumer/x", "X-Api-Key", bobKey).status, "bob has his own budget")
		r := gw(t, bb, "GET", "/per-consumer/x")
		require.Equal(t, http.StatusUnauthorized, r.status, "key-auth runs before the limit")
		require.Empty(t, r.header.Get("X-RateLimit-Limit"), "a refused request is not counted")
	})

	t.Run("Redis down, then back", func(t *testing.T) {
		redis.Stop()
		for _, g := range gateways {
			r := gw(t, g, "GET", "/limited/x")
			require.Equal(t, http.StatusServiceUnavailable, r.status, "failOpen false: %s", r.body)
			require.Equal(t, "rate_limit_unavailable", r.errorCode(t))
			require.Contains(t, r.errorMessage(t), "Redis")
			require.Equal(t, http.StatusOK, gw(t, g, "GET", "/lenient/x").status, "failOpen true lets requests through")
			require.Equal(t, http.StatusOK, gw(t, g, "GET", "/open/x").status, "routes without Redis plugins are untouched")
		}
		redis.Start()
		for _, g := range gateways {
			testenv.WaitFor(t, 15*time.Second, "the limit to be counted again on "+g.GatewayURL, func() bool {
				r := gw(t, g, "GET", "/lenient/x")
				return r.status == http.StatusOK && r.header.Get("X-RateLimit-Limit") == "1000"
			})
		}
		// The restarted Redis kept nothing: the limited route has its whole budget again.
		require.Equal(t, http.StatusOK, gw(t, a, "GET", "/limited/x").status)
		require.Equal(t, fmt.Sprint(limit-2), gw(t, bb, "GET", "/limited/x").header.Get("X-RateLimit-Remaining"))
	})

	for _, g := range gateways {
		logs, err := os.ReadFile(g.LogFile)
		require.NoError(t, err)
		require.True(t, strings.Contains(string(logs), "requests refused with 503"), "the outage is in gateway.log")
	}
}
