package store

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestObjectChangesAreAtomicAndVersioned(t *testing.T) {
	ctx := context.Background()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			out, err := s.Apply(ctx, "admin", "b1", []Change{
				{Kind: "service", Name: "echo", Spec: []byte(`{"name":"echo"}`), ExpectVersion: -1},
				{Kind: "route", Name: "r1", Spec: []byte(`{"name":"r1"}`), ExpectVersion: -1},
			})
			require.NoError(t, err)
			require.Len(t, out, 2)
			require.Equal(t, int64(1), out[0].Version)

			// Creating an existing object is a conflict.
			_, err = s.Apply(ctx, "admin", "b2", []Change{{Kind: "service", Name: "echo", Spec: []byte(`{}`), ExpectVersion: -1}})
			require.ErrorIs(t, err, ErrConflict)

			// A stale version fails the whole change: the first part is not kept.
			_, err = s.Apply(ctx, "admin", "b3", []Change{
				{Kind: "route", Name: "r1", Spec: []byte(`{"name":"r1","v":2}`), ExpectVersion: 1},
				{Kind: "service", Name: "echo", Spec: []byte(`{"name":"echo","v":2}`), ExpectVersion: 7},
			})
			var vc *VersionConflict
			require.True(t, errors.As(err, &vc))
			require.Equal(t, "echo", vc.Name)
			require.Contains(t, err.Error(), "reload")
			objs, rev, err := s.Objects(ctx)
			require.NoError(t, err)
			require.Len(t, objs, 2)
			for _, o := range objs {
				require.Equal(t, int64(1), o.Version, "nothing of a refused change is stored")
			}

			out, err = s.Apply(ctx, "bob", "b4", []Change{{Kind: "route", Name: "r1", Spec: []byte(`{"name":"r1","v":2}`), ExpectVersion: 1}})
			require.NoError(t, err)
			require.Equal(t, int64(2), out[0].Version)
			_, err = s.Apply(ctx, "bob", "b5", []Change{{Kind: "route", Name: "r1"}})
			require.NoError(t, err)
			_, err = s.Apply(ctx, "bob", "b6", []Change{{Kind: "route", Name: "r1"}})
			require.ErrorIs(t, err, ErrNotFound)

			revs, total, err := s.Revisions(ctx, 10, 0)
			require.NoError(t, err)
			require.Equal(t, int64(4), total, "two creates, one update, one delete")
			require.Equal(t, "delete", revs[0].Action)
			require.Equal(t, `{"name":"r1","v":2}`, string(revs[0].Before))
			require.Nil(t, revs[0].After)
			require.Equal(t, "update", revs[1].Action)
			require.Equal(t, "bob", revs[1].User)
			latest, err := s.LatestRevision(ctx)
			require.NoError(t, err)
			require.Equal(t, revs[0].ID, latest)
			require.Greater(t, latest, rev)
			got, err := s.GetRevision(ctx, revs[1].ID)
			require.NoError(t, err)
			require.Equal(t, `{"name":"r1"}`, string(got.Before))
		})
	}
}

// Objects returns a revision that its objects are at least as new as: an
// instance that loads the configuration while another writes must not
// record a revision whose changes it has not read, or it would never load
// them (on PostgreSQL each statement of a transaction sees what was
// committed before it started).
func TestObjectsRevisionNeverAheadOfTheObjects(t *testing.T) {
	ctx := context.Background()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			base, rev0, err := s.Objects(ctx)
			require.NoError(t, err)
			const writes = 150
			done := make(chan error, 1)
			go func() {
				for i := range writes {
					n := fmt.Sprintf("ahead-%d", i)
					if _, err := s.Apply(ctx, "admin", n, []Change{{Kind: "service", Name: n, Spec: []byte(`{}`), ExpectVersion: -1}}); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			for {
				objs, rev, err := s.Objects(ctx)
				require.NoError(t, err)
				// One object and one revision per write.
				require.GreaterOrEqual(t, len(objs)-len(base), int(rev-rev0),
					"revision %d returned with only %d of its new objects", rev, len(objs)-len(base))
				select {
				case err := <-done:
					require.NoError(t, err)
					return
				default:
				}
			}
		})
	}
}
