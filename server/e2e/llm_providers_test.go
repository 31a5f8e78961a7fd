package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

// LLM providers through the real binary: the configuration file, masked
// tokens in every answer, the provider test from the console process, and
// export → apply on a fresh instance (docs/ai-gateway.md).
func TestLLMProvidersFileAdminTestAndExport(t *testing.T) {
	const token = "sk-e2e-provider-token-5f1c9a"
	var sawToken atomic.Bool
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/models" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":{"message":"bad key"}}`)
			return
		}
		sawToken.Store(true)
		_, _ = io.WriteString(w, `{"object":"list","data":[{"id":"model-a"},{"id":"model-b"}]}`)
	}))
	t.Cleanup(provider.Close)

	file := filepath.Join(t.TempDir(), "gatehouse.yaml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`llmProviders:
  - name: local-1
    type: vllm
    tokens: [%s]
    endpoint: %s
    tokenFailoverConfig: {enabled: true, failureThreshold: 2, healthCheckModel: model-a}
    rawConfigs: {timeout: 60000}
`, token, provider.URL)), 0o644))
	g := testenv.StartGatehouse(t, testenv.Options{Env: append(bootstrapEnv(), "GATEHOUSE_CONFIG_FILE="+file)})
	api := g.Login(t, adminUser, adminPass)
	a := &secAdmin{api: api}

	var got struct {
		Name    string   `json:"name"`
		Tokens  []string `json:"tokens"`
		Version int64    `json:"version"`
	}
	require.Equal(t, http.StatusOK, a.do(t, "GET", "/llm-providers/local-1", nil, &got))
	require.Equal(t, []string{secMask}, got.Tokens)

	var res struct {
		OK        bool     `json:"ok"`
		Diagnosis string   `json:"diagnosis"`
		Models    []string `json:"models"`
	}
	require.Equal(t, http.StatusOK, a.do(t, "POST", "/llm-providers/local-1/test", map[string]any{}, &res))
	require.True(t, res.OK, res.Diagnosis)
	require.Equal(t, []string{"model-a", "model-b"}, res.Models)
	require.True(t, sawToken.Load(), "the stored token was sent to the provider")

	// An edit that keeps the mask keeps the token; a new endpoint needs it again.
	require.Equal(t, http.StatusOK, a.do(t, "PUT", "/llm-providers/local-1", map[string]any{
		"type": "vllm", "tokens": []string{secMask, "sk-e2e-second-token-77"}, "endpoint": provider.URL, "version": got.Version}, nil))
	var refused apiErr
	require.Equal(t, http.StatusBadRequest, a.do(t, "PUT", "/llm-providers/local-1", map[string]any{
		"type": "vllm", "tokens": []string{secMask}, "endpoint": "http://127.0.0.1:1", "version": got.Version + 1}, &refused))
	require.Equal(t, "llm_provider_invalid", refused.Error.Code)
	require.Equal(t, "tokens[0]", refused.Error.Details[0].Field)
	require.Equal(t, http.StatusOK, a.do(t, "GET", "/revisions", nil, nil))
	require.Equal(t, http.StatusOK, a.do(t, "GET", "/llm-providers", nil, nil))
	for _, b := range a.bodies {
		require.NotContains(t, b, token)
		require.NotContains(t, b, "sk-e2e-second-token-77")
	}
	require.NotContains(t, g.Stdout.String()+g.Stderr.String(), token, "the token is never logged")

	// Export holds the real tokens; applied on a fresh instance it serves
	// the same provider, and applying it again changes nothing.
	bin := filepath.Join(testenv.BuildDir(t), "gatehouse")
	export := exec.Command(bin, "config", "export", "--data-dir", g.DataDir)
	export.Env = os.Environ()
	out, err := export.Output()
	require.NoError(t, err)
	require.Contains(t, string(out), "llmProviders:")
	require.Contains(t, string(out), token)
	exported := filepath.Join(t.TempDir(), "exported.yaml")
	require.NoError(t, os.WriteFile(exported, out, 0o644))
	fresh := t.TempDir()
	for i, want := range []string{"1 objects changed", "0 objects changed"} {
		apply := exec.Command(bin, "config", "apply", "-f", exported, "--data-dir", fresh, "--plugin-dir", filepath.Join(testenv.BuildDir(t), "plugins"))
		msg, err := apply.CombinedOutput()
		require.NoError(t, err, string(msg))
		require.Contains(t, string(msg), want, "apply #%d", i+1)
	}
	again := exec.Command(bin, "config", "export", "--data-dir", fresh)
	again.Env = os.Environ()
	out2, err := again.Output()
	require.NoError(t, err)
	require.Equal(t, withoutVersions(string(out)), withoutVersions(string(out2)))
}

// withoutVersions drops the "version:" lines of an export: a fresh
// database numbers from 1.
func withoutVersions(doc string) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(doc), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "version:") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
