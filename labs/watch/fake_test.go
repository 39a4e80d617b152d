package watch

import (
	"encoding/binary"
	"time"

	"github.com/distlings/distlings/labs/internal/sim"
)

// The test's nodes, so that the tests of watch need no lab solved.

// Beat is lowest's only message: "I am alive, in Term".
type Beat struct{ Term uint64 }

type tick struct{}

const (
	beatEvery = 20 * time.Millisecond
	// silentFor is how long a silent peer counts as alive still, and how
	// long a fresh node listens before it decides who leads.
	silentFor = 250 * time.Millisecond
)

// lowest elects by a rule simpler than Raft's, and just as visible: the
// lowest-numbered node heard from lately leads. A node that takes over
// leads a term one above any it has seen, kept in its storage.
type lowest struct {
	env     sim.Env
	started time.Duration
	heard   map[sim.NodeID]time.Duration
	term    uint64
	leader  sim.NodeID
}

func newLowest(sim.NodeID) sim.Node { return &lowest{} }

func (n *lowest) Start(env sim.Env) {
	n.env = env
	n.started = env.Now()
	n.heard = map[sim.NodeID]time.Duration{}
	if b, ok := env.Storage().Get("term"); ok {
		n.term = binary.BigEndian.Uint64(b)
	}
	n.HandleTimer(tick{})
}

func (n *lowest) HandleMessage(from sim.NodeID, msg sim.Message) {
	n.heard[from] = n.env.Now()
	n.term = max(n.term, msg.(Beat).Term)
}

func (n *lowest) HandleTimer(sim.Timer) {
	n.env.SetTimer(beatEvery, tick{})
	// Who leads is decided before the beats go, so that a new term is
	// sent at once.
	if now := n.env.Now(); now-n.started >= silentFor { // else: not heard everyone yet
		leader := n.env.ID()
		for p, at := range n.heard {
			if now-at < silentFor && p < leader {
				leader = p
			}
		}
		if leader == n.env.ID() && n.leader != leader {
			n.term++
			n.env.Storage().Put("term", binary.BigEndian.AppendUint64(nil, n.term))
			n.env.Logf("leading term %d", n.term)
		}
		n.leader = leader
	}
	for _, p := range n.env.Peers() {
		n.env.Send(p, Beat{Term: n.term})
	}
}

func lowestState(n *lowest) State {
	s := State{Role: "follower", Term: n.term, Leader: n.leader}
	if n.leader == n.env.ID() {
		s.Role, s.Leading = "leader", true
	}
	return s
}

// silent is a stub: it never does anything, as a lab's node before work.
type silent struct{}

func (silent) Start(sim.Env)                         {}
func (silent) HandleMessage(sim.NodeID, sim.Message) {}
func (silent) HandleTimer(sim.Timer)                 {}

// usurper leads term 1 from the start, whatever the others do: a bug.
type usurper struct{ silent }

var (
	lowestTarget  = For(newLowest, lowestState, "")
	silentTarget  = For(func(sim.NodeID) sim.Node { return silent{} }, func(silent) State { return State{Role: "follower"} }, "is node.go written?")
	usurperTarget = For(func(sim.NodeID) sim.Node { return usurper{} }, func(usurper) State { return State{Role: "leader", Leading: true, Term: 1} }, "")
)
