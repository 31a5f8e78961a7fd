package admin

import (
	"encoding/json"
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

// llmProviderRule is where an LLM provider keeps secrets: every token, and
// the values of rawConfigs whose names look secret.
var llmProviderRule = treeRule{fields: map[string]secretRule{
	"tokens":     treeRule{items: leafRule{}},
	"rawConfigs": namedRule{},
}}

var llmProviderSecrets = secretCodec{
	mask: func(_ secretRules, o spec.Object) spec.Object { return maskLLMProvider(o.(spec.LLMProvider)) },
	restore: func(_ secretRules, in, stored spec.Object) (spec.Object, error) {
		var was *spec.LLMProvider
		if p, ok := stored.(spec.LLMProvider); ok {
			was = &p
		}
		return restoreLLMProvider(in.(spec.LLMProvider), was)
	},
}

// maskLLMProvider shows one mask per token, so that the count shows, and
// masks the secret-looking values of rawConfigs.
func maskLLMProvider(p spec.LLMProvider) spec.LLMProvider {
	tokens := make([]string, len(p.Tokens))
	for i := range tokens {
		tokens[i] = secretMask
	}
	p.Tokens = tokens
	if len(p.RawConfigs) > 0 {
		p.RawConfigs = maskedMap(p.RawConfigs)
	}
	return p
}

// maskedMap is a copy of m with its secret-looking values masked; a map
// that cannot be copied is masked whole.
func maskedMap(m map[string]any) map[string]any {
	data, err := json.Marshal(m)
	if err != nil {
		return map[string]any{}
	}
	out := map[string]any{}
	if err := json.Unmarshal(maskJSON(data, namedRule{}), &out); err != nil {
		return map[string]any{}
	}
	return out
}

// restoreLLMProvider puts the stored tokens back where in sends the mask.
// A token is sent only to the endpoint it was entered for: the stored one
// is kept only while type and endpoint are unchanged, else the mask is
// refused naming tokens[i]. The same holds for secrets in rawConfigs.
func restoreLLMProvider(in spec.LLMProvider, stored *spec.LLMProvider) (spec.LLMProvider, error) {
	same := stored != nil && stored.Type == in.Type && stored.Endpoint == in.Endpoint
	var details []fieldDetail
	tokens := append([]string(nil), in.Tokens...)
	for i, t := range tokens {
		if t != secretMask {
			continue
		}
		field := fmt.Sprintf("tokens[%d]", i)
		switch {
		case same && i < len(stored.Tokens) && stored.Tokens[i] != "" && stored.Tokens[i] != secretMask:
			tokens[i] = stored.Tokens[i]
		case stored != nil && !same:
			details = append(details, fieldDetail{Field: field, Message: fmt.Sprintf(
				"is the mask %q, but the type or endpoint changed (%s %q → %s %q): a stored token is only sent to the endpoint it was entered for; send the token itself",
				secretMask, stored.Type, stored.Endpoint, in.Type, in.Endpoint)})
		default:
			details = append(details, fieldDetail{Field: field, Message: fmt.Sprintf(
				"is the mask %q, but no token is stored at this position to keep; send the token itself", secretMask)})
		}
	}
	if len(details) > 0 {
		names := make([]string, len(details))
		for i, d := range details {
			names[i] = d.Field
		}
		return in, newError(http.StatusBadRequest, "llm_provider_invalid",
			"the change was refused and nothing was changed: "+strings.Join(names, ", ")+" hold the mask "+secretMask+" where no token can be kept; send the tokens themselves", details...)
	}
	in.Tokens = tokens
	if len(in.RawConfigs) > 0 {
		raw, err := json.Marshal(in.RawConfigs)
		if err != nil {
			return in, newError(http.StatusBadRequest, "llm_provider_invalid", "rawConfigs cannot be expressed as JSON", fieldDetail{Field: "rawConfigs", Message: err.Error()})
		}
		var was []byte
		if same && len(stored.RawConfigs) > 0 {
			if was, err = json.Marshal(stored.RawConfigs); err != nil {
				return in, err
			}
		}
		out, err := restoreJSON("llm_provider", raw, was, namedRule{}, "rawConfigs")
		if err != nil {
			return in, err
		}
		m := map[string]any{}
		if err := json.Unmarshal(out, &m); err != nil {
			return in, err
		}
		in.RawConfigs = m
	}
	return in, nil
}
