package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

const (
	redisPassword      = "e2e-redis-Pa55word-7c1f"
	wrongRedisPassword = "e2e-wrong-Pa55word-93ab"
)

// redisView is GET/PUT /api/v1/settings/redis.
type redisView struct {
	Mode         string   `json:"mode"`
	Addresses    []string `json:"addresses"`
	MasterName   string   `json:"masterName"`
	Username     string   `json:"username"`
	DB           int      `json:"db"`
	PoolSize     int      `json:"poolSize"`
	MinIdleConns int      `json:"minIdleConns"`
	DialTimeout  string   `json:"dialTimeout"`
	ReadTimeout  string   `json:"readTimeout"`
	WriteTimeout string   `json:"writeTimeout"`
	PasswordSet  bool     `json:"passwordSet"`
	Configured   bool     `json:"configured"`
}

// diagnosis is POST /api/v1/settings/redis/test.
type diagnosis struct {
	OK            bool    `json:"ok"`
	Code          string  `json:"code"`
	Message       string  `json:"message"`
	Hint          string  `json:"hint"`
	ServerVersion string  `json:"serverVersion"`
	Mode          string  `json:"mode"`
	LatencyMS     float64 `json:"latencyMs"`
}

// redisHealth returns the Redis component of GET /api/v1/health.
func redisHealth(t *testing.T, api *testenv.Client) (status, message string) {
	t.Helper()
	var h struct {
		Components []struct{ Name, Kind, Status, Message string }
	}
	require.Equal(t, http.StatusOK, api.Do(t, "GET", "/health", nil, &h).StatusCode)
	for _, c := range h.Components {
		if c.Kind == "redis" {
			return c.Status, c.Message
		}
	}
	t.Fatal("the health report has no redis component")
	return "", ""
}

func waitRedisHealth(t *testing.T, api *testenv.Client, want string) string {
	t.Helper()
	var msg, got string
	testenv.WaitFor(t, 30*time.Second, "redis health "+want, func() bool {
		got, msg = redisHealth(t, api)
		return got == want
	})
	return msg
}

func redisSettings(addr string, extra map[string]any) map[string]any {
	body := map[string]any{"mode": "standalone", "addresses": []string{addr}, "dialTimeout": "2s", "readTimeout": "2s", "writeTimeout": "2s"}
	for k, v := range extra {
		body[k] = v
	}
	return body
}

// getRedis reads the settings and checks that the raw answer never holds a
// password.
func getRedis(t *testing.T, api *testenv.Client) redisView {
	t.Helper()
	var v redisView
	resp := api.Do(t, "GET", "/settings/redis", nil, &v)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assertNoPassword(t, resp)
	return v
}

func assertNoPassword(t *testing.T, resp *http.Response) {
	t.Helper()
	var raw map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&raw))
	_, has := raw["password"]
	require.False(t, has, "the API never returns a password field: %v", raw)
	data, _ := json.Marshal(raw)
	require.NotContains(t, string(data), redisPassword)
}

// TestRedisTestEndpointDiagnosesRealServers tries settings without saving
// them: each answer names the problem with the values involved.
func TestRedisTestEndpointDiagnosesRealServers(t *testing.T) {
	locked := testenv.StartRedis(t, "--requirepass", redisPassword)
	g := testenv.StartGatehouse(t, testenv.Options{Env: bootstrapEnv()})
	api := g.Login(t, adminUser, adminPass)
	refused := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))

	cases := []struct {
		name    string
		body    map[string]any
		code    string
		message []string
	}{
		{"ok with server version", redisSettings(locked.Addr, map[string]any{"password": redisPassword, "db": 4}), "ok", []string{locked.Addr, "db 4"}},
		{"wrong port", redisSettings(refused, nil), "connection_refused", []string{refused, "connection refused"}},
		{"wrong password with requirepass", redisSettings(locked.Addr, map[string]any{"password": wrongRedisPassword}), "auth_failed", []string{locked.Addr, "WRONGPASS"}},
		{"no password with requirepass", redisSettings(locked.Addr, nil), "auth_failed", []string{"NOAUTH"}},
		{"db out of range", redisSettings(locked.Addr, map[string]any{"password": redisPassword, "db": 99}), "db_out_of_range", []string{"database 99"}},
		{"unresolvable name", redisSettings("nonexistent.invalid:6379", nil), "dns_not_found", []string{"nonexistent.invalid"}},
		{"cluster against a standalone server", redisSettings(locked.Addr, map[string]any{"mode": "cluster", "password": redisPassword}), "not_a_cluster", []string{locked.Addr}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var d diagnosis
			resp := api.Do(t, "POST", "/settings/redis/test", tc.body, &d)
			require.Equal(t, http.StatusOK, resp.StatusCode, "a failed connection is a diagnosis, not an API error")
			require.Equal(t, tc.code, d.Code, "%+v", d)
			require.Equal(t, tc.code == "ok", d.OK)
			for _, m := range tc.message {
				require.Contains(t, d.Message, m)
			}
			if d.OK {
				require.NotEmpty(t, d.ServerVersion)
				require.Equal(t, "standalone", d.Mode)
				require.Greater(t, d.LatencyMS, 0.0)
			} else {
				require.NotEmpty(t, d.Hint, "a failed diagnosis says what to check")
			}
		})
	}

	var e apiErr
	resp := api.Do(t, "POST", "/settings/redis/test", map[string]any{"mode": "sentinel", "addresses": []string{"nohost"}}, &e)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "invalid settings are refused before dialling")
	require.Equal(t, "redis_settings_invalid", e.Error.Code)
	fields := []string{}
	for _, d := range e.Error.Details {
		fields = append(fields, d.Field)
	}
	require.ElementsMatch(t, []string{"addresses[0]", "masterName"}, fields)

	require.False(t, getRedis(t, api).Configured, "testing stores nothing")
	status, _ := redisHealth(t, api)
	require.Equal(t, "not_configured", status, "testing applies nothing")
}

// TestRedisSettingsLifecycle configures Redis through the API, keeps the
// password write-only, refuses bad settings without touching the stored
// ones, and follows Redis going down and coming back without a restart
// while routes that do not use Redis keep serving.
func TestRedisSettingsLifecycle(t *testing.T) {
	r := testenv.StartRedis(t, "--requirepass", redisPassword)
	g := testenv.StartGatehouse(t, testenv.Options{Env: bootstrapEnv()})
	api := g.Login(t, adminUser, adminPass)

	v := getRedis(t, api)
	require.False(t, v.Configured)
	require.False(t, v.PasswordSet)
	require.Equal(t, "standalone", v.Mode)
	status, _ := redisHealth(t, api)
	require.Equal(t, "not_configured", status)

	// Configure: applied without a restart.
	var put redisView
	resp := api.Do(t, "PUT", "/settings/redis", redisSettings(r.Addr, map[string]any{"password": redisPassword, "db": 2, "poolSize": 8}), &put)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assertNoPassword(t, resp)
	require.True(t, put.Configured)
	require.True(t, put.PasswordSet)
	msg := waitRedisHealth(t, api, "ok")
	require.Contains(t, msg, r.Addr)
	require.Contains(t, msg, "db 2")

	v = getRedis(t, api)
	require.Equal(t, []string{r.Addr}, v.Addresses)
	require.Equal(t, 2, v.DB)
	require.Equal(t, 8, v.PoolSize)
	require.True(t, v.PasswordSet)

	// Without a password field the stored one is kept: Redis stays reachable.
	resp = api.Do(t, "PUT", "/settings/redis", redisSettings(r.Addr, map[string]any{"db": 3}), &put)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, put.PasswordSet, "an absent password keeps the stored one")
	require.Contains(t, waitRedisHealth(t, api, "ok"), "db 3")
	// The test endpoint uses the stored password too.
	var d diagnosis
	require.Equal(t, http.StatusOK, api.Do(t, "POST", "/settings/redis/test", redisSettings(r.Addr, nil), &d).StatusCode)
	require.Equal(t, "ok", d.Code, "%+v", d)

	// Bad settings: 400 with every field, nothing stored or changed.
	var e apiErr
	resp = api.Do(t, "PUT", "/settings/redis", map[string]any{"mode": "cluster", "addresses": []string{"redis://x"}, "db": 5,
		"password": wrongRedisPassword, "readTimeout": "soon"}, &e)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "redis_settings_invalid", e.Error.Code)
	fields := []string{}
	for _, d := range e.Error.Details {
		fields = append(fields, d.Field)
		require.NotEmpty(t, d.Message)
	}
	require.ElementsMatch(t, []string{"addresses[0]", "db", "readTimeout"}, fields)
	v = getRedis(t, api)
	require.Equal(t, []string{r.Addr}, v.Addresses, "the stored settings are unchanged")
	require.Equal(t, 3, v.DB)
	require.Equal(t, "standalone", v.Mode)
	status, _ = redisHealth(t, api)
	require.Equal(t, "ok", status, "the running client is unchanged")

	// "" clears the password: the server now refuses, and says why.
	resp = api.Do(t, "PUT", "/settings/redis", redisSettings(r.Addr, map[string]any{"password": "", "db": 3}), &put)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.False(t, put.PasswordSet)
	require.Contains(t, waitRedisHealth(t, api, "down"), "NOAUTH")
	resp = api.Do(t, "PUT", "/settings/redis", redisSettings(r.Addr, map[string]any{"password": redisPassword, "db": 3}), &put)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	waitRedisHealth(t, api, "ok")

	// A route that does not use Redis.
	echo := backend(t, "echo")
	require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/services",
		map[string]any{"name": "echo", "endpoints": []map[string]any{{"url": echo.URL, "weight": 1}}}, nil).StatusCode)
	require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/routes",
		map[string]any{"name": "echo", "path": map[string]any{"type": "prefix", "value": "/echo"}, "service": "echo"}, nil).StatusCode)
	testenv.WaitFor(t, 5*time.Second, "the echo route", func() bool {
		code, _, _ := gatewayGet(t, g, "", "/echo/x")
		return code == http.StatusOK
	})

	// Redis goes down: health says so and why; the route keeps serving.
	r.Stop()
	msg = waitRedisHealth(t, api, "down")
	require.Contains(t, msg, r.Addr)
	require.Contains(t, msg, "connection refused")
	require.Contains(t, msg, "is Redis running and reachable")
	code, body, _ := gatewayGet(t, g, "", "/echo/while-redis-is-down")
	require.Equal(t, http.StatusOK, code, "a route without Redis plugins is untouched by Redis being down")
	require.Contains(t, body, "echo /echo/while-redis-is-down")
	var h struct{ Status string }
	api.Do(t, "GET", "/health", nil, &h)
	require.Equal(t, "degraded", h.Status, "Redis down degrades the report, it does not make gatehouse down")
	ready, err := http.Get(g.ConsoleURL + "/readyz")
	require.NoError(t, err)
	_ = ready.Body.Close()
	require.Equal(t, http.StatusOK, ready.StatusCode, "Redis down does not take the instance out of rotation")

	// Redis comes back on the same port: recovered without restarting.
	r.Start()
	msg = waitRedisHealth(t, api, "ok")
	require.Contains(t, msg, r.Addr)
	require.False(t, g.Exited())

	// The password never reaches the log.
	g.Signal(syscall.SIGTERM)
	require.Equal(t, 0, g.Wait(30*time.Second))
	logData, err := os.ReadFile(g.LogFile)
	require.NoError(t, err)
	log := string(logData)
	require.Contains(t, log, "redis settings changed", "changes are logged")
	require.Contains(t, log, "redis client closed", "Redis is closed at shutdown")
	for _, secret := range []string{redisPassword, wrongRedisPassword} {
		require.NotContains(t, log, secret, "gateway.log never holds a Redis password")
		require.NotContains(t, g.Stdout.String(), secret)
		require.NotContains(t, g.Stderr.String(), secret)
	}
}

// TestRedisBootstrapFromEnvironment stores GATEHOUSE_REDIS_ADDR and
// GATEHOUSE_REDIS_PASSWORD at the first start only: later the stored
// settings win.
func TestRedisBootstrapFromEnvironment(t *testing.T) {
	r := testenv.StartRedis(t, "--requirepass", redisPassword)
	data := t.TempDir()
	env := append(bootstrapEnv(), "GATEHOUSE_REDIS_ADDR="+r.Addr, "GATEHOUSE_REDIS_PASSWORD="+redisPassword)
	g := testenv.StartGatehouse(t, testenv.Options{DataDir: data, Env: env})
	api := g.Login(t, adminUser, adminPass)
	v := getRedis(t, api)
	require.True(t, v.Configured)
	require.True(t, v.PasswordSet)
	require.Equal(t, []string{r.Addr}, v.Addresses)
	require.Equal(t, "standalone", v.Mode)
	waitRedisHealth(t, api, "ok")
	g.Signal(syscall.SIGTERM)
	require.Equal(t, 0, g.Wait(30*time.Second))

	other := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	env = append(bootstrapEnv(), "GATEHOUSE_REDIS_ADDR="+other)
	g = testenv.StartGatehouse(t, testenv.Options{DataDir: data, Env: env})
	api = g.Login(t, adminUser, adminPass)
	v = getRedis(t, api)
	require.Equal(t, []string{r.Addr}, v.Addresses, "stored settings win over the bootstrap variables")
	require.True(t, v.PasswordSet)
	waitRedisHealth(t, api, "ok")

	logData, err := os.ReadFile(g.LogFile)
	require.NoError(t, err)
	require.Contains(t, string(logData), "GATEHOUSE_REDIS_ADDR ignored")
	require.NotContains(t, string(logData), redisPassword)
}

func TestRedisBootstrapAddressIsValidated(t *testing.T) {
	g := testenv.StartGatehouse(t, testenv.Options{NoWait: true, Env: []string{"GATEHOUSE_REDIS_ADDR=redis", "GATEHOUSE_REDIS_PASSWORD=" + redisPassword}})
	require.Equal(t, 2, g.Wait(30*time.Second), "an invalid address is a settings error")
	require.Contains(t, g.Stderr.String(), "GATEHOUSE_REDIS_ADDR")
	require.Contains(t, g.Stderr.String(), "redis:6379")
	require.NotContains(t, g.Stderr.String(), redisPassword)
}
