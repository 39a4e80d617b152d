package raftlog

// Cluster tests run whole clusters on the simulator, over many seeds, with
// the safety rules of Raft checked after every event.

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
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

// cluster is a simulated Raft cluster whose services record what they
// apply, with the safety rules watched.
type cluster struct {
	*sim.Cluster
	t       testing.TB
	applied map[sim.NodeID][]ApplyMsg // by the node's current incarnation
	chosen  map[uint64]ApplyMsg       // the first entry applied at each index, by anyone
	knownIn map[uint64]uint64         // the term of the node that applied it first
	firstBy map[uint64]sim.NodeID     // who applied it first
	leaders map[uint64]sim.NodeID     // the leader of each term, once seen
	problem error                     // the first rule broken inside an apply
	tallies map[sim.NodeID]*tally     // each node's service, current incarnation
	hashAt  map[uint64]uint64         // the state after each index, as first applied
	indexOf map[string]uint64         // where each command was first applied
	events  int                       // invariant checks so far
}

func newCluster(t testing.TB, size int, seed uint64, network sim.Network) *cluster {
	t.Helper()
	return newClusterWith(t, size, seed, network, testCfg)
}

func newClusterWith(t testing.TB, size int, seed uint64, network sim.Network, cfg Config) *cluster {
	t.Helper()
	c := &cluster{t: t, applied: map[sim.NodeID][]ApplyMsg{}, chosen: map[uint64]ApplyMsg{},
		firstBy: map[uint64]sim.NodeID{}, leaders: map[uint64]sim.NodeID{}, knownIn: map[uint64]uint64{},
		tallies: map[sim.NodeID]*tally{}, hashAt: map[uint64]uint64{}, indexOf: map[string]uint64{}}
	c.Cluster = sim.NewCluster(t, sim.Config{Nodes: size, Seed: seed, Network: network}, New(cfg, c.service))
	c.TrackState(func(id sim.NodeID) sim.State { return stateOf(c.node(id)) })
	c.Invariant("applied entries agree", func() error { return c.problem })
	c.Invariant("at most one leader per term", c.oneLeaderPerTerm)
	c.Invariant("a leader holds every committed entry", c.leaderComplete)
	c.Invariant("no node loses an entry it committed", c.keepsCommitted)
	c.Invariant("logs that agree on an entry agree on all before it", c.logsMatch)
	return c
}

// stateOf is what timelines and diagrams show of a node.
func stateOf(n *Node) sim.State {
	return sim.State{Role: n.Role().String(), Term: n.Term(), Vote: n.VotedFor(), Log: len(n.LogEntries())}
}

// service is what runs on each incarnation of a node: a fresh tally.
func (c *cluster) service(id sim.NodeID) Service {
	c.applied[id] = nil // a restarted node applies from the start again
	t := &tally{c: c, id: id}
	c.tallies[id] = t
	return t
}

// tally is the service of the cluster tests. Its state is the index of the
// last entry it applied and a hash of every command up to there, in order;
// a snapshot is that state. It checks each entry against what other nodes
// applied at the same index, and each state against theirs.
type tally struct {
	c     *cluster
	id    sim.NodeID
	Index uint64
	Hash  uint64
}

func (s *tally) Apply(m ApplyMsg) {
	c := s.c
	prev := c.applied[s.id]
	c.applied[s.id] = append(prev, m)
	if c.problem != nil {
		return
	}
	if m.Index != s.Index+1 {
		c.problem = fmt.Errorf("%v applied index %d after index %d, want index %d next\nrule: every committed entry is applied once, in index order, with no gaps (Figure 2: lastApplied goes up one at a time to commitIndex)",
			s.id, m.Index, s.Index, s.Index+1)
		return
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%s", s.Hash, m.Command)
	s.Index, s.Hash = m.Index, h.Sum64()
	first, seen := c.chosen[m.Index]
	if !seen {
		c.chosen[m.Index], c.firstBy[m.Index], c.hashAt[m.Index] = m, s.id, s.Hash
		if n := c.node(s.id); n != nil {
			c.knownIn[m.Index] = n.Term()
		}
		if _, ok := c.indexOf[string(m.Command)]; !ok {
			c.indexOf[string(m.Command)] = m.Index
		}
		return
	}
	if first.Term != m.Term || string(first.Command) != string(m.Command) {
		c.problem = fmt.Errorf("%v applied %q (term %d) at index %d, where %v had applied %q (term %d)\nrule: once an entry is applied anywhere, no node applies another at its index (State Machine Safety, §5.4.3); see which rule of commitment let one of them through",
			s.id, m.Command, m.Term, m.Index, c.firstBy[m.Index], first.Command, first.Term)
		return
	}
	if s.Hash != c.hashAt[m.Index] {
		c.problem = fmt.Errorf("%v applied index %d on a state that differs from %v's at index %d: a snapshot it restored, or an entry it applied, was not the cluster's\nrule: a snapshot stands for exactly the entries up to its index (§7)",
			s.id, m.Index, c.firstBy[m.Index], m.Index-1)
	}
}

func (s *tally) Snapshot() []byte {
	data, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return data
}

func (s *tally) Restore(data []byte) {
	c := s.c
	var snap tally
	if err := json.Unmarshal(data, &snap); err != nil {
		if c.problem == nil {
			c.problem = fmt.Errorf("%v's service was given %d bytes to restore that are not a snapshot it made: %v\nrule: the data of a snapshot is the service's own, from Snapshot(), passed on unchanged", s.id, len(data), err)
		}
		return
	}
	if c.problem == nil && snap.Index < s.Index {
		c.problem = fmt.Errorf("%v's service, at index %d, was told to restore a snapshot of index %d: it would undo entries it has applied\nrule: a node never restores a snapshot older than what it has applied; such a snapshot is old news (§7)", s.id, s.Index, snap.Index)
	}
	if h, ok := c.hashAt[snap.Index]; c.problem == nil && ok && h != snap.Hash {
		c.problem = fmt.Errorf("%v's service restored a snapshot of index %d whose state differs from what %v applied up to there\nrule: a snapshot stands for exactly the entries up to its index (§7)", s.id, snap.Index, c.firstBy[snap.Index])
	}
	s.Index, s.Hash = snap.Index, snap.Hash
}

func (c *cluster) node(id sim.NodeID) *Node {
	n, _ := c.Node(id).(*Node)
	return n
}

func (c *cluster) oneLeaderPerTerm() error {
	for _, id := range c.IDs() {
		n := c.node(id)
		if n == nil || n.Role() != Leader {
			continue
		}
		if prev, seen := c.leaders[n.Term()]; seen && prev != id {
			return fmt.Errorf("two leaders in term %d: %v and %v\nrule: each node votes once per term, and a leader needs a majority (§5.2)", n.Term(), prev, id)
		}
		c.leaders[n.Term()] = id
	}
	return nil
}

// logsMatchEvery is how often, in events, Log Matching is checked: it
// compares every pair of logs, too slow for every event of every seed.
const logsMatchEvery = 64

// logsMatch checks the Log Matching Property (§5.3): if two logs hold an
// entry of the same index and term, they hold the same entries up to it.
func (c *cluster) logsMatch() error {
	if c.events++; c.events%logsMatchEvery != 0 {
		return nil
	}
	ids := c.IDs()
	for i, a := range ids {
		for _, b := range ids[i+1:] {
			na, nb := c.node(a), c.node(b)
			if na == nil || nb == nil {
				continue
			}
			if err := matching(a, na.LogEntries(), b, nb.LogEntries()); err != nil {
				return err
			}
		}
	}
	return nil
}

// matching compares two logs (each may start after a snapshot) over the
// indexes both hold.
func matching(a sim.NodeID, la []Entry, b sim.NodeID, lb []Entry) error {
	if len(la) == 0 || len(lb) == 0 {
		return nil
	}
	first := max(la[0].Index, lb[0].Index)
	last := min(la[len(la)-1].Index, lb[len(lb)-1].Index)
	agree := uint64(0) // the highest index whose entries have one term
	for i := first; i <= last; i++ {
		if la[i-la[0].Index].Term == lb[i-lb[0].Index].Term {
			agree = i
		}
	}
	for i := first; i <= agree; i++ {
		ea, eb := la[i-la[0].Index], lb[i-lb[0].Index]
		if ea.Term != eb.Term || string(ea.Command) != string(eb.Command) {
			return fmt.Errorf("%v and %v both hold an entry of term %d at index %d, yet differ at index %d: %v has %q (term %d), %v has %q (term %d)\nrule: two logs with an entry of the same index and term hold the same entries up to it (Log Matching, §5.3): a follower takes entries only after checking PrevLogIndex and PrevLogTerm, and replaces whatever conflicts",
				a, b, la[agree-la[0].Index].Term, agree, i, a, ea.Command, ea.Term, b, eb.Command, eb.Term)
		}
	}
	return nil
}

// keepsCommitted checks that no log ends before its node's commit index.
func (c *cluster) keepsCommitted() error {
	for _, id := range c.IDs() {
		n := c.node(id)
		if n == nil {
			continue
		}
		if last, _ := n.lastLog(); last < n.CommitIndex() {
			return fmt.Errorf("%v has committed up to index %d, and its log now ends at %d: it dropped entries it had committed\nrule: a follower deletes entries only on a real conflict, an entry of the same index and another term; an AppendEntries that comes late or twice, with entries that already match, changes nothing (Figure 2, AppendEntries 3)",
				id, n.CommitIndex(), last)
		}
	}
	return nil
}

// leaderComplete checks that each leader holds every entry applied
// anywhere before its term began (Leader Completeness, §5.4): an entry
// first applied by a node in term T was committed in T or earlier, so
// every leader of a later term holds it.
func (c *cluster) leaderComplete() error {
	for _, id := range c.IDs() {
		n := c.node(id)
		if n == nil || n.Role() != Leader {
			continue
		}
		log := n.LogEntries()
		first, _ := n.lastLog() // the log after the snapshot starts here
		first++
		if len(log) > 0 {
			first = log[0].Index
		}
		for index := first; index <= uint64(len(c.chosen)); index++ {
			m := c.chosen[index]
			if n.Term() <= c.knownIn[index] {
				continue
			}
			pos := index - first // entries before first are in the snapshot, checked by the service
			if pos >= uint64(len(log)) || log[pos].Term != m.Term || string(log[pos].Command) != string(m.Command) {
				held := "nothing"
				if pos < uint64(len(log)) {
					held = fmt.Sprintf("%q (term %d)", log[pos].Command, log[pos].Term)
				}
				return fmt.Errorf("%v leads term %d, and its log holds %s at index %d, where %v applied %q (term %d)\nrule: a leader's log holds every committed entry (Leader Completeness, §5.4): a node votes only for a candidate whose log is at least as up to date as its own (§5.4.1), and commits only what a majority holds",
					id, n.Term(), held, index, c.firstBy[index], m.Command, m.Term)
			}
		}
	}
	return nil
}

// leader returns the running node that leads the newest term any running
// node leads, if one does. A leader cut off by a partition may still think
// it leads an old term; a client that picks it finds out when nothing
// commits, and tries again.
func (c *cluster) leader() (sim.NodeID, bool) {
	var best sim.NodeID
	for _, id := range c.IDs() {
		if n := c.node(id); n != nil && n.Role() == Leader && (best == 0 || n.Term() > c.node(best).Term()) {
			best = id
		}
	}
	return best, best != 0
}

// appliedBy counts the running nodes that have applied cmd.
func (c *cluster) appliedBy(cmd string) int {
	count := 0
	for _, id := range c.IDs() {
		if c.node(id) == nil {
			continue
		}
		if index, ok := c.indexOf[cmd]; ok && c.tallies[id].Index >= index {
			count++ // applied it, or restored a snapshot that holds it
		}
	}
	return count
}

// one gets cmd committed and applied by want running nodes, as a client
// would: it proposes at the leader, and proposes again at whoever leads
// if nothing has come of it after a while. It fails the test if cmd is
// not applied within the deadline.
func (c *cluster) one(cmd string, want int, deadline time.Duration) {
	c.t.Helper()
	const retry = time.Second
	start := c.Now()
	for c.Now()-start < deadline {
		var proposedAt time.Duration
		var refusedBy sim.NodeID // a leader whose Propose said no
		found, err := c.World.RunUntil(func() bool {
			id, ok := c.leader()
			if !ok {
				return false
			}
			if _, _, took := c.node(id).Propose([]byte(cmd)); !took {
				refusedBy = id
				return false
			}
			proposedAt = c.Now()
			return true
		}, start+deadline)
		switch {
		case err != nil:
			c.Fatal(err)
		case !found && refusedBy != 0:
			c.Fatal(fmt.Errorf("%v leads term %d, and its Propose(%q) returned false\n%s\nrule: the leader takes every proposal: it appends it to its log and returns its index, its term and true (§5.3)",
				refusedBy, c.node(refusedBy).Term(), cmd, c.states()))
		case !found:
			c.Fatal(fmt.Errorf("no leader took %q within %v of virtual time\n%s", cmd, deadline, c.states()))
		}
		ok, err := c.World.RunUntil(func() bool { return c.appliedBy(cmd) >= want }, min(proposedAt+retry, start+deadline))
		if err != nil {
			c.Fatal(err)
		}
		if ok {
			return
		}
	}
	c.Fatal(fmt.Errorf("%q was proposed at the leader, and within %v of virtual time only %d nodes applied it, of the %d that can\n%s\nrule: an entry the leader takes in reaches every follower and commits once a majority holds it; each node applies what it knows to be committed (§5.3)",
		cmd, deadline, c.appliedBy(cmd), want, c.states()))
}

// states is every node's role, term, log, commit and applied index, one
// line each.
func (c *cluster) states() string {
	var lines []string
	for _, id := range c.IDs() {
		n := c.node(id)
		if n == nil {
			lines = append(lines, fmt.Sprintf("    %v  down", id))
			continue
		}
		lines = append(lines, fmt.Sprintf("    %v  %-9v term %d, log %s, commit %d, applied %d",
			id, n.Role(), n.Term(), showLogShort(n.LogEntries()), n.CommitIndex(), n.LastApplied()))
	}
	return strings.Join(lines, "\n")
}

// showLogShort writes a log's length and terms, run by run: "5 entries:
// t1×3 t2×2".
func showLogShort(log []Entry) string {
	if len(log) == 0 {
		return "empty"
	}
	var runs []string
	for i := 0; i < len(log); {
		j := i
		for j < len(log) && log[j].Term == log[i].Term {
			j++
		}
		runs = append(runs, fmt.Sprintf("t%d×%d", log[i].Term, j-i))
		i = j
	}
	return fmt.Sprintf("%d entries: %s", len(log), strings.Join(runs, " "))
}

// sweep runs check over the test's seeds.
func sweep(t *testing.T, check func(t testing.TB, seed uint64)) {
	t.Helper()
	sim.Sweep(t, sweepSeeds, check)
}
