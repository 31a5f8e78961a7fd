package app

import (
	"context"
	"log/slog"

	"github.com/gatehouse-dev/gatehouse/server/internal/control"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

// seedModelPrices stores spec.SeedModelPrices when the database holds no
// configuration yet (first start): dated public prices that budgets use
// until an operator edits them. A failure (another instance seeding at the
// same moment) is logged, never fatal.
func seedModelPrices(ctx context.Context, ctl *control.Control, log *slog.Logger) {
	snap, rev := ctl.Snapshot()
	if rev > 0 || len(snap.ModelPrices) > 0 {
		return
	}
	changes := make([]control.Change, len(spec.SeedModelPrices))
	for i, p := range spec.SeedModelPrices {
		changes[i] = control.Change{Kind: spec.KindModelPrice, Name: p.Name, Object: p, ExpectVersion: -1}
	}
	if _, err := ctl.Apply(ctx, "gatehouse", changes); err != nil {
		log.Warn("model prices not seeded", "error", err)
		return
	}
	log.Info("model prices seeded", "prices", len(changes))
}
