package pluginapi

import "encoding/json"

// OpenAPIImporter is implemented by the mcp-server Plugin (the plugin, not
// an instance): it turns an OpenAPI 3.0/3.1 document into an MCP server
// definition for a person to review and save. It sends nothing anywhere.
type OpenAPIImporter interface {
	// ImportOpenAPI returns the definition as JSON. name names the new
	// server; baseURL, when not empty, replaces the document's servers.
	ImportOpenAPI(doc []byte, name, baseURL string) (json.RawMessage, error)
}
