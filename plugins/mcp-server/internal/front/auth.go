package front

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/restmcp"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

const wellKnownPRM = "/.well-known/oauth-protected-resource"

// Authenticator enforces a server's auth: none, api-key (a consumer that
// the key-auth plugin identified earlier in the chain) or jwt (an OAuth 2.1
// resource server validating bearer tokens against the issuer's JWKS).
type Authenticator struct {
	typ       string
	consumers []string
	issuer    string
	audience  string
	passthru  bool
	path      string
	jwks      *jwksCache
	logger    *slog.Logger
}

// NewAuthenticator returns the Authenticator of a server at path; client
// fetches the JWKS of jwt auth.
func NewAuthenticator(a *restmcp.Auth, path string, client func() *http.Client, logger *slog.Logger) (*Authenticator, error) {
	au := &Authenticator{typ: restmcp.AuthNone, path: path, logger: logger}
	if a == nil || a.Type == "" {
		return au, nil
	}
	au.typ = a.Type
	au.consumers = a.Consumers
	au.issuer = a.Issuer
	au.audience = a.Audience
	au.passthru = a.Passthrough
	if a.Type == restmcp.AuthJWT {
		if a.JWKSURL == "" || a.Issuer == "" {
			return nil, &pluginapi.ConfigError{Field: "auth", Message: "jwt auth needs issuer and jwksURL"}
		}
		au.jwks = &jwksCache{url: a.JWKSURL, client: client, keys: map[string]crypto.PublicKey{}}
	}
	return au, nil
}

// Passthrough reports whether client credentials reach tools upstream.
func (a *Authenticator) Passthrough() bool { return a.passthru }

// StripCredentials removes the client's bearer token before a request
// goes upstream.
func (a *Authenticator) StripCredentials(h http.Header) {
	if a.typ == restmcp.AuthJWT {
		h.Del("Authorization")
	}
}

// IsMetadataPath reports whether p is this server's protected resource
// metadata: the RFC 9728 location (/.well-known/oauth-protected-resource
// followed by the server's path), or the same document under the server's
// path, which is what WWW-Authenticate points at.
func (a *Authenticator) IsMetadataPath(p string) bool {
	if a.typ != restmcp.AuthJWT {
		return false
	}
	return p == wellKnownPRM+a.path || p == a.path+wellKnownPRM
}

// metadataURL is the document's URL as clients should fetch it.
func (a *Authenticator) metadataURL(r *http.Request) string {
	return requestOrigin(r) + a.path + wellKnownPRM
}

// ServeMetadata serves the protected resource metadata (RFC 9728).
func (a *Authenticator) ServeMetadata(w http.ResponseWriter, r *http.Request) {
	auth.ProtectedResourceMetadataHandler(&oauthex.ProtectedResourceMetadata{
		Resource:               requestOrigin(r) + a.path,
		AuthorizationServers:   []string{a.issuer},
		BearerMethodsSupported: []string{"header"},
		ResourceName:           strings.TrimPrefix(a.path, "/"),
	}).ServeHTTP(w, r)
}

// requestOrigin is scheme://host of r as the client addressed it.
func requestOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	host := r.Host
	if h := r.Header.Get("X-Forwarded-Host"); h != "" {
		host = h
	}
	return scheme + "://" + host
}

// Authenticate identifies the client, or answers 401/403 itself.
func (a *Authenticator) Authenticate(w http.ResponseWriter, r *http.Request) (Identity, bool) {
	switch a.typ {
	case restmcp.AuthAPIKey:
		c, ok := pluginapi.ConsumerFromContext(r.Context())
		if !ok {
			WriteError(w, http.StatusUnauthorized, nil, CodeForbidden,
				"an API key is required: this MCP server accepts key-auth consumers; send the consumer's key as the key-auth plugin on this route expects")
			return Identity{}, false
		}
		if len(a.consumers) > 0 && !slices.Contains(a.consumers, c) {
			WriteError(w, http.StatusForbidden, nil, CodeForbidden,
				fmt.Sprintf("consumer %q may not use this MCP server", c))
			return Identity{}, false
		}
		return Identity{Consumer: c}, true
	case restmcp.AuthJWT:
		id, err := a.verifyBearer(r)
		if err != nil {
			challenge := fmt.Sprintf("Bearer resource_metadata=%q", a.metadataURL(r))
			if !errors.Is(err, errNoBearer) {
				challenge += `, error="invalid_token"`
			}
			w.Header().Set("WWW-Authenticate", challenge)
			WriteError(w, http.StatusUnauthorized, nil, CodeForbidden, err.Error())
			return Identity{}, false
		}
		return id, true
	}
	return Identity{}, true
}

var errNoBearer = errors.New("a bearer token is required (Authorization: Bearer <token> from " +
	"the authorization server named in the protected resource metadata)")

func (a *Authenticator) verifyBearer(r *http.Request) (Identity, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(token) == "" {
		return Identity{}, errNoBearer
	}
	opts := []jwt.ParserOption{
		jwt.WithIssuer(a.issuer),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(30 * time.Second),
		jwt.WithValidMethods([]string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}),
	}
	if a.audience != "" {
		opts = append(opts, jwt.WithAudience(a.audience))
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(strings.TrimSpace(token), claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return a.jwks.key(r.Context(), kid)
	}, opts...)
	if err != nil {
		return Identity{}, fmt.Errorf("invalid bearer token: %w", err)
	}
	sub, _ := claims.GetSubject()
	if sub == "" {
		if cid, ok := claims["client_id"].(string); ok {
			sub = cid
		}
	}
	return Identity{Consumer: sub}, nil
}

// jwksCache holds an issuer's signing keys, fetched on first use and again
// (at most every 30s) when a token names an unknown key id.
type jwksCache struct {
	url    string
	client func() *http.Client

	mu      sync.Mutex
	keys    map[string]crypto.PublicKey
	fetched time.Time
}

func (c *jwksCache) key(ctx context.Context, kid string) (crypto.PublicKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k := c.find(kid); k != nil && time.Since(c.fetched) < time.Hour {
		return k, nil
	}
	if time.Since(c.fetched) > 30*time.Second {
		if err := c.fetch(ctx); err != nil {
			if k := c.find(kid); k != nil {
				return k, nil // keep serving with the keys we had
			}
			return nil, err
		}
	}
	if k := c.find(kid); k != nil {
		return k, nil
	}
	return nil, fmt.Errorf("no key %q in the JWKS at %s", kid, c.url)
}

func (c *jwksCache) find(kid string) crypto.PublicKey {
	if kid != "" {
		return c.keys[kid]
	}
	if len(c.keys) == 1 {
		for _, k := range c.keys {
			return k
		}
	}
	return nil
}

func (c *jwksCache) fetch(ctx context.Context) error {
	c.fetched = time.Now()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return fmt.Errorf("fetch JWKS %s: %w", c.url, err)
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return fmt.Errorf("fetch JWKS %s: %w", c.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch JWKS %s: HTTP %d", c.url, resp.StatusCode)
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return fmt.Errorf("decode JWKS %s: %w", c.url, err)
	}
	keys := map[string]crypto.PublicKey{}
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		pk, err := k.publicKey()
		if err != nil {
			continue // an unsupported key must not hide the others
		}
		keys[k.Kid] = pk
	}
	if len(keys) == 0 {
		return fmt.Errorf("JWKS %s has no usable signing key", c.url)
	}
	c.keys = keys
	return nil
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

func b64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func (k jwk) publicKey() (crypto.PublicKey, error) {
	switch k.Kty {
	case "RSA":
		n, err := b64(k.N)
		if err != nil {
			return nil, err
		}
		e, err := b64(k.E)
		if err != nil {
			return nil, err
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, fmt.Errorf("unsupported curve %q", k.Crv)
		}
		x, err := b64(k.X)
		if err != nil {
			return nil, err
		}
		y, err := b64(k.Y)
		if err != nil {
			return nil, err
		}
		size := (curve.Params().BitSize + 7) / 8
		if len(x) > size || len(y) > size {
			return nil, errors.New("bad EC coordinates")
		}
		point := make([]byte, 1+2*size)
		point[0] = 4
		copy(point[1+size-len(x):], x)
		copy(point[1+2*size-len(y):], y)
		return ecdsa.ParseUncompressedPublicKey(curve, point)
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, fmt.Errorf("unsupported curve %q", k.Crv)
		}
		x, err := b64(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("bad Ed25519 key")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, fmt.Errorf("unsupported key type %q", k.Kty)
}

// CheckHostAndOrigin protects against DNS rebinding and cross-site
// requests: a request that reached a loopback address must name a loopback
// host (or one of the server's domains), and an Origin header, when
// present, must be the request's own origin, one of the domains, or
// loopback talking to loopback.
func CheckHostAndOrigin(r *http.Request, domains []string) error {
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && la != nil {
		if loopbackAddr(la) && !isLoopback(r.Host) && !matchDomain(hostOnly(r.Host), domains) {
			return fmt.Errorf("host %q is not allowed on a loopback listener (DNS rebinding protection); use localhost or one of the server's domains", r.Host)
		}
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return fmt.Errorf("origin %q is not allowed", origin)
	}
	switch {
	case strings.EqualFold(u.Host, r.Host):
	case matchDomain(u.Hostname(), domains):
	case isLoopback(u.Host) && isLoopback(r.Host):
	default:
		return fmt.Errorf("origin %q is not allowed for this MCP server (host %s); add its domain to the server's domains", origin, r.Host)
	}
	return nil
}

// loopbackAddr reports whether a listener's address is a loopback one
// (without printing a TCP address, as every request asks).
func loopbackAddr(a net.Addr) bool {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.IsLoopback()
	}
	return isLoopback(a.String())
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

func isLoopback(hostport string) bool {
	h := hostOnly(hostport)
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func matchDomain(host string, domains []string) bool {
	host = strings.ToLower(host)
	for _, d := range domains {
		d = strings.ToLower(hostOnly(d))
		if d == host {
			return true
		}
		if rest, ok := strings.CutPrefix(d, "*."); ok && strings.HasSuffix(host, "."+rest) {
			return true
		}
	}
	return false
}
