package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/server/internal/store"
)

// PluginStatus is a plugin as the API shows it.
type PluginStatus struct {
	Name            string `json:"name"`
	ImageAddress    string `json:"imageAddress"`
	Path            string `json:"path"`
	Version         string `json:"version"`
	ABIVersion      int    `json:"abiVersion"`
	SHA256          string `json:"sha256"`
	Required        bool   `json:"required"`
	Status          string `json:"status"`
	Error           string `json:"error,omitempty"`
	RestartRequired bool   `json:"restartRequired"`
	Description     string `json:"description,omitempty"`
	Phase           string `json:"phase,omitempty"`
	Priority        int    `json:"priority"`
	// ConfigSchema is the JSON Schema of an instance's config, for forms.
	ConfigSchema json.RawMessage `json:"configSchema,omitempty"`
}

// PluginCatalog lists the plugins of this process and edits their image
// addresses. SetImageAddress returns store.ErrNotFound for an unknown
// plugin and an error with field details for an invalid address.
type PluginCatalog interface {
	List(ctx context.Context) ([]PluginStatus, error)
	SetImageAddress(ctx context.Context, name, address string) (PluginStatus, error)
}

func (s *Server) listPlugins(c *gin.Context) {
	items, err := s.opts.Plugins.List(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "total": len(items)})
}

func (s *Server) getPlugin(c *gin.Context) {
	items, err := s.opts.Plugins.List(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	for _, p := range items {
		if p.Name == c.Param("name") {
			c.JSON(http.StatusOK, p)
			return
		}
	}
	s.fail(c, pluginNotFound(c.Param("name")))
}

func pluginNotFound(name string) error {
	return newError(http.StatusNotFound, "plugin_not_found", "no plugin named "+name+"; GET /api/v1/plugins lists them")
}

func (s *Server) updatePlugin(c *gin.Context) {
	var body struct {
		ImageAddress string `json:"imageAddress"`
	}
	if err := bindJSON(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	p, err := s.opts.Plugins.SetImageAddress(c, c.Param("name"), body.ImageAddress)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.fail(c, pluginNotFound(c.Param("name")))
		return
	case err != nil:
		if details := fieldDetails(err, "imageAddress"); details != nil {
			s.fail(c, newError(http.StatusBadRequest, "plugin_invalid", err.Error(), details...))
			return
		}
		s.fail(c, err)
		return
	}
	s.log.Info("plugin image address changed", "plugin", p.Name, "image_address", p.ImageAddress, "restart_required", p.RestartRequired)
	c.JSON(http.StatusOK, p)
}

// validationError marks errors that are the user's input, not the server's.
type validationError interface {
	error
	// Field names the offending field, as a JSON path.
	FieldPath() string
}

// fieldDetails unpacks err (possibly joined) into field details when every
// part of it is a validation error; fallback names the field for errors
// that carry none.
func fieldDetails(err error, fallback string) []fieldDetail {
	var parts []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		parts = j.Unwrap()
	} else {
		parts = []error{err}
	}
	var out []fieldDetail
	for _, p := range parts {
		var ve validationError
		if !errors.As(p, &ve) {
			return nil
		}
		field := ve.FieldPath()
		if field == "" {
			field = fallback
		}
		out = append(out, fieldDetail{Field: field, Message: ve.Error()})
	}
	return out
}
