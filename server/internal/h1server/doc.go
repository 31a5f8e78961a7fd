// Package h1server is the gateway listener's engine for plain HTTP/1.1: one
// goroutine per connection, requests read into reused buffers, responses
// written with vectored writes. Anything it does not handle (TLS, HTTP/2,
// upgrades, Expect: 100-continue, unusual framing) is handed, with the bytes
// already read, to net/http's server on the same port.
package h1server

// Engine names the gateway listener implementation.
type Engine string

const (
	// Std serves every connection with net/http.
	Std Engine = "std"
	// Fast serves plain HTTP/1.1 with this package and hands the rest to net/http.
	Fast Engine = "fast"
)

// ParseEngine validates a GATEHOUSE_GATEWAY_ENGINE value.
func ParseEngine(s string) (Engine, bool) {
	switch Engine(s) {
	case Std, "":
		return Std, true
	case Fast:
		return Fast, true
	}
	return "", false
}
