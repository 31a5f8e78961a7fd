package control

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
)

// applyChange makes ch in snap and returns the change to store.
func applyChange(snap *spec.Snapshot, ch Change) (store.Change, error) {
	sc := store.Change{Kind: ch.Kind, Name: ch.Name, ExpectVersion: ch.ExpectVersion}
	var found bool
	switch ch.Kind {
	case KindService:
		snap.Services, found = put(snap.Services, ch, func(v spec.Service) string { return v.Name })
	case KindRoute:
		snap.Routes, found = put(snap.Routes, ch, func(v spec.Route) string { return v.Name })
	case KindPluginInstance:
		snap.PluginInstances, found = put(snap.PluginInstances, ch, func(v spec.PluginInstance) string { return v.Name })
	case KindMCPServer:
		snap.MCPServers, found = put(snap.MCPServers, ch, func(v spec.MCPServer) string { return v.Name })
	case KindLLMProvider:
		snap.LLMProviders, found = put(snap.LLMProviders, ch, func(v spec.LLMProvider) string { return v.Name })
	case KindAIRoute:
		snap.AIRoutes, found = put(snap.AIRoutes, ch, func(v spec.AIRoute) string { return v.Name })
	default:
		return sc, fmt.Errorf("unknown object kind %q", ch.Kind)
	}
	if ch.Object == nil {
		if !found {
			return sc, fmt.Errorf("%s %q: %w", ch.Kind, ch.Name, store.ErrNotFound)
		}
		return sc, nil
	}
	data, err := encodeObject(ch.Object)
	if err != nil {
		return sc, err
	}
	sc.Spec = data
	return sc, nil
}

// put replaces, adds or (with a nil Object) removes the item named
// ch.Name; it reports whether the name was there before.
func put[T any](items []T, ch Change, name func(T) string) ([]T, bool) {
	i := slices.IndexFunc(items, func(v T) bool { return name(v) == ch.Name })
	found := i >= 0
	switch {
	case ch.Object == nil && found:
		return slices.Delete(slices.Clone(items), i, i+1), true
	case ch.Object == nil:
		return items, false
	}
	v := ch.Object.(T)
	out := slices.Clone(items)
	if found {
		out[i] = v
	} else {
		out = append(out, v)
	}
	return out, found
}

// encodeObject is the stored JSON of an object: its spec without version.
func encodeObject(obj any) ([]byte, error) {
	switch v := obj.(type) {
	case spec.Service:
		v.Version = 0
		return json.Marshal(v)
	case spec.Route:
		v.Version = 0
		return json.Marshal(v)
	case spec.PluginInstance:
		v.Version = 0
		return json.Marshal(v)
	case spec.MCPServer:
		v.Version = 0
		return json.Marshal(v)
	case spec.LLMProvider:
		v.Version = 0
		v.Normalize()
		return json.Marshal(v)
	case spec.AIRoute:
		v.Version = 0
		v = cloneAIRoute(v)
		v.Normalize()
		return json.Marshal(v)
	}
	return nil, fmt.Errorf("cannot store a %T", obj)
}

type keyed struct {
	kind, name string
	data       []byte
}

func objectsOf(snap spec.Snapshot) ([]keyed, error) {
	var out []keyed
	add := func(kind, name string, obj any) error {
		data, err := encodeObject(obj)
		if err != nil {
			return err
		}
		out = append(out, keyed{kind, name, data})
		return nil
	}
	for _, v := range snap.Services {
		if err := add(KindService, v.Name, v); err != nil {
			return nil, err
		}
	}
	for _, v := range snap.Routes {
		if err := add(KindRoute, v.Name, v); err != nil {
			return nil, err
		}
	}
	for _, v := range snap.PluginInstances {
		if err := add(KindPluginInstance, v.Name, v); err != nil {
			return nil, err
		}
	}
	for _, v := range snap.MCPServers {
		if err := add(KindMCPServer, v.Name, v); err != nil {
			return nil, err
		}
	}
	for _, v := range snap.LLMProviders {
		if err := add(KindLLMProvider, v.Name, v); err != nil {
			return nil, err
		}
	}
	for _, v := range snap.AIRoutes {
		if err := add(KindAIRoute, v.Name, v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// diff returns the store changes that turn cur into next.
func diff(cur, next spec.Snapshot) ([]store.Change, error) {
	before, err := objectsOf(cur)
	if err != nil {
		return nil, err
	}
	after, err := objectsOf(next)
	if err != nil {
		return nil, err
	}
	old := map[string][]byte{}
	for _, o := range before {
		old[o.kind+"/"+o.name] = o.data
	}
	var out []store.Change
	seen := map[string]bool{}
	for _, o := range after {
		k := o.kind + "/" + o.name
		seen[k] = true
		if prev, ok := old[k]; ok && bytes.Equal(prev, o.data) {
			continue
		}
		out = append(out, store.Change{Kind: o.kind, Name: o.name, Spec: o.data})
	}
	for _, o := range before {
		if !seen[o.kind+"/"+o.name] {
			out = append(out, store.Change{Kind: o.kind, Name: o.name})
		}
	}
	return out, nil
}

// normalize drops versions from a snapshot read from a file.
func normalize(snap spec.Snapshot) spec.Snapshot {
	for i := range snap.Services {
		snap.Services[i].Version = 0
	}
	for i := range snap.Routes {
		snap.Routes[i].Version = 0
	}
	for i := range snap.PluginInstances {
		snap.PluginInstances[i].Version = 0
	}
	for i := range snap.MCPServers {
		snap.MCPServers[i].Version = 0
	}
	for i := range snap.LLMProviders {
		snap.LLMProviders[i].Version = 0
	}
	for i := range snap.AIRoutes {
		snap.AIRoutes[i].Version = 0
	}
	return snap
}

// cloneAIRoute copies the parts of r that Normalize may fill, so that
// encoding never changes the caller's value.
func cloneAIRoute(r spec.AIRoute) spec.AIRoute {
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
