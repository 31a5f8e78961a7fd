package spec

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAIRouteScope(t *testing.T) {
	s := aiSnapshot()
	limit := PluginInstance{Name: "tokens", Plugin: "ai-token-ratelimit", Scope: Scope{Type: ScopeAIRoute, Value: "chat"},
		Config: json.RawMessage(`{"rule_name":"r"}`)}
	s.PluginInstances = append(s.PluginInstances, limit)
	require.NoError(t, s.Validate())

	s.PluginInstances[len(s.PluginInstances)-1].Scope.Value = "nope"
	err := s.Validate()
	require.Error(t, err)
	fes := FieldErrors(err)
	require.Len(t, fes, 1)
	require.Equal(t, "tokens", fes[0].Name)
	require.Equal(t, "scope.value", fes[0].Field)
	require.Contains(t, fes[0].Message, `AI route "nope" does not exist`)

	s.PluginInstances[len(s.PluginInstances)-1].Scope.Value = ""
	err = s.Validate()
	require.Error(t, err)
	require.Contains(t, err.Error(), "needs the AI route name in scope.value")

	err = PluginInstance{Name: "x", Plugin: "cors", Scope: Scope{Type: "airoute"}}.Validate()
	require.ErrorContains(t, err, `"ai-route"`, "the unknown-scope message lists ai-route")
}
