// Package heartbeat is the worked example of a sim.Node: a heartbeat failure
// detector.
//
// Every node sends a Heartbeat to every peer once per Interval, and notes
// when it last heard from each. A peer that has been silent for Timeout is
// suspected: maybe it crashed, maybe the network lost its heartbeats, maybe
// it is only slow. A failure detector cannot tell these apart; it can only
// suspect, and take the suspicion back when the peer is heard again.
//
// The node also shows the one thing that survives a crash: env.Storage().
// On every start it bumps an incarnation counter kept there, and sends it in
// its heartbeats, so that peers can tell a restarted node from a slow one.
//
// Like every sim.Node it is a set of event handlers that act only through
// their sim.Env: no goroutines, no locks, no clock, no sleeping. The same
// code runs in the simulator and, with package live, on real TCP.
package heartbeat

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/distlings/distlings/labs/internal/sim"
)

// Config sets the pace of the detector.
type Config struct {
	// Interval is the time between two heartbeats to each peer.
	Interval time.Duration
	// Timeout is how long a peer may stay silent before it is suspected.
	// Zero means 3 × Interval: long enough that one or two lost heartbeats
	// do not raise a false alarm.
	Timeout time.Duration
}

// Heartbeat is the only message: "I am alive". Its fields are exported
// because a message crosses the network by value.
type Heartbeat struct {
	// From is the sender. The network tells the receiver that too; it is
	// repeated here so that a trace of messages reads on its own.
	From sim.NodeID
	// Seq counts the heartbeats of this incarnation, from 1.
	Seq uint64
	// Incarnation is how many times the sender has started, itself
	// included. (Incarnation, Seq) orders all heartbeats of a node.
	Incarnation uint64
}

// tick is the value of the node's one periodic timer. It is unexported:
// only this node ever sets or sees it.
type tick struct{}

// storageKey is where the incarnation counter lives in env.Storage().
const storageKey = "incarnation"

// PeerState is what a node knows about one peer.
type PeerState struct {
	// Heard is whether any heartbeat has arrived since this node started.
	Heard bool
	// LastHeard is env.Now() when the latest heartbeat arrived; before the
	// first one, the time this node started, so that a peer gets a full
	// Timeout to be heard from.
	LastHeard time.Duration
	// Incarnation and Seq are those of the latest heartbeat.
	Incarnation uint64
	Seq         uint64
	// Suspected is whether the peer has been silent for Timeout.
	Suspected bool
}

// Node is one failure detector. Create it with New.
type Node struct {
	cfg Config
	env sim.Env

	incarnation uint64 // this node's, read from storage at Start
	seq         uint64 // heartbeats sent in this incarnation
	peers       map[sim.NodeID]*PeerState
}

// New returns a constructor of nodes that share cfg, in the form a cluster
// (simulated or live) wants: it calls it once per node and again on every
// restart.
func New(cfg Config) func(id sim.NodeID) sim.Node {
	if cfg.Interval <= 0 {
		panic(fmt.Sprintf("heartbeat: Interval must be positive, not %v", cfg.Interval))
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 3 * cfg.Interval
	}
	// The id is not needed here: the node learns it from env.ID() at Start.
	return func(sim.NodeID) sim.Node { return &Node{cfg: cfg} }
}

// Start boots the node: a new incarnation, a first round of heartbeats, and
// the periodic timer.
func (n *Node) Start(env sim.Env) {
	n.env = env

	// Memory is lost in a crash; storage is not. Read, bump, write back
	// before anything else, so no two incarnations share a number.
	var stored uint64
	if b, ok := env.Storage().Get(storageKey); ok {
		stored = binary.BigEndian.Uint64(b)
	}
	n.incarnation = stored + 1
	env.Storage().Put(storageKey, binary.BigEndian.AppendUint64(nil, n.incarnation))
	env.Logf("started, incarnation %d", n.incarnation)

	n.peers = make(map[sim.NodeID]*PeerState)
	for _, p := range env.Peers() {
		n.peers[p] = &PeerState{LastHeard: env.Now()}
	}

	// Announce ourselves at once rather than an Interval from now: peers
	// that suspect us learn sooner that we are back.
	n.broadcast()
	env.SetTimer(n.cfg.Interval, tick{})
}

// HandleTimer runs once per Interval: heartbeats out, then a look at who
// has been silent too long.
func (n *Node) HandleTimer(t sim.Timer) {
	if _, ok := t.(tick); !ok {
		return
	}
	n.broadcast()
	n.checkPeers()
	// One timer, set again each time, rather than a timer per peer: the
	// node has a single heartbeat rhythm.
	n.env.SetTimer(n.cfg.Interval, tick{})
}

// HandleMessage records a heartbeat.
func (n *Node) HandleMessage(from sim.NodeID, msg sim.Message) {
	hb, ok := msg.(Heartbeat)
	if !ok {
		return // not ours: a node may run other protocols beside this one
	}
	p, ok := n.peers[from]
	if !ok {
		return // not a peer of ours
	}

	// The network may duplicate and reorder messages. A heartbeat older
	// than one already seen says nothing about the peer now: ignore it.
	if hb.Incarnation < p.Incarnation || hb.Incarnation == p.Incarnation && hb.Seq <= p.Seq {
		return
	}

	if p.Heard && hb.Incarnation > p.Incarnation {
		// It crashed and came back, perhaps too quickly for us to notice
		// the silence. Only the incarnation number tells.
		n.env.Logf("%v restarted, incarnation %d", from, hb.Incarnation)
	}
	if p.Suspected {
		n.env.Logf("%v is back", from)
	}
	*p = PeerState{
		Heard:       true,
		LastHeard:   n.env.Now(),
		Incarnation: hb.Incarnation,
		Seq:         hb.Seq,
	}
}

// broadcast sends the next heartbeat to every peer.
func (n *Node) broadcast() {
	n.seq++
	hb := Heartbeat{From: n.env.ID(), Seq: n.seq, Incarnation: n.incarnation}
	for _, p := range n.env.Peers() {
		n.env.Send(p, hb)
	}
}

// checkPeers suspects every peer silent for Timeout. It runs only on ticks,
// so a crash is noticed between Timeout and Timeout+Interval after the
// peer's last heartbeat.
func (n *Node) checkPeers() {
	now := n.env.Now()
	for _, id := range n.env.Peers() { // in order, so the log is too
		p := n.peers[id]
		if !p.Suspected && now-p.LastHeard >= n.cfg.Timeout {
			p.Suspected = true
			n.env.Logf("suspect %v", id)
		}
	}
}

// Suspects returns the peers suspected now, in order.
func (n *Node) Suspects() []sim.NodeID {
	var ids []sim.NodeID
	for id, p := range n.peers {
		if p.Suspected {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids) // map order is random; callers want a stable answer
	return ids
}

// Incarnation returns how many times this node has started, this time
// included.
func (n *Node) Incarnation() uint64 { return n.incarnation }

// Peer returns what the node knows about peer id; the zero PeerState if id
// is not a peer.
func (n *Node) Peer(id sim.NodeID) PeerState {
	if p, ok := n.peers[id]; ok {
		return *p
	}
	return PeerState{}
}
