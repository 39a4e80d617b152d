package heartbeat

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/sim"
)

// fakeEnv is a sim.Env that only records: the test plays the network and
// the clock by calling the node's handlers itself and moving now.
type fakeEnv struct {
	id      sim.NodeID
	peers   []sim.NodeID
	now     time.Duration
	storage mapStorage

	sent   []sendCall
	timers []setTimer
	logs   []string
}

type sendCall struct {
	to  sim.NodeID
	msg sim.Message
}

type setTimer struct {
	after time.Duration
	t     sim.Timer
}

func newFakeEnv(id sim.NodeID, peers ...sim.NodeID) *fakeEnv {
	return &fakeEnv{id: id, peers: peers, storage: mapStorage{}}
}

func (e *fakeEnv) ID() sim.NodeID                    { return e.id }
func (e *fakeEnv) Peers() []sim.NodeID               { return e.peers }
func (e *fakeEnv) Now() time.Duration                { return e.now }
func (e *fakeEnv) Send(to sim.NodeID, m sim.Message) { e.sent = append(e.sent, sendCall{to, m}) }
func (e *fakeEnv) CancelTimer(sim.TimerID)           {}
func (e *fakeEnv) Rand() *rand.Rand                  { return rand.New(rand.NewPCG(1, 2)) }
func (e *fakeEnv) Storage() sim.Storage              { return e.storage }
func (e *fakeEnv) Logf(format string, args ...any) {
	e.logs = append(e.logs, fmt.Sprintf(format, args...))
}

func (e *fakeEnv) SetTimer(after time.Duration, t sim.Timer) sim.TimerID {
	e.timers = append(e.timers, setTimer{after, t})
	return sim.TimerID(len(e.timers))
}

// drain returns what was sent, set and logged since the last call.
func (e *fakeEnv) drain() ([]sendCall, []setTimer, []string) {
	s, t, l := e.sent, e.timers, e.logs
	e.sent, e.timers, e.logs = nil, nil, nil
	return s, t, l
}

type mapStorage map[string][]byte

func (s mapStorage) Get(k string) ([]byte, bool) { v, ok := s[k]; return append([]byte(nil), v...), ok }
func (s mapStorage) Put(k string, v []byte)      { s[k] = append([]byte(nil), v...) }
func (s mapStorage) Delete(k string)             { delete(s, k) }

var cfg = Config{Interval: 100 * time.Millisecond} // Timeout defaults to 300ms

// start boots node 1 of a cluster of three on env and clears the record.
func start(t *testing.T, env *fakeEnv) *Node {
	t.Helper()
	n := New(cfg)(env.id).(*Node)
	n.Start(env)
	env.drain()
	return n
}

// tickAt moves the clock to now and fires the node's timer.
func tickAt(n *Node, env *fakeEnv, now time.Duration) {
	env.now = now
	n.HandleTimer(tick{})
}

func TestStartBumpsIncarnationAndAnnouncesItself(t *testing.T) {
	env := newFakeEnv(1, 2, 3)
	n := New(cfg)(1).(*Node)
	n.Start(env)

	sent, timers, logs := env.drain()
	hb := Heartbeat{From: 1, Seq: 1, Incarnation: 1}
	assert.Equal(t, []sendCall{{2, hb}, {3, hb}}, sent)
	assert.Equal(t, []setTimer{{100 * time.Millisecond, tick{}}}, timers)
	assert.Equal(t, []string{"started, incarnation 1"}, logs)
	assert.Equal(t, uint64(1), n.Incarnation())
	assert.Empty(t, n.Suspects())
}

func TestIncarnationSurvivesRestart(t *testing.T) {
	env := newFakeEnv(1, 2, 3)
	start(t, env)

	// A crash: the Node value is gone, the storage is not.
	env.now = 5 * time.Second
	n := New(cfg)(1).(*Node)
	n.Start(env)

	sent, _, logs := env.drain()
	assert.Equal(t, uint64(2), n.Incarnation())
	assert.Equal(t, []string{"started, incarnation 2"}, logs)
	assert.Equal(t, Heartbeat{From: 1, Seq: 1, Incarnation: 2}, sent[0].msg, "Seq starts again from 1")
}

func TestTickSendsToEveryPeerAndSetsTheTimerAgain(t *testing.T) {
	env := newFakeEnv(1, 2, 3)
	n := start(t, env)

	tickAt(n, env, 100*time.Millisecond)
	sent, timers, _ := env.drain()
	hb := Heartbeat{From: 1, Seq: 2, Incarnation: 1}
	assert.Equal(t, []sendCall{{2, hb}, {3, hb}}, sent)
	assert.Equal(t, []setTimer{{100 * time.Millisecond, tick{}}}, timers)

	n.HandleTimer("not ours")
	sent, timers, _ = env.drain()
	assert.Empty(t, sent, "a timer the node did not set is ignored")
	assert.Empty(t, timers)
}

func TestSilentPeerIsSuspectedAfterTimeout(t *testing.T) {
	env := newFakeEnv(1, 2, 3)
	n := start(t, env)

	// n2 keeps beating; n3 is never heard from.
	for i := uint64(1); i <= 2; i++ {
		tickAt(n, env, time.Duration(i)*100*time.Millisecond)
		n.HandleMessage(2, Heartbeat{From: 2, Seq: i, Incarnation: 1})
	}
	assert.Empty(t, n.Suspects(), "200ms of silence is within the 300ms timeout")

	tickAt(n, env, 300*time.Millisecond)
	assert.Equal(t, []sim.NodeID{3}, n.Suspects())
	_, _, logs := env.drain()
	assert.Equal(t, []string{"suspect n3"}, logs)

	tickAt(n, env, 400*time.Millisecond)
	_, _, logs = env.drain()
	assert.Empty(t, logs, "a suspicion is logged once")
	assert.Equal(t, PeerState{Heard: true, LastHeard: 200 * time.Millisecond, Incarnation: 1, Seq: 2}, n.Peer(2))
}

func TestSuspectedPeerIsBackWhenHeard(t *testing.T) {
	env := newFakeEnv(1, 2, 3)
	n := start(t, env)
	tickAt(n, env, 300*time.Millisecond)
	require.Equal(t, []sim.NodeID{2, 3}, n.Suspects())
	env.drain()

	env.now = 350 * time.Millisecond
	n.HandleMessage(3, Heartbeat{From: 3, Seq: 1, Incarnation: 1})
	assert.Equal(t, []sim.NodeID{2}, n.Suspects())
	_, _, logs := env.drain()
	assert.Equal(t, []string{"n3 is back"}, logs)
}

func TestOldAndDuplicateHeartbeatsAreIgnored(t *testing.T) {
	env := newFakeEnv(1, 2, 3)
	n := start(t, env)
	env.now = 50 * time.Millisecond
	n.HandleMessage(2, Heartbeat{From: 2, Seq: 5, Incarnation: 2})

	env.now = 90 * time.Millisecond
	n.HandleMessage(2, Heartbeat{From: 2, Seq: 5, Incarnation: 2}) // a duplicate
	n.HandleMessage(2, Heartbeat{From: 2, Seq: 4, Incarnation: 2}) // reordered
	n.HandleMessage(2, Heartbeat{From: 2, Seq: 9, Incarnation: 1}) // from before a crash
	n.HandleMessage(2, "some other protocol's message")
	n.HandleMessage(7, Heartbeat{From: 7, Seq: 1, Incarnation: 1}) // not a peer
	assert.Equal(t, PeerState{Heard: true, LastHeard: 50 * time.Millisecond, Incarnation: 2, Seq: 5}, n.Peer(2))
	assert.Equal(t, PeerState{}, n.Peer(7))
	_, _, logs := env.drain()
	assert.Empty(t, logs)
}

func TestRestartedPeerIsNoticedByItsIncarnation(t *testing.T) {
	env := newFakeEnv(1, 2, 3)
	n := start(t, env)
	n.HandleMessage(3, Heartbeat{From: 3, Seq: 7, Incarnation: 1})

	// n3 crashed and restarted between two of its heartbeats: never silent
	// long enough to suspect, but its Seq starts again from 1.
	n.HandleMessage(3, Heartbeat{From: 3, Seq: 1, Incarnation: 2})
	assert.Equal(t, uint64(2), n.Peer(3).Incarnation)
	_, _, logs := env.drain()
	assert.Equal(t, []string{"n3 restarted, incarnation 2"}, logs)
}

func TestSuspectsAreSorted(t *testing.T) {
	env := newFakeEnv(1, 4, 2, 3) // whatever order Peers comes in
	n := start(t, env)
	tickAt(n, env, time.Second)
	assert.Equal(t, []sim.NodeID{2, 3, 4}, n.Suspects())
}

func TestTimeoutDefaultsToThreeIntervals(t *testing.T) {
	n := New(Config{Interval: time.Second})(1).(*Node)
	assert.Equal(t, 3*time.Second, n.cfg.Timeout)
	assert.Panics(t, func() { New(Config{}) }, "a zero Interval would send heartbeats in a busy loop")
}
