// Package rawpoll writes to and reads from non-blocking sockets without
// telling Go's scheduler that a system call began: the gateway's client
// and upstream connections (h1server, h1client) and the MCP event store's
// Redis connection use it. On a loaded gateway the scheduler's monitor
// otherwise takes the P away from a goroutine in such a call and hands it
// to another thread — futex wake-ups, a thread spinning, context switches
// — for calls that return at once anyway.
//
// It is a library both the host and the plugins link, not a contract
// between them: no value crosses from one to the other through it.
package rawpoll

import (
	"io"
	"os"
	"syscall"
	"unsafe"
)

// Poller writes a request or response and waits for the peer's next bytes
// on one connection (WriteThenRead). It is made once per connection, so
// that the calls allocate nothing; it is not safe for concurrent use.
type Poller struct {
	raw  syscall.RawConn
	step func(fd uintptr) bool // p.poll, bound once

	rest       []byte
	in         []byte
	attempted  bool
	n          int
	werr, rerr error
}

// NewPoller returns the Poller of the socket behind raw.
func NewPoller(raw syscall.RawConn) *Poller {
	p := &Poller{raw: raw}
	p.step = p.poll
	return p
}

// WriteThenRead writes out on the socket, then waits for the peer's answer
// and reads it into in, under one registration with Go's poller: the
// readiness state is reset before the write, so the goroutine parks at once
// instead of first trying a read that can only fail (EAGAIN), and no answer
// can arrive unnoticed in between. Deadlines set on the connection bound
// the wait.
//
// rest is the part of out not written: non-empty when the socket could not
// take it all without blocking, or when the wait failed before the write
// (a deadline already passed); the caller then writes rest and reads the
// plain way. Otherwise n > 0 bytes were read, or err says why not (a write
// or read error, io.EOF when the peer closed, a deadline).
func (p *Poller) WriteThenRead(out, in []byte) (rest []byte, n int, err error) {
	p.rest, p.in, p.attempted, p.n, p.werr, p.rerr = out, in, false, 0, nil, nil
	err = p.raw.Read(p.step)
	rest, n, attempted, werr, rerr := p.rest, p.n, p.attempted, p.werr, p.rerr
	p.rest, p.in, p.werr, p.rerr = nil, nil, nil, nil
	switch {
	case !attempted, werr == syscall.EAGAIN:
		return rest, 0, nil
	case werr != nil:
		return nil, 0, os.NewSyscallError("write", werr)
	case rerr != nil:
		return nil, 0, rerr
	case n > 0:
		return nil, n, nil
	case err != nil:
		return nil, 0, err
	}
	return nil, 0, io.ErrNoProgress
}

// Reader reads the bytes WriteThenRead read with a write (First[:n], set
// as Pending), then Conn: the source of a bufio.Reader over the answer.
type Reader struct {
	Conn    io.Reader
	First   [4 << 10]byte
	Pending []byte
}

func (r *Reader) Read(p []byte) (int, error) {
	if len(r.Pending) > 0 {
		n := copy(p, r.Pending)
		r.Pending = r.Pending[n:]
		return n, nil
	}
	return r.Conn.Read(p)
}

// poll is called by the poller: first to write, then each time the socket
// may be readable. It reports whether the wait is over.
func (p *Poller) poll(fd uintptr) bool {
	if !p.attempted {
		p.attempted = true
		for len(p.rest) > 0 {
			m, err := rawWrite(int(fd), p.rest)
			if m > 0 {
				p.rest = p.rest[m:]
			}
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				p.werr = err
				return true
			}
		}
		return false // park until the answer is readable
	}
	m, err := rawRead(int(fd), p.in)
	switch {
	case err == syscall.EINTR || err == syscall.EAGAIN:
		return false
	case err != nil:
		p.rerr = os.NewSyscallError("read", err)
	case m == 0:
		p.rerr = io.EOF
	default:
		p.n = m
	}
	return true
}

// rawWrite and rawRead are write(2) and read(2) on a non-blocking socket
// without telling the scheduler that a system call began (RawSyscall): on
// a non-blocking socket they return at once, so the scheduler has nothing
// to gain from the notice, and on a busy proxy its monitor would otherwise
// keep taking the P away from a goroutine in such a call and handing it to
// another thread (futex wake-ups, spinning) for each of them.
func rawWrite(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func rawRead(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
