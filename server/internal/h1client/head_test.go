package h1client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// trackedBody is a request body that records its Close and can fail a
// Read after its data, or its Close.
type trackedBody struct {
	r        io.Reader
	readErr  error
	closeErr error
	closed   int
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF && b.readErr != nil {
		err = b.readErr
	}
	return n, err
}

func (b *trackedBody) Close() error {
	b.closed++
	return b.closeErr
}

func newReq(t testing.TB, method, target string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, target, nil)
	require.NoError(t, err)
	return req
}

func withBody(req *http.Request, data string, length int64) *http.Request {
	req.Body = &trackedBody{r: strings.NewReader(data)}
	req.ContentLength = length
	return req
}

// requireSameAsWrite checks that appendRequest writes req's twin exactly
// as req.Write writes req (same bytes, same error), or leaves it to
// req.Write (ok false, nothing written, body untouched); it returns ok.
func requireSameAsWrite(t testing.TB, mk func() *http.Request) bool {
	t.Helper()
	want := mk()
	var wantBuf bytes.Buffer
	wantErr := want.Write(&wantBuf)

	got := mk()
	var buf bytes.Buffer
	ok, err := appendRequest(&buf, got)
	if !ok {
		require.NoError(t, err)
		require.Zero(t, buf.Len(), "nothing written on fallback")
		if b, isTracked := got.Body.(*trackedBody); isTracked {
			require.Zero(t, b.closed, "body left for req.Write on fallback")
		}
		return false
	}
	if wantErr != nil {
		require.EqualError(t, err, wantErr.Error())
	} else {
		require.NoError(t, err)
		require.Equal(t, wantBuf.String(), buf.String())
	}
	if b, isTracked := got.Body.(*trackedBody); isTracked {
		require.Equal(t, 1, b.closed, "body closed once, as req.Write does")
	}
	return true
}

func TestAppendRequestWritesWhatRequestWriteWrites(t *testing.T) {
	longHeader := func(n int) func(*http.Request) {
		return func(r *http.Request) {
			for i := range n {
				r.Header.Set(fmt.Sprintf("X-H%02d", i), "v")
			}
		}
	}
	tests := []struct {
		name     string
		method   string
		target   string
		edit     func(*http.Request)
		fallback bool
	}{
		{name: "get", method: "GET", target: "http://example.com/a/b"},
		{name: "empty method is GET", method: "GET", target: "http://example.com/", edit: func(r *http.Request) { r.Method = "" }},
		{name: "lowercase method", method: "get", target: "http://example.com/"},
		{name: "head", method: "HEAD", target: "http://example.com/x"},
		{name: "options", method: "OPTIONS", target: "http://example.com/x"},
		{name: "post without body", method: "POST", target: "http://example.com/x"},
		{name: "post NoBody", method: "POST", target: "http://example.com/x", edit: func(r *http.Request) { r.Body = http.NoBody }},
		{name: "put without body", method: "PUT", target: "http://example.com/x"},
		{name: "patch without body", method: "PATCH", target: "http://example.com/x"},
		{name: "delete without body", method: "DELETE", target: "http://example.com/x"},
		{name: "get NoBody", method: "GET", target: "http://example.com/x", edit: func(r *http.Request) { r.Body = http.NoBody }},
		{name: "post with body", method: "POST", target: "http://example.com/x", edit: func(r *http.Request) {
			withBody(r, `{"a":1}`, 7)
			r.Header.Set("Content-Type", "application/json")
		}},
		{name: "put with body", method: "PUT", target: "http://example.com/x", edit: func(r *http.Request) { withBody(r, "hello", 5) }},
		{name: "patch with body", method: "PATCH", target: "http://example.com/x", edit: func(r *http.Request) { withBody(r, "hello", 5) }},
		{name: "delete with body", method: "DELETE", target: "http://example.com/x", edit: func(r *http.Request) { withBody(r, "hello", 5) }},
		{name: "get with body", method: "GET", target: "http://example.com/x", edit: func(r *http.Request) { withBody(r, "hello", 5) }},
		{name: "body of MaxBody", method: "POST", target: "http://example.com/x", edit: func(r *http.Request) {
			withBody(r, strings.Repeat("z", MaxBody), MaxBody)
		}},
		{name: "body shorter than ContentLength", method: "POST", target: "http://example.com/x", edit: func(r *http.Request) { withBody(r, "hey", 5) }},
		{name: "empty body with ContentLength", method: "POST", target: "http://example.com/x", edit: func(r *http.Request) { withBody(r, "", 5) }},
		{name: "body longer than ContentLength", method: "POST", target: "http://example.com/x", edit: func(r *http.Request) {
			withBody(r, "hello world", 5)
		}},
		{name: "body much longer than ContentLength", method: "POST", target: "http://example.com/x", edit: func(r *http.Request) {
			withBody(r, strings.Repeat("y", 100<<10), 5)
		}},
		{name: "body read error", method: "POST", target: "http://example.com/x", edit: func(r *http.Request) {
			r.Body = &trackedBody{r: strings.NewReader("he"), readErr: errors.New("client went away")}
			r.ContentLength = 5
		}},
		{name: "body read error after its length", method: "POST", target: "http://example.com/x", edit: func(r *http.Request) {
			r.Body = &trackedBody{r: strings.NewReader("hello"), readErr: errors.New("client went away")}
			r.ContentLength = 5
		}},
		{name: "body close error", method: "POST", target: "http://example.com/x", edit: func(r *http.Request) {
			r.Body = &trackedBody{r: strings.NewReader("hello"), closeErr: errors.New("close failed")}
			r.ContentLength = 5
		}},
		{name: "close error wins over length", method: "POST", target: "http://example.com/x", edit: func(r *http.Request) {
			r.Body = &trackedBody{r: strings.NewReader("hel"), closeErr: errors.New("close failed")}
			r.ContentLength = 5
		}},
		{name: "close", method: "GET", target: "http://example.com/x", edit: func(r *http.Request) { r.Close = true }},
		{name: "close with body", method: "POST", target: "http://example.com/x", edit: func(r *http.Request) {
			r.Close = true
			withBody(r, "hello", 5)
		}},
		{name: "connection header without close", method: "GET", target: "http://example.com/x", edit: func(r *http.Request) {
			r.Header.Set("Connection", "keep-alive")
		}},
		{name: "user agent set", method: "GET", target: "http://example.com/", edit: func(r *http.Request) { r.Header.Set("User-Agent", "curl/8.0") }},
		{name: "user agent empty", method: "GET", target: "http://example.com/", edit: func(r *http.Request) { r.Header.Set("User-Agent", "") }},
		{name: "user agent no values", method: "GET", target: "http://example.com/", edit: func(r *http.Request) { r.Header["User-Agent"] = nil }},
		{name: "user agent blanks", method: "GET", target: "http://example.com/", edit: func(r *http.Request) { r.Header.Set("User-Agent", " \t ") }},
		{name: "user agent newlines", method: "GET", target: "http://example.com/", edit: func(r *http.Request) { r.Header.Set("User-Agent", " a\r\nb \n") }},
		{name: "user agent two values", method: "GET", target: "http://example.com/", edit: func(r *http.Request) { r.Header["User-Agent"] = []string{"one", "two"} }},
		{name: "user agent lowercase key", method: "GET", target: "http://example.com/", edit: func(r *http.Request) { r.Header["user-agent"] = []string{"raw"} }},
		{name: "many headers", method: "GET", target: "http://example.com/", edit: func(r *http.Request) {
			r.Header.Set("Accept", "*/*")
			r.Header.Add("X-Forwarded-For", "10.0.0.1")
			r.Header.Add("X-Forwarded-For", "10.0.0.2")
			r.Header.Set("Authorization", "Bearer abc")
			r.Header.Set("Zeta", "last")
			r.Header.Set("A", "first")
			r.Header["lower-case"] = []string{"kept as is"}
			r.Header["Empty"] = nil
			r.Header["Empty-Value"] = []string{""}
		}},
		{name: "values with CR LF and blanks", method: "GET", target: "http://example.com/", edit: func(r *http.Request) {
			r.Header["X-A"] = []string{"a\r\nb", "\r\n x \t", "\n", "a\rb\nc", "\x00nul\x7f", "caf\u00e9"}
		}},
		{name: "invalid header names dropped", method: "GET", target: "http://example.com/", edit: func(r *http.Request) {
			r.Header["Bad Name"] = []string{"x"}
			r.Header["X:y"] = []string{"x"}
			r.Header[""] = []string{"x"}
			r.Header["Caf\u00e9"] = []string{"x"}
			r.Header["X-Ok"] = []string{"y"}
		}},
		{name: "excluded header keys", method: "POST", target: "http://example.com/", edit: func(r *http.Request) {
			r.Header["Host"] = []string{"other.example"}
			r.Header["Content-Length"] = []string{"99"}
			r.Header["Transfer-Encoding"] = []string{"chunked"}
			r.Header["Trailer"] = []string{"X"}
			r.Header["content-length"] = []string{"written: not the excluded spelling"}
		}},
		{name: "query", method: "GET", target: "http://example.com/search?q=a+b&x=%20y"},
		{name: "force query", method: "GET", target: "http://example.com/search?"},
		{name: "raw query with odd bytes", method: "GET", target: "http://example.com/", edit: func(r *http.Request) { r.URL.RawQuery = "a b=\u00e9\"<>" }},
		{name: "escaped path", method: "GET", target: "http://example.com/a%2Fb/c%20d"},
		{name: "path needing escapes", method: "GET", target: "http://example.com/", edit: func(r *http.Request) { r.URL.Path = "/a b/\u00e9/?#" }},
		{name: "raw path not matching path", method: "GET", target: "http://example.com/", edit: func(r *http.Request) {
			r.URL.Path = "/a/b"
			r.URL.RawPath = "/a%2Fc"
		}},
		{name: "empty path", method: "GET", target: "http://example.com", edit: func(r *http.Request) { r.URL.Path = "" }},
		{name: "asterisk", method: "OPTIONS", target: "http://example.com", edit: func(r *http.Request) { r.URL.Path = "*" }},
		{name: "ipv6 host", method: "GET", target: "http://[::1]:8080/"},
		{name: "ipv6 host with zone", method: "GET", target: "http://[fe80::1%25en0]:8080/"},
		{name: "ipv6 host with zone no port", method: "GET", target: "http://[fe80::1%25eth0]/"},
		{name: "host with unclosed bracket", method: "GET", target: "http://example.com/", edit: func(r *http.Request) { r.Host = "[fe80::1%en0" }},
		{name: "host override", method: "GET", target: "http://10.0.0.5:8080/", edit: func(r *http.Request) { r.Host = "api.example.com" }},
		{name: "host override with zone", method: "GET", target: "http://10.0.0.5:8080/", edit: func(r *http.Request) { r.Host = "[fe80::1%lo]:1" }},
		{name: "no host", method: "GET", target: "http://example.com/", edit: func(r *http.Request) { r.URL.Host = "" }},
		{name: "32 header keys", method: "GET", target: "http://example.com/", edit: longHeader(32)},

		{name: "40 header keys", method: "GET", target: "http://example.com/", edit: longHeader(40), fallback: true},
		{name: "trace watching the write", method: "GET", target: "http://example.com/", edit: func(r *http.Request) {
			*r = *r.WithContext(httptrace.WithClientTrace(r.Context(), &httptrace.ClientTrace{WroteHeaders: func() {}}))
		}, fallback: true},
		{name: "trace watching header fields", method: "GET", target: "http://example.com/", edit: func(r *http.Request) {
			*r = *r.WithContext(httptrace.WithClientTrace(r.Context(), &httptrace.ClientTrace{WroteHeaderField: func(string, []string) {}}))
		}, fallback: true},
		{name: "trace watching the request", method: "GET", target: "http://example.com/", edit: func(r *http.Request) {
			*r = *r.WithContext(httptrace.WithClientTrace(r.Context(), &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) {}}))
		}, fallback: true},
		{name: "transfer encoding", method: "POST", target: "http://example.com/", edit: func(r *http.Request) {
			withBody(r, "hello", 5)
			r.TransferEncoding = []string{"chunked"}
		}, fallback: true},
		{name: "trailer", method: "POST", target: "http://example.com/", edit: func(r *http.Request) {
			withBody(r, "hello", 5)
			r.Trailer = http.Header{"X-Sum": nil}
		}, fallback: true},
		{name: "body of unknown length", method: "POST", target: "http://example.com/", edit: func(r *http.Request) { withBody(r, "hello", -1) }, fallback: true},
		{name: "body with zero length", method: "PUT", target: "http://example.com/", edit: func(r *http.Request) { withBody(r, "hello", 0) }, fallback: true},
		{name: "empty get body with zero length", method: "GET", target: "http://example.com/", edit: func(r *http.Request) { withBody(r, "", 0) }, fallback: true},
		{name: "body over MaxBody", method: "POST", target: "http://example.com/", edit: func(r *http.Request) {
			withBody(r, strings.Repeat("z", MaxBody+1), MaxBody+1)
		}, fallback: true},
		{name: "length without body", method: "POST", target: "http://example.com/", edit: func(r *http.Request) { r.ContentLength = 5 }, fallback: true},
		{name: "length with NoBody", method: "POST", target: "http://example.com/", edit: func(r *http.Request) {
			r.Body = http.NoBody
			r.ContentLength = 5
		}, fallback: true},
		{name: "opaque", method: "GET", target: "http://example.com/", edit: func(r *http.Request) { r.URL.Opaque = "//other/x" }, fallback: true},
		{name: "connect", method: "CONNECT", target: "http://example.com:443", fallback: true},
		{name: "method not a token", method: "GET", target: "http://example.com/", edit: func(r *http.Request) { r.Method = "GE T" }, fallback: true},
		{name: "host with space", method: "GET", target: "http://example.com/", edit: func(r *http.Request) { r.Host = "a b" }, fallback: true},
		{name: "host with slash", method: "GET", target: "http://example.com/", edit: func(r *http.Request) { r.Host = "/tmp/sock" }, fallback: true},
		{name: "non-ascii host", method: "GET", target: "http://example.com/", edit: func(r *http.Request) { r.Host = "b\u00fccher.example" }, fallback: true},
		{name: "control byte in query", method: "GET", target: "http://example.com/", edit: func(r *http.Request) { r.URL.RawQuery = "a=\r\nb" }, fallback: true},
		{name: "close with its own connection header", method: "GET", target: "http://example.com/", edit: func(r *http.Request) {
			r.Close = true
			r.Header.Set("Connection", "Close")
		}, fallback: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mk := func() *http.Request {
				r := newReq(t, tt.method, tt.target)
				if tt.edit != nil {
					tt.edit(r)
				}
				return r
			}
			if tt.fallback {
				require.False(t, requireSameAsWrite(t, mk), "must leave it to req.Write")
			} else {
				require.True(t, requireSameAsWrite(t, mk), "must write it itself")
			}
			// Whichever path, writeRequest writes what req.Write writes.
			var want, got bytes.Buffer
			wantErr := mk().Write(&want)
			err := writeRequest(&got, mk())
			if wantErr != nil {
				require.EqualError(t, err, wantErr.Error())
				return
			}
			require.NoError(t, err)
			require.Equal(t, want.String(), got.String())
		})
	}
}

// The reverse proxy always puts a trace in the request's context, for 1xx
// answers; it does not see the write, so it must not send the request
// through req.Write.
func TestAppendRequestIgnoresTraceOfResponses(t *testing.T) {
	mk := func() *http.Request {
		r := newReq(t, "GET", "http://example.com/x")
		trace := &httptrace.ClientTrace{Got1xxResponse: func(int, textproto.MIMEHeader) error { return nil }}
		return r.WithContext(httptrace.WithClientTrace(context.Background(), trace))
	}
	require.True(t, requireSameAsWrite(t, mk))
}

// appendRequest appends after what buf holds and reuses its memory.
func TestAppendRequestAppendsToBuffer(t *testing.T) {
	var buf bytes.Buffer
	buf.WriteString("previous")
	req := withBody(newReq(t, "POST", "http://example.com/x"), "hello", 5)
	ok, err := appendRequest(&buf, req)
	require.True(t, ok)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(buf.String(), "previousPOST /x HTTP/1.1\r\n"), buf.String())
	require.True(t, strings.HasSuffix(buf.String(), "\r\n\r\nhello"), buf.String())
}

func FuzzRequestHead(f *testing.F) {
	f.Add("GET", "/a/b", "", "q=1", "example.com", "Accept", "*/*", "X-Forwarded-For", "10.0.0.1", "curl/8", uint8(0), []byte(nil))
	f.Add("POST", "/a%2Fb", "/a%2Fb", "", "[fe80::1%en0]:80", "content-type", "a\r\nb", "Bad Name", " v ", "", uint8(0xff), []byte("hello"))
	f.Add("", "", "", "", "", "", "", "", "", "", uint8(0x0f), []byte("x"))
	f.Add("PUT", "/ sp", "", "a b", "h:1", "X", "\t", "x", "\n", " ", uint8(0x55), []byte("body"))
	f.Fuzz(func(t *testing.T, method, path, rawPath, rawQuery, host, k1, v1, k2, v2, ua string, flags uint8, data []byte) {
		mk := func() *http.Request {
			r := &http.Request{
				Method: method,
				URL:    &url.URL{Scheme: "http", Host: host, Path: path, RawQuery: rawQuery},
				Header: http.Header{},
				Close:  flags&1 != 0,
			}
			if flags&2 != 0 {
				r.URL.RawPath = rawPath
			}
			if flags&4 != 0 {
				r.URL.ForceQuery = true
			}
			if flags&8 != 0 {
				r.Header[k1] = []string{v1, v2}
				r.Header[k2] = append(r.Header[k2], v1)
			} else {
				r.Header.Add(k1, v1)
				r.Header.Add(k2, v2)
			}
			switch (flags >> 4) & 3 {
			case 1:
				r.Header["User-Agent"] = []string{ua}
			case 2:
				r.Header["User-Agent"] = nil
			}
			switch (flags >> 6) & 3 {
			case 1:
				r.Body = http.NoBody
			case 2:
				r.Body = &trackedBody{r: bytes.NewReader(data)}
				r.ContentLength = int64(len(data))
			case 3:
				r.Body = &trackedBody{r: bytes.NewReader(data)}
				r.ContentLength = int64(len(data)) + int64(len(ua)%3) - 1
			}
			return r
		}
		requireSameAsWrite(t, mk)
	})
}

// proxiedGet is a request as the gateway's proxy sends one upstream.
func proxiedGet(t testing.TB) *http.Request {
	req := newReq(t, "GET", "http://10.0.0.7:8080/api/v1/orders/42?expand=items&limit=20")
	req.Header = http.Header{
		"Accept":            {"application/json"},
		"Accept-Encoding":   {"gzip, deflate, br"},
		"Accept-Language":   {"en-US,en;q=0.9"},
		"Authorization":     {"Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc"},
		"Cookie":            {"session=abcdef0123456789"},
		"User-Agent":        {"Mozilla/5.0 (X11; Linux x86_64)"},
		"X-Forwarded-For":   {"203.0.113.9"},
		"X-Forwarded-Host":  {"api.example.com"},
		"X-Forwarded-Proto": {"https"},
		"X-Request-Id":      {"4f1c2b7e-9a0d-4c3e-8b51-2d6f0e7a9c14"},
	}
	return req
}

// A typical proxied request is written without allocating, once the
// connection's buffer has grown.
func TestAppendRequestDoesNotAllocate(t *testing.T) {
	req := proxiedGet(t)
	var buf bytes.Buffer
	buf.Grow(4 << 10)
	allocs := testing.AllocsPerRun(100, func() {
		buf.Reset()
		if ok, err := appendRequest(&buf, req); !ok || err != nil {
			t.Fatalf("appendRequest: ok %v, err %v", ok, err)
		}
	})
	require.Zero(t, allocs, "allocations per GET")

	data := bytes.Repeat([]byte("x"), 1<<10)
	rd := bytes.NewReader(data)
	post := newReq(t, "POST", "http://10.0.0.7:8080/api/v1/orders")
	post.Header = proxiedGet(t).Header
	post.Body = io.NopCloser(rd)
	post.ContentLength = int64(len(data))
	allocs = testing.AllocsPerRun(100, func() {
		buf.Reset()
		rd.Reset(data)
		if ok, err := appendRequest(&buf, post); !ok || err != nil {
			t.Fatalf("appendRequest: ok %v, err %v", ok, err)
		}
	})
	require.Zero(t, allocs, "allocations per POST of 1 KiB")
}

func BenchmarkRequestWrite(b *testing.B) {
	writers := []struct {
		name  string
		write func(*bytes.Buffer, *http.Request) error
	}{
		{"req.Write", func(buf *bytes.Buffer, r *http.Request) error { return r.Write(buf) }},
		{"appendRequest", func(buf *bytes.Buffer, r *http.Request) error {
			_, err := appendRequest(buf, r)
			return err
		}},
	}
	data := bytes.Repeat([]byte("x"), 1<<10)
	for _, kind := range []string{"GET", "POST-1KiB"} {
		for _, w := range writers {
			b.Run(kind+"/"+w.name, func(b *testing.B) {
				req := proxiedGet(b)
				rd := bytes.NewReader(data)
				if kind != "GET" {
					req.Method = "POST"
					req.Body = io.NopCloser(rd)
					req.ContentLength = int64(len(data))
				}
				var buf bytes.Buffer
				b.ReportAllocs()
				for b.Loop() {
					buf.Reset()
					rd.Reset(data)
					if err := w.write(&buf, req); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
