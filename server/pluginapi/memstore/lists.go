package memstore

import (
	"encoding/binary"
	"hash/maphash"
	"time"
)

// The lists of a Store live where the garbage collector does not look.
// A busy MCP server keeps a list per tools/call (its answer stream) for 30
// minutes: tens of thousands of lists. Held as Go objects (a record, a key,
// an entry each) they were most of the process's heap, and every
// collection marked them all — on one CPU a collection every ~0.5 s with
// ~30 ms of marking, a third of the answers' p99. Here they hold no
// pointers at all: lists are records in a slice, found through a map from
// a 128-bit hash of the key, and their entries are copied into a log of
// large byte chunks, in the order they were appended.
//
// The log is also the order the size cap drops entries in (the oldest
// first). Entries removed otherwise (maxLen, Delete, expiry) leave dead
// bytes behind; the log's head moves past dead entries at once, and when
// the log holds more than half again the bytes still held, the list of
// the entry at its head is copied to its tail (compactLocked), so an old
// list kept alive by Expire cannot pin the log.

// logChunk is the size of the log's chunks (a larger entry gets a chunk
// of its own size).
const logChunk = 256 << 10

// entryHeader is what the log holds besides an entry's data: its list's
// record and version, its index in the list, the place of the list's next
// entry, and the data's length.
const entryHeader = 4 + 4 + 8 + 8 + 4

// place is where an entry starts in the log: the sequence number of its
// chunk (high 32 bits) and the offset in the chunk.
type place uint64

func placeOf(seq uint32, off int) place { return place(uint64(seq)<<32 | uint64(off)) }
func (p place) seq() uint32             { return uint32(p >> 32) }
func (p place) off() int                { return int(uint32(p)) }

// noPlace ends a list's chain of entries.
const noPlace = place(^uint64(0))

// listKey is the 128-bit hash of a list's key. Two keys with the same
// hash would be one list; with a random seed per Store that takes about
// 2^64 keys, so a key is not kept to compare.
type listKey [2]uint64

// listRec is a list: its entries are first … first+n-1, chained in the log
// from head to tail.
type listRec struct {
	key        listKey
	ver        uint32 // entries in the log with another version are dead
	live       bool
	keyLen     int
	first      int64
	n          int
	logged     int // of the entries in the log, headers included
	expires    int64
	head, tail place
}

// entry is an entry's header as read from the log.
type entry struct {
	rec   int32
	ver   uint32
	index int64
	next  place
	size  int
}

// listLog is the log of list entries: chunks[i] has sequence number
// base+i; entries are written at tail and read from head.
type listLog struct {
	chunks [][]byte
	used   []int // bytes written in each chunk
	base   uint32
	head   place
	tail   place
	bytes  int    // of the entries between head and tail, dead or not
	spare  []byte // the last chunk the head left, for the next one
}

func (g *listLog) chunk(seq uint32) []byte { return g.chunks[seq-g.base] }

// header reads the header of the entry at p.
func (g *listLog) header(p place) entry {
	b := g.chunk(p.seq())[p.off():]
	return entry{
		rec:   int32(binary.LittleEndian.Uint32(b)),
		ver:   binary.LittleEndian.Uint32(b[4:]),
		index: int64(binary.LittleEndian.Uint64(b[8:])),
		next:  place(binary.LittleEndian.Uint64(b[16:])),
		size:  int(binary.LittleEndian.Uint32(b[24:])),
	}
}

// data is the data of the entry at p, whose header is e.
func (g *listLog) data(p place, e entry) []byte {
	off := p.off() + entryHeader
	return g.chunk(p.seq())[off : off+e.size]
}

// setNext chains the entry at p to the entry at next.
func (g *listLog) setNext(p, next place) {
	binary.LittleEndian.PutUint64(g.chunk(p.seq())[p.off()+16:], uint64(next))
}

// write appends an entry to the log and returns its place.
func (g *listLog) write(e entry, data []byte) place {
	need := entryHeader + len(data)
	if len(g.chunks) == 0 || g.tail.off()+need > len(g.chunks[len(g.chunks)-1]) {
		size := max(logChunk, need)
		c := g.spare
		g.spare = nil
		if len(c) < size {
			c = make([]byte, size)
		}
		if len(g.chunks) == 0 {
			g.base = g.head.seq()
		}
		seq := g.base + uint32(len(g.chunks))
		g.chunks = append(g.chunks, c)
		g.used = append(g.used, 0)
		g.tail = placeOf(seq, 0)
		if len(g.chunks) == 1 {
			g.head = g.tail
		}
	}
	p := g.tail
	b := g.chunk(p.seq())[p.off():]
	binary.LittleEndian.PutUint32(b, uint32(e.rec))
	binary.LittleEndian.PutUint32(b[4:], e.ver)
	binary.LittleEndian.PutUint64(b[8:], uint64(e.index))
	binary.LittleEndian.PutUint64(b[16:], uint64(noPlace))
	binary.LittleEndian.PutUint32(b[24:], uint32(len(data)))
	copy(b[entryHeader:], data)
	g.tail = placeOf(p.seq(), p.off()+need)
	g.used[len(g.used)-1] = g.tail.off()
	g.bytes += need
	return p
}

// empty reports whether the log holds no entry.
func (g *listLog) empty() bool { return len(g.chunks) == 0 }

// pop moves the head past its entry e, releasing chunks it leaves.
func (g *listLog) pop(e entry) {
	g.bytes -= entryHeader + e.size
	next := g.head.off() + entryHeader + e.size
	if next < g.used[0] {
		g.head = placeOf(g.head.seq(), next)
		return
	}
	// The first chunk is done.
	if len(g.chunks[0]) == logChunk {
		g.spare = g.chunks[0]
	}
	g.chunks[0] = nil
	g.chunks = g.chunks[1:]
	g.used = g.used[1:]
	g.base++
	g.head = placeOf(g.base, 0)
	if len(g.chunks) == 0 {
		g.chunks, g.used = nil, nil // so they do not creep through memory
		g.tail = g.head
	}
}

// listRecord returns the record of the live list key (of prefix+key),
// dropping it when it expired.
func (s *Store) listRecord(k listKey, now int64) (int32, *listRec) {
	ri, ok := s.index[k]
	if !ok {
		return -1, nil
	}
	r := &s.recs[ri]
	if now >= r.expires {
		s.dropListLocked(ri)
		return -1, nil
	}
	return ri, r
}

// hashKey is the listKey of prefix+key.
func (s *Store) hashKey(prefix, key string) listKey {
	var h maphash.Hash
	h.SetSeed(s.seeds[0])
	h.WriteString(prefix)
	h.WriteString(key)
	a := h.Sum64()
	h.SetSeed(s.seeds[1])
	h.WriteString(prefix)
	h.WriteString(key)
	return listKey{a, h.Sum64()}
}

// appendLocked is Append of prefix+key.
func (s *Store) appendLocked(prefix, key string, data []byte, maxLen int, ttl time.Duration, now time.Time) int64 {
	k := s.hashKey(prefix, key)
	ri, r := s.listRecord(k, now.UnixNano())
	if r == nil {
		ri = s.newListLocked(k, len(prefix)+len(key))
		r = &s.recs[ri]
	}
	index := r.first + int64(r.n)
	p := s.log.write(entry{rec: ri, ver: r.ver, index: index}, data)
	if r.n == 0 {
		r.head = p
	} else {
		s.log.setNext(r.tail, p)
	}
	r.tail = p
	r.n++
	r.logged += entryHeader + len(data)
	r.expires = now.Add(ttl).UnixNano()
	s.bytes += entryHeader + len(data)
	s.held += entryHeader + len(data)
	s.entries++
	for maxLen > 0 && r.n > maxLen {
		s.removeFirstLocked(r)
	}
	s.sweepLocked(now)
	s.purgeLocked(p)
	s.compactLocked()
	return index
}

// newListLocked makes the record of a new, empty list.
func (s *Store) newListLocked(k listKey, keyLen int) int32 {
	var ri int32
	if n := len(s.freeRecs); n > 0 {
		ri = s.freeRecs[n-1]
		s.freeRecs = s.freeRecs[:n-1]
	} else {
		s.recs = append(s.recs, listRec{})
		ri = int32(len(s.recs) - 1)
	}
	r := &s.recs[ri]
	*r = listRec{key: k, ver: r.ver, live: true, keyLen: keyLen, head: noPlace, tail: noPlace}
	s.index[k] = ri
	s.bytes += keyLen + listOverhead
	return ri
}

// removeFirstLocked removes the first entry of r.
func (s *Store) removeFirstLocked(r *listRec) {
	e := s.log.header(r.head)
	r.head = e.next
	r.first++
	r.n--
	r.logged -= entryHeader + e.size
	s.bytes -= entryHeader + e.size
	s.held -= entryHeader + e.size
	s.entries--
	s.trimHeadLocked()
}

// dropListLocked removes list ri.
func (s *Store) dropListLocked(ri int32) {
	r := &s.recs[ri]
	s.bytes -= r.logged + r.keyLen + listOverhead
	s.held -= r.logged
	s.entries -= r.n
	delete(s.index, r.key)
	*r = listRec{ver: r.ver + 1}
	s.freeRecs = append(s.freeRecs, ri)
	s.trimHeadLocked()
}

// heldLocked reports whether the entry e is still in its list.
func (s *Store) heldLocked(e entry) bool {
	r := &s.recs[e.rec]
	return r.live && r.ver == e.ver && e.index >= r.first
}

// trimHeadLocked moves the log's head past dead entries.
func (s *Store) trimHeadLocked() {
	for !s.log.empty() {
		e := s.log.header(s.log.head)
		if s.heldLocked(e) {
			return
		}
		s.log.pop(e)
	}
}

// purgeLocked drops the oldest entries of all lists until the total is
// within the cap, but not the entry just appended (at last). A list it
// empties goes, as Redis evicts a key under its memory limit: it then
// reads as missing, and a new entry starts it again at index 0.
func (s *Store) purgeLocked(last place) {
	for s.bytes > s.maxListBytes && !s.log.empty() && s.log.head != last {
		// After trimHeadLocked, the head is held: the first of its list.
		e := s.log.header(s.log.head)
		r := &s.recs[e.rec]
		s.removeFirstLocked(r)
		if r.n == 0 {
			s.dropListLocked(e.rec)
		}
	}
}

// compactLocked copies the list whose entry is at the log's head to the
// log's tail while the log holds more than half again the bytes held (and
// a chunk): the dead entries behind it then go.
func (s *Store) compactLocked() {
	for s.log.bytes > s.held+s.held/2+logChunk {
		e := s.log.header(s.log.head)
		r := &s.recs[e.rec]
		r.ver++
		p := r.head
		r.head, r.tail = noPlace, noPlace
		for i := int64(0); p != noPlace; i++ {
			old := s.log.header(p)
			q := s.log.write(entry{rec: e.rec, ver: r.ver, index: r.first + i}, s.log.data(p, old))
			if r.head == noPlace {
				r.head = q
			} else {
				s.log.setNext(r.tail, q)
			}
			r.tail = q
			p = old.next
		}
		s.trimHeadLocked()
	}
}

// sweepListsLocked drops expired lists among a sample of the records (the
// next ones after the last sample), and another sample while a quarter or
// more of the last one had expired (at most sweepRounds).
func (s *Store) sweepListsLocked(now int64) {
	for range sweepRounds {
		seen, expired := 0, 0
		for ; seen < 2*sweepSample && seen < len(s.recs); seen++ {
			s.sweepAt = (s.sweepAt + 1) % len(s.recs)
			if r := &s.recs[s.sweepAt]; r.live && now >= r.expires {
				s.dropListLocked(int32(s.sweepAt))
				expired++
			}
		}
		if expired*4 < seen || seen == 0 {
			return
		}
	}
}

// expireListLocked is Expire of the list prefix+key.
func (s *Store) expireListLocked(prefix, key string, ttl time.Duration, now time.Time) bool {
	_, r := s.listRecord(s.hashKey(prefix, key), now.UnixNano())
	if r == nil {
		return false
	}
	r.expires = now.Add(ttl).UnixNano()
	return true
}

// deleteListLocked is Delete of the list prefix+key.
func (s *Store) deleteListLocked(prefix, key string) {
	if ri, ok := s.index[s.hashKey(prefix, key)]; ok {
		s.dropListLocked(ri)
	}
}

// afterLocked is After of prefix+key.
func (s *Store) afterLocked(prefix, key string, index int64, now time.Time) ([][]byte, bool) {
	_, r := s.listRecord(s.hashKey(prefix, key), now.UnixNano())
	if r == nil {
		return nil, true
	}
	skip := index + 1 - r.first
	if skip < 0 {
		return nil, false
	}
	if skip >= int64(r.n) {
		return nil, true
	}
	// Copied out (the log's bytes are reused), into one buffer.
	out := make([][]byte, 0, int64(r.n)-skip)
	buf := make([]byte, 0, r.logged-r.n*entryHeader)
	for p, i := r.head, int64(0); p != noPlace; i++ {
		e := s.log.header(p)
		if i >= skip && e.size > 0 {
			buf = append(buf, s.log.data(p, e)...)
			out = append(out, buf[len(buf)-e.size:len(buf):len(buf)])
		} else if i >= skip {
			out = append(out, nil)
		}
		p = e.next
	}
	return out, true
}

// listCountLocked is the number of lists held (live or expired, not yet
// swept).
func (s *Store) listCountLocked() int { return len(s.index) }
