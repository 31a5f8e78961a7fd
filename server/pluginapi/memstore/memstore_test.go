package memstore

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
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
	small := New(2*(1+listOverhead) + 15 + 3*entryHeader) // three of the four entries
	small.Append("x", []byte("12345"), 0, time.Minute)
	small.Append("x", []byte("abcde"), 0, time.Minute)
	small.Append("y", []byte("12345"), 0, time.Minute)
	small.Append("y", []byte("67890"), 0, time.Minute)
	_, ok = small.After("x", -1)
	require.False(t, ok, "x lost its first entry to the cap")
	got, ok = small.After("x", 0)
	require.True(t, ok)
	require.Equal(t, [][]byte{[]byte("abcde")}, got)
	got, _ = small.After("y", 0)
	require.Equal(t, [][]byte{[]byte("67890")}, got, "the entry just appended stays")
}

// The size cap drops the oldest entries of all lists first, one at a
// time, never everything at once.
func TestSizeCapDropsTheOldestEntriesFirst(t *testing.T) {
	// Ten lists of two 10-byte entries each fill the cap.
	s := New(10 * (2 + listOverhead + 2*(10+entryHeader)))
	for i := range 10 {
		s.Append(fmt.Sprint("l", i), []byte("0123456789"), 0, time.Minute)
		s.Append(fmt.Sprint("l", i), []byte("0123456789"), 0, time.Minute)
	}
	s.Append("l0", []byte("0123456789"), 0, time.Minute)
	_, ok := s.After("l0", -1)
	require.False(t, ok, "the oldest entry of all went")
	got, ok := s.After("l0", 0)
	require.True(t, ok)
	require.Len(t, got, 2, "the later entries stay")
	for i := 1; i < 10; i++ {
		got, ok := s.After(fmt.Sprint("l", i), -1)
		require.True(t, ok)
		require.Len(t, got, 2, "newer entries stay")
	}
	s.Append("l5", make([]byte, 100), 0, time.Minute) // more than three 10-byte entries free
	// l0 lost its first entry before; l1's two are the oldest now: they go,
	// and l1 with them (its key and record make room too).
	_, ok = s.After("l0", -1)
	require.False(t, ok)
	got, ok = s.After("l1", -1)
	require.True(t, ok, "an emptied list reads as missing")
	require.Empty(t, got)
	for i := 2; i < 10; i++ {
		want := 2
		if i == 5 {
			want = 3
		}
		got, ok := s.After(fmt.Sprint("l", i), -1)
		require.True(t, ok, "l%d", i)
		require.Len(t, got, want, "l%d", i)
	}
	// An entry larger than the cap stays alone; the lists it emptied go.
	s.Append("big", make([]byte, 5000), 0, time.Minute)
	got, ok = s.After("big", -1)
	require.True(t, ok)
	require.Len(t, got, 1)
	got, ok = s.After("l9", 0)
	require.True(t, ok, "an emptied list reads as missing")
	require.Empty(t, got)
	require.EqualValues(t, 0, s.Append("l9", []byte("x"), 0, time.Minute), "and starts again at 0")
	got, ok = s.After("big", -1)
	require.True(t, ok)
	require.Empty(t, got, "the big entry was the oldest: it went for the new one")
	s.mu.Lock()
	require.Equal(t, 1, s.listCountLocked())
	require.Equal(t, 1+entryHeader+len("l9")+listOverhead, s.bytes)
	require.Equal(t, 1, s.entries)
	s.mu.Unlock()
}

// A list per MCP call (one event each) is the common case: the cap holds
// their keys and records too, so memory stays bounded however many come
// before they expire.
func TestSizeCapBoundsManySmallLists(t *testing.T) {
	const max = 1 << 20
	s := New(max)
	event := make([]byte, 300)
	for i := range 200000 {
		s.Append(fmt.Sprintf("mcp:events:{%032x}:%d", i%32, i), event, 1000, time.Hour)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	require.LessOrEqual(t, s.bytes, max)
	require.Less(t, s.listCountLocked(), max/(300+entryHeader+listOverhead), "lists the cap emptied are gone")
	require.Greater(t, s.listCountLocked(), max/(300+entryHeader+listOverhead+60)-10, "the latest lists stay")
	require.Equal(t, s.listCountLocked(), s.entries)
	require.LessOrEqual(t, s.log.bytes, s.held+s.held/2+logChunk)
	require.LessOrEqual(t, len(s.log.chunks), (max*3/2)/logChunk+2)
}

// The log of entries does not grow with entries removed otherwise
// (Delete, maxLen, expiry), nor behind an old list kept alive by Expire.
func TestEntryLogStaysBounded(t *testing.T) {
	s := New(0)
	s.Append("pinned", []byte("first"), 0, time.Minute)
	s.Append("pinned", []byte("second"), 0, time.Minute)
	entry := make([]byte, 100)
	for i := range 200000 {
		k := fmt.Sprint("l", i%50)
		s.Append(k, entry, 3, time.Minute)
		if i%7 == 0 {
			s.Delete(k)
		}
		if i%1000 == 0 {
			require.True(t, s.Expire("pinned", time.Minute))
		}
	}
	s.mu.Lock()
	require.LessOrEqual(t, s.entries, 152)
	require.LessOrEqual(t, s.log.bytes, s.held+s.held/2+logChunk, "dead entries behind the pinned list went")
	require.LessOrEqual(t, len(s.log.chunks), 3)
	held := 0
	for _, r := range s.recs {
		held += r.n
	}
	require.Equal(t, held, s.entries)
	s.mu.Unlock()
	got, ok := s.After("pinned", -1)
	require.True(t, ok)
	require.Equal(t, [][]byte{[]byte("first"), []byte("second")}, got, "the pinned list moved whole, in order")
	require.EqualValues(t, 2, s.Append("pinned", []byte("third"), 0, time.Minute), "and its indexes stayed")
}

// Lists hold no pointers: however many a busy MCP server keeps, the
// garbage collector has (almost) nothing of them to mark.
func TestListsAreNotHeapObjects(t *testing.T) {
	s := New(0)
	ns := s.Namespace("mcp-server\x00")
	answer := make([]byte, 220)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const calls = 50000
	for i := range calls {
		sess := fmt.Sprintf("%026x", i%32)
		k := fmt.Sprintf("mcp:eventlist:{%s}:%026x", sess, i)
		ns.Append(k, nil, 1000, time.Hour)
		ns.Append(k, answer, 1000, time.Hour)
		ns.Append("mcp:event-streams:{"+sess+"}", []byte(k), 256, time.Hour)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	s.mu.Lock()
	lists := s.listCountLocked()
	s.mu.Unlock()
	require.Equal(t, calls+32, lists)
	perList := float64(int64(after.HeapObjects)-int64(before.HeapObjects)) / float64(lists)
	require.Less(t, perList, 0.1, "heap objects per list held")
	runtime.KeepAlive(s)
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
	require.Less(t, s.listCountLocked(), 1000, "most expired lists were swept")
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

// BenchmarkAppendAtTheCap: an append costs the same with 1,000 or 100,000
// lists held once the lists fill the store's size cap, as a busy MCP
// server's event streams do: the cap drops the oldest entry, where it
// used to scan every list and drop the first entry of each
// (go test -bench AppendAt -benchtime 200000x ./server/pluginapi/memstore/).
func BenchmarkAppendAtTheCap(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			entry := make([]byte, 200)
			s := New(n * len(entry))
			for i := range n {
				s.Append(fmt.Sprint("stream", i), entry, 0, time.Hour)
			}
			keys := make([]string, 1000)
			for i := range keys {
				keys[i] = fmt.Sprint("new", i)
			}
			b.ResetTimer()
			for i := range b.N {
				s.Append(keys[i%len(keys)], entry, 0, time.Hour)
			}
		})
	}
}

// BenchmarkGCOfAFullStore measures what a store filled to its cap by MCP
// calls (a stream of two events per call, ~220-byte answers, the session's
// list of its streams) costs the garbage collector: one full collection per
// iteration, and the heap objects per list held.
func BenchmarkGCOfAFullStore(b *testing.B) {
	s := New(0)
	ns := s.Namespace("mcp-server\x00")
	answer := make([]byte, 220)
	for i := range 300000 {
		sess := fmt.Sprintf("%026x", i%32)
		k := fmt.Sprintf("mcp:eventlist:{%s}:%026x", sess, i)
		ns.Append(k, nil, 1000, time.Hour)
		ns.Append(k, bytes.Clone(answer), 1000, time.Hour)
		ns.Append("mcp:event-streams:{"+sess+"}", []byte(k), 256, time.Hour)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		runtime.GC()
	}
	b.StopTimer()
	b.ReportMetric(float64(before.HeapObjects)/float64(s.listCountLocked()), "objects/list")
	b.ReportMetric(float64(before.HeapAlloc)/(1<<20), "heap-MB")
	runtime.KeepAlive(s)
}

// Lists answer as a plain model of them (a slice per key) through any mix
// of appends with maxLen, deletes, expiry refreshes and reads, also while
// the log is compacted under them.
func TestListsMatchAModel(t *testing.T) {
	type mlist struct {
		first int64
		data  [][]byte
	}
	rng := rand.New(rand.NewPCG(1, 2))
	s := New(0)
	model := map[string]*mlist{}
	keys := make([]string, 24)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
	}
	compactions := 0
	for op := range 60000 {
		k := keys[rng.IntN(len(keys))]
		m := model[k]
		switch n := rng.IntN(10); {
		case n < 6:
			data := make([]byte, rng.IntN(3000))
			for i := range data {
				data[i] = byte(op + i)
			}
			maxLen := rng.IntN(6)
			if m == nil {
				m = &mlist{}
				model[k] = m
			}
			want := m.first + int64(len(m.data))
			m.data = append(m.data, data)
			for maxLen > 0 && len(m.data) > maxLen {
				m.data = m.data[1:]
				m.first++
			}
			before := s.log.base
			require.Equal(t, want, s.Append(k, data, maxLen, time.Hour), "op %d", op)
			if s.log.base != before {
				compactions++
			}
		case n < 7:
			s.Delete(k)
			delete(model, k)
		case n < 8:
			require.Equal(t, m != nil, s.Expire(k, time.Hour), "op %d", op)
		default:
			index := int64(rng.IntN(8)) - 1
			if m != nil {
				index += m.first
			}
			got, ok := s.After(k, index)
			switch {
			case m == nil:
				require.True(t, ok)
				require.Empty(t, got)
			case index+1 < m.first:
				require.False(t, ok, "op %d", op)
			default:
				require.True(t, ok, "op %d", op)
				var want [][]byte
				if skip := index + 1 - m.first; skip < int64(len(m.data)) {
					want = m.data[skip:]
				}
				require.Equal(t, len(want), len(got), "op %d", op)
				for i := range want {
					require.True(t, bytes.Equal(want[i], got[i]), "op %d entry %d", op, i)
				}
			}
		}
	}
	require.Greater(t, compactions, 10, "the log moved on many times")
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Equal(t, len(model), s.listCountLocked())
	require.LessOrEqual(t, s.log.bytes, s.held+s.held/2+logChunk)
}

// Empty entries cost their place in the log, and the cap counts it: a
// stream of empty events cannot grow memory past the cap.
func TestSizeCapCountsEmptyEntries(t *testing.T) {
	const max = 1 << 20
	s := New(max)
	for i := range 200000 {
		s.Append(fmt.Sprint("l", i%100), nil, 0, time.Hour)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	require.LessOrEqual(t, s.bytes, max)
	require.LessOrEqual(t, s.log.bytes, max+max/2+logChunk)
	require.Less(t, s.entries, max/entryHeader)
}
