package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

// TestTwoInstancesShareConfiguration runs two instances on one database
// (PostgreSQL when GATEHOUSE_TEST_POSTGRES_DSN is set, else one SQLite file)
// and one Redis: a change made on A serves on B within a second (pub/sub),
// and still arrives by polling when Redis is gone.
func TestTwoInstancesShareConfiguration(t *testing.T) {
	t.Logf("shared database on PostgreSQL: %v", testenv.UsesPostgres())
	redis := testenv.StartRedis(t)
	_, b, api := startPair(t, redis)
	one := backend(t, "one")

	require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/services", map[string]any{"name": "one", "endpoints": []map[string]any{{"url": one.URL}}}, nil).StatusCode)
	start := time.Now()
	require.Equal(t, http.StatusCreated, api.Do(t, "POST", "/routes", map[string]any{"name": "one", "path": map[string]string{"type": "prefix", "value": "/one"}, "service": "one"}, nil).StatusCode)
	testenv.WaitFor(t, 5*time.Second, "instance B to serve the route made on A", func() bool {
		status, _, _ := gatewayGet(t, b, "", "/one/x")
		return status == http.StatusOK
	})
	t.Logf("change on A served by B after %s", time.Since(start))
	require.Contains(t, b.Stdout.String(), `msg="configuration synced from another instance" component=control trigger=pubsub`,
		"B learned of the change through Redis pub/sub, not by polling")

	// The token of A works on B: one database, one secret.
	bapi := b.API()
	bapi.Token = api.Token
	var routes struct{ Total int }
	bapi.Do(t, "GET", "/routes", nil, &routes)
	require.Equal(t, 1, routes.Total)

	// The Redis pool and per-route counts are visible in the metrics.
	req, _ := http.NewRequest("GET", b.ConsoleURL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+api.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Contains(t, string(metrics), "gatehouse_redis_pool_connections ")
	require.Contains(t, string(metrics), `gatehouse_gateway_requests_total{route="one"`)

	// Redis settings saved on A are applied by B too.
	require.Equal(t, http.StatusOK, api.Do(t, "PUT", "/settings/redis", map[string]any{"mode": "standalone", "addresses": []string{redis.Addr}, "db": 1}, nil).StatusCode)
	testenv.WaitFor(t, 10*time.Second, "instance B to apply the Redis settings saved on A", func() bool {
		return strings.Contains(b.Stdout.String(), "redis settings changed by another instance applied")
	})
	require.Contains(t, b.Stdout.String(), "db=1")

	// Without Redis, polling still carries the change over.
	redis.Stop()
	require.Equal(t, http.StatusNoContent, api.Do(t, "DELETE", "/routes/one", nil, nil).StatusCode)
	testenv.WaitFor(t, 10*time.Second, "instance B to drop the deleted route by polling", func() bool {
		status, _, _ := gatewayGet(t, b, "", "/one/x")
		return status == http.StatusNotFound
	})
	// The table is swapped before the sync is logged: wait for the line.
	testenv.WaitFor(t, 5*time.Second, "instance B to log the sync by polling", func() bool {
		return strings.Contains(b.Stdout.String(), "trigger=poll")
	})
}

// startPair starts two gatehouse instances on one database
// (testenv.SharedDatabase) and one Redis, and logs in on A; both accept
// A's token.
func startPair(t *testing.T, redis *testenv.Redis) (a, b *testenv.Gatehouse, api *testenv.Client) {
	t.Helper()
	env := append(bootstrapEnv(), "GATEHOUSE_DATABASE="+testenv.SharedDatabase(t), "GATEHOUSE_REDIS_ADDR="+redis.Addr,
		"GATEHOUSE_JWT_SECRET=shared-secret-for-both-instances-0123456789")
	a = testenv.StartGatehouse(t, testenv.Options{Env: append(env, "GATEHOUSE_INSTANCE_ID=a")})
	b = testenv.StartGatehouse(t, testenv.Options{Env: append(env, "GATEHOUSE_INSTANCE_ID=b")})
	return a, b, a.Login(t, adminUser, adminPass)
}
