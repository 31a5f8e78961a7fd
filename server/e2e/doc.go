// Package e2e holds end-to-end tests: they start the real gatehouse binary
// with its real plugin artifacts (built by the Makefile; see
// testenv.BuildDir) and drive it from outside over HTTP.
package e2e
