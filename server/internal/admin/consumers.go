package admin

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/server/internal/control"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
)

// newKeysKey holds, in the gin context, the keys the server generated for
// the request: the answer shows them once.
const newKeysKey = "gatehouse.newKeys"

// decodeConsumer reads a consumer and generates a key for every
// credential that has none (no key, digest or id); a new consumer without
// credentials gets one key.
func decodeConsumer(k spec.Kind) func(c *gin.Context) (spec.Object, error) {
	return func(c *gin.Context) (spec.Object, error) {
		obj, err := k.DecodeWith(func(v any) error { return bindJSON(c, v) })
		var ae *apiError
		if errors.As(err, &ae) {
			ae.Code = spec.CodeConsumerInvalid
		}
		if err != nil {
			return obj, err
		}
		cons := obj.WithIdentity(obj.ObjectName(), obj.ObjectVersion()).(spec.Consumer)
		if c.Request.Method == http.MethodPost && len(cons.Credentials) == 0 {
			cons.Credentials = []spec.Credential{{}}
		}
		var generated []string
		for i := range cons.Credentials {
			cr := &cons.Credentials[i]
			if cr.Key == "" && cr.KeySHA256 == "" && cr.ID == "" {
				cr.Key = spec.NewConsumerKey()
				generated = append(generated, cr.Key)
			}
		}
		// Every key sent in clear is shown back once too (it is hashed
		// before it is stored and never shown again).
		for _, cr := range cons.Credentials {
			if cr.Key != "" && !slices.Contains(generated, cr.Key) {
				generated = append(generated, cr.Key)
			}
		}
		c.Set(newKeysKey, generated)
		return cons, nil
	}
}

// withNewKeys puts the keys created by this request into the answer, the
// only time they are shown.
func withNewKeys(c *gin.Context, shown any) any {
	v, ok := c.Get(newKeysKey)
	cons, isConsumer := shown.(spec.Consumer)
	if !ok || !isConsumer {
		return shown
	}
	cons = cons.WithIdentity(cons.Name, cons.Version).(spec.Consumer)
	for _, key := range v.([]string) {
		id := spec.CredentialIDOf(key)
		for i := range cons.Credentials {
			if cons.Credentials[i].ID == id {
				cons.Credentials[i].Key = key
			}
		}
	}
	return cons
}

type newKeyRequest struct {
	// Key is optional: the server generates one when empty.
	Key       string     `json:"key"`
	ID        string     `json:"id"`
	ExpiresAt *time.Time `json:"expiresAt"`
}

type newKeyAnswer struct {
	ID        string     `json:"id"`
	Key       string     `json:"key"`
	Hint      string     `json:"hint,omitempty"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	Consumer  any        `json:"consumer"`
}

func (s *Server) registerConsumers(g *gin.RouterGroup) {
	g.POST("/consumers/:name/keys", s.addConsumerKey)
	g.DELETE("/consumers/:name/keys/:id", s.revokeConsumerKey)
	if s.opts.Usage != nil {
		s.registerConsumerUsage(g)
	}
}

// addConsumerKey adds a key to a consumer; the answer shows it once.
func (s *Server) addConsumerKey(c *gin.Context) {
	var req newKeyRequest
	if c.Request.ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			var ae *apiError
			if errors.As(err, &ae) {
				ae.Code = spec.CodeConsumerInvalid
			}
			s.fail(c, err)
			return
		}
	}
	stored, ok := s.consumer(c)
	if !ok {
		return
	}
	if req.Key == "" {
		req.Key = spec.NewConsumerKey()
	}
	cons := stored.WithIdentity(stored.Name, 0).(spec.Consumer)
	cons.Credentials = append(cons.Credentials, spec.Credential{ID: req.ID, Key: req.Key, ExpiresAt: req.ExpiresAt})
	if err := cons.Validate(); err != nil {
		s.fail(c, configError(spec.CodeConsumerInvalid, err))
		return
	}
	cons.Normalize()
	k, _ := spec.KindOf(s.kinds(), spec.KindConsumer)
	user := c.MustGet(userKey).(*store.User).Username
	out, err := s.opts.Config.Apply(c.Request.Context(), user, []control.Change{{Kind: k.Name, Name: cons.Name, Object: cons, ExpectVersion: stored.Version}})
	if err != nil {
		s.fail(c, configError(k.Code(), err))
		return
	}
	cr := cons.Credentials[len(cons.Credentials)-1]
	c.JSON(http.StatusCreated, newKeyAnswer{ID: cr.ID, Key: req.Key, Hint: cr.Hint, ExpiresAt: cr.ExpiresAt, Consumer: s.answer(c.Request.Context(), out[0])})
}

// revokeConsumerKey removes a key of a consumer; key-auth refuses it from
// the next configuration on.
func (s *Server) revokeConsumerKey(c *gin.Context) {
	stored, ok := s.consumer(c)
	if !ok {
		return
	}
	id := c.Param("id")
	i := slices.IndexFunc(stored.Credentials, func(cr spec.Credential) bool { return cr.ID == id })
	if i < 0 {
		s.fail(c, newError(http.StatusNotFound, "consumer_key_not_found",
			fmt.Sprintf("consumer %q has no key with id %q; GET /api/v1/consumers/%s lists its keys", stored.Name, id, stored.Name)))
		return
	}
	cons := stored.WithIdentity(stored.Name, 0).(spec.Consumer)
	cons.Credentials = slices.Delete(cons.Credentials, i, i+1)
	user := c.MustGet(userKey).(*store.User).Username
	if _, err := s.opts.Config.Apply(c.Request.Context(), user, []control.Change{{Kind: spec.KindConsumer, Name: cons.Name, Object: cons, ExpectVersion: stored.Version}}); err != nil {
		s.fail(c, configError(spec.CodeConsumerInvalid, err))
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) consumer(c *gin.Context) (spec.Consumer, bool) {
	snap, _ := s.opts.Config.Snapshot()
	for _, cons := range snap.Consumers {
		if cons.Name == c.Param("name") {
			return cons, true
		}
	}
	s.fail(c, notFound(spec.CodeConsumerInvalid[:len("consumer")], c.Param("name"), "/consumers"))
	return spec.Consumer{}, false
}
