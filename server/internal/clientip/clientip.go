// Package clientip finds the address of the client behind a request: the
// connection's peer, unless that peer is a trusted proxy, in which case the
// proxy's X-Forwarded-For (or X-Real-IP) is believed, hop by hop, up to the
// first address that is not itself a trusted proxy. Headers sent by anyone
// else are ignored, so a client cannot choose its own address.
package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver resolves client addresses. The zero value trusts no proxy. It is
// immutable and safe for concurrent use.
type Resolver struct {
	trusted []netip.Prefix
}

// Parse reads a comma-separated list of CIDRs or single addresses (such as
// "10.0.0.0/8, 192.168.1.7, fd00::/8") into a Resolver that trusts them.
// An empty list trusts no proxy. Every invalid entry is reported.
func Parse(list string) (Resolver, error) {
	var r Resolver
	var bad []string
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			r.trusted = append(r.trusted, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(f); err == nil {
			a = a.Unmap()
			r.trusted = append(r.trusted, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		bad = append(bad, fmt.Sprintf("%q", f))
	}
	if bad != nil {
		return Resolver{}, fmt.Errorf("%s: not an IP address or CIDR; use a comma-separated list such as 10.0.0.0/8,192.168.1.7", strings.Join(bad, ", "))
	}
	return r, nil
}

// Trusts reports whether addr is a trusted proxy.
func (r Resolver) Trusts(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range r.trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Empty reports whether no proxy is trusted.
func (r Resolver) Empty() bool { return len(r.trusted) == 0 }

// Peer returns the address of the connection's peer (RemoteAddr without
// the port).
func Peer(req *http.Request) string {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return req.RemoteAddr
	}
	return host
}

// ClientIP returns the client's address: the peer's, or when the peer is
// a trusted proxy, the last address of X-Forwarded-For that is not a
// trusted proxy (X-Real-IP when there is no X-Forwarded-For).
func (r Resolver) ClientIP(req *http.Request) string {
	return r.ClientIPOf(Peer(req), req.Header.Values("X-Forwarded-For"), req.Header.Get("X-Real-Ip"))
}

// ClientIPOf is ClientIP for a request whose peer address (without the
// port) is peer, with the X-Forwarded-For values xff and the first
// X-Real-IP value realIP.
func (r Resolver) ClientIPOf(peer string, xff []string, realIP string) string {
	if len(r.trusted) == 0 {
		return peer
	}
	pa, err := netip.ParseAddr(peer)
	if err != nil || !r.Trusts(pa) {
		return peer
	}
	if len(xff) == 0 {
		if v, err := netip.ParseAddr(strings.TrimSpace(realIP)); err == nil {
			return v.Unmap().String()
		}
		return peer
	}
	// Walk from the nearest hop back; each trusted proxy vouches for the
	// one before it.
	client := peer
	for i := len(xff) - 1; i >= 0; i-- {
		hops := strings.Split(xff[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[j]))
			if err != nil {
				// Garbage in the chain: stop at the last address vouched for.
				return client
			}
			client = a.Unmap().String()
			if !r.Trusts(a) {
				return client
			}
		}
	}
	return client
}

// FromTrustedProxy reports whether the request came straight from a
// trusted proxy, whose forwarding headers may be passed on.
func (r Resolver) FromTrustedProxy(req *http.Request) bool {
	if len(r.trusted) == 0 {
		return false
	}
	pa, err := netip.ParseAddr(Peer(req))
	return err == nil && r.Trusts(pa)
}
