package admin

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// Sessions, first run, throttling and the 401 wall (moved from
// server/e2e/foundation_test.go and redis_test.go).

func loginAs(user, pw string) map[string]string {
	return map[string]string{"username": user, "password": pw}
}

func TestScenariosSession(t *testing.T) {
	runScenarios(t, []apiScenario{
		{
			Name: "status says initialized once an administrator exists", Method: "GET", URL: "/api/v1/auth/status",
			ExpectedStatus: 200, ExpectedContent: []string{`"initialized":true`},
		},
		{
			Name: "init after the first administrator is a conflict", Method: "POST", URL: "/api/v1/auth/init",
			Body:           loginAs("intruder", "whatever-long"),
			ExpectedStatus: 409, ExpectedCode: "already_initialized",
			AfterTestFunc: func(t *testing.T, app *testApp, _ *httptest.ResponseRecorder) {
				app.mustCall(401, "POST", "/api/v1/auth/login", "", loginAs("intruder", "whatever-long"))
			},
		},
		{
			Name: "a wrong password is refused", Method: "POST", URL: "/api/v1/auth/login",
			Body:           loginAs(scenarioUser, "wrong-password"),
			ExpectedStatus: 401, ExpectedCode: "invalid_credentials",
			NotExpectedContent: []string{"wrong-password"},
		},
		{
			Name: "login answers a token and sets an httpOnly strict session cookie", Method: "POST", URL: "/api/v1/auth/login",
			Body:           loginAs(scenarioUser, scenarioPass),
			ExpectedStatus: 200, ExpectedContent: []string{`"token":"`, `"username":"admin"`},
			NotExpectedContent: []string{scenarioPass},
			AfterTestFunc: func(t *testing.T, app *testApp, res *httptest.ResponseRecorder) {
				var login struct {
					Token string
					User  struct{ Username string }
				}
				decode(t, res, &login)
				require.NotEmpty(t, login.Token)
				var cookie *http.Cookie
				for _, c := range res.Result().Cookies() {
					if c.Name == "gatehouse_session" {
						cookie = c
					}
				}
				require.NotNil(t, cookie, "login sets the console's session cookie")
				require.True(t, cookie.HttpOnly, "the session cookie is httpOnly")
				require.Equal(t, http.SameSiteStrictMode, cookie.SameSite)
				app.mustCall(200, "GET", "/api/v1/auth/me", login.Token, nil)
			},
		},
		{
			Name: "the session cookie alone authenticates", Method: "GET", URL: "/api/v1/auth/me",
			BeforeTestFunc: func(t *testing.T, app *testApp, req *http.Request) {
				res := app.mustCall(200, "POST", "/api/v1/auth/login", "", loginAs(scenarioUser, scenarioPass))
				for _, c := range res.Result().Cookies() {
					req.AddCookie(c)
				}
			},
			ExpectedStatus: 200, ExpectedContent: []string{`"username":"admin"`},
		},
		{
			Name: "me answers the token's user", Method: "GET", URL: "/api/v1/auth/me", Auth: authSession,
			ExpectedStatus: 200, ExpectedContent: []string{`"username":"admin"`},
		},
		{
			Name: "a short new password is refused, naming the field, and changes nothing", Method: "PUT", URL: "/api/v1/users/me/password",
			Auth: authSession, Body: map[string]string{"currentPassword": scenarioPass, "newPassword": "short"},
			ExpectedStatus: 400, ExpectedFields: []string{"newPassword"},
			AfterTestFunc: func(t *testing.T, app *testApp, _ *httptest.ResponseRecorder) {
				app.mustCall(200, "GET", "/api/v1/auth/me", app.token, nil)
				app.mustCall(200, "POST", "/api/v1/auth/login", "", loginAs(scenarioUser, scenarioPass))
			},
		},
		{
			Name: "changing the password ends the sessions issued under the old one", Method: "PUT", URL: "/api/v1/users/me/password",
			Auth: authSession, Body: map[string]string{"currentPassword": scenarioPass, "newPassword": "a-new-long-password"},
			ExpectedStatus: 204,
			AfterTestFunc: func(t *testing.T, app *testApp, _ *httptest.ResponseRecorder) {
				res := app.mustCall(401, "GET", "/api/v1/auth/me", app.token, nil)
				require.Contains(t, res.Body.String(), `"code":"unauthorized"`)
				app.mustCall(401, "POST", "/api/v1/auth/login", "", loginAs(scenarioUser, scenarioPass))
				app.mustCall(200, "POST", "/api/v1/auth/login", "", loginAs(scenarioUser, "a-new-long-password"))
			},
		},
	})
}

func TestScenariosFirstRun(t *testing.T) {
	firstRun := appOptions{NoAdmin: true}
	runScenarios(t, []apiScenario{
		{
			Name: "status asks for an administrator", Method: "GET", URL: "/api/v1/auth/status", App: firstRun,
			ExpectedStatus: 200, ExpectedContent: []string{`"initialized":false`},
		},
		{
			Name: "init names every invalid field at once", Method: "POST", URL: "/api/v1/auth/init", App: firstRun,
			Body:           loginAs("", "x"),
			ExpectedStatus: 400, ExpectedFields: []string{"username", "password"},
			AfterTestFunc: func(t *testing.T, app *testApp, _ *httptest.ResponseRecorder) {
				res := app.mustCall(200, "GET", "/api/v1/auth/status", "", nil)
				require.Contains(t, res.Body.String(), `"initialized":false`, "a refused init creates nobody")
			},
		},
		{
			Name: "init creates the administrator once", Method: "POST", URL: "/api/v1/auth/init", App: firstRun,
			Body:           loginAs("root", "long-enough-pw"),
			ExpectedStatus: 201,
			AfterTestFunc: func(t *testing.T, app *testApp, _ *httptest.ResponseRecorder) {
				app.mustCall(409, "POST", "/api/v1/auth/init", "", loginAs("root2", "long-enough-pw"))
				app.mustCall(200, "POST", "/api/v1/auth/login", "", loginAs("root", "long-enough-pw"))
			},
		},
	})
}

func TestScenariosLoginThrottle(t *testing.T) {
	runScenarios(t, []apiScenario{{
		Name: "even the right password waits once the address is throttled", Method: "POST", URL: "/api/v1/auth/login",
		Body: loginAs(scenarioUser, scenarioPass),
		BeforeTestFunc: func(t *testing.T, app *testApp, _ *http.Request) {
			for range 5 {
				app.mustCall(401, "POST", "/api/v1/auth/login", "", loginAs(scenarioUser, "nope-nope"))
			}
		},
		ExpectedStatus: 429, ExpectedCode: "too_many_attempts",
		AfterTestFunc: func(t *testing.T, _ *testApp, res *httptest.ResponseRecorder) {
			require.NotEmpty(t, res.Header().Get("Retry-After"))
		},
	}})
}

func TestScenariosProtectedEndpointsAnswer401(t *testing.T) {
	var scenarios []apiScenario
	for _, ep := range []struct{ method, path string }{
		{"GET", "/api/v1/auth/me"}, {"POST", "/api/v1/auth/logout"}, {"PUT", "/api/v1/users/me/password"},
		{"GET", "/api/v1/health"}, {"GET", "/api/v1/logs/gateway"}, {"GET", "/api/v1/logs/gateway/stream"},
		{"GET", "/api/v1/plugins"}, {"PUT", "/api/v1/plugins/mcp-server"},
		{"GET", "/api/v1/settings/redis"}, {"PUT", "/api/v1/settings/redis"}, {"POST", "/api/v1/settings/redis/test"},
		{"GET", "/metrics"},
	} {
		sc := apiScenario{Name: ep.method + " " + ep.path, Method: ep.method, URL: ep.path, ExpectedStatus: 401}
		if ep.method != "GET" {
			sc.Body = map[string]any{}
		}
		if ep.path != "/metrics" {
			sc.ExpectedCode = "unauthorized"
		}
		scenarios = append(scenarios, sc)
	}
	scenarios = append(scenarios, apiScenario{
		Name: "a token that is not a token", Method: "GET", URL: "/api/v1/auth/me",
		Headers:        map[string]string{"Authorization": "Bearer not-a-token"},
		ExpectedStatus: 401, ExpectedCode: "unauthorized",
	})
	runScenarios(t, scenarios)
}
