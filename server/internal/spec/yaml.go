package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"gopkg.in/yaml.v3"
)

// pluginInstanceYAML is PluginInstance as written in YAML: Config is a
// nested mapping instead of a JSON string.
type pluginInstanceYAML struct {
	Name    string     `yaml:"name"`
	Plugin  string     `yaml:"plugin"`
	Scope   Scope      `yaml:"scope"`
	Config  *yaml.Node `yaml:"config,omitempty"`
	Enabled *bool      `yaml:"enabled,omitempty"`
	Version int64      `yaml:"version,omitempty"`
}

// pluginInstanceYAMLIn is pluginInstanceYAML for decoding: yaml.v3 fills
// a yaml.Node field, not a *yaml.Node.
type pluginInstanceYAMLIn struct {
	Name    string    `yaml:"name"`
	Plugin  string    `yaml:"plugin"`
	Scope   Scope     `yaml:"scope"`
	Config  yaml.Node `yaml:"config"`
	Enabled *bool     `yaml:"enabled"`
	Version int64     `yaml:"version"`
}

// MarshalYAML writes Config as a YAML mapping, keeping the key order of
// the JSON document.
func (p PluginInstance) MarshalYAML() (any, error) {
	out := pluginInstanceYAML{Name: p.Name, Plugin: p.Plugin, Scope: p.Scope, Enabled: p.Enabled, Version: p.Version}
	if len(bytes.TrimSpace(p.Config)) > 0 {
		n, err := jsonToNode(p.Config)
		if err != nil {
			return nil, fmt.Errorf("plugin instance %q: config is not valid JSON: %w", p.Name, err)
		}
		out.Config = n
	}
	return out, nil
}

// UnmarshalYAML reads Config from a YAML mapping into JSON.
func (p *PluginInstance) UnmarshalYAML(value *yaml.Node) error {
	var in pluginInstanceYAMLIn
	if err := value.Decode(&in); err != nil {
		return err
	}
	*p = PluginInstance{Name: in.Name, Plugin: in.Plugin, Scope: in.Scope, Enabled: in.Enabled, Version: in.Version}
	if in.Config.Kind != 0 && in.Config.Tag != "!!null" {
		var v any
		if err := in.Config.Decode(&v); err != nil {
			return fmt.Errorf("plugin instance %q: config: %w", in.Name, err)
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("plugin instance %q: config cannot be expressed as JSON (use string keys): %w", in.Name, err)
		}
		p.Config = raw
	}
	return nil
}

// jsonToNode converts a JSON document into a YAML node tree, keeping the
// order of object keys.
func jsonToNode(doc []byte) (*yaml.Node, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	n, err := decodeNode(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the JSON value")
	}
	return n, nil
}

func decodeNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := kt.(string)
				v, err := decodeNode(dec)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
			}
			_, err := dec.Token() // '}'
			return n, err
		case '[':
			n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			for dec.More() {
				v, err := decodeNode(dec)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, v)
			}
			_, err := dec.Token() // ']'
			return n, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t}, nil
	case json.Number:
		tag := "!!int"
		if _, err := strconv.ParseInt(t.String(), 10, 64); err != nil {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: t.String()}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(t)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}
