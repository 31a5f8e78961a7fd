package rawpoll

import (
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tcpPair returns both ends of a loopback TCP connection and the first
// one's raw connection.
func tcpPair(t *testing.T) (net.Conn, net.Conn, syscall.RawConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	b, err := ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	raw, err := a.(*net.TCPConn).SyscallConn()
	require.NoError(t, err)
	return a, b, raw
}

func TestWriteThenReadReturnsTheAnswer(t *testing.T) {
	_, b, raw := tcpPair(t)
	go func() {
		buf := make([]byte, 4)
		if _, err := io.ReadFull(b, buf); err == nil && string(buf) == "ping" {
			_, _ = b.Write([]byte("pong"))
		}
	}()
	in := make([]byte, 16)
	rest, n, err := NewPoller(raw).WriteThenRead([]byte("ping"), in)
	require.NoError(t, err)
	require.Empty(t, rest)
	require.Equal(t, "pong", string(in[:n]))
}

func TestWriteThenReadReportsThePeerClosing(t *testing.T) {
	_, b, raw := tcpPair(t)
	go func() {
		buf := make([]byte, 4)
		_, _ = io.ReadFull(b, buf)
		_ = b.Close()
	}()
	rest, n, err := NewPoller(raw).WriteThenRead([]byte("ping"), make([]byte, 16))
	require.ErrorIs(t, err, io.EOF)
	require.Empty(t, rest)
	require.Zero(t, n)
}

// What the socket cannot take at once comes back to be written the plain
// way; nothing is lost or sent twice.
func TestWriteThenReadHandsBackWhatTheSocketCannotTake(t *testing.T) {
	_, _, raw := tcpPair(t)
	out := make([]byte, 64<<20)
	rest, n, err := NewPoller(raw).WriteThenRead(out, make([]byte, 16))
	require.NoError(t, err)
	require.Zero(t, n)
	require.NotEmpty(t, rest)
	require.Less(t, len(rest), len(out))
}

func TestWriteThenReadWritesNothingAfterTheDeadline(t *testing.T) {
	a, _, raw := tcpPair(t)
	require.NoError(t, a.SetReadDeadline(time.Unix(1, 0)))
	out := []byte("ping")
	rest, n, err := NewPoller(raw).WriteThenRead(out, make([]byte, 16))
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, out, rest)
}

func TestWriteThenReadWaitEndsAtTheDeadline(t *testing.T) {
	a, b, raw := tcpPair(t)
	require.NoError(t, a.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
	rest, _, err := NewPoller(raw).WriteThenRead([]byte("ping"), make([]byte, 16))
	require.Empty(t, rest)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	require.True(t, ne.Timeout())
	buf := make([]byte, 4)
	_, err = io.ReadFull(b, buf)
	require.NoError(t, err)
	require.Equal(t, "ping", string(buf))
}

// An exchange on a kept-alive connection allocates nothing in the poller:
// it runs twice per proxied request.
func TestWriteThenReadAllocatesNothing(t *testing.T) {
	_, b, raw := tcpPair(t)
	go func() {
		buf := make([]byte, 4)
		for {
			if _, err := io.ReadFull(b, buf); err != nil {
				return
			}
			if _, err := b.Write(buf); err != nil {
				return
			}
		}
	}()
	p := NewPoller(raw)
	out, in := []byte("ping"), make([]byte, 16)
	allocs := testing.AllocsPerRun(200, func() {
		rest, n, err := p.WriteThenRead(out, in)
		if err != nil || len(rest) > 0 || n != 4 {
			t.Fatalf("exchange: rest %q, n %d, err %v", rest, n, err)
		}
	})
	require.Zero(t, allocs)
}
