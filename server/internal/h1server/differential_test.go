package h1server

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"slices"
	"testing"
)

// readerConn is a net.Conn that only reads, for framing a byte stream.
type readerConn struct {
	net.Conn
	r *bytes.Reader
}

func (c readerConn) Read(p []byte) (int, error) { return c.r.Read(p) }

type framed struct {
	method, target, host string
	header               http.Header
	contentLength        int64
	te                   []string
	body                 []byte
	end                  int64 // offset in the stream after the request
}

// frameFast frames requests from stream as the engine does; it stops at
// the first request the engine would not serve itself.
func frameFast(stream []byte) []framed {
	br := bytes.NewReader(stream)
	c := &conn{rwc: readerConn{r: br}, buf: make([]byte, 4096)}
	var out []framed
	var h head
	for {
		var err error
		for {
			err = parseHead(c.buf[c.r:c.w], &h)
			if err != errNeedMore {
				break
			}
			if c.fill(defaultMaxHead) != nil {
				return out
			}
		}
		if err != nil {
			return out
		}
		c.r += h.size
		f := framed{method: h.method, target: h.target, host: h.host, header: http.Header{}, contentLength: h.contentLength}
		for i := 0; i < h.n; i++ {
			f.header[h.names[i]] = append(f.header[h.names[i]], h.values[i])
		}
		if h.chunked {
			f.te = []string{"chunked"}
		}
		b := bodyReader{c: c, chunked: h.chunked, remain: max(h.contentLength, 0), done: !h.chunked && h.contentLength == 0}
		body, err := io.ReadAll(&b)
		if err != nil {
			return out // refused mid-body: the connection closes
		}
		f.body = body
		f.end = int64(len(stream)) - int64(br.Len()) - int64(c.w-c.r)
		out = append(out, f)
		if h.close {
			return out
		}
	}
}

// frameStd frames the same stream with net/http's parser, n requests.
func frameStd(t *testing.T, stream []byte, n int) []framed {
	br := bytes.NewReader(stream)
	r := bufio.NewReader(br)
	var out []framed
	for range n {
		req, err := http.ReadRequest(r)
		if err != nil {
			t.Fatalf("net/http refused request %d that the engine framed: %v\nstream %q", len(out), err, stream)
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Fatalf("net/http failed the body of request %d that the engine framed: %v\nstream %q", len(out), err, stream)
		}
		out = append(out, framed{method: req.Method, target: req.RequestURI, host: req.Host, header: req.Header,
			contentLength: req.ContentLength, te: req.TransferEncoding, body: body,
			end: int64(len(stream)) - int64(br.Len()) - int64(r.Buffered())})
	}
	return out
}

func checkSameFraming(t *testing.T, stream []byte) {
	fast := frameFast(stream)
	std := frameStd(t, stream, len(fast))
	for i := range fast {
		f, s := fast[i], std[i]
		if f.method != s.method || f.target != s.target || f.host != s.host || f.contentLength != s.contentLength ||
			!slices.Equal(f.te, s.te) || !bytes.Equal(f.body, s.body) || f.end != s.end {
			t.Fatalf("request %d framed differently\nfast %+v\nstd  %+v\nstream %q", i, f, s, stream)
		}
		if len(f.header) != len(s.header) {
			t.Fatalf("request %d headers differ\nfast %v\nstd  %v\nstream %q", i, f.header, s.header, stream)
		}
		for k, v := range s.header {
			if !slices.Equal(f.header[k], v) {
				t.Fatalf("request %d header %q differs: fast %q std %q\nstream %q", i, k, f.header[k], v, stream)
			}
		}
	}
}

var seeds = []string{
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /x?y=1 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\nX-A: 1\r\nx-a: 2\r\n\r\nGET /2 HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n",
	"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\na\r\n0123456789\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nhello",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 4\r\n\r\nhell",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX-Fold: a\r\n b\r\n\r\n",
	"GET / HTTP/1.1\nHost: a\n\n",
	"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0000000000000000000000000000005\r\nhello\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
	"GET /\r\n\r\n",
	"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
	"GET / HTTP/1.1\r\nHost: a\r\nX:  spaced  \t\r\n\r\n",
	"GET //evil HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0005\r\n\r\nhello",
}

func FuzzFraming(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		checkSameFraming(t, stream)
	})
}

func TestSeedsFrameLikeNetHTTP(t *testing.T) {
	for _, s := range seeds {
		checkSameFraming(t, []byte(s))
	}
}
