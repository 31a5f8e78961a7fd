package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// The CORS headers, in canonical form.
const (
	hOrigin         = "Origin"
	hVary           = "Vary"
	hReqMethod      = "Access-Control-Request-Method"
	hReqHeaders     = "Access-Control-Request-Headers"
	hAllowOrigin    = "Access-Control-Allow-Origin"
	hAllowCreds     = "Access-Control-Allow-Credentials"
	hAllowMethods   = "Access-Control-Allow-Methods"
	hAllowHeaders   = "Access-Control-Allow-Headers"
	hExposeHeaders  = "Access-Control-Expose-Headers"
	hMaxAge         = "Access-Control-Max-Age"
	preflightVary   = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
	codeCORSRefused = "cors_preflight_refused"
)

// responseHeaders are the CORS headers of a response; the plugin owns them.
var responseHeaders = []string{hAllowOrigin, hAllowCreds, hAllowMethods, hAllowHeaders, hExposeHeaders, hMaxAge}

// instance is one configured cors. It is immutable after New and safe for
// concurrent use.
type instance struct {
	log         *slog.Logger
	anyOrigin   bool
	exact       map[string]bool // lowercased scheme://host[:port]
	patterns    []originPattern
	anyMethod   bool
	methods     map[string]bool
	methodsList string
	anyHeader   bool
	headers     map[string]bool // lowercased
	headersList string
	expose      string
	creds       bool
	maxAge      string // "" to leave the header out
}

func newInstance(c *config, log *slog.Logger) *instance {
	in := &instance{log: log, exact: map[string]bool{}, methods: map[string]bool{}, headers: map[string]bool{},
		creds: c.AllowCredentials, expose: strings.Join(c.ExposeHeaders, ", "), maxAge: strconv.Itoa(*c.MaxAge)}
	for _, o := range c.AllowOrigins {
		if o == "*" {
			in.anyOrigin = true
			continue
		}
		p, _ := compilePattern(o) // validated
		if !p.wild && p.scheme != "" {
			in.exact[p.scheme+"://"+joinHostPort(p.host, p.port)] = true
			continue
		}
		in.patterns = append(in.patterns, p)
	}
	var methods []string
	for _, m := range c.AllowMethods {
		if m == "*" {
			in.anyMethod = true
			continue
		}
		in.methods[strings.ToUpper(m)] = true
		methods = append(methods, strings.ToUpper(m))
	}
	in.methodsList = strings.Join(methods, ", ")
	var headers []string
	for _, h := range c.AllowHeaders {
		if h == "*" {
			in.anyHeader = true
			continue
		}
		in.headers[strings.ToLower(h)] = true
		headers = append(headers, h)
	}
	in.headersList = strings.Join(headers, ", ")
	return in
}

func joinHostPort(host, port string) string {
	if port == "" {
		return host
	}
	return host + ":" + port
}

// allowed reports whether the Origin header value o may call.
func (in *instance) allowed(o string) bool {
	if in.anyOrigin {
		return true
	}
	if in.exact[strings.ToLower(o)] {
		return true
	}
	if len(in.patterns) == 0 {
		return false
	}
	po, ok := parseOrigin(o)
	if !ok {
		return false
	}
	for _, p := range in.patterns {
		if p.matches(po) {
			return true
		}
	}
	return false
}

// allowOriginValue is the Access-Control-Allow-Origin of an allowed origin.
func (in *instance) allowOriginValue(o string) string {
	if in.anyOrigin {
		return "*" // never with credentials: the config refuses it
	}
	return o
}

// Handler implements pluginapi.Instance.
func (in *instance) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := r.Header.Get(hOrigin)
		if o == "" {
			if !in.anyOrigin {
				// The answer depends on Origin: caches must not give this
				// response to a cross-origin request.
				addVary(w.Header(), hOrigin)
			}
			next.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodOptions && r.Header.Get(hReqMethod) != "" {
			in.preflight(w, r, o)
			return
		}
		cw := &corsWriter{ResponseWriter: w, in: in, origin: o, allowed: in.allowed(o)}
		next.ServeHTTP(cw, r)
		// A handler that wrote nothing still answers 200 with its headers.
		cw.apply()
	})
}

// preflight answers an OPTIONS preflight without calling the rest of the
// chain.
func (in *instance) preflight(w http.ResponseWriter, r *http.Request, o string) {
	h := w.Header()
	h.Set(hVary, preflightVary)
	if !in.allowed(o) {
		in.refuse(w, fmt.Sprintf("origin %q is not allowed to call this API", o))
		return
	}
	method := r.Header.Get(hReqMethod)
	if !in.anyMethod && !in.methods[strings.ToUpper(method)] {
		in.refuse(w, fmt.Sprintf("method %s is not allowed from other origins; allowed: %s", method, in.methodsList))
		return
	}
	requested := requestedHeaders(r.Header.Values(hReqHeaders))
	if !in.anyHeader {
		for _, name := range requested {
			if !in.headers[name] {
				in.refuse(w, fmt.Sprintf("request header %q is not allowed from other origins; allowed: %s", name, in.headersList))
				return
			}
		}
	}
	h.Set(hAllowOrigin, in.allowOriginValue(o))
	if in.creds {
		h.Set(hAllowCreds, "true")
	}
	if in.anyMethod {
		h.Set(hAllowMethods, strings.ToUpper(method))
	} else {
		h.Set(hAllowMethods, in.methodsList)
	}
	switch {
	case in.anyHeader && len(requested) > 0:
		// Echo what was asked for: a literal "*" means nothing to a
		// browser sending credentials.
		h.Set(hAllowHeaders, strings.Join(requested, ", "))
	case !in.anyHeader && in.headersList != "":
		h.Set(hAllowHeaders, in.headersList)
	}
	h.Set(hMaxAge, in.maxAge)
	w.WriteHeader(http.StatusNoContent)
}

// requestedHeaders splits Access-Control-Request-Headers into lowercased
// names.
func requestedHeaders(values []string) []string {
	var out []string
	for _, v := range values {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name != "" && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}

// refuse answers a refused preflight: 403 with no CORS headers.
func (in *instance) refuse(w http.ResponseWriter, message string) {
	in.log.Debug("cors preflight refused", "reason", message)
	pluginapi.WriteError(w, http.StatusForbidden, codeCORSRefused, message)
}

// Close implements pluginapi.Instance; cors holds nothing to release.
func (in *instance) Close() error { return nil }

// corsWriter sets the CORS headers of a response when its header is
// written, replacing any the upstream sent.
type corsWriter struct {
	http.ResponseWriter
	in      *instance
	origin  string
	allowed bool
	done    bool
}

func (cw *corsWriter) apply() {
	if cw.done {
		return
	}
	cw.done = true
	h := cw.ResponseWriter.Header()
	for _, k := range responseHeaders {
		delete(h, k)
	}
	if !cw.in.anyOrigin {
		addVary(h, hOrigin)
	}
	if !cw.allowed {
		return
	}
	h.Set(hAllowOrigin, cw.in.allowOriginValue(cw.origin))
	if cw.in.creds {
		h.Set(hAllowCreds, "true")
	}
	if cw.in.expose != "" {
		h.Set(hExposeHeaders, cw.in.expose)
	}
}

// WriteHeader implements http.ResponseWriter. Informational (1xx)
// responses go out as they are; the final one carries the CORS headers.
func (cw *corsWriter) WriteHeader(code int) {
	if code >= http.StatusOK || code == http.StatusSwitchingProtocols {
		cw.apply()
	}
	cw.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (cw *corsWriter) Write(b []byte) (int, error) {
	cw.apply()
	return cw.ResponseWriter.Write(b)
}

// Flush sends what was written so far (server-sent events stream through).
func (cw *corsWriter) Flush() {
	cw.apply()
	_ = http.NewResponseController(cw.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection (hijacking for
// WebSocket upgrades, deadlines).
func (cw *corsWriter) Unwrap() http.ResponseWriter { return cw.ResponseWriter }

// addVary adds name to the Vary header unless it is there already.
func addVary(h http.Header, name string) {
	for _, v := range h.Values(hVary) {
		for part := range strings.SplitSeq(v, ",") {
			p := strings.TrimSpace(part)
			if p == "*" || strings.EqualFold(p, name) {
				return
			}
		}
	}
	h.Add(hVary, name)
}

var (
	_ pluginapi.Plugin   = corsPlugin{}
	_ pluginapi.Instance = (*instance)(nil)
	_ http.Flusher       = (*corsWriter)(nil)
)
