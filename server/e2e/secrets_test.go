package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

// Secrets in configuration objects (key-auth keys, MCP server credentials)
// never leave the admin API: responses show the mask, and the mask sent
// back keeps the stored secret (server/internal/admin/secrets.go).

const (
	secMask        = "********"
	secAliceKey    = "sec-alice-key-8c1f0e6b2d9a47"
	secBobKey      = "sec-bob-key-3e7d5a1c9b0f62"
	secAliceNewKey = "sec-alice-new-key-0b4e8d2a6c"
	secSchemeCred  = "sec-scheme-credential-71d3a9"
	secConfigKey   = "sec-config-apikey-5c02e8f4"
)

// secAdmin calls the admin API and keeps every response body, so that the
// test can check at the end that no secret was in any of them.
type secAdmin struct {
	api    *testenv.Client
	bodies []string
}

func (a *secAdmin) do(t *testing.T, method, path string, body, out any) int {
	t.Helper()
	resp := a.api.Do(t, method, path, body, out)
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a.bodies = append(a.bodies, method+" "+path+" → "+string(data))
	return resp.StatusCode
}

// secUpstream answers 200 only with the MCP server's credentials: the
// scheme's default credential in X-Api-Key and server.config.apiKey (by
// the template) in X-Config-Key.
func secUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("X-Api-Key") != secSchemeCred || r.Header.Get("X-Config-Key") != secConfigKey {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"wrong credentials"}`)
			return
		}
		_, _ = io.WriteString(w, `{"weather":"sunny"}`)
	}))
	t.Cleanup(s.Close)
	return s
}

func secMCPServer(upstream string) map[string]any {
	return map[string]any{
		"server": map[string]any{
			"name":   "weather",
			"config": map[string]any{"apiKey": secConfigKey, "region": "eu"},
			"securitySchemes": []map[string]any{
				{"id": "key", "type": "apiKey", "in": "header", "name": "X-Api-Key", "defaultCredential": secSchemeCred},
			},
		},
		"tools": []map[string]any{{
			"name": "now", "description": "The weather now",
			"requestTemplate": map[string]any{
				"url": upstream + "/now", "method": "GET", "security": map[string]any{"id": "key"},
				"headers": []map[string]any{{"key": "X-Config-Key", "value": "{{.config.apiKey}}"}},
			},
		}},
	}
}

// secCallTool runs the tool through the admin API and reports whether the
// upstream accepted the credentials.
func secCallTool(t *testing.T, a *secAdmin) string {
	t.Helper()
	var res struct {
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
		IsError bool `json:"isError"`
	}
	require.Equal(t, http.StatusOK, a.do(t, "POST", "/mcp-servers/weather/tools/now/call", map[string]any{"arguments": map[string]any{}}, &res))
	require.NotEmpty(t, res.Content)
	return res.Content[0].Text
}

func TestSecretsAreMaskedInTheAdminAPIAndKeptOnWrite(t *testing.T) {
	g := testenv.StartGatehouse(t, testenv.Options{Env: bootstrapEnv()})
	a := &secAdmin{api: g.Login(t, adminUser, adminPass)}
	b := newSeenBackend(t)
	require.Equal(t, http.StatusCreated, a.do(t, "POST", "/services", map[string]any{"name": "b", "endpoints": []map[string]any{{"url": b.URL}}}, nil))
	require.Equal(t, http.StatusCreated, a.do(t, "POST", "/routes", route("api", "/api", "b"), nil))

	type consumer struct {
		Name string `json:"name"`
		Key  string `json:"key"`
	}
	type instance struct {
		Name    string         `json:"name"`
		Plugin  string         `json:"plugin"`
		Scope   map[string]any `json:"scope"`
		Config  map[string]any `json:"config"`
		Version int64          `json:"version"`
	}
	keysOf := func(in instance) []consumer {
		t.Helper()
		data, err := json.Marshal(in.Config["consumers"])
		require.NoError(t, err)
		var cs []consumer
		require.NoError(t, json.Unmarshal(data, &cs))
		return cs
	}
	status := func(key string) int {
		t.Helper()
		if key == "" {
			return gw(t, g, "GET", "/api/x").status
		}
		return gw(t, g, "GET", "/api/x", "X-Api-Key", key).status
	}

	t.Run("key-auth keys", func(t *testing.T) {
		var created instance
		require.Equal(t, http.StatusCreated, a.do(t, "POST", "/plugin-instances", pluginInstance("auth", "key-auth", "api", map[string]any{
			"consumers": []consumer{{"alice", secAliceKey}, {"bob", secBobKey}}, "keys": []string{"x-api-key"},
		}), &created))
		require.Equal(t, []consumer{{"alice", secMask}, {"bob", secMask}}, keysOf(created), "the create answer shows the mask")

		var got instance
		require.Equal(t, http.StatusOK, a.do(t, "GET", "/plugin-instances/auth", nil, &got))
		require.Equal(t, []consumer{{"alice", secMask}, {"bob", secMask}}, keysOf(got))
		require.Equal(t, []any{"x-api-key"}, got.Config["keys"], "what is not a secret is shown")
		var list struct{ Items []instance }
		require.Equal(t, http.StatusOK, a.do(t, "GET", "/plugin-instances", nil, &list))
		require.Len(t, list.Items, 1)
		require.Equal(t, []consumer{{"alice", secMask}, {"bob", secMask}}, keysOf(list.Items[0]))

		require.Equal(t, http.StatusUnauthorized, status(""))
		require.Equal(t, http.StatusOK, status(secAliceKey))

		// The console sends back what it got, with a change elsewhere.
		got.Config["realm"] = "orders"
		var updated instance
		require.Equal(t, http.StatusOK, a.do(t, "PUT", "/plugin-instances/auth", got, &updated))
		require.Equal(t, []consumer{{"alice", secMask}, {"bob", secMask}}, keysOf(updated))
		require.Equal(t, http.StatusOK, status(secAliceKey), "alice's stored key was kept")
		require.Equal(t, http.StatusOK, status(secBobKey), "bob's stored key was kept")
		require.Equal(t, http.StatusUnauthorized, status(secMask), "the mask is not a key")
		require.Contains(t, gw(t, g, "GET", "/api/x").header.Values("WWW-Authenticate"), `Key realm="orders"`, "the other change applied")

		// A new consumer cannot be given the mask: nothing is stored for it.
		var e apiErr
		withCarol := updated
		withCarol.Config["consumers"] = []consumer{{"alice", secMask}, {"bob", secMask}, {"carol", secMask}}
		require.Equal(t, http.StatusBadRequest, a.do(t, "PUT", "/plugin-instances/auth", withCarol, &e))
		require.Equal(t, "plugin_instance_invalid", e.Error.Code)
		require.Len(t, e.Error.Details, 1)
		require.Equal(t, "config.consumers[2].key", e.Error.Details[0].Field)
		require.Equal(t, http.StatusOK, status(secBobKey), "the refused change changed nothing")

		// A refused change that carries the keys does not echo them.
		bad := pluginInstance("auth", "key-auth", "api", map[string]any{
			"consumers": []consumer{{"alice", secAliceKey}, {"bob", secAliceKey}}, "inHeader": false, "inQuery": false,
		})
		e = apiErr{}
		require.Equal(t, http.StatusBadRequest, a.do(t, "PUT", "/plugin-instances/auth", bad, &e))
		require.NotEmpty(t, e.Error.Details)
		e = apiErr{}
		require.Equal(t, http.StatusBadRequest, a.do(t, "POST", "/plugin-instances", pluginInstance("auth2", "key-auth", "nope", map[string]any{
			"consumers": []consumer{{"alice", secAliceKey}},
		}), &e))

		// Alice's new key replaces the old one; bob, removed, loses access.
		var current, replaced instance
		require.Equal(t, http.StatusOK, a.do(t, "GET", "/plugin-instances/auth", nil, &current))
		current.Config["consumers"] = []consumer{{"alice", secAliceNewKey}}
		require.Equal(t, http.StatusOK, a.do(t, "PUT", "/plugin-instances/auth", current, &replaced))
		require.Equal(t, []consumer{{"alice", secMask}}, keysOf(replaced))
		require.Equal(t, http.StatusOK, status(secAliceNewKey))
		require.Equal(t, http.StatusUnauthorized, status(secAliceKey))
		require.Equal(t, http.StatusUnauthorized, status(secBobKey))
	})

	t.Run("MCP server credentials", func(t *testing.T) {
		up := secUpstream(t)
		var created map[string]any
		require.Equal(t, http.StatusCreated, a.do(t, "POST", "/mcp-servers", secMCPServer(up.URL), &created))
		server := created["server"].(map[string]any)
		require.Equal(t, map[string]any{"apiKey": secMask, "region": "eu"}, server["config"])
		require.Equal(t, secMask, server["securitySchemes"].([]any)[0].(map[string]any)["defaultCredential"])
		require.Contains(t, secCallTool(t, a), "sunny", "the upstream got both credentials")

		var got map[string]any
		require.Equal(t, http.StatusOK, a.do(t, "GET", "/mcp-servers/weather", nil, &got))
		require.Equal(t, created, got)
		var list struct{ Items []map[string]any }
		require.Equal(t, http.StatusOK, a.do(t, "GET", "/mcp-servers", nil, &list))
		require.Equal(t, []map[string]any{got}, list.Items)

		// Sent back as shown (with a new description): the credentials stay.
		got["tools"].([]any)[0].(map[string]any)["description"] = "The weather, now"
		var updated map[string]any
		require.Equal(t, http.StatusOK, a.do(t, "PUT", "/mcp-servers/weather", got, &updated))
		require.Equal(t, "The weather, now", updated["tools"].([]any)[0].(map[string]any)["description"])
		require.Contains(t, secCallTool(t, a), "sunny", "the stored credentials were kept")

		// A new server cannot be created with the mask.
		copied := secMCPServer(up.URL)
		copied["name"] = "weather-copy"
		copied["path"] = "/mcp-servers/weather-copy"
		copied["server"].(map[string]any)["securitySchemes"].([]map[string]any)[0]["defaultCredential"] = secMask
		var e apiErr
		require.Equal(t, http.StatusBadRequest, a.do(t, "POST", "/mcp-servers", copied, &e))
		require.Equal(t, "mcp_server_invalid", e.Error.Code)
		require.Equal(t, "server.securitySchemes[0].defaultCredential", e.Error.Details[0].Field)

		// A refused definition that carries the credentials does not echo them.
		bad := secMCPServer(up.URL)
		bad["tools"].([]map[string]any)[0]["requestTemplate"].(map[string]any)["method"] = "NOT A METHOD"
		e = apiErr{}
		require.Equal(t, http.StatusBadRequest, a.do(t, "PUT", "/mcp-servers/weather", bad, &e))
		require.NotEmpty(t, e.Error.Details)
		require.Contains(t, secCallTool(t, a), "sunny")
	})

	t.Run("revisions", func(t *testing.T) {
		var revs struct {
			Items []struct {
				Kind   string          `json:"kind"`
				Action string          `json:"action"`
				Before json.RawMessage `json:"before"`
				After  json.RawMessage `json:"after"`
			}
		}
		require.Equal(t, http.StatusOK, a.do(t, "GET", "/revisions?limit=500", nil, &revs))
		withSecrets := 0
		for _, r := range revs.Items {
			if r.Kind != "plugin-instance" && r.Kind != "mcp-server" {
				continue
			}
			withSecrets++
			for _, side := range []json.RawMessage{r.Before, r.After} {
				if string(side) != "null" && len(side) > 0 {
					require.Contains(t, string(side), secMask, "%s %s shows the mask in place of each secret", r.Kind, r.Action)
				}
			}
		}
		// key-auth: create, update, update; MCP server: create, update.
		require.Equal(t, 5, withSecrets)
	})

	var everything strings.Builder
	for _, body := range a.bodies {
		everything.WriteString(body + "\n")
	}
	logs, err := os.ReadFile(g.LogFile)
	require.NoError(t, err)
	require.NotEmpty(t, logs)
	for _, secret := range []string{secAliceKey, secBobKey, secAliceNewKey, secSchemeCred, secConfigKey} {
		require.NotContains(t, everything.String(), secret, "no admin API response shows a secret")
		require.NotContains(t, string(logs), secret, "no secret reaches gateway.log")
		require.NotContains(t, g.Stdout.String()+g.Stderr.String(), secret, "no secret reaches the console output")
	}

	// The operator's backup keeps the secrets: it is what restores them.
	export := exec.Command(filepath.Join(testenv.BuildDir(t), "gatehouse"), "config", "export", "--data-dir", g.DataDir)
	export.Env = os.Environ()
	out, err := export.Output()
	require.NoError(t, err)
	for _, secret := range []string{secAliceNewKey, secSchemeCred, secConfigKey} {
		require.Contains(t, string(out), secret, fmt.Sprintf("config export keeps %s", secret))
	}
}
