package front

import (
	"fmt"
	"net/http"
)

// Door routes the requests of one MCP server to its transports, after the
// checks every transport shares: the server is open, Host and Origin are
// allowed, and the client is authenticated. The handlers get the request
// with the client's Identity in its context (none for an anonymous client)
// and, when Peer, PeerHeader set (never a client's own).
type Door struct {
	// Name is the server's name, for messages.
	Name string
	// Path, SSEPath and MessagePath are the server's endpoints.
	Path, SSEPath, MessagePath string
	// Domains are the hosts the server answers besides loopback.
	Domains []string
	// Enabled is false for a server switched off.
	Enabled bool
	// Peer is whether the handlers read the client's address from
	// PeerHeader (a tool's templates do). Setting a header grows the
	// request's header map: servers that never read it are spared.
	Peer bool
	Auth *Authenticator
	// Streamable, SSE and Message serve the transports' endpoints.
	Streamable, SSE, Message http.HandlerFunc
	// Closed reports that the instance stopped; Draining that it is
	// shutting down (new streams are refused).
	Closed, Draining func() bool
}

// Serve serves r when its path is one of the server's, and passes it to
// next (404 when nil) otherwise.
func (d *Door) Serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	p := r.URL.Path
	if d.Auth.IsMetadataPath(p) {
		d.Auth.ServeMetadata(w, r)
		return
	}
	var route http.HandlerFunc
	switch {
	case p == d.SSEPath:
		route = d.SSE
	case p == d.MessagePath:
		route = d.Message
	case p == d.Path || p == d.Path+"/":
		route = d.Streamable
	default:
		if next != nil {
			next.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
		return
	}
	if d.Closed() {
		WriteError(w, http.StatusServiceUnavailable, nil, CodeUnavailable,
			fmt.Sprintf("MCP server %q is being reconfigured or stopped; retry", d.Name))
		return
	}
	if r.Method == http.MethodGet && d.Draining() && (p == d.SSEPath || r.Header.Get(ProtocolVersionHeader) < StatelessVersion) {
		// A stream opened now would end at once: send the client elsewhere.
		WriteError(w, http.StatusServiceUnavailable, nil, CodeUnavailable,
			fmt.Sprintf("MCP server %q on this gateway instance is shutting down; retry to reach another instance", d.Name))
		return
	}
	if !d.Enabled {
		WriteError(w, http.StatusServiceUnavailable, nil, CodeUnavailable,
			fmt.Sprintf("MCP server %q is disabled; enable it in the console or with enabled: true", d.Name))
		return
	}
	if err := CheckHostAndOrigin(r, d.Domains); err != nil {
		WriteError(w, http.StatusForbidden, nil, CodeForbidden, err.Error())
		return
	}
	id, ok := d.Auth.Authenticate(w, r)
	if !ok {
		return
	}
	// The peer address reaches tools (getRealIP) through the header the SDK
	// hands them; a client cannot set it.
	r.Header.Del(ReplayHeader)
	if d.Peer {
		r.Header.Set(PeerHeader, r.RemoteAddr)
	} else {
		r.Header.Del(PeerHeader)
	}
	if id != (Identity{}) {
		// Anonymous is what IdentityFrom answers without one: no copy of
		// the request for it.
		r = r.WithContext(WithIdentity(r.Context(), id))
	}
	route(w, r)
}
