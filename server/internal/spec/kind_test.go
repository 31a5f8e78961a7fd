package spec

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Put never changes a list that another snapshot shares: the served
// snapshot is read while a change is built from a copy of it.
func TestKindPutCopiesOnWrite(t *testing.T) {
	k, ok := KindOf(Kinds, KindService)
	require.True(t, ok)
	served := Snapshot{Services: []Service{{Name: "a", Version: 1}, {Name: "b", Version: 1}}}
	next := served
	found, err := k.Put(&next, "a", Service{Name: "a", Retries: 2})
	require.NoError(t, err)
	require.True(t, found)
	_, err = k.Put(&next, "b", nil)
	require.NoError(t, err)
	_, err = k.Put(&next, "c", Service{Name: "c"})
	require.NoError(t, err)
	require.Equal(t, []Service{{Name: "a", Version: 1}, {Name: "b", Version: 1}}, served.Services, "the served snapshot is untouched")
	require.Equal(t, []Service{{Name: "a", Retries: 2}, {Name: "c"}}, next.Services)

	_, err = k.Put(&next, "x", Route{Name: "x"})
	require.ErrorContains(t, err, "is not a service")
}

// Every kind's stored form reads back as the same object, without its
// version, and with the lists Normalize fills.
func TestEveryKindRoundTrips(t *testing.T) {
	off := false
	samples := map[string]Object{
		KindService:        Service{Name: "s", Endpoints: []Endpoint{{URL: "http://10.0.0.1"}}, Version: 3},
		KindRoute:          Route{Name: "r", Path: PathMatch{Type: PathPrefix, Value: "/"}, Service: "s", Version: 3},
		KindPluginInstance: PluginInstance{Name: "p", Plugin: "cors", Scope: Scope{Type: ScopeGlobal}, Config: []byte(`{"a":1}`), Enabled: &off, Version: 3},
		KindLLMProvider:    LLMProvider{Name: "l", Type: "openai", Version: 3},
		KindAIRoute:        AIRoute{Name: "ai", AuthConfig: &AIAuthConfig{Enabled: true}, Version: 3},
	}
	m, err := ParseMCPServer([]byte(`{"name":"m","server":{"name":"m"}}`))
	require.NoError(t, err)
	m.Version = 3
	samples[KindMCPServer] = m
	require.Len(t, Kinds, len(samples), "a sample for every kind")
	for _, k := range Kinds {
		t.Run(k.Name, func(t *testing.T) {
			obj := samples[k.Name]
			data, err := k.Encode(obj)
			require.NoError(t, err)
			require.NotContains(t, string(data), `"version":3`)
			back, err := k.Decode(data)
			require.NoError(t, err)
			require.Equal(t, obj.ObjectName(), back.ObjectName())
			require.Zero(t, back.ObjectVersion())
			again, err := k.Encode(back.WithIdentity(back.ObjectName(), 3))
			require.NoError(t, err)
			require.JSONEq(t, string(data), string(again))
			require.Equal(t, "/"+k.Name+"s", k.Path)
		})
	}
	if r, ok := samples[KindAIRoute].(AIRoute); ok {
		require.Nil(t, r.AuthConfig.AllowedConsumers, "encoding never normalizes the caller's value")
	}
}
