package admin

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// Configuration objects: refused changes name their fields and change
// nothing, optimistic concurrency, revisions and rollback (moved from
// server/e2e/dataplane_test.go; the e2e test keeps the traffic through the
// real process).

// withEcho gives the app a backend, a service "echo" on it and a route
// "echo" on /echo, and checks that the gateway serves it.
func withEcho(t *testing.T, app *testApp) {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "echo "+r.URL.Path)
	}))
	t.Cleanup(backend.Close)
	app.mustCall(201, "POST", "/api/v1/services", app.token, map[string]any{"name": "echo", "endpoints": []map[string]any{{"url": backend.URL, "weight": 1}}})
	app.mustCall(201, "POST", "/api/v1/routes", app.token, map[string]any{"name": "echo", "path": map[string]string{"type": "prefix", "value": "/echo"}, "service": "echo"})
	status, body := app.through("GET", "/echo/hi")
	require.Equal(t, 200, status, body)
	require.Equal(t, "echo /echo/hi", body)
}

// echoStillServes checks that the stored configuration is what withEcho
// left.
func echoStillServes(t *testing.T, app *testApp, _ *httptest.ResponseRecorder) {
	t.Helper()
	res := app.mustCall(200, "GET", "/api/v1/routes", app.token, nil)
	require.Contains(t, res.Body.String(), `"total":1`, "nothing refused was stored")
	status, body := app.through("GET", "/echo/still")
	require.Equal(t, 200, status, "live traffic is undisturbed: %s", body)
}

func TestScenariosConfigObjects(t *testing.T) {
	before := func(t *testing.T, app *testApp, _ *http.Request) { withEcho(t, app) }
	runScenarios(t, []apiScenario{
		{
			Name: "a new service is version 1", Method: "POST", URL: "/api/v1/services", Auth: authSession,
			Body:           map[string]any{"name": "s", "endpoints": []map[string]any{{"url": "http://127.0.0.1:1"}}},
			ExpectedStatus: 201, ExpectedContent: []string{`"name":"s"`, `"version":1`},
		},
		{
			Name: "a bad regex and a missing service are both named", Method: "POST", URL: "/api/v1/routes", Auth: authSession,
			BeforeTestFunc: before,
			Body:           map[string]any{"name": "bad", "path": map[string]string{"type": "regex", "value": "/x/(["}, "service": "nope"},
			ExpectedStatus: 400, ExpectedCode: "route_invalid", ExpectedFields: []string{"path.value", "service"},
			AfterTestFunc: echoStillServes,
		},
		{
			Name: "deleting a service a route uses is refused", Method: "DELETE", URL: "/api/v1/services/echo", Auth: authSession,
			BeforeTestFunc: before,
			ExpectedStatus: 400, ExpectedContent: []string{"echo"},
			AfterTestFunc: echoStillServes,
		},
		{
			Name: "an update with the current version is the next version", Method: "PUT", URL: "/api/v1/services/echo", Auth: authSession,
			BeforeTestFunc: before,
			Body:           map[string]any{"name": "echo", "version": 1, "endpoints": []map[string]any{{"url": "http://127.0.0.1:1"}}, "timeout": "5s"},
			ExpectedStatus: 200, ExpectedContent: []string{`"version":2`, `"timeout":"5s"`},
		},
		{
			Name: "an update with a stale version is a conflict and changes nothing", Method: "PUT", URL: "/api/v1/services/echo", Auth: authSession,
			BeforeTestFunc: func(t *testing.T, app *testApp, req *http.Request) {
				before(t, app, req)
				app.mustCall(200, "PUT", "/api/v1/services/echo", app.token, map[string]any{"name": "echo", "version": 1, "endpoints": []map[string]any{{"url": "http://127.0.0.1:1"}}, "timeout": "5s"})
			},
			Body:           map[string]any{"name": "echo", "version": 1, "endpoints": []map[string]any{{"url": "http://127.0.0.1:2"}}},
			ExpectedStatus: 409, ExpectedCode: "version_conflict",
			AfterTestFunc: func(t *testing.T, app *testApp, _ *httptest.ResponseRecorder) {
				res := app.mustCall(200, "GET", "/api/v1/services/echo", app.token, nil)
				require.Contains(t, res.Body.String(), `"version":2`)
				require.NotContains(t, res.Body.String(), "127.0.0.1:2")
			},
		},
		{
			Name: "every change is a revision by its user", Method: "GET", URL: "/api/v1/revisions", Auth: authSession,
			BeforeTestFunc: before,
			ExpectedStatus: 200, ExpectedContent: []string{`"total":2`, `"user":"admin"`, `"kind":"route"`, `"kind":"service"`, `"action":"create"`},
		},
		{
			Name: "rolling back a route's creation removes it from the gateway", Method: "POST", Auth: authSession,
			URL: "/api/v1/revisions/0/rollback",
			BeforeTestFunc: func(t *testing.T, app *testApp, req *http.Request) {
				before(t, app, req)
				var revs struct {
					Items []struct {
						ID           int64
						Kind, Action string
					}
				}
				decode(t, app.mustCall(200, "GET", "/api/v1/revisions", app.token, nil), &revs)
				for _, r := range revs.Items {
					if r.Kind == "route" && r.Action == "create" {
						req.URL.Path = fmt.Sprintf("/api/v1/revisions/%d/rollback", r.ID)
					}
				}
			},
			ExpectedStatus: 200,
			AfterTestFunc: func(t *testing.T, app *testApp, _ *httptest.ResponseRecorder) {
				status, _ := app.through("GET", "/echo/hi")
				require.Equal(t, 404, status, "the rolled-back route no longer serves")
				res := app.mustCall(200, "GET", "/api/v1/routes", app.token, nil)
				require.Contains(t, res.Body.String(), `"total":0`)
			},
		},
		{
			Name: "rolling back a revision that does not exist", Method: "POST", URL: "/api/v1/revisions/999/rollback", Auth: authSession,
			ExpectedStatus: 404, ExpectedCode: "revision_not_found",
		},
	})
}
