package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse-dev/gatehouse/server/internal/store"
)

// CookieName is the httpOnly cookie that carries the console's token.
const CookieName = "gatehouse_session"

const (
	userKey        = "user"
	claimsKey      = "session_claims"
	minPasswordLen = 8
	tokenIssuer    = "gatehouse"
)

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (cr credentials) validate() error {
	var details []fieldDetail
	if cr.Username == "" || len(cr.Username) > 64 || strings.ContainsAny(cr.Username, " \t\r\n/") {
		details = append(details, fieldDetail{Field: "username", Message: "use 1 to 64 characters without spaces or slashes"})
	}
	if n := utf8.RuneCountInString(cr.Password); n < minPasswordLen || len(cr.Password) > 72 {
		details = append(details, fieldDetail{Field: "password", Message: "use 8 to 72 characters"})
	}
	if details != nil {
		return newError(http.StatusBadRequest, "invalid_credentials_format", "the username or password is not acceptable", details...)
	}
	return nil
}

// HashPassword returns the bcrypt hash used for administrators.
func HashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	return string(h), err
}

func (s *Server) authStatus(c *gin.Context) {
	has, err := s.opts.Store.HasUsers(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"initialized": has})
}

func (s *Server) authInit(c *gin.Context) {
	var cr credentials
	if err := bindJSON(c, &cr); err != nil {
		s.fail(c, err)
		return
	}
	if err := cr.validate(); err != nil {
		s.fail(c, err)
		return
	}
	hash, err := HashPassword(cr.Password)
	if err != nil {
		s.fail(c, err)
		return
	}
	u, err := s.opts.Store.CreateFirstUser(c.Request.Context(), cr.Username, hash)
	if errors.Is(err, store.ErrAlreadyInitialized) {
		s.fail(c, newError(http.StatusConflict, "already_initialized", "an administrator exists already; log in instead"))
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	s.log.Info("first administrator created", "user", u.Username)
	c.JSON(http.StatusCreated, gin.H{"username": u.Username, "createdAt": u.CreatedAt})
}

func (s *Server) login(c *gin.Context) {
	client := s.clientIP(c)
	var cr credentials
	if err := bindJSON(c, &cr); err != nil {
		s.fail(c, err)
		return
	}
	// Usernames that cannot exist are throttled by address only, so that
	// they cannot fill the per-user table.
	limitUser := cr.Username
	if limitUser == "" || len(limitUser) > 64 {
		limitUser = ""
	}
	if wait, why := s.limiter.blocked(client, limitUser); wait > 0 {
		c.Header("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
		msg := "too many failed logins from this address; wait " + wait.Round(time.Second).String() + " and try again"
		if why == throttleUser {
			msg = "too many failed logins for this user from unknown addresses; wait " + wait.Round(time.Second).String() +
				" and try again, or log in from an address this user logged in from before"
		}
		s.fail(c, newError(http.StatusTooManyRequests, "too_many_attempts", msg))
		return
	}
	u, err := s.opts.Store.GetUser(c.Request.Context(), cr.Username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.fail(c, err)
		return
	}
	hash := dummyHash()
	if u != nil {
		hash = []byte(u.PasswordHash)
	}
	// An unknown user costs a bcrypt comparison too, so that the time of
	// the answer does not tell which usernames exist.
	if s.compareHash(hash, []byte(cr.Password)) != nil || u == nil {
		s.limiter.fail(client, limitUser)
		s.log.Warn("failed admin login", "user", cr.Username, "client", client)
		s.fail(c, newError(http.StatusUnauthorized, "invalid_credentials", "wrong username or password"))
		return
	}
	s.limiter.succeeded(client, u.Username)
	exp := time.Now().Add(s.opts.JWTLifetime)
	token, err := s.issueToken(u, exp)
	if err != nil {
		s.fail(c, err)
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: CookieName, Value: token, Path: "/", Expires: exp,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.Request.TLS != nil,
	})
	c.JSON(http.StatusOK, gin.H{"token": token, "expiresAt": exp.UTC(), "user": gin.H{"username": u.Username}})
}

var (
	dummyOnce sync.Once
	dummy     []byte
)

// dummyHash is a bcrypt hash of a random password at the cost real
// hashes use, compared against for unknown users.
func dummyHash() []byte {
	dummyOnce.Do(func() {
		var b [18]byte
		_, _ = rand.Read(b[:])
		dummy, _ = bcrypt.GenerateFromPassword([]byte(hex.EncodeToString(b[:])), bcrypt.DefaultCost)
	})
	return dummy
}

// logout ends the session: the cookie is cleared and a login token (the
// cookie's or a Bearer one) is revoked on every instance sharing the
// database until it would have expired.
func (s *Server) logout(c *gin.Context) {
	if claims, ok := c.Get(claimsKey); ok {
		cl := claims.(*tokenClaims)
		if err := s.opts.Store.RevokeSession(c.Request.Context(), cl.ID, cl.ExpiresAt.Time); err != nil {
			s.fail(c, err)
			return
		}
		s.log.Info("administrator logged out", "user", cl.Subject)
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.Request.TLS != nil,
	})
	c.Status(http.StatusNoContent)
}

func (s *Server) me(c *gin.Context) {
	u := c.MustGet(userKey).(*store.User)
	c.JSON(http.StatusOK, gin.H{"username": u.Username, "createdAt": u.CreatedAt})
}

func (s *Server) changePassword(c *gin.Context) {
	u := c.MustGet(userKey).(*store.User)
	var body struct {
		CurrentPassword string `json:"currentPassword"`
		NewPassword     string `json:"newPassword"`
	}
	if err := bindJSON(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(body.CurrentPassword)) != nil {
		s.fail(c, newError(http.StatusBadRequest, "invalid_credentials", "the current password is wrong",
			fieldDetail{Field: "currentPassword", Message: "does not match"}))
		return
	}
	if err := (credentials{Username: u.Username, Password: body.NewPassword}).validate(); err != nil {
		s.fail(c, newError(http.StatusBadRequest, "invalid_credentials_format", "the new password is not acceptable",
			fieldDetail{Field: "newPassword", Message: "use 8 to 72 characters"}))
		return
	}
	hash, err := HashPassword(body.NewPassword)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.opts.Store.SetPassword(c.Request.Context(), u.Username, hash); err != nil {
		s.fail(c, err)
		return
	}
	s.log.Info("administrator password changed", "user", u.Username)
	c.Status(http.StatusNoContent)
}

type tokenClaims struct {
	// PasswordTag ties the token to the password it was issued under, so a
	// password change ends every older session.
	PasswordTag string `json:"pwt"`
	jwt.RegisteredClaims
}

func passwordTag(hash string) string {
	sum := sha256.Sum256([]byte(hash))
	return hex.EncodeToString(sum[:6])
}

func (s *Server) issueToken(u *store.User, exp time.Time) (string, error) {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	claims := tokenClaims{
		PasswordTag: passwordTag(u.PasswordHash),
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: tokenIssuer, Subject: u.Username, ID: hex.EncodeToString(id[:]),
			IssuedAt: jwt.NewNumericDate(time.Now()), ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.opts.JWTSecret)
}

// requireAuth accepts a Bearer token or the session cookie.
func (s *Server) requireAuth(c *gin.Context) {
	raw := ""
	if h := c.GetHeader("Authorization"); strings.HasPrefix(h, "Bearer ") {
		raw = strings.TrimPrefix(h, "Bearer ")
	} else if ck, err := c.Cookie(CookieName); err == nil {
		raw = ck
	}
	unauthorized := func(msg string) {
		c.Header("WWW-Authenticate", `Bearer realm="gatehouse"`)
		s.fail(c, newError(http.StatusUnauthorized, "unauthorized", msg))
	}
	if raw == "" {
		unauthorized("log in first: POST /api/v1/auth/login, then send the token as 'Authorization: Bearer <token>'")
		return
	}
	if strings.HasPrefix(raw, TokenPrefix) {
		u, ok := s.authenticateToken(c, raw)
		if !ok {
			return
		}
		c.Set(userKey, u)
		c.Next()
		return
	}
	var claims tokenClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return s.opts.JWTSecret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithIssuer(tokenIssuer), jwt.WithExpirationRequired())
	if err != nil || claims.ID == "" || len(claims.ID) > 64 {
		unauthorized("the token is invalid or expired; log in again")
		return
	}
	revoked, err := s.opts.Store.SessionRevoked(c.Request.Context(), claims.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	if revoked {
		unauthorized("the session has ended (logged out); log in again")
		return
	}
	u, err := s.opts.Store.GetUser(c.Request.Context(), claims.Subject)
	if errors.Is(err, store.ErrNotFound) || (err == nil && passwordTag(u.PasswordHash) != claims.PasswordTag) {
		unauthorized("the session has ended (user removed or password changed); log in again")
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Set(userKey, u)
	c.Set(claimsKey, &claims)
	c.Next()
}
