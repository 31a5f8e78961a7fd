package spec

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

type pathError struct{ path, msg string }

func (e *pathError) Error() string        { return e.path + ": " + e.msg }
func (e *pathError) FieldPath() string    { return e.path }
func (e *pathError) FieldMessage() string { return e.msg }

// One walker serves FieldErrors and PluginErrors: every leaf of a join is
// found, through wraps around joins, and each leaf names its own field.
func TestErrorTreesBecomeFieldErrors(t *testing.T) {
	plugin := fmt.Errorf("provision: %w", fmt.Errorf("config: %w", errors.Join(
		&pluginapi.ConfigError{Field: "keys[0]", Message: "too short"},
		fmt.Errorf("wrapped: %w", &pathError{"tools[1].url", "not a URL"}),
		errors.New("upstream refused the token"),
	)))
	var got [][2]string
	fes := PluginErrors(plugin, func(field, msg string) error {
		got = append(got, [2]string{field, msg})
		return &FieldError{Object: KindPluginInstance, Name: "p", Field: "config." + field, Code: CodePluginInstanceInvalid, Message: msg}
	})
	require.Equal(t, [][2]string{{"keys[0]", "too short"}, {"tools[1].url", "not a URL"}, {"", "upstream refused the token"}}, got)

	all := fmt.Errorf("refused: %w", errors.Join(append(fes, &FieldError{Object: KindRoute, Name: "r", Field: "path", Message: "x"})...))
	names := []string{}
	for _, fe := range FieldErrors(all) {
		names = append(names, fe.Object+" "+fe.Field)
	}
	require.Equal(t, []string{"plugin-instance config.keys[0]", "plugin-instance config.tools[1].url", "plugin-instance config.", "route path"}, names)
	require.Equal(t, `plugin instance "p": config.keys[0]: too short`, FieldErrors(all)[0].Error())
	require.Nil(t, FieldErrors(errors.New("plain")))
}
