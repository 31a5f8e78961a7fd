package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/server/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// AIProxyPlugin is the plugin that serves AI routes; KeyAuthPlugin checks
// the consumer keys of AI routes with authConfig enabled.
const (
	AIProxyPlugin = "ai-proxy"
	KeyAuthPlugin = spec.KeyAuthPlugin
	// AIConsumerPlugin enforces the consumer objects' allowedModels,
	// quotas and budgets, right after key-auth.
	AIConsumerPlugin = "ai-consumer"
)

// AIMountPrefix starts the name of the gateway mount of a group of AI
// routes: "ai-route/<name of the first route>".
const AIMountPrefix = "ai-route/"

// KeyAuthKeys are where a client sends its consumer key on an AI route:
// "Authorization: Bearer …" (OpenAI SDKs) or "x-api-key" (Anthropic SDKs).
var KeyAuthKeys = []string{"authorization", "x-api-key"}

// aiGroup is the AI routes that share one gateway mount, in snapshot order.
type aiGroup struct {
	routes []spec.AIRoute
}

// aiGroups groups the enabled AI routes of snap by domains and path
// prefix, each group's routes by name.
func aiGroups(snap spec.Snapshot) []aiGroup {
	var out []aiGroup
	index := map[string]int{}
	for _, r := range snap.AIRoutes {
		if !r.IsEnabled() {
			continue
		}
		key := r.GroupKey()
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, aiGroup{})
		}
		out[i].routes = append(out[i].routes, r)
	}
	// By name, so that the chain and the mount's name do not depend on
	// the order in which routes were added.
	for _, g := range out {
		slices.SortFunc(g.routes, func(a, b spec.AIRoute) int { return strings.Compare(a.Name, b.Name) })
	}
	return out
}

// AIProxyConfig is the ai-proxy plugin instance config that AI route r
// compiles to (contract: the Higress ai-proxy config plus the Gatehouse
// extensions upstreams, modelPredicates, fallback, allowedConsumers and
// routeName). It fails when r names a provider that snap lacks.
func AIProxyConfig(snap spec.Snapshot, r spec.AIRoute) (json.RawMessage, error) {
	cfg, _, err := aiProxyConfig(snap, r)
	return cfg, err
}

// aiProxyConfig also returns the providers in the order of the config's
// providers[], to name them in errors.
func aiProxyConfig(snap spec.Snapshot, r spec.AIRoute) (json.RawMessage, []spec.LLMProvider, error) {
	byName := make(map[string]spec.LLMProvider, len(snap.LLMProviders))
	for _, p := range snap.LLMProviders {
		byName[p.Name] = p
	}
	var used []spec.LLMProvider
	seen := map[string]bool{}
	use := func(name string) error {
		if seen[name] {
			return nil
		}
		p, ok := byName[name]
		if !ok {
			return fmt.Errorf("LLM provider %q does not exist", name)
		}
		seen[name] = true
		used = append(used, p)
		return nil
	}
	upstreams := make([]map[string]any, 0, len(r.Upstreams))
	for _, u := range r.Upstreams {
		if err := use(u.Provider); err != nil {
			return nil, nil, err
		}
		w := u.Weight
		if w == 0 && len(r.Upstreams) == 1 {
			w = spec.AIWeightTotal
		}
		up := map[string]any{"provider": u.Provider, "weight": w}
		if len(u.ModelMapping) > 0 {
			up["modelMapping"] = u.ModelMapping
		}
		upstreams = append(upstreams, up)
	}
	cfg := map[string]any{"upstreams": upstreams, "routeName": r.Name}
	if len(r.Upstreams) > 0 {
		cfg["activeProviderId"] = r.Upstreams[0].Provider
	}
	if len(r.ModelPredicates) > 0 {
		preds := make([]map[string]any, len(r.ModelPredicates))
		for i, mp := range r.ModelPredicates {
			preds[i] = map[string]any{"matchType": mp.MatchType, "matchValue": mp.MatchValue}
		}
		cfg["modelPredicates"] = preds
	}
	if f := r.FallbackConfig; f != nil && f.Enabled {
		fus := make([]map[string]any, 0, len(f.Upstreams))
		for _, u := range f.Upstreams {
			if err := use(u.Provider); err != nil {
				return nil, nil, err
			}
			fu := map[string]any{"provider": u.Provider}
			if len(u.ModelMapping) > 0 {
				fu["modelMapping"] = u.ModelMapping
			}
			fus = append(fus, fu)
		}
		strategy := f.FallbackStrategy
		if strategy == "" {
			strategy = spec.FallbackSequence
		}
		cfg["fallback"] = map[string]any{"enabled": true, "upstreams": fus, "strategy": strategy, "onStatus": f.OnStatus}
	}
	if r.AuthEnabled() {
		if admitted := admittedConsumers(snap, r); admitted != nil {
			cfg["allowedConsumers"] = admitted
		}
	}
	providers := make([]map[string]any, len(used))
	for i, p := range used {
		providers[i] = providerConfig(p)
	}
	cfg["providers"] = providers
	data, err := json.Marshal(cfg)
	return data, used, err
}

// providerConfig is the Higress provider of an LLM provider: rawConfigs
// with the provider's own fields set over them.
func providerConfig(p spec.LLMProvider) map[string]any {
	m := make(map[string]any, len(p.RawConfigs)+6)
	for k, v := range p.RawConfigs {
		m[k] = v
	}
	tokens := p.Tokens
	if tokens == nil {
		tokens = []string{}
	}
	m["id"], m["type"], m["apiTokens"] = p.Name, p.Type, tokens
	if p.Endpoint != "" {
		m["endpoint"] = p.Endpoint
	}
	if p.Protocol != "" {
		m["protocol"] = p.Protocol
	}
	if f := p.TokenFailoverConfig; f != nil {
		fo := map[string]any{"enabled": f.Enabled}
		for k, v := range map[string]int{"failureThreshold": f.FailureThreshold, "successThreshold": f.SuccessThreshold,
			"healthCheckInterval": f.HealthCheckInterval, "healthCheckTimeout": f.HealthCheckTimeout} {
			if v > 0 {
				fo[k] = v
			}
		}
		if f.HealthCheckModel != "" {
			fo["healthCheckModel"] = f.HealthCheckModel
		}
		m["failover"] = fo
	}
	return m
}

// admittedConsumers is what AI route r admits, as ai-proxy's
// allowedConsumers: nil admits every consumer key-auth knows, else exactly
// the names listed (none: nobody). A consumer object whose allowedAiRoutes
// is not empty and does not name r is not admitted, whatever the route's
// authConfig.allowedConsumers says.
func admittedConsumers(snap spec.Snapshot, r spec.AIRoute) []string {
	excluded := map[string]bool{}
	for _, c := range snap.Consumers {
		if len(c.AllowedAIRoutes) > 0 && !slices.Contains(c.AllowedAIRoutes, r.Name) {
			excluded[c.Name] = true
		}
	}
	names := r.AuthConfig.AllowedConsumers
	if len(names) == 0 {
		if len(excluded) == 0 {
			return nil
		}
		for _, c := range snap.KeyAuthConsumers() {
			names = append(names, c.Name)
		}
	}
	out := []string{}
	for _, n := range names {
		if !excluded[n] && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// AIConsumerConfig is the ai-consumer config in front of a group of AI
// routes with authConfig enabled: every consumer object's allowedModels,
// quota and budget (usage is counted for each, limited or not), the model
// prices, and failureMode (GATEHOUSE_AI_USAGE_FAILURE_MODE; empty is the
// plugin's default, open).
func AIConsumerConfig(snap spec.Snapshot, failureMode string) (json.RawMessage, error) {
	type consumer struct {
		AllowedModels []string     `json:"allowedModels,omitempty"`
		Quota         *spec.Quota  `json:"quota,omitempty"`
		Budget        *spec.Budget `json:"budget,omitempty"`
	}
	consumers := make(map[string]consumer, len(snap.Consumers))
	for _, c := range snap.Consumers {
		consumers[c.Name] = consumer{AllowedModels: c.AllowedModels, Quota: c.Quota, Budget: c.Budget}
	}
	prices := make([]pluginapi.ModelPrice, len(snap.ModelPrices))
	for i, p := range snap.ModelPrices {
		prices[i] = p.PluginPrice()
	}
	cfg := map[string]any{"consumers": consumers, "prices": prices}
	if failureMode != "" {
		cfg["failureMode"] = failureMode
	}
	return json.Marshal(cfg)
}

// enforcesConsumers reports whether a consumer object of snap has
// something for ai-consumer to enforce.
func enforcesConsumers(snap spec.Snapshot) bool {
	return slices.ContainsFunc(snap.Consumers, func(c spec.Consumer) bool {
		return len(c.AllowedModels) > 0 || c.Quota != nil || c.Budget != nil
	})
}

// aiConsumerErrors turns ai-consumer's config errors into field errors of
// the consumer objects and model prices they come from.
func aiConsumerErrors(snap spec.Snapshot, route string, err error) []error {
	return spec.PluginErrors(err, func(field, msg string) error {
		if rest, ok := strings.CutPrefix(field, "consumers."); ok {
			for _, c := range snap.Consumers {
				if f, ok := strings.CutPrefix(rest, c.Name+"."); ok {
					return &spec.FieldError{Object: spec.KindConsumer, Name: c.Name, Field: f, Code: spec.CodeConsumerInvalid, Message: msg}
				}
			}
		}
		if m := priceFieldRE.FindStringSubmatch(field); m != nil {
			if i, _ := strconv.Atoi(m[1]); i < len(snap.ModelPrices) {
				return &spec.FieldError{Object: spec.KindModelPrice, Name: snap.ModelPrices[i].Name, Field: m[2], Code: spec.CodeModelPriceInvalid, Message: msg}
			}
		}
		return &spec.FieldError{Object: spec.KindAIRoute, Name: route, Field: "authConfig", Code: spec.CodeAIRouteInvalid, Message: "consumers' quotas and budgets: " + joinField(field, msg)}
	})
}

var priceFieldRE = regexp.MustCompile(`^prices\[(\d+)\]\.?(.*)$`)

// KeyAuthConfig is the key-auth config in front of a group of AI routes
// with authConfig enabled: every key-auth consumer of the snapshot, keys
// read from Authorization (Bearer) and x-api-key, and removed before the
// request goes on.
func KeyAuthConfig(snap spec.Snapshot) (json.RawMessage, error) {
	return json.Marshal(map[string]any{"consumers": snap.KeyAuthConsumers(), "keys": KeyAuthKeys, "hideCredentials": true})
}

// aiMounts builds one gateway mount per group of AI routes. It returns
// every problem as field errors of the AI routes and LLM providers.
func (c *Control) aiMounts(ctx context.Context, snap spec.Snapshot) ([]gateway.Mount, []error) {
	groups := aiGroups(snap)
	if len(groups) == 0 {
		return nil, nil
	}
	var mounts []gateway.Mount
	var errs []error
	routeErr := func(name, field, msg string) error {
		return &spec.FieldError{Object: spec.KindAIRoute, Name: name, Field: field, Code: spec.CodeAIRouteInvalid, Message: msg}
	}
	aiProxy, ok := c.opts.Plugins.Get(AIProxyPlugin)
	if !ok {
		for _, g := range groups {
			for _, r := range g.routes {
				errs = append(errs, routeErr(r.Name, "upstreams",
					"the ai-proxy plugin is not loaded (see GET /api/v1/plugins: build it with make plugins, or fix its image address); AI routes cannot be served"))
			}
		}
		return nil, errs
	}
	for _, g := range groups {
		var insts closers
		fail := func(e ...error) {
			errs = append(errs, e...)
			_ = insts.Close()
			insts = nil
		}
		first := g.routes[0]
		var keyAuth, consumers pluginapi.Instance
		if first.AuthEnabled() {
			ka, ok := c.opts.Plugins.Get(KeyAuthPlugin)
			if !ok {
				fail(routeErr(first.Name, "authConfig.enabled", "the key-auth plugin is not loaded (see GET /api/v1/plugins); an AI route with authConfig enabled needs it"))
				continue
			}
			cfg, err := KeyAuthConfig(snap)
			if err == nil {
				keyAuth, err = ka.New(ctx, cfg, c.opts.Host(KeyAuthPlugin))
			}
			if err != nil {
				fail(spec.PluginErrors(err, func(field, msg string) error {
					return routeErr(first.Name, "authConfig", "key-auth consumers: "+joinField(field, msg))
				})...)
				continue
			}
			insts = append(insts, keyAuth)
			if len(snap.Consumers) > 0 {
				inst, err := c.aiConsumer(ctx, snap, first)
				if err != nil {
					fail(err...)
					continue
				}
				if inst != nil {
					insts = append(insts, inst)
					consumers = inst
				}
			}
		}
		before, after, uerrs := c.aiRouteInstances(ctx, snap, g)
		insts = append(insts, before...)
		insts = append(insts, after...)
		if len(uerrs) > 0 {
			fail(uerrs...)
			continue
		}
		var proxies []pluginapi.Instance
		var groupErrs []error
		for _, r := range g.routes {
			cfg, used, err := aiProxyConfig(snap, r)
			if err != nil {
				groupErrs = append(groupErrs, routeErr(r.Name, "upstreams", err.Error()))
				continue
			}
			inst, err := aiProxy.New(ctx, cfg, c.opts.Host(AIProxyPlugin))
			if err != nil {
				groupErrs = append(groupErrs, aiPluginErrors(r, used, err)...)
				continue
			}
			insts = append(insts, inst)
			proxies = append(proxies, inst)
		}
		if len(groupErrs) > 0 {
			fail(groupErrs...)
			continue
		}
		var h http.Handler = aiNotFound(offeredModels(g.routes))
		for i := len(proxies) - 1; i >= 0; i-- {
			h = proxies[i].Handler(h)
		}
		for i := len(after) - 1; i >= 0; i-- {
			h = after[i].Handler(h)
		}
		if consumers != nil {
			h = consumers.Handler(h)
		}
		if keyAuth != nil {
			h = keyAuth.Handler(h)
		}
		for i := len(before) - 1; i >= 0; i-- {
			h = before[i].Handler(h)
		}
		mounts = append(mounts, gateway.Mount{Name: AIMountPrefix + first.Name, Domains: first.Domains,
			PathPrefix: first.EffectivePathPrefix(), Handler: h, Closer: insts})
	}
	if len(errs) > 0 {
		closeMounts(mounts)
		return nil, errs
	}
	return mounts, nil
}

// aiConsumer creates the ai-consumer instance of a group whose first route
// is first. Without the plugin it returns nil, unless a consumer has
// something to enforce: then the group is refused, saying so.
func (c *Control) aiConsumer(ctx context.Context, snap spec.Snapshot, first spec.AIRoute) (pluginapi.Instance, []error) {
	p, ok := c.opts.Plugins.Get(AIConsumerPlugin)
	if !ok {
		if !enforcesConsumers(snap) {
			return nil, nil
		}
		return nil, []error{&spec.FieldError{Object: spec.KindAIRoute, Name: first.Name, Field: "authConfig.enabled", Code: spec.CodeAIRouteInvalid,
			Message: "the ai-consumer plugin is not loaded (see GET /api/v1/plugins: build it with make plugins, or fix its image address); consumers' allowedModels, quotas and budgets cannot be enforced"}}
	}
	cfg, err := AIConsumerConfig(snap, c.opts.AIUsageFailureMode)
	if err != nil {
		return nil, []error{err}
	}
	inst, err := p.New(ctx, cfg, c.opts.Host(AIConsumerPlugin))
	if err != nil {
		return nil, aiConsumerErrors(snap, first.Name, err)
	}
	return inst, nil
}

// aiRouteInstances creates the enabled plugin instances scoped to the AI
// routes of g (spec.ScopeAIRoute), in chain order: by phase, then higher
// priority, then name. before holds the authn-phase ones, which run ahead
// of the compiled key-auth; after the others, which run after it and
// ahead of ai-proxy.
func (c *Control) aiRouteInstances(ctx context.Context, snap spec.Snapshot, g aiGroup) (before, after []pluginapi.Instance, errs []error) {
	type made struct {
		inst     pluginapi.Instance
		phase    int
		priority int
		name     string
	}
	var all []made
	for _, pi := range snap.PluginInstances {
		if pi.Scope.Type != spec.ScopeAIRoute || !pi.IsEnabled() ||
			!slices.ContainsFunc(g.routes, func(r spec.AIRoute) bool { return r.Name == pi.Scope.Value }) {
			continue
		}
		instErr := func(field, msg string) error {
			if field != "" {
				field = "config." + field
			} else {
				field = "config"
			}
			return &spec.FieldError{Object: spec.KindPluginInstance, Name: pi.Name, Field: field, Code: spec.CodePluginInstanceInvalid, Message: msg}
		}
		p, ok := c.opts.Plugins.Get(pi.Plugin)
		if !ok {
			errs = append(errs, &spec.FieldError{Object: spec.KindPluginInstance, Name: pi.Name, Field: "plugin",
				Code: spec.CodePluginInstanceInvalid, Message: fmt.Sprintf("plugin %q is not loaded; check its name, or install its artifact and restart", pi.Plugin)})
			continue
		}
		cfg := pi.Config
		if len(bytes.TrimSpace(cfg)) == 0 {
			cfg = json.RawMessage("{}")
		}
		inst, err := p.New(ctx, cfg, c.opts.Host(pi.Plugin))
		if err != nil {
			errs = append(errs, spec.PluginErrors(err, instErr)...)
			continue
		}
		info := p.Info()
		all = append(all, made{inst, max(slices.Index(pluginapi.Phases(), info.Phase), 0), info.Priority, pi.Name})
	}
	if len(errs) > 0 {
		for _, m := range all {
			_ = m.inst.Close()
		}
		return nil, nil, errs
	}
	slices.SortFunc(all, func(a, b made) int {
		if a.phase != b.phase {
			return a.phase - b.phase
		}
		if a.priority != b.priority {
			return b.priority - a.priority
		}
		return strings.Compare(a.name, b.name)
	})
	for _, m := range all {
		if m.phase == 0 { // pluginapi.PhaseAuthn
			before = append(before, m.inst)
		} else {
			after = append(after, m.inst)
		}
	}
	return before, after, nil
}

func closeMounts(mounts []gateway.Mount) {
	for _, m := range mounts {
		if m.Closer != nil {
			_ = m.Closer.Close()
		}
	}
}

// closers closes plugin instances in reverse order.
type closers []pluginapi.Instance

// Close implements io.Closer.
func (cs closers) Close() error {
	var errs []error
	for i := len(cs) - 1; i >= 0; i-- {
		errs = append(errs, cs[i].Close())
	}
	return errors.Join(errs...)
}

var providerFieldRE = regexp.MustCompile(`^providers\[(\d+)\]\.?(.*)$`)

// aiPluginErrors turns the ai-proxy plugin's errors for route r into field
// errors: of the LLM provider where the plugin names providers[i], else of
// the AI route, with the config's field names mapped back to the objects'
// (apiTokens → tokens, fallback → fallbackConfig, …). The providers'
// tokens never appear in a message.
func aiPluginErrors(r spec.AIRoute, used []spec.LLMProvider, err error) []error {
	var tokens []string
	for _, p := range used {
		tokens = append(tokens, p.Tokens...)
	}
	slices.SortFunc(tokens, func(a, b string) int { return len(b) - len(a) })
	scrub := func(s string) string {
		for _, t := range tokens {
			if len(t) >= 4 {
				s = strings.ReplaceAll(s, t, "********")
			}
		}
		return s
	}
	return spec.PluginErrors(err, func(field, msg string) error {
		msg = scrub(msg)
		if m := providerFieldRE.FindStringSubmatch(field); m != nil {
			if i, _ := strconv.Atoi(m[1]); i < len(used) {
				return &spec.FieldError{Object: spec.KindLLMProvider, Name: used[i].Name, Field: providerField(m[2]),
					Code: spec.CodeLLMProviderInvalid, Message: msg + " (used by AI route " + strconv.Quote(r.Name) + ")"}
			}
		}
		if field == "provider" {
			field = "upstreams"
		}
		return &spec.FieldError{Object: spec.KindAIRoute, Name: r.Name, Field: routeField(field), Code: spec.CodeAIRouteInvalid, Message: msg}
	})
}

// providerField maps a Higress provider field to the LLM provider's.
func providerField(f string) string {
	head, rest, _ := strings.Cut(f, ".")
	name, idx, _ := strings.Cut(head, "[")
	if idx != "" {
		idx = "[" + idx
	}
	switch name {
	case "":
		return "rawConfigs"
	case "id":
		name = "name"
	case "apiTokens":
		name = "tokens"
	case "failover":
		name = "tokenFailoverConfig"
	case "type", "endpoint", "protocol":
	default:
		name = "rawConfigs." + name
	}
	out := name + idx
	if rest != "" {
		out += "." + rest
	}
	return out
}

// routeField maps an ai-proxy config field to the AI route's.
func routeField(f string) string {
	switch {
	case f == "":
		return "upstreams"
	case f == "fallback" || strings.HasPrefix(f, "fallback."):
		f = "fallbackConfig" + strings.TrimPrefix(f, "fallback")
		return strings.Replace(f, "fallbackConfig.strategy", "fallbackConfig.fallbackStrategy", 1)
	case f == "allowedConsumers" || strings.HasPrefix(f, "allowedConsumers["):
		return "authConfig." + f
	case f == "activeProviderId":
		return "upstreams"
	}
	return f
}

func joinField(field, msg string) string {
	if field == "" {
		return msg
	}
	return field + ": " + msg
}

// offeredModels lists what the routes of a group serve, for the 404 of a
// model none of them takes: EQUAL values, "prefix*" and "~regex".
func offeredModels(routes []spec.AIRoute) []string {
	var out []string
	for _, r := range routes {
		for _, mp := range r.ModelPredicates {
			switch mp.MatchType {
			case spec.MatchEqual:
				out = append(out, mp.MatchValue)
			case spec.MatchPrefix:
				out = append(out, mp.MatchValue+"*")
			case spec.MatchRegular:
				out = append(out, "~"+mp.MatchValue)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// maxModelPeek bounds how much of a request body the final 404 reads to
// name the model it asked for.
const maxModelPeek = 1 << 20

// aiNotFound answers a request that no AI route of the mount served, in
// the client's protocol (Anthropic for …/v1/messages, else OpenAI),
// naming the models the path offers.
func aiNotFound(models []string) http.Handler {
	offered := "none"
	if len(models) > 0 {
		offered = strings.Join(models, ", ")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model string `json:"model"`
		}
		if r.Body != nil {
			body, _ := io.ReadAll(io.LimitReader(r.Body, maxModelPeek))
			_ = json.NewDecoder(bytes.NewReader(body)).Decode(&req)
		}
		msg := fmt.Sprintf("no AI route serves %s %s here; models offered on this path: %s", r.Method, r.URL.Path, offered)
		if req.Model != "" {
			if len(req.Model) > 200 {
				req.Model = req.Model[:200]
			}
			msg = fmt.Sprintf("the model %q is not offered on this path; models offered: %s", req.Model, offered)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		var body any
		if strings.HasSuffix(r.URL.Path, "/v1/messages") {
			body = map[string]any{"type": "error", "error": map[string]any{"type": "not_found_error", "message": msg}}
		} else {
			body = map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "param": "model", "code": "model_not_found"}}
		}
		_ = json.NewEncoder(w).Encode(body)
	})
}
