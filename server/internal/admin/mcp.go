package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/server/internal/control"
	"github.com/gatehouse-dev/gatehouse/server/internal/secret"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// toolTimeout bounds a "try it" call from the console.
const toolTimeout = 30 * time.Second

func (s *Server) registerMCP(g *gin.RouterGroup) {
	g.POST("/mcp-servers/import/openapi", s.importOpenAPI)
	g.GET("/mcp-servers/:name/tools", s.listTools)
	g.GET("/mcp-servers/:name/status", s.mcpStatus)
	g.POST("/mcp-servers/:name/tools/:tool/render", s.renderTool)
	g.POST("/mcp-servers/:name/tools/:tool/call", s.callTool)
}

func (s *Server) toolProvider(c *gin.Context) (pluginapi.ToolProvider, bool) {
	name := c.Param("name")
	inst, ok := s.opts.Config.MCPInstance(name)
	if !ok {
		s.fail(c, newError(http.StatusNotFound, "mcp_server_not_found",
			fmt.Sprintf("no enabled MCP server named %q; GET /api/v1/mcp-servers lists them", name)))
		return nil, false
	}
	tp, ok := inst.(pluginapi.ToolProvider)
	if !ok {
		s.fail(c, newError(http.StatusNotImplemented, "tools_unsupported", "the loaded mcp-server plugin does not offer tool listing; upgrade the plugin"))
		return nil, false
	}
	return tp, true
}

func (s *Server) listTools(c *gin.Context) {
	tp, ok := s.toolProvider(c)
	if !ok {
		return
	}
	tools, err := tp.Tools(c)
	if err != nil {
		s.fail(c, toolError(err))
		return
	}
	if tools == nil {
		tools = []pluginapi.ToolInfo{}
	}
	c.JSON(http.StatusOK, gin.H{"items": tools, "total": len(tools)})
}

type toolArgs struct {
	Arguments map[string]any `json:"arguments"`
}

func readToolArgs(c *gin.Context) (map[string]any, error) {
	var body toolArgs
	if c.Request.ContentLength == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(io.LimitReader(c.Request.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return nil, newError(http.StatusBadRequest, "invalid_body", `send {"arguments":{…}}: `+err.Error())
	}
	if body.Arguments == nil {
		body.Arguments = map[string]any{}
	}
	return body.Arguments, nil
}

func (s *Server) renderTool(c *gin.Context) {
	tp, ok := s.toolProvider(c)
	if !ok {
		return
	}
	args, err := readToolArgs(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	req, err := tp.RenderTool(c, c.Param("tool"), args)
	if err != nil {
		s.fail(c, toolError(err))
		return
	}
	snap, _ := s.opts.Config.Snapshot()
	secret.HideInRendered(mcpSecrets(snap, c.Param("name")), req)
	c.JSON(http.StatusOK, req)
}

func (s *Server) callTool(c *gin.Context) {
	tp, ok := s.toolProvider(c)
	if !ok {
		return
	}
	args, err := readToolArgs(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx, cancel := contextWithTimeout(c, toolTimeout)
	defer cancel()
	res, err := tp.CallTool(ctx, c.Param("tool"), args)
	if err != nil {
		s.fail(c, toolError(err))
		return
	}
	snap, _ := s.opts.Config.Snapshot()
	secret.HideInToolResult(mcpSecrets(snap, c.Param("name")), res)
	c.JSON(http.StatusOK, res)
}

func toolError(err error) error {
	switch {
	case errors.Is(err, pluginapi.ErrUnknownTool):
		return newError(http.StatusNotFound, "tool_not_found", err.Error())
	case errors.Is(err, pluginapi.ErrInvalidArguments):
		return newError(http.StatusBadRequest, "invalid_arguments", err.Error())
	case errors.Is(err, pluginapi.ErrNotRenderable):
		return newError(http.StatusUnprocessableEntity, "tool_not_renderable", err.Error())
	}
	return newError(http.StatusBadGateway, "tool_failed", err.Error())
}

// importOpenAPI generates an MCP server definition from an OpenAPI
// document (JSON or YAML body) for review; nothing is saved.
func (s *Server) importOpenAPI(c *gin.Context) {
	name := c.Query("name")
	if name == "" {
		s.fail(c, newError(http.StatusBadRequest, "invalid_query", "name the new MCP server: ?name=my-api",
			fieldDetail{Field: "name", Message: "required"}))
		return
	}
	doc, err := io.ReadAll(io.LimitReader(c.Request.Body, maxDefinitionBytes+1))
	if err != nil || len(doc) == 0 {
		s.fail(c, newError(http.StatusBadRequest, "openapi_invalid", "send the OpenAPI 3.0 or 3.1 document (JSON or YAML) as the body"))
		return
	}
	if len(doc) > maxDefinitionBytes {
		s.fail(c, newError(http.StatusRequestEntityTooLarge, "openapi_too_large", "the OpenAPI document is larger than 4 MiB"))
		return
	}
	def, err := s.opts.Config.ImportOpenAPI(doc, name, c.Query("baseURL"))
	switch {
	case errors.Is(err, control.ErrImportUnsupported):
		s.fail(c, newError(http.StatusNotImplemented, "import_unsupported", err.Error()))
		return
	case err != nil:
		s.fail(c, newError(http.StatusBadRequest, "openapi_invalid", "the OpenAPI document cannot be imported: "+err.Error()))
		return
	}
	c.JSON(http.StatusOK, def)
}

// mcpStatus reports a running MCP server: tools, active sessions by
// transport, last error.
func (s *Server) mcpStatus(c *gin.Context) {
	name := c.Param("name")
	inst, ok := s.opts.Config.MCPInstance(name)
	if !ok {
		s.fail(c, newError(http.StatusNotFound, "mcp_server_not_found",
			fmt.Sprintf("no enabled MCP server named %q; GET /api/v1/mcp-servers lists them", name)))
		return
	}
	sr, ok := inst.(pluginapi.StatusReporter)
	if !ok {
		s.fail(c, newError(http.StatusNotImplemented, "status_unsupported", "the loaded mcp-server plugin does not report status; upgrade the plugin"))
		return
	}
	c.JSON(http.StatusOK, sr.MCPStatus())
}

// withMCPWarnings returns m as answered after a write: the object, plus
// "warnings" (field and message) when its running instance reports any,
// such as a field Higress ignores. Sending the answer back as it is works:
// the warnings are not part of the definition.
func (s *Server) withMCPWarnings(m spec.MCPServer) any {
	inst, ok := s.opts.Config.MCPInstance(m.Name)
	if !ok {
		return m
	}
	sr, ok := inst.(pluginapi.StatusReporter)
	if !ok {
		return m
	}
	ws := sr.MCPStatus().Warnings
	if len(ws) == 0 {
		return m
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return m
	}
	var doc map[string]any
	if json.Unmarshal(raw, &doc) != nil {
		return m
	}
	doc["warnings"] = ws
	return doc
}

// mcpSecrets lists the secrets of the MCP server named name in snap in
// every form a dry run or a tool result may carry them (secret.MCPForms).
func mcpSecrets(snap spec.Snapshot, name string) []string {
	for _, m := range snap.MCPServers {
		if m.Name == name {
			return secret.MCPForms(m.Definition)
		}
	}
	return nil
}
