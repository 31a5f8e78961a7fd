package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// fixHTTPSPin is what to do when an https:// download is not the pinned
// artifact.
const fixHTTPSPin = "the file at the URL is not the artifact the address pins: " +
	"ask its publisher which file is right; change the #sha256= pin only if you trust the new file"

// resolveHTTPS downloads an https:// artifact into the cache unless the
// cache holds its pinned digest already.
func (r *Resolver) resolveHTTPS(ctx context.Context, a ImageAddress) (Resolved, error) {
	fail := func(actual, fix string, err error) (Resolved, error) {
		return Resolved{}, &ResolveError{Address: a.Raw, Step: StepResolve, Actual: actual, Fix: fix, Err: err}
	}
	if a.SHA256 == "" {
		return fail("no #sha256= pin", "append the artifact's digest to the address: #sha256=<64 hex digits>", nil)
	}
	path := r.artifactPath(a.SHA256)
	if r.cached(path, a.SHA256) {
		return Resolved{Path: path, SHA256: a.SHA256}, nil
	}

	// The query may hold a signed URL's token: messages and logs show the
	// URL without it.
	shown := a.URL
	if u, err := url.Parse(a.URL); err == nil && u.RawQuery != "" {
		u.RawQuery = "…"
		shown = u.String()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL, nil)
	if err != nil {
		return fail(err.Error(), fixAddress, err)
	}
	req.Header.Set("User-Agent", "gatehouse-plugin-resolver")
	client := *r.httpClient()
	client.CheckRedirect = httpsRedirectsOnly(client.CheckRedirect)
	resp, err := client.Do(req)
	if err != nil {
		return fail("GET "+shown+": "+errorWithoutURL(err),
			"check that the host is reachable from this machine (DNS, proxy, firewall, TLS certificate), "+
				"or copy the artifact here and use its file:// address with the same #sha256= pin", err)
	}
	defer resp.Body.Close() //nolint:errcheck // read-only body
	if resp.StatusCode != http.StatusOK {
		return fail(fmt.Sprintf("GET %s: status %s", shown, resp.Status),
			"check the URL in the image address: it must answer 200 with the .so file itself", nil)
	}
	if resp.ContentLength > r.maxSize() {
		return fail(fmt.Sprintf("GET %s: the artifact is %s, more than the limit of %s", shown, sizeText(resp.ContentLength), sizeText(r.maxSize())),
			"check that the URL names a gatehouse plugin (.so), not an archive or an image", errTooLarge)
	}

	path, err = r.store(resp.Body, a.SHA256, func(int64) error { return nil })
	var digestErr *digestError
	switch {
	case errors.As(err, &digestErr):
		return Resolved{}, &ResolveError{Address: a.Raw, Step: StepSHA256, Expected: digestErr.expected, Actual: digestErr.actual, Fix: fixHTTPSPin}
	case errors.Is(err, errTooLarge):
		return fail(fmt.Sprintf("GET %s: the artifact is larger than the limit of %s", shown, sizeText(r.maxSize())),
			"check that the URL names a gatehouse plugin (.so), not an archive or an image", err)
	case err != nil:
		return fail("GET "+shown+": "+errorWithoutURL(err), "check the connection to the host and the free space in "+r.CacheDir+", then retry", err)
	}
	r.log().Info("plugin artifact downloaded", "component", "pluginhost", "url", shown, "sha256", a.SHA256, "path", path)
	return Resolved{Path: path, SHA256: a.SHA256}, nil
}

// httpsRedirectsOnly wraps a CheckRedirect policy (nil: Go's default of at
// most 10 redirects) so that it refuses redirects away from https://.
func httpsRedirectsOnly(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" {
			return fmt.Errorf("refused redirect to %s: plugin artifacts are downloaded over https only", req.URL.Redacted())
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// errorWithoutURL returns the message of a client error without the
// request URL that *url.Error repeats (and that may hold a token).
func errorWithoutURL(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
