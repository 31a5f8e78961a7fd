package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/plugintest"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// testHost is one simulated gateway instance with its own Redis client.
type testHost struct {
	*plugintest.Host
	// commands counts the commands sent to Redis.
	commands atomic.Int64
}

// countHook counts every command a client processes.
type countHook struct{ n *atomic.Int64 }

func (h countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func newHost(t *testing.T, addr string) *testHost {
	t.Helper()
	h := &testHost{Host: plugintest.NewHost(t, addr)}
	if rdb := h.Redis(); rdb != nil {
		rdb.AddHook(countHook{&h.commands})
	}
	return h
}

// counter is the upstream: it counts the requests that got through.
type counter struct{ n atomic.Int64 }

func (c *counter) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	c.n.Add(1)
	_, _ = io.WriteString(w, "ok")
}

func newLimiter(t *testing.T, cfg string, host *testHost) (http.Handler, *counter) {
	t.Helper()
	inst, err := Plugin.New(context.Background(), json.RawMessage(cfg), host)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, inst.Close()) })
	up := &counter{}
	return inst.Handler(up), up
}

type request struct {
	addr, consumer string
	header         http.Header
}

func send(h http.Handler, q request) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/x", nil)
	if q.addr != "" {
		r.RemoteAddr = q.addr
	}
	for k, v := range q.header {
		r.Header[k] = v
	}
	if q.consumer != "" {
		r = r.WithContext(pluginapi.WithConsumer(r.Context(), q.consumer))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

type errBody struct {
	Error struct{ Code, Message string } `json:"error"`
}

func TestInfoAndSchema(t *testing.T) {
	info := Plugin.Info()
	require.Equal(t, "cluster-rate-limit", info.Name)
	require.Equal(t, pluginapi.ABIVersion, info.ABIVersion)
	require.Equal(t, pluginapi.PhaseTraffic, info.Phase)
	require.NotEmpty(t, info.Version)
	require.NotEmpty(t, info.Description)
	var schema map[string]any
	require.NoError(t, json.Unmarshal(Plugin.ConfigSchema(), &schema))
	require.Equal(t, false, schema["additionalProperties"])
	require.ElementsMatch(t, []any{"ruleName", "requests", "window"}, schema["required"])
	props := schema["properties"].(map[string]any)
	ct := reflect.TypeFor[config]()
	exported := 0
	for i := range ct.NumField() {
		if f := ct.Field(i); f.IsExported() {
			exported++
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			require.Contains(t, props, name)
		}
	}
	require.Len(t, props, exported)
}

func TestConfigErrorsNameTheField(t *testing.T) {
	cases := []struct {
		name   string
		config string
		fields map[string]string
	}{
		{"empty", `{}`, map[string]string{"ruleName": "is required", "requests": "at least 1", "window": "is required"}},
		{"unknown and mistyped", `{"ruleName":"r","requests":"10","window":60,"failopen":true}`,
			map[string]string{"requests": "whole number", "window": "must be a string", "failopen": `did you mean "failOpen"`}},
		{"bad values", `{"ruleName":"-r","limitBy":"ip","requests":0,"window":"10","redisTimeout":"1m"}`,
			map[string]string{
				"ruleName":     "not a valid rule name",
				"limitBy":      `"ip" is not one of route, consumer, client-address, header`,
				"requests":     "is 0",
				"window":       "not a duration",
				"redisTimeout": "at most 30s",
			}},
		{"header needs a name", `{"ruleName":"r","limitBy":"header","requests":1,"window":"10ms"}`,
			map[string]string{"headerName": "is required with limitBy", "window": "at least 100ms"}},
		{"a header name without limitBy header", `{"ruleName":"r","limitBy":"consumer","headerName":"x-t","requests":1,"window":"1s"}`,
			map[string]string{"headerName": `only used with limitBy "header"`}},
		{"shape and value problems in one answer", `{"ruleName":5,"requests":0,"window":"1m","limitBy":"ip"}`,
			map[string]string{"ruleName": "must be a string", "requests": "is 0", "limitBy": "not one of"}},
		{"a fractional count", `{"ruleName":"r","requests":1.5,"window":"1s"}`,
			map[string]string{"requests": "whole number"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Plugin.New(context.Background(), json.RawMessage(tc.config), newHost(t, ""))
			require.Error(t, err)
			got := map[string]string{}
			var walk func(error)
			walk = func(e error) {
				if j, ok := e.(interface{ Unwrap() []error }); ok { //nolint:errorlint // a join
					for _, x := range j.Unwrap() {
						walk(x)
					}
					return
				}
				var ce *pluginapi.ConfigError
				require.True(t, errors.As(e, &ce), "%v", e)
				got[ce.Field] = ce.Message
			}
			walk(err)
			require.Len(t, got, len(tc.fields), "every problem and only those: %v", got)
			for f, msg := range tc.fields {
				require.Contains(t, got, f)
				require.Contains(t, got[f], msg)
			}
		})
	}
}

func TestLimitPerRoute(t *testing.T) {
	rs := startRedis(t)
	host := newHost(t, rs.Addr)
	h, up := newLimiter(t, `{"ruleName":"orders","requests":3,"window":"1h"}`, host)
	for i := range 3 {
		rec := send(h, request{addr: "10.0.0." + strconv.Itoa(i+1) + ":1234"})
		require.Equal(t, 200, rec.Code)
		require.Equal(t, "3", rec.Header().Get("X-RateLimit-Limit"))
		require.Equal(t, strconv.Itoa(2-i), rec.Header().Get("X-RateLimit-Remaining"))
		reset, err := strconv.Atoi(rec.Header().Get("X-RateLimit-Reset"))
		require.NoError(t, err)
		require.True(t, reset > 3500 && reset <= 3600, "the window ends within the hour: %d", reset)
	}
	rec := send(h, request{addr: "10.0.0.9:1234"})
	require.Equal(t, http.StatusTooManyRequests, rec.Code, "limitBy route: every client counts against one limit")
	require.Equal(t, "0", rec.Header().Get("X-RateLimit-Remaining"))
	retry, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	require.NoError(t, err)
	require.True(t, retry > 3500 && retry <= 3600, "Retry-After is the rest of the window: %d", retry)
	require.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
	var body errBody
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	require.Equal(t, "rate_limited", body.Error.Code)
	require.Contains(t, body.Error.Message, "3 requests per 1h")
	require.Equal(t, int64(3), up.n.Load(), "a refused request never reaches the upstream")

	// The counter is in Redis under a key an operator can find, with the window as expiry.
	rdb := host.Redis()
	n, err := rdb.Get(context.Background(), "gatehouse:rate-limit:orders:route").Int()
	require.NoError(t, err)
	require.Equal(t, 4, n)
	ttl, err := rdb.PTTL(context.Background(), "gatehouse:rate-limit:orders:route").Result()
	require.NoError(t, err)
	require.True(t, ttl > 59*time.Minute && ttl <= time.Hour, "%s", ttl)

	require.Equal(t, 3.0, metric(t, host, "orders", "allowed"))
	require.Equal(t, 1.0, metric(t, host, "orders", "limited"))

	// Another rule has its own counters.
	h2, _ := newLimiter(t, `{"ruleName":"other","requests":3,"window":"1h"}`, host)
	require.Equal(t, 200, send(h2, request{}).Code)
}

// metric reads gatehouse_rate_limit_decisions_total{rule, decision} from
// the host's registry, as /metrics would show it.
func metric(t *testing.T, h *testHost, rule, decision string) float64 {
	t.Helper()
	families, err := h.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != "gatehouse_rate_limit_decisions_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["rule"] == rule && labels["decision"] == decision {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestSharedByTwoGatewayInstances(t *testing.T) {
	rs := startRedis(t)
	cfg := `{"ruleName":"shared","limitBy":"client-address","requests":25,"window":"1h"}`
	a, upA := newLimiter(t, cfg, newHost(t, rs.Addr))
	b, upB := newLimiter(t, cfg, newHost(t, rs.Addr))

	var wg sync.WaitGroup
	var allowed, limited atomic.Int64
	// One request on each instance first, so that both serve some of the
	// budget however the scheduler orders the burst that follows.
	for i, h := range []http.Handler{a, b} {
		require.Equal(t, 200, send(h, request{addr: "192.0.2.7:" + strconv.Itoa(39000+i)}).Code)
		allowed.Add(1)
	}
	for i := range 78 {
		wg.Go(func() {
			h := a
			if i%2 == 1 {
				h = b
			}
			switch send(h, request{addr: "192.0.2.7:" + strconv.Itoa(40000+i)}).Code {
			case 200:
				allowed.Add(1)
			case 429:
				limited.Add(1)
			default:
				t.Error("unexpected status")
			}
		})
	}
	wg.Wait()
	require.Equal(t, int64(25), allowed.Load(), "exactly the limit got through, across both instances")
	require.Equal(t, int64(55), limited.Load())
	require.Equal(t, int64(25), upA.n.Load()+upB.n.Load())
	require.Positive(t, upA.n.Load())
	require.Positive(t, upB.n.Load())

	// Another address has its own budget, on either instance.
	require.Equal(t, 200, send(b, request{addr: "192.0.2.8:1"}).Code)
	require.Equal(t, "23", send(a, request{addr: "192.0.2.8:2"}).Header().Get("X-RateLimit-Remaining"))
}

func TestLimitByConsumerAndHeader(t *testing.T) {
	rs := startRedis(t)
	host := newHost(t, rs.Addr)
	byConsumer, _ := newLimiter(t, `{"ruleName":"c","limitBy":"consumer","requests":2,"window":"1h"}`, host)
	for range 2 {
		require.Equal(t, 200, send(byConsumer, request{consumer: "alice", addr: "10.0.0.1:1"}).Code)
	}
	require.Equal(t, 429, send(byConsumer, request{consumer: "alice", addr: "10.0.0.2:1"}).Code, "alice's limit follows her, not her address")
	require.Equal(t, 200, send(byConsumer, request{consumer: "bob", addr: "10.0.0.1:1"}).Code, "bob has his own")
	// Without a consumer, requests are counted by address.
	require.Equal(t, 200, send(byConsumer, request{addr: "10.0.0.3:1"}).Code)
	require.Equal(t, 200, send(byConsumer, request{addr: "10.0.0.3:2"}).Code)
	require.Equal(t, 429, send(byConsumer, request{addr: "10.0.0.3:3"}).Code)
	require.Equal(t, 200, send(byConsumer, request{addr: "10.0.0.4:1"}).Code)

	byHeader, _ := newLimiter(t, `{"ruleName":"h","limitBy":"header","headerName":"x-tenant","requests":1,"window":"1h"}`, host)
	require.Equal(t, 200, send(byHeader, request{header: http.Header{"X-Tenant": {"t1"}}, addr: "10.0.1.1:1"}).Code)
	require.Equal(t, 429, send(byHeader, request{header: http.Header{"X-Tenant": {"t1"}}, addr: "10.0.1.2:1"}).Code)
	require.Equal(t, 200, send(byHeader, request{header: http.Header{"X-Tenant": {"t2"}}, addr: "10.0.1.1:1"}).Code)
	long := strings.Repeat("x", 500)
	require.Equal(t, 200, send(byHeader, request{header: http.Header{"X-Tenant": {long}}}).Code)
	require.Equal(t, 429, send(byHeader, request{header: http.Header{"X-Tenant": {long}}}).Code, "long values are counted by their digest")
	require.Equal(t, 200, send(byHeader, request{addr: "10.0.1.5:1"}).Code)
	require.Equal(t, 429, send(byHeader, request{addr: "10.0.1.5:2"}).Code, "leaving the header out does not escape the limit")

	keys, err := host.Redis().Keys(context.Background(), "gatehouse:rate-limit:*").Result()
	require.NoError(t, err)
	require.ElementsMatch(t, []string{
		"gatehouse:rate-limit:c:consumer:alice",
		"gatehouse:rate-limit:c:consumer:bob",
		"gatehouse:rate-limit:c:consumer:client-address:10.0.0.3",
		"gatehouse:rate-limit:c:consumer:client-address:10.0.0.4",
		"gatehouse:rate-limit:h:header:t1",
		"gatehouse:rate-limit:h:header:t2",
		"gatehouse:rate-limit:h:header:sha256:" + sha256hex(long),
		"gatehouse:rate-limit:h:header:client-address:10.0.1.5",
	}, keys)
}

func TestWindowEnds(t *testing.T) {
	rs := startRedis(t)
	h, _ := newLimiter(t, `{"ruleName":"short","requests":2,"window":"300ms"}`, newHost(t, rs.Addr))
	require.Equal(t, 200, send(h, request{}).Code)
	require.Equal(t, 200, send(h, request{}).Code)
	rec := send(h, request{})
	require.Equal(t, 429, rec.Code)
	require.Equal(t, "1", rec.Header().Get("Retry-After"), "Retry-After rounds up to whole seconds")
	waitFor(t, 5*time.Second, "the window to end", func() bool { return send(h, request{}).Code == 200 })
	rec = send(h, request{})
	require.Equal(t, 200, rec.Code, "a new window has the whole budget")
	require.Equal(t, "0", rec.Header().Get("X-RateLimit-Remaining"))
}

func TestWithoutRedis(t *testing.T) {
	t.Run("fail closed", func(t *testing.T) {
		host := newHost(t, "")
		h, up := newLimiter(t, `{"ruleName":"r","requests":5,"window":"1m"}`, host)
		for range 20 {
			rec := send(h, request{})
			require.Equal(t, http.StatusServiceUnavailable, rec.Code)
			var body errBody
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			require.Equal(t, "rate_limit_unavailable", body.Error.Code)
			require.Contains(t, body.Error.Message, "Redis")
		}
		require.Zero(t, up.n.Load())
		logs := host.Logs.String()
		require.Equal(t, 1, strings.Count(logs, "level=WARN"), "one warning, not one per request:\n%s", logs)
		require.Contains(t, logs, "redis is not configured")
	})
	t.Run("fail open", func(t *testing.T) {
		host := newHost(t, "")
		h, up := newLimiter(t, `{"ruleName":"r","requests":1,"window":"1m","failOpen":true}`, host)
		for range 20 {
			rec := send(h, request{})
			require.Equal(t, 200, rec.Code)
			require.Empty(t, rec.Header().Get("X-RateLimit-Limit"), "nothing was counted")
		}
		require.Equal(t, int64(20), up.n.Load())
		logs := host.Logs.String()
		require.Equal(t, 1, strings.Count(logs, "level=WARN"), logs)
		require.Contains(t, logs, "rate limit not enforced")
	})
}

func TestRedisStopsAndReturns(t *testing.T) {
	rs := startRedis(t)
	host := newHost(t, rs.Addr)
	closed, _ := newLimiter(t, `{"ruleName":"closed","requests":100,"window":"1h","redisTimeout":"300ms"}`, host)
	open, openUp := newLimiter(t, `{"ruleName":"open","requests":100,"window":"1h","failOpen":true,"redisTimeout":"300ms"}`, host)
	require.Equal(t, 200, send(closed, request{}).Code)
	require.Equal(t, 200, send(open, request{}).Code)

	rs.Stop()
	require.Equal(t, http.StatusServiceUnavailable, send(closed, request{}).Code)
	require.Equal(t, 200, send(open, request{}).Code)
	logs := host.Logs.String()
	require.Contains(t, logs, "requests refused with 503")
	require.Contains(t, logs, "rate limit not enforced")
	require.Regexp(t, `error="redis[^"]*(refused|did not answer within 300ms)`, logs, "the warning says what failed")

	// While Redis is down, requests do not each wait for it: after a
	// failure they get the failOpen answer without asking Redis.
	before := host.commands.Load()
	for range 50 {
		require.Equal(t, 200, send(open, request{}).Code)
	}
	require.Equal(t, int64(52), openUp.n.Load())
	require.Equal(t, float64(51), metric(t, host, "open", "failed_open"))
	require.Less(t, host.commands.Load()-before, int64(10), "Redis is asked again about once a second, not per request")

	rs.Start()
	waitFor(t, 10*time.Second, "the limit to be counted again", func() bool {
		rec := send(closed, request{})
		return rec.Code == 200 && rec.Header().Get("X-RateLimit-Limit") == "100"
	})
}

func TestRedisReplacedBetweenRequests(t *testing.T) {
	// The host's client changes when the Redis settings change: the plugin
	// asks for it on every request.
	first, second := startRedis(t), startRedis(t)
	host := newHost(t, first.Addr)
	h, _ := newLimiter(t, `{"ruleName":"swap","requests":1,"window":"1h"}`, host)
	require.Equal(t, 200, send(h, request{}).Code)
	require.Equal(t, 429, send(h, request{}).Code)
	other := redis.NewClient(&redis.Options{Addr: second.Addr})
	t.Cleanup(func() { _ = other.Close() })
	host.SetRedis(other)
	require.Equal(t, 200, send(h, request{}).Code, "counted in the new Redis")
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
