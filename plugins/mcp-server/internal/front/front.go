// Package front is the front door of an MCP server: it checks the Host and
// Origin of a request, who sends it (auth), the size of its body, and routes
// it to a transport (Streamable HTTP, legacy SSE and its message endpoint).
// It also holds what every room of the plugin says to clients the same way:
// JSON-RPC error answers, the headers the plugin sets and reads, and the
// identity authentication found.
package front

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Headers the plugin reads or sets.
const (
	// SessionIDHeader carries a Streamable HTTP session id.
	SessionIDHeader = "Mcp-Session-Id"
	// ProtocolVersionHeader carries the protocol version of a request.
	ProtocolVersionHeader = "Mcp-Protocol-Version"
	// AllowToolsHeader narrows the tools a request (or, on the request that
	// creates a session, the whole session) may list and call: a
	// comma-separated list of tool names.
	AllowToolsHeader = "X-Gatehouse-Allow-Tools"
	// PeerHeader carries the client's address to tool handlers; the front
	// sets it on the requests of servers whose tools read it (Door.Peer),
	// removes a client's from every request, and tools never send it
	// upstream.
	PeerHeader = "X-Gatehouse-Peer-Addr"
	// ReplayHeader marks the messages a session rebuild replays to the SDK
	// handler. The front removes it from client requests.
	ReplayHeader = "X-Gatehouse-Replay"
)

// StatelessVersion is the first protocol version without sessions.
const StatelessVersion = "2026-07-28"

// JSON-RPC error codes: the standard ones and those the plugin adds.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
	CodeUnavailable    = -32001 // a store or upstream is unavailable
	CodeForbidden      = -32003
	CodeNotFound       = -32004 // session not found
	CodeRateLimited    = -32029
)

// WriteError writes a JSON-RPC error response with an HTTP status.
func WriteError(w http.ResponseWriter, status int, id json.RawMessage, code int, msg string) {
	if id == nil {
		id = json.RawMessage("null")
	}
	body, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}{JSONRPC: "2.0", ID: id, Error: struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, msg}})
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Identity is who sent a request, as authentication found.
type Identity struct {
	// Consumer is the consumer's name; empty for anonymous clients.
	Consumer string
}

type identityKey struct{}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityFrom returns the identity ctx carries (anonymous if none).
func IdentityFrom(ctx context.Context) Identity {
	id, _ := ctx.Value(identityKey{}).(Identity)
	return id
}

// ReadBody reads a request body within max bytes, answering 413 or 400
// itself when it fails.
func ReadBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, bool) {
	body, err := ReadAll(http.MaxBytesReader(w, r.Body, max), r.ContentLength)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			WriteError(w, http.StatusRequestEntityTooLarge, nil, CodeInvalidRequest,
				fmt.Sprintf("request body exceeds %d bytes", mbe.Limit))
			return nil, false
		}
		WriteError(w, http.StatusBadRequest, nil, CodeParseError, "cannot read request body: "+err.Error())
		return nil, false
	}
	return body, true
}

// ReadAll reads r to its end, as io.ReadAll does, into a buffer sized for
// the size bytes a request declares (its ContentLength; -1 when unknown):
// a message of a few hundred bytes takes that and no more. The declared
// size is trusted up to 4 KiB, so that a client who declares more and
// sends nothing holds no more memory than one who sends it.
func ReadAll(r io.Reader, size int64) ([]byte, error) {
	n := int64(512)
	if size >= 0 && size < 4<<10 {
		n = size + 1 // room for the read that finds the end
	}
	b := make([]byte, 0, n)
	for {
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// IsJSONContent reports whether r's body is declared as JSON.
func IsJSONContent(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "application/json" {
		return true // the usual value, without parsing it
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// Accepts reports whether the Accept header allows JSON and SSE.
func Accepts(r *http.Request) (jsonOK, sseOK bool) {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			base, _, _ := strings.Cut(part, ";")
			switch strings.ToLower(strings.TrimSpace(base)) {
			case "application/json", "application/*":
				jsonOK = true
			case "text/event-stream", "text/*":
				sseOK = true
			case "*/*":
				jsonOK, sseOK = true, true
			}
		}
	}
	return jsonOK, sseOK
}

// ClientAddress is the peer's IP address. Headers such as X-Forwarded-For
// are not read: a client could name any address in them.
func ClientAddress(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// IsReplay reports whether a message was replayed by a session rebuild
// rather than sent by the client now: it has no side effects beyond the
// SDK's state.
func IsReplay(req mcp.Request) bool {
	e := req.GetExtra()
	return e != nil && e.Header != nil && e.Header.Get(ReplayHeader) != ""
}
