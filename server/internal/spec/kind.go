package spec

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Names of the object kinds, as stored, in revisions and in the admin
// API's paths ("/plugin-instances"). FieldError.Object holds them too.
const (
	KindService        = "service"
	KindRoute          = "route"
	KindPluginInstance = "plugin-instance"
	KindMCPServer      = "mcp-server"
	KindLLMProvider    = "llm-provider"
	KindAIRoute        = "ai-route"
)

// Object is a configuration object of some Kind: a value type whose
// methods never change the receiver.
type Object interface {
	// ObjectName is the object's name, unique within its kind.
	ObjectName() string
	// ObjectVersion is the optimistic-concurrency version kept by the
	// store; 0 when the object is not stored.
	ObjectVersion() int64
	// WithIdentity returns a copy named name at version, sharing no
	// mutable state with the receiver.
	WithIdentity(name string, version int64) Object
	// Validate checks the object's own fields (not its references) and
	// returns every problem as errors.Join of *FieldError, or nil.
	Validate() error
}

// Kinds is the table of object kinds, in the order they are stored,
// exported and reported. Adding a kind is one entry here plus its type:
//
//   - the type implements Object (and SecretHolder when it holds secrets;
//     ApplyDefaults and Normalize are called when it has them);
//   - the entry names the kind (stored name, API path "/<name>s", error
//     codes "<name>_invalid") and the Snapshot field that holds its
//     objects, which puts them in the declarative file; checks across
//     objects (references, duplicates) go in Snapshot.Validate.
//
// control stores, validates, versions and rolls back every kind of the
// table, and admin serves it; neither needs a change.
var Kinds = []Kind{
	NewKind(KindService, func(s *Snapshot) *[]Service { return &s.Services }),
	NewKind(KindRoute, func(s *Snapshot) *[]Route { return &s.Routes }),
	NewKind(KindPluginInstance, func(s *Snapshot) *[]PluginInstance { return &s.PluginInstances }),
	NewKind(KindMCPServer, func(s *Snapshot) *[]MCPServer { return &s.MCPServers }),
	NewKind(KindLLMProvider, func(s *Snapshot) *[]LLMProvider { return &s.LLMProviders }),
	NewKind(KindAIRoute, func(s *Snapshot) *[]AIRoute { return &s.AIRoutes }),
}

// Kind describes one kind of configuration object: its names and how its
// objects are found in a Snapshot, stored and read back. Build it with
// NewKind.
type Kind struct {
	// Name is the kind as stored and in revisions: "plugin-instance".
	Name string
	// Path is the admin API's collection: "/plugin-instances".
	Path string
	ops  kindOps
}

// kindOps is the typed part of a Kind.
type kindOps interface {
	list(s Snapshot) []Object
	put(s *Snapshot, name string, obj Object) (bool, error)
	set(s *Snapshot, objs []Object) error
	decode(data []byte) (Object, error)
	decodeWith(decode func(v any) error) (Object, error)
	encode(obj Object) ([]byte, error)
	normalize(obj Object) Object
	zero() Object
}

// NewKind describes the kind name whose objects are T, kept in the
// Snapshot list that items returns. items may be nil: the objects are
// then kept in Snapshot.Others (not written to the declarative file).
// T's JSON form is the stored form; when *T has a Normalize method it is
// called on every object read or stored, so that both forms agree.
func NewKind[T Object](name string, items func(*Snapshot) *[]T) Kind {
	return Kind{Name: name, Path: "/" + name + "s", ops: typedKind[T]{name: name, items: items}}
}

// Code is the kind as used in error codes: "plugin_instance" (in
// "plugin_instance_invalid").
func (k Kind) Code() string { return strings.ReplaceAll(k.Name, "-", "_") }

// Title is the kind for messages: "plugin instance".
func (k Kind) Title() string { return strings.ReplaceAll(k.Name, "-", " ") }

// Objects returns the objects of kind k in s.
func (k Kind) Objects(s Snapshot) []Object { return k.ops.list(s) }

// Find returns the object of kind k named name in s.
func (k Kind) Find(s Snapshot, name string) (Object, bool) {
	for _, o := range k.ops.list(s) {
		if o.ObjectName() == name {
			return o, true
		}
	}
	return nil, false
}

// Put replaces or adds obj as the object named name in s, or removes it
// when obj is nil, without changing the lists s shared before. It reports
// whether the name was there before.
func (k Kind) Put(s *Snapshot, name string, obj Object) (bool, error) {
	return k.ops.put(s, name, obj)
}

// SetObjects makes objs the objects of kind k in s.
func (k Kind) SetObjects(s *Snapshot, objs []Object) error { return k.ops.set(s, objs) }

// Decode reads an object of kind k from its JSON form.
func (k Kind) Decode(data []byte) (Object, error) { return k.ops.decode(data) }

// DecodeWith reads an object of kind k with decode, which is given a
// pointer to a new object, and applies the object's defaults (its
// ApplyDefaults method, when it has one).
func (k Kind) DecodeWith(decode func(v any) error) (Object, error) { return k.ops.decodeWith(decode) }

// Encode is the stored form of obj: its JSON without the version.
func (k Kind) Encode(obj Object) ([]byte, error) { return k.ops.encode(obj) }

// Normalize returns obj as it reads back from the store: a copy with
// Normalize applied when its type has that method (empty lists instead of
// nil), so that the served form does not depend on where it came from.
func (k Kind) Normalize(obj Object) Object { return k.ops.normalize(obj) }

// Zero is an empty object of kind k.
func (k Kind) Zero() Object { return k.ops.zero() }

// KindOf returns the kind named name in kinds.
func KindOf(kinds []Kind, name string) (Kind, bool) {
	i := slices.IndexFunc(kinds, func(k Kind) bool { return k.Name == name })
	if i < 0 {
		return Kind{}, false
	}
	return kinds[i], true
}

type normalizer interface{ Normalize() }

type typedKind[T Object] struct {
	name  string
	items func(*Snapshot) *[]T
}

func (t typedKind[T]) zero() Object { var v T; return v }

func (t typedKind[T]) list(s Snapshot) []Object {
	if t.items == nil {
		return slices.Clone(s.Others[t.name])
	}
	items := *t.items(&s)
	out := make([]Object, len(items))
	for i, v := range items {
		out[i] = v
	}
	return out
}

func (t typedKind[T]) put(s *Snapshot, name string, obj Object) (bool, error) {
	var v T
	if obj != nil {
		var ok bool
		if v, ok = obj.(T); !ok {
			return false, fmt.Errorf("a %T is not a %s", obj, strings.ReplaceAll(t.name, "-", " "))
		}
	}
	if t.items == nil {
		others := make(map[string][]Object, len(s.Others)+1)
		for k, l := range s.Others {
			others[k] = l
		}
		var found bool
		var objs []Object
		if obj == nil {
			objs, found = putItem(others[t.name], name, nil, Object.ObjectName)
		} else {
			objs, found = putItem(others[t.name], name, &obj, Object.ObjectName)
		}
		others[t.name] = objs
		s.Others = others
		return found, nil
	}
	list := t.items(s)
	var found bool
	if obj == nil {
		*list, found = putItem(*list, name, nil, T.ObjectName)
	} else {
		*list, found = putItem(*list, name, &v, T.ObjectName)
	}
	return found, nil
}

// putItem replaces, adds or (with a nil v) removes the item named name of
// a copy of items; it reports whether the name was there before.
func putItem[T any](items []T, name string, v *T, nameOf func(T) string) ([]T, bool) {
	i := slices.IndexFunc(items, func(it T) bool { return nameOf(it) == name })
	found := i >= 0
	switch {
	case v == nil && found:
		return slices.Delete(slices.Clone(items), i, i+1), true
	case v == nil:
		return items, false
	}
	out := slices.Clone(items)
	if found {
		out[i] = *v
	} else {
		out = append(out, *v)
	}
	return out, found
}

func (t typedKind[T]) decode(data []byte) (Object, error) {
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	if n, ok := any(&v).(normalizer); ok {
		n.Normalize()
	}
	return v, nil
}

func (t typedKind[T]) encode(obj Object) ([]byte, error) {
	if _, ok := obj.(T); !ok {
		return nil, fmt.Errorf("a %T is not a %s", obj, strings.ReplaceAll(t.name, "-", " "))
	}
	// WithIdentity copies, so Normalize never changes the caller's value.
	v := obj.WithIdentity(obj.ObjectName(), 0).(T)
	if n, ok := any(&v).(normalizer); ok {
		n.Normalize()
	}
	return json.Marshal(v)
}

func (t typedKind[T]) set(s *Snapshot, objs []Object) error {
	if t.items == nil {
		others := make(map[string][]Object, len(s.Others)+1)
		for k, l := range s.Others {
			others[k] = l
		}
		others[t.name] = objs
		s.Others = others
		return nil
	}
	var items []T
	if len(objs) > 0 {
		items = make([]T, len(objs))
	}
	for i, o := range objs {
		v, ok := o.(T)
		if !ok {
			return fmt.Errorf("a %T is not a %s", o, strings.ReplaceAll(t.name, "-", " "))
		}
		items[i] = v
	}
	*t.items(s) = items
	return nil
}

func (t typedKind[T]) decodeWith(decode func(v any) error) (Object, error) {
	var v T
	if err := decode(&v); err != nil {
		return nil, err
	}
	if d, ok := any(&v).(interface{ ApplyDefaults() }); ok {
		d.ApplyDefaults()
	}
	return v, nil
}

func (t typedKind[T]) normalize(obj Object) Object {
	v, ok := obj.(T)
	if !ok {
		return obj
	}
	if _, ok := any(&v).(normalizer); !ok {
		return obj
	}
	v = obj.WithIdentity(obj.ObjectName(), obj.ObjectVersion()).(T)
	any(&v).(normalizer).Normalize()
	return v
}
