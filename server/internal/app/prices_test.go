package app

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/control"
	"github.com/gatehouse-dev/gatehouse/server/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
)

func TestModelPricesAreSeededOnFirstStartOnly(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "g.db"), log)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	gw := gateway.New(nil, nil)
	t.Cleanup(gw.Close)
	ctl := control.New(control.Options{Store: st, Gateway: gw, Logger: log})
	require.NoError(t, ctl.Load(ctx))
	seedModelPrices(ctx, ctl, log)
	snap, _ := ctl.Snapshot()
	require.Len(t, snap.ModelPrices, len(spec.SeedModelPrices))

	// An operator deletes one; a restart does not bring it back.
	_, err = ctl.Apply(ctx, "admin", []control.Change{{Kind: spec.KindModelPrice, Name: spec.SeedModelPrices[0].Name}})
	require.NoError(t, err)
	seedModelPrices(ctx, ctl, log)
	snap, _ = ctl.Snapshot()
	require.Len(t, snap.ModelPrices, len(spec.SeedModelPrices)-1)
}
