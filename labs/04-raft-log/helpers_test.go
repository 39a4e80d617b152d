package raftlog

// The rule tests drive nodes by hand, as etcd-io/raft's paper tests do:
// each node has a fake Env (labs/internal/nodetest) that records what it
// sends, which timers it sets and what it writes, and the test hands it
// exactly the messages of the scenario.

import (
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/nodetest"
	"github.com/distlings/distlings/labs/internal/sim"
)

// lesson joins what happened and the rule it breaks into one message.
func lesson(what, rule string) string { return what + "\nrule: " + rule }

// testCfg is the timing of the rule tests.
var testCfg = Config{ElectionTimeoutMin: 150 * time.Millisecond, ElectionTimeoutMax: 300 * time.Millisecond, HeartbeatInterval: 50 * time.Millisecond}

// one is a node under test with its fake world.
type one struct {
	t       *testing.T
	node    *Node
	env     *nodetest.Env
	applied []ApplyMsg // what the node applied, in order
}

// newOne starts node id of a cluster of size nodes.
func newOne(t *testing.T, id sim.NodeID, size int) *one {
	t.Helper()
	o := &one{t: t, env: nodetest.NewEnv(id, size, 7)}
	o.node = NewNode(testCfg, ApplyFunc(func(m ApplyMsg) { o.applied = append(o.applied, m) }))
	o.node.Start(o.env)
	o.env.Take()
	return o
}

func (o *one) id() sim.NodeID { return o.env.ID() }

// reboot crashes the node, if it is still up, and starts a fresh Node on
// its storage, applying to a fresh service.
func (o *one) reboot() {
	o.t.Helper()
	o.env.Reboot()
	o.applied = nil
	o.node = NewNode(testCfg, ApplyFunc(func(m ApplyMsg) { o.applied = append(o.applied, m) }))
	o.guard("in Start, after a crash", func() { o.node.Start(o.env) })
	o.env.Take()
}

// deliver hands the node a message and returns what it did.
func (o *one) deliver(from sim.NodeID, msg sim.Message) []nodetest.Did {
	o.t.Helper()
	o.guard(fmt.Sprintf("handling %s from %v", sim.Describe(msg), from), func() { o.node.HandleMessage(from, msg) })
	return o.env.Take()
}

// guard runs one call into the node, and fails the test, not the whole
// run, if the node panics: with what it was doing and where.
func (o *one) guard(what string, call func()) {
	o.t.Helper()
	var failure string
	sim.Guard(func() string {
		return fmt.Sprintf("%s: %v has been %s for %v, and has not returned", o.t.Name(), o.id(), what, sim.HangLimit)
	}, func() {
		defer func() {
			if v := recover(); v != nil {
				failure = fmt.Sprintf("%v panicked %s: %v\n\n%s\nits log was %s, commit %d", o.id(), what, v, nodeFrames(debug.Stack()), showLog(o.node.LogEntries()), o.node.CommitIndex())
			}
		}()
		call()
	})
	if failure != "" {
		require.FailNow(o.t, failure)
	}
}

// nodeFrames keeps the frames of the lab's own code from a stack.
func nodeFrames(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	var out []string
	for i := 0; i+1 < len(lines); i++ {
		if strings.Contains(lines[i], "(*Node).") && !strings.Contains(lines[i], "guard") {
			out = append(out, "    "+lines[i], "    "+lines[i+1])
		}
	}
	return strings.Join(out, "\n")
}

// propose hands cmd to the node's Propose.
func (o *one) propose(cmd string) (index, term uint64, ok bool) {
	o.t.Helper()
	o.guard(fmt.Sprintf("in Propose(%q)", cmd), func() { index, term, ok = o.node.Propose([]byte(cmd)) })
	return index, term, ok
}

// replies returns the AppendEntriesReplies the node sent to `to`.
func replies(log []nodetest.Did, to sim.NodeID) []AppendEntriesReply {
	var out []AppendEntriesReply
	for _, m := range nodetest.Sent(log)[to] {
		if r, ok := m.(AppendEntriesReply); ok {
			out = append(out, r)
		}
	}
	return out
}

// sentMessages turns AppendEntries back into messages, for listing.
func sentMessages(aes []AppendEntries) []sim.Message {
	out := make([]sim.Message, len(aes))
	for i, m := range aes {
		out[i] = m
	}
	return out
}

// appends returns the AppendEntries the node sent to `to`.
func appends(log []nodetest.Did, to sim.NodeID) []AppendEntries {
	var out []AppendEntries
	for _, m := range nodetest.Sent(log)[to] {
		if r, ok := m.(AppendEntries); ok {
			out = append(out, r)
		}
	}
	return out
}

// answerAppends answers every AppendEntries to `to` in log with a success
// for exactly what it carried, as a follower whose log matches would, and
// returns what the node did then and at its next heartbeat: a leader that
// probes with empty AppendEntries gets its answer, and goes on.
func (o *one) answerAppends(log []nodetest.Did, to sim.NodeID) []nodetest.Did {
	o.t.Helper()
	var out []nodetest.Did
	for _, m := range appends(log, to) {
		out = append(out, o.deliver(to, AppendEntriesReply{Term: m.Term, Success: true, Index: m.PrevLogIndex + uint64(len(m.Entries))})...)
	}
	return append(out, o.fire(heartbeatTick{})...)
}

// fire fires the node's pending timer of v's type, and returns what it did.
func (o *one) fire(v sim.Timer) []nodetest.Did {
	o.t.Helper()
	p, ok := o.env.TimerLike(v)
	require.True(o.t, ok, "%v has no %v timer set", o.id(), sim.Describe(v))
	o.env.Fire(p)
	o.guard("handling its timer "+sim.Describe(p.Value), func() { o.node.HandleTimer(p.Value) })
	return o.env.Take()
}

// makeLeader walks the node through an election it wins, in its term + 1,
// with votes from the first half of its peers.
func (o *one) makeLeader() []nodetest.Did {
	o.t.Helper()
	o.fire(electionTimeout{})
	var log []nodetest.Did
	size := len(o.env.Peers()) + 1
	for _, p := range o.env.Peers()[:size/2] {
		log = append(log, o.deliver(p, RequestVoteReply{Term: o.node.Term(), VoteGranted: true})...)
	}
	require.Equal(o.t, Leader, o.node.Role(), "setting up: %v won the votes of a majority in term %d", o.id(), o.node.Term())
	return log
}

// follow makes the node a follower of leader in term, holding entries
// (all of term entriesTerm, numbered from 1), as the leader's
// AppendEntries would leave it.
func (o *one) follow(leader sim.NodeID, term uint64, entries ...Entry) {
	o.t.Helper()
	log := o.deliver(leader, AppendEntries{Term: term, Leader: leader, Entries: entries})
	require.Equal(o.t, Follower, o.node.Role(), "setting up: %v follows %v in term %d", o.id(), leader, term)
	r := replies(log, leader)
	require.True(o.t, len(r) == 1 && r[0].Success && r[0].Index == uint64(len(entries)), lesson(
		fmt.Sprintf("setting up: %v, with an empty log, was sent %v and answered %s", o.id(), AppendEntries{Term: term, Leader: leader, Entries: entries}, nodetest.List(nodetest.Sent(log)[leader])),
		"a follower accepts entries that follow PrevLogIndex 0 (every log holds the empty prefix), and answers the leader once, with Success and Index, the last entry it now knows to match: PrevLogIndex + len(Entries) (Figure 2, messages.go)"))
	if got := o.node.LogEntries(); !sameLog(got, entries) {
		require.FailNow(o.t, lesson(
			fmt.Sprintf("setting up: %v, with an empty log, was sent %v; its log is %s, want %s", o.id(), AppendEntries{Term: term, Leader: leader, Entries: entries}, showLog(got), showLog(entries)),
			"a follower appends the entries that follow PrevLogIndex when its log matches there (Figure 2, AppendEntries rule 4); LogEntries shows n.log"))
	}
}

// ents builds entries numbered from first, one per term given.
func ents(first uint64, terms ...uint64) []Entry {
	out := make([]Entry, len(terms))
	for i, term := range terms {
		index := first + uint64(i)
		out[i] = Entry{Index: index, Term: term, Command: []byte(fmt.Sprintf("cmd%d.t%d", index, term))}
	}
	return out
}

// showLog writes a log as index:term pairs.
func showLog(log []Entry) string {
	if len(log) == 0 {
		return "[] (empty)"
	}
	parts := make([]string, len(log))
	for i, e := range log {
		parts[i] = e.String()
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func sameLog(a, b []Entry) bool {
	return slices.EqualFunc(a, b, func(x, y Entry) bool {
		return x.Index == y.Index && x.Term == y.Term && string(x.Command) == string(y.Command)
	})
}

// requireLog checks the node's log, entry by entry.
func requireLog(t *testing.T, o *one, want []Entry, msgAndArgs ...any) {
	t.Helper()
	got := o.node.LogEntries()
	if sameLog(got, want) {
		return
	}
	what := fmt.Sprintf("%v's log is %s, want %s", o.id(), showLog(got), showLog(want))
	if len(msgAndArgs) > 0 {
		what = fmt.Sprintf(msgAndArgs[0].(string), msgAndArgs[1:]...) + ": " + what
	}
	require.FailNow(t, what)
}

// showApplied writes applied entries as index:command.
func showApplied(msgs []ApplyMsg) string {
	if len(msgs) == 0 {
		return "nothing"
	}
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		parts[i] = fmt.Sprintf("%d:%s", m.Index, m.Command)
	}
	return strings.Join(parts, ", ")
}

// appliedAre checks what the node applied, in order.
func (o *one) appliedAre(want []Entry) bool {
	if len(o.applied) != len(want) {
		return false
	}
	for i, m := range o.applied {
		if m.Index != want[i].Index || m.Term != want[i].Term || string(m.Command) != string(want[i].Command) {
			return false
		}
	}
	return true
}

func showEntries(es []Entry) string {
	if len(es) == 0 {
		return "nothing"
	}
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = fmt.Sprintf("%d:%s", e.Index, e.Command)
	}
	return strings.Join(parts, ", ")
}
