package main

import (
	"encoding/json"

	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/restmcp"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// ImportOpenAPI implements pluginapi.OpenAPIImporter.
func (mcpServerPlugin) ImportOpenAPI(doc []byte, name, baseURL string) (json.RawMessage, error) {
	def, err := restmcp.ImportOpenAPI(doc, name, baseURL)
	if err != nil {
		return nil, err
	}
	return json.Marshal(def)
}

var _ pluginapi.OpenAPIImporter = mcpServerPlugin{}
