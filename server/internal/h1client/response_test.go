package h1client

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// wire is the upstream side of a connection in the tests: it hands out
// data at most chunk bytes per read (all at once when chunk is 0), then
// io.EOF.
type wire struct {
	data  []byte
	chunk int
}

func (w *wire) Read(p []byte) (int, error) {
	if len(w.data) == 0 {
		return 0, io.EOF
	}
	if w.chunk > 0 && len(p) > w.chunk {
		p = p[:w.chunk]
	}
	n := copy(p, w.data)
	w.data = w.data[n:]
	return n, nil
}

// readCase says how a test reads a connection's responses.
type readCase struct {
	data    string
	method  string
	chunk   int // bytes per read of the connection; 0: all at once
	bufSize int // 0: the transport's 32 KiB
	// closeAfter >= 0: read that many body bytes, then Close the body.
	closeAfter int
}

// seen is everything a reader of one response observes.
type seen struct {
	Err              string
	Status           string
	StatusCode       int
	Proto            string
	ProtoMajor       int
	ProtoMinor       int
	Header           http.Header
	ContentLength    int64
	TransferEncoding []string
	Close            bool
	Uncompressed     bool
	SameRequest      bool
	NoBody           bool
	Body             string
	BodyErr          string
	ReadAfter        string // the error of a Read after the end or Close
	CloseErr         string
	Trailer          http.Header
}

// readConn reads up to four responses from the connection rc describes
// with read (readResponse or http.ReadResponse), as the transport does:
// after a first byte is buffered, and the next only after the body ended
// cleanly. It returns what it saw and the bytes left on the connection.
func readConn(rc readCase, read func(*bufio.Reader, *http.Request) (*http.Response, error)) ([]seen, string) {
	size := rc.bufSize
	if size == 0 {
		size = 32 << 10
	}
	br := bufio.NewReaderSize(&wire{data: []byte(rc.data), chunk: rc.chunk}, size)
	req, err := http.NewRequest(rc.method, "http://upstream.test/", nil)
	if err != nil {
		panic(err)
	}
	var out []seen
	for range 4 {
		if _, err := br.Peek(1); err != nil {
			break
		}
		resp, err := read(br, req)
		if err != nil {
			out = append(out, seen{Err: err.Error()})
			break
		}
		s := seen{
			Status: resp.Status, StatusCode: resp.StatusCode,
			Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
			Header: resp.Header, ContentLength: resp.ContentLength,
			TransferEncoding: resp.TransferEncoding, Close: resp.Close,
			Uncompressed: resp.Uncompressed, SameRequest: resp.Request == req,
			NoBody: resp.Body == http.NoBody,
		}
		var body []byte
		var bodyErr error
		if rc.closeAfter >= 0 {
			body = make([]byte, rc.closeAfter)
			var n int
			n, bodyErr = io.ReadFull(resp.Body, body)
			body = body[:n]
			s.CloseErr = errString(resp.Body.Close())
		} else {
			body, bodyErr = io.ReadAll(resp.Body)
		}
		s.Body, s.BodyErr = string(body), errString(bodyErr)
		_, err = resp.Body.Read(make([]byte, 1))
		s.ReadAfter = errString(err)
		s.Trailer = resp.Trailer
		out = append(out, s)
		if bodyErr != nil && bodyErr != io.ErrUnexpectedEOF || s.CloseErr != "" {
			break
		}
	}
	rest, err := io.ReadAll(br)
	return out, string(rest) + "|" + errString(err)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// requireSameAsNetHTTP checks that readResponse and http.ReadResponse
// read rc's connection alike.
func requireSameAsNetHTTP(t *testing.T, rc readCase) {
	t.Helper()
	want, wantRest := readConn(rc, http.ReadResponse)
	got, gotRest := readConn(rc, readResponse)
	require.Equal(t, want, got)
	require.Equal(t, wantRest, gotRest, "bytes left on the connection")
}

// parsesItself reports whether readResponse reads the first response of
// data itself rather than through http.ReadResponse.
func parsesItself(data, method string) bool {
	br := bufio.NewReaderSize(strings.NewReader(data), 32<<10)
	_, _ = br.Peek(1)
	req, _ := http.NewRequest(method, "http://upstream.test/", nil)
	return parseResponse(br, req) != nil
}

const okCL = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"

func TestReadResponseMatchesNetHTTP(t *testing.T) {
	manyHeaders := "HTTP/1.1 200 OK\r\n"
	for i := range 62 {
		manyHeaders += fmt.Sprintf("x-h-%d: v%d\r\n", i%40, i)
	}
	manyHeaders += "Content-Length: 3\r\n\r\nabc"

	for _, tc := range []struct {
		name, data string
		method     string
	}{
		{"content-length", okCL, "GET"},
		{"two responses back to back", okCL + "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nnot found" + okCL, "GET"},
		{"chunked, extensions, trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n" +
			"5;ext=1;q=\"a b\"\r\nhello\r\n6\r\n world\r\n0;last\r\nX-Checksum: abc\r\nx-other:  o \r\n\r\n" + okCL, "POST"},
		{"chunked, no trailer, then more", "HTTP/1.1 201 Created\r\ntransfer-encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + okCL, "GET"},
		{"chunked, connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n", "GET"},
		{"HEAD with content-length", "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nContent-Type: text/html\r\n\r\n" + okCL, "HEAD"},
		{"HEAD chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + okCL, "HEAD"},
		{"HEAD without framing", "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n" + okCL, "HEAD"},
		{"204", "HTTP/1.1 204 No Content\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n" + okCL, "DELETE"},
		{"204 with content-length", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n" + okCL, "GET"},
		{"204 chunked", "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n" + okCL, "GET"},
		{"304 with content-length", "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 1234\r\n\r\n" + okCL, "GET"},
		{"content-length 0", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" + okCL, "GET"},
		{"content-length leading zeros", "HTTP/1.1 200 OK\r\nContent-Length: 005\r\n\r\nhello", "GET"},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello", "GET"},
		{"connection keep-alive", "HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 5\r\n\r\nhello" + okCL, "GET"},
		{"connection keep-alive and CLOSE", "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nconnection: CLOSE\r\nContent-Length: 5\r\n\r\nhello", "GET"},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", "GET"},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nhello" + okCL, "GET"},
		{"HTTP/1.0 close", "HTTP/1.0 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello", "GET"},
		{"many headers", manyHeaders, "GET"},
		{"duplicates and casing", "HTTP/1.1 200 OK\r\nset-cookie: a=1\r\nX-A: 1\r\nSET-COOKIE: b=2\r\nwww-authenticate: Basic\r\n" +
			"cOnTeNt-TyPe: text/plain\r\nSet-Cookie: c=3\r\nX_Odd!#$%&'*+.^`|~: odd\r\n1-2: digits\r\ncontent-LENGTH: 5\r\n\r\nhello", "GET"},
		{"values: empty, padded, tabs", "HTTP/1.1 200 OK\r\nX-Empty:\r\nX-Blank: \t \r\nX-Pad: \t a  b \t\r\nContent-Length: 5\r\n\r\nhello", "GET"},
		{"pragma no-cache", "HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 5\r\n\r\nhello", "GET"},
		{"pragma with cache-control", "HTTP/1.1 200 OK\r\npragma: no-cache\r\nCache-Control: max-age=5\r\nContent-Length: 5\r\n\r\nhello", "GET"},
		{"no reason phrase", "HTTP/1.1 500\r\nContent-Length: 5\r\n\r\nhello", "GET"},
		{"reason with spaces", "HTTP/1.1 599 Very  Odd \t\r\nContent-Length: 5\r\n\r\nhello", "GET"},
		{"no headers, HEAD", "HTTP/1.1 200 OK\r\n\r\n", "HEAD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.True(t, parsesItself(tc.data, tc.method), "the head is in the subset readResponse parses")
			requireSameAsNetHTTP(t, readCase{data: tc.data, method: tc.method, closeAfter: -1})
			// Closed early, and read in small pieces (mostly through
			// http.ReadResponse, the head not all buffered).
			requireSameAsNetHTTP(t, readCase{data: tc.data, method: tc.method, closeAfter: 2})
			requireSameAsNetHTTP(t, readCase{data: tc.data, method: tc.method, chunk: 7, closeAfter: -1})
		})
	}
}

func TestReadResponseUnusualInput(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		parsed     bool // readResponse reads the head itself
	}{
		{"bare LF in header", "HTTP/1.1 200 OK\r\nContent-Length: 5\n\r\nhello", false},
		{"bare LF status line", "HTTP/1.1 200 OK\nContent-Length: 5\r\n\r\nhello", false},
		{"LF line ends", "HTTP/1.1 200 OK\nContent-Length: 5\n\nhello", false},
		{"bare CR in value", "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 5\r\n\r\nhello", false},
		{"obs-fold", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 5\r\n\r\nhello", false},
		{"leading space first line", "HTTP/1.1 200 OK\r\n X-A: a\r\nContent-Length: 5\r\n\r\nhello", false},
		{"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello", false},
		{"empty name", "HTTP/1.1 200 OK\r\n: x\r\nContent-Length: 5\r\n\r\nhello", false},
		{"no colon", "HTTP/1.1 200 OK\r\nX-A\r\nContent-Length: 5\r\n\r\nhello", false},
		{"CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false},
		{"CL and TE on HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", false},
		{"two different CLs", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", false},
		{"two equal CLs", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", false},
		{"TE chunked, identity", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false},
		{"TE identity", "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nhello", false},
		{"TE gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", false},
		{"two TE lines", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
		{"HTTP/1.0 TE", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
		{"negative CL", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhello", false},
		{"plus CL", "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", false},
		{"overflowing CL", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nhello", false},
		{"19-digit CL", "HTTP/1.1 200 OK\r\nContent-Length: 1000000000000000000\r\n\r\nhello", false},
		{"empty CL", "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\nhello", false},
		{"CL with space inside", "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\nhello", false},
		{"huge chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n", true},
		{"chunk size 2^63", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8000000000000000\r\nhello", true},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", true},
		{"chunk data too long", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n", true},
		{"chunk without CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello0\r\n\r\n", true},
		{"truncated chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", true},
		{"truncated before last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", true},
		{"truncated trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n", true},
		{"bad trailer line", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T 1\r\n\r\n" + okCL, true},
		{"last chunk without CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", true},
		{"truncated CL body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", true},
		{"truncated head", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", false},
		{"NUL in value", "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 5\r\n\r\nhello", false},
		{"NUL in name", "HTTP/1.1 200 OK\r\nX\x00A: a\r\nContent-Length: 5\r\n\r\nhello", false},
		{"NUL in reason", "HTTP/1.1 200 O\x00K\r\nContent-Length: 5\r\n\r\nhello", false},
		{"obs-text value", "HTTP/1.1 200 OK\r\nX-A: caf\xc3\xa9\r\nContent-Length: 5\r\n\r\nhello", false},
		{"DEL in value", "HTTP/1.1 200 OK\r\nX-A: a\x7f\r\nContent-Length: 5\r\n\r\nhello", false},
		{"103 then 200", "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + okCL, false},
		{"101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", false},
		{"status 600", "HTTP/1.1 600 Odd\r\nContent-Length: 5\r\n\r\nhello", false},
		{"status 099", "HTTP/1.1 099 Odd\r\nContent-Length: 5\r\n\r\nhello", false},
		{"4-digit status", "HTTP/1.1 2000 OK\r\nContent-Length: 5\r\n\r\nhello", false},
		{"tab after status", "HTTP/1.1 200\tOK\r\nContent-Length: 5\r\n\r\nhello", false},
		{"two spaces before status", "HTTP/1.1  200 OK\r\nContent-Length: 5\r\n\r\nhello", false},
		{"HTTP/2.0", "HTTP/2.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", false},
		{"lower-case version", "http/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false},
		{"trailer header, chunked", "HTTP/1.1 200 OK\r\nTrailer: X-T\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n\r\n", false},
		{"trailer header, CL", "HTTP/1.1 200 OK\r\nTrailer: X-T\r\nContent-Length: 5\r\n\r\nhello", false},
		{"connection upgrade", "HTTP/1.1 200 OK\r\nConnection: upgrade\r\nContent-Length: 5\r\n\r\nhello", false},
		{"connection list", "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 5\r\n\r\nhello", false},
		{"no framing", "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nhello, until the end", false},
		{"HTTP/1.0 no framing", "HTTP/1.0 200 OK\r\n\r\nhello", false},
		{"65 header lines", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-A: a\r\n", 64) + "Content-Length: 5\r\n\r\nhello", false},
		{"empty", "", false},
		{"garbage", "\x00\xff\r\n\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, method := range []string{"GET", "HEAD"} {
				if method == "GET" {
					require.Equal(t, tc.parsed, parsesItself(tc.data, method), "the head is in the subset readResponse parses")
				}
				requireSameAsNetHTTP(t, readCase{data: tc.data, method: method, closeAfter: -1})
				requireSameAsNetHTTP(t, readCase{data: tc.data, method: method, closeAfter: 3})
			}
		})
	}
}

// TestReadResponseSmallBuffer covers heads and trailers larger than the
// reader's buffer.
func TestReadResponseSmallBuffer(t *testing.T) {
	for _, data := range []string{
		"HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("a", 100) + "\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: " + strings.Repeat("a", 100) + "\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n\r\n" + okCL,
	} {
		for _, closeAfter := range []int{-1, 0} {
			requireSameAsNetHTTP(t, readCase{data: data, method: "GET", bufSize: 64, closeAfter: closeAfter})
		}
	}
}

func TestIsTokenByte(t *testing.T) {
	const tchar = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for c := range 256 {
		require.Equal(t, strings.IndexByte(tchar, byte(c)) >= 0, isTokenByte(byte(c)), "byte %#x", c)
	}
}

func FuzzReadResponse(f *testing.F) {
	for _, seed := range []string{
		okCL + okCL,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n5;e=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n" + okCL,
		"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
		"HTTP/1.0 304 Not Modified\r\nconnection: keep-alive\r\nContent-Length: 7\r\n\r\n",
		"HTTP/1.1 200 OK\r\nPragma: no-cache\r\nx-a: 1\r\nX-A: 2\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	} {
		f.Add([]byte(seed), false, uint8(0), false, int16(-1))
		f.Add([]byte(seed), true, uint8(0), false, int16(2))
	}
	f.Fuzz(func(t *testing.T, data []byte, head bool, chunk uint8, small bool, closeAfter int16) {
		rc := readCase{data: string(data), method: "GET", chunk: int(chunk), closeAfter: int(closeAfter)}
		if head {
			rc.method = "HEAD"
		}
		if small {
			rc.bufSize = 64
		}
		if rc.closeAfter < -1 {
			rc.closeAfter = -1
		}
		requireSameAsNetHTTP(t, rc)
	})
}

// typical is an upstream's answer: six header lines and 64 bytes of body.
var typical = []byte("HTTP/1.1 200 OK\r\n" +
	"Content-Type: application/json\r\n" +
	"Content-Length: 64\r\n" +
	"Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n" +
	"Server: upstream\r\n" +
	"X-Request-Id: 5f1c3a9e-0d7b-4c2a-9e61-3b8f2d4a7c10\r\n" +
	"Cache-Control: no-store\r\n" +
	"\r\n" + strings.Repeat("x", 64))

// readTypical reads typical with read from br, reset to it, as the
// transport does: the head is buffered when it is parsed.
func readTypical(br *bufio.Reader, src *bytes.Reader, buf []byte, read func(*bufio.Reader, *http.Request) (*http.Response, error)) error {
	src.Reset(typical)
	br.Reset(src)
	if _, err := br.Peek(1); err != nil {
		return err
	}
	resp, err := read(br, nil)
	if err != nil {
		return err
	}
	n, err := io.ReadFull(resp.Body, buf)
	if err != nil || n != 64 || br.Buffered() != 0 {
		return fmt.Errorf("body: %d bytes, %v, %d left", n, err, br.Buffered())
	}
	return resp.Body.Close()
}

func TestReadResponseAllocatesLess(t *testing.T) {
	src := bytes.NewReader(typical)
	br := bufio.NewReaderSize(src, 32<<10)
	buf := make([]byte, 64)
	var err error
	ours := testing.AllocsPerRun(100, func() {
		if e := readTypical(br, src, buf, readResponse); e != nil {
			err = e
		}
	})
	require.NoError(t, err)
	require.True(t, parsesItself(string(typical), "GET"))
	theirs := testing.AllocsPerRun(100, func() {
		if e := readTypical(br, src, buf, http.ReadResponse); e != nil {
			err = e
		}
	})
	require.NoError(t, err)
	t.Logf("allocations per response: readResponse %v, http.ReadResponse %v", ours, theirs)
	require.Less(t, ours, theirs)
	require.LessOrEqual(t, ours, theirs/2, "at most half the allocations")
}

func BenchmarkReadResponse(b *testing.B) {
	for _, bc := range []struct {
		name string
		read func(*bufio.Reader, *http.Request) (*http.Response, error)
	}{
		{"h1client", readResponse},
		{"net-http", http.ReadResponse},
	} {
		b.Run(bc.name, func(b *testing.B) {
			src := bytes.NewReader(typical)
			br := bufio.NewReaderSize(src, 32<<10)
			buf := make([]byte, 64)
			b.ReportAllocs()
			for b.Loop() {
				if err := readTypical(br, src, buf, bc.read); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
