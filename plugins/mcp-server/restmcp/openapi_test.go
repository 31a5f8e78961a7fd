package restmcp

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func toolNamesOf(s *Server) []string {
	var names []string
	for _, t := range s.Tools() {
		names = append(names, t.Name)
	}
	return names
}

func schemaOf(t *testing.T, s *Server, tool string) map[string]any {
	t.Helper()
	spec, ok := s.Tool(tool)
	require.True(t, ok, tool)
	var m map[string]any
	require.NoError(t, json.Unmarshal(spec.InputSchema, &m))
	return m
}

func TestImportOpenAPI30(t *testing.T) {
	doc, err := os.ReadFile("testdata/openapi/petstore-3.0.yaml")
	require.NoError(t, err)
	def, err := ImportOpenAPI(doc, "", "")
	require.NoError(t, err)
	require.Equal(t, "pet-store-api", def.Name, "named after the title")
	require.Equal(t, "/mcp-servers/pet-store-api", def.Path)
	require.Equal(t, []SecurityScheme{{ID: "apiKey", Type: "apiKey", In: "header", Name: "X-API-Key"}}, def.Server.SecuritySchemes, "oauth2 is not importable")

	def.Server.SecuritySchemes[0].DefaultCredential = "k-123"
	s, err := Compile(def)
	require.NoError(t, err, "an imported definition compiles as is")
	require.Equal(t, []string{"listPets", "createPet", "showPetById", "delete_pets_petId"}, toolNamesOf(s))

	list, _ := s.Tool("listPets")
	require.Equal(t, "List pets\n\nReturns every pet, newest first.", list.Description)
	props := schemaOf(t, s, "listPets")["properties"].(map[string]any)
	require.Equal(t, map[string]any{"type": "integer", "description": "How many to return", "default": 20.0, "maximum": 100.0}, props["limit"])
	require.Contains(t, def.Tools[0].ResponseTemplate.PrependBody, "- **[].name**: Pet name (Type: string)", "the response fields are described for the model")

	r, err := s.Render("listPets", map[string]any{"limit": 5.0, "X-Request-Id": "req-1"}, nil)
	require.NoError(t, err)
	require.Equal(t, "GET", r.Method)
	require.Equal(t, "https://api.pets.example.com/v1/pets?limit=5", r.URL, "the server variable takes its default")
	require.Equal(t, "req-1", r.Headers["X-Request-Id"])
	require.Equal(t, "k-123", r.Headers["X-Api-Key"], "the document's global security applies")

	create := schemaOf(t, s, "createPet")
	require.Equal(t, []any{"name"}, create["required"])
	owner := create["properties"].(map[string]any)["owner"].(map[string]any)
	require.Equal(t, "object", owner["type"])
	require.Contains(t, owner["properties"], "pets", "referenced schemas are inlined (recursion is cut at a depth)")
	r, err = s.Render("createPet", map[string]any{"name": "Rex", "tag": "dog"}, nil)
	require.NoError(t, err)
	require.Equal(t, "POST", r.Method)
	require.JSONEq(t, `{"name":"Rex","tag":"dog"}`, r.Body)
	require.Equal(t, "application/json; charset=utf-8", r.Headers["Content-Type"])

	r, err = s.Render("showPetById", map[string]any{"petId": "p 1"}, nil)
	require.NoError(t, err)
	require.Equal(t, "https://api.pets.example.com/v1/pets/p%201", r.URL)
	require.Empty(t, r.Headers["X-Api-Key"], "the operation's own (oauth2) security replaces the global one")

	_, err = s.Render("delete_pets_petId", map[string]any{}, nil)
	require.ErrorIs(t, err, ErrInvalidArguments, "path parameters are required")
	r, err = s.Render("delete_pets_petId", map[string]any{"petId": "7", "session": "abc"}, nil)
	require.NoError(t, err)
	require.Equal(t, "DELETE", r.Method)
	require.Equal(t, "session=abc", r.Headers["Cookie"])
}

func TestImportOpenAPI31(t *testing.T) {
	doc, err := os.ReadFile("testdata/openapi/tasks-3.1.json")
	require.NoError(t, err)
	_, err = ImportOpenAPI(doc, "", "")
	require.ErrorContains(t, err, "pass the upstream base URL", "no servers and no base URL")

	def, err := ImportOpenAPI(doc, "tasks", "https://tasks.example.com/api/")
	require.NoError(t, err)
	s, err := Compile(def)
	require.NoError(t, err)
	require.Equal(t, []string{"create_task", "put_tasks_id_labels"}, toolNamesOf(s))
	require.Equal(t, &SecurityRequirement{ID: "bearer"}, def.Tools[0].RequestTemplate.Security)

	props := schemaOf(t, s, "create_task")["properties"].(map[string]any)
	require.Equal(t, map[string]any{"type": "string", "format": "date"}, props["due"], "type [string, null] imports as string")
	require.Equal(t, "integer", props["priority"].(map[string]any)["type"])

	r, err := s.Render("create_task", map[string]any{"title": "Buy milk", "priority": 1.0}, nil)
	require.NoError(t, err)
	require.Equal(t, "https://tasks.example.com/api/tasks", r.URL)
	require.Equal(t, "application/x-www-form-urlencoded", r.Headers["Content-Type"])
	require.Equal(t, "priority=1&title=Buy+milk", r.Body)

	labels := schemaOf(t, s, "put_tasks_id_labels")
	require.ElementsMatch(t, []any{"id", "body"}, labels["required"])
	r, err = s.Render("put_tasks_id_labels", map[string]any{"id": 5.0, "body": []any{"home", "urgent"}}, nil)
	require.NoError(t, err)
	require.Equal(t, "PUT", r.Method)
	require.Equal(t, "https://tasks.example.com/api/tasks/5/labels", r.URL)
	require.Equal(t, `["home","urgent"]`, r.Body)
	require.Equal(t, "application/json; charset=utf-8", r.Headers["Content-Type"])
	require.Contains(t, def.Tools[1].ResponseTemplate.PrependBody, "- **labels**: All labels (Type: array)")
}

func TestImportOpenAPIRefusals(t *testing.T) {
	_, err := ImportOpenAPI([]byte(`{"swagger":"2.0","info":{"title":"x","version":"1"},"paths":{}}`), "x", "https://example.com")
	require.Error(t, err)
	_, err = ImportOpenAPI([]byte("openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths: {}\n"), "", "https://example.com")
	require.ErrorContains(t, err, "no operations")
	_, err = ImportOpenAPI([]byte("openapi: 3.0.0\ninfo: {title: t, version: '1'}\nservers: [{url: /relative}]\npaths: {}\n"), "", "")
	require.ErrorContains(t, err, "not an absolute http(s) URL")
	_, err = ImportOpenAPI([]byte("not: [an openapi"), "", "")
	require.ErrorContains(t, err, "read OpenAPI document")
}
