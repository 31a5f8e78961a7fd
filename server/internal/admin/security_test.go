package admin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse-dev/gatehouse/server/internal/clientip"
	"github.com/gatehouse-dev/gatehouse/server/internal/health"
	"github.com/gatehouse-dev/gatehouse/server/internal/redisx"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
)

const (
	secUser = "admin"
	secPass = "correct-horse-1"
	secKey  = "0123456789abcdef0123456789abcdef"
)

// secEnv is an admin server on real SQLite with one administrator.
type secEnv struct {
	t      *testing.T
	s      *Server
	st     *store.Store
	dbPath string
}

func newSecEnv(t *testing.T, mutate func(*Options)) *secEnv {
	t.Helper()
	dbPath := filepath.Join(t.TempDir(), "gatehouse.db")
	e := openSecEnv(t, dbPath, mutate)
	// The lowest cost keeps the many logins of these tests fast.
	hash, err := bcrypt.GenerateFromPassword([]byte(secPass), bcrypt.MinCost)
	require.NoError(t, err)
	_, err = e.st.CreateFirstUser(context.Background(), secUser, string(hash))
	require.NoError(t, err)
	return e
}

// openSecEnv opens another instance on the database at dbPath.
func openSecEnv(t *testing.T, dbPath string, mutate func(*Options)) *secEnv {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(context.Background(), dbPath, log)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	opts := Options{
		Store: st, Logger: log, JWTSecret: []byte(secKey), JWTLifetime: time.Hour,
		LogFile: filepath.Join(t.TempDir(), "gateway.log"), Health: health.NewChecker("test"),
		Plugins: noPlugins{}, Registry: prometheus.NewRegistry(),
	}
	if mutate != nil {
		mutate(&opts)
	}
	s, err := New(opts)
	require.NoError(t, err)
	return &secEnv{t: t, s: s, st: st, dbPath: dbPath}
}

type req struct {
	method, path, body string
	remote             string
	header             map[string]string
}

func (e *secEnv) do(r req) *httptest.ResponseRecorder {
	e.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	if r.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		if v == "" {
			hr.Header.Del(k)
			continue
		}
		hr.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.s.Handler().ServeHTTP(rec, hr)
	return rec
}

func (e *secEnv) login(remote string) string {
	e.t.Helper()
	rec := e.do(req{method: "POST", path: "/api/v1/auth/login", body: fmt.Sprintf(`{"username":%q,"password":%q}`, secUser, secPass), remote: remote})
	require.Equal(e.t, http.StatusOK, rec.Code, rec.Body.String())
	var out struct{ Token string }
	require.NoError(e.t, json.Unmarshal(rec.Body.Bytes(), &out))
	return out.Token
}

func errCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), rec.Body.String())
	return e.Error.Code
}

func loginBody(user, pw string) string {
	return fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw)
}

// Hole 1: X-Forwarded-For from an untrusted peer neither escapes the
// throttle nor locks another address out.
func TestLoginThrottleIgnoresSpoofedForwardingHeaders(t *testing.T) {
	t.Run("rotating X-Forwarded-For is still one address", func(t *testing.T) {
		e := newSecEnv(t, nil)
		got429 := 0
		for i := range 30 {
			rec := e.do(req{method: "POST", path: "/api/v1/auth/login", body: loginBody(secUser, "wrong-password"), remote: "192.0.2.7:4000",
				header: map[string]string{"X-Forwarded-For": fmt.Sprintf("10.9.%d.%d", i/200, i%200), "X-Real-IP": fmt.Sprintf("10.8.0.%d", i)}})
			if rec.Code == http.StatusTooManyRequests {
				got429++
			}
		}
		require.Equal(t, 25, got429, "the sixth and later attempts are throttled")
	})
	t.Run("a spoofed victim address does not lock the victim out", func(t *testing.T) {
		e := newSecEnv(t, nil)
		for range 5 {
			rec := e.do(req{method: "POST", path: "/api/v1/auth/login", body: loginBody(secUser, "wrong-password"), remote: "127.0.0.2:4000",
				header: map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"}})
			require.Equal(t, http.StatusUnauthorized, rec.Code)
		}
		e.login("127.0.0.1:5000")
	})
	t.Run("a trusted proxy's X-Forwarded-For names the client", func(t *testing.T) {
		r, err := clientip.Parse("10.0.0.1")
		require.NoError(t, err)
		e := newSecEnv(t, func(o *Options) { o.ClientIP = r })
		for range 5 {
			e.do(req{method: "POST", path: "/api/v1/auth/login", body: loginBody(secUser, "wrong-password"), remote: "10.0.0.1:4000",
				header: map[string]string{"X-Forwarded-For": "198.51.100.1"}})
		}
		rec := e.do(req{method: "POST", path: "/api/v1/auth/login", body: loginBody(secUser, secPass), remote: "10.0.0.1:4000",
			header: map[string]string{"X-Forwarded-For": "198.51.100.1"}})
		require.Equal(t, http.StatusTooManyRequests, rec.Code)
		rec = e.do(req{method: "POST", path: "/api/v1/auth/login", body: loginBody(secUser, secPass), remote: "10.0.0.1:4000",
			header: map[string]string{"X-Forwarded-For": "198.51.100.2"}})
		require.Equal(t, http.StatusOK, rec.Code, "another client behind the same proxy is not affected")
	})
	t.Run("guesses spread over many addresses are throttled per user, not for its known addresses", func(t *testing.T) {
		e := newSecEnv(t, nil)
		e.login("203.0.113.50:1") // the owner's usual address
		for i := range 10 {
			rec := e.do(req{method: "POST", path: "/api/v1/auth/login", body: loginBody(secUser, "wrong-password"), remote: fmt.Sprintf("198.51.100.%d:1", i)})
			require.Equal(t, http.StatusUnauthorized, rec.Code)
		}
		rec := e.do(req{method: "POST", path: "/api/v1/auth/login", body: loginBody(secUser, secPass), remote: "198.51.100.99:1"})
		require.Equal(t, http.StatusTooManyRequests, rec.Code, "the 11th guess for one user is refused from a new address")
		require.Equal(t, "too_many_attempts", errCode(t, rec))
		e.login("203.0.113.50:1")
	})
}

// Hole 11: the limiter is bounded and forgets expired entries.
func TestLoginLimiterIsBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLoginLimiter(5, time.Minute, 10, time.Minute)
	l.now = func() time.Time { return now }
	for i := range limiterCapacity + 5000 {
		l.fail(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), fmt.Sprintf("user%d", i))
	}
	require.Equal(t, limiterCapacity, l.byAddr.len())
	require.Equal(t, limiterCapacity, l.byUser.len())
	now = now.Add(2 * time.Minute)
	l.fail("192.0.2.1", "x")
	require.Equal(t, 1, l.byAddr.len(), "expired entries are dropped")
	for range 5 {
		l.fail("2001:db8::1", "")
	}
	d, _ := l.blocked("2001:db8::ffff", "")
	require.Positive(t, d, "IPv6 addresses of one /64 count as one")
}

// Hole 6: an unknown user costs a bcrypt comparison like a known one.
func TestUnknownUserIsComparedAgainstADummyHash(t *testing.T) {
	e := newSecEnv(t, nil)
	var hashes [][]byte
	inner := e.s.compareHash
	e.s.compareHash = func(h, p []byte) error { hashes = append(hashes, h); return inner(h, p) }
	rec := e.do(req{method: "POST", path: "/api/v1/auth/login", body: loginBody("nobody-here", "whatever-pass")})
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	require.Len(t, hashes, 1, "the password of an unknown user is compared too")
	cost, err := bcryptCost(hashes[0])
	require.NoError(t, err)
	realHash, err := HashPassword("any-password")
	require.NoError(t, err)
	realCost, err := bcryptCost([]byte(realHash))
	require.NoError(t, err)
	require.Equal(t, realCost, cost, "at the cost real hashes are made with")
}

// Hole 3: cookie-authenticated writes need the console's origin and JSON.
func TestCookieWritesNeedSameOriginAndJSON(t *testing.T) {
	e := newSecEnv(t, nil)
	tok := e.login("")
	cookie := CookieName + "=" + tok
	create := `{"name":"ci","scope":"read"}`
	tests := []struct {
		name   string
		header map[string]string
		body   string
		status int
		code   string
	}{
		{"sibling origin with text/plain (no-cors fetch)", map[string]string{"Cookie": cookie, "Origin": "http://example.com:8080", "Sec-Fetch-Site": "same-site", "Content-Type": "text/plain"}, create, http.StatusForbidden, "cross_origin_refused"},
		{"same origin but text/plain", map[string]string{"Cookie": cookie, "Origin": "http://example.com", "Content-Type": "text/plain"}, create, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"sibling port by Origin", map[string]string{"Cookie": cookie, "Origin": "http://example.com:8080"}, create, http.StatusForbidden, "cross_origin_refused"},
		{"sibling subdomain by Sec-Fetch-Site", map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "same-site", "Origin": "http://example.com"}, create, http.StatusForbidden, "cross_origin_refused"},
		{"cookie without Origin or Sec-Fetch-Site", map[string]string{"Cookie": cookie}, create, http.StatusForbidden, "cross_origin_refused"},
		{"cookie-authenticated delete from another site", map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "cross-site", "Content-Type": ""}, "", http.StatusForbidden, "cross_origin_refused"},
		{"console: same Origin", map[string]string{"Cookie": cookie, "Origin": "http://example.com"}, create, http.StatusCreated, ""},
		{"console: Sec-Fetch-Site same-origin without Origin", map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "same-origin"}, create, http.StatusCreated, ""},
		{"Bearer needs no origin", map[string]string{"Authorization": "Bearer " + tok}, create, http.StatusCreated, ""},
		{"Bearer body must still be JSON", map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/x-www-form-urlencoded"}, create, http.StatusUnsupportedMediaType, "unsupported_media_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, path := "POST", "/api/v1/tokens"
			if tt.body == "" {
				method, path = "DELETE", "/api/v1/tokens/1"
			}
			rec := e.do(req{method: method, path: path, body: tt.body, header: tt.header})
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			if tt.code != "" {
				require.Equal(t, tt.code, errCode(t, rec))
			}
		})
	}
	t.Run("the login itself from another origin is refused", func(t *testing.T) {
		rec := e.do(req{method: "POST", path: "/api/v1/auth/login", body: loginBody(secUser, secPass), header: map[string]string{"Origin": "http://evil.example"}})
		require.Equal(t, http.StatusForbidden, rec.Code)
	})
}

// Hole 10: what encoding/json would accept silently is refused.
func TestLenientJSONIsRefused(t *testing.T) {
	e := newSecEnv(t, nil)
	tests := []struct{ name, body, want string }{
		{"trailing garbage", `{"username":"admin","password":"correct-horse-1"} GARBAGE`, "more data after the JSON value"},
		{"two values", `{"username":"admin","password":"x"}{"username":"admin","password":"correct-horse-1"}`, "more data after the JSON value"},
		{"duplicate keys", `{"username":"nobody","username":"admin","password":"correct-horse-1"}`, `username\" appears twice`},
		{"duplicate nested keys", `{"username":"admin","password":"correct-horse-1","x":{"a":1,"a":2}}`, `x.a\" appears twice`},
		{"invalid UTF-8", "{\"username\":\"adm\xffin\",\"password\":\"correct-horse-1\"}", "not valid UTF-8"},
		{"truncated", `{"username":"admin"`, "ends before the JSON value is complete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(req{method: "POST", path: "/api/v1/auth/login", body: tt.body})
			require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
			require.Equal(t, "invalid_body", errCode(t, rec))
			require.Contains(t, rec.Body.String(), tt.want)
		})
	}
	t.Run("10 MB body is 413", func(t *testing.T) {
		big := `{"username":"admin","password":"` + strings.Repeat("x", 10<<20) + `"}`
		rec := e.do(req{method: "POST", path: "/api/v1/auth/login", body: big})
		require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code, rec.Body.String())
		require.Equal(t, "body_too_large", errCode(t, rec))
	})
	t.Run("2 MB body to a 1 MiB endpoint is 413", func(t *testing.T) {
		big := `{"username":"admin","password":"` + strings.Repeat("x", 2<<20) + `"}`
		rec := e.do(req{method: "POST", path: "/api/v1/auth/login", body: big})
		require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code, rec.Body.String())
	})
	t.Run("deep nesting is refused", func(t *testing.T) {
		rec := e.do(req{method: "POST", path: "/api/v1/auth/login", body: strings.Repeat("[", 100000) + strings.Repeat("]", 100000)})
		require.Equal(t, http.StatusBadRequest, rec.Code)
	})
}

// Hole 9: logout ends the token on every instance; API tokens expire by
// default and can all be revoked.
func TestLogoutRevokesTheTokenOnEveryInstance(t *testing.T) {
	a := newSecEnv(t, nil)
	b := openSecEnv(t, a.dbPath, nil)
	tok := a.login("")
	bearer := map[string]string{"Authorization": "Bearer " + tok}
	require.Equal(t, http.StatusOK, b.do(req{method: "GET", path: "/api/v1/auth/me", header: bearer}).Code)
	require.Equal(t, http.StatusNoContent, a.do(req{method: "POST", path: "/api/v1/auth/logout", header: bearer}).Code)
	for name, e := range map[string]*secEnv{"same instance": a, "other instance": b} {
		rec := e.do(req{method: "GET", path: "/api/v1/auth/me", header: bearer})
		require.Equal(t, http.StatusUnauthorized, rec.Code, name)
		require.Contains(t, rec.Body.String(), "logged out", name)
		rec = e.do(req{method: "GET", path: "/api/v1/auth/me", header: map[string]string{"Cookie": CookieName + "=" + tok}})
		require.Equal(t, http.StatusUnauthorized, rec.Code, name+": as a cookie too")
	}
	require.Equal(t, http.StatusOK, a.do(req{method: "GET", path: "/api/v1/auth/me", header: map[string]string{"Authorization": "Bearer " + a.login("")}}).Code,
		"a new login works")
}

func TestAPITokensExpireByDefaultAndCanAllBeRevoked(t *testing.T) {
	e := newSecEnv(t, func(o *Options) { o.TokenLifetime = 90 * 24 * time.Hour })
	session := map[string]string{"Authorization": "Bearer " + e.login("")}
	create := func(body string) tokenView {
		rec := e.do(req{method: "POST", path: "/api/v1/tokens", body: body, header: session})
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		var v tokenView
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v))
		return v
	}
	def := create(`{"name":"default","scope":"read"}`)
	require.NotNil(t, def.ExpiresAt, "a token without expiresIn gets the default lifetime")
	require.WithinDuration(t, time.Now().Add(90*24*time.Hour), *def.ExpiresAt, time.Minute)
	never := create(`{"name":"forever","scope":"write","expiresIn":"never"}`)
	require.Nil(t, never.ExpiresAt, "never is allowed when asked for")

	for _, tok := range []string{def.Token, never.Token} {
		require.Equal(t, http.StatusOK, e.do(req{method: "GET", path: "/api/v1/auth/me", header: map[string]string{"Authorization": "Bearer " + tok}}).Code)
	}
	rec := e.do(req{method: "DELETE", path: "/api/v1/tokens", header: map[string]string{"Authorization": "Bearer " + never.Token}})
	require.Equal(t, http.StatusForbidden, rec.Code, "a token cannot revoke all tokens")
	rec = e.do(req{method: "DELETE", path: "/api/v1/tokens", header: session})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.JSONEq(t, `{"revoked":2}`, rec.Body.String())
	for _, tok := range []string{def.Token, never.Token} {
		require.Equal(t, http.StatusUnauthorized, e.do(req{method: "GET", path: "/api/v1/auth/me", header: map[string]string{"Authorization": "Bearer " + tok}}).Code)
	}
}

// What held: every forged login token is refused.
func TestForgedJWTsAreRefused(t *testing.T) {
	e := newSecEnv(t, nil)
	good := e.login("")
	u, err := e.st.GetUser(context.Background(), secUser)
	require.NoError(t, err)
	claims := func(mut func(*tokenClaims)) *tokenClaims {
		c := &tokenClaims{PasswordTag: passwordTag(u.PasswordHash), RegisteredClaims: jwt.RegisteredClaims{
			Issuer: tokenIssuer, Subject: secUser, ID: "0123456789abcdef",
			IssuedAt: jwt.NewNumericDate(time.Now()), ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
		}}
		if mut != nil {
			mut(c)
		}
		return c
	}
	sign := func(m jwt.SigningMethod, key any, c *tokenClaims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		require.NoError(t, err)
		return s
	}
	parts := strings.Split(good, ".")
	payload, err := jwt.NewParser().DecodeSegment(parts[1])
	require.NoError(t, err)
	tampered := bytes.Replace(payload, []byte(`"sub":"admin"`), []byte(`"sub":"admim"`), 1)
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)

	forged := map[string]string{
		"alg none": none,
		"alg none, empty signature on a good token": `eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.` + parts[1] + `.`,
		"empty key":        sign(jwt.SigningMethodHS256, []byte{}, claims(nil)),
		"wrong key":        sign(jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), claims(nil)),
		"HS512":            sign(jwt.SigningMethodHS512, []byte(secKey), claims(nil)),
		"tampered payload": parts[0] + "." + base64.RawURLEncoding.EncodeToString(tampered) + "." + parts[2],
		"expired":          sign(jwt.SigningMethodHS256, []byte(secKey), claims(func(c *tokenClaims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute)) })),
		"no expiry":        sign(jwt.SigningMethodHS256, []byte(secKey), claims(func(c *tokenClaims) { c.ExpiresAt = nil })),
		"wrong issuer":     sign(jwt.SigningMethodHS256, []byte(secKey), claims(func(c *tokenClaims) { c.Issuer = "someone-else" })),
		"future nbf":       sign(jwt.SigningMethodHS256, []byte(secKey), claims(func(c *tokenClaims) { c.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour)) })),
		"old password":     sign(jwt.SigningMethodHS256, []byte(secKey), claims(func(c *tokenClaims) { c.PasswordTag = "000000000000" })),
		"unknown user":     sign(jwt.SigningMethodHS256, []byte(secKey), claims(func(c *tokenClaims) { c.Subject = "ghost" })),
		"no token id":      sign(jwt.SigningMethodHS256, []byte(secKey), claims(func(c *tokenClaims) { c.ID = "" })),
		"garbage":          "not.a.jwt",
	}
	for name, tok := range forged {
		t.Run(name, func(t *testing.T) {
			for _, h := range []map[string]string{{"Authorization": "Bearer " + tok}, {"Cookie": CookieName + "=" + tok}} {
				rec := e.do(req{method: "GET", path: "/api/v1/auth/me", header: h})
				require.Equal(t, http.StatusUnauthorized, rec.Code, rec.Body.String())
				require.Equal(t, "unauthorized", errCode(t, rec))
			}
		})
	}
	ok := sign(jwt.SigningMethodHS256, []byte(secKey), claims(nil))
	require.Equal(t, http.StatusOK, e.do(req{method: "GET", path: "/api/v1/auth/me", header: map[string]string{"Authorization": "Bearer " + ok}}).Code,
		"the control: a well-formed token signed with the key is accepted")
}

// What held: read tokens get 403 on every write route.
func TestReadTokensCannotWrite(t *testing.T) {
	e := newSecEnv(t, nil)
	raw := TokenPrefix + "readonlyreadonlyreadonlyreadonly"
	_, err := e.st.CreateToken(context.Background(), store.APIToken{Name: "ro", Username: secUser, Scope: ScopeRead, Prefix: raw[:8]}, hashToken(raw))
	require.NoError(t, err)
	checked := 0
	for _, r := range e.s.Routes() {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || publicRoutes[r.Method+" "+r.Path] {
			continue
		}
		path := strings.NewReplacer(":name", "x", ":id", "1", ":tool", "t", "*path", "x").Replace(r.Path)
		rec := e.do(req{method: r.Method, path: path, body: `{}`, header: map[string]string{"Authorization": "Bearer " + raw}})
		require.Equal(t, http.StatusForbidden, rec.Code, "%s %s: %s", r.Method, r.Path, rec.Body.String())
		checked++
	}
	require.Greater(t, checked, 10)
	require.Equal(t, http.StatusOK, e.do(req{method: "GET", path: "/api/v1/auth/me", header: map[string]string{"Authorization": "Bearer " + raw}}).Code)
}

// redisFake stores settings in memory and records what Test was given.
type redisFake struct {
	stored     redisx.Settings
	tested     []string
	configured bool
}

func (f *redisFake) Get(context.Context) (redisx.Settings, bool, error) {
	return f.stored, f.configured, nil
}
func (f *redisFake) Put(_ context.Context, s redisx.Settings, pw *string) (redisx.Settings, error) {
	if pw == nil {
		s.Password = f.stored.Password
	} else {
		s.Password = *pw
	}
	f.stored = s
	return s, nil
}
func (f *redisFake) Test(_ context.Context, s redisx.Settings, pw *string) (redisx.Diagnosis, error) {
	p := f.stored.Password
	if pw != nil {
		p = *pw
	}
	f.tested = append(f.tested, s.Addresses[0]+" "+p)
	return redisx.Diagnosis{}, nil
}

// Hole 2: the stored Redis password is never sent to a new destination.
func TestStoredRedisPasswordStaysWithItsDestination(t *testing.T) {
	fake := &redisFake{configured: true, stored: redisx.Settings{Mode: redisx.ModeStandalone, Addresses: []string{"redis.internal:6379"}, Password: "stored-secret"}}
	e := newSecEnv(t, func(o *Options) { o.Redis = fake })
	bearer := map[string]string{"Authorization": "Bearer " + e.login("")}
	tests := []struct {
		name, path, body string
		status           int
	}{
		{"test against another address", "/api/v1/settings/redis/test", `{"mode":"standalone","addresses":["attacker.example:6379"]}`, http.StatusBadRequest},
		{"save another address", "/api/v1/settings/redis", `{"mode":"standalone","addresses":["attacker.example:6379"]}`, http.StatusBadRequest},
		{"another username", "/api/v1/settings/redis/test", `{"mode":"standalone","addresses":["redis.internal:6379"],"username":"other"}`, http.StatusBadRequest},
		{"TLS verification turned off", "/api/v1/settings/redis/test", `{"mode":"standalone","addresses":["redis.internal:6379"],"tls":{"enabled":true,"insecureSkipVerify":true}}`, http.StatusBadRequest},
		{"same destination keeps the password", "/api/v1/settings/redis/test", `{"mode":"standalone","addresses":["redis.internal:6379"],"db":3}`, http.StatusOK},
		{"a new address with its password", "/api/v1/settings/redis/test", `{"mode":"standalone","addresses":["attacker.example:6379"],"password":"typed-again"}`, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := "POST"
			if !strings.HasSuffix(tt.path, "/test") {
				method = "PUT"
			}
			rec := e.do(req{method: method, path: tt.path, body: tt.body, header: bearer})
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			if tt.status == http.StatusBadRequest {
				require.Equal(t, "redis_password_required", errCode(t, rec))
				require.Contains(t, rec.Body.String(), `"field":"password"`)
			}
		})
	}
	require.Equal(t, []string{"redis.internal:6379 stored-secret", "attacker.example:6379 typed-again"}, fake.tested,
		"the stored password went only to its own destination")
	require.Equal(t, "redis.internal:6379", fake.stored.Addresses[0], "nothing was saved")
}

// What held: every admin route answers 401 without credentials, through
// path variants too, on a real listener (the client does not clean paths).
func TestEveryRouteAndPathVariantIs401OnTheListener(t *testing.T) {
	e := newSecEnv(t, nil)
	srv := httptest.NewServer(e.s.Handler())
	t.Cleanup(srv.Close)
	checked := 0
	for _, r := range e.s.Routes() {
		if publicRoutes[r.Method+" "+r.Path] {
			continue
		}
		path := strings.NewReplacer(":name", "x", ":id", "1", ":tool", "t", "*path", "x").Replace(r.Path)
		variants := []string{path, path + "/", strings.Replace(path, "/api/v1/", "/api/v1//", 1),
			strings.Replace(path, "/api/v1/", "/api/v1/./", 1), strings.Replace(path, "/api/v1/", "/api/x/../v1/", 1),
			strings.Replace(path, "/api/v1/", "/api/v1/%2e/", 1), strings.Replace(path, "/api/", "/API/", 1), path + "?x=1", path + "%00"}
		for _, v := range variants {
			hr, err := http.NewRequest(r.Method, srv.URL+"/", nil)
			require.NoError(t, err)
			hr.URL.Opaque = v
			resp, err := srv.Client().Do(hr)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			require.NotEqual(t, http.StatusOK, resp.StatusCode, "%s %s answered 200: %s", r.Method, v, body)
			if resp.StatusCode < 300 || resp.StatusCode >= 400 {
				require.Contains(t, []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusBadRequest, http.StatusMethodNotAllowed}, resp.StatusCode,
					"%s %s: %s", r.Method, v, body)
			}
			if v == path {
				require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s %s", r.Method, v)
			}
			checked++
		}
	}
	require.Greater(t, checked, 100)
}

// What held: YAML that expands exponentially (billion laughs) is refused.
func TestBillionLaughsYAMLIsRefused(t *testing.T) {
	e := newSecEnv(t, nil)
	bearer := map[string]string{"Authorization": "Bearer " + e.login(""), "Content-Type": "application/yaml"}
	var b strings.Builder
	b.WriteString("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		fmt.Fprintf(&b, "%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", n, n, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = n
	}
	b.WriteString("server:\n  name: *i\n")
	// The OpenAPI import needs the configuration service; the e2e test
	// covers it against the binary.
	for _, path := range []string{"/api/v1/mcp-servers"} {
		rec := e.do(req{method: "POST", path: path, body: b.String(), header: bearer})
		require.Equal(t, http.StatusBadRequest, rec.Code, "%s: %s", path, rec.Body.String())
	}
}

func bcryptCost(h []byte) (int, error) { return bcrypt.Cost(h) }
