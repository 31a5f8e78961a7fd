package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse-dev/gatehouse/server/internal/control"
	"github.com/gatehouse-dev/gatehouse/server/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/server/internal/health"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// The in-process scenario harness: the real admin handler on the real
// control and a real SQLite store in a temporary directory, driven through
// httptest without a listener. It is the fast home of the admin API's
// request/response behaviour; server/e2e keeps what needs the real process
// (startup, plugin loading, gateway traffic, several instances, shutdown,
// Redis failover, the browser). PocketBase's tests.ApiScenario is the model.
//
// Plugins are the in-process stand-ins of ai_test.go (fakePlugins,
// acceptAll): the real *.so artifacts cannot be opened inside a -race test
// binary (see server/internal/pluginhost/e2e_test.go), so cases that need a
// real plugin's validation or traffic stay in server/e2e.

const (
	scenarioUser = "admin"
	scenarioPass = "correct-horse-battery"
)

// testApp is one admin server with everything behind it. Scenarios reach
// the parts through it in their Before/After functions.
type testApp struct {
	t     *testing.T
	s     *Server
	ctl   *control.Control
	gw    *gateway.Gateway // the data plane the control serves
	st    *store.Store
	user  *store.User
	logs  *syncBuffer
	token string // a session token of scenarioUser, valid for an hour
	// apiToken is the API token a scenario's Before function created.
	apiToken apiToken
}

// syncBuffer is the process log of a testApp; scenarios search it for
// secrets.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// appOptions change what newTestApp builds.
type appOptions struct {
	// NoAdmin leaves the store without an administrator (first run).
	NoAdmin bool
}

// newTestApp is the ONE place that wires the harness; when admin.New,
// control.New or their options change, only this function changes.
func newTestApp(t *testing.T, o appOptions) *testApp {
	t.Helper()
	ctx := context.Background()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "gatehouse.db"), log)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	reg := prometheus.NewRegistry()
	gw := gateway.New(log, reg)
	t.Cleanup(gw.Close)
	ctl := control.New(control.Options{Store: st, Gateway: gw, Logger: log,
		Plugins: fakePlugins{
			"key-auth": acceptAll{"key-auth"}, "cors": acceptAll{"cors"},
			"ai-proxy": acceptAll{"ai-proxy"},
		},
		Host: func(string) pluginapi.Host { return nil }})
	require.NoError(t, ctl.Load(ctx))
	s, err := New(Options{
		Store: st, Logger: log, JWTSecret: []byte("0123456789abcdef0123456789abcdef"), JWTLifetime: time.Hour,
		LogFile: filepath.Join(dir, "gateway.log"), Health: health.NewChecker("test"),
		Plugins: noPlugins{}, Registry: reg, Config: ctl,
	})
	require.NoError(t, err)
	t.Cleanup(s.EndStreams)
	a := &testApp{t: t, s: s, ctl: ctl, gw: gw, st: st, logs: logs}
	if !o.NoAdmin {
		// The lowest cost keeps the logins of the scenarios fast.
		hash, err := bcrypt.GenerateFromPassword([]byte(scenarioPass), bcrypt.MinCost)
		require.NoError(t, err)
		a.user, err = st.CreateFirstUser(ctx, scenarioUser, string(hash))
		require.NoError(t, err)
		a.token, err = s.issueToken(a.user, time.Now().Add(time.Hour))
		require.NoError(t, err)
	}
	return a
}

// call sends one request with a bearer token (none when token is "") and
// returns the recorded answer. Steps of a Before function use it.
func (a *testApp) call(method, url, token string, body any) *httptest.ResponseRecorder {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			r = strings.NewReader(b)
		default:
			data, err := json.Marshal(b)
			require.NoError(a.t, err)
			r = bytes.NewReader(data)
		}
	}
	req := httptest.NewRequest(method, url, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	a.s.Handler().ServeHTTP(rec, req)
	return rec
}

// through sends a request through the gateway (the data plane) and
// returns its status and body.
func (a *testApp) through(method, url string) (int, string) {
	a.t.Helper()
	rec := httptest.NewRecorder()
	a.gw.ServeHTTP(rec, httptest.NewRequest(method, url, nil))
	return rec.Code, rec.Body.String()
}

// mustCall is call that requires the status want.
func (a *testApp) mustCall(want int, method, url, token string, body any) *httptest.ResponseRecorder {
	a.t.Helper()
	rec := a.call(method, url, token, body)
	require.Equal(a.t, want, rec.Code, "%s %s: %s", method, url, rec.Body.String())
	return rec
}

// scenarioAuth says how a scenario's request authenticates.
type scenarioAuth int

const (
	authNone    scenarioAuth = iota // no credentials
	authSession                     // the administrator's session token (Bearer)
)

// apiScenario is one request against a fresh testApp and what its answer
// must show.
type apiScenario struct {
	Name   string
	Method string
	URL    string
	// Body is sent as application/json unless Headers set another type; a
	// string is sent as it is, anything else is JSON-encoded.
	Body    any
	Headers map[string]string
	Auth    scenarioAuth
	// RemoteAddr is the client's address (httptest's 192.0.2.1:1234 if "").
	RemoteAddr string
	App        appOptions

	// BeforeTestFunc prepares the app and may change the request (a token
	// it created, say).
	BeforeTestFunc func(t *testing.T, app *testApp, req *http.Request)

	ExpectedStatus int
	// ExpectedCode is the error's "code" in the JSON error body.
	ExpectedCode string
	// ExpectedFields are the error's details[].field, all of them, in any
	// order.
	ExpectedFields []string
	// ExpectedContent are substrings of the body; NotExpectedContent must
	// not appear in the body, its headers, nor the process log.
	ExpectedContent    []string
	NotExpectedContent []string
	ExpectedHeaders    map[string]string // header → substring of its value

	// AfterTestFunc checks what the answer left behind.
	AfterTestFunc func(t *testing.T, app *testApp, res *httptest.ResponseRecorder)
}

// Test runs the scenario in its own subtest on its own app.
func (sc apiScenario) Test(t *testing.T) {
	t.Helper()
	t.Run(sc.Name, func(t *testing.T) {
		t.Parallel()
		app := newTestApp(t, sc.App)
		var body io.Reader
		switch b := sc.Body.(type) {
		case nil:
		case string:
			body = strings.NewReader(b)
		default:
			data, err := json.Marshal(b)
			require.NoError(t, err)
			body = bytes.NewReader(data)
		}
		req := httptest.NewRequest(sc.Method, sc.URL, body)
		if sc.Body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if sc.RemoteAddr != "" {
			req.RemoteAddr = sc.RemoteAddr
		}
		if sc.Auth == authSession {
			req.Header.Set("Authorization", "Bearer "+app.token)
		}
		for k, v := range sc.Headers {
			req.Header.Set(k, v)
		}
		if sc.BeforeTestFunc != nil {
			sc.BeforeTestFunc(t, app, req)
		}
		res := httptest.NewRecorder()
		app.s.Handler().ServeHTTP(res, req)
		got := res.Body.String()

		require.Equal(t, sc.ExpectedStatus, res.Code, "status of %s %s: %s", sc.Method, sc.URL, got)
		if sc.ExpectedCode != "" || sc.ExpectedFields != nil {
			var e struct {
				Error struct {
					Code    string
					Details []struct{ Field, Message string }
				}
			}
			require.NoError(t, json.Unmarshal(res.Body.Bytes(), &e), got)
			if sc.ExpectedCode != "" {
				require.Equal(t, sc.ExpectedCode, e.Error.Code, got)
			}
			if sc.ExpectedFields != nil {
				fields := []string{}
				for _, d := range e.Error.Details {
					fields = append(fields, d.Field)
				}
				require.ElementsMatch(t, sc.ExpectedFields, fields, "the error names every invalid field: %s", got)
			}
		}
		for _, s := range sc.ExpectedContent {
			require.Contains(t, got, s)
		}
		headers, _ := json.Marshal(res.Header())
		for _, s := range sc.NotExpectedContent {
			require.NotContains(t, got, s)
			require.NotContains(t, string(headers), s)
			require.NotContains(t, app.logs.String(), s, "the log never shows it")
		}
		for k, v := range sc.ExpectedHeaders {
			require.Contains(t, res.Header().Get(k), v, "header %s", k)
		}
		if sc.AfterTestFunc != nil {
			sc.AfterTestFunc(t, app, res)
		}
	})
}

// runScenarios runs a table.
func runScenarios(t *testing.T, scenarios []apiScenario) {
	t.Helper()
	for _, sc := range scenarios {
		sc.Test(t)
	}
}

// decode reads a JSON answer into v.
func decode(t *testing.T, res *httptest.ResponseRecorder, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(res.Body.Bytes(), v), res.Body.String())
}
