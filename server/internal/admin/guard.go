package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// maxBodyBytes bounds every admin request body; larger ones get 413.
const maxBodyBytes = maxDefinitionBytes

// yamlPaths are the endpoints documented to take YAML as well as JSON.
var yamlPaths = []string{"/api/v1/mcp-servers"}

// guardWrites protects every state-changing request of the admin API:
//
//   - a body must be declared application/json (or YAML where documented):
//     a browser can send text/plain across origins without asking, so a
//     body of any other type is refused with 415 rather than parsed;
//   - a JSON body must be one value of valid UTF-8 without duplicate keys,
//     and at most maxBodyBytes (413 beyond);
//   - a request that does not carry a Bearer token (so that a browser may
//     have added the session cookie by itself) must prove that it comes
//     from the console's own origin: Sec-Fetch-Site: same-origin, or an
//     Origin whose host is the console's. SameSite=Strict cookies do not
//     separate ports or sibling subdomains, which count as "same site".
//     Clients that send neither header and no cookie (curl logging in) pass.
func (s *Server) guardWrites(c *gin.Context) {
	r := c.Request
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		c.Next()
		return
	}
	if err := s.checkOrigin(c); err != nil {
		s.fail(c, err)
		return
	}
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		c.Next()
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mt = ""
	}
	isJSON := mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
	isYAML := false
	switch mt {
	case "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml":
		for _, p := range yamlPaths {
			if r.URL.Path == p || strings.HasPrefix(r.URL.Path, p+"/") {
				isYAML = true
			}
		}
	}
	if !isJSON && !isYAML {
		got := r.Header.Get("Content-Type")
		if got == "" {
			got = "none"
		}
		s.fail(c, newError(http.StatusUnsupportedMediaType, "unsupported_media_type",
			fmt.Sprintf("the request body must be sent with Content-Type: application/json (application/yaml for MCP server definitions); got %s", capString(got, 100))))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		s.fail(c, newError(http.StatusBadRequest, "invalid_body", "cannot read the request body: "+err.Error()))
		return
	}
	if len(body) > maxBodyBytes {
		s.fail(c, tooLarge())
		return
	}
	if isJSON {
		if err := checkJSON(body); err != nil {
			s.fail(c, newError(http.StatusBadRequest, "invalid_body", "the request body is not acceptable JSON: "+err.Error()))
			return
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	c.Next()
}

func tooLarge() error {
	return newError(http.StatusRequestEntityTooLarge, "body_too_large",
		fmt.Sprintf("the request body is larger than %d MiB; send a smaller one", maxBodyBytes>>20))
}

// checkOrigin refuses cookie-authenticated writes that a page of another
// origin may have sent.
func (s *Server) checkOrigin(c *gin.Context) error {
	r := c.Request
	if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		return nil
	}
	refuse := func(why string) error {
		return newError(http.StatusForbidden, "cross_origin_refused",
			"this change was refused: "+why+"; the console must be used from its own address, and API clients send 'Authorization: Bearer <token>'")
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		if site != "same-origin" {
			return refuse("the browser reports the request comes from a " + capString(site, 20) + " page")
		}
		return nil
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || u.Host == "" || !s.isOwnHost(c, u.Host) {
			return refuse(fmt.Sprintf("the request comes from origin %q, not the console's", capString(origin, 100)))
		}
		return nil
	}
	if _, err := r.Cookie(CookieName); err == nil {
		return refuse("a request authenticated by the session cookie must come from a browser page of the console (Origin or Sec-Fetch-Site)")
	}
	return nil
}

// isOwnHost reports whether host (host[:port] of an Origin) is the
// console's own: the request's Host, or the host a trusted proxy forwarded.
func (s *Server) isOwnHost(c *gin.Context, host string) bool {
	if strings.EqualFold(host, c.Request.Host) {
		return true
	}
	if s.opts.ClientIP.FromTrustedProxy(c.Request) {
		for _, fh := range strings.Split(c.Request.Header.Get("X-Forwarded-Host"), ",") {
			if fh = strings.TrimSpace(fh); fh != "" && strings.EqualFold(host, fh) {
				return true
			}
		}
	}
	return false
}

// checkJSON refuses what encoding/json would accept silently: invalid
// UTF-8 (replaced by U+FFFD), duplicate keys (the last one wins) and data
// after the value.
func checkJSON(data []byte) error {
	if !utf8.Valid(data) {
		return errors.New("it is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walkJSON(dec, "", 0); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("there is more data after the JSON value (at byte %d); send exactly one value", dec.InputOffset())
	}
	return nil
}

// maxJSONDepth bounds the nesting of a request body.
const maxJSONDepth = 200

// walkJSON reads one value, refusing duplicate keys in its objects.
func walkJSON(dec *json.Decoder, path string, depth int) error {
	if depth > maxJSONDepth {
		return fmt.Errorf("it nests deeper than %d levels", maxJSONDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return syntaxError(err)
			}
			k, _ := kt.(string)
			field := k
			if path != "" {
				field = path + "." + k
			}
			if seen[k] {
				return fmt.Errorf("the key %q appears twice; send each key once", capString(field, 200))
			}
			seen[k] = true
			if err := walkJSON(dec, field, depth+1); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if err := walkJSON(dec, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return syntaxError(err)
	}
	return nil
}

func syntaxError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("it ends before the JSON value is complete")
	}
	return err
}

// capString shortens s for an error message or a log line.
func capString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("…(%d bytes truncated)", len(s)-cut)
}
