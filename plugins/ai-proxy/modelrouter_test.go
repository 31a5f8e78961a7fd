package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/aiwire"
)

// doAs sends a chat request as model-router leaves it: the provider of a
// "provider/model" name in the context, the model without it.
func (g *gw) doAs(provider, path, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r = r.WithContext(aiwire.WithProvider(r.Context(), provider))
	rec := httptest.NewRecorder()
	g.h.ServeHTTP(rec, r)
	return rec
}

func TestProviderPickedByModelRouterChoosesTheUpstream(t *testing.T) {
	fa, fb, fc := newFake(t), newFake(t), newFake(t)
	g := newGWs(t,
		`{"providers":[{"id":"openai-1","type":"openai","apiTokens":["k"],"endpoint":`+quote(fa.URL)+`},{"id":"claude-1","type":"claude","apiTokens":["k"],"endpoint":`+quote(fb.URL)+`}],
		  "upstreams":[{"provider":"openai-1","weight":90},{"provider":"claude-1","weight":10,"modelMapping":{"*":"claude-x"}}],"routeName":"one"}`,
		`{"provider":{"id":"deepseek-1","type":"deepseek","apiTokens":["k"],"endpoint":`+quote(fc.URL)+`},"routeName":"two"}`)

	for range 5 {
		require.Equal(t, 200, g.doAs("claude-1", "/v1/chat/completions", chatBody).Code)
	}
	require.Empty(t, fa.requests(), "the weights are not asked: the client named its provider")
	require.Len(t, fb.requests(), 5)
	require.Equal(t, "claude-x", fb.last(t).Body["model"], "the upstream's model mapping still applies")

	require.Equal(t, 200, g.doAs("claude", "/v1/chat/completions", chatBody).Code, "a provider type names it too")
	require.Len(t, fb.requests(), 6)

	require.Equal(t, 200, g.doAs("deepseek-1", "/v1/chat/completions", chatBody).Code)
	require.Len(t, fc.requests(), 1, "a route without the provider passes the request to the next route")

	rec := g.doAs("mistral", "/v1/messages", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`)
	require.Equal(t, 404, rec.Code)
	require.Contains(t, rec.Body.String(), `model \"m\" of provider \"mistral\" is not offered on this path`)
	require.Contains(t, rec.Body.String(), `"type":"error"`, "in the client's (Anthropic) shape")
	require.Empty(t, fa.requests())
}
