package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// ConsumerHeader is the request header that carries the authenticated
// consumer's name to the upstream. key-auth removes any value the client
// sent before it sets its own.
const ConsumerHeader = "X-Gatehouse-Consumer"

type consumer struct {
	name string
	key  []byte
}

// instance is one configured key-auth. It is immutable after New and safe
// for concurrent use.
type instance struct {
	log *slog.Logger
	// byDigest finds a consumer by the SHA-256 of their key, so that the
	// lookup's timing says nothing about the key; the key is then compared
	// in constant time.
	byDigest   map[[sha256.Size]byte]*consumer
	headers    []string // canonical header names to read, when inHeader
	params     []string // query parameter names to read, when inQuery
	hide       bool
	where      string   // where the key goes, for the 401 message
	challenges []string // WWW-Authenticate values
}

func newInstance(c *config, log *slog.Logger) *instance {
	in := &instance{log: log, byDigest: make(map[[sha256.Size]byte]*consumer, len(c.Consumers)), hide: c.HideCredentials}
	for _, cc := range c.Consumers {
		in.byDigest[sha256.Sum256([]byte(cc.Key))] = &consumer{name: cc.Name, key: []byte(cc.Key)}
	}
	var places []string
	bearer := false
	if *c.InHeader {
		for _, k := range c.Keys {
			h := http.CanonicalHeaderKey(k)
			in.headers = append(in.headers, h)
			if isAuthorization(h) {
				bearer = true
				places = append(places, "the Authorization header as 'Bearer <key>'")
			} else {
				places = append(places, "the "+h+" header")
			}
		}
	}
	if *c.InQuery {
		for _, k := range c.Keys {
			in.params = append(in.params, k)
			places = append(places, "the "+k+" query parameter")
		}
	}
	in.where = strings.Join(places, " or ")
	realm := `realm="` + c.Realm + `"`
	in.challenges = []string{"Key " + realm}
	if bearer {
		in.challenges = append(in.challenges, "Bearer "+realm)
	}
	return in
}

// Handler implements pluginapi.Instance.
func (in *instance) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Whatever happens next, the client's own claim of a consumer does
		// not travel on.
		r.Header.Del(ConsumerHeader)

		key, problem := in.extract(r)
		if problem != "" {
			in.refuse(w, r, problem)
			return
		}
		c := in.lookup(key)
		if c == nil {
			in.refuse(w, r, "the API key is not valid; check the key you were given")
			return
		}
		if in.hide {
			in.strip(r)
		}
		r.Header.Set(ConsumerHeader, c.name)
		next.ServeHTTP(w, r.WithContext(pluginapi.WithConsumer(r.Context(), c.name)))
	})
}

// extract returns the one key the request carries, or why there is none.
func (in *instance) extract(r *http.Request) (key, problem string) {
	found := func(v string) bool {
		if v == "" {
			return false
		}
		if key != "" && key != v {
			problem = "more than one API key was sent; send exactly one, in " + in.where
			return true
		}
		key = v
		return false
	}
	for _, h := range in.headers {
		for _, v := range r.Header.Values(h) {
			if isAuthorization(h) {
				scheme, token, ok := strings.Cut(v, " ")
				if !ok || !strings.EqualFold(scheme, "Bearer") {
					continue
				}
				v = token
			}
			if found(strings.TrimSpace(v)) {
				return "", problem
			}
		}
	}
	if len(in.params) > 0 && r.URL.RawQuery != "" {
		q := r.URL.Query()
		for _, p := range in.params {
			for _, v := range q[p] {
				if found(v) {
					return "", problem
				}
			}
		}
	}
	if key == "" {
		return "", "an API key is required: send it in " + in.where
	}
	return key, ""
}

// lookup returns the consumer whose key is key, or nil.
func (in *instance) lookup(key string) *consumer {
	c := in.byDigest[sha256.Sum256([]byte(key))]
	if c == nil || subtle.ConstantTimeCompare(c.key, []byte(key)) != 1 {
		return nil
	}
	return c
}

// strip removes every configured place a key can travel in.
func (in *instance) strip(r *http.Request) {
	for _, h := range in.headers {
		r.Header.Del(h)
	}
	if len(in.params) == 0 || r.URL.RawQuery == "" {
		return
	}
	q := r.URL.Query()
	changed := false
	for _, p := range in.params {
		if _, ok := q[p]; ok {
			q.Del(p)
			changed = true
		}
	}
	if changed {
		u := *r.URL
		u.RawQuery = q.Encode()
		r.URL = &u
		// RequestURI is what a server received; the proxy builds the
		// upstream request from URL, but keep them consistent.
		r.RequestURI = u.RequestURI()
	}
}

// refuse answers 401. The key, if any, is never logged.
func (in *instance) refuse(w http.ResponseWriter, r *http.Request, message string) {
	in.log.Debug("request refused", "reason", message, "client_address", clientHost(r), "path", r.URL.Path)
	for _, c := range in.challenges {
		w.Header().Add("WWW-Authenticate", c)
	}
	pluginapi.WriteError(w, http.StatusUnauthorized, "unauthorized", message)
}

// Close implements pluginapi.Instance; key-auth holds nothing to release.
func (in *instance) Close() error { return nil }

func clientHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

var (
	_ pluginapi.Plugin   = keyAuthPlugin{}
	_ pluginapi.Instance = (*instance)(nil)
)
