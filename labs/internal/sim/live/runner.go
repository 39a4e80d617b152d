package live

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/distlings/distlings/labs/internal/sim"
)

// inboxSize bounds the events waiting for a node. A full inbox makes the
// connections feeding it wait, which TCP passes back to the senders.
const inboxSize = 1024

// runner is one incarnation of a node: from a boot to the next crash. All
// its goroutines stop with it, so nothing of it reaches the next one.
type runner struct {
	c        *Cluster
	id       sim.NodeID
	node     sim.Node
	env      *env
	ln       net.Listener
	ctx      context.Context // done when the node is stopped
	cancel   context.CancelFunc
	wg       sync.WaitGroup             // every goroutine of this incarnation
	inbox    chan func()                // messages and Do calls, run by the loop in turn
	exited   chan struct{}              // closed when the loop has returned
	outboxes map[sim.NodeID]chan []byte // per peer; owned by the loop

	// Timers fire on goroutines of package time. They must not block
	// (a stopped loop would never take their event), so they append to
	// fired and wake the loop, which may already be gone.
	firedMu sync.Mutex
	fired   []sim.TimerID
	wake    chan struct{} // capacity 1: one wake-up covers any number of firings

	// conns are this incarnation's open connections, to close at its stop.
	connsMu sync.Mutex
	conns   map[net.Conn]struct{}
	stopped bool // guarded by connsMu: no connection may be added once set
}

func newRunner(c *Cluster, id sim.NodeID, s *slot, ln net.Listener) *runner {
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{
		c:        c,
		id:       id,
		node:     c.newNode(id),
		ln:       ln,
		ctx:      ctx,
		cancel:   cancel,
		inbox:    make(chan func(), inboxSize),
		exited:   make(chan struct{}),
		outboxes: make(map[sim.NodeID]chan []byte),
		wake:     make(chan struct{}, 1),
		conns:    make(map[net.Conn]struct{}),
	}
	var peers []sim.NodeID
	for _, p := range c.ids {
		if p != id {
			peers = append(peers, p)
		}
	}
	r.env = &env{
		r:       r,
		peers:   peers,
		rand:    rand.New(rand.NewPCG(c.cfg.Seed, uint64(id)<<32|s.boots)),
		storage: s.storage,
		timers:  make(map[sim.TimerID]pendingTimer),
	}
	return r
}

func (r *runner) start() {
	r.wg.Add(2)
	go r.accept()
	go r.loop()
}

// loop is the node's goroutine: the only one that ever calls into the
// node, so the node's handlers run one at a time.
func (r *runner) loop() {
	defer r.wg.Done()
	defer close(r.exited)
	r.node.Start(r.env)
	for r.ctx.Err() == nil { // checked before each event: a crash is prompt
		select {
		case <-r.ctx.Done():
		case ev := <-r.inbox:
			ev()
		case <-r.wake:
			r.fireTimers()
		}
	}
}

// stop crashes this incarnation and waits until all its goroutines are
// gone.
func (r *runner) stop() {
	r.cancel()
	r.ln.Close()
	r.connsMu.Lock()
	r.stopped = true
	for conn := range r.conns {
		conn.Close() // unblocks readers and writers stuck in the network
	}
	r.connsMu.Unlock()
	r.wg.Wait()
	// The loop is gone, so its timer table is ours to read.
	for _, t := range r.env.timers {
		t.timer.Stop()
	}
}

// track records conn to be closed at stop, or closes it and reports false
// if the node is already stopping.
func (r *runner) track(conn net.Conn) bool {
	r.connsMu.Lock()
	defer r.connsMu.Unlock()
	if r.stopped {
		conn.Close()
		return false
	}
	r.conns[conn] = struct{}{}
	return true
}

// untrack closes conn and forgets it.
func (r *runner) untrack(conn net.Conn) {
	r.connsMu.Lock()
	defer r.connsMu.Unlock()
	delete(r.conns, conn)
	conn.Close()
}

// pendingTimer is a timer set and not yet fired or cancelled.
type pendingTimer struct {
	value sim.Timer
	at    time.Duration // when it is due, to fire timers in order
	timer *time.Timer
}

// timerFired runs on a goroutine of package time.
func (r *runner) timerFired(id sim.TimerID) {
	r.firedMu.Lock()
	r.fired = append(r.fired, id)
	r.firedMu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// fireTimers hands the node every timer that has fired, earliest first.
func (r *runner) fireTimers() {
	r.firedMu.Lock()
	ids := r.fired
	r.fired = nil
	r.firedMu.Unlock()

	// Their goroutines may have raced each other: restore the order in
	// which they were due.
	timers := r.env.timers
	slices.SortFunc(ids, func(a, b sim.TimerID) int {
		return cmp.Or(cmp.Compare(timers[a].at, timers[b].at), cmp.Compare(a, b))
	})
	for _, id := range ids {
		t, ok := timers[id]
		if !ok || r.ctx.Err() != nil {
			continue // cancelled after it fired, or the node is stopping
		}
		delete(timers, id)
		r.node.HandleTimer(t.value)
	}
}

// env is the sim.Env of one incarnation. Its methods are called only from
// the node's loop.
type env struct {
	r         *runner
	peers     []sim.NodeID
	rand      *rand.Rand
	storage   *memStorage
	timers    map[sim.TimerID]pendingTimer
	lastTimer sim.TimerID
}

func (e *env) ID() sim.NodeID { return e.r.id }

// Peers returns a copy, so a node that sorts or appends to it harms no one.
func (e *env) Peers() []sim.NodeID { return slices.Clone(e.peers) }

func (e *env) Now() time.Duration { return e.r.c.now() }

func (e *env) Rand() *rand.Rand { return e.rand }

func (e *env) Storage() sim.Storage { return e.storage }

func (e *env) Logf(format string, args ...any) { e.r.c.logf(e.r.id, format, args...) }

func (e *env) SetTimer(after time.Duration, t sim.Timer) sim.TimerID {
	if after < 0 { // as the simulator does: surely a bug in the node
		panic(fmt.Sprintf("live: %v set timer %v to fire %v from now, in the past", e.r.id, t, after))
	}
	e.lastTimer++
	id := e.lastTimer
	r := e.r
	e.timers[id] = pendingTimer{
		value: t,
		at:    r.c.now() + after,
		timer: time.AfterFunc(after, func() { r.timerFired(id) }),
	}
	return id
}

func (e *env) CancelTimer(id sim.TimerID) {
	if t, ok := e.timers[id]; ok {
		t.timer.Stop()
		// If it fired already, its id waits in r.fired; with the entry
		// gone, fireTimers skips it.
		delete(e.timers, id)
	}
}

// Send encodes msg now, so later changes to it by the sender travel
// nowhere, and queues it for the peer's connection. Sending to a node that
// is not in the cluster, or a message that cannot travel, is a bug, and
// panics; a network that fails or a peer that is down just loses the
// message.
func (e *env) Send(to sim.NodeID, msg sim.Message) {
	r := e.r
	if _, ok := r.c.slots[to]; !ok {
		panic(fmt.Sprintf("live: %v sent %T to %v, which is not in the cluster (its nodes are n1 to n%d)",
			r.id, msg, to, len(r.c.ids)))
	}
	if msg == nil {
		panic(fmt.Sprintf("live: %v sent a nil message to %v", r.id, to))
	}
	// The simulator's rules, so that a node behaves the same in both.
	if err := sim.CheckMessage(msg); err != nil {
		panic(fmt.Sprintf("live: %v sent a message that cannot cross a network: %v", r.id, err))
	}
	frame, err := encode(envelope{From: r.id, To: to}, msg)
	if err != nil {
		panic(fmt.Sprintf("live: %v cannot send %T to %v: %v (a message must be plain data with exported fields)",
			r.id, msg, to, err))
	}
	select {
	case r.outbox(to) <- frame:
	default: // the connection is that far behind: lost, as on a real network
	}
}
