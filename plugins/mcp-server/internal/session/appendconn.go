package session

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/internal/rawpoll"
)

// appendConn is the connection that batches of appends take on a
// standalone or Sentinel Redis (a *redis.Client): dialled with the
// client's own options (its dialer, so TLS and the Sentinel's current
// master; its credentials and database), outside the client's pool. A
// batch is written as RESP straight into a reused buffer and its answers
// are read without an object per command: through go-redis's pipeline a
// call's append cost 37 allocations (1.5 KB) and a system call that
// checks the pooled connection, on every tools/call answer stored.
//
// On a socket a batch is written and its answer awaited with
// rawpoll.Poller (no system call the scheduler is told about: with the
// plain conn.Write its monitor took the P from the leader during the
// write, about once in four calls, and handed it to another thread).
//
// The appendQueue's leader uses it, one batch at a time; Close may come
// from another goroutine.
type appendConn struct {
	mu     sync.Mutex
	client *redis.Client // the client whose options conn was dialled with
	conn   net.Conn
	poll   *rawpoll.Poller // nil: conn is not a socket (TLS); batches go through conn
	in     *rawpoll.Reader // what r reads: the answer's first bytes, then conn
	r      *bufio.Reader
	w      []byte        // the batch being written (reused up to maxKeptBatch)
	cmds   []sentCommand // the batch's commands, in order
}

// sentCommand is one command of a batch: the index of its append, and
// which of the append's counts its answer is.
type sentCommand struct {
	append int
	count  answerCount
}

// answerCount names what a command's integer answer is to its append.
type answerCount uint8

const (
	noCount     answerCount = iota // PEXPIRE
	pushedCount                    // the events' RPUSH: the stream's length
	listedCount                    // the list's RPUSH: the session's list's length
)

// maxKeptBatch bounds the write buffer an appendConn keeps between
// batches.
const maxKeptBatch = 64 << 10

// directAppends reports whether the appends of c can take an appendConn:
// a connection made by its dialer needs nothing but AUTH and SELECT.
func directAppends(c *redis.Client) bool {
	o := c.Options()
	return o.Dialer != nil && o.OnConnect == nil && o.StreamingCredentialsProvider == nil
}

// send stores batch in one MULTI … EXEC on c's connection and sets each
// append's pushed, listed and err; ttl is in milliseconds. A connection
// that fails is closed (the next batch dials again); a batch that found a
// kept connection closed by Redis before it answered anything (Redis
// restarted, or closed it idle) is sent once more on a new one.
func (ac *appendConn) send(ctx context.Context, c *redis.Client, ttl int64, batch []*pendingAppend) {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	if ac.client != c {
		ac.closeLocked()
		ac.client = c
	}
	ac.encode(ttl, batch)
	defer func() {
		if cap(ac.w) > maxKeptBatch {
			ac.w = nil // a batch of large answers: not kept for the next
		}
	}()
	for attempt := 0; ; attempt++ {
		kept := ac.conn != nil
		if !kept {
			if err := ac.dial(ctx); err != nil {
				for _, a := range batch {
					a.err = err
				}
				return
			}
		}
		read, err := ac.exchange(batch)
		if err == nil {
			return
		}
		ac.closeLocked()
		if kept && !read && attempt == 0 && closedByPeer(err) {
			continue
		}
		for _, a := range batch {
			a.err = err
		}
		return
	}
}

// encode writes batch's transaction into ac.w, with the commands
// sendBatch documents, and notes which append each command belongs to.
func (ac *appendConn) encode(ttl int64, batch []*pendingAppend) {
	w, cmds := ac.w[:0], ac.cmds[:0]
	w = appendCommand(w, "MULTI")
	for i, a := range batch {
		if len(a.events) > 0 {
			w = strconv.AppendInt(append(w, '*'), int64(2+len(a.events)), 10)
			w = appendBulk(appendBulk(append(w, '\r', '\n'), "RPUSH"), a.key)
			for _, data := range a.events {
				w = appendBulk(w, data)
			}
			w = appendExpire(w, a.key, ttl)
			cmds = append(cmds, sentCommand{i, pushedCount}, sentCommand{i, noCount})
		}
		if a.open {
			w = append(w, "*3\r\n"...)
			w = appendBulk(appendBulk(appendBulk(w, "RPUSH"), a.listKey), a.key)
			cmds = append(cmds, sentCommand{i, listedCount})
		} else {
			w = appendExpire(w, baseKey(a.key), ttl)
			cmds = append(cmds, sentCommand{i, noCount})
		}
		w = appendExpire(w, a.listKey, ttl)
		cmds = append(cmds, sentCommand{i, noCount})
	}
	ac.w, ac.cmds = appendCommand(w, "EXEC"), cmds
}

// exchange writes the transaction and reads its answers into batch; read
// reports whether any byte of an answer came back.
func (ac *appendConn) exchange(batch []*pendingAppend) (read bool, err error) {
	if err := ac.write(); err != nil {
		return false, err
	}
	for _, a := range batch {
		a.err, a.pushed, a.listed = nil, 0, 0
	}
	// MULTI's +OK, then +QUEUED (or the error that refused it) per
	// command.
	line, err := ac.line()
	if err != nil {
		return true, err
	}
	multiErr := replyErr(line)
	for _, c := range ac.cmds {
		if line, err = ac.line(); err != nil {
			return true, err
		}
		if e := replyErr(line); e != nil && batch[c.append].err == nil {
			batch[c.append].err = e
		}
	}
	// EXEC: an array with each command's answer, or the error that
	// discarded the transaction.
	if line, err = ac.line(); err != nil {
		return true, err
	}
	if len(line) == 0 || line[0] != '*' {
		execErr := replyErr(line)
		if execErr == nil {
			return true, fmt.Errorf("unexpected answer to EXEC: %q", line)
		}
		if multiErr != nil {
			execErr = multiErr
		}
		for _, a := range batch {
			if a.err == nil {
				a.err = execErr
			}
		}
		// Refused whole: by a replica since a failover (READONLY), a
		// server still loading (LOADING), one out of memory. The next
		// batch dials again, through the client's dialer, which finds
		// Sentinel's current master, as the client's pool does.
		ac.closeLocked()
		return true, nil
	}
	if n, err := strconv.Atoi(string(line[1:])); err != nil || n != len(ac.cmds) {
		return true, fmt.Errorf("unexpected answer to EXEC: %q", line)
	}
	for _, c := range ac.cmds {
		if line, err = ac.line(); err != nil {
			return true, err
		}
		a := batch[c.append]
		if e := replyErr(line); e != nil {
			if a.err == nil {
				a.err = e
			}
			continue
		}
		if line[0] != ':' {
			if err := ac.skip(line); err != nil {
				return true, err
			}
			continue
		}
		n, err := strconv.ParseInt(string(line[1:]), 10, 64)
		if err != nil {
			return true, fmt.Errorf("unexpected answer in EXEC: %q", line)
		}
		switch c.count {
		case pushedCount:
			a.pushed = n
		case listedCount:
			a.listed = n
		}
	}
	return true, nil
}

// write sends ac.w and, on a socket, waits for the first bytes of the
// answer (ac.in then holds them), within the client's write and read
// timeouts. An error means no byte of the answer came back.
func (ac *appendConn) write() error {
	o := ac.client.Options()
	rest := ac.w
	if ac.poll != nil {
		if o.ReadTimeout > 0 {
			_ = ac.conn.SetReadDeadline(time.Now().Add(o.ReadTimeout))
		}
		var n int
		var err error
		rest, n, err = ac.poll.WriteThenRead(ac.w, ac.in.First[:])
		if len(rest) == 0 {
			ac.in.Pending = ac.in.First[:n]
			return err
		}
		// The socket did not take the whole batch at once: the rest the
		// plain way.
	}
	if o.WriteTimeout > 0 {
		_ = ac.conn.SetWriteDeadline(time.Now().Add(o.WriteTimeout))
	}
	if _, err := ac.conn.Write(rest); err != nil {
		return err
	}
	if o.ReadTimeout > 0 {
		_ = ac.conn.SetReadDeadline(time.Now().Add(o.ReadTimeout))
	}
	_, err := ac.r.Peek(1)
	return err
}

// line reads one RESP line without its CRLF; the slice is valid until
// the next read.
func (ac *appendConn) line() ([]byte, error) {
	line, err := ac.r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errors.New("answer line too long")
		}
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("malformed answer %q", line)
	}
	return line[:len(line)-2], nil
}

// skip reads past the rest of an answer whose first line is line (a bulk
// string or an array; none of the commands sent answers one).
func (ac *appendConn) skip(line []byte) error {
	n, err := strconv.Atoi(string(line[1:]))
	if err != nil {
		return fmt.Errorf("malformed answer %q", line)
	}
	switch line[0] {
	case '$':
		if n > 0 {
			_, err = ac.r.Discard(n + 2)
		} else if n == 0 {
			_, err = ac.r.Discard(2)
		}
		return err
	case '*':
		for range max(n, 0) {
			inner, err := ac.line()
			if err != nil {
				return err
			}
			if inner[0] == '$' || inner[0] == '*' {
				if err := ac.skip(inner); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return nil
}

// dial opens the connection as the client opens its own: its dialer,
// then AUTH and SELECT when its options ask for them.
func (ac *appendConn) dial(ctx context.Context) error {
	o := ac.client.Options()
	dctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()
	conn, err := o.Dialer(dctx, o.Network, o.Addr)
	if err != nil {
		return err
	}
	user, pass := o.Username, o.Password
	if o.CredentialsProviderContext != nil {
		if user, pass, err = o.CredentialsProviderContext(ctx); err != nil {
			_ = conn.Close()
			return err
		}
	} else if o.CredentialsProvider != nil {
		user, pass = o.CredentialsProvider()
	}
	var w []byte
	replies := 0
	if pass != "" {
		if user != "" {
			w = appendBulk(appendBulk(appendBulk(append(w, "*3\r\n"...), "AUTH"), user), pass)
		} else {
			w = appendBulk(appendBulk(append(w, "*2\r\n"...), "AUTH"), pass)
		}
		replies++
	}
	if o.DB > 0 {
		w = appendBulk(appendBulk(append(w, "*2\r\n"...), "SELECT"), strconv.Itoa(o.DB))
		replies++
	}
	ac.conn, ac.in, ac.poll = conn, &rawpoll.Reader{Conn: conn}, nil
	ac.r = bufio.NewReaderSize(ac.in, 4096)
	if sc, ok := conn.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			ac.poll = rawpoll.NewPoller(raw)
		}
	}
	if replies == 0 {
		return nil
	}
	if deadline, ok := dctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if _, err = conn.Write(w); err == nil {
		for range replies {
			var line []byte
			if line, err = ac.line(); err != nil {
				break
			}
			if err = replyErr(line); err != nil {
				break
			}
		}
	}
	clear(w) // it held the password
	if err != nil {
		ac.closeLocked()
		return err
	}
	_ = conn.SetDeadline(time.Time{})
	return nil
}

// Close closes the connection; the next batch dials again.
func (ac *appendConn) Close() {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	ac.closeLocked()
	ac.client = nil
}

func (ac *appendConn) closeLocked() {
	if ac.conn != nil {
		_ = ac.conn.Close()
		ac.conn, ac.r, ac.in, ac.poll = nil, nil, nil, nil
	}
}

// closedByPeer reports whether err says the other end closed the
// connection (or reset it): a kept connection that Redis dropped.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// replyError is an error answer of Redis (-ERR …, -WRONGTYPE …), a
// redis.Error as go-redis reports them.
type replyError string

func (e replyError) Error() string { return string(e) }

// RedisError marks it as Redis's answer (redis.Error).
func (replyError) RedisError() {}

var _ redis.Error = replyError("")

// replyErr returns the error an answer line carries, or nil.
func replyErr(line []byte) error {
	if len(line) > 0 && line[0] == '-' {
		return replyError(line[1:])
	}
	return nil
}

// appendCommand appends a command without arguments.
func appendCommand(w []byte, name string) []byte {
	return appendBulk(append(w, "*1\r\n"...), name)
}

// appendExpire appends PEXPIRE key ms.
func appendExpire(w []byte, key string, ms int64) []byte {
	w = appendBulk(appendBulk(append(w, "*3\r\n"...), "PEXPIRE"), key)
	var num [20]byte
	return appendBulk(w, strconv.AppendInt(num[:0], ms, 10))
}

// appendBulk appends s as a RESP bulk string.
func appendBulk[S string | []byte](w []byte, s S) []byte {
	w = strconv.AppendInt(append(w, '$'), int64(len(s)), 10)
	w = append(append(w, '\r', '\n'), s...)
	return append(w, '\r', '\n')
}
