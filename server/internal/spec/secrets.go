package spec

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/server/internal/secret"
)

// SecretHolder is implemented by the object types that hold secrets (API
// keys, tokens, credentials). Every answer of the admin API shows such an
// object masked (secret.Mask in place of each secret); a write that sends
// the mask back keeps the stored secret, but only while the place the
// secret is sent to is unchanged — change the destination, re-enter the
// secret.
type SecretHolder interface {
	Object
	// SecretRule says where the object's JSON form holds secrets, for
	// masking its stored form (revisions).
	SecretRule(p *secret.Plugins) secret.Rule
	// MaskSecrets returns a copy with every secret masked.
	MaskSecrets(p *secret.Plugins) Object
	// KeepSecrets returns a copy with the secrets of stored (nil for a new
	// object) put back where the object has the mask, or a *secret.Error
	// naming every mask that has no secret to keep.
	KeepSecrets(stored Object, p *secret.Plugins) (Object, error)
}

// MaskStored masks the secrets of data, an object of kind k in its stored
// JSON form, keeping the form as it is; data itself when the kind holds no
// secrets.
func (k Kind) MaskStored(data []byte, p *secret.Plugins) []byte {
	if len(data) == 0 {
		return data
	}
	if _, ok := k.Zero().(SecretHolder); !ok {
		return data
	}
	obj, err := k.Decode(data)
	if err != nil {
		return []byte(`"` + secret.Mask + `"`)
	}
	return secret.MaskJSON(data, obj.(SecretHolder).SecretRule(p))
}

// SecretRule implements SecretHolder: the values of Config that the
// plugin's config schema marks writeOnly.
func (pi PluginInstance) SecretRule(p *secret.Plugins) secret.Rule {
	return secret.Tree{Fields: map[string]secret.Rule{"config": p.Rule(pi.Plugin)}}
}

// MaskSecrets implements SecretHolder.
func (pi PluginInstance) MaskSecrets(p *secret.Plugins) Object {
	pi.Config = secret.MaskJSON(pi.Config, p.Rule(pi.Plugin))
	return pi
}

// KeepSecrets implements SecretHolder. The stored config's secrets are
// kept only for the same plugin.
func (pi PluginInstance) KeepSecrets(stored Object, p *secret.Plugins) (Object, error) {
	var was []byte
	if s, ok := stored.(PluginInstance); ok && s.Plugin == pi.Plugin {
		was = s.Config
	}
	cfg, err := secret.RestoreJSON("plugin_instance", pi.Config, was, p.Rule(pi.Plugin), "config")
	if err != nil {
		return pi, err
	}
	pi.Config = cfg
	return pi, nil
}

// SecretRule implements SecretHolder (secret.MCPServerRule).
func (m MCPServer) SecretRule(*secret.Plugins) secret.Rule { return secret.MCPServerRule }

// MaskSecrets implements SecretHolder.
func (m MCPServer) MaskSecrets(*secret.Plugins) Object {
	m.Definition = secret.MaskJSON(m.Definition, secret.MCPServerRule)
	return m
}

// KeepSecrets implements SecretHolder: secret.KeepMCP, which refuses a
// mask when the definition sends requests somewhere the stored one did
// not.
func (m MCPServer) KeepSecrets(stored Object, _ *secret.Plugins) (Object, error) {
	var was []byte
	if s, ok := stored.(MCPServer); ok {
		was = s.Definition
	}
	def, err := secret.KeepMCP(m.Definition, was)
	if err != nil {
		return m, err
	}
	m.Definition = def
	return m, nil
}

// llmProviderRule is where an LLM provider keeps secrets: every token, and
// the values of rawConfigs whose names look secret.
var llmProviderRule = secret.Tree{Fields: map[string]secret.Rule{
	"tokens":     secret.Tree{Items: secret.Leaf{}},
	"rawConfigs": secret.Named{},
}}

// SecretRule implements SecretHolder.
func (p LLMProvider) SecretRule(*secret.Plugins) secret.Rule { return llmProviderRule }

// MaskSecrets implements SecretHolder: one mask per token, so that the
// count shows, and the secret-looking values of rawConfigs masked.
func (p LLMProvider) MaskSecrets(*secret.Plugins) Object {
	tokens := make([]string, len(p.Tokens))
	for i := range tokens {
		tokens[i] = secret.Mask
	}
	p.Tokens = tokens
	if len(p.RawConfigs) > 0 {
		p.RawConfigs = maskedMap(p.RawConfigs)
	}
	return p
}

// maskedMap is a copy of m with its secret-looking values masked; a map
// that cannot be copied is masked whole.
func maskedMap(m map[string]any) map[string]any {
	data, err := json.Marshal(m)
	if err != nil {
		return map[string]any{}
	}
	out := map[string]any{}
	if err := json.Unmarshal(secret.MaskJSON(data, secret.Named{}), &out); err != nil {
		return map[string]any{}
	}
	return out
}

// KeepSecrets implements SecretHolder. A token is sent only to the
// endpoint it was entered for: the stored one is kept only while type and
// endpoint are unchanged, else the mask is refused naming tokens[i]. The
// same holds for secrets in rawConfigs.
func (p LLMProvider) KeepSecrets(storedObj Object, _ *secret.Plugins) (Object, error) {
	stored, isStored := storedObj.(LLMProvider)
	same := isStored && stored.Type == p.Type && stored.Endpoint == p.Endpoint
	var details []secret.Detail
	tokens := append([]string(nil), p.Tokens...)
	for i, t := range tokens {
		if t != secret.Mask {
			continue
		}
		field := fmt.Sprintf("tokens[%d]", i)
		switch {
		case same && i < len(stored.Tokens) && stored.Tokens[i] != "" && stored.Tokens[i] != secret.Mask:
			tokens[i] = stored.Tokens[i]
		case isStored && !same:
			details = append(details, secret.Detail{Field: field, Message: fmt.Sprintf(
				"is the mask %q, but the type or endpoint changed (%s %q → %s %q): a stored token is only sent to the endpoint it was entered for; send the token itself",
				secret.Mask, stored.Type, stored.Endpoint, p.Type, p.Endpoint)})
		default:
			details = append(details, secret.Detail{Field: field, Message: fmt.Sprintf(
				"is the mask %q, but no token is stored at this position to keep; send the token itself", secret.Mask)})
		}
	}
	if len(details) > 0 {
		names := make([]string, len(details))
		for i, d := range details {
			names[i] = d.Field
		}
		return p, &secret.Error{Code: CodeLLMProviderInvalid, Details: details,
			Message: "the change was refused and nothing was changed: " + strings.Join(names, ", ") + " hold the mask " + secret.Mask + " where no token can be kept; send the tokens themselves"}
	}
	p.Tokens = tokens
	if len(p.RawConfigs) > 0 {
		raw, err := json.Marshal(p.RawConfigs)
		if err != nil {
			return p, &secret.Error{Code: CodeLLMProviderInvalid, Message: "rawConfigs cannot be expressed as JSON",
				Details: []secret.Detail{{Field: "rawConfigs", Message: err.Error()}}}
		}
		var was []byte
		if same && len(stored.RawConfigs) > 0 {
			if was, err = json.Marshal(stored.RawConfigs); err != nil {
				return p, err
			}
		}
		out, err := secret.RestoreJSON("llm_provider", raw, was, secret.Named{}, "rawConfigs")
		if err != nil {
			return p, err
		}
		m := map[string]any{}
		if err := json.Unmarshal(out, &m); err != nil {
			return p, err
		}
		p.RawConfigs = m
	}
	return p, nil
}

// Interface guards.
var (
	_ SecretHolder = PluginInstance{}
	_ SecretHolder = MCPServer{}
	_ SecretHolder = LLMProvider{}
)
