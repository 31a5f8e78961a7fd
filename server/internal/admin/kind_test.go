package admin

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse-dev/gatehouse/server/internal/control"
	"github.com/gatehouse-dev/gatehouse/server/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/server/internal/health"
	"github.com/gatehouse-dev/gatehouse/server/internal/secret"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// widget is a kind that exists only in this test: its type and one entry
// in the table of kinds are all it takes to be stored, validated, served
// under /api/v1/widgets, versioned and rolled back.
type widget struct {
	Name  string `json:"name"`
	Color string `json:"color"`
	// Token is a secret, sent to the widget's color (its destination).
	Token   string `json:"token,omitempty"`
	Version int64  `json:"version"`
}

func (w widget) SecretRule(*secret.Plugins) secret.Rule {
	return secret.Tree{Fields: map[string]secret.Rule{"token": secret.Leaf{}}}
}

func (w widget) MaskSecrets(*secret.Plugins) spec.Object {
	if w.Token != "" {
		w.Token = secret.Mask
	}
	return w
}

func (w widget) KeepSecrets(stored spec.Object, _ *secret.Plugins) (spec.Object, error) {
	if w.Token != secret.Mask {
		return w, nil
	}
	if s, ok := stored.(widget); ok && s.Color == w.Color && s.Token != "" {
		w.Token = s.Token
		return w, nil
	}
	return w, &secret.Error{Code: "widget_invalid", Message: "token is the mask but no token is kept for this color",
		Details: []secret.Detail{{Field: "token", Message: "send the token itself"}}}
}

func (w widget) ObjectName() string   { return w.Name }
func (w widget) ObjectVersion() int64 { return w.Version }
func (w widget) WithIdentity(name string, version int64) spec.Object {
	w.Name, w.Version = name, version
	return w
}

func (w widget) Validate() error {
	if w.Color != "red" && w.Color != "blue" {
		return &spec.FieldError{Object: "widget", Name: w.Name, Field: "color", Code: "widget_invalid", Message: "use red or blue"}
	}
	return nil
}

// ApplyDefaults makes an empty color red.
func (w *widget) ApplyDefaults() {
	if w.Color == "" {
		w.Color = "red"
	}
}

func newKindAdmin(t *testing.T, kinds []spec.Kind) *aiAdmin {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), log)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	gw := gateway.New(nil, nil)
	t.Cleanup(gw.Close)
	ctl := control.New(control.Options{Store: st, Gateway: gw, Logger: log, Plugins: fakePlugins{},
		Host: func(string) pluginapi.Host { return nil }, Kinds: kinds})
	require.NoError(t, ctl.Load(ctx))
	s, err := New(Options{Store: st, Logger: log, JWTSecret: []byte("0123456789abcdef0123456789abcdef"), JWTLifetime: time.Hour,
		LogFile: filepath.Join(t.TempDir(), "gateway.log"), Health: health.NewChecker("test"), Plugins: noPlugins{},
		Registry: prometheus.NewRegistry(), Config: ctl})
	require.NoError(t, err)
	hash, err := bcrypt.GenerateFromPassword([]byte("password-123456"), bcrypt.MinCost)
	require.NoError(t, err)
	u, err := st.CreateFirstUser(ctx, "admin", string(hash))
	require.NoError(t, err)
	tok, err := s.issueToken(u, time.Now().Add(time.Hour))
	require.NoError(t, err)
	return &aiAdmin{s: s, ctl: ctl, token: tok}
}

func TestANewKindIsOneTableEntry(t *testing.T) {
	kinds := append(slices.Clone(spec.Kinds), spec.NewKind[widget]("widget", nil))
	a := newKindAdmin(t, kinds)
	decode := func(body string) (w widget) {
		t.Helper()
		require.NoError(t, json.Unmarshal([]byte(body), &w), body)
		return w
	}

	code, body := a.do(t, "POST", "/api/v1/widgets", `{"name":"w1","token":"tok-0123456789"}`)
	require.Equal(t, http.StatusCreated, code, body)
	require.Equal(t, widget{Name: "w1", Color: "red", Token: secret.Mask, Version: 1}, decode(body), "defaults applied, version from the store, secret masked")

	code, body = a.do(t, "POST", "/api/v1/widgets", `{"name":"w2","color":"green"}`)
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, `"code":"widget_invalid"`)
	require.Contains(t, body, `"field":"color"`, "the kind's own validation names the field")

	code, body = a.do(t, "POST", "/api/v1/widgets", `{"name":"w1"}`)
	require.Equal(t, http.StatusConflict, code, body)
	require.Contains(t, body, `"code":"widget_exists"`)

	code, body = a.do(t, "PUT", "/api/v1/widgets/w1", `{"color":"blue","token":"********","version":1}`)
	require.Equal(t, http.StatusBadRequest, code, "the mask does not follow a changed destination: "+body)
	require.Contains(t, body, `"field":"token"`)

	code, body = a.do(t, "PUT", "/api/v1/widgets/w1", `{"color":"red","token":"********","version":1}`)
	require.Equal(t, http.StatusOK, code, body)
	code, body = a.do(t, "PUT", "/api/v1/widgets/w1", `{"color":"blue","version":2}`)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, widget{Name: "w1", Color: "blue", Version: 3}, decode(body))

	code, body = a.do(t, "PUT", "/api/v1/widgets/w1", `{"color":"red","version":1}`)
	require.Equal(t, http.StatusConflict, code, "a stale version is refused: "+body)

	code, body = a.do(t, "GET", "/api/v1/widgets?q=w", "")
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"items":[{"name":"w1","color":"blue","version":3}],"total":1}`, body)

	// Stored: read back from the database.
	snap, err := a.ctl.Stored(context.Background())
	require.NoError(t, err)
	require.Equal(t, []spec.Object{widget{Name: "w1", Color: "blue", Version: 3}}, snap.Others["widget"])

	// Revisions and rollback work for it like for every kind.
	code, body = a.do(t, "GET", "/api/v1/revisions", "")
	require.Equal(t, http.StatusOK, code, body)
	var revs struct {
		Items []revisionView `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &revs))
	require.Equal(t, "widget", revs.Items[0].Kind)
	require.NotContains(t, body, "tok-0123456789", "revisions are masked by the kind's rule")
	require.Contains(t, body, `"token":"********"`)
	code, body = a.do(t, "POST", "/api/v1/revisions/"+jsonNumber(revs.Items[0].ID)+"/rollback", "")
	require.Equal(t, http.StatusOK, code, body)
	code, body = a.do(t, "GET", "/api/v1/widgets/w1", "")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, widget{Name: "w1", Color: "red", Token: secret.Mask, Version: 4}, decode(body), "rolled back to before the update, token and all")
	snap, err = a.ctl.Stored(context.Background())
	require.NoError(t, err)
	require.Equal(t, "tok-0123456789", snap.Others["widget"][0].(widget).Token, "the masked PUT kept the stored token")

	code, body = a.do(t, "DELETE", "/api/v1/widgets/w1", "")
	require.Equal(t, http.StatusNoContent, code, body)
	code, _ = a.do(t, "GET", "/api/v1/widgets/w1", "")
	require.Equal(t, http.StatusNotFound, code)

	// A wrong type for the kind is refused by control, not stored.
	_, err = a.ctl.Apply(context.Background(), "admin", []control.Change{{Kind: "widget", Name: "x", Object: spec.Service{Name: "x"}}})
	require.Error(t, err)
	var fe *spec.FieldError
	require.False(t, errors.As(err, &fe))
}

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }
