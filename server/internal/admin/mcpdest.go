package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

// A masked secret of an MCP server is kept on write only while every
// place that can receive it stays where it was: the secrets of a server
// (scheme credentials, config apiKey, literal headers) can go to any of
// its tools, so a definition sent back with a tool pointed at another
// host, a new tool on a new host, another mcp-proxy upstream or another
// service would carry the stored secrets there. keepMCPSecrets refuses
// that, naming the new destinations: the client must send the secrets
// again, which proves it knows them.

// mcpDestinations lists where an MCP server definition (decoded JSON)
// sends requests: the scheme and host of each tool URL and of the proxy
// upstream, the service, and — for URLs whose host is a template — the
// non-secret config the template reads. Each entry maps to the field
// that names it.
func mcpDestinations(doc map[string]any) map[string]string {
	out := map[string]string{}
	server, _ := doc["server"].(map[string]any)
	templated := false
	add := func(raw, field string) {
		dest, isTemplate := urlDestination(raw)
		if isTemplate {
			templated = true
		}
		if dest != "" {
			if _, ok := out[dest]; !ok {
				out[dest] = field
			}
		}
	}
	if u, _ := server["mcpServerURL"].(string); u != "" {
		add(u, "server.mcpServerURL")
	}
	tools, _ := doc["tools"].([]any)
	for i, t := range tools {
		tm, _ := t.(map[string]any)
		rt, _ := tm["requestTemplate"].(map[string]any)
		if u, _ := rt["url"].(string); u != "" {
			add(u, fmt.Sprintf("tools[%d].requestTemplate.url", i))
		}
		hs, _ := rt["headers"].([]any)
		for j, h := range hs {
			hm, _ := h.(map[string]any)
			if k, _ := hm["key"].(string); strings.EqualFold(k, "Host") {
				v, _ := hm["value"].(string)
				out["host header "+strings.ToLower(v)] = fmt.Sprintf("tools[%d].requestTemplate.headers[%d]", i, j)
			}
		}
	}
	if svc, _ := doc["service"].(string); svc != "" {
		out["service "+svc] = "service"
	}
	urls, _ := doc["serviceURLs"].([]any)
	for i, u := range urls {
		if s, _ := u.(string); s != "" {
			add(s, fmt.Sprintf("serviceURLs[%d]", i))
		}
	}
	if templated {
		// The host comes from config (a base URL): a change of the
		// non-secret config may move every tool.
		cfg, _ := server["config"].(map[string]any)
		b, _ := json.Marshal(withoutSecretNames(cfg))
		out["config "+string(b)] = "server.config"
	}
	return out
}

// urlDestination is a URL's lower-case scheme://host, or the text of its
// authority when that is a template (with isTemplate set).
func urlDestination(raw string) (dest string, isTemplate bool) {
	s := strings.TrimSpace(raw)
	rest, scheme := s, ""
	if i := strings.Index(s, "://"); i >= 0 {
		scheme, rest = s[:i], s[i+3:]
	}
	auth := rest
	if j := strings.IndexAny(auth, "/?#"); j >= 0 {
		auth = auth[:j]
	}
	if strings.Contains(scheme, "{{") || strings.Contains(auth, "{{") || strings.Contains(auth, "{") {
		return "template " + scheme + "://" + auth, true
	}
	if scheme == "" {
		return "", false // a relative URL: the service decides
	}
	u, err := url.Parse(scheme + "://" + auth)
	if err != nil {
		return "unparsable " + scheme + "://" + auth, false
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), false
}

func withoutSecretNames(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if secretName(k) {
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			v = withoutSecretNames(sub)
		}
		out[k] = v
	}
	return out
}

// keepMCPSecrets is restoreMCPServer, refused when it would keep a stored
// secret while the definition sends requests somewhere the stored one did
// not.
func keepMCPSecrets(in spec.MCPServer, stored *spec.MCPServer) (spec.MCPServer, error) {
	if stored != nil && bytes.Contains(in.Definition, []byte(secretMask)) {
		var newDoc, oldDoc map[string]any
		if json.Unmarshal(in.Definition, &newDoc) == nil && json.Unmarshal(stored.Definition, &oldDoc) == nil {
			was := mcpDestinations(oldDoc)
			var moved []string
			var details []fieldDetail
			for dest, field := range mcpDestinations(newDoc) {
				if _, ok := was[dest]; !ok {
					moved = append(moved, field)
					details = append(details, fieldDetail{Field: field, Message: "sends requests somewhere the stored definition did not; the masked secrets cannot follow"})
				}
			}
			if len(moved) > 0 {
				sort.Strings(moved)
				sort.Slice(details, func(i, j int) bool { return details[i].Field < details[j].Field })
				return in, newError(http.StatusBadRequest, "mcp_server_invalid",
					fmt.Sprintf("the change was refused and nothing was changed: %s now send requests to a host or service the stored definition does not use, and the definition keeps stored secrets by sending the mask %q; send every secret itself with this change (a stored secret only goes where it was entered for)", strings.Join(moved, ", "), secretMask),
					details...)
			}
		}
	}
	return restoreMCPServer(in, stored)
}
