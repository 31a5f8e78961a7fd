package admin

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/server/internal/control"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

// The AI gateway's objects: /llm-providers and /ai-routes (like every
// configuration object), the provider test, the usage view, and the
// read-only rows of AI routes in /routes.

func (s *Server) registerAI(g *gin.RouterGroup) {
	if s.opts.Registry != nil {
		s.ai.usage = newAIUsage(s.opts.Registry)
	} else {
		s.ai.usage = newAIUsage(nil)
	}
	g.POST("/llm-providers/:name/test", s.testLLMProvider)
	g.GET("/ai/usage", s.aiUsageReport)
	g.GET("/routes/ai-route/:name", s.getAIRouteRow)
	g.PUT("/routes/ai-route/:name", s.aiRouteRowReadOnly)
	g.DELETE("/routes/ai-route/:name", s.aiRouteRowReadOnly)
}

// aiRouteRow is how /routes shows the route an AI route compiles to.
type aiRouteRow struct {
	Name     string         `json:"name"`
	ReadOnly bool           `json:"readOnly"`
	Source   aiRowSource    `json:"source"`
	Domains  []string       `json:"domains"`
	Path     spec.PathMatch `json:"path"`
	Enabled  bool           `json:"enabled"`
}

type aiRowSource struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

func newAIRouteRow(r spec.AIRoute) aiRouteRow {
	domains := r.Domains
	if domains == nil {
		domains = []string{}
	}
	return aiRouteRow{Name: control.AIMountPrefix + r.Name, ReadOnly: true, Source: aiRowSource{Kind: spec.KindAIRoute, Name: r.Name},
		Domains: domains, Path: spec.PathMatch{Type: spec.PathPrefix, Value: r.EffectivePathPrefix()}, Enabled: r.IsEnabled()}
}

// aiRouteRows lists the read-only rows of the AI routes whose row name
// contains q.
func aiRouteRows(snap spec.Snapshot, q string) []any {
	q = strings.ToLower(q)
	var out []any
	for _, r := range snap.AIRoutes {
		row := newAIRouteRow(r)
		if q == "" || strings.Contains(strings.ToLower(row.Name), q) {
			out = append(out, row)
		}
	}
	return out
}

func (s *Server) getAIRouteRow(c *gin.Context) {
	snap, _ := s.opts.Config.Snapshot()
	for _, r := range snap.AIRoutes {
		if r.Name == c.Param("name") {
			c.JSON(http.StatusOK, newAIRouteRow(r))
			return
		}
	}
	s.fail(c, notFound("route", control.AIMountPrefix+c.Param("name"), "/routes"))
}

func (s *Server) aiRouteRowReadOnly(c *gin.Context) {
	name := c.Param("name")
	s.fail(c, newError(http.StatusConflict, "route_read_only",
		fmt.Sprintf("route %q is the route of AI route %q and is read-only here; change or delete it with %s /api/v1/ai-routes/%s", control.AIMountPrefix+name, name, c.Request.Method, name),
		fieldDetail{Field: "name", Message: "read-only: edit /api/v1/ai-routes/" + name}))
}
