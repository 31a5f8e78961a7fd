package restmcp

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// maxSchemaDepth bounds how deep ImportOpenAPI copies nested schemas,
// which also stops recursive schemas.
const maxSchemaDepth = 8

var methodOrder = []string{"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"}

// ImportOpenAPI generates a definition from an OpenAPI 3.0 or 3.1
// document (JSON or YAML), one tool per operation, for review before it
// is saved. name names the server (default: the document title made into
// a name); baseURL is the upstream base URL (default: the document's
// first server, with its variables at their defaults). Parameters become
// arguments at their position, a JSON or form request body's properties
// become body arguments, supported security schemes (http basic/bearer,
// apiKey) become server.securitySchemes without credentials, and the
// JSON response's fields are described in responseTemplate.prependBody.
// The result has its defaults applied and passes Compile.
func ImportOpenAPI(doc []byte, name string, baseURL string) (*Definition, error) {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	spec, err := loader.LoadFromData(doc)
	if err != nil {
		return nil, fmt.Errorf("read OpenAPI document: %w", err)
	}
	if v := spec.OpenAPI; !strings.HasPrefix(v, "3.0") && !strings.HasPrefix(v, "3.1") {
		return nil, fmt.Errorf("openapi version %q is not supported: import an OpenAPI 3.0 or 3.1 document (convert Swagger 2.0 first)", v)
	}
	if name == "" && spec.Info != nil {
		name = slug(spec.Info.Title)
	}
	if name == "" {
		return nil, errors.New("the document has no title to name the server: pass a name")
	}
	if baseURL == "" {
		if len(spec.Servers) == 0 || spec.Servers[0] == nil {
			return nil, errors.New("the document lists no servers: pass the upstream base URL")
		}
		baseURL = serverURL(spec.Servers[0])
	}
	if !isHTTPURL(baseURL) {
		return nil, fmt.Errorf("base URL %q is not an absolute http(s) URL: pass the upstream base URL, e.g. https://api.example.com/v1", baseURL)
	}
	baseURL = strings.TrimSuffix(baseURL, "/")

	def := &Definition{Name: name, Server: ServerConfig{Name: name}}
	supported := map[string]bool{}
	if spec.Components != nil {
		ids := make([]string, 0, len(spec.Components.SecuritySchemes))
		for id := range spec.Components.SecuritySchemes {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			ref := spec.Components.SecuritySchemes[id]
			if ref == nil || ref.Value == nil {
				continue
			}
			sc := ref.Value
			switch {
			case sc.Type == "http" && (strings.EqualFold(sc.Scheme, "basic") || strings.EqualFold(sc.Scheme, "bearer")):
				def.Server.SecuritySchemes = append(def.Server.SecuritySchemes, SecurityScheme{ID: id, Type: "http", Scheme: strings.ToLower(sc.Scheme)})
				supported[id] = true
			case sc.Type == "apiKey" && (sc.In == "header" || sc.In == "query" || sc.In == "cookie"):
				def.Server.SecuritySchemes = append(def.Server.SecuritySchemes, SecurityScheme{ID: id, Type: "apiKey", In: sc.In, Name: sc.Name})
				supported[id] = true
			}
		}
	}

	used := map[string]int{}
	paths := []string{}
	if spec.Paths != nil {
		for p := range spec.Paths.Map() {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	for _, p := range paths {
		item := spec.Paths.Value(p)
		if item == nil {
			continue
		}
		ops := item.Operations()
		for _, method := range methodOrder {
			op := ops[method]
			if op == nil {
				continue
			}
			tool := operationTool(baseURL, p, method, item, op)
			tool.Name = uniqueName(tool.Name, used)
			reqs := spec.Security
			if op.Security != nil {
				reqs = *op.Security
			}
			if id := firstSupported(reqs, supported); id != "" {
				tool.RequestTemplate.Security = &SecurityRequirement{ID: id}
			}
			def.Tools = append(def.Tools, tool)
		}
	}
	if len(def.Tools) == 0 {
		return nil, errors.New("the document has no operations to turn into tools")
	}
	def.SetDefaults()
	return def, nil
}

func serverURL(s *openapi3.Server) string {
	u := s.URL
	for name, v := range s.Variables {
		if v != nil {
			u = strings.ReplaceAll(u, "{"+name+"}", v.Default)
		}
	}
	return u
}

var nonName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func slug(s string) string {
	s = strings.Trim(nonName.ReplaceAllString(strings.ToLower(strings.TrimSpace(s)), "-"), "-._")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-._")
	}
	return s
}

func uniqueName(name string, used map[string]int) string {
	used[name]++
	if n := used[name]; n > 1 {
		return name + "_" + strconv.Itoa(n)
	}
	return name
}

func firstSupported(reqs openapi3.SecurityRequirements, supported map[string]bool) string {
	for _, r := range reqs {
		ids := make([]string, 0, len(r))
		for id := range r {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			if supported[id] {
				return id
			}
		}
	}
	return ""
}

func operationTool(baseURL, path, method string, item *openapi3.PathItem, op *openapi3.Operation) Tool {
	name := op.OperationID
	if name == "" {
		name = strings.ToLower(method) + "_" + strings.Trim(nonName.ReplaceAllString(strings.NewReplacer("{", "", "}", "").Replace(path), "_"), "_")
	}
	name = strings.Trim(nonName.ReplaceAllString(name, "_"), "_")
	if len(name) > 128 {
		name = name[:128]
	}
	desc := strings.TrimSpace(op.Summary)
	if d := strings.TrimSpace(op.Description); d != "" && d != desc {
		if desc != "" {
			desc += "\n\n"
		}
		desc += d
	}
	tool := Tool{
		Name:            name,
		Description:     desc,
		RequestTemplate: RequestTemplate{URL: baseURL + path, Method: method},
	}

	// Operation parameters override path-item parameters of the same name and place.
	params := map[string]*openapi3.Parameter{}
	var order []string
	for _, list := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, ref := range list {
			if ref == nil || ref.Value == nil {
				continue
			}
			key := ref.Value.In + ":" + ref.Value.Name
			if _, ok := params[key]; !ok {
				order = append(order, key)
			}
			params[key] = ref.Value
		}
	}
	names := map[string]bool{}
	for _, key := range order {
		p := params[key]
		arg := schemaArg(p.Name, p.Schema, 0)
		if d := strings.TrimSpace(p.Description); d != "" {
			arg.Description = d
		}
		arg.Required = p.Required || p.In == "path"
		arg.Position = p.In
		names[p.Name] = true
		tool.Args = append(tool.Args, arg)
	}

	if op.RequestBody != nil && op.RequestBody.Value != nil {
		rb := op.RequestBody.Value
		mediaType, media := pickMedia(rb.Content)
		if media != nil && media.Schema != nil && media.Schema.Value != nil {
			sch := media.Schema.Value
			if sch.Type.Is("object") || (sch.Type == nil && len(sch.Properties) > 0) {
				props := make([]string, 0, len(sch.Properties))
				for k := range sch.Properties {
					props = append(props, k)
				}
				slices.Sort(props)
				for _, k := range props {
					argName := k
					if names[argName] {
						argName = k + "_body"
					}
					arg := schemaArg(argName, sch.Properties[k], 1)
					arg.Required = slices.Contains(sch.Required, k)
					arg.Position = "body"
					if argName != k {
						// A clashing name cannot go through the body arguments as is.
						arg.Position = ""
					}
					names[argName] = true
					tool.Args = append(tool.Args, arg)
				}
			} else {
				arg := schemaArg("body", media.Schema, 0)
				if arg.Description == "" {
					arg.Description = strings.TrimSpace(rb.Description)
				}
				arg.Required = rb.Required
				tool.Args = append(tool.Args, arg)
				tool.RequestTemplate.Body = "{{ toJson .args.body }}"
			}
			if mediaType == "application/x-www-form-urlencoded" {
				tool.RequestTemplate.Headers = append(tool.RequestTemplate.Headers, Header{Key: "Content-Type", Value: mediaType})
			}
		}
	}
	if prepend := responseDescription(op); prepend != "" {
		tool.ResponseTemplate.PrependBody = prepend
	}
	return tool
}

func pickMedia(content openapi3.Content) (string, *openapi3.MediaType) {
	for _, mt := range []string{"application/json", "application/x-www-form-urlencoded"} {
		if m := content.Get(mt); m != nil {
			return mt, m
		}
	}
	keys := make([]string, 0, len(content))
	for k := range content {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if strings.Contains(k, "json") {
			return "application/json", content[k]
		}
	}
	return "", nil
}

// schemaArg makes an argument from a schema.
func schemaArg(name string, ref *openapi3.SchemaRef, depth int) Arg {
	arg := Arg{Name: name}
	if ref == nil || ref.Value == nil {
		return arg
	}
	s := ref.Value
	arg.Type = schemaType(s)
	arg.Description = strings.TrimSpace(s.Description)
	arg.Enum = s.Enum
	arg.Default = s.Default
	arg.Format = s.Format
	arg.Pattern = s.Pattern
	if s.Min != nil {
		arg.Minimum = *s.Min
	}
	if s.Max != nil {
		arg.Maximum = *s.Max
	}
	if s.Items != nil && arg.Type == "array" {
		arg.Items = schemaMap(s.Items, depth+1)
	}
	if len(s.Properties) > 0 && arg.Type == "object" {
		arg.Properties = propertiesMap(s.Properties, depth+1)
	}
	if len(s.OneOf) > 0 {
		arg.OneOf = schemaList(s.OneOf, depth+1)
	}
	if len(s.AnyOf) > 0 {
		arg.AnyOf = schemaList(s.AnyOf, depth+1)
	}
	return arg
}

// schemaType is the schema's type without "null" (3.1 writes nullable
// values as type: [string, "null"]); empty when it has none.
func schemaType(s *openapi3.Schema) string {
	if s.Type == nil {
		if len(s.Properties) > 0 {
			return "object"
		}
		if s.Items != nil {
			return "array"
		}
		return ""
	}
	for _, t := range s.Type.Slice() {
		if t != "null" {
			return t
		}
	}
	return ""
}

func schemaList(refs openapi3.SchemaRefs, depth int) []any {
	out := make([]any, 0, len(refs))
	for _, r := range refs {
		out = append(out, schemaMap(r, depth))
	}
	return out
}

func propertiesMap(props openapi3.Schemas, depth int) map[string]any {
	out := make(map[string]any, len(props))
	for k, r := range props {
		out[k] = schemaMap(r, depth)
	}
	return out
}

// schemaMap copies a schema into plain values with $refs resolved, down
// to maxSchemaDepth.
func schemaMap(ref *openapi3.SchemaRef, depth int) map[string]any {
	out := map[string]any{}
	if ref == nil || ref.Value == nil {
		return out
	}
	s := ref.Value
	if t := schemaType(s); t != "" {
		out["type"] = t
	}
	if s.Description != "" {
		out["description"] = s.Description
	}
	if len(s.Enum) > 0 {
		out["enum"] = s.Enum
	}
	if s.Default != nil {
		out["default"] = s.Default
	}
	if s.Format != "" {
		out["format"] = s.Format
	}
	if s.Pattern != "" {
		out["pattern"] = s.Pattern
	}
	if s.Min != nil {
		out["minimum"] = *s.Min
	}
	if s.Max != nil {
		out["maximum"] = *s.Max
	}
	if s.Const != nil {
		out["const"] = s.Const
	}
	if depth >= maxSchemaDepth {
		return out
	}
	if s.Items != nil {
		out["items"] = schemaMap(s.Items, depth+1)
	}
	if len(s.Properties) > 0 {
		out["properties"] = propertiesMap(s.Properties, depth+1)
	}
	if len(s.Required) > 0 {
		out["required"] = s.Required
	}
	if len(s.OneOf) > 0 {
		out["oneOf"] = schemaList(s.OneOf, depth+1)
	}
	if len(s.AnyOf) > 0 {
		out["anyOf"] = schemaList(s.AnyOf, depth+1)
	}
	if len(s.AllOf) > 0 {
		out["allOf"] = schemaList(s.AllOf, depth+1)
	}
	return out
}

// responseDescription describes the fields of the operation's JSON
// success response, as Higress's generated definitions do, so a model can
// read the raw response that follows.
func responseDescription(op *openapi3.Operation) string {
	if op.Responses == nil {
		return ""
	}
	var ref *openapi3.ResponseRef
	for status := 200; status < 300 && ref == nil; status++ {
		ref = op.Responses.Status(status)
	}
	if ref == nil || ref.Value == nil {
		return ""
	}
	_, media := pickMedia(ref.Value.Content)
	if media == nil || media.Schema == nil || media.Schema.Value == nil {
		return ""
	}
	var lines []string
	describeFields(media.Schema.Value, "", 0, &lines)
	if len(lines) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("# API Response Information\n\nBelow is the response from an API call. To help you understand the data, I've provided:\n\n")
	b.WriteString("1. A detailed description of all fields in the response structure\n2. The complete API response\n\n")
	b.WriteString("## Response Structure\n\n> Content-Type: application/json\n\n")
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	b.WriteString("\n## Original Response\n\n")
	return b.String()
}

func describeFields(s *openapi3.Schema, prefix string, depth int, lines *[]string) {
	if depth >= maxSchemaDepth || len(*lines) > 200 {
		return
	}
	if schemaType(s) == "array" && s.Items != nil && s.Items.Value != nil {
		describeFields(s.Items.Value, prefix+"[]", depth+1, lines)
		return
	}
	keys := make([]string, 0, len(s.Properties))
	for k := range s.Properties {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	indent := strings.Repeat("  ", depth)
	for _, k := range keys {
		ref := s.Properties[k]
		if ref == nil || ref.Value == nil {
			continue
		}
		p := ref.Value
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		typ := schemaType(p)
		if typ == "" {
			typ = "any"
		}
		*lines = append(*lines, fmt.Sprintf("%s- **%s**: %s (Type: %s)", indent, path, strings.TrimSpace(p.Description), typ))
		if typ == "object" || typ == "array" {
			describeFields(p, path, depth+1, lines)
		}
	}
}
