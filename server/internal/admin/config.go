package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/server/internal/control"
	"github.com/gatehouse-dev/gatehouse/server/internal/secret"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
)

// resource adds what the admin API needs beyond spec.Kind to serve one
// kind of configuration object with the generic list/get/create/update/
// delete handlers. The zero value serves a kind as strict JSON; secrets
// are the objects' own (spec.SecretHolder).
type resource struct {
	// decode reads a request body; nil reads strict JSON and applies the
	// object's defaults (spec.Kind.DecodeWith).
	decode func(c *gin.Context) (spec.Object, error)
	// extra, if set, adds read-only rows to the list (the routes that AI
	// routes compile to, ai.go) that match the query q.
	extra func(snap spec.Snapshot, q string) []any
}

// resources are the admin API's parts of the kinds that have any.
func (s *Server) resources() map[string]resource {
	return map[string]resource{
		spec.KindRoute:     {extra: aiRouteRows},
		spec.KindMCPServer: {decode: decodeMCPServer},
	}
}

// kinds are the object kinds served under /api/v1.
func (s *Server) kinds() []spec.Kind {
	if s.opts.Config == nil {
		return spec.Kinds
	}
	return s.opts.Config.Kinds()
}

func (s *Server) registerResource(g *gin.RouterGroup, k spec.Kind, r resource) {
	code := k.Code()
	if r.decode == nil {
		r.decode = func(c *gin.Context) (spec.Object, error) {
			obj, err := k.DecodeWith(func(v any) error { return bindJSON(c, v) })
			var ae *apiError
			if errors.As(err, &ae) {
				ae.Code = code + "_invalid"
			}
			return obj, err
		}
	}
	g.GET(k.Path, func(c *gin.Context) {
		snap, rev := s.opts.Config.Snapshot()
		items := k.Objects(snap)
		if q := strings.ToLower(c.Query("q")); q != "" {
			items = slices.DeleteFunc(items, func(o spec.Object) bool { return !strings.Contains(strings.ToLower(o.ObjectName()), q) })
		}
		all := s.shown(c.Request.Context(), items)
		if r.extra != nil {
			all = append(all, r.extra(snap, c.Query("q"))...)
		}
		c.Header("X-Config-Revision", strconv.FormatInt(rev, 10))
		c.JSON(http.StatusOK, gin.H{"items": all, "total": len(all)})
	})
	g.GET(k.Path+"/:name", func(c *gin.Context) {
		snap, _ := s.opts.Config.Snapshot()
		it, ok := k.Find(snap, c.Param("name"))
		if !ok {
			s.fail(c, notFound(code, c.Param("name"), k.Path))
			return
		}
		c.JSON(http.StatusOK, s.shown(c.Request.Context(), []spec.Object{it})[0])
	})
	g.POST(k.Path, func(c *gin.Context) {
		obj, err := r.decode(c)
		if err != nil {
			s.fail(c, err)
			return
		}
		name := obj.ObjectName()
		snap, _ := s.opts.Config.Snapshot()
		if _, ok := k.Find(snap, name); ok {
			s.fail(c, newError(http.StatusConflict, code+"_exists",
				fmt.Sprintf("a %s named %q exists already; update it with PUT %s/%s or choose another name", k.Title(), name, "/api/v1"+k.Path, name),
				fieldDetail{Field: "name", Message: "already taken"}))
			return
		}
		if obj, err = s.kept(c.Request.Context(), obj, nil); err != nil {
			s.fail(c, err)
			return
		}
		s.change(c, k, control.Change{Kind: k.Name, Name: name, Object: obj, ExpectVersion: -1}, http.StatusCreated)
	})
	g.PUT(k.Path+"/:name", func(c *gin.Context) {
		obj, err := r.decode(c)
		if err != nil {
			s.fail(c, err)
			return
		}
		name := c.Param("name")
		if n := obj.ObjectName(); n != "" && n != name {
			s.fail(c, newError(http.StatusBadRequest, code+"_invalid",
				fmt.Sprintf("the body names %q but the URL names %q; objects cannot be renamed — create a new one and delete the old", n, name),
				fieldDetail{Field: "name", Message: "must match the URL"}))
			return
		}
		snap, _ := s.opts.Config.Snapshot()
		stored, ok := k.Find(snap, name)
		if !ok {
			s.fail(c, notFound(code, name, k.Path))
			return
		}
		if obj, err = s.kept(c.Request.Context(), obj, stored); err != nil {
			s.fail(c, err)
			return
		}
		version := obj.ObjectVersion()
		obj = obj.WithIdentity(name, 0)
		s.change(c, k, control.Change{Kind: k.Name, Name: name, Object: obj, ExpectVersion: version}, http.StatusOK)
	})
	g.DELETE(k.Path+"/:name", func(c *gin.Context) {
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
		snap, _ := s.opts.Config.Snapshot()
		if _, ok := k.Find(snap, name); !ok {
			s.fail(c, notFound(code, name, k.Path))
			return
		}
		s.change(c, k, control.Change{Kind: k.Name, Name: name, ExpectVersion: version}, http.StatusNoContent)
	})
}

func notFound(code, name, path string) error {
	return newError(http.StatusNotFound, code+"_not_found",
		fmt.Sprintf("no %s named %q; GET /api/v1%s lists them", strings.ReplaceAll(code, "_", " "), name, path))
}

// change applies one change and answers with the stored object, its
// secrets masked.
func (s *Server) change(c *gin.Context, k spec.Kind, ch control.Change, status int) {
	user := c.MustGet(userKey).(*store.User).Username
	stored, err := s.opts.Config.Apply(c.Request.Context(), user, []control.Change{ch})
	if err != nil {
		s.fail(c, configError(k.Code(), err))
		return
	}
	if len(stored) == 0 {
		c.Status(status)
		return
	}
	c.JSON(status, s.answer(c.Request.Context(), stored[0]))
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

// maxDefinitionBytes bounds an MCP server definition or OpenAPI document.
const maxDefinitionBytes = 4 << 20

func decodeMCPServer(c *gin.Context) (spec.Object, error) {
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
	res := s.resources()
	for _, k := range s.kinds() {
		s.registerResource(g, k, res[k.Name])
	}
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
	plugins := s.secretPlugins(c.Request.Context())
	mask := func(kind string, data []byte) any {
		if k, ok := spec.KindOf(s.kinds(), kind); ok {
			data = k.MaskStored(data, plugins)
		}
		return rawOrNil(data)
	}
	for i, r := range revs {
		items[i] = revisionView{ID: r.ID, CreatedAt: r.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), User: r.User, Kind: r.Kind,
			Name: r.Name, Action: r.Action, Before: mask(r.Kind, r.Before), After: mask(r.Kind, r.After), Batch: r.Batch}
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

// secretPlugins loads the config schemas of the loaded plugins, which say
// where plugin instances keep secrets. Without a catalog (or when it
// fails) every plugin falls back to secret names, so that nothing is shown
// that might be a secret.
func (s *Server) secretPlugins(ctx context.Context) *secret.Plugins {
	schemas := map[string]json.RawMessage{}
	if s.opts.Plugins != nil {
		items, err := s.opts.Plugins.List(ctx)
		if err != nil {
			s.log.Warn("plugin config schemas unavailable; masking plugin configs by property name", "error", err)
		}
		for _, p := range items {
			if len(p.ConfigSchema) > 0 {
				schemas[p.Name] = p.ConfigSchema
			}
		}
	}
	return secret.NewPlugins(schemas)
}

// shown returns items as responses show them: secrets masked
// (spec.SecretHolder).
func (s *Server) shown(ctx context.Context, items []spec.Object) []any {
	out := make([]any, len(items))
	var plugins *secret.Plugins
	for i, it := range items {
		if h, ok := it.(spec.SecretHolder); ok {
			if plugins == nil {
				plugins = s.secretPlugins(ctx)
			}
			it = h.MaskSecrets(plugins)
		}
		out[i] = it
	}
	return out
}

// kept returns obj, read from a request, with the secrets of stored (nil
// for a new object) put back where it sends the mask.
func (s *Server) kept(ctx context.Context, obj, stored spec.Object) (spec.Object, error) {
	h, ok := obj.(spec.SecretHolder)
	if !ok {
		return obj, nil
	}
	return h.KeepSecrets(stored, s.secretPlugins(ctx))
}

// answer is obj as a response shows it: secrets masked; an MCP server
// also carries the warnings its running instance reports.
func (s *Server) answer(ctx context.Context, obj spec.Object) any {
	shown := s.shown(ctx, []spec.Object{obj})[0]
	if m, isMCP := shown.(spec.MCPServer); isMCP {
		return s.withMCPWarnings(m)
	}
	return shown
}
