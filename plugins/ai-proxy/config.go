package main

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/strictjson"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// config is an instance's configuration: Higress's ai-proxy config plus
// Gatehouse's extensions (upstreams, modelPredicates, fallback,
// allowedConsumers, routeName, maxRequestBodyBytes).
type config struct {
	Provider            *providerConfig   `json:"provider"`
	Providers           []providerConfig  `json:"providers"`
	ActiveProviderID    string            `json:"activeProviderId"`
	Upstreams           []upstreamConfig  `json:"upstreams"`
	ModelPredicates     []predicateConfig `json:"modelPredicates"`
	Fallback            *fallbackConfig   `json:"fallback"`
	AllowedConsumers    []string          `json:"allowedConsumers"`
	RouteName           string            `json:"routeName"`
	MaxRequestBodyBytes int64             `json:"maxRequestBodyBytes"`
}

// providerConfig is one Higress provider.
type providerConfig struct {
	ID                   string            `json:"id"`
	Type                 string            `json:"type"`
	APITokens            []string          `json:"apiTokens"`
	ModelMapping         map[string]string `json:"modelMapping"`
	Protocol             string            `json:"protocol"`
	CustomSettings       []customSetting   `json:"customSettings"`
	SubPath              string            `json:"subPath"`
	Timeout              *int64            `json:"timeout"`
	OpenAICustomURL      string            `json:"openaiCustomUrl"`
	AzureServiceURL      string            `json:"azureServiceUrl"`
	ClaudeVersion        string            `json:"claudeVersion"`
	QwenEnableCompatible *bool             `json:"qwenEnableCompatible"`
	OllamaServerHost     string            `json:"ollamaServerHost"`
	OllamaServerPort     int               `json:"ollamaServerPort"`
	Failover             *failoverConfig   `json:"failover"`
	RetryOnFailure       *retryConfig      `json:"retryOnFailure"`
	Endpoint             string            `json:"endpoint"`
}

type customSetting struct {
	Name      string `json:"name"`
	Value     any    `json:"value"`
	Mode      string `json:"mode"`
	Overwrite *bool  `json:"overwrite"`
}

type failoverConfig struct {
	Enabled             bool     `json:"enabled"`
	FailureThreshold    int      `json:"failureThreshold"`
	SuccessThreshold    int      `json:"successThreshold"`
	HealthCheckInterval int64    `json:"healthCheckInterval"`
	HealthCheckTimeout  int64    `json:"healthCheckTimeout"`
	HealthCheckModel    string   `json:"healthCheckModel"`
	CooldownDuration    int64    `json:"cooldownDuration"`
	FailoverOnStatus    []string `json:"failoverOnStatus"`
}

type retryConfig struct {
	Enabled       bool     `json:"enabled"`
	MaxRetries    int      `json:"maxRetries"`
	RetryTimeout  int64    `json:"retryTimeout"`
	RetryOnStatus []string `json:"retryOnStatus"`
}

type upstreamConfig struct {
	Provider     string            `json:"provider"`
	Weight       *int              `json:"weight"`
	ModelMapping map[string]string `json:"modelMapping"`
}

type predicateConfig struct {
	MatchType  string `json:"matchType"`
	MatchValue string `json:"matchValue"`
}

type fallbackConfig struct {
	Enabled   bool             `json:"enabled"`
	Upstreams []upstreamConfig `json:"upstreams"`
	Strategy  string           `json:"strategy"`
	OnStatus  []string         `json:"onStatus"`
}

// Defaults and limits.
const (
	defaultTimeoutMS        = 120000
	defaultMaxBody          = 32 << 20
	defaultClaudeVersion    = "2023-06-01"
	defaultFailureThreshold = 3
	defaultSuccessThreshold = 1
	defaultHealthCheckMS    = 5000
	defaultRetryTimeoutMS   = 30000
)

// providerTypes lists the implemented provider types with their public
// default base URLs ("" = the provider has no public endpoint: endpoint
// is required).
var providerTypes = map[string]string{
	"openai":     "https://api.openai.com/v1",
	"deepseek":   "https://api.deepseek.com/v1",
	"qwen":       "https://dashscope.aliyuncs.com/compatible-mode/v1",
	"moonshot":   "https://api.moonshot.cn/v1",
	"groq":       "https://api.groq.com/openai/v1",
	"mistral":    "https://api.mistral.ai/v1",
	"openrouter": "https://openrouter.ai/api/v1",
	"together":   "https://api.together.xyz/v1",
	"vllm":       "",
	"ollama":     "http://127.0.0.1:11434/v1",
	"azure":      "",
	"claude":     "https://api.anthropic.com/v1",
	"gemini":     "https://generativelanguage.googleapis.com/v1beta",
	"generic":    "",
}

// typeNames is providerTypes' keys in a stable order, for messages.
var typeNames = func() []string {
	names := make([]string, 0, len(providerTypes))
	for n := range providerTypes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}()

// keylessTypes may run without apiTokens (self-hosted servers).
var keylessTypes = map[string]bool{"vllm": true, "ollama": true, "generic": true}

// Higress fields that Gatehouse does not implement, with what to do
// instead; strictjson refuses them as unknown, and parseConfig replaces
// its message with this one.
var notImplemented = map[string]string{
	"context":                "is not implemented by Gatehouse's ai-proxy; put the context in the request's system message instead",
	"capabilities":           "is not implemented by Gatehouse's ai-proxy; requests are sent to the provider's standard paths",
	"version":                `is not a provider field; the Anthropic API version is "claudeVersion" (default "2023-06-01")`,
	"basePath":               `is not implemented; use "subPath" to remove a prefix from the request path`,
	"basePathHandling":       `is not implemented; use "subPath" to remove a prefix from the request path`,
	"responseJsonSchema":     "is not implemented; send response_format in the request",
	"genericHost":            `is not implemented; give the upstream's base URL in "endpoint"`,
	"contextCleanupCommands": "is not implemented",
	"reasoningContentMode":   "is not implemented; reasoning is passed to the client as the provider sends it",
	"claudeCodeMode":         "is not implemented; use an API key in apiTokens",
	"geminiSafetySetting":    "is not implemented; send safetySettings with protocol \"original\"",
	"apiVersion":             `is not implemented; give the versioned base URL in "endpoint", such as https://generativelanguage.googleapis.com/v1`,
	"firstByteTimeout":       `is not implemented; "timeout" bounds the time to the provider's first byte`,
	"moonshotFileId":         "is not implemented",
	"qwenEnableSearch":       "is not implemented",
	"qwenFileIds":            "is not implemented",
}

var (
	versionSegment = regexp.MustCompile(`^v[0-9]+[a-z0-9]*$`)
	providerIDRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	statusClassRE  = regexp.MustCompile(`^[1-5](xx|[0-9][0-9])$`)
)

// parseConfig unmarshals data strictly, applies the defaults and validates
// the result, returning every problem at once.
func parseConfig(data []byte) (*config, error) {
	var c config
	shape, err := strictjson.Decode(data, &c)
	if err != nil {
		return nil, err
	}
	for i, e := range shape {
		var ce *pluginapi.ConfigError
		if errors.As(e, &ce) {
			last := ce.Field[strings.LastIndexAny(ce.Field, ".")+1:]
			if msg, ok := notImplemented[last]; ok && strings.HasPrefix(ce.Message, "unknown field") {
				shape[i] = &pluginapi.ConfigError{Field: ce.Field, Message: msg}
			}
		}
	}
	if err := strictjson.Join(shape, c.validate()); err != nil {
		return nil, err
	}
	return &c, nil
}

// providerList returns every configured provider with its path in the
// config, "provider" first.
func (c *config) providerList() ([]*providerConfig, []string) {
	var ps []*providerConfig
	var at []string
	if c.Provider != nil {
		ps = append(ps, c.Provider)
		at = append(at, "provider")
	}
	for i := range c.Providers {
		ps = append(ps, &c.Providers[i])
		at = append(at, "providers["+strconv.Itoa(i)+"]")
	}
	return ps, at
}

// providerID is the id a provider is known by: its id, else its type.
func (p *providerConfig) providerID() string {
	if p.ID != "" {
		return p.ID
	}
	return p.Type
}

func (c *config) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &pluginapi.ConfigError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	ps, at := c.providerList()
	if len(ps) == 0 {
		bad("provider", `is required: give "provider" (one provider) or "providers" with "activeProviderId", such as {"provider": {"type": "openai", "apiTokens": ["sk-…"]}}`)
	}
	ids := map[string]string{}
	for i, p := range ps {
		validateProvider(p, at[i], bad)
		if c.Provider != nil && len(c.Providers) > 0 && i == 0 {
			continue // "provider" and "providers" together is reported below
		}
		id := p.providerID()
		if prev, dup := ids[id]; dup && id != "" {
			bad(at[i]+".id", "%q is already the id of %s; every provider needs its own id", id, prev)
		} else {
			ids[id] = at[i]
		}
	}
	if c.Provider != nil && len(c.Providers) > 0 {
		bad("provider", `and "providers" are both given; use "provider" for one provider or "providers" with "activeProviderId" for several`)
	}
	known := func(id string) bool { _, ok := ids[id]; return ok }
	idList := func() string {
		names := make([]string, 0, len(ids))
		for id := range ids {
			names = append(names, strconv.Quote(id))
		}
		slices.Sort(names)
		return strings.Join(names, ", ")
	}
	if len(c.Providers) > 0 {
		for i, p := range c.Providers {
			if p.ID == "" {
				bad("providers["+strconv.Itoa(i)+"].id", "is required when providers are listed: upstreams and activeProviderId refer to providers by id")
			}
		}
		switch {
		case c.ActiveProviderID != "" && !known(c.ActiveProviderID):
			bad("activeProviderId", "%q is not the id of a provider; the providers are %s", c.ActiveProviderID, idList())
		case c.ActiveProviderID == "" && len(c.Upstreams) == 0 && len(c.Providers) > 1:
			bad("activeProviderId", "is required when several providers are listed and no upstreams are given; the providers are %s", idList())
		}
	} else if c.ActiveProviderID != "" {
		bad("activeProviderId", `is only used with "providers"`)
	}
	checkUpstreams := func(list []upstreamConfig, path string, weighted bool) {
		for i, u := range list {
			ap := path + "[" + strconv.Itoa(i) + "]"
			switch {
			case u.Provider == "":
				bad(ap+".provider", "is required: the id of one of the providers (%s)", idList())
			case !known(u.Provider):
				bad(ap+".provider", "%q is not the id of a provider; the providers are %s", u.Provider, idList())
			}
			if u.Weight != nil {
				if !weighted {
					bad(ap+".weight", "is not used for fallback upstreams; they are tried in the order of strategy")
				} else if *u.Weight < 0 || *u.Weight > 10000 {
					bad(ap+".weight", "is %d; use a whole number from 0 to 10000", *u.Weight)
				}
			}
			validateMapping(u.ModelMapping, ap+".modelMapping", bad)
		}
	}
	checkUpstreams(c.Upstreams, "upstreams", true)
	if len(c.Upstreams) > 0 {
		total := 0
		for _, u := range c.Upstreams {
			if u.Weight == nil {
				total += 100
			} else {
				total += *u.Weight
			}
		}
		if total == 0 {
			bad("upstreams", "every weight is 0, so no request could be sent; give at least one upstream a weight above 0")
		}
	}
	for i, mp := range c.ModelPredicates {
		ap := "modelPredicates[" + strconv.Itoa(i) + "]"
		switch mp.MatchType {
		case "EQUAL", "PRE":
		case "REGULAR":
			if _, err := regexp.Compile(mp.MatchValue); err != nil {
				bad(ap+".matchValue", "is not a valid regular expression: %v", err)
			}
		default:
			bad(ap+".matchType", "%q is not supported; use EQUAL, PRE or REGULAR", mp.MatchType)
		}
		if mp.MatchValue == "" {
			bad(ap+".matchValue", "is required: the model name (EQUAL), its prefix (PRE) or a regular expression (REGULAR)")
		}
	}
	if f := c.Fallback; f != nil {
		if f.Enabled && len(f.Upstreams) == 0 {
			bad("fallback.upstreams", "is required when fallback is enabled: the providers to try when the first one fails")
		}
		checkUpstreams(f.Upstreams, "fallback.upstreams", false)
		switch f.Strategy {
		case "", "SEQUENCE", "RANDOM":
		default:
			bad("fallback.strategy", "%q is not supported; use SEQUENCE (in order) or RANDOM", f.Strategy)
		}
		for i, s := range f.OnStatus {
			if !statusClassRE.MatchString(s) {
				bad("fallback.onStatus["+strconv.Itoa(i)+"]", "%q is not a status; use a code such as \"429\" or a class such as \"5xx\"", s)
			}
		}
	}
	for i, name := range c.AllowedConsumers {
		if strings.TrimSpace(name) == "" {
			bad("allowedConsumers["+strconv.Itoa(i)+"]", "must not be empty")
		}
	}
	if c.MaxRequestBodyBytes < 0 {
		bad("maxRequestBodyBytes", "is %d; use a positive number of bytes (default %d)", c.MaxRequestBodyBytes, defaultMaxBody)
	}
	return errors.Join(errs...)
}

func validateProvider(p *providerConfig, at string, bad func(field, format string, args ...any)) {
	base, known := providerTypes[p.Type]
	switch {
	case p.Type == "":
		bad(at+".type", "is required; the supported types are %s", strings.Join(typeNames, ", "))
		return
	case !known:
		bad(at+".type", "%q is not supported; the supported types are %s", p.Type, strings.Join(typeNames, ", "))
		return
	}
	if p.ID != "" && !providerIDRE.MatchString(p.ID) {
		bad(at+".id", "%q is not a valid id: use up to 128 letters, digits and . _ : -, starting with a letter or digit", p.ID)
	}
	if len(p.APITokens) == 0 && !keylessTypes[p.Type] {
		bad(at+".apiTokens", "is required for type %s: add the provider's API key", p.Type)
	}
	seen := map[string]int{}
	for i, tok := range p.APITokens {
		ap := at + ".apiTokens[" + strconv.Itoa(i) + "]"
		switch {
		case tok == "":
			bad(ap, "must not be empty")
		case strings.ContainsFunc(tok, func(r rune) bool { return r < 0x21 || r == 0x7f }):
			bad(ap, "must not contain spaces or control characters (it travels in a header)")
		default:
			if j, dup := seen[tok]; dup {
				bad(ap, "is the same token as apiTokens[%d]", j)
			}
			seen[tok] = i
		}
	}
	validateMapping(p.ModelMapping, at+".modelMapping", bad)
	switch p.Protocol {
	case "", "openai", "original":
	default:
		bad(at+".protocol", "%q is not supported; use openai (the default: clients speak OpenAI's or Anthropic's API and requests are translated) or original (requests pass unchanged)", p.Protocol)
	}
	for i, s := range p.CustomSettings {
		ap := at + ".customSettings[" + strconv.Itoa(i) + "]"
		if s.Name == "" {
			bad(ap+".name", "is required, such as max_tokens")
		}
		if s.Value == nil {
			bad(ap+".value", "is required: a string, number or boolean")
		} else {
			switch s.Value.(type) {
			case string, bool, float64:
			default:
				bad(ap+".value", "must be a string, number or boolean")
			}
		}
		switch s.Mode {
		case "", "auto":
			if _, ok := settingNames[s.Name]; s.Name != "" && !ok {
				bad(ap+".name", "%q has no automatic mapping; use one of %s, or set mode to \"raw\" to set the field as named", s.Name, strings.Join(settingNameList, ", "))
			}
		case "raw":
		default:
			bad(ap+".mode", "%q is not supported; use auto or raw", s.Mode)
		}
	}
	if p.SubPath != "" && (!strings.HasPrefix(p.SubPath, "/") || strings.HasSuffix(p.SubPath, "/")) {
		bad(at+".subPath", "%q must start with '/' and not end with '/', such as /ai", p.SubPath)
	}
	if p.Timeout != nil && *p.Timeout <= 0 {
		bad(at+".timeout", "is %d; use a positive number of milliseconds (default %d)", *p.Timeout, defaultTimeoutMS)
	}
	if p.ClaudeVersion != "" && p.Type != "claude" {
		bad(at+".claudeVersion", "is only used by type claude")
	}
	if p.OpenAICustomURL != "" {
		if !isOpenAILike(p.Type) {
			bad(at+".openaiCustomUrl", "is only used by OpenAI-compatible types, not %s", p.Type)
		} else if p.Endpoint != "" {
			bad(at+".openaiCustomUrl", `and "endpoint" are both given; give one`)
		} else if _, err := parseBaseURL(withScheme(p.OpenAICustomURL)); err != nil {
			bad(at+".openaiCustomUrl", "%v", err)
		}
	}
	if p.AzureServiceURL != "" && p.Type != "azure" {
		bad(at+".azureServiceUrl", "is only used by type azure")
	}
	if p.QwenEnableCompatible != nil && (p.Type != "qwen" || !*p.QwenEnableCompatible) {
		if p.Type != "qwen" {
			bad(at+".qwenEnableCompatible", "is only used by type qwen")
		} else {
			bad(at+".qwenEnableCompatible", "false is not supported: Gatehouse calls Qwen's OpenAI-compatible mode; remove the field or set it to true")
		}
	}
	if (p.OllamaServerHost != "" || p.OllamaServerPort != 0) && p.Type != "ollama" {
		bad(at+".ollamaServerHost", "and ollamaServerPort are only used by type ollama")
	}
	if p.OllamaServerPort < 0 || p.OllamaServerPort > 65535 {
		bad(at+".ollamaServerPort", "is %d; use a port from 1 to 65535", p.OllamaServerPort)
	}
	if p.Endpoint != "" {
		if _, err := parseBaseURL(p.Endpoint); err != nil && p.Type != "azure" {
			bad(at+".endpoint", "%v", err)
		}
	}
	if p.Type == "azure" {
		switch {
		case p.AzureServiceURL == "" && p.Endpoint == "":
			bad(at+".azureServiceUrl", "is required for type azure, such as https://RESOURCE.openai.azure.com/openai/v1")
		case p.AzureServiceURL != "" && p.Endpoint != "":
			bad(at+".azureServiceUrl", `and "endpoint" are both given; give one`)
		default:
			u := p.AzureServiceURL
			field := at + ".azureServiceUrl"
			if u == "" {
				u, field = p.Endpoint, at+".endpoint"
			}
			if _, err := parseAzure(u); err != nil {
				bad(field, "%v", err)
			}
		}
	} else if base == "" && p.Endpoint == "" && p.OpenAICustomURL == "" {
		bad(at+".endpoint", "is required for type %s (it has no public default), such as http://127.0.0.1:8000", p.Type)
	}
	if f := p.Failover; f != nil {
		ap := at + ".failover"
		if f.FailureThreshold < 0 || f.SuccessThreshold < 0 || f.HealthCheckInterval < 0 || f.HealthCheckTimeout < 0 || f.CooldownDuration < 0 {
			bad(ap, "thresholds and durations must not be negative")
		}
		if f.Enabled && f.HealthCheckModel == "" && f.CooldownDuration == 0 {
			bad(ap+".healthCheckModel", "is required when failover is enabled unless cooldownDuration is set: a token taken out of use comes back after a successful health check with this model, or after the cooldown")
		}
		validateStatusRegexps(f.FailoverOnStatus, ap+".failoverOnStatus", bad)
	}
	if r := p.RetryOnFailure; r != nil {
		ap := at + ".retryOnFailure"
		if r.MaxRetries < 0 || r.MaxRetries > 10 {
			bad(ap+".maxRetries", "is %d; use 0 to 10", r.MaxRetries)
		}
		if r.RetryTimeout < 0 {
			bad(ap+".retryTimeout", "must not be negative")
		}
		validateStatusRegexps(r.RetryOnStatus, ap+".retryOnStatus", bad)
	}
}

func validateStatusRegexps(list []string, at string, bad func(field, format string, args ...any)) {
	for i, s := range list {
		if _, err := regexp.Compile("^(?:" + s + ")$"); err != nil || s == "" {
			bad(at+"["+strconv.Itoa(i)+"]", "%q is not a status pattern; use a code or a regular expression such as \"429\" or \"5.*\"", s)
		}
	}
}

func validateMapping(m map[string]string, at string, bad func(field, format string, args ...any)) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch {
		case k == "":
			bad(at, `has an empty key; use a model name, a prefix such as "gpt-3-*", "*" or "~regex"`)
		case strings.HasPrefix(k, "~"):
			if _, err := regexp.Compile(k[1:]); err != nil {
				bad(at+"."+k, "is not a valid regular expression: %v", err)
			}
		case strings.Contains(strings.TrimSuffix(k, "*"), "*"):
			bad(at+"."+k, `"*" may only end a key (a prefix such as "gpt-3-*") or be the whole key`)
		}
	}
}

// isOpenAILike reports whether type t speaks OpenAI's API.
func isOpenAILike(t string) bool {
	switch t {
	case "claude", "gemini", "azure", "generic":
		return false
	}
	_, ok := providerTypes[t]
	return ok
}

// withScheme adds https:// to a URL written without a scheme, as Higress
// accepts for openaiCustomUrl.
func withScheme(s string) string {
	if strings.Contains(s, "://") {
		return s
	}
	return "https://" + s
}

// parseBaseURL parses a provider base URL: http or https, a host, no
// query, no fragment; the path's trailing slash is removed.
func parseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q must start with http:// or https://", s)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q has no host", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q must not have a query or fragment", s)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%q must not contain credentials; put the key in apiTokens", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// versioned returns base with a version path: base itself when its last
// path segment is a version such as v1, v1beta or v4, else base + "/" +
// def.
func versioned(base *url.URL, def string) *url.URL {
	v := *base
	last := v.Path[strings.LastIndex(v.Path, "/")+1:]
	if !versionSegment.MatchString(last) {
		v.Path += "/" + def
	}
	return &v
}
