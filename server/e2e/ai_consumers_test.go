package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
	"github.com/gatehouse-dev/gatehouse/tests/llmstandin"
)

// Consumers through the real binary: a generated key works on an AI route,
// keys rotate while requests keep flowing without one failing, a revoked
// and an expired key are refused, and no answer shows a key or its digest.
func TestConsumerKeysRotateAndExpire(t *testing.T) {
	const tok = "sk-consumers-provider-0001"
	_, standinURL := newStandin(t, llmstandin.Options{Keys: []string{tok}})
	g := testenv.StartGatehouse(t, testenv.Options{Env: bootstrapEnv()})
	api := g.Login(t, adminUser, adminPass)

	var cons struct {
		Credentials []struct{ ID, Key string }
	}
	resp := api.Do(t, "POST", "/consumers", map[string]any{"name": "team-x"}, &cons)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Len(t, cons.Credentials, 1)
	oldKey, oldID := cons.Credentials[0].Key, cons.Credentials[0].ID
	require.True(t, strings.HasPrefix(oldKey, "gh-"), "the generated key is shown once")
	create(t, api, "/llm-providers", aiProviderSpec{Name: "openai", Type: "openai", Endpoint: standinURL, Tokens: []string{tok}}.object())
	create(t, api, "/ai-routes", aiRouteSpec{Name: "chat", Upstreams: []aiUpstreamSpec{{Provider: "openai", Weight: 100}}, AllowedConsumers: []string{"team-x"}}.object())

	chat := func(key string) (int, string) {
		body, _ := json.Marshal(openAIChatRequest("gpt-4o", "hello"))
		req, _ := http.NewRequest("POST", g.GatewayURL+"/ai/chat/v1/chat/completions", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := chat(oldKey)
	require.Equal(t, http.StatusOK, code, body)

	// A client hammers the route and switches keys when told; not one
	// request fails while the new key is added and the old one revoked.
	var current atomic.Value
	current.Store(oldKey)
	var failures, served atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if code, _ := chat(current.Load().(string)); code != http.StatusOK {
				failures.Add(1)
			} else {
				served.Add(1)
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	var added struct{ ID, Key string }
	resp = api.Do(t, "POST", "/consumers/team-x/keys", nil, &added)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.NotEqual(t, oldKey, added.Key)
	time.Sleep(200 * time.Millisecond)
	current.Store(added.Key)
	time.Sleep(200 * time.Millisecond)
	resp = api.Do(t, "DELETE", "/consumers/team-x/keys/"+oldID, nil, nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	require.Zero(t, failures.Load(), "no request failed during the rotation (%d served)", served.Load())
	require.Greater(t, served.Load(), int64(10))

	code, body = chat(oldKey)
	require.Equal(t, http.StatusUnauthorized, code, "the revoked key is refused: %s", body)

	// An expired key is refused, saying so and nothing more.
	expKey := "gh-expired-key-0123456789abcdef0123456789"
	resp = api.Do(t, "POST", "/consumers/team-x/keys", map[string]any{"key": expKey, "expiresAt": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}, nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	code, body = chat(expKey)
	require.Equal(t, http.StatusUnauthorized, code)
	require.Contains(t, body, "expired")
	require.NotContains(t, body, "team-x")

	// Bad input names the field and changes nothing.
	var e apiErr
	resp = api.Do(t, "POST", "/consumers", map[string]any{"name": "team-y", "budget": map[string]any{"usd": 5, "period": "week"}}, &e)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp = api.Do(t, "GET", "/consumers/team-y", nil, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	for _, p := range []string{"/consumers", "/consumers/team-x", "/revisions", "/plugin-instances", "/routes"} {
		resp := api.Do(t, "GET", p, nil, nil)
		text := readAll(t, resp)
		requireNoSecret(t, "GET "+p, text, []string{oldKey, added.Key, expKey})
	}
	requireNoSecret(t, "gatehouse's stdout", g.Stdout.String(), []string{oldKey, added.Key, expKey})
	requireNoSecret(t, "gatehouse's stderr", g.Stderr.String(), []string{oldKey, added.Key, expKey})

	// Model prices are seeded on first start.
	var prices struct{ Total int }
	api.Do(t, "GET", "/model-prices", nil, &prices)
	require.Positive(t, prices.Total)
}
