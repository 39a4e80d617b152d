package raft

// Cluster tests run whole clusters on the simulator, over many seeds, with
// the rules of safety checked after every event.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/distlings/distlings/labs/internal/sim"
)

// sweepSeeds is how many seeds each cluster test tries by default.
const sweepSeeds = 200

// faulty is a network that loses, duplicates and reorders messages.
var faulty = sim.Network{MinLatency: time.Millisecond, MaxLatency: 10 * time.Millisecond,
	Loss: 0.05, Duplicate: 0.02, Reorder: 0.02}

// cluster is a simulated Raft cluster with its safety rules watched.
type cluster struct {
	*sim.Cluster
	t        testing.TB
	leaders  map[uint64]leadership // the leader of each term, once seen
	votes    map[voteKey]vote      // the vote each node gave in each term
	problem  error                 // a vote given twice, seen on the network
	elected  []leadership          // every node that became leader, in order
	requests int                   // RequestVotes sent (not pre-votes)

	second         int64 // the virtual second being counted
	sentThisSecond int   // messages sent in it
}

type leadership struct {
	node  sim.NodeID
	term  uint64
	since time.Duration
}

type voteKey struct {
	voter sim.NodeID
	term  uint64
}

type vote struct {
	candidate sim.NodeID
	at        time.Duration
}

// newCluster starts size nodes and watches two rules after every event: at
// most one leader per term, and at most one vote per node per term (as
// seen on the network, so across crashes too).
func newCluster(t testing.TB, size int, seed uint64, network sim.Network, cfg Config) *cluster {
	t.Helper()
	c := &cluster{t: t, leaders: map[uint64]leadership{}, votes: map[voteKey]vote{}}
	c.Cluster = sim.NewCluster(t, sim.Config{Nodes: size, Seed: seed, Network: network}, New(cfg))
	c.TrackState(c.state)
	c.Observe(c.watchVotes)
	c.Observe(c.watchTraffic)
	c.Invariant("at most one leader per term", c.oneLeaderPerTerm)
	c.Invariant("at most one vote per node per term", func() error { return c.problem })
	c.Invariant("no flood of messages", c.noFlood)
	return c
}

// floodPerNodePerSecond is far above what any election needs: a cluster
// that sends more is in a loop, and the test stops it at once.
const floodPerNodePerSecond = 400

func (c *cluster) watchTraffic(r sim.Record) {
	if r.Kind != sim.KindSend && r.Kind != sim.KindDuplicate {
		return
	}
	if second := int64(r.At / time.Second); second != c.second {
		c.second, c.sentThisSecond = second, 0
	}
	c.sentThisSecond++
}

func (c *cluster) noFlood() error {
	if limit := floodPerNodePerSecond * len(c.IDs()); c.sentThisSecond > limit {
		return fmt.Errorf("%d messages were sent within one second of virtual time, over %d\nrule: a node sends messages when a timer fires or a message asks for an answer, a few per peer per heartbeat; a message sent in answer to every answer loops without end",
			c.sentThisSecond, limit)
	}
	return nil
}

// state is what timelines and diagrams show of a node.
func (c *cluster) state(id sim.NodeID) sim.State {
	n := c.node(id)
	return sim.State{Role: n.Role().String(), Term: n.Term(), Vote: n.VotedFor()}
}

func (c *cluster) node(id sim.NodeID) *Node {
	n, _ := c.Node(id).(*Node)
	return n
}

// watchVotes sees every message sent, and remembers the votes granted.
func (c *cluster) watchVotes(r sim.Record) {
	if r.Kind != sim.KindSend && r.Kind != sim.KindDuplicate {
		return
	}
	switch m := r.Msg.(type) {
	case RequestVote:
		if !m.PreVote {
			c.requests++
		}
	case RequestVoteReply:
		if !m.VoteGranted || m.PreVote || c.problem != nil {
			return
		}
		key := voteKey{voter: r.Node, term: m.Term}
		if prev, ok := c.votes[key]; ok && prev.candidate != r.Peer {
			c.problem = fmt.Errorf("%v voted for %v (at %s) and for %v (at %s), both in term %d\nrule: a node votes at most once per term, and remembers it across a crash: save the vote before replying, load it in Start (Raft §5.2, Figure 2)",
				r.Node, prev.candidate, at(prev.at), r.Peer, at(r.At), m.Term)
			return
		}
		c.votes[key] = vote{candidate: r.Peer, at: r.At}
	}
}

func (c *cluster) oneLeaderPerTerm() error {
	for _, id := range c.IDs() {
		n := c.node(id)
		if n == nil || n.Role() != Leader {
			continue
		}
		prev, seen := c.leaders[n.Term()]
		if !seen {
			l := leadership{node: id, term: n.Term(), since: c.Now()}
			c.leaders[n.Term()] = l
			c.elected = append(c.elected, l)
			continue
		}
		if prev.node != id {
			return fmt.Errorf("two leaders in term %d: %v (since %s) and %v (since %s)\nrule: a candidate wins only with votes from a majority, and each node votes once per term (Raft §5.2); two leaders means a vote was given twice or counted wrongly",
				n.Term(), prev.node, at(prev.since), id, at(c.Now()))
		}
	}
	return nil
}

// leader returns the node that leads now, if exactly one running node
// believes it leads in the newest term any running node knows.
func (c *cluster) leader() (sim.NodeID, bool) {
	var newest uint64
	for _, id := range c.IDs() {
		if n := c.node(id); n != nil {
			newest = max(newest, n.Term())
		}
	}
	for _, id := range c.IDs() {
		if n := c.node(id); n != nil && n.Role() == Leader && n.Term() == newest {
			return id, true
		}
	}
	return 0, false
}

// leaderAmong returns a node of group that leads in the newest term known
// in group.
func (c *cluster) leaderAmong(group []sim.NodeID) (sim.NodeID, bool) {
	var newest uint64
	for _, id := range group {
		if n := c.node(id); n != nil {
			newest = max(newest, n.Term())
		}
	}
	for _, id := range group {
		if n := c.node(id); n != nil && n.Role() == Leader && n.Term() == newest {
			return id, true
		}
	}
	return 0, false
}

func (c *cluster) roles() string {
	var parts []string
	for _, id := range c.IDs() {
		if n := c.node(id); n != nil {
			parts = append(parts, fmt.Sprintf("%v %v in term %d", id, n.Role(), n.Term()))
		} else {
			parts = append(parts, fmt.Sprintf("%v down", id))
		}
	}
	return strings.Join(parts, ", ")
}

// states is every node's role, term, vote and leader, one line each.
func (c *cluster) states() string {
	var lines []string
	for _, id := range c.IDs() {
		n := c.node(id)
		if n == nil {
			lines = append(lines, fmt.Sprintf("    %v  down", id))
			continue
		}
		leader := "none known"
		if n.Leader() != 0 {
			leader = n.Leader().String()
		}
		lines = append(lines, fmt.Sprintf("    %v  %-13v term %d, voted for %s, leader %s", id, n.Role(), n.Term(), votedFor(n.VotedFor()), leader))
	}
	return strings.Join(lines, "\n")
}

func at(d time.Duration) string { return strings.TrimSpace(sim.FormatTime(d)) }

// sweep runs check over the test's seeds.
func sweep(t *testing.T, check func(t testing.TB, seed uint64)) {
	t.Helper()
	sim.Sweep(t, sweepSeeds, check)
}

// scheduleOneWayCuts cuts links one way, at times and between nodes drawn
// from the seed: about every every until until, the link from one node to
// another stops carrying messages while the other way still works (a
// firewall rule, a full send queue), until the network heals up to a
// second later. Between times, n2 may hear n1 while n1 does not hear n2.
func (c *cluster) scheduleOneWayCuts(every, until time.Duration) {
	c.ScheduleFaults(sim.Faults{Every: every, MaxDown: time.Second, Cuts: true, Until: until})
}
