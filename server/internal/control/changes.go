package control

import (
	"bytes"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
)

// applyChange makes ch in snap and returns the change to store.
func (c *Control) applyChange(snap *spec.Snapshot, ch Change) (store.Change, error) {
	sc := store.Change{Kind: ch.Kind, Name: ch.Name, ExpectVersion: ch.ExpectVersion}
	k, ok := spec.KindOf(c.kinds, ch.Kind)
	if !ok {
		return sc, fmt.Errorf("unknown object kind %q", ch.Kind)
	}
	if ch.Object != nil {
		ch.Object = k.Normalize(ch.Object)
	}
	found, err := k.Put(snap, ch.Name, ch.Object)
	if err != nil {
		return sc, err
	}
	if ch.Object == nil {
		if !found {
			return sc, fmt.Errorf("%s %q: %w", ch.Kind, ch.Name, store.ErrNotFound)
		}
		return sc, nil
	}
	data, err := k.Encode(ch.Object)
	if err != nil {
		return sc, err
	}
	sc.Spec = data
	return sc, nil
}

type keyed struct {
	kind, name string
	data       []byte
}

func (c *Control) objectsOf(snap spec.Snapshot) ([]keyed, error) {
	var out []keyed
	for _, k := range c.kinds {
		for _, o := range k.Objects(snap) {
			data, err := k.Encode(o)
			if err != nil {
				return nil, err
			}
			out = append(out, keyed{k.Name, o.ObjectName(), data})
		}
	}
	return out, nil
}

// diff returns the store changes that turn cur into next.
func (c *Control) diff(cur, next spec.Snapshot) ([]store.Change, error) {
	before, err := c.objectsOf(cur)
	if err != nil {
		return nil, err
	}
	after, err := c.objectsOf(next)
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

// versionsOf maps "kind/name" to the version of every object of snap.
func versionsOf(kinds []spec.Kind, snap spec.Snapshot) map[string]int64 {
	out := map[string]int64{}
	for _, k := range kinds {
		for _, o := range k.Objects(snap) {
			out[k.Name+"/"+o.ObjectName()] = o.ObjectVersion()
		}
	}
	return out
}

// withVersions returns snap with the version of each object listed in
// versions ("kind/name") set from it; the others keep theirs. With
// normalize, every object is also normalized (spec.Kind.Normalize), as a
// snapshot read from a file needs.
func (c *Control) withVersions(snap spec.Snapshot, versions map[string]int64, normalize bool) (spec.Snapshot, error) {
	for _, k := range c.kinds {
		objs := k.Objects(snap)
		changed := normalize
		for i, o := range objs {
			if normalize {
				o = k.Normalize(o)
				objs[i] = o
			}
			if v, ok := versions[k.Name+"/"+o.ObjectName()]; ok && v != o.ObjectVersion() {
				objs[i], changed = o.WithIdentity(o.ObjectName(), v), true
			}
		}
		if !changed {
			continue
		}
		if err := k.SetObjects(&snap, objs); err != nil {
			return snap, err
		}
	}
	return snap, nil
}
