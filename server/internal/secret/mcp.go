package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// requirementRule is a security requirement {id, credential, passthrough}.
var requirementRule = Tree{Fields: map[string]Rule{"credential": Leaf{}}}

// MCPServerRule is where an MCP server definition keeps secrets:
// server.securitySchemes[].defaultCredential, the credential of every
// security requirement (server.defaultUpstreamSecurity,
// server.defaultDownstreamSecurity, tools[].security,
// tools[].requestTemplate.security), every value under server.config whose
// name looks secret (apiKey, accessToken, appCode, …), the literal value
// of a request header whose name looks secret (Authorization, X-Api-Key,
// …; a template such as "Bearer {{.config.apiKey}}" is shown), and the
// credentials inside server.mcpServerURL and each literal
// tools[].requestTemplate.url.
var MCPServerRule = Tree{Fields: map[string]Rule{
	"server": Tree{Fields: map[string]Rule{
		"config": Named{},
		"securitySchemes": Tree{Items: Tree{Fields: map[string]Rule{
			"defaultCredential": Leaf{},
		}}},
		"defaultUpstreamSecurity":   requirementRule,
		"defaultDownstreamSecurity": requirementRule,
		"mcpServerURL":              URL{},
	}},
	"tools": Tree{Items: Tree{Fields: map[string]Rule{
		"security": requirementRule,
		"requestTemplate": Tree{Fields: map[string]Rule{
			"security": requirementRule,
			"url":      URL{},
			"headers":  Tree{Items: Header{}},
		}},
	}}},
}}

// The MCP tool endpoints (render and call) answer with what the upstream
// request carried or what came back, which may hold the server's
// credentials: a template puts server.config.apiKey in a header, a query
// parameter or the URL's path. hideToolSecrets replaces each of the
// server's secrets there by Mask.

// collectSecrets appends the values at v's secret locations to out.
func collectSecrets(v any, r Rule, out *[]string) {
	if r == nil {
		return
	}
	if _, ok := r.(URL); ok {
		if s, ok := v.(string); ok {
			*out = append(*out, urlSecrets(s)...)
		}
		return
	}
	if r.secret() {
		switch t := v.(type) {
		case string:
			if t != "" && t != Mask {
				*out = append(*out, t)
			}
		case json.Number:
			*out = append(*out, t.String())
		}
		return
	}
	switch t := v.(type) {
	case map[string]any:
		for k, cv := range t {
			collectSecrets(cv, r.field(k, t), out)
		}
	case []any:
		ir := r.item()
		for _, cv := range t {
			collectSecrets(cv, ir, out)
		}
	}
}

// MCPForms lists an MCP server definition's secrets in every form a
// request or a result may carry them: as written, query- and
// path-escaped, JSON-escaped and, for user:password, as Basic
// credentials. Longer forms come first, so that a secret that contains
// another is replaced whole.
func MCPForms(def []byte) []string {
	v, err := decodeValue(def)
	if err != nil {
		return nil
	}
	var secrets []string
	collectSecrets(v, MCPServerRule, &secrets)
	seen := map[string]bool{}
	var forms []string
	add := func(f string) {
		if f != "" && !seen[f] {
			seen[f] = true
			forms = append(forms, f)
		}
	}
	for _, sec := range secrets {
		add(sec)
		add(url.QueryEscape(sec))
		add(url.PathEscape(sec))
		if q, err := json.Marshal(sec); err == nil {
			add(string(q[1 : len(q)-1]))
		}
		if strings.Contains(sec, ":") {
			add(base64.StdEncoding.EncodeToString([]byte(sec)))
		}
	}
	sort.SliceStable(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	return forms
}

// scrubSecrets replaces every form in text by Mask.
func scrubSecrets(text string, forms []string) string {
	for _, f := range forms {
		text = strings.ReplaceAll(text, f, Mask)
	}
	return text
}

// HideInRendered masks an MCP server's secrets (mcpSecrets) in a dry run.
func HideInRendered(forms []string, req *pluginapi.RenderedRequest) {
	if req == nil || len(forms) == 0 {
		return
	}
	req.URL = scrubSecrets(req.URL, forms)
	req.Body = scrubSecrets(req.Body, forms)
	for k, v := range req.Headers {
		req.Headers[k] = scrubSecrets(v, forms)
	}
}

// HideInToolResult masks an MCP server's secrets (mcpSecrets) in a
// tool's result: an upstream error may quote the request, an upstream may
// echo it.
func HideInToolResult(forms []string, res *pluginapi.ToolResult) {
	if res == nil || len(forms) == 0 {
		return
	}
	res.Content = scrubJSON(res.Content, forms, json.RawMessage(`[{"type":"text","text":"hidden: the result contained a credential of this MCP server"}]`))
	res.StructuredContent = scrubJSON(res.StructuredContent, forms, nil)
}

// scrubJSON is scrubSecrets for a JSON document; should the replacement
// break the document (a secret that spans JSON syntax), it answers
// fallback rather than show it.
func scrubJSON(doc json.RawMessage, forms []string, fallback json.RawMessage) json.RawMessage {
	if len(doc) == 0 {
		return doc
	}
	out := json.RawMessage(scrubSecrets(string(doc), forms))
	if !json.Valid(out) {
		return fallback
	}
	return out
}

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
		if pluginapi.SecretName(k) {
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			v = withoutSecretNames(sub)
		}
		out[k] = v
	}
	return out
}

// KeepMCP returns the MCP server definition in with the secrets of
// stored (nil for a new server) put back where in has Mask. It is refused
// (*Error) when a mask has no secret to keep, or when in sends requests
// somewhere stored did not (mcpDestinations): the masked secrets cannot
// follow, the client must send them again.
func KeepMCP(in, stored []byte) ([]byte, error) {
	if stored != nil && bytes.Contains(in, []byte(Mask)) {
		var newDoc, oldDoc map[string]any
		if json.Unmarshal(in, &newDoc) == nil && json.Unmarshal(stored, &oldDoc) == nil {
			was := mcpDestinations(oldDoc)
			var moved []string
			var details []Detail
			for dest, field := range mcpDestinations(newDoc) {
				if _, ok := was[dest]; !ok {
					moved = append(moved, field)
					details = append(details, Detail{Field: field, Message: "sends requests somewhere the stored definition did not; the masked secrets cannot follow"})
				}
			}
			if len(moved) > 0 {
				sort.Strings(moved)
				sort.Slice(details, func(i, j int) bool { return details[i].Field < details[j].Field })
				return nil, &Error{Code: "mcp_server_invalid", Details: details, Message: fmt.Sprintf("the change was refused and nothing was changed: %s now send requests to a host or service the stored definition does not use, and the definition keeps stored secrets by sending the mask %q; send every secret itself with this change (a stored secret only goes where it was entered for)", strings.Join(moved, ", "), Mask)}
			}
		}
	}
	return RestoreJSON("mcp_server", in, stored, MCPServerRule, "")
}
