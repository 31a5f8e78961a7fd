package admin

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
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
	client := c.ClientIP()
	if wait := s.limiter.blocked(client); wait > 0 {
		c.Header("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
		s.fail(c, newError(http.StatusTooManyRequests, "too_many_attempts",
			"too many failed logins from this address; wait "+wait.Round(time.Second).String()+" and try again"))
		return
	}
	var cr credentials
	if err := bindJSON(c, &cr); err != nil {
		s.fail(c, err)
		return
	}
	u, err := s.opts.Store.GetUser(c.Request.Context(), cr.Username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.fail(c, err)
		return
	}
	if u == nil || bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(cr.Password)) != nil {
		s.limiter.fail(client)
		s.log.Warn("failed admin login", "user", cr.Username, "client", client)
		s.fail(c, newError(http.StatusUnauthorized, "invalid_credentials", "wrong username or password"))
		return
	}
	s.limiter.reset(client)
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

func (s *Server) logout(c *gin.Context) {
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
	claims := tokenClaims{
		PasswordTag: passwordTag(u.PasswordHash),
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: tokenIssuer, Subject: u.Username,
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
	if err != nil {
		unauthorized("the token is invalid or expired; log in again")
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
	c.Next()
}
