package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

type consumerAnswer struct {
	Name        string `json:"name"`
	Version     int64  `json:"version"`
	Credentials []struct {
		ID        string `json:"id"`
		Key       string `json:"key"`
		KeySHA256 string `json:"keySha256"`
		Hint      string `json:"hint"`
	} `json:"credentials"`
}

func TestConsumerKeysAreShownOnceAndRotate(t *testing.T) {
	a := newAIAdmin(t)
	code, body := a.do(t, "POST", "/api/v1/consumers", `{"name":"team-a","labels":{"team":"a"},"budget":{"usd":5,"period":"day"}}`)
	require.Equal(t, http.StatusCreated, code, body)
	var created consumerAnswer
	require.NoError(t, json.Unmarshal([]byte(body), &created))
	require.Len(t, created.Credentials, 1)
	key := created.Credentials[0].Key
	require.True(t, strings.HasPrefix(key, spec.ConsumerKeyPrefix), "a generated key is shown once: %s", body)
	require.NotContains(t, body, spec.HashKey(key), "the digest is never shown")

	noKey := func(body string, keys ...string) {
		t.Helper()
		for _, k := range keys {
			require.NotContains(t, body, k)
			require.NotContains(t, body, spec.HashKey(k))
		}
	}
	for _, path := range []string{"/api/v1/consumers", "/api/v1/consumers/team-a", "/api/v1/revisions"} {
		code, body := a.do(t, "GET", path, "")
		require.Equal(t, http.StatusOK, code)
		noKey(body, key)
	}
	// key-auth gets the digest.
	snap, _ := a.ctl.Snapshot()
	require.Equal(t, []spec.KeyAuthConsumer{{Name: "team-a", KeySHA256: spec.HashKey(key)}}, snap.KeyAuthConsumers())

	// Rotation: add a key (shown once), revoke the old one.
	code, body = a.do(t, "POST", "/api/v1/consumers/team-a/keys", `{"expiresAt":"2030-01-01T00:00:00Z"}`)
	require.Equal(t, http.StatusCreated, code, body)
	var added struct {
		ID, Key string
	}
	require.NoError(t, json.Unmarshal([]byte(body), &added))
	require.True(t, strings.HasPrefix(added.Key, spec.ConsumerKeyPrefix))
	require.NotContains(t, body, spec.HashKey(added.Key))
	snap, _ = a.ctl.Snapshot()
	require.Len(t, snap.KeyAuthConsumers(), 2)

	code, body = a.do(t, "DELETE", "/api/v1/consumers/team-a/keys/"+created.Credentials[0].ID, "")
	require.Equal(t, http.StatusNoContent, code, body)
	snap, _ = a.ctl.Snapshot()
	require.Len(t, snap.KeyAuthConsumers(), 1)
	require.Equal(t, spec.HashKey(added.Key), snap.KeyAuthConsumers()[0].KeySHA256)
	code, _ = a.do(t, "DELETE", "/api/v1/consumers/team-a/keys/"+created.Credentials[0].ID, "")
	require.Equal(t, http.StatusNotFound, code)

	// An update naming the key by id keeps it.
	code, body = a.do(t, "GET", "/api/v1/consumers/team-a", "")
	require.Equal(t, http.StatusOK, code)
	var cur consumerAnswer
	require.NoError(t, json.Unmarshal([]byte(body), &cur))
	code, body = a.do(t, "PUT", "/api/v1/consumers/team-a", `{"name":"team-a","credentials":[{"id":"`+cur.Credentials[0].ID+`"}],"allowedModels":["gpt-4o*"],"version":`+jsonInt(cur.Version)+`}`)
	require.Equal(t, http.StatusOK, code, body)
	snap, _ = a.ctl.Snapshot()
	require.Equal(t, spec.HashKey(added.Key), snap.KeyAuthConsumers()[0].KeySHA256)
}

func TestConsumerBadInputNamesTheFieldAndChangesNothing(t *testing.T) {
	a := newAIAdmin(t)
	for body, field := range map[string]string{
		`{"name":"x","credentials":[{"key":"short"}]}`:       "credentials[0].key",
		`{"name":"x","budget":{"usd":-1,"period":"day"}}`:    "budget.usd",
		`{"name":"x","quota":{"tokens":10,"period":"week"}}`: "quota.period",
		`{"name":"x","allowedAiRoutes":["nope"]}`:            "allowedAiRoutes[0]",
		`{"name":"x","credentials":[{"id":"abc"}]}`:          "credentials[0].key",
	} {
		code, answer := a.do(t, "POST", "/api/v1/consumers", body)
		require.Equal(t, http.StatusBadRequest, code, answer)
		require.Contains(t, answer, field, body)
		require.NotContains(t, answer, "short", "a key is never echoed")
	}
	code, body := a.do(t, "GET", "/api/v1/consumers", "")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"items":[],"total":0}`, body)
	code, body = a.do(t, "POST", "/api/v1/model-prices", `{"name":"p","model":"gpt-4o*","input":-1,"output":1,"date":"2026-13-01"}`)
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, `"input"`)
	require.Contains(t, body, `"date"`)
}

func jsonInt(v int64) string { b, _ := json.Marshal(v); return string(b) }
