package e2e

import (
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

func TestAPITokensAreScopedShownOnceAndRevocable(t *testing.T) {
	g := testenv.StartGatehouse(t, testenv.Options{Env: bootstrapEnv()})
	admin := g.Login(t, adminUser, adminPass)

	var e apiErr
	resp := admin.Do(t, "POST", "/tokens", map[string]string{"name": "", "scope": "root", "expiresIn": "1s"}, &e)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Len(t, e.Error.Details, 3, "name, scope and expiresIn are all named")

	type tok struct {
		ID     int64
		Token  string
		Prefix string
		Scope  string
	}
	var read, write tok
	require.Equal(t, http.StatusCreated, admin.Do(t, "POST", "/tokens", map[string]string{"name": "dashboards", "scope": "read"}, &read).StatusCode)
	require.Equal(t, http.StatusCreated, admin.Do(t, "POST", "/tokens", map[string]string{"name": "ci", "scope": "write", "expiresIn": "720h"}, &write).StatusCode)
	require.True(t, strings.HasPrefix(read.Token, "ght_"))
	require.True(t, strings.HasPrefix(read.Token, read.Prefix))

	var list struct {
		Items []map[string]any
		Total int
	}
	resp = admin.Do(t, "GET", "/tokens", nil, &list)
	require.Equal(t, 2, list.Total)
	require.NotContains(t, string(mustBody(t, resp)), read.Token[len(read.Prefix):], "a token is shown once, never listed")

	reader := g.API()
	reader.Token = read.Token
	require.Equal(t, http.StatusOK, reader.Do(t, "GET", "/routes", nil, nil).StatusCode)
	resp = reader.Do(t, "POST", "/services", map[string]any{"name": "x", "endpoints": []map[string]any{{"url": "http://127.0.0.1:1"}}}, &e)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Equal(t, "insufficient_scope", e.Error.Code)

	writer := g.API()
	writer.Token = write.Token
	require.Equal(t, http.StatusCreated, writer.Do(t, "POST", "/services", map[string]any{"name": "x", "endpoints": []map[string]any{{"url": "http://127.0.0.1:1"}}}, nil).StatusCode)
	resp = writer.Do(t, "POST", "/tokens", map[string]string{"name": "more", "scope": "write"}, &e)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "a token cannot mint tokens")
	require.Equal(t, "session_required", e.Error.Code)
	require.Equal(t, http.StatusForbidden, writer.Do(t, "PUT", "/users/me/password", map[string]string{"currentPassword": adminPass, "newPassword": "whatever-long"}, nil).StatusCode)

	require.Equal(t, http.StatusNoContent, admin.Do(t, "DELETE", "/tokens/"+strconv.FormatInt(read.ID, 10), nil, nil).StatusCode)
	resp = reader.Do(t, "GET", "/routes", nil, &e)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a revoked token stops working at once")

	logData, err := os.ReadFile(g.LogFile)
	require.NoError(t, err)
	require.NotContains(t, string(logData), write.Token)
	require.NotContains(t, string(logData), read.Token)
}

func mustBody(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}
