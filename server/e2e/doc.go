// Package e2e holds end-to-end tests: they start the real gatehouse binary
// with its real plugin artifacts (built by the Makefile; see
// testenv.BuildDir) and drive it from outside over HTTP.
//
// Only what needs the real process belongs here: startup and its
// environment, plugin loading, gateway traffic, several instances,
// shutdown, Redis failover, the browser. The admin API's request/response
// behaviour (validation, status codes, scopes, versions, revisions) is
// tested in process by the scenario tables of server/internal/admin
// (scenario_test.go), which need no build.
package e2e
