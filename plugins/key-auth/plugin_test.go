package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/plugintest"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

const (
	aliceKey = "alice-0123456789abcdef"
	bobKey   = "bob-fedcba9876543210xyz"
)

// newHandler builds an instance from config in front of an upstream that
// records what it received.
func newHandler(t *testing.T, cfg string) (http.Handler, *plugintest.Buffer, *upstream) {
	t.Helper()
	host := plugintest.NewHost(t, "")
	host.Log = slog.New(slog.NewTextHandler(host.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	inst, err := Plugin.New(context.Background(), json.RawMessage(cfg), host)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, inst.Close()) })
	up := &upstream{}
	return inst.Handler(up), host.Logs, up
}

// upstream is the next handler: it records the request it saw.
type upstream struct {
	mu       sync.Mutex
	calls    int
	consumer string
	header   http.Header
	rawQuery string
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.calls++
	u.consumer, _ = pluginapi.ConsumerFromContext(r.Context())
	u.header = r.Header.Clone()
	u.rawQuery = r.URL.RawQuery
	_, _ = io.WriteString(w, "upstream")
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

type errBody struct {
	Error struct{ Code, Message string } `json:"error"`
}

func TestInfoAndSchema(t *testing.T) {
	info := Plugin.Info()
	require.Equal(t, "key-auth", info.Name)
	require.Equal(t, pluginapi.ABIVersion, info.ABIVersion)
	require.Equal(t, pluginapi.PhaseAuthn, info.Phase)
	require.NotEmpty(t, info.Version)
	require.NotEmpty(t, info.Description)

	var schema map[string]any
	require.NoError(t, json.Unmarshal(Plugin.ConfigSchema(), &schema))
	require.Equal(t, false, schema["additionalProperties"])
	props := schema["properties"].(map[string]any)
	for _, f := range []string{"consumers", "keys", "inHeader", "inQuery", "hideCredentials", "realm"} {
		require.Contains(t, props, f, "the schema documents every config field")
	}
	// Every field of the config struct is in the schema, and the other way round.
	ct := reflect.TypeFor[config]()
	require.Len(t, props, ct.NumField())
	for i := range ct.NumField() {
		name, _, _ := strings.Cut(ct.Field(i).Tag.Get("json"), ",")
		require.Contains(t, props, name)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	cases := []struct {
		name   string
		config string
		fields map[string]string // field → part of the message
	}{
		{"empty config", `{}`, map[string]string{"consumers": "is required"}},
		{"unknown top-level field", `{"consumers":[{"name":"a","key":"` + aliceKey + `"}],"hideCredential":true}`,
			map[string]string{"hideCredential": "unknown field"}},
		{"unknown nested field and a case mistake", `{"consumers":[{"name":"a","key":"` + aliceKey + `","secret":1}],"Keys":["x"]}`,
			map[string]string{"consumers[0].secret": "unknown field", "Keys": `did you mean "keys"`}},
		{"shape and value problems in one answer", `{"consumers":[{"name":"carol","key":"short"},{"name":7,"key":"` + bobKey + `"}],"hideCredential":true}`,
			map[string]string{"consumers[0].key": "at least 16", "consumers[1].name": "must be a string", "hideCredential": `did you mean "hideCredentials"`}},
		{"wrong types", `{"consumers":{"name":"a"},"inHeader":"yes","keys":"x-api-key"}`,
			map[string]string{"consumers": "must be an array", "inHeader": "true or false", "keys": "must be an array"}},
		{"bad consumers", `{"consumers":[{"name":"","key":"short"},{"name":"a b","key":"` + aliceKey + `"},{"name":"c","key":"` + aliceKey + `"},{"name":"c","key":"has space 0123456789"}]}`,
			map[string]string{
				"consumers[0].name": "is required",
				"consumers[0].key":  "at least 16",
				"consumers[1].name": "not a valid consumer name",
				"consumers[2].key":  "same key as consumers[1].key",
				"consumers[3].name": "already the name of consumers[2]",
				"consumers[3].key":  "printable ASCII without spaces",
			}},
		{"bad keys and nowhere to look", `{"consumers":[{"name":"a","key":"` + aliceKey + `"}],"keys":["x api","",  "X-Key","x-key"],"inHeader":false,"inQuery":false,"realm":"a\"b"}`,
			map[string]string{
				"keys[0]":  "not a valid header",
				"keys[1]":  "must not be empty",
				"keys[3]":  "repeats keys[2]",
				"inHeader": "both false",
				"realm":    "quotes",
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Plugin.New(context.Background(), json.RawMessage(tc.config), plugintest.NewHost(t, ""))
			require.Error(t, err)
			got := configErrors(t, err)
			require.Len(t, got, len(tc.fields), "every problem, and only those: %v", got)
			for f, msg := range tc.fields {
				require.Contains(t, got, f)
				require.Contains(t, got[f], msg, f)
			}
			require.NotContains(t, err.Error(), aliceKey, "a key never appears in an error")
		})
	}

	t.Run("not an object", func(t *testing.T) {
		_, err := Plugin.New(context.Background(), json.RawMessage(`[1]`), plugintest.NewHost(t, ""))
		require.ErrorContains(t, err, "must be a JSON object")
		_, err = Plugin.New(context.Background(), json.RawMessage(`{"consumers":`), plugintest.NewHost(t, ""))
		require.ErrorContains(t, err, "not valid JSON")
	})
}

// configErrors maps each ConfigError's field to its message.
func configErrors(t *testing.T, err error) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok { //nolint:errorlint // walking a join
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var ce *pluginapi.ConfigError
		require.True(t, errors.As(e, &ce), "%v is a *pluginapi.ConfigError", e)
		out[ce.Field] = ce.Message
	}
	walk(err)
	return out
}

func TestKeyInHeader(t *testing.T) {
	h, logs, up := newHandler(t, `{"consumers":[{"name":"alice","key":"`+aliceKey+`"},{"name":"bob","key":"`+bobKey+`"}]}`)

	cases := []struct {
		name     string
		header   http.Header
		status   int
		consumer string
		message  string
	}{
		{"no key", http.Header{}, 401, "", "an API key is required: send it in the X-Api-Key header"},
		{"wrong key", http.Header{"X-Api-Key": {"alice-0123456789abcdeX"}}, 401, "", "the API key is not valid"},
		{"a prefix of a key", http.Header{"X-Api-Key": {aliceKey[:16]}}, 401, "", "not valid"},
		{"alice", http.Header{"X-Api-Key": {aliceKey}}, 200, "alice", ""},
		{"bob, header name in another case", http.Header{"x-api-key": {bobKey}}, 200, "bob", ""},
		{"alice claiming to be bob", http.Header{"X-Api-Key": {aliceKey}, ConsumerHeader: {"bob"}}, 200, "alice", ""},
		{"a spoofed consumer without a key", http.Header{ConsumerHeader: {"bob"}}, 401, "", "required"},
		{"two different keys", http.Header{"X-Api-Key": {aliceKey, bobKey}}, 401, "", "more than one API key"},
		{"the same key twice", http.Header{"X-Api-Key": {aliceKey, aliceKey}}, 200, "alice", ""},
		{"a Bearer token is not looked at by default", http.Header{"Authorization": {"Bearer " + aliceKey}}, 401, "", "required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := up.calls
			r := httptest.NewRequest("GET", "/x", nil)
			for k, v := range tc.header {
				for _, x := range v {
					r.Header.Add(k, x)
				}
			}
			rec := serve(h, r)
			require.Equal(t, tc.status, rec.Code)
			if tc.status == 401 {
				require.Equal(t, before, up.calls, "a refused request never reaches the upstream")
				require.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
				require.Equal(t, []string{`Key realm="gatehouse"`}, rec.Header().Values("WWW-Authenticate"))
				var body errBody
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
				require.Equal(t, "unauthorized", body.Error.Code)
				require.Contains(t, body.Error.Message, tc.message)
				return
			}
			require.Equal(t, "upstream", rec.Body.String())
			require.Equal(t, tc.consumer, up.consumer, "later plugins see the consumer")
			require.Equal(t, []string{tc.consumer}, up.header.Values(ConsumerHeader), "the upstream sees the consumer, never the client's claim")
			require.NotEmpty(t, up.header.Get("X-Api-Key"), "without hideCredentials the key travels on")
		})
	}
	for _, k := range []string{aliceKey, bobKey, aliceKey[:16]} {
		require.NotContains(t, logs.String(), k, "keys are never logged")
	}
	require.Contains(t, logs.String(), "request refused", "refusals are logged at debug level")
}

func TestBearerQueryAndHideCredentials(t *testing.T) {
	h, _, up := newHandler(t, `{"consumers":[{"name":"alice","key":"`+aliceKey+`"}],
		"keys":["authorization","api_key"],"inQuery":true,"hideCredentials":true,"realm":"billing"}`)

	r := httptest.NewRequest("GET", "/x?a=1", nil)
	r.Header.Set("Authorization", "Bearer "+aliceKey)
	rec := serve(h, r)
	require.Equal(t, 200, rec.Code)
	require.Equal(t, "alice", up.consumer)
	require.Empty(t, up.header.Get("Authorization"), "hideCredentials removes the header")
	require.Equal(t, "a=1", up.rawQuery)

	r = httptest.NewRequest("GET", "/x?a=1&api_key="+aliceKey+"&b=2", nil)
	r.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	rec = serve(h, r)
	require.Equal(t, 200, rec.Code, rec.Body)
	require.Equal(t, "a=1&b=2", up.rawQuery, "hideCredentials removes the query parameter, keeping the others")
	require.Empty(t, up.header.Get("Authorization"), "every configured place is cleared, not only the one that carried the key")

	r = httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("Authorization", "Basic "+aliceKey)
	rec = serve(h, r)
	require.Equal(t, 401, rec.Code, "only the Bearer scheme carries a key")
	require.Equal(t, []string{`Key realm="billing"`, `Bearer realm="billing"`}, rec.Header().Values("WWW-Authenticate"))
	var body errBody
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	require.Equal(t, "an API key is required: send it in the Authorization header as 'Bearer <key>' or the Api_key header or the authorization query parameter or the api_key query parameter", body.Error.Message)

	r = httptest.NewRequest("GET", "/x?api_key="+aliceKey, nil)
	r.Header.Set("Authorization", "bearer "+aliceKey)
	rec = serve(h, r)
	require.Equal(t, 200, rec.Code, "the same key in two places is one key; the scheme is case-insensitive: %s", rec.Body)

	r = httptest.NewRequest("GET", "/x?api_key=other-key-0123456789", nil)
	r.Header.Set("Authorization", "Bearer "+aliceKey)
	rec = serve(h, r)
	require.Equal(t, 401, rec.Code)
	require.Contains(t, rec.Body.String(), "more than one API key")
}

func TestQueryOnly(t *testing.T) {
	h, _, up := newHandler(t, `{"consumers":[{"name":"alice","key":"`+aliceKey+`"}],"keys":["key"],"inHeader":false,"inQuery":true}`)
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("Key", aliceKey)
	rec := serve(h, r)
	require.Equal(t, 401, rec.Code, "inHeader false: headers are not looked at")
	require.Contains(t, rec.Body.String(), "the key query parameter")

	rec = serve(h, httptest.NewRequest("GET", "/x?key="+aliceKey, nil))
	require.Equal(t, 200, rec.Code)
	require.Equal(t, "key="+aliceKey, up.rawQuery, "without hideCredentials the query is untouched")
}

func TestConcurrentRequests(t *testing.T) {
	h, _, _ := newHandler(t, `{"consumers":[{"name":"alice","key":"`+aliceKey+`"},{"name":"bob","key":"`+bobKey+`"}]}`)
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			r := httptest.NewRequest("GET", "/x", nil)
			want := 200
			switch i % 3 {
			case 0:
				r.Header.Set("X-Api-Key", aliceKey)
			case 1:
				r.Header.Set("X-Api-Key", bobKey)
			default:
				r.Header.Set("X-Api-Key", strings.Repeat("z", 20))
				want = 401
			}
			if rec := serve(h, r); rec.Code != want {
				t.Errorf("request %d: status %d, want %d", i, rec.Code, want)
			}
		})
	}
	wg.Wait()
}

func sha256Hex(s string) string {
	d := sha256.Sum256([]byte(s))
	return hex.EncodeToString(d[:])
}

// Gatehouse consumers' keys reach key-auth as digests: a name may have
// several (rotation), and an expired one is refused naming the expiry.
func TestHashedAndExpiringKeys(t *testing.T) {
	newKey, oldKey, expiredKey := "gh-new-0123456789abcdef", "gh-old-0123456789abcdef", "gh-exp-0123456789abcdef"
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	h, logs, up := newHandler(t, `{"consumers":[
		{"name":"alice","key":"`+aliceKey+`"},
		{"name":"team-a","keySha256":"`+sha256Hex(newKey)+`"},
		{"name":"team-a","keySha256":"`+sha256Hex(oldKey)+`","expiresAt":"`+future+`"},
		{"name":"team-b","keySha256":"`+sha256Hex(expiredKey)+`","expiresAt":"`+past+`"}]}`)
	for key, want := range map[string]string{aliceKey: "alice", newKey: "team-a", oldKey: "team-a"} {
		r := httptest.NewRequest("GET", "/x", nil)
		r.Header.Set("X-Api-Key", key)
		rec := serve(h, r)
		require.Equal(t, 200, rec.Code)
		require.Equal(t, want, up.consumer)
	}
	for key, msg := range map[string]string{expiredKey: "the API key has expired", sha256Hex(newKey): "not valid"} {
		before := up.calls
		r := httptest.NewRequest("GET", "/x", nil)
		r.Header.Set("X-Api-Key", key)
		rec := serve(h, r)
		require.Equal(t, 401, rec.Code, "the digest itself is not a key")
		require.Contains(t, rec.Body.String(), msg)
		require.NotContains(t, rec.Body.String(), "team-b", "a refusal does not say whose key it was")
		require.Equal(t, before, up.calls)
	}
	require.NotContains(t, logs.String(), expiredKey)

	_, err := Plugin.New(context.Background(), json.RawMessage(`{"consumers":[{"name":"a","keySha256":"XYZ"},{"name":"b","key":"`+aliceKey+`","keySha256":"`+sha256Hex(aliceKey)+`"}]}`), plugintest.NewHost(t, ""))
	require.ErrorContains(t, err, "consumers[0].keySha256")
	require.ErrorContains(t, err, "consumers[1].key")
}
