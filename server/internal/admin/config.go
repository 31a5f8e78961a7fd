package admin

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/server/internal/control"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
)

// resource describes one kind of configuration object for the generic
// list/get/create/update/delete handlers.
type resource[T any] struct {
	kind  string // control.Kind*
	path  string // "/services"
	code  string // error code prefix: "service"
	list  func(spec.Snapshot) []T
	name  func(T) string
	setID func(*T, string, int64) // sets name and version
	ver   func(T) int64
	// decode reads a request body; it applies the object's defaults.
	decode func(c *gin.Context) (T, error)
	// secrets masks the object's secrets in responses and keeps them on
	// write (secrets.go); zero for kinds without secrets.
	secrets secretCodec[T]
	// extra, if set, adds read-only rows to the list (the routes that AI
	// routes compile to, ai.go) that match the query q.
	extra func(snap spec.Snapshot, q string) []any
}

func registerResource[T any](s *Server, g *gin.RouterGroup, r resource[T]) {
	g.GET(r.path, func(c *gin.Context) {
		snap, rev := s.opts.Config.Snapshot()
		items := r.list(snap)
		if q := strings.ToLower(c.Query("q")); q != "" {
			var kept []T
			for _, it := range items {
				if strings.Contains(strings.ToLower(r.name(it)), q) {
					kept = append(kept, it)
				}
			}
			items = kept
		}
		if items == nil {
			items = []T{}
		}
		items = r.shown(c.Request.Context(), s, items)
		c.Header("X-Config-Revision", strconv.FormatInt(rev, 10))
		if r.extra != nil {
			all := make([]any, 0, len(items))
			for _, it := range items {
				all = append(all, it)
			}
			all = append(all, r.extra(snap, c.Query("q"))...)
			c.JSON(http.StatusOK, gin.H{"items": all, "total": len(all)})
			return
		}
		c.JSON(http.StatusOK, gin.H{"items": items, "total": len(items)})
	})
	g.GET(r.path+"/:name", func(c *gin.Context) {
		it, ok := find(s, r, c.Param("name"))
		if !ok {
			s.fail(c, notFound(r.code, c.Param("name"), r.path))
			return
		}
		c.JSON(http.StatusOK, r.shownOne(c.Request.Context(), s, it))
	})
	g.POST(r.path, func(c *gin.Context) {
		obj, err := r.decode(c)
		if err != nil {
			s.fail(c, err)
			return
		}
		name := r.name(obj)
		if _, ok := find(s, r, name); ok {
			s.fail(c, newError(http.StatusConflict, r.code+"_exists",
				fmt.Sprintf("a %s named %q exists already; update it with PUT %s/%s or choose another name", strings.ReplaceAll(r.code, "_", " "), name, "/api/v1"+r.path, name),
				fieldDetail{Field: "name", Message: "already taken"}))
			return
		}
		if obj, err = r.kept(c.Request.Context(), s, obj, nil); err != nil {
			s.fail(c, err)
			return
		}
		s.change(c, r.code, control.Change{Kind: r.kind, Name: name, Object: obj, ExpectVersion: -1}, http.StatusCreated, func() (any, bool) {
			return r.found(c.Request.Context(), s, name)
		})
	})
	g.PUT(r.path+"/:name", func(c *gin.Context) {
		obj, err := r.decode(c)
		if err != nil {
			s.fail(c, err)
			return
		}
		name := c.Param("name")
		if n := r.name(obj); n != "" && n != name {
			s.fail(c, newError(http.StatusBadRequest, r.code+"_invalid",
				fmt.Sprintf("the body names %q but the URL names %q; objects cannot be renamed — create a new one and delete the old", n, name),
				fieldDetail{Field: "name", Message: "must match the URL"}))
			return
		}
		stored, ok := find(s, r, name)
		if !ok {
			s.fail(c, notFound(r.code, name, r.path))
			return
		}
		if obj, err = r.kept(c.Request.Context(), s, obj, &stored); err != nil {
			s.fail(c, err)
			return
		}
		version := r.ver(obj)
		r.setID(&obj, name, 0)
		s.change(c, r.code, control.Change{Kind: r.kind, Name: name, Object: obj, ExpectVersion: version}, http.StatusOK, func() (any, bool) {
			return r.found(c.Request.Context(), s, name)
		})
	})
	g.DELETE(r.path+"/:name", func(c *gin.Context) {
		name := c.Param("name")
		var version int64
		if v := c.Query("version"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				s.fail(c, newError(http.StatusBadRequest, "invalid_query", "version must be a positive number", fieldDetail{Field: "version", Message: "a positive number"}))
				return
			}
			version = n
		}
		if _, ok := find(s, r, name); !ok {
			s.fail(c, notFound(r.code, name, r.path))
			return
		}
		s.change(c, r.code, control.Change{Kind: r.kind, Name: name, ExpectVersion: version}, http.StatusNoContent, nil)
	})
}

func find[T any](s *Server, r resource[T], name string) (T, bool) {
	snap, _ := s.opts.Config.Snapshot()
	for _, it := range r.list(snap) {
		if r.name(it) == name {
			return it, true
		}
	}
	var zero T
	return zero, false
}

func notFound(code, name, path string) error {
	return newError(http.StatusNotFound, code+"_not_found",
		fmt.Sprintf("no %s named %q; GET /api/v1%s lists them", strings.ReplaceAll(code, "_", " "), name, path))
}

// change applies one change and answers with the stored object.
func (s *Server) change(c *gin.Context, code string, ch control.Change, status int, result func() (any, bool)) {
	user := c.MustGet(userKey).(*store.User).Username
	if _, err := s.opts.Config.Apply(c.Request.Context(), user, []control.Change{ch}); err != nil {
		s.fail(c, configError(code, err))
		return
	}
	if result == nil {
		c.Status(status)
		return
	}
	obj, _ := result()
	c.JSON(status, obj)
}

// configError maps the errors of a configuration change to API errors:
// validation (400, every field), version conflicts (409), missing (404).
func configError(code string, err error) error {
	var vc *store.VersionConflict
	switch {
	case errors.As(err, &vc):
		return newError(http.StatusConflict, "version_conflict", vc.Error(), fieldDetail{Field: "version", Message: fmt.Sprintf("stored version is %d", vc.Found)})
	case errors.Is(err, store.ErrNotFound):
		return newError(http.StatusNotFound, code+"_not_found", err.Error())
	}
	if fes := spec.FieldErrors(err); len(fes) > 0 {
		details := make([]fieldDetail, 0, len(fes))
		msgs := make([]string, 0, len(fes))
		for _, fe := range fes {
			details = append(details, fieldDetail{Field: fe.Field, Message: fe.Message})
			msgs = append(msgs, fe.Error())
		}
		errCode := fes[0].Code
		if errCode == "" {
			errCode = code + "_invalid"
		}
		return newError(http.StatusBadRequest, errCode, "the change was refused and nothing was changed: "+strings.Join(msgs, "; "), details...)
	}
	return err
}

// decodeJSON returns a decode function for a JSON object with defaults.
func decodeJSON[T any](code string, defaults func(*T)) func(c *gin.Context) (T, error) {
	return func(c *gin.Context) (T, error) {
		var v T
		if err := bindJSON(c, &v); err != nil {
			ae := err.(*apiError)
			ae.Code = code + "_invalid"
			return v, ae
		}
		if defaults != nil {
			defaults(&v)
		}
		return v, nil
	}
}

// maxDefinitionBytes bounds an MCP server definition or OpenAPI document.
const maxDefinitionBytes = 4 << 20

func decodeMCPServer(c *gin.Context) (spec.MCPServer, error) {
	data, err := io.ReadAll(io.LimitReader(c.Request.Body, maxDefinitionBytes+1))
	if err != nil {
		return spec.MCPServer{}, newError(http.StatusBadRequest, "mcp_server_invalid", "cannot read the body: "+err.Error())
	}
	if len(data) > maxDefinitionBytes {
		return spec.MCPServer{}, newError(http.StatusRequestEntityTooLarge, "mcp_server_too_large", "the definition is larger than 4 MiB")
	}
	m, err := spec.ParseMCPServer(data)
	if err != nil {
		return m, configError("mcp_server", err)
	}
	return m, nil
}

func (s *Server) registerConfig(g *gin.RouterGroup) {
	registerResource(s, g, resource[spec.Service]{
		kind: control.KindService, path: "/services", code: "service",
		list:   func(s spec.Snapshot) []spec.Service { return s.Services },
		name:   func(v spec.Service) string { return v.Name },
		setID:  func(v *spec.Service, n string, ver int64) { v.Name, v.Version = n, ver },
		ver:    func(v spec.Service) int64 { return v.Version },
		decode: decodeJSON("service", func(v *spec.Service) { v.ApplyDefaults() }),
	})
	registerResource(s, g, resource[spec.Route]{
		kind: control.KindRoute, path: "/routes", code: "route",
		list:   func(s spec.Snapshot) []spec.Route { return s.Routes },
		name:   func(v spec.Route) string { return v.Name },
		setID:  func(v *spec.Route, n string, ver int64) { v.Name, v.Version = n, ver },
		ver:    func(v spec.Route) int64 { return v.Version },
		decode: decodeJSON("route", func(v *spec.Route) { v.ApplyDefaults() }),
		extra:  aiRouteRows,
	})
	registerResource(s, g, resource[spec.PluginInstance]{
		kind: control.KindPluginInstance, path: "/plugin-instances", code: "plugin_instance",
		list:    func(s spec.Snapshot) []spec.PluginInstance { return s.PluginInstances },
		name:    func(v spec.PluginInstance) string { return v.Name },
		setID:   func(v *spec.PluginInstance, n string, ver int64) { v.Name, v.Version = n, ver },
		ver:     func(v spec.PluginInstance) int64 { return v.Version },
		decode:  decodeJSON("plugin_instance", func(v *spec.PluginInstance) { v.ApplyDefaults() }),
		secrets: pluginInstanceSecrets,
	})
	registerResource(s, g, resource[spec.MCPServer]{
		kind: control.KindMCPServer, path: "/mcp-servers", code: "mcp_server",
		list:    func(s spec.Snapshot) []spec.MCPServer { return s.MCPServers },
		name:    func(v spec.MCPServer) string { return v.Name },
		setID:   func(v *spec.MCPServer, n string, ver int64) { v.Name, v.Version = n, ver },
		ver:     func(v spec.MCPServer) int64 { return v.Version },
		decode:  decodeMCPServer,
		secrets: mcpServerSecrets,
	})
	s.registerAI(g)
	g.GET("/revisions", s.listRevisions)
	g.POST("/revisions/:id/rollback", s.rollback)
}

type revisionView struct {
	ID        int64  `json:"id"`
	CreatedAt string `json:"createdAt"`
	User      string `json:"user"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Action    string `json:"action"`
	Before    any    `json:"before"`
	After     any    `json:"after"`
	Batch     string `json:"batch"`
}

func rawOrNil(b []byte) any {
	if b == nil {
		return nil
	}
	return jsonRaw(b)
}

type jsonRaw []byte

func (j jsonRaw) MarshalJSON() ([]byte, error) { return j, nil }

func (s *Server) listRevisions(c *gin.Context) {
	limit, offset := 50, 0
	if v, err := strconv.Atoi(c.Query("limit")); err == nil && v > 0 && v <= 500 {
		limit = v
	}
	if v, err := strconv.Atoi(c.Query("offset")); err == nil && v >= 0 {
		offset = v
	}
	revs, total, err := s.opts.Store.Revisions(c.Request.Context(), limit, offset)
	if err != nil {
		s.fail(c, err)
		return
	}
	items := make([]revisionView, len(revs))
	sr := s.secretRules(c.Request.Context())
	for i, r := range revs {
		items[i] = revisionView{ID: r.ID, CreatedAt: r.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), User: r.User, Kind: r.Kind,
			Name: r.Name, Action: r.Action, Before: rawOrNil(sr.revision(r.Kind, r.Before)), After: rawOrNil(sr.revision(r.Kind, r.After)), Batch: r.Batch}
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "total": total})
}

func (s *Server) rollback(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		s.fail(c, newError(http.StatusBadRequest, "invalid_path", "the revision id must be a number"))
		return
	}
	user := c.MustGet(userKey).(*store.User).Username
	rev, err := s.opts.Config.Rollback(c.Request.Context(), user, id)
	if errors.Is(err, store.ErrNotFound) && rev == nil {
		s.fail(c, newError(http.StatusNotFound, "revision_not_found", fmt.Sprintf("no revision %d; GET /api/v1/revisions lists them", id)))
		return
	}
	if err != nil {
		s.fail(c, configError("revision", err))
		return
	}
	_, cur := s.opts.Config.Snapshot()
	c.JSON(http.StatusOK, gin.H{"rolledBack": id, "kind": rev.Kind, "name": rev.Name, "revision": cur})
}
