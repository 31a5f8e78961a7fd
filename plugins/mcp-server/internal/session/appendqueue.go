package session

import (
	"context"
	"errors"
	"runtime"
	"sync"

	"github.com/redis/go-redis/v9"
)

// appendQueue lets appends to Redis that overlap share a round trip: the
// first append in the queue leads; it sends every append waiting behind
// it (up to maxBatch) in one MULTI, wakes their callers with their
// results and hands the lead to the first append that came meanwhile.
// The leader first lets the goroutines that are ready run (they may
// append too), so an append alone goes at once and, under load, appends
// ride in batches: Redis and the gateway pay a transaction's round trip,
// system calls and wake-ups once per batch rather than once per call.
//
// Each append's commands are the same as when it goes alone, so a batch
// stores what the appends one by one would. A batch is one transaction
// (MULTI): it is applied whole or not at all, as each append is alone.
type appendQueue struct {
	mu      sync.Mutex
	waiting []*pendingAppend // waiting[0] leads while len > 0
	spare   []*pendingAppend // the backing array of the last batch, for reuse
}

// maxBatch bounds the appends of one transaction, and so how long an
// append waits behind others.
const maxBatch = 64

// pendingAppend is one caller's append, waiting in an appendQueue.
type pendingAppend struct {
	key, listKey string // streamKey, streamListKey
	open         bool   // list the stream: it is new
	events       [][]byte

	cmds   []redis.Cmder // the append's commands in the batch (reused)
	args   []any         // their arguments (reused)
	pushed int64         // the stream's length after the append
	listed int64         // for a new stream, the session's list's length after it
	err    error
	// turn tells the caller its append was sent (true) or that it leads
	// (false).
	turn chan bool
}

var pendingAppends = sync.Pool{New: func() any {
	return &pendingAppend{turn: make(chan bool, 1), cmds: make([]redis.Cmder, 0, 5), args: make([]any, 0, 24)}
}}

// do sends p in a batch with the appends waiting beside it, and returns
// when p is stored (or failed) with p.pushed and p.err set. The batch is
// sent with the leader's ctx without its cancellation, as other callers'
// appends ride in it: the client's read and write timeouts bound it.
func (q *appendQueue) do(ctx context.Context, rc redis.UniversalClient, s *EventStore, p *pendingAppend) {
	q.mu.Lock()
	q.waiting = append(q.waiting, p)
	leads := len(q.waiting) == 1
	q.mu.Unlock()
	if !leads {
		if sent := <-p.turn; sent {
			return
		}
	}
	// Let the goroutines that are ready run first: those about to
	// append join this batch. Without the yield, on a loaded gateway
	// Redis answers before the next append queues (1.04–1.2 appends per
	// transaction measured; ~9 with it, at 32 clients); with nothing
	// else ready it returns at once.
	runtime.Gosched()
	q.mu.Lock()
	batch := q.waiting[:min(len(q.waiting), maxBatch)]
	q.mu.Unlock()

	// The hand-off runs even if the send panics (the handler's recover
	// keeps the process up): the queue never stalls, and the appends
	// that got no answer report it.
	for _, a := range batch {
		a.err = errNotSent
	}
	defer q.handOff(batch)
	if ctx.Done() != nil { // not one already without cancellation
		ctx = context.WithoutCancel(ctx)
	}
	s.sendBatch(ctx, rc, batch)
}

// errNotSent is the result of an append whose batch was not sent.
var errNotSent = errors.New("the batch of appends stopped before it was sent")

// handOff wakes the callers of batch, whose results are set, and hands
// the lead to the first append that came meanwhile.
func (q *appendQueue) handOff(batch []*pendingAppend) {
	q.mu.Lock()
	rest := q.waiting[len(batch):]
	for _, o := range batch[1:] {
		o.turn <- true
	}
	clear(batch)
	next := append(q.spare[:0], rest...)
	q.spare, q.waiting = q.waiting[:0], next
	if len(next) > 0 {
		next[0].turn <- false
	}
	q.mu.Unlock()
}

// sendBatch stores the batch's appends in one transaction and sets each
// one's pushed and err.
//
// An append's commands: its events pushed onto the stream's list, which
// then lives ttl; for a new stream (open) the stream listed at the end
// of the session's list of streams; for an older one its trimmed count
// kept as long as its list; and the session's list kept ttl. (The
// session's list is trimmed apart, when it has grown: see store.)
func (s *EventStore) sendBatch(ctx context.Context, rc redis.UniversalClient, batch []*pendingAppend) {
	if c, ok := rc.(*redis.Client); ok && directAppends(c) {
		s.conn.send(ctx, c, s.ttl.Milliseconds(), batch)
		return
	}
	s.sendPipelined(ctx, rc, batch)
}

// sendPipelined is sendBatch through go-redis's pipeline: for a cluster
// (one append, its session's slot) and a client whose connections need
// more than appendConn does.
func (s *EventStore) sendPipelined(ctx context.Context, rc redis.UniversalClient, batch []*pendingAppend) {
	ttl := any(s.ttl.Milliseconds()) // as PExpire sends it
	_, err := rc.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, a := range batch {
			// The commands PExpire, RPush and LTrim make, their
			// arguments in the append's own (reused) array.
			a.cmds, a.args = a.cmds[:0], a.args[:0]
			key := any(a.key)
			send := func(args ...any) {
				a.cmds = append(a.cmds, p.Do(ctx, args...))
			}
			if len(a.events) > 0 {
				args := append(a.args, "rpush", key)
				for _, data := range a.events {
					args = append(args, data)
				}
				send(args[:len(args):len(args)]...)
				a.args = append(args, "pexpire", key, ttl)
				send(a.args[len(args):len(a.args):len(a.args)]...)
			}
			n := len(a.args)
			if a.open {
				list := any(a.listKey)
				a.args = append(a.args, "rpush", list, key, "pexpire", list, ttl)
				send(a.args[n : n+3 : n+3]...)
				send(a.args[n+3 : n+6 : n+6]...)
			} else {
				a.args = append(a.args, "pexpire", baseKey(a.key), ttl, "pexpire", a.listKey, ttl)
				send(a.args[n : n+3 : n+3]...)
				send(a.args[n+3 : n+6 : n+6]...)
			}
		}
		return nil
	})
	// A Redis error (WRONGTYPE) belongs to its command's append; any other
	// (the connection) to every append.
	var rerr redis.Error
	failed := err != nil && !errors.As(err, &rerr)
	for _, a := range batch {
		a.err = nil
		for _, c := range a.cmds {
			if a.err = c.Err(); a.err != nil {
				break
			}
		}
		if a.err == nil && failed {
			a.err = err
		}
		if a.err == nil && len(a.events) > 0 {
			a.pushed, a.err = a.cmds[0].(*redis.Cmd).Int64()
		}
		if a.err == nil && a.open {
			a.listed, a.err = a.cmds[len(a.cmds)-2].(*redis.Cmd).Int64()
		}
		clear(a.cmds)
		clear(a.args) // not to hold the events while pooled
	}
}
