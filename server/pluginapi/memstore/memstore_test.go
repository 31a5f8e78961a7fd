package memstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestValuesExpireAndCompareAndDelete(t *testing.T) {
	s := New(0)
	s.Set("a", []byte("1"), 50*time.Millisecond)
	v, ok := s.Get("a")
	require.True(t, ok)
	require.Equal(t, "1", string(v))
	require.False(t, s.SetNX("a", []byte("2"), time.Minute), "SetNX keeps a live value")
	require.False(t, s.DeleteIf("a", []byte("2")), "DeleteIf leaves another value")
	require.Eventually(t, func() bool { _, ok := s.Get("a"); return !ok }, 2*time.Second, 10*time.Millisecond)
	require.False(t, s.Expire("a", time.Minute), "an expired key is not revived")
	require.True(t, s.SetNX("a", []byte("2"), time.Minute))
	require.True(t, s.DeleteIf("a", []byte("2")))
	_, ok = s.Get("a")
	require.False(t, ok)

	require.EqualValues(t, 1, s.Incr("n", time.Minute))
	require.EqualValues(t, 2, s.Incr("n", time.Minute))
	s.Delete("n")
	require.EqualValues(t, 1, s.Incr("n", time.Minute))
}

func TestListsKeepTheirLastEntriesAndReportPurges(t *testing.T) {
	s := New(0)
	for i := range 10 {
		require.EqualValues(t, i, s.Append("l", fmt.Appendf(nil, "%d", i), 3, time.Minute))
	}
	_, ok := s.After("l", 0)
	require.False(t, ok, "entry 1 was dropped by maxLen")
	got, ok := s.After("l", 7)
	require.True(t, ok)
	require.Equal(t, [][]byte{[]byte("8"), []byte("9")}, got)
	got, ok = s.After("missing", -1)
	require.True(t, ok)
	require.Empty(t, got)

	// The size cap drops the oldest entries of every list.
	small := New(10)
	small.Append("x", []byte("12345"), 0, time.Minute)
	small.Append("y", []byte("12345"), 0, time.Minute)
	small.Append("y", []byte("67890"), 0, time.Minute)
	_, ok = small.After("x", -1)
	require.False(t, ok, "x lost its first entry to the cap")
	got, _ = small.After("y", 0)
	require.Equal(t, [][]byte{[]byte("67890")}, got, "the entry just appended stays")
}

func TestPublishReachesSubscribersInOrderAndNamespacesSeparate(t *testing.T) {
	s := New(0)
	a, b := s.Namespace("a\x00"), s.Namespace("b\x00")
	sub := a.Subscribe("inbox", "closed")
	defer sub.Close()
	require.Equal(t, 0, b.Publish("inbox", []byte("other plugin")))
	require.Equal(t, 1, a.Publish("inbox", []byte("1")))
	require.Equal(t, 1, a.Publish("closed", []byte("2")))
	<-sub.Ready()
	ms := sub.Take()
	require.Len(t, ms, 2)
	require.Equal(t, "inbox", ms[0].Channel)
	require.Equal(t, "1", string(ms[0].Payload))
	require.Equal(t, "closed", ms[1].Channel)

	a.Set("k", []byte("a"), time.Minute)
	_, ok := b.Get("k")
	require.False(t, ok, "keys of another plugin are not visible")
	sub.Close()
	require.Equal(t, 0, a.Publish("inbox", []byte("after close")))
}

// Expired keys nobody reads again are removed by the writes that follow,
// a sample at a time, so the store does not grow with traffic.
func TestWritesSweepExpiredKeys(t *testing.T) {
	s := New(0)
	for i := range 10000 {
		s.Set(fmt.Sprint("old", i), []byte("x"), time.Millisecond)
		s.Append(fmt.Sprint("oldlist", i), []byte("x"), 0, time.Millisecond)
	}
	time.Sleep(5 * time.Millisecond)
	for i := range 10000 {
		s.Set(fmt.Sprint("new", i%100), []byte("x"), time.Minute)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Less(t, len(s.values), 1000, "most expired values were swept")
	require.Less(t, len(s.lists), 1000, "most expired lists were swept")
}

// BenchmarkSetAmongManyKeys: a write costs the same with 1,000 or 100,000
// live keys held (go test -bench SetAmong ./server/pluginapi/memstore/).
func BenchmarkSetAmongManyKeys(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := New(0)
			for i := range n {
				s.Set(fmt.Sprint("live", i), []byte("x"), time.Hour)
			}
			b.ResetTimer()
			for i := range b.N {
				s.Set(fmt.Sprint("k", i%1000), []byte("x"), time.Hour)
			}
		})
	}
}
