package admin

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// API tokens: scoped, shown once, revocable (moved from
// server/e2e/tokens_test.go).

// apiToken is POST /tokens' answer.
type apiToken struct {
	ID     int64
	Token  string
	Prefix string
	Scope  string
}

// createToken creates an API token of scope with the administrator's
// session.
func (a *testApp) createToken(scope string) apiToken {
	a.t.Helper()
	res := a.mustCall(201, "POST", "/api/v1/tokens", a.token, map[string]string{"name": scope + "-token", "scope": scope})
	var tok apiToken
	decode(a.t, res, &tok)
	return tok
}

// withToken makes a scenario's request carry a new API token of scope
// (kept in app.apiToken).
func withToken(scope string) func(*testing.T, *testApp, *http.Request) {
	return func(_ *testing.T, app *testApp, req *http.Request) {
		app.apiToken = app.createToken(scope)
		req.Header.Set("Authorization", "Bearer "+app.apiToken.Token)
	}
}

// noTokenInLog checks that the process log never showed the request's
// token.
func noTokenInLog(t *testing.T, app *testApp, _ *httptest.ResponseRecorder) {
	require.NotContains(t, app.logs.String(), app.apiToken.Token)
}

var someService = map[string]any{"name": "x", "endpoints": []map[string]any{{"url": "http://127.0.0.1:1"}}}

func TestScenariosAPITokens(t *testing.T) {
	var created, revoked apiToken // each is used by one scenario
	runScenarios(t, []apiScenario{
		{
			Name: "a bad token request names name, scope and expiresIn", Method: "POST", URL: "/api/v1/tokens", Auth: authSession,
			Body:           map[string]string{"name": "", "scope": "root", "expiresIn": "1s"},
			ExpectedStatus: 400, ExpectedCode: "token_invalid", ExpectedFields: []string{"name", "scope", "expiresIn"},
			AfterTestFunc: func(t *testing.T, app *testApp, _ *httptest.ResponseRecorder) {
				res := app.mustCall(200, "GET", "/api/v1/tokens", app.token, nil)
				require.Contains(t, res.Body.String(), `"total":0`, "nothing refused was stored")
			},
		},
		{
			Name: "a token is shown once at creation, never listed", Method: "POST", URL: "/api/v1/tokens", Auth: authSession,
			Body:           map[string]string{"name": "ci", "scope": "write", "expiresIn": "720h"},
			ExpectedStatus: 201, ExpectedContent: []string{`"token":"ght_`, `"scope":"write"`},
			AfterTestFunc: func(t *testing.T, app *testApp, res *httptest.ResponseRecorder) {
				decode(t, res, &created)
				require.True(t, strings.HasPrefix(created.Token, created.Prefix))
				app.createToken("read")
				list := app.mustCall(200, "GET", "/api/v1/tokens", app.token, nil).Body.String()
				require.Contains(t, list, `"total":2`)
				require.Contains(t, list, created.Prefix)
				require.NotContains(t, list, created.Token[len(created.Prefix):], "a token is shown once, never listed")
				require.NotContains(t, app.logs.String(), created.Token)
			},
		},
		{
			Name: "a read token reads", Method: "GET", URL: "/api/v1/routes",
			BeforeTestFunc: withToken("read"), ExpectedStatus: 200,
		},
		{
			Name: "a read token cannot write", Method: "POST", URL: "/api/v1/services", Body: someService,
			BeforeTestFunc: withToken("read"),
			ExpectedStatus: 403, ExpectedCode: "insufficient_scope",
			AfterTestFunc: noTokenInLog,
		},
		{
			Name: "a write token writes", Method: "POST", URL: "/api/v1/services", Body: someService,
			BeforeTestFunc: withToken("write"), ExpectedStatus: 201,
			AfterTestFunc: noTokenInLog,
		},
		{
			Name: "a token cannot mint tokens", Method: "POST", URL: "/api/v1/tokens",
			Body:           map[string]string{"name": "more", "scope": "write"},
			BeforeTestFunc: withToken("write"),
			ExpectedStatus: 403, ExpectedCode: "session_required",
		},
		{
			Name: "a token cannot change the password", Method: "PUT", URL: "/api/v1/users/me/password",
			Body:           map[string]string{"currentPassword": scenarioPass, "newPassword": "whatever-long"},
			BeforeTestFunc: withToken("write"),
			ExpectedStatus: 403,
			AfterTestFunc: func(t *testing.T, app *testApp, _ *httptest.ResponseRecorder) {
				app.mustCall(200, "POST", "/api/v1/auth/login", "", loginAs(scenarioUser, scenarioPass))
			},
		},
		{
			Name: "a revoked token stops working at once", Method: "DELETE", Auth: authSession,
			BeforeTestFunc: func(t *testing.T, app *testApp, req *http.Request) {
				revoked = app.createToken("read")
				app.mustCall(200, "GET", "/api/v1/routes", revoked.Token, nil)
				req.URL.Path = "/api/v1/tokens/" + strconv.FormatInt(revoked.ID, 10)
			},
			URL:            "/api/v1/tokens/0",
			ExpectedStatus: 204,
			AfterTestFunc: func(t *testing.T, app *testApp, _ *httptest.ResponseRecorder) {
				app.mustCall(401, "GET", "/api/v1/routes", revoked.Token, nil)
			},
		},
	})
}
