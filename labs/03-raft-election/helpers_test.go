package raft

// The rule tests drive one node by hand, as etcd-io/raft's paper tests do:
// a fake Env records everything the node does, in order, and the test
// checks exactly what it sent, which timers it set and what it saved.

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/sim"
)

// votedFor names whom a node voted for.
func votedFor(id sim.NodeID) string {
	if id == 0 {
		return "nobody"
	}
	return id.String()
}

// lesson joins what happened and the rule it breaks into one message.
func lesson(what, rule string) string { return what + "\nrule: " + rule }

// did is one thing a node did through its Env.
type did struct {
	kind  string // "send", "save", "set", "cancel"
	to    sim.NodeID
	msg   sim.Message
	hs    HardState
	timer sim.Timer
	id    sim.TimerID
	at    time.Duration // for "set": when it would fire
}

func (d did) String() string {
	switch d.kind {
	case "send":
		return fmt.Sprintf("send %v to %v", d.msg, d.to)
	case "save":
		return fmt.Sprintf("save term %d, voted for %s", d.hs.Term, votedFor(d.hs.VotedFor))
	case "set":
		return fmt.Sprintf("set timer %v for %v", sim.Describe(d.timer), d.at)
	}
	return fmt.Sprintf("cancel timer %d", d.id)
}

type pending struct {
	id    sim.TimerID
	at    time.Duration
	value sim.Timer
}

// fakeEnv is the whole world of one node under test.
type fakeEnv struct {
	t       *testing.T
	id      sim.NodeID
	size    int
	now     time.Duration
	rand    *rand.Rand
	storage *fakeStorage
	timers  []pending
	nextID  sim.TimerID
	log     []did // everything since the last take
	lines   []string
	// crashOnSend crashes the node the moment it sends a message: from
	// then on nothing it does reaches the network or the storage.
	crashOnSend, down bool
	// crashAfterWrites, if above zero, crashes the node the moment its
	// crashAfterWrites-th write is on disk, before whatever comes next.
	crashAfterWrites, writes int
}

type fakeStorage struct {
	env  *fakeEnv
	data map[string][]byte
}

func (s *fakeStorage) Get(key string) ([]byte, bool) {
	v, ok := s.data[key]
	return append([]byte(nil), v...), ok
}

func (s *fakeStorage) Put(key string, value []byte) {
	if s.env.down {
		return // the machine is off: the write never happens
	}
	s.data[key] = append([]byte(nil), value...)
	if key == hardStateKey {
		s.env.log = append(s.env.log, did{kind: "save", hs: LoadHardState(s)})
	}
	if s.env.crashAfterWrites > 0 {
		s.env.writes++
		if s.env.writes == s.env.crashAfterWrites {
			s.env.down = true
		}
	}
}

func (s *fakeStorage) Delete(key string) { delete(s.data, key) }

func (e *fakeEnv) ID() sim.NodeID { return e.id }
func (e *fakeEnv) Peers() []sim.NodeID {
	var peers []sim.NodeID
	for i := 1; i <= e.size; i++ {
		if sim.NodeID(i) != e.id {
			peers = append(peers, sim.NodeID(i))
		}
	}
	return peers
}
func (e *fakeEnv) Now() time.Duration { return e.now }
func (e *fakeEnv) Send(to sim.NodeID, msg sim.Message) {
	if e.down {
		return
	}
	e.log = append(e.log, did{kind: "send", to: to, msg: msg})
	e.down = e.crashOnSend
}
func (e *fakeEnv) SetTimer(after time.Duration, t sim.Timer) sim.TimerID {
	e.nextID++
	e.timers = append(e.timers, pending{id: e.nextID, at: e.now + after, value: t})
	e.log = append(e.log, did{kind: "set", timer: t, id: e.nextID, at: e.now + after})
	return e.nextID
}
func (e *fakeEnv) CancelTimer(id sim.TimerID) {
	e.timers = slices.DeleteFunc(e.timers, func(p pending) bool { return p.id == id })
	e.log = append(e.log, did{kind: "cancel", id: id})
}
func (e *fakeEnv) Rand() *rand.Rand        { return e.rand }
func (e *fakeEnv) Storage() sim.Storage    { return e.storage }
func (e *fakeEnv) Logf(f string, a ...any) { e.lines = append(e.lines, fmt.Sprintf(f, a...)) }

// testCfg is the timing of the rule tests.
var testCfg = Config{ElectionTimeoutMin: 150 * time.Millisecond, ElectionTimeoutMax: 300 * time.Millisecond, HeartbeatInterval: 50 * time.Millisecond}

// one is a node under test with its fake world.
type one struct {
	t    *testing.T
	node *Node
	env  *fakeEnv
	cfg  Config
}

// newOne starts node id of a cluster of size nodes.
func newOne(t *testing.T, id sim.NodeID, size int, cfg Config) *one {
	t.Helper()
	env := &fakeEnv{t: t, id: id, size: size, rand: rand.New(rand.NewPCG(uint64(id), 7))}
	env.storage = &fakeStorage{env: env, data: map[string][]byte{}}
	o := &one{t: t, env: env, cfg: cfg}
	o.boot()
	return o
}

// boot starts a fresh Node on the same storage: a start, or a restart.
func (o *one) boot() {
	o.node = New(o.cfg)(o.env.id).(*Node)
	o.env.timers, o.env.log = nil, nil
	o.node.Start(o.env)
}

// take returns what the node did since the last take.
func (o *one) take() []did {
	log := o.env.log
	o.env.log = nil
	return log
}

// sent returns the messages in log, by receiver.
func sent(log []did) map[sim.NodeID][]sim.Message {
	out := map[sim.NodeID][]sim.Message{}
	for _, d := range log {
		if d.kind == "send" {
			out[d.to] = append(out[d.to], d.msg)
		}
	}
	return out
}

// wantMessages checks that got are exactly the messages want, and says
// both in the messages' own words when they are not.
func wantMessages(t *testing.T, want, got []sim.Message, msgAndArgs ...any) bool {
	t.Helper()
	if reflect.DeepEqual(want, got) || (len(want) == 0 && len(got) == 0) {
		return true
	}
	return assert.Fail(t, fmt.Sprintf("sent the wrong messages\n    got:  %s\n    want: %s", listMessages(got), listMessages(want)), msgAndArgs...)
}

func listMessages(msgs []sim.Message) string {
	if len(msgs) == 0 {
		return "nothing"
	}
	var parts []string
	for _, m := range msgs {
		parts = append(parts, sim.Describe(m))
	}
	return strings.Join(parts, ", ")
}

func describe(log []did) string {
	if len(log) == 0 {
		return "    (nothing)"
	}
	var lines []string
	for _, d := range log {
		lines = append(lines, "    "+d.String())
	}
	return strings.Join(lines, "\n")
}

// timer returns the pending timer holding a value like v.
func (o *one) timer(v sim.Timer) (pending, bool) {
	for _, p := range o.env.timers {
		if fmt.Sprintf("%T", p.value) == fmt.Sprintf("%T", v) {
			return p, true
		}
	}
	return pending{}, false
}

// timers counts the pending timers holding a value like v.
func (o *one) timers(v sim.Timer) int {
	n := 0
	for _, p := range o.env.timers {
		if fmt.Sprintf("%T", p.value) == fmt.Sprintf("%T", v) {
			n++
		}
	}
	return n
}

// fire moves the clock to the pending timer of v's type and fires it.
func (o *one) fire(v sim.Timer, why string) {
	o.t.Helper()
	p, ok := o.timer(v)
	require.True(o.t, ok, lesson(fmt.Sprintf("%v has no %v timer set; %s", o.env.id, sim.Describe(v), why),
		"a follower or candidate always has an election timer running, and a leader a heartbeat timer (Figure 2)"))
	o.env.now = p.at
	o.env.timers = slices.DeleteFunc(o.env.timers, func(q pending) bool { return q.id == p.id })
	o.node.HandleTimer(p.value)
}

// elect makes the node a candidate by firing its election timer.
func (o *one) elect() {
	o.t.Helper()
	o.fire(electionTimeout{}, "it cannot start an election")
}

// deliver hands the node a message.
func (o *one) deliver(from sim.NodeID, msg sim.Message) []did {
	o.node.HandleMessage(from, msg)
	return o.take()
}

// deliverThenCrash hands the node a message and crashes it the moment its
// first message leaves, as a machine that loses power right after a reply
// is sent: what the handler does after the send is lost. Then the node
// restarts on its storage. It returns what the node did before the crash.
func (o *one) deliverThenCrash(from sim.NodeID, msg sim.Message) []did {
	o.env.crashOnSend = true
	o.node.HandleMessage(from, msg)
	o.env.crashOnSend, o.env.down = false, false
	log := o.take()
	o.boot()
	return log
}

// crashAfterWrite runs act and crashes the node the moment its k-th write
// is on disk, before anything it does next (the send that follows a save,
// or another save): a machine that loses power between two steps. Then the
// node restarts on its storage. It returns what the node did before the
// crash, and false if act made fewer than k writes (then nothing crashed).
func (o *one) crashAfterWrite(k int, act func()) ([]did, bool) {
	o.t.Helper()
	o.env.crashAfterWrites, o.env.writes = k, 0
	act()
	crashed := o.env.down
	o.env.crashAfterWrites, o.env.writes, o.env.down = 0, 0, false
	log := o.take()
	if crashed {
		o.boot()
	}
	return log, crashed
}

// advance moves the clock forward without firing anything.
func (o *one) advance(d time.Duration) { o.env.now += d }

// makeLeader walks the node through an election it wins, in term+1 (with
// a pre-vote first, if the node runs one).
func (o *one) makeLeader() {
	o.t.Helper()
	o.elect()
	o.take()
	if o.node.Role() == PreCandidate {
		for _, p := range o.env.Peers()[:o.env.size/2] {
			o.deliver(p, RequestVoteReply{Term: o.node.Term() + 1, VoteGranted: true, PreVote: true})
		}
		require.Equal(o.t, Candidate, o.node.Role(), lesson(
			fmt.Sprintf("%v asked for pre-votes for term %d and %d of its %d peers granted them, a majority with its own; it is %v", o.env.id, o.node.Term()+1, o.env.size/2, o.env.size-1, o.node.Role()),
			"a pre-candidate with pre-votes from a majority stands for election for real (§9.6)"))
		o.take()
	}
	for _, p := range o.env.Peers()[:o.env.size/2] {
		o.deliver(p, RequestVoteReply{Term: o.node.Term(), VoteGranted: true})
	}
	require.Equal(o.t, Leader, o.node.Role(), lesson(
		fmt.Sprintf("%v asked for votes in term %d and %d of its %d peers granted them, a majority with its own; it is %v", o.env.id, o.node.Term(), o.env.size/2, o.env.size-1, o.node.Role()),
		"a candidate that receives votes from a majority of the cluster becomes leader (§5.2)"))
	o.take()
}

// inRole returns node 1 of 5 in the given role, in term 2.
func inRole(t *testing.T, role Role) *one {
	t.Helper()
	o := newOne(t, 1, 5, testCfg)
	switch role {
	case Follower:
		o.deliver(2, AppendEntries{Term: 2, Leader: 2})
	case Candidate:
		o.deliver(2, AppendEntries{Term: 1, Leader: 2})
		o.elect()
	case Leader:
		o.deliver(2, AppendEntries{Term: 1, Leader: 2})
		o.makeLeader()
	}
	require.Equal(t, role, o.node.Role(), "setting up a %v", role)
	require.Equal(t, 2, int(o.node.Term()), "setting up: n1 in term 2")
	o.take()
	return o
}
