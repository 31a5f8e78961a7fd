package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/translate"
)

// kind is what a client request asks for.
type kind int

const (
	kindChat       kind = iota // POST /v1/chat/completions (OpenAI)
	kindMessages               // POST /v1/messages (Anthropic)
	kindEmbeddings             // POST /v1/embeddings
	kindModels                 // GET /v1/models
	kindPass                   // any other /v1/* path, passed through
)

// provider is a compiled provider config. It is immutable after
// compilation except for its token pool, which is safe for concurrent use.
type provider struct {
	id, typ string
	// wire is the protocol the provider speaks; "" for generic and
	// protocol original, which pass the client's request unchanged.
	wire translate.Protocol
	// base is the versioned base URL (…/v1, …/v1beta) that API paths are
	// appended to; for pass-through providers it is the endpoint as given.
	base *url.URL
	// baseURL is base as a string, ready for requests.
	baseURL string
	// chatURL, when set, is where chat requests go (openaiCustomUrl with a
	// full path).
	chatURL       string
	azure         *azureURL
	authHeader    string // the header that carries the token
	authPrefix    string // "Bearer " or ""
	authKey       string // authHeader in canonical form
	claudeVersion string
	// claudeVersionHdr is claudeVersion as a header value.
	claudeVersionHdr []string
	mapping          *modelMapping
	settings         []setting
	timeout          time.Duration
	subPath          string
	tokens           *tokenPool
	retry            *retryPolicy
}

// passthrough reports whether p forwards the client's request unchanged
// (generic, protocol original).
func (p *provider) passthrough() bool { return p.wire == "" }

func compileProvider(pc *providerConfig) (*provider, error) {
	p := &provider{
		id:         pc.providerID(),
		typ:        pc.Type,
		authHeader: "Authorization",
		authPrefix: "Bearer ",
		timeout:    defaultTimeoutMS * time.Millisecond,
		subPath:    pc.SubPath,
	}
	if pc.Timeout != nil {
		p.timeout = time.Duration(*pc.Timeout) * time.Millisecond
	}
	var err error
	if p.mapping, err = compileMapping(pc.ModelMapping); err != nil {
		return nil, err
	}
	endpoint := pc.Endpoint
	if endpoint == "" && pc.Type == "ollama" && pc.OllamaServerHost != "" {
		port := pc.OllamaServerPort
		if port == 0 {
			port = 11434
		}
		endpoint = "http://" + pc.OllamaServerHost + ":" + strconv.Itoa(port)
	}
	def := providerTypes[pc.Type]
	switch pc.Type {
	case "azure":
		p.wire = translate.OpenAI
		p.authHeader, p.authPrefix = "api-key", ""
		s := pc.AzureServiceURL
		if s == "" {
			s = pc.Endpoint
		}
		if p.azure, err = parseAzure(s); err != nil {
			return nil, err
		}
	case "claude":
		p.wire = translate.Anthropic
		p.authHeader, p.authPrefix = "x-api-key", ""
		p.claudeVersion = pc.ClaudeVersion
		if p.claudeVersion == "" {
			p.claudeVersion = defaultClaudeVersion
		}
	case "gemini":
		p.wire = translate.Gemini
		p.authHeader, p.authPrefix = "x-goog-api-key", ""
	case "generic":
		p.wire = ""
	default:
		p.wire = translate.OpenAI
	}
	if p.azure == nil {
		raw := def
		if endpoint != "" {
			raw = endpoint
		}
		if pc.OpenAICustomURL != "" {
			raw = withScheme(pc.OpenAICustomURL)
			if strings.HasSuffix(strings.TrimRight(raw, "/"), "/chat/completions") {
				p.chatURL = strings.TrimRight(raw, "/")
				raw = strings.TrimSuffix(p.chatURL, "/chat/completions")
			}
		}
		u, err := parseBaseURL(raw)
		if err != nil {
			return nil, err
		}
		switch {
		case pc.Type == "generic":
			p.base = u
		case pc.Protocol == "original":
			// The client's path is kept: only the origin (and any path
			// prefix the user gave in endpoint) comes from the config.
			if endpoint == "" {
				u.Path = ""
			}
			p.base = u
		case p.wire == translate.Gemini:
			p.base = versioned(u, "v1beta")
		default:
			p.base = versioned(u, "v1")
		}
	}
	if pc.Protocol == "original" {
		p.wire = ""
	}
	if p.base != nil {
		p.baseURL = p.base.String()
	}
	if p.settings, err = compileSettings(pc.CustomSettings, p.wire); err != nil {
		return nil, err
	}
	if p.tokens, err = newTokenPool(pc.APITokens, pc.Failover); err != nil {
		return nil, err
	}
	p.authKey = http.CanonicalHeaderKey(p.authHeader)
	for _, t := range p.tokens.tokens {
		t.auth = []string{p.authPrefix + t.value}
	}
	if p.claudeVersion != "" {
		p.claudeVersionHdr = []string{p.claudeVersion}
	}
	if r := pc.RetryOnFailure; r != nil && r.Enabled {
		p.retry = &retryPolicy{max: 1, timeout: defaultRetryTimeoutMS * time.Millisecond}
		if r.MaxRetries > 0 {
			p.retry.max = r.MaxRetries
		}
		if r.RetryTimeout > 0 {
			p.retry.timeout = time.Duration(r.RetryTimeout) * time.Millisecond
		}
		on := r.RetryOnStatus
		if len(on) == 0 {
			on = []string{"4.*", "5.*"}
		}
		if p.retry.on, err = compileStatusPatterns(on); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// serves reports whether p can serve a request of kind k from a client of
// protocol client, on API path rest (the path after /v1).
func (p *provider) serves(k kind, client translate.Protocol, rest string) bool {
	if p.passthrough() {
		return true
	}
	switch k {
	case kindChat, kindMessages:
		return true
	case kindModels:
		return true
	case kindEmbeddings:
		return p.wire == translate.OpenAI
	default:
		if strings.HasPrefix(rest, "/messages/") {
			return p.wire == translate.Anthropic
		}
		return p.wire == translate.OpenAI
	}
}

// target returns the URL of a request of kind k for model on provider p.
// path is the client's path from /v1 on ("/v1/chat/completions"); rest is
// path without "/v1"; query is the client's raw query.
func (p *provider) target(k kind, path, rest, model string, stream bool, query string) string {
	withQuery := func(s, q string) string {
		if q == "" {
			return s
		}
		if strings.Contains(s, "?") {
			return s + "&" + q
		}
		return s + "?" + q
	}
	if p.passthrough() {
		return withQuery(p.baseURL+path, query)
	}
	if p.azure != nil {
		return p.azure.target(k, rest, model, query)
	}
	switch p.wire {
	case translate.Anthropic:
		if k == kindChat || k == kindMessages {
			rest = "/messages"
		}
		return withQuery(p.baseURL+rest, query)
	case translate.Gemini:
		if k == kindModels {
			return p.baseURL + "/models"
		}
		if stream {
			return p.baseURL + "/models/" + url.PathEscape(model) + ":streamGenerateContent?alt=sse"
		}
		return p.baseURL + "/models/" + url.PathEscape(model) + ":generateContent"
	}
	if k == kindChat || k == kindMessages {
		if p.chatURL != "" {
			return p.chatURL
		}
		rest = "/chat/completions"
	}
	return withQuery(p.baseURL+rest, query)
}

// host is the provider's scheme and host, for messages.
func (p *provider) host() string {
	if p.azure != nil {
		return p.azure.origin
	}
	return p.base.Scheme + "://" + p.base.Host
}

// azureURL is one of the forms of azureServiceUrl that Higress accepts.
type azureURL struct {
	form       int
	origin     string // scheme://host
	prefix     string // origin + path up to the API path
	apiVersion string
	full       string // the full-form chat URL, as given
}

const (
	azureV1         = iota // https://R.openai.azure.com/openai/v1
	azureFull              // …/openai/deployments/D/chat/completions?api-version=V
	azureDeployment        // …/openai/deployments/D?api-version=V
	azureResource          // https://R.openai.azure.com?api-version=V
)

var azureDeploymentRE = regexp.MustCompile(`^/openai/deployments/[^/]+$`)

func parseAzure(s string) (*azureURL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%q must be an http or https URL with a host, such as https://RESOURCE.openai.azure.com/openai/v1", s)
	}
	a := &azureURL{origin: u.Scheme + "://" + u.Host, apiVersion: u.Query().Get("api-version")}
	path := strings.TrimRight(u.Path, "/")
	needVersion := true
	switch {
	case strings.HasSuffix(path, "/openai/v1"):
		a.form, a.prefix, needVersion = azureV1, a.origin+path, false
	case strings.HasPrefix(path, "/openai/deployments/") && strings.HasSuffix(path, "/chat/completions"):
		a.form, a.full = azureFull, a.origin+path+"?"+u.RawQuery
		a.prefix = a.origin + strings.TrimSuffix(path, "/chat/completions")
	case azureDeploymentRE.MatchString(path):
		a.form, a.prefix = azureDeployment, a.origin+path
	case path == "":
		a.form, a.prefix = azureResource, a.origin
	default:
		return nil, fmt.Errorf("%q is not an Azure OpenAI URL form Gatehouse knows: use https://RESOURCE.openai.azure.com/openai/v1, …/openai/deployments/DEPLOYMENT?api-version=V, …/openai/deployments/DEPLOYMENT/chat/completions?api-version=V or https://RESOURCE.openai.azure.com?api-version=V", s)
	}
	if needVersion && a.apiVersion == "" {
		return nil, fmt.Errorf("%q needs an api-version query parameter, such as ?api-version=2024-10-21 (or use the /openai/v1 form, which needs none)", s)
	}
	return a, nil
}

func (a *azureURL) target(k kind, rest, model, query string) string {
	q := url.Values{}
	if query != "" {
		q, _ = url.ParseQuery(query)
	}
	if k == kindChat || k == kindMessages {
		rest = "/chat/completions"
	}
	var s string
	switch a.form {
	case azureV1:
		s = a.prefix + rest
	case azureFull:
		if rest == "/chat/completions" && query == "" {
			return a.full
		}
		s = a.prefix + rest
	case azureDeployment:
		s = a.prefix + rest
		if k == kindModels {
			s = a.origin + "/openai/models"
		}
	default:
		s = a.origin + "/openai/deployments/" + url.PathEscape(model) + rest
		if k == kindModels {
			s = a.origin + "/openai/models"
		}
	}
	if a.apiVersion != "" && a.form != azureV1 {
		q.Set("api-version", a.apiVersion)
	}
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

// modelMapping maps a requested model name to the provider's, Higress's
// way: an exact key, then the longest matching prefix key ("gpt-3-*"),
// then regular expression keys ("~gpt-(.*)", in key order), then "*". A
// value "" keeps the requested name.
type modelMapping struct {
	exact    map[string]string
	prefixes []prefixRule
	regexes  []regexRule
	def      *string
}

type prefixRule struct{ prefix, to string }

type regexRule struct {
	re *regexp.Regexp
	to string
}

func compileMapping(m map[string]string) (*modelMapping, error) {
	if len(m) == 0 {
		return nil, nil
	}
	mm := &modelMapping{exact: map[string]string{}}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := m[k]
		switch {
		case k == "*":
			mm.def = &v
		case strings.HasPrefix(k, "~"):
			re, err := regexp.Compile(k[1:])
			if err != nil {
				return nil, fmt.Errorf("modelMapping %q: %w", k, err)
			}
			mm.regexes = append(mm.regexes, regexRule{re, v})
		case strings.HasSuffix(k, "*"):
			mm.prefixes = append(mm.prefixes, prefixRule{strings.TrimSuffix(k, "*"), v})
		default:
			mm.exact[k] = v
		}
	}
	slices.SortStableFunc(mm.prefixes, func(a, b prefixRule) int { return len(b.prefix) - len(a.prefix) })
	return mm, nil
}

// lookup returns the mapped name of model and whether a key matched.
func (m *modelMapping) lookup(model string) (string, bool) {
	if m == nil {
		return model, false
	}
	keep := func(v string) string {
		if v == "" {
			return model
		}
		return v
	}
	if v, ok := m.exact[model]; ok {
		return keep(v), true
	}
	for _, p := range m.prefixes {
		if strings.HasPrefix(model, p.prefix) {
			return keep(p.to), true
		}
	}
	for _, r := range m.regexes {
		if r.re.MatchString(model) {
			if strings.Contains(r.to, "$") {
				return r.re.ReplaceAllString(model, r.to), true
			}
			return keep(r.to), true
		}
	}
	if m.def != nil {
		return keep(*m.def), true
	}
	return model, false
}

// names returns the exact model names m knows (keys, not patterns).
func (m *modelMapping) names() []string {
	if m == nil {
		return nil
	}
	out := make([]string, 0, len(m.exact))
	for k := range m.exact {
		out = append(out, k)
	}
	return out
}

// setting is a compiled customSetting: the JSON path in the provider's
// request body and the value to put there.
type setting struct {
	path      []string
	value     json.RawMessage
	overwrite bool
}

// settingNames maps the names of Higress's automatic customSettings to
// their field path per provider protocol (absent: the protocol has no
// such field, and the setting is skipped for it).
var settingNames = map[string]map[translate.Protocol][]string{
	"max_tokens":  {translate.OpenAI: {"max_tokens"}, translate.Anthropic: {"max_tokens"}, translate.Gemini: {"generationConfig", "maxOutputTokens"}},
	"temperature": {translate.OpenAI: {"temperature"}, translate.Anthropic: {"temperature"}, translate.Gemini: {"generationConfig", "temperature"}},
	"top_p":       {translate.OpenAI: {"top_p"}, translate.Anthropic: {"top_p"}, translate.Gemini: {"generationConfig", "topP"}},
	"top_k":       {translate.Anthropic: {"top_k"}, translate.Gemini: {"generationConfig", "topK"}},
	"seed":        {translate.OpenAI: {"seed"}},
}

var settingNameList = func() []string {
	out := make([]string, 0, len(settingNames))
	for n := range settingNames {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}()

func compileSettings(list []customSetting, wire translate.Protocol) ([]setting, error) {
	var out []setting
	for _, cs := range list {
		v, err := json.Marshal(cs.Value)
		if err != nil {
			return nil, fmt.Errorf("customSettings %q: %w", cs.Name, err)
		}
		s := setting{value: v, overwrite: cs.Overwrite == nil || *cs.Overwrite}
		if cs.Mode == "raw" || wire == "" {
			s.path = []string{cs.Name}
		} else {
			path, ok := settingNames[cs.Name][wire]
			if !ok {
				continue
			}
			s.path = path
		}
		out = append(out, s)
	}
	return out, nil
}

// applySettings sets the settings in a JSON object body (one or two
// levels deep).
func applySettings(body []byte, settings []setting) ([]byte, error) {
	if len(settings) == 0 {
		return body, nil
	}
	var root map[string]json.RawMessage
	if err := json.Unmarshal(body, &root); err != nil {
		return nil, fmt.Errorf("apply customSettings: %w", err)
	}
	for _, s := range settings {
		if len(s.path) == 1 {
			if _, has := root[s.path[0]]; has && !s.overwrite {
				continue
			}
			root[s.path[0]] = s.value
			continue
		}
		var sub map[string]json.RawMessage
		if raw, ok := root[s.path[0]]; ok {
			if err := json.Unmarshal(raw, &sub); err != nil {
				return nil, fmt.Errorf("apply customSettings: %s is not an object: %w", s.path[0], err)
			}
		}
		if sub == nil {
			sub = map[string]json.RawMessage{}
		}
		if _, has := sub[s.path[1]]; has && !s.overwrite {
			continue
		}
		sub[s.path[1]] = s.value
		raw, err := json.Marshal(sub)
		if err != nil {
			return nil, err
		}
		root[s.path[0]] = raw
	}
	return json.Marshal(root)
}

// retryPolicy is a provider's retryOnFailure: the same provider is asked
// again (with another token when it has one) on these statuses.
type retryPolicy struct {
	max     int
	timeout time.Duration
	on      []*regexp.Regexp
}

func compileStatusPatterns(list []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(list))
	for _, s := range list {
		re, err := regexp.Compile("^(?:" + s + ")$")
		if err != nil {
			return nil, fmt.Errorf("status pattern %q: %w", s, err)
		}
		out = append(out, re)
	}
	return out, nil
}

func matchStatus(pats []*regexp.Regexp, status int) bool {
	s := strconv.Itoa(status)
	for _, re := range pats {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// statusSet is fallback.onStatus: codes ("429") and classes ("5xx").
type statusSet struct {
	codes   map[int]bool
	classes [6]bool
}

func compileStatusSet(list []string) (statusSet, error) {
	if len(list) == 0 {
		list = []string{"429", "5xx"}
	}
	s := statusSet{codes: map[int]bool{}}
	for _, v := range list {
		if strings.HasSuffix(v, "xx") && len(v) == 3 {
			s.classes[v[0]-'0'] = true
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return s, errors.New("fallback status " + strconv.Quote(v) + " is not a code or class")
		}
		s.codes[n] = true
	}
	return s, nil
}

func (s statusSet) has(status int) bool {
	if s.codes[status] {
		return true
	}
	c := status / 100
	return c >= 1 && c <= 5 && s.classes[c]
}
