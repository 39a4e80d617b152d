package raftlog

// Figure 8 of the Raft paper, played by hand on five nodes: the test
// decides which message reaches whom, and when each timer fires, so the
// one order of events that breaks a careless leader happens every time.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/nodetest"
	"github.com/distlings/distlings/labs/internal/sim"
)

// hand is a cluster whose network is the test's hands: messages wait in
// a queue per link until the test delivers or drops them.
type hand struct {
	t     *testing.T
	nodes []*one
	queue map[[2]sim.NodeID][]sim.Message // by (from, to), in order
}

func newHand(t *testing.T, size int) *hand {
	h := &hand{t: t, queue: map[[2]sim.NodeID][]sim.Message{}}
	for i := 1; i <= size; i++ {
		h.nodes = append(h.nodes, newOne(t, sim.NodeID(i), size))
	}
	return h
}

func (h *hand) n(id sim.NodeID) *one { return h.nodes[id-1] }

// post queues what node id sent since the last look.
func (h *hand) post(id sim.NodeID, log []nodetest.Did) {
	for _, d := range log {
		if d.Kind == nodetest.Send {
			k := [2]sim.NodeID{id, d.To}
			h.queue[k] = append(h.queue[k], d.Msg)
		}
	}
}

// timeout fires id's election timer.
func (h *hand) timeout(id sim.NodeID) { h.post(id, h.n(id).fire(electionTimeout{})) }

// beat fires id's heartbeat timer.
func (h *hand) beat(id sim.NodeID) { h.post(id, h.n(id).fire(heartbeatTick{})) }

// propose hands cmd to id, which must lead.
func (h *hand) propose(id sim.NodeID, cmd string) {
	h.t.Helper()
	_, _, ok := h.n(id).propose(cmd)
	require.True(h.t, ok, lesson(fmt.Sprintf("setting up Figure 8: %v leads term %d, and its Propose(%q) returned false", id, h.n(id).node.Term(), cmd),
		"the leader takes every proposal: it appends it to its log and returns its index, its term and true (§5.3)"))
	h.post(id, h.n(id).env.Take())
}

// exchange delivers everything queued between a and b, both ways, and the
// answers, until the link is quiet.
func (h *hand) exchange(a, b sim.NodeID) {
	h.t.Helper()
	for range 100 {
		ab, ba := h.queue[[2]sim.NodeID{a, b}], h.queue[[2]sim.NodeID{b, a}]
		if len(ab) == 0 && len(ba) == 0 {
			return
		}
		delete(h.queue, [2]sim.NodeID{a, b})
		delete(h.queue, [2]sim.NodeID{b, a})
		for _, m := range ab {
			h.post(b, h.n(b).deliver(a, m))
		}
		for _, m := range ba {
			h.post(a, h.n(a).deliver(b, m))
		}
	}
	require.FailNow(h.t, fmt.Sprintf("%v and %v were still exchanging messages after 100 rounds", a, b),
		"a node answers a message with at most one message, and a leader steps back towards a follower's log one refusal at a time: the exchange ends")
}

// isolate drops everything queued to or from id.
func (h *hand) isolate(id sim.NodeID) {
	for k := range h.queue {
		if k[0] == id || k[1] == id {
			delete(h.queue, k)
		}
	}
}

// pick removes the first queued message of type T from a to b.
func pick[T sim.Message](h *hand, a, b sim.NodeID) (T, bool) {
	k := [2]sim.NodeID{a, b}
	for i, m := range h.queue[k] {
		if v, ok := m.(T); ok {
			h.queue[k] = append(h.queue[k][:i:i], h.queue[k][i+1:]...)
			return v, true
		}
	}
	var zero T
	return zero, false
}

// logs draws every node's log, one line each, with its term and commit
// index, like the paper's figures.
func (h *hand) logs() string {
	var b strings.Builder
	for _, o := range h.nodes {
		fmt.Fprintf(&b, "    %v  term %d, %-9v commit %d, log", o.id(), o.node.Term(), o.node.Role().String()+",", o.node.CommitIndex())
		for _, e := range o.node.LogEntries() {
			fmt.Fprintf(&b, "  %d:t%d %s", e.Index, e.Term, e.Command)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// requireLeader checks that id has won its election.
func (h *hand) requireLeader(id sim.NodeID, term uint64) {
	h.t.Helper()
	o := h.n(id)
	require.True(h.t, o.node.Role() == Leader && o.node.Term() == term, lesson(
		fmt.Sprintf("setting up Figure 8: %v should have won the election of term %d; it is %v in term %d\n%s", id, term, o.node.Role(), o.node.Term(), h.logs()),
		"a node votes for a candidate whose log is at least as up to date as its own (§5.4.1)"))
}

// Reference: §5.4.2 and Figure 8.
func TestFigure8AnOldTermsEntryOnAMajorityIsNotCommitted(t *testing.T) {
	h := newHand(t, 5)
	everyone := func(leader sim.NodeID) {
		for _, o := range h.nodes {
			if o.id() != leader {
				h.exchange(leader, o.id())
			}
		}
	}

	// n1 leads term 1; x reaches everyone and commits.
	h.timeout(1)
	everyone(1)
	h.requireLeader(1, 1)
	h.propose(1, "x")
	h.beat(1)
	everyone(1)
	h.beat(1)
	everyone(1)
	for _, o := range h.nodes {
		require.True(t, o.appliedAre([]Entry{{Index: 1, Term: 1, Command: []byte("x")}}), lesson(
			fmt.Sprintf("setting up Figure 8: n1, the leader of term 1, proposed x, and every message got through, twice round; %v applied %s\n%s", o.id(), showApplied(o.applied), h.logs()),
			"an entry that a majority holds is committed by the leader, and every follower hears of it in the next AppendEntries and applies it"))
	}

	// (a) n1 takes in y and gets it to n2 only, then is cut off.
	h.propose(1, "y")
	h.beat(1)
	h.exchange(1, 2)
	h.isolate(1)

	// (b) n5 wins term 2 with the votes of n3 and n4, takes in z, and is
	// cut off before sending it.
	h.timeout(5)
	vote, _ := pick[RequestVote](h, 5, 1) // it reaches n1 later
	h.exchange(5, 3)
	h.exchange(5, 4)
	h.requireLeader(5, 2)
	h.propose(5, "z")
	h.isolate(5)

	// (c) n1 hears of term 2, wins term 3 with n2 and n3, and brings n3
	// up to date: y, of term 1, is on n1, n2 and n3, a majority.
	h.post(1, h.n(1).deliver(5, vote))
	h.timeout(1)
	h.exchange(1, 2)
	h.exchange(1, 3)
	h.requireLeader(1, 3)
	h.beat(1)
	h.exchange(1, 2)
	h.exchange(1, 3)
	// n1 takes in v, of its own term 3, and gets it to n2 only.
	h.propose(1, "v")
	h.beat(1)
	h.exchange(1, 2)
	atC := h.logs()
	committedY := h.n(1).node.CommitIndex() >= 2
	h.isolate(1)

	// (d) n5 hears of term 3, wins term 4 with n2, n3 and n4, and its z
	// replaces y at index 2 everywhere it reaches.
	if ae, ok := pick[AppendEntries](h, 1, 5); ok {
		h.post(5, h.n(5).deliver(1, ae))
	} else {
		h.post(5, h.n(5).deliver(1, AppendEntries{Term: 3, Leader: 1, PrevLogIndex: 2, PrevLogTerm: 1}))
	}
	h.isolate(5)
	h.timeout(5)
	for _, p := range []sim.NodeID{2, 3, 4} {
		h.exchange(5, p)
	}
	h.requireLeader(5, 4)
	h.propose(5, "w")
	h.beat(5)
	for _, p := range []sim.NodeID{2, 3, 4} {
		h.exchange(5, p)
	}
	h.beat(5)
	for _, p := range []sim.NodeID{2, 3, 4} {
		h.exchange(5, p)
	}

	if committedY {
		var at2 []string
		for _, o := range h.nodes {
			for _, m := range o.applied {
				if m.Index == 2 {
					at2 = append(at2, fmt.Sprintf("%v applied %s", o.id(), m.Command))
				}
			}
		}
		require.FailNow(t, lesson(
			fmt.Sprintf("the paper's Figure 8. In (c), n1, leader of term 3, committed index 2, y of term 1, because n1, n2 and n3 held it:\n%s"+
				"then n5 won term 4 (its last entry, z of term 2, is newer than y) and replaced y with z:\n%sat index 2: %s",
				atC, h.logs(), strings.Join(at2, "; ")),
			"a leader commits only entries of its own term by counting replicas; an earlier term's entry commits with the first entry of the leader's own term after it (§5.4.2)"))
	}
	for _, o := range h.nodes[1:] {
		for _, m := range o.applied {
			if m.Index == 2 && string(m.Command) != "z" {
				require.FailNow(t, lesson(fmt.Sprintf("at the end of Figure 8, %v applied %s at index 2, where the committed entry is z\n%s", o.id(), m.Command, h.logs()),
					"no two nodes apply different commands at one index (State Machine Safety, §5.4.3)"))
			}
		}
	}
	require.True(t, h.n(5).node.CommitIndex() >= 3, lesson(
		fmt.Sprintf("at the end of Figure 8, n5, leader of term 4, proposed w and every message between it and n2, n3, n4 got through; its commit index is %d\n%s", h.n(5).node.CommitIndex(), h.logs()),
		"the leader commits its own term's entry on a majority, and z before it"))
}
