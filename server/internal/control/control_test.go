package control

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

// Two instances on one database, changing it at the same time: once each
// has synced, each one's gateway serves every change. An instance that
// recorded a revision including the other's change without having it in
// its route table would never load it.
func TestConcurrentChangesOnTwoInstancesAreAllServed(t *testing.T) {
	ctx := context.Background()
	// PostgreSQL when GATEHOUSE_TEST_POSTGRES_DSN is set, else SQLite.
	st, err := store.Open(ctx, testenv.SharedDatabase(t), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	gateways := []*gateway.Gateway{gateway.New(nil, nil), gateway.New(nil, nil)}
	var instances []*Control
	for _, gw := range gateways {
		t.Cleanup(gw.Close)
		c := New(Options{Store: st, Gateway: gw, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, c.Load(ctx))
		instances = append(instances, c)
	}
	_, err = instances[0].Apply(ctx, "admin", []Change{{Kind: spec.KindService, Name: "s",
		Object: spec.Service{Name: "s", Endpoints: []spec.Endpoint{{URL: "http://127.0.0.1:9"}}}, ExpectVersion: -1}})
	require.NoError(t, err)
	_, err = instances[1].Sync(ctx)
	require.NoError(t, err)

	// Rounds of one change per instance at the same moment, each round
	// then settled: the last change of a burst is the one that must not be
	// missed.
	const rounds = 30
	for round := range rounds {
		var wg sync.WaitGroup
		for i, c := range instances {
			wg.Go(func() {
				name := fmt.Sprintf("r-%d-%d", i, round)
				_, err := c.Apply(ctx, "admin", []Change{{Kind: spec.KindRoute, Name: name, Object: spec.Route{Name: name,
					Path: spec.PathMatch{Type: spec.PathPrefix, Value: "/" + name}, Service: "s"}, ExpectVersion: -1}})
				require.NoError(t, err)
			})
		}
		wg.Wait()
		for i, c := range instances {
			_, err := c.Sync(ctx)
			require.NoError(t, err)
			require.Equal(t, 2*(round+1), gateways[i].Table().Routes(), "instance %d serves every route after syncing (round %d)", i, round)
		}
	}
}
