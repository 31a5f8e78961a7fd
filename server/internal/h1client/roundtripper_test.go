package h1client

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// upstream is a test server that records the client address of every
// request it serves.
type upstream struct {
	*httptest.Server
	mu    sync.Mutex
	peers map[string]int
}

func newUpstream(t *testing.T, h http.HandlerFunc) *upstream {
	u := &upstream{peers: map[string]int{}}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.peers[r.RemoteAddr]++
		u.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) connections() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.peers)
}

func newTestClient(proxy func(*http.Request) (*url.URL, error), timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: time.Second}
	return NewClient(&http.Transport{Proxy: proxy, DialContext: d.DialContext}, timeout)
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

// A plugin's calls to a plain-http API get the same answers as through
// net/http and share one keep-alive connection.
func TestClientAnswersAndReusesOneConnection(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Method", r.Method)
			_, _ = w.Write(b)
		case "/chunked":
			_, _ = io.WriteString(w, "one,")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "two")
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		default:
			_, _ = io.WriteString(w, "q="+r.URL.RawQuery)
		}
	})
	c := newTestClient(http.ProxyFromEnvironment, 5*time.Second)
	for range 5 {
		res, err := c.Get(up.URL + "/get?city=Paris")
		require.NoError(t, err)
		require.Equal(t, "q=city=Paris", body(t, res))

		res, err = c.Post(up.URL+"/echo", "application/json", strings.NewReader(`{"a":1}`))
		require.NoError(t, err)
		require.Equal(t, "POST", res.Header.Get("X-Method"))
		require.Equal(t, `{"a":1}`, body(t, res))

		res, err = c.Get(up.URL + "/chunked")
		require.NoError(t, err)
		require.Equal(t, "one,two", body(t, res))

		res, err = c.Get(up.URL + "/empty")
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, res.StatusCode)
		require.Empty(t, body(t, res))

		res, err = c.Head(up.URL + "/get")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Empty(t, body(t, res))
	}
	require.Equal(t, 1, up.connections(), "sequential calls share one upstream connection")
}

// A configured proxy (HTTP_PROXY) is honoured: the call goes to the proxy,
// not straight to the destination.
func TestClientHonoursTheProxy(t *testing.T) {
	direct := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "direct") })
	var asked string
	proxy := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		asked = r.RequestURI
		_, _ = io.WriteString(w, "via proxy")
	})
	proxyURL, _ := url.Parse(proxy.URL)
	c := newTestClient(http.ProxyURL(proxyURL), 5*time.Second)
	res, err := c.Get(direct.URL + "/x")
	require.NoError(t, err)
	require.Equal(t, "via proxy", body(t, res))
	require.Equal(t, direct.URL+"/x", asked)
	require.Zero(t, direct.connections())
}

// A body larger than MaxBody, or of unknown length, is sent whole (by
// net/http's transport).
func TestClientSendsLargeAndStreamedBodies(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "OK:"+strconv.FormatInt(n, 10))
	})
	c := newTestClient(nil, 5*time.Second)
	big := strings.Repeat("x", MaxBody+1)
	res, err := c.Post(up.URL, "text/plain", strings.NewReader(big))
	require.NoError(t, err)
	require.Equal(t, "OK:"+strconv.Itoa(len(big)), body(t, res))

	pr, pw := io.Pipe()
	go func() { _, _ = io.WriteString(pw, "streamed"); _ = pw.Close() }()
	res, err = c.Post(up.URL, "text/plain", pr)
	require.NoError(t, err)
	require.Equal(t, "OK:8", body(t, res))
}

// The client's timeout and a cancelled context both end a call to an
// upstream that never answers.
func TestClientTimeoutAndCancellation(t *testing.T) {
	release := make(chan struct{})
	up := newUpstream(t, func(http.ResponseWriter, *http.Request) { <-release })
	defer close(release)

	c := newTestClient(nil, 200*time.Millisecond)
	start := time.Now()
	_, err := c.Get(up.URL)
	require.Error(t, err)
	require.Less(t, time.Since(start), 3*time.Second)

	c = newTestClient(nil, 0)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, up.URL, nil)
	start = time.Now()
	_, err = c.Do(req)
	require.ErrorIs(t, err, context.Canceled)
	require.Less(t, time.Since(start), 3*time.Second)
}

// A connection that idled past the header timeout after an answer read
// whole (whose deadline the exchange left in place) is still reused.
func TestConnectionIdleLongerThanTheTimeoutIsReused(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	d := &net.Dialer{Timeout: time.Second}
	tr := New(d.DialContext, 100*time.Millisecond)
	t.Cleanup(tr.Close)
	addr := strings.TrimPrefix(u.URL, "http://")
	for i := range 2 {
		if i > 0 {
			time.Sleep(400 * time.Millisecond) // past the timeout and CheckIdleAfter
		}
		req, err := http.NewRequest(http.MethodGet, u.URL+"/", nil)
		require.NoError(t, err)
		res, err := tr.Send(req, addr)
		require.NoError(t, err)
		require.Equal(t, "ok", body(t, res))
	}
	require.Equal(t, 1, u.connections(), "one connection for both requests")
}
