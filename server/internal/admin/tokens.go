package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/server/internal/store"
)

// TokenPrefix starts every API token, so that tokens found in a log or a
// repository are recognisable.
const TokenPrefix = "ght_"

// Token scopes: read allows GET and HEAD only; write allows everything but
// managing tokens and passwords, which need a login session.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

const (
	tokenKey     = "api_token"
	maxTokenLife = 366 * 24 * time.Hour
	touchAfter   = time.Minute
)

type tokenView struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	User       string     `json:"user"`
	Scope      string     `json:"scope"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  *time.Time `json:"expiresAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	// Token is set only in the answer to the creation.
	Token string `json:"token,omitempty"`
}

func viewOf(t store.APIToken) tokenView {
	return tokenView{ID: t.ID, Name: t.Name, User: t.Username, Scope: t.Scope, Prefix: t.Prefix,
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt}
}

func hashToken(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

func (s *Server) registerTokens(g *gin.RouterGroup) {
	g.GET("/tokens", s.listTokens)
	g.POST("/tokens", s.sessionOnly, s.createToken)
	g.DELETE("/tokens/:id", s.sessionOnly, s.deleteToken)
}

// sessionOnly refuses API tokens: creating tokens and changing passwords
// need a person's login, so a leaked token cannot mint others.
func (s *Server) sessionOnly(c *gin.Context) {
	if _, ok := c.Get(tokenKey); ok {
		s.fail(c, newError(http.StatusForbidden, "session_required", "API tokens cannot do this; log in with a username and password"))
		return
	}
	c.Next()
}

func (s *Server) listTokens(c *gin.Context) {
	toks, err := s.opts.Store.Tokens(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	items := make([]tokenView, len(toks))
	for i, t := range toks {
		items[i] = viewOf(t)
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "total": len(items)})
}

func (s *Server) createToken(c *gin.Context) {
	var body struct {
		Name      string `json:"name"`
		Scope     string `json:"scope"`
		ExpiresIn string `json:"expiresIn"`
	}
	if err := bindJSON(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	var details []fieldDetail
	body.Name = strings.TrimSpace(body.Name)
	if body.Name == "" || len(body.Name) > 64 {
		details = append(details, fieldDetail{Field: "name", Message: "give the token a name of 1 to 64 characters, such as ci-deploy"})
	}
	if body.Scope != ScopeRead && body.Scope != ScopeWrite {
		details = append(details, fieldDetail{Field: "scope", Message: `use "read" (GET only) or "write"`})
	}
	var expires *time.Time
	if body.ExpiresIn != "" {
		d, err := time.ParseDuration(body.ExpiresIn)
		if err != nil || d < time.Minute || d > maxTokenLife {
			details = append(details, fieldDetail{Field: "expiresIn", Message: "a duration from 1m to 8784h, such as 720h; leave it out for a token that does not expire"})
		} else {
			at := time.Now().Add(d).UTC()
			expires = &at
		}
	}
	if details != nil {
		s.fail(c, newError(http.StatusBadRequest, "token_invalid", "the token cannot be created as asked", details...))
		return
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		s.fail(c, err)
		return
	}
	raw := TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	user := c.MustGet(userKey).(*store.User).Username
	tok, err := s.opts.Store.CreateToken(c.Request.Context(), store.APIToken{Name: body.Name, Username: user, Scope: body.Scope,
		Prefix: raw[:len(TokenPrefix)+4], ExpiresAt: expires}, hashToken(raw))
	if err != nil {
		s.fail(c, err)
		return
	}
	s.log.Info("API token created", "user", user, "token_name", tok.Name, "scope", tok.Scope, "token_id", tok.ID)
	v := viewOf(tok)
	v.Token = raw
	c.JSON(http.StatusCreated, v)
}

func (s *Server) deleteToken(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		s.fail(c, newError(http.StatusBadRequest, "invalid_path", "the token id must be a number"))
		return
	}
	if err := s.opts.Store.DeleteToken(c.Request.Context(), id); errors.Is(err, store.ErrNotFound) {
		s.fail(c, newError(http.StatusNotFound, "token_not_found", fmt.Sprintf("no API token %d; GET /api/v1/tokens lists them", id)))
		return
	} else if err != nil {
		s.fail(c, err)
		return
	}
	s.log.Info("API token revoked", "user", c.MustGet(userKey).(*store.User).Username, "token_id", id)
	c.Status(http.StatusNoContent)
}

// authenticateToken resolves an API token into its user, enforcing expiry
// and scope. It reports false after answering the request itself.
func (s *Server) authenticateToken(c *gin.Context, raw string) (*store.User, bool) {
	tok, err := s.opts.Store.TokenByHash(c.Request.Context(), hashToken(raw))
	if errors.Is(err, store.ErrNotFound) || (err == nil && tok.ExpiresAt != nil && time.Now().After(*tok.ExpiresAt)) {
		c.Header("WWW-Authenticate", `Bearer realm="gatehouse"`)
		s.fail(c, newError(http.StatusUnauthorized, "unauthorized", "the API token is unknown, revoked or expired; create a new one in Account → API tokens"))
		return nil, false
	}
	if err != nil {
		s.fail(c, err)
		return nil, false
	}
	if tok.Scope == ScopeRead && c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
		s.fail(c, newError(http.StatusForbidden, "insufficient_scope", fmt.Sprintf("the API token %q is read-only; use a write token for %s", tok.Name, c.Request.Method)))
		return nil, false
	}
	u, err := s.opts.Store.GetUser(c.Request.Context(), tok.Username)
	if err != nil {
		c.Header("WWW-Authenticate", `Bearer realm="gatehouse"`)
		s.fail(c, newError(http.StatusUnauthorized, "unauthorized", "the API token's user no longer exists"))
		return nil, false
	}
	if tok.LastUsedAt == nil || time.Since(*tok.LastUsedAt) > touchAfter {
		if err := s.opts.Store.TouchToken(c.Request.Context(), tok.ID, time.Now()); err != nil {
			s.log.Warn("recording API token use failed", "token_id", tok.ID, "error", err)
		}
	}
	c.Set(tokenKey, tok)
	return u, true
}
