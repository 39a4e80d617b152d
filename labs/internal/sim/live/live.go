// Package live runs sim.Nodes for real: one goroutine per node, real timers,
// and messages over loopback TCP. It is the other half of the promise made
// by package sim, that a node written against sim.Env runs unchanged
// outside the simulator.
//
// Each node has an event loop that hands it one event at a time (its Start,
// a message, a timer), so node code needs no locks, here as in the
// simulator. What live cannot give is determinism: the operating system
// schedules the goroutines and the network, and no two runs are alike.
//
// Messages travel between nodes encoded with encoding/gob, in an envelope
// that names sender and receiver, over one TCP connection per sender and
// receiver. Send encodes at once, so the receiver gets a copy of the
// message as it was when sent. Message types need no registration: Send
// registers each type with gob the first time it sees it. Gob's rules
// apply: only exported fields travel, a nil and an empty slice or map
// arrive alike (as nil), and two message types must not have the same
// package path and name (as types declared inside functions can). A message
// sent as a pointer arrives as a pointer, to a copy.
//
// Failures are a node crashing (Cluster.Stop, Cluster.Restart) and what
// follows from it: messages to a stopped node, or in flight when it stops,
// are lost, and the sender is not told.
//
// Tests and tools read a node's state with Cluster.Do, which runs a function
// on the node's own goroutine, and wait for a condition by polling it that
// way until a deadline.
package live

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/distlings/distlings/labs/internal/sim"
)

// Config configures a cluster. The zero value is ready to use.
type Config struct {
	// Seed seeds every node's Env.Rand: each node and each of its starts
	// gets its own source, derived from Seed, the node's id and how many
	// times it has started.
	Seed uint64
	// Log, if set, receives every line logged with Env.Logf, and the
	// runtime's own lines (a node stopping or restarting), prefixed with
	// the time since the cluster started and the node's id. Calls are made
	// one at a time. Log must not call back into the cluster.
	Log func(line string)
}

// ErrStopped is returned by Cluster.Do when the node is not running.
var ErrStopped = errors.New("live: node is stopped")

// ErrClosed is returned by Cluster.Restart after Cluster.Close.
var ErrClosed = errors.New("live: cluster is closed")

// Cluster is a set of nodes running on goroutines and loopback TCP. Its
// methods are safe to call from any goroutine, but not from node code: a
// node that calls Stop, Restart or Do on itself would wait for itself.
// Methods that take a node id panic if the cluster has no such node.
type Cluster struct {
	cfg     Config
	newNode func(sim.NodeID) sim.Node
	ids     []sim.NodeID
	slots   map[sim.NodeID]*slot // fixed at Start; each slot's fields as noted
	began   time.Time

	lifecycle sync.Mutex // held through Stop, Restart and Close, one at a time
	mu        sync.Mutex // guards slot.addr, slot.run and closed
	closed    bool

	logMu sync.Mutex // makes calls to cfg.Log one at a time
}

// slot is what the cluster keeps of a node across its crashes.
type slot struct {
	addr    string      // its listener's address; guarded by Cluster.mu
	run     *runner     // the running incarnation, nil while stopped; guarded by Cluster.mu
	boots   uint64      // how many times it has started; guarded by Cluster.lifecycle
	storage *memStorage // survives Stop and Restart, as a disk would
}

// Start starts a cluster of n nodes, numbered from 1, each made by newNode
// and started at once.
func Start(n int, newNode func(sim.NodeID) sim.Node, cfg Config) (*Cluster, error) {
	if n < 1 {
		return nil, fmt.Errorf("live: a cluster needs at least one node, not %d", n)
	}
	if newNode == nil {
		return nil, errors.New("live: newNode is nil")
	}
	c := &Cluster{
		cfg:     cfg,
		newNode: newNode,
		slots:   make(map[sim.NodeID]*slot),
		began:   time.Now(),
	}
	// Every node listens before any starts, so that no first message finds
	// its receiver not yet there.
	lns := make([]net.Listener, n)
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			for _, l := range lns[:i] {
				l.Close()
			}
			return nil, fmt.Errorf("live: listen: %w", err)
		}
		id := sim.NodeID(i + 1)
		lns[i] = ln
		c.ids = append(c.ids, id)
		c.slots[id] = &slot{addr: ln.Addr().String(), storage: newMemStorage()}
	}
	c.lifecycle.Lock()
	defer c.lifecycle.Unlock()
	for i, id := range c.ids {
		c.boot(id, lns[i])
	}
	return c, nil
}

// IDs returns the ids of the cluster's nodes, in order.
func (c *Cluster) IDs() []sim.NodeID { return append([]sim.NodeID(nil), c.ids...) }

// Stop crashes node id: its goroutines stop, its listener and connections
// close, its timers never fire, and everything it held in memory is gone.
// Only its Storage is kept. Messages to it are lost until it restarts.
// Stopping a stopped node does nothing.
func (c *Cluster) Stop(id sim.NodeID) {
	c.lifecycle.Lock()
	defer c.lifecycle.Unlock()
	c.stop(id)
}

// Restart boots node id again: a fresh Node from the cluster's constructor,
// started on the storage the last one left. A running node is stopped
// first. The node keeps its address if the port is still free, and
// otherwise takes a new one; peers dial whichever is current.
func (c *Cluster) Restart(id sim.NodeID) error {
	c.lifecycle.Lock()
	defer c.lifecycle.Unlock()
	s := c.slot(id)
	c.mu.Lock()
	closed, addr := c.closed, s.addr
	c.mu.Unlock()
	if closed {
		return ErrClosed
	}
	c.stop(id)

	// Go sets SO_REUSEADDR, so the old port is free again even while the
	// connections it served linger in TIME_WAIT. Another program may have
	// taken it meanwhile; then any port will do.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return fmt.Errorf("live: restart %v: listen: %w", id, err)
		}
		c.mu.Lock()
		s.addr = ln.Addr().String()
		c.mu.Unlock()
	}
	c.boot(id, ln)
	return nil
}

// Close stops every node and waits until all the cluster's goroutines have
// returned. Closing twice does nothing.
func (c *Cluster) Close() {
	c.lifecycle.Lock()
	defer c.lifecycle.Unlock()
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	for _, id := range c.ids {
		c.stop(id)
	}
}

// Do runs f on node id's own goroutine, between two of its events, and
// waits for it to finish: the way to read or change a node's state without
// racing with it. It returns ErrStopped, without running f, if the node is
// stopped or stops before f's turn. A panic in f is raised again in the
// caller of Do.
func (c *Cluster) Do(id sim.NodeID, f func(sim.Node)) error {
	r := c.running(id)
	if r == nil {
		return ErrStopped
	}
	// Buffered: the loop must never wait for the caller of Do.
	done := make(chan any, 1)
	ev := func() {
		// recover returns nil when f returns normally.
		defer func() { done <- recover() }()
		f(r.node)
	}
	select {
	case r.inbox <- ev:
	case <-r.ctx.Done():
		return ErrStopped
	}
	// Wait for f, or for the loop to be gone; once it is, f has either run
	// to the end or will never run.
	select {
	case p := <-done:
		return repanic(p)
	case <-r.exited:
		select {
		case p := <-done:
			return repanic(p)
		default:
			return ErrStopped
		}
	}
}

func repanic(p any) error {
	if p != nil {
		panic(p)
	}
	return nil
}

// Node returns node id's current Node value, or nil while it is stopped.
// It is for finding the node, not for reading its state: the node's own
// goroutine may change that at any moment, so read it inside Do.
func (c *Cluster) Node(id sim.NodeID) sim.Node {
	if r := c.running(id); r != nil {
		return r.node
	}
	return nil
}

// Addr returns the address node id listens on, or last listened on.
func (c *Cluster) Addr(id sim.NodeID) string {
	s := c.slot(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	return s.addr
}

// boot starts a new incarnation of node id on ln. Called with lifecycle
// held.
func (c *Cluster) boot(id sim.NodeID, ln net.Listener) {
	s := c.slots[id]
	s.boots++
	r := newRunner(c, id, s, ln)
	c.mu.Lock()
	s.run = r
	c.mu.Unlock()
	if s.boots > 1 {
		c.logf(id, "live: restarted on %v", ln.Addr())
	}
	r.start()
}

// stop crashes node id if it runs. Called with lifecycle held.
func (c *Cluster) stop(id sim.NodeID) {
	s := c.slot(id)
	c.mu.Lock()
	r := s.run
	s.run = nil
	c.mu.Unlock()
	if r != nil {
		r.stop()
		c.logf(id, "live: stopped")
	}
}

// slot returns node id's slot. An unknown id is a bug in the caller.
func (c *Cluster) slot(id sim.NodeID) *slot {
	s, ok := c.slots[id]
	if !ok {
		panic(fmt.Sprintf("live: no node %v in the cluster (its nodes are n1 to n%d)", id, len(c.ids)))
	}
	return s
}

// running returns node id's running incarnation, or nil.
func (c *Cluster) running(id sim.NodeID) *runner {
	s := c.slot(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	return s.run
}

// addr returns where to dial node id now.
func (c *Cluster) addr(id sim.NodeID) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slots[id].addr
}

// now is the time since the cluster started: every node's Env.Now.
func (c *Cluster) now() time.Duration { return time.Since(c.began) }

// logf sends one line to cfg.Log.
func (c *Cluster) logf(id sim.NodeID, format string, args ...any) {
	if c.cfg.Log == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	c.logMu.Lock()
	defer c.logMu.Unlock()
	// Stamped under the lock, so that the lines come in time order.
	c.cfg.Log(fmt.Sprintf("%8.3fs %v: %s", c.now().Seconds(), id, msg))
}
