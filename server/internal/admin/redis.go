package admin

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/server/internal/redisx"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
)

// RedisSettings reads, changes and tests the process's Redis settings
// (/api/v1/settings/redis). Validation errors are errors.Join of errors
// with FieldPath (redisx.FieldError).
type RedisSettings interface {
	// Get returns the stored settings, password included; configured is
	// false when none are stored, and s is then redisx.Defaults().
	Get(ctx context.Context) (s redisx.Settings, configured bool, err error)
	// Put validates s whole, stores it and applies it without a restart.
	// A nil password keeps the stored password; otherwise *password
	// replaces it ("" clears it). When Put fails, nothing is stored and the
	// running client is unchanged. It returns the settings now in force.
	Put(ctx context.Context, s redisx.Settings, password *string) (redisx.Settings, error)
	// Test diagnoses s without storing or applying it; a nil password
	// uses the stored one. Invalid settings fail as in Put.
	Test(ctx context.Context, s redisx.Settings, password *string) (redisx.Diagnosis, error)
}

// redisSettingsView is what GET and PUT answer: the settings without the
// password.
type redisSettingsView struct {
	redisx.Settings
	// PasswordSet tells whether a password is stored; the password itself
	// is write-only.
	PasswordSet bool `json:"passwordSet"`
	// Configured is false until settings were stored (by the API or the
	// GATEHOUSE_REDIS_ADDR bootstrap).
	Configured bool `json:"configured"`
}

func newRedisSettingsView(s redisx.Settings, configured bool) redisSettingsView {
	v := redisSettingsView{Settings: s, PasswordSet: s.Password != "", Configured: configured}
	v.Password = ""
	if v.Addresses == nil {
		v.Addresses = []string{}
	}
	return v
}

// redisSettingsBody is what PUT and test take.
type redisSettingsBody struct {
	redisx.Settings
	// Password shadows Settings.Password: absent or null keeps the stored
	// password, "" clears it.
	Password *string `json:"password"`
	// PasswordSet and Configured are accepted and ignored, so that a client
	// may send back what GET returned.
	PasswordSet *bool `json:"passwordSet"`
	Configured  *bool `json:"configured"`
}

func (s *Server) redisSettings(c *gin.Context) (RedisSettings, bool) {
	if s.opts.Redis == nil {
		s.fail(c, newError(http.StatusServiceUnavailable, "redis_settings_unavailable", "this process has no Redis settings service"))
		return nil, false
	}
	return s.opts.Redis, true
}

func (s *Server) getRedisSettings(c *gin.Context) {
	rs, ok := s.redisSettings(c)
	if !ok {
		return
	}
	settings, configured, err := rs.Get(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, newRedisSettingsView(settings, configured))
}

func (s *Server) putRedisSettings(c *gin.Context) {
	rs, ok := s.redisSettings(c)
	if !ok {
		return
	}
	var body redisSettingsBody
	if err := bindJSON(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	if err := s.storedPasswordAllowed(c, rs, body); err != nil {
		s.fail(c, err)
		return
	}
	applied, err := rs.Put(c, body.Settings, body.Password)
	if err != nil {
		s.fail(c, redisSettingsError(err))
		return
	}
	change := "kept"
	switch {
	case body.Password == nil:
	case *body.Password == "":
		change = "cleared"
	default:
		change = "replaced"
	}
	u := c.MustGet(userKey).(*store.User)
	// applied's LogValue leaves the password out.
	s.log.Info("redis settings changed", "user", u.Username, "settings", applied, "password_change", change)
	c.JSON(http.StatusOK, newRedisSettingsView(applied, true))
}

func (s *Server) testRedisSettings(c *gin.Context) {
	rs, ok := s.redisSettings(c)
	if !ok {
		return
	}
	var body redisSettingsBody
	if err := bindJSON(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	if err := s.storedPasswordAllowed(c, rs, body); err != nil {
		s.fail(c, err)
		return
	}
	d, err := rs.Test(c, body.Settings, body.Password)
	if err != nil {
		s.fail(c, redisSettingsError(err))
		return
	}
	c.JSON(http.StatusOK, d)
}

// storedPasswordAllowed refuses to reuse the stored password (a body
// without "password") for another destination than the one it was entered
// for: otherwise anyone allowed to edit the settings could have it sent to
// a server of their own.
func (s *Server) storedPasswordAllowed(ctx context.Context, rs RedisSettings, body redisSettingsBody) error {
	if body.Password != nil {
		return nil
	}
	stored, configured, err := rs.Get(ctx)
	if err != nil || !configured || stored.Password == "" {
		// Nothing to leak: an unreadable or absent password is not reused.
		return nil
	}
	if redisx.SameDestination(stored, body.Settings) {
		return nil
	}
	return newError(http.StatusBadRequest, "redis_password_required",
		"the destination changed (mode, addresses, master name, username or TLS), so the stored password is not sent there; enter the password again",
		fieldDetail{Field: "password", Message: "required when the destination changes; the stored password is sent only to the destination it was entered for"})
}

// redisSettingsError maps invalid settings to 400 with one detail per
// field; anything else stays a 500.
func redisSettingsError(err error) error {
	if details := fieldDetails(err, "settings"); details != nil {
		return newError(http.StatusBadRequest, "redis_settings_invalid",
			"the Redis settings are invalid; nothing was stored or changed: correct the fields listed in details", details...)
	}
	return err
}
