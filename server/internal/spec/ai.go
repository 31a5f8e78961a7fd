package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Error codes of the AI gateway's objects.
const (
	CodeLLMProviderInvalid = "llm_provider_invalid"
	CodeAIRouteInvalid     = "ai_route_invalid"
)

// LLMProviderTypes are the provider types the ai-proxy plugin serves, in
// the order the console offers them.
var LLMProviderTypes = []string{
	"openai", "deepseek", "qwen", "moonshot", "groq", "mistral", "openrouter", "together",
	"vllm", "ollama", "azure", "claude", "gemini", "generic",
}

// Protocols of an LLM provider (Higress): "openai" means the provider is
// called in the OpenAI protocol (translated when it speaks another);
// "original" passes requests in the provider's own protocol.
const (
	ProtocolOpenAI   = "openai"
	ProtocolOriginal = "original"
)

// Model predicate match types of an AI route (Higress AiModelPredicate).
const (
	MatchEqual   = "EQUAL"
	MatchPrefix  = "PRE"
	MatchRegular = "REGULAR"
)

// Fallback strategies of an AI route.
const (
	FallbackSequence = "SEQUENCE"
	FallbackRandom   = "RANDOM"
)

// AIRoutePathPrefix is an AI route's PathPrefix when none is given.
const AIRoutePathPrefix = "/"

// AIWeightTotal is what the weights of an AI route's upstreams add up to
// (Higress console: "The sum of upstream weights must be 100").
const AIWeightTotal = 100

// MaxLLMTokens bounds the tokens of one provider.
const MaxLLMTokens = 64

// LLMProvider is an LLM provider (Higress console's LlmProvider): a
// provider type, the credentials Gatehouse calls it with, and where it is.
// AI routes send requests to providers by name.
type LLMProvider struct {
	// Name identifies the provider; AI routes refer to it. A DNS label.
	Name string `json:"name" yaml:"name"`
	// Type is one of LLMProviderTypes.
	Type string `json:"type" yaml:"type"`
	// Tokens are the provider's API keys (secrets: masked in every answer
	// of the admin API); one is picked per request, and a token the
	// provider refuses is cooled down while the others serve.
	Tokens []string `json:"tokens" yaml:"tokens,omitempty"`
	// Endpoint is the provider's base URL (http or https), such as
	// "http://10.0.0.5:8000" for vLLM or a corporate proxy; empty means the
	// type's public default. For OpenAI-compatible types the chat URL is
	// <endpoint>/v1/chat/completions, or <endpoint>/chat/completions when
	// the endpoint ends in a version segment ("…/v1", "…/v1beta").
	Endpoint string `json:"endpoint,omitempty" yaml:"endpoint,omitempty"`
	// Protocol is ProtocolOpenAI (default) or ProtocolOriginal.
	Protocol string `json:"protocol,omitempty" yaml:"protocol,omitempty"`
	// TokenFailoverConfig cools down refused tokens and health-checks them
	// back (Higress failover).
	TokenFailoverConfig *TokenFailoverConfig `json:"tokenFailoverConfig,omitempty" yaml:"tokenFailoverConfig,omitempty"`
	// RawConfigs are further Higress provider fields (modelMapping,
	// customSettings, subPath, timeout, azureServiceUrl, claudeVersion,
	// retryOnFailure, …), passed to the ai-proxy plugin as they are; it
	// refuses those it does not implement.
	RawConfigs map[string]any `json:"rawConfigs,omitempty" yaml:"rawConfigs,omitempty"`
	// Version is the optimistic-concurrency version kept by the store.
	Version int64 `json:"version" yaml:"version,omitempty"`
}

// TokenFailoverConfig is Higress's provider failover: a token that fails
// FailureThreshold times in a row is taken out, health-checked every
// HealthCheckInterval ms with HealthCheckModel and put back after
// SuccessThreshold successes.
type TokenFailoverConfig struct {
	Enabled             bool   `json:"enabled" yaml:"enabled"`
	FailureThreshold    int    `json:"failureThreshold,omitempty" yaml:"failureThreshold,omitempty"`
	SuccessThreshold    int    `json:"successThreshold,omitempty" yaml:"successThreshold,omitempty"`
	HealthCheckInterval int    `json:"healthCheckInterval,omitempty" yaml:"healthCheckInterval,omitempty"`
	HealthCheckTimeout  int    `json:"healthCheckTimeout,omitempty" yaml:"healthCheckTimeout,omitempty"`
	HealthCheckModel    string `json:"healthCheckModel,omitempty" yaml:"healthCheckModel,omitempty"`
}

// AIRoute is an AI route (Higress console's AiRoute): requests to
// PathPrefix on Domains are served by the ai-proxy plugin, balanced over
// Upstreams by weight. AI routes with the same domains and path prefix
// form one gateway mount and are tried in order: a route whose
// ModelPredicates do not match the request's model passes it on.
type AIRoute struct {
	// Name identifies the route. A DNS label.
	Name string `json:"name" yaml:"name"`
	// Domains are the hosts the route serves, like Route.Domains; none
	// means any host.
	Domains []string `json:"domains" yaml:"domains,omitempty"`
	// PathPrefix is where the OpenAI- and Anthropic-compatible endpoints
	// are served (<pathPrefix>/v1/chat/completions, …); AIRoutePathPrefix
	// when empty.
	PathPrefix string `json:"pathPrefix" yaml:"pathPrefix"`
	// Upstreams are the providers and their weights (adding up to
	// AIWeightTotal).
	Upstreams []AIUpstream `json:"upstreams" yaml:"upstreams"`
	// ModelPredicates restrict the route to the models they match; none
	// means every model.
	ModelPredicates []AIModelPredicate `json:"modelPredicates" yaml:"modelPredicates,omitempty"`
	// AuthConfig, when enabled, admits only callers with a key-auth
	// consumer key, and of those only AllowedConsumers when listed.
	AuthConfig *AIAuthConfig `json:"authConfig,omitempty" yaml:"authConfig,omitempty"`
	// FallbackConfig tries other providers before the first byte reaches
	// the client.
	FallbackConfig *AIFallbackConfig `json:"fallbackConfig,omitempty" yaml:"fallbackConfig,omitempty"`
	// Enabled is true when nil.
	Enabled *bool `json:"enabled,omitempty" yaml:"enabled,omitempty"`
	// Version is the optimistic-concurrency version kept by the store.
	Version int64 `json:"version" yaml:"version,omitempty"`
}

// AIUpstream is one provider of an AI route.
type AIUpstream struct {
	// Provider is the name of an LLMProvider.
	Provider string `json:"provider" yaml:"provider"`
	// Weight is the provider's share of requests, 0 to 100; the weights
	// of a route add up to 100. A route with one upstream may leave it 0:
	// it gets every request.
	Weight int `json:"weight" yaml:"weight,omitempty"`
	// ModelMapping maps requested models to the provider's (Higress rules:
	// exact, "prefix-*", "*", "~regex"; "" keeps the name).
	ModelMapping map[string]string `json:"modelMapping,omitempty" yaml:"modelMapping,omitempty"`
}

// AIModelPredicate matches the model a request asks for.
type AIModelPredicate struct {
	// MatchType is MatchEqual, MatchPrefix or MatchRegular.
	MatchType string `json:"matchType" yaml:"matchType"`
	// MatchValue is the model, the prefix or an RE2 expression matched
	// against the whole model name.
	MatchValue string `json:"matchValue" yaml:"matchValue"`
}

// AIAuthConfig admits key-auth consumers to an AI route.
type AIAuthConfig struct {
	Enabled bool `json:"enabled" yaml:"enabled"`
	// AllowedConsumers are key-auth consumer names; empty admits every
	// consumer with a valid key. Kept but not checked while Enabled is
	// false, so that auth can be switched off and on again.
	AllowedConsumers []string `json:"allowedConsumers" yaml:"allowedConsumers,omitempty"`
}

// AIFallbackConfig says which providers to try when the upstream fails.
type AIFallbackConfig struct {
	Enabled   bool                 `json:"enabled" yaml:"enabled"`
	Upstreams []AIFallbackUpstream `json:"upstreams" yaml:"upstreams,omitempty"`
	// FallbackStrategy is FallbackSequence (default) or FallbackRandom.
	FallbackStrategy string `json:"fallbackStrategy,omitempty" yaml:"fallbackStrategy,omitempty"`
	// OnStatus are the upstream answers that trigger the fallback: a
	// status ("429", "502") or a class ("4xx", "5xx"). Connection errors
	// and timeouts always do.
	OnStatus []string `json:"onStatus" yaml:"onStatus,omitempty"`
}

// AIFallbackUpstream is one fallback provider.
type AIFallbackUpstream struct {
	Provider     string            `json:"provider" yaml:"provider"`
	ModelMapping map[string]string `json:"modelMapping,omitempty" yaml:"modelMapping,omitempty"`
}

// IsEnabled reports whether the route serves requests (Enabled nil or true).
func (r AIRoute) IsEnabled() bool { return r.Enabled == nil || *r.Enabled }

// AuthEnabled reports whether the route admits only key-auth consumers.
func (r AIRoute) AuthEnabled() bool { return r.AuthConfig != nil && r.AuthConfig.Enabled }

// Normalize gives the lists their empty value instead of nil, so that the
// stored and the exported forms are the same.
func (p *LLMProvider) Normalize() {
	if p.Tokens == nil {
		p.Tokens = []string{}
	}
}

// ApplyDefaults is Normalize; the defaults of Protocol and Endpoint belong
// to the plugin.
func (p *LLMProvider) ApplyDefaults() { p.Normalize() }

// Normalize gives the lists their empty value instead of nil.
func (r *AIRoute) Normalize() {
	if r.Domains == nil {
		r.Domains = []string{}
	}
	if r.Upstreams == nil {
		r.Upstreams = []AIUpstream{}
	}
	if r.ModelPredicates == nil {
		r.ModelPredicates = []AIModelPredicate{}
	}
	if a := r.AuthConfig; a != nil && a.AllowedConsumers == nil {
		a.AllowedConsumers = []string{}
	}
	if f := r.FallbackConfig; f != nil {
		if f.Upstreams == nil {
			f.Upstreams = []AIFallbackUpstream{}
		}
		if f.OnStatus == nil {
			f.OnStatus = []string{}
		}
	}
}

// ApplyDefaults fills PathPrefix, a lone upstream's weight, the fallback
// strategy and Enabled.
func (r *AIRoute) ApplyDefaults() {
	r.Normalize()
	if r.PathPrefix == "" {
		r.PathPrefix = AIRoutePathPrefix
	}
	if len(r.Upstreams) == 1 && r.Upstreams[0].Weight == 0 {
		r.Upstreams[0].Weight = AIWeightTotal
	}
	if f := r.FallbackConfig; f != nil && f.Enabled && f.FallbackStrategy == "" {
		f.FallbackStrategy = FallbackSequence
	}
	if r.Enabled == nil {
		t := true
		r.Enabled = &t
	}
}

// EffectivePathPrefix is PathPrefix, or AIRoutePathPrefix when empty.
func (r AIRoute) EffectivePathPrefix() string {
	if r.PathPrefix == "" {
		return AIRoutePathPrefix
	}
	return r.PathPrefix
}

// GroupKey is equal for AI routes that share one gateway mount: the same
// domains (in any order) and the same path prefix.
func (r AIRoute) GroupKey() string {
	d := slices.Clone(r.Domains)
	slices.Sort(d)
	return strings.Join(d, ",") + "\x00" + NormalizePrefix(r.EffectivePathPrefix())
}

// managedProviderFields are the Higress provider fields an LLMProvider
// sets from its own fields; RawConfigs may not set them.
var managedProviderFields = map[string]string{
	"id": "name", "type": "type", "apiTokens": "tokens", "endpoint": "endpoint",
	"protocol": "protocol", "failover": "tokenFailoverConfig",
}

// Validate checks the provider's own fields and returns every problem as
// errors.Join of *FieldError, or nil.
func (p LLMProvider) Validate() error {
	pr := &problems{object: KindLLMProvider, name: p.Name, code: CodeLLMProviderInvalid}
	p.validate(pr)
	return errors.Join(pr.errs...)
}

func (p LLMProvider) validate(pr *problems) {
	checkName(pr, "name", p.Name, "name")
	switch {
	case p.Type == "":
		pr.add("type", "type is required; use one of %s", strings.Join(LLMProviderTypes, ", "))
	case !slices.Contains(LLMProviderTypes, p.Type):
		pr.add("type", "unknown provider type %q; use one of %s", p.Type, strings.Join(LLMProviderTypes, ", "))
	}
	if len(p.Tokens) > MaxLLMTokens {
		pr.add("tokens", "%d tokens given; use at most %d", len(p.Tokens), MaxLLMTokens)
	}
	seen := map[string]int{}
	for i, t := range p.Tokens {
		field := fmt.Sprintf("tokens[%d]", i)
		// The token itself never appears in a message.
		switch {
		case t == "":
			pr.add(field, "is empty; give the provider's API key or remove the entry")
		case strings.TrimSpace(t) != t || strings.ContainsAny(t, " \t\r\n\x00"):
			pr.add(field, "contains spaces or line breaks; paste the API key alone")
		case len(t) > 4096:
			pr.add(field, "is %d characters long; use at most 4096", len(t))
		default:
			if j, dup := seen[t]; dup {
				pr.add(field, "is the same token as tokens[%d]; list each token once", j)
			}
			seen[t] = i
		}
	}
	if p.Endpoint != "" {
		if msg := checkProviderEndpoint(p.Endpoint); msg != "" {
			pr.add("endpoint", "%s", msg)
		}
	}
	switch p.Protocol {
	case "", ProtocolOpenAI, ProtocolOriginal:
	default:
		pr.add("protocol", "unknown protocol %q; use %q (default) or %q", p.Protocol, ProtocolOpenAI, ProtocolOriginal)
	}
	if f := p.TokenFailoverConfig; f != nil {
		for _, c := range []struct {
			field string
			v     int
		}{
			{"failureThreshold", f.FailureThreshold}, {"successThreshold", f.SuccessThreshold},
			{"healthCheckInterval", f.HealthCheckInterval}, {"healthCheckTimeout", f.HealthCheckTimeout},
		} {
			if c.v < 0 {
				pr.add("tokenFailoverConfig."+c.field, "%d is negative; use 0 for the default or a positive number", c.v)
			}
		}
		if f.Enabled && f.HealthCheckModel == "" {
			pr.add("tokenFailoverConfig.healthCheckModel", "is required when token failover is enabled: the model the health check asks for, such as \"gpt-4o-mini\"")
		}
	}
	keys := make([]string, 0, len(p.RawConfigs))
	for k := range p.RawConfigs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if own, ok := managedProviderFields[k]; ok {
			pr.add("rawConfigs."+k, "is set from the provider's %q field; set that instead and remove it from rawConfigs", own)
		}
	}
	if len(p.RawConfigs) > 0 {
		if _, err := json.Marshal(p.RawConfigs); err != nil {
			pr.add("rawConfigs", "cannot be expressed as JSON: %v", err)
		}
	}
}

// checkProviderEndpoint returns what is wrong with a provider's base URL.
func checkProviderEndpoint(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not a URL; write it like \"https://api.openai.com\" or \"http://10.0.0.5:8000\"", raw)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q must start with http:// or https://", raw)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Sprintf("%q has no host; write it like \"http://10.0.0.5:8000\"", raw)
	case u.User != nil:
		return "the endpoint contains credentials; remove them from the URL and put the API key in tokens"
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return fmt.Sprintf("%q has a query or fragment; an endpoint is a base URL with an optional path only", raw)
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("%q has an invalid port %q; use 1 to 65535", raw, port)
		}
	}
	return ""
}

var statusClassRE = regexp.MustCompile(`^[1-5](xx|[0-9][0-9])$`)

// Validate checks the route's own fields (not its references) and returns
// every problem as errors.Join of *FieldError, or nil.
func (r AIRoute) Validate() error {
	p := &problems{object: KindAIRoute, name: r.Name, code: CodeAIRouteInvalid}
	r.validate(p)
	return errors.Join(p.errs...)
}

func (r AIRoute) validate(p *problems) {
	checkName(p, "name", r.Name, "name")
	seen := make(map[string]bool, len(r.Domains))
	for i, d := range r.Domains {
		field := fmt.Sprintf("domains[%d]", i)
		if msg := CheckDomain(d); msg != "" {
			p.add(field, "%s", msg)
		} else if seen[d] {
			p.add(field, "domain %q is listed twice; list it once", d)
		}
		seen[d] = true
	}
	pp := r.EffectivePathPrefix()
	switch {
	case !strings.HasPrefix(pp, "/"):
		p.add("pathPrefix", "path prefix %q must start with '/'", pp)
	case strings.ContainsAny(pp, "?# \t\r\n"):
		p.add("pathPrefix", "path prefix %q must not contain '?', '#' or spaces", pp)
	case CleanPath(pp) != pp && CleanPath(pp)+"/" != pp:
		p.add("pathPrefix", "path prefix %q is not in canonical form; write %q", pp, CleanPath(pp))
	}
	if len(r.Upstreams) == 0 {
		p.add("upstreams", "at least one upstream is required, like {\"provider\": \"openai-1\", \"weight\": 100}")
	}
	sum := 0
	seenP := map[string]int{}
	for i, u := range r.Upstreams {
		field := fmt.Sprintf("upstreams[%d]", i)
		if u.Provider == "" {
			p.add(field+".provider", "is required: the name of an LLM provider")
		} else if j, dup := seenP[u.Provider]; dup {
			p.add(field+".provider", "provider %q is already upstreams[%d]; list each provider once", u.Provider, j)
		} else {
			seenP[u.Provider] = i
		}
		if u.Weight < 0 || u.Weight > AIWeightTotal {
			p.add(field+".weight", "weight %d is out of range; use 0 to %d", u.Weight, AIWeightTotal)
		}
		sum += u.Weight
		checkModelMapping(p, field+".modelMapping", u.ModelMapping)
	}
	single := len(r.Upstreams) == 1 && r.Upstreams[0].Weight == 0
	if len(r.Upstreams) > 0 && sum != AIWeightTotal && !single {
		p.add("upstreams", "the weights add up to %d; they must add up to %d (like 80 and 20)", sum, AIWeightTotal)
	}
	for i, mp := range r.ModelPredicates {
		field := fmt.Sprintf("modelPredicates[%d]", i)
		switch mp.MatchType {
		case MatchEqual, MatchPrefix:
		case MatchRegular:
			if _, err := regexp.Compile(mp.MatchValue); err != nil {
				p.add(field+".matchValue", "regex %q does not compile: %v; use RE2 syntax", mp.MatchValue, errors.Unwrap(err))
			}
		case "":
			p.add(field+".matchType", "is required; use %q, %q or %q", MatchEqual, MatchPrefix, MatchRegular)
		default:
			p.add(field+".matchType", "unknown match type %q; use %q, %q or %q", mp.MatchType, MatchEqual, MatchPrefix, MatchRegular)
		}
		if mp.MatchValue == "" {
			p.add(field+".matchValue", "is required: the model name, prefix or expression")
		}
	}
	if a := r.AuthConfig; a != nil {
		seenC := map[string]int{}
		for i, c := range a.AllowedConsumers {
			field := fmt.Sprintf("authConfig.allowedConsumers[%d]", i)
			if c == "" {
				p.add(field, "must not be empty")
			} else if j, dup := seenC[c]; dup {
				p.add(field, "consumer %q is already authConfig.allowedConsumers[%d]", c, j)
			}
			seenC[c] = i
		}
	}
	if f := r.FallbackConfig; f != nil && f.Enabled {
		if len(f.Upstreams) == 0 {
			p.add("fallbackConfig.upstreams", "at least one fallback upstream is required when fallback is enabled")
		}
		for i, u := range f.Upstreams {
			field := fmt.Sprintf("fallbackConfig.upstreams[%d]", i)
			if u.Provider == "" {
				p.add(field+".provider", "is required: the name of an LLM provider")
			}
			checkModelMapping(p, field+".modelMapping", u.ModelMapping)
		}
		switch f.FallbackStrategy {
		case "", FallbackSequence, FallbackRandom:
		default:
			p.add("fallbackConfig.fallbackStrategy", "unknown strategy %q; use %q or %q", f.FallbackStrategy, FallbackSequence, FallbackRandom)
		}
		if len(f.OnStatus) == 0 {
			p.add("fallbackConfig.onStatus", "at least one status is required when fallback is enabled, such as [\"429\", \"5xx\"]")
		}
		seenS := map[string]bool{}
		for i, s := range f.OnStatus {
			field := fmt.Sprintf("fallbackConfig.onStatus[%d]", i)
			n, err := strconv.Atoi(s)
			switch {
			case !statusClassRE.MatchString(s) || err == nil && (n < 100 || n > 599):
				p.add(field, "%q is not a status; use a status such as \"429\" or \"502\", or a class \"4xx\" or \"5xx\"", s)
			case seenS[s]:
				p.add(field, "%q is listed twice", s)
			}
			seenS[s] = true
		}
	}
}

func checkModelMapping(p *problems, field string, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "" {
			p.add(field, "a model mapping key is empty; use a model name, \"prefix-*\", \"*\" or \"~regex\"")
			continue
		}
		if strings.HasPrefix(k, "~") {
			if _, err := regexp.Compile(k[1:]); err != nil {
				p.add(field+"."+k, "regex %q does not compile: %v", k[1:], errors.Unwrap(err))
			}
		}
	}
}

// KeyAuthPlugin is the plugin whose consumers AI routes admit.
const KeyAuthPlugin = "key-auth"

// Consumer is a key-auth consumer found in a snapshot.
type Consumer struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// KeyAuthConsumers returns the consumers of the snapshot's enabled
// key-auth plugin instances, each name once (the first instance that
// names it wins), in order. A config that does not parse gives none; the
// plugin reports it.
func (s Snapshot) KeyAuthConsumers() []Consumer {
	var out []Consumer
	names, keys := map[string]bool{}, map[string]bool{}
	for _, pi := range s.PluginInstances {
		if pi.Plugin != KeyAuthPlugin || !pi.IsEnabled() || len(pi.Config) == 0 {
			continue
		}
		var cfg struct {
			Consumers []Consumer `json:"consumers"`
		}
		if json.Unmarshal(pi.Config, &cfg) != nil {
			continue
		}
		for _, c := range cfg.Consumers {
			if c.Name == "" || c.Key == "" || names[c.Name] || keys[c.Key] {
				continue
			}
			names[c.Name], keys[c.Key] = true, true
			out = append(out, c)
		}
	}
	return out
}

// validateAI checks the LLM providers and AI routes of s against each
// other and the rest of the snapshot.
func (s Snapshot) validateAI() []error {
	var errs []error
	providers := make(map[string]bool, len(s.LLMProviders))
	for _, pv := range s.LLMProviders {
		p := &problems{object: KindLLMProvider, name: pv.Name, code: CodeLLMProviderInvalid}
		pv.validate(p)
		if pv.Name != "" && providers[pv.Name] {
			p.add("name", "another LLM provider is named %q; names must be unique", pv.Name)
		}
		providers[pv.Name] = true
		errs = append(errs, p.errs...)
	}
	consumers := map[string]bool{}
	for _, c := range s.KeyAuthConsumers() {
		consumers[c.Name] = true
	}
	names := make(map[string]bool, len(s.AIRoutes))
	groupAuth := map[string]AIRoute{} // group key → first enabled route
	var served []AIRoute              // enabled routes checked so far
	for _, r := range s.AIRoutes {
		p := &problems{object: KindAIRoute, name: r.Name, code: CodeAIRouteInvalid}
		r.validate(p)
		if r.Name != "" && names[r.Name] {
			p.add("name", "another AI route is named %q; names must be unique", r.Name)
		}
		names[r.Name] = true
		for i, u := range r.Upstreams {
			if u.Provider != "" && !providers[u.Provider] {
				p.add(fmt.Sprintf("upstreams[%d].provider", i), "LLM provider %q does not exist; create it first (POST /api/v1/llm-providers) or fix the name", u.Provider)
			}
		}
		if f := r.FallbackConfig; f != nil && f.Enabled {
			for i, u := range f.Upstreams {
				if u.Provider != "" && !providers[u.Provider] {
					p.add(fmt.Sprintf("fallbackConfig.upstreams[%d].provider", i), "LLM provider %q does not exist; create it first or fix the name", u.Provider)
				}
			}
		}
		if r.AuthEnabled() {
			if len(consumers) == 0 {
				p.add("authConfig.enabled", "no key-auth consumers exist to admit; create a key-auth plugin instance with consumers first, or disable authConfig")
			}
			for i, c := range r.AuthConfig.AllowedConsumers {
				if c != "" && len(consumers) > 0 && !consumers[c] {
					p.add(fmt.Sprintf("authConfig.allowedConsumers[%d]", i), "consumer %q is not a consumer of any enabled key-auth plugin instance; add it there first or fix the name", c)
				}
			}
		}
		if r.IsEnabled() && len(p.errs) == 0 {
			key := r.GroupKey()
			if first, ok := groupAuth[key]; ok && first.AuthEnabled() != r.AuthEnabled() {
				p.add("authConfig.enabled", "AI route %q serves the same domains and path prefix %s with authConfig.enabled %t; routes on one path share one key check, so make them agree", first.Name, r.EffectivePathPrefix(), first.AuthEnabled())
			} else if !ok {
				groupAuth[key] = r
			}
			p.errs = append(p.errs, s.aiPathCollisions(r)...)
			prefix := NormalizePrefix(r.EffectivePathPrefix())
			for _, o := range served {
				if o.GroupKey() != key && NormalizePrefix(o.EffectivePathPrefix()) == prefix && domainsOverlap(r.Domains, o.Domains) {
					p.add("domains", "AI route %q serves the path prefix %s on some of these domains with other domains; AI routes on one path list the same domains: give both the same domains or separate paths", o.Name, prefix)
					break
				}
			}
			served = append(served, r)
		}
		errs = append(errs, p.errs...)
	}
	return errs
}

// aiPathCollisions refuses an AI route whose path prefix is also the
// prefix of an ordinary route or the path of an MCP server on a shared
// domain (or both on any domain): one of them would never be reached.
func (s Snapshot) aiPathCollisions(r AIRoute) []error {
	p := &problems{object: KindAIRoute, name: r.Name, code: CodeAIRouteInvalid}
	prefix := NormalizePrefix(r.EffectivePathPrefix())
	for _, o := range s.Routes {
		if o.IsEnabled() && o.Path.Type == PathPrefix && NormalizePrefix(o.Path.Value) == prefix && domainsOverlap(r.Domains, o.Domains) {
			p.add("pathPrefix", "route %q and AI route %q both serve the path prefix %s on the same domains; change the path prefix or the domains of one of them", o.Name, r.Name, prefix)
		}
	}
	for _, m := range s.MCPServers {
		if m.Enabled && NormalizePrefix(m.Path) == prefix && domainsOverlap(r.Domains, m.Domains) {
			p.add("pathPrefix", "MCP server %q and AI route %q both serve the path %s on the same domains; change the path prefix or the domains of one of them", m.Name, r.Name, prefix)
		}
	}
	return p.errs
}

// domainsOverlap reports whether two domain lists serve a host in the
// same routing bucket: both any host, or a domain in common.
func domainsOverlap(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == 0 && len(b) == 0
	}
	for _, d := range a {
		if slices.Contains(b, d) {
			return true
		}
	}
	return false
}

// ObjectName implements Object.
func (p LLMProvider) ObjectName() string { return p.Name }

// ObjectVersion implements Object.
func (p LLMProvider) ObjectVersion() int64 { return p.Version }

// WithIdentity implements Object.
func (p LLMProvider) WithIdentity(name string, version int64) Object {
	p.Name, p.Version = name, version
	return p
}

// ObjectName implements Object.
func (r AIRoute) ObjectName() string { return r.Name }

// ObjectVersion implements Object.
func (r AIRoute) ObjectVersion() int64 { return r.Version }

// WithIdentity implements Object. The copy has its own AuthConfig and
// FallbackConfig, which Normalize may fill.
func (r AIRoute) WithIdentity(name string, version int64) Object {
	r.Name, r.Version = name, version
	if r.AuthConfig != nil {
		a := *r.AuthConfig
		r.AuthConfig = &a
	}
	if r.FallbackConfig != nil {
		f := *r.FallbackConfig
		r.FallbackConfig = &f
	}
	return r
}
