package gateway

import (
	"net"
	"net/http"
	"slices"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

// pick chooses an endpoint for req that is not in tried, or -1.
func (p *pool) pick(req *http.Request, tried []int) int {
	now := p.now().UnixNano()
	if i := p.pickWith(req, tried, now, false); i >= 0 {
		return i
	}
	// Panic mode: when passive ejection took every endpoint out, trying
	// one beats refusing every request until the cool-down ends.
	return p.pickWith(req, tried, now, true)
}

func (p *pool) pickWith(req *http.Request, tried []int, now int64, panicMode bool) int {
	ok := func(i int) bool {
		return p.endpoints[i].available(now, panicMode) && !slices.Contains(tried, i)
	}
	switch p.policy {
	case spec.LBLeastRequest:
		n := len(p.endpoints)
		start := int(p.rr.Add(1) % uint64(n))
		best := -1
		for k := 0; k < n; k++ {
			i := (start + k) % n
			if !ok(i) {
				continue
			}
			if best < 0 {
				best = i
				continue
			}
			a, b := p.endpoints[i], p.endpoints[best]
			if a.inflight.Load()*int64(b.weight) < b.inflight.Load()*int64(a.weight) {
				best = i
			}
		}
		return best
	case spec.LBConsistentHash:
		if key := p.hashKeyOf(req); key != "" {
			return p.ringPick(hash64(key), ok)
		}
	}
	n := len(p.schedule)
	start := p.rr.Add(1) - 1
	for k := 0; k < n; k++ {
		if i := p.schedule[(start+uint64(k))%uint64(n)]; ok(i) {
			return i
		}
	}
	return -1
}

func (p *pool) hashKeyOf(req *http.Request) string {
	switch p.hashOn.Type {
	case spec.HashOnHeader:
		if v := req.Header[p.hashKey]; len(v) > 0 {
			return v[0]
		}
	case spec.HashOnCookie:
		if c, err := req.Cookie(p.hashOn.Name); err == nil {
			return c.Value
		}
	case spec.HashOnClientAddress:
		// The gateway set X-Real-Ip to the client's address.
		if v := req.Header["X-Real-Ip"]; len(v) > 0 {
			return v[0]
		}
		host, _, err := net.SplitHostPort(req.RemoteAddr)
		if err != nil {
			return req.RemoteAddr
		}
		return host
	}
	return ""
}

// wrrSchedule expands the weights into a smooth weighted round-robin
// order (nginx's algorithm), scaled down to at most 4096 slots.
func wrrSchedule(eps []*endpoint) []int {
	weights := make([]int, len(eps))
	total := 0
	for i, e := range eps {
		weights[i] = e.weight
		total += e.weight
	}
	g := 0
	for _, w := range weights {
		g = gcd(g, w)
	}
	total = 0
	for i := range weights {
		weights[i] /= g
		total += weights[i]
	}
	if total > 4096 {
		total = 0
		maxW := slices.Max(weights)
		for i := range weights {
			weights[i] = max(1, weights[i]*(4096/len(weights))/maxW)
			total += weights[i]
		}
	}
	current := make([]int, len(weights))
	out := make([]int, 0, total)
	for len(out) < total {
		best := 0
		for i, w := range weights {
			current[i] += w
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		out = append(out, best)
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

type ringPoint struct {
	hash uint64
	ep   int
}

// buildRing places 160 points per unit of weight (scaled to at most
// 40000 points in all) on the consistent-hash ring.
func buildRing(eps []*endpoint) []ringPoint {
	total := 0
	for _, e := range eps {
		total += e.weight
	}
	per := 160
	if total*per > 40000 {
		per = max(1, 40000/total)
	}
	var ring []ringPoint
	for i, e := range eps {
		for v := 0; v < e.weight*per; v++ {
			ring = append(ring, ringPoint{hash: hash64(e.raw + "#" + strconv.Itoa(v)), ep: i})
		}
	}
	slices.SortFunc(ring, func(a, b ringPoint) int {
		if a.hash < b.hash {
			return -1
		}
		if a.hash > b.hash {
			return 1
		}
		return a.ep - b.ep
	})
	return ring
}

func (p *pool) ringPick(h uint64, ok func(int) bool) int {
	n := len(p.ring)
	start, _ := slices.BinarySearchFunc(p.ring, h, func(pt ringPoint, h uint64) int {
		if pt.hash < h {
			return -1
		}
		if pt.hash > h {
			return 1
		}
		return 0
	})
	for k := 0; k < n; k++ {
		if i := p.ring[(start+k)%n].ep; ok(i) {
			return i
		}
	}
	return -1
}

// hash64 is FNV-1a, stable across processes so that several gateway
// instances send one key to the same endpoint.
func hash64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	// Finalize (murmur3 fmix64) to spread similar keys over the ring.
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
