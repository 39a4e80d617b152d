package sim_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/sim"
)

var lossy = sim.Network{MinLatency: time.Millisecond, MaxLatency: 20 * time.Millisecond,
	Loss: 0.1, Duplicate: 0.05, Reorder: 0.1}

func runPingers(seed uint64, network sim.Network, d time.Duration) *sim.World {
	w := sim.NewWorld(sim.Config{Nodes: 5, Seed: seed, Network: network}, newPinger(50*time.Millisecond))
	w.At(2*time.Second, "crash n2", func() { w.Crash(2) })
	w.At(3*time.Second, "partition", func() { w.Partition([]sim.NodeID{1, 2}, []sim.NodeID{3, 4, 5}) })
	w.At(4*time.Second, "restart n2", func() { w.Restart(2) })
	w.At(5*time.Second, "heal", w.Heal)
	if err := w.RunFor(d); err != nil {
		panic(err)
	}
	return w
}

func TestSameSeedGivesTheSameRunEventForEvent(t *testing.T) {
	a := runPingers(42, lossy, 10*time.Second)
	b := runPingers(42, lossy, 10*time.Second)
	require.Greater(t, a.Trace().Count(), uint64(3000), "a run long enough to mean something")
	assert.Equal(t, a.Trace().Count(), b.Trace().Count())
	assert.Equal(t, a.Trace().Hash(), b.Trace().Hash(), "one seed, one run: every event, time and message the same")
}

func TestDifferentSeedsGiveDifferentRuns(t *testing.T) {
	hashes := map[uint64]uint64{}
	for seed := uint64(1); seed <= 20; seed++ {
		h := runPingers(seed, lossy, 5*time.Second).Trace().Hash()
		for other, oh := range hashes {
			assert.NotEqual(t, oh, h, "seeds %d and %d gave the same run", other, seed)
		}
		hashes[seed] = h
	}
}

// count tallies the trace's records of each kind.
func count(w *sim.World) map[sim.Kind]int {
	n := map[sim.Kind]int{}
	for _, r := range w.Trace().Records() {
		n[r.Kind]++
	}
	return n
}

func TestFaultRatesMatchTheNetworkSettings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		network sim.Network
		kind    sim.Kind
		want    float64
	}{
		{"loss", sim.Network{Loss: 0.2}, sim.KindDrop, 0.2},
		{"duplication", sim.Network{Duplicate: 0.1}, sim.KindDuplicate, 0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sent, hits int
			for seed := uint64(1); seed <= 10; seed++ {
				w := sim.NewWorld(sim.Config{Nodes: 4, Seed: seed, Network: tc.network}, newPinger(10*time.Millisecond))
				require.NoError(t, w.RunFor(10*time.Second))
				n := count(w)
				sent += n[sim.KindSend] + n[sim.KindDuplicate]
				hits += n[tc.kind]
			}
			rate := float64(hits) / float64(sent)
			assert.InDelta(t, tc.want, rate, 0.01, "%d of %d messages", hits, sent)
		})
	}
}

func TestLatencyStaysInItsRangeAndReorderingNeedsIt(t *testing.T) {
	in := func(network sim.Network) (min, max time.Duration, overtaken int) {
		w := sim.NewWorld(sim.Config{Nodes: 2, Seed: 7, Network: network}, newPinger(time.Millisecond))
		require.NoError(t, w.RunFor(5*time.Second))
		sentAt := map[int]time.Duration{}
		lastRound := 0
		min = time.Hour
		for _, r := range w.Trace().Records() {
			if r.Node != 1 {
				continue
			}
			switch r.Kind {
			case sim.KindSend:
				sentAt[r.Msg.(Ping).Round] = r.At
			case sim.KindDeliver:
				p := r.Msg.(Ping)
				d := r.At - sentAt[p.Round]
				min, max = mintime(min, d), maxtime(max, d)
				if p.Round < lastRound {
					overtaken++
				}
				lastRound = p.Round
			}
		}
		return min, max, overtaken
	}
	lo, hi, overtaken := in(sim.Network{MinLatency: 3 * time.Millisecond, MaxLatency: 3 * time.Millisecond})
	assert.Equal(t, 3*time.Millisecond, lo)
	assert.Equal(t, 3*time.Millisecond, hi)
	assert.Zero(t, overtaken, "with one latency and no reordering, messages arrive in order")

	lo, hi, _ = in(sim.Network{MinLatency: 2 * time.Millisecond, MaxLatency: 9 * time.Millisecond})
	assert.GreaterOrEqual(t, lo, 2*time.Millisecond)
	assert.LessOrEqual(t, hi, 9*time.Millisecond)
	assert.Less(t, lo, 3*time.Millisecond, "the whole range is used")
	assert.Greater(t, hi, 8*time.Millisecond, "the whole range is used")

	_, hi, overtaken = in(sim.Network{MinLatency: time.Millisecond, MaxLatency: time.Millisecond, Reorder: 0.2, ReorderDelay: 10 * time.Millisecond})
	assert.Greater(t, overtaken, 100, "held-back messages are overtaken")
	assert.LessOrEqual(t, hi, 11*time.Millisecond)
}

func mintime(a, b time.Duration) time.Duration { return min(a, b) }
func maxtime(a, b time.Duration) time.Duration { return max(a, b) }

// delivered counts, for each (from, to) pair, the messages that arrived.
func delivered(w *sim.World, since time.Duration) map[[2]sim.NodeID]int {
	n := map[[2]sim.NodeID]int{}
	for _, r := range w.Trace().Records() {
		if r.Kind == sim.KindDeliver && r.At > since {
			n[[2]sim.NodeID{r.Peer, r.Node}]++
		}
	}
	return n
}

func TestPartitionSeparatesGroupsAndHealJoinsThem(t *testing.T) {
	w := sim.NewWorld(sim.Config{Nodes: 5, Seed: 1}, newPinger(10*time.Millisecond))
	w.Partition([]sim.NodeID{1, 2}, []sim.NodeID{3})
	assert.Equal(t, [][]sim.NodeID{{4, 5}, {1, 2}, {3}}, w.Groups(), "nodes not named form a group of their own")
	start := w.Now()
	require.NoError(t, w.RunFor(time.Second))
	got := delivered(w, start+100*time.Millisecond) // after the messages already in flight
	for _, from := range w.IDs() {
		for _, to := range w.IDs() {
			if from == to {
				continue
			}
			if w.Connected(from, to) {
				assert.Positive(t, got[[2]sim.NodeID{from, to}], "%v → %v are in one group", from, to)
			} else {
				assert.Zero(t, got[[2]sim.NodeID{from, to}], "%v → %v are in different groups", from, to)
			}
		}
	}
	assert.True(t, w.Connected(1, 2))
	assert.False(t, w.Connected(1, 3))
	assert.False(t, w.Connected(3, 4))
	assert.True(t, w.Connected(4, 5))

	w.Heal()
	start = w.Now()
	require.NoError(t, w.RunFor(time.Second))
	got = delivered(w, start+100*time.Millisecond)
	assert.Len(t, got, 20, "after a heal every pair talks")
}

func TestOneWayCutStopsOneDirectionOnly(t *testing.T) {
	w := sim.NewWorld(sim.Config{Nodes: 3, Seed: 1}, newPinger(10*time.Millisecond))
	w.Cut(1, 2)
	start := w.Now()
	require.NoError(t, w.RunFor(time.Second))
	got := delivered(w, start+100*time.Millisecond)
	assert.Zero(t, got[[2]sim.NodeID{1, 2}], "n1 → n2 is cut")
	assert.Positive(t, got[[2]sim.NodeID{2, 1}], "n2 → n1 still works")
	assert.Positive(t, got[[2]sim.NodeID{1, 3}], "n1 → n3 still works")
}

func TestMessagesInFlightAreLostWhenAPartitionStarts(t *testing.T) {
	w := sim.NewWorld(sim.Config{Nodes: 2, Seed: 1, Network: sim.Network{MinLatency: 50 * time.Millisecond, MaxLatency: 50 * time.Millisecond}},
		newPinger(100*time.Millisecond))
	w.At(120*time.Millisecond, "partition", func() { w.Partition([]sim.NodeID{1}) }) // pings of t=100ms are in flight
	require.NoError(t, w.RunFor(190*time.Millisecond))
	drops := 0
	for _, r := range w.Trace().Records() {
		if r.Kind == sim.KindDrop {
			assert.Equal(t, "partition", r.Text)
			assert.Equal(t, 150*time.Millisecond, r.At, "lost on arrival")
			drops++
		}
	}
	assert.Equal(t, 2, drops)
}

func TestCrashLosesMemoryAndTimersButNotStorage(t *testing.T) {
	w := sim.NewWorld(sim.Config{Nodes: 3, Seed: 1}, newPinger(100*time.Millisecond))
	require.NoError(t, w.RunFor(time.Second))
	before := pingerOf(w, 1)
	require.NotEmpty(t, before.received)

	w.Crash(1)
	assert.False(t, w.Up(1))
	assert.Nil(t, w.Node(1))
	crashedAt := w.Now()
	require.NoError(t, w.RunFor(time.Second))
	for _, r := range w.Trace().Records() {
		if r.At > crashedAt && r.Node == 1 {
			assert.Equal(t, sim.KindDrop, r.Kind, "a crashed node's timers never fire and messages to it are lost: %v", r)
		}
	}

	w.Restart(1)
	after := pingerOf(w, 1)
	require.NotNil(t, after)
	assert.NotSame(t, before, after, "a restart is a new value from the constructor")
	assert.Empty(t, after.received, "memory does not survive a crash")
	starts, _ := w.Storage(1).Get("starts")
	assert.Equal(t, "2", string(starts), "storage survives a crash")
	require.NoError(t, w.RunFor(time.Second))
	assert.NotEmpty(t, after.received, "the restarted node is back on the network")
}

func TestStorageCopiesValuesInAndOut(t *testing.T) {
	w := sim.NewWorld(sim.Config{Nodes: 1, Seed: 1}, newPinger(time.Second))
	s := w.Storage(1)
	v := []byte("abc")
	s.Put("k", v)
	v[0] = 'X'
	got, ok := s.Get("k")
	require.True(t, ok)
	assert.Equal(t, "abc", string(got), "Put keeps a copy")
	got[0] = 'Y'
	again, _ := s.Get("k")
	assert.Equal(t, "abc", string(again), "Get hands out a copy")
	s.Delete("k")
	_, ok = s.Get("k")
	assert.False(t, ok)
}

// mutator sends a message, then changes its own copy.
type mutator struct {
	env  sim.Env
	got  []Ping
	sent Ping
}

func (m *mutator) Start(env sim.Env) {
	m.env = env
	if env.ID() == 1 {
		m.sent = Ping{From: 1, Path: []sim.NodeID{1, 2, 3}}
		env.Send(2, m.sent)
		env.Send(2, &m.sent)
		m.sent.Path[0] = 99 // after Send: must not reach n2
		m.sent.Round = 99
	}
}
func (m *mutator) HandleTimer(sim.Timer) {}
func (m *mutator) HandleMessage(_ sim.NodeID, msg sim.Message) {
	switch p := msg.(type) {
	case Ping:
		m.got = append(m.got, p)
	case *Ping:
		m.got = append(m.got, *p)
	}
}

func TestMessagesCrossTheNetworkByValue(t *testing.T) {
	w := sim.NewWorld(sim.Config{Nodes: 2, Seed: 1, Network: sim.Network{Duplicate: 1}}, func(sim.NodeID) sim.Node { return &mutator{} })
	require.NoError(t, w.RunFor(time.Second))
	m := w.Node(2).(*mutator)
	require.Len(t, m.got, 4, "two messages, each delivered twice")
	for _, p := range m.got {
		assert.Equal(t, []sim.NodeID{1, 2, 3}, p.Path, "what arrives is what was sent, whatever the sender did after")
		assert.Zero(t, p.Round)
	}
	m.got[0].Path[1] = 42
	assert.Equal(t, sim.NodeID(2), m.got[1].Path[1], "each delivery of a duplicate is a copy of its own")
}

func TestMessageTypesThatCannotCrossANetworkAreRefused(t *testing.T) {
	type withFunc struct{ F func() }
	type unexported struct{ x int }
	for _, msg := range []sim.Message{withFunc{}, unexported{}, make(chan int), nil} {
		assert.Error(t, sim.CheckMessage(msg), "%T", msg)
	}
	assert.NoError(t, sim.CheckMessage(Ping{}))
	assert.ErrorContains(t, sim.CheckMessage(unexported{}), "unexported: a message crosses a network")
}

func TestTimersFireInOrderAndCancelledOnesDoNot(t *testing.T) {
	var fired []string
	w := sim.NewWorld(sim.Config{Nodes: 1, Seed: 1}, func(sim.NodeID) sim.Node {
		return &funcNode{start: func(env sim.Env) {
			env.SetTimer(30*time.Millisecond, "c")
			env.SetTimer(10*time.Millisecond, "a")
			cancel := env.SetTimer(20*time.Millisecond, "cancelled")
			env.SetTimer(20*time.Millisecond, "b")
			env.SetTimer(20*time.Millisecond, "b2") // same instant: in the order set
			env.CancelTimer(cancel)
			env.CancelTimer(cancel) // twice is harmless
		}, timer: func(env sim.Env, t sim.Timer) { fired = append(fired, fmt.Sprintf("%v@%v", t, env.Now())) }}
	})
	require.NoError(t, w.RunFor(time.Second))
	assert.Equal(t, []string{"a@10ms", "b@20ms", "b2@20ms", "c@30ms"}, fired)
}

// funcNode is a node made of functions, for small tests.
type funcNode struct {
	env   sim.Env
	start func(env sim.Env)
	msg   func(env sim.Env, from sim.NodeID, m sim.Message)
	timer func(env sim.Env, t sim.Timer)
}

func (f *funcNode) Start(env sim.Env) {
	f.env = env
	if f.start != nil {
		f.start(env)
	}
}
func (f *funcNode) HandleMessage(from sim.NodeID, m sim.Message) {
	if f.msg != nil {
		f.msg(f.env, from, m)
	}
}
func (f *funcNode) HandleTimer(t sim.Timer) {
	if f.timer != nil {
		f.timer(f.env, t)
	}
}

func TestRandomFaultsFollowTheirScheduleAndTheSeed(t *testing.T) {
	run := func(seed uint64) (*sim.World, map[sim.Kind]int, int) {
		w := sim.NewWorld(sim.Config{Nodes: 5, Seed: seed}, newPinger(50*time.Millisecond))
		maxDown := 0
		w.AddInvariant("track", func() error {
			down := 0
			for _, id := range w.IDs() {
				if !w.Up(id) {
					down++
				}
			}
			maxDown = max(maxDown, down)
			return nil
		})
		w.ScheduleFaults(sim.Faults{Every: time.Second, MinDown: 200 * time.Millisecond, MaxDown: 2 * time.Second,
			Crashes: true, Partitions: true, Until: 50 * time.Second})
		require.NoError(t, w.RunFor(60*time.Second))
		return w, count(w), maxDown
	}
	w, n, maxDown := run(3)
	assert.Greater(t, n[sim.KindCrash], 5, "crashes happen")
	assert.Equal(t, n[sim.KindCrash], n[sim.KindRestart], "every crashed node comes back")
	assert.LessOrEqual(t, maxDown, 2, "at most a minority of 5 is down at once")
	partitions, heals := 0, 0
	for _, r := range w.Trace().Records() {
		if r.Kind == sim.KindNetwork {
			if r.Text == "heal" {
				heals++
			} else {
				partitions++
			}
		}
	}
	assert.Greater(t, partitions, 5, "partitions happen")
	assert.Equal(t, partitions, heals, "every partition heals")
	for _, id := range w.IDs() {
		assert.True(t, w.Up(id), "after the schedule ends everything is back: %v", id)
	}

	again, _, _ := run(3)
	assert.Equal(t, w.Trace().Hash(), again.Trace().Hash(), "the fault schedule comes from the seed")
	other, _, _ := run(4)
	assert.NotEqual(t, w.Trace().Hash(), other.Trace().Hash())
}

func TestEachNodeHasItsOwnRandomSourceFromTheSeed(t *testing.T) {
	draws := func(seed uint64) map[sim.NodeID]uint64 {
		got := map[sim.NodeID]uint64{}
		sim.NewWorld(sim.Config{Nodes: 3, Seed: seed}, func(sim.NodeID) sim.Node {
			return &funcNode{start: func(env sim.Env) { got[env.ID()] = env.Rand().Uint64() }}
		})
		return got
	}
	a, b := draws(5), draws(5)
	assert.Equal(t, a, b, "the same seed gives every node the same numbers")
	assert.NotEqual(t, a[1], a[2], "nodes do not share a source")
	assert.NotEqual(t, a[1], draws(6)[1], "another seed, other numbers")
}

func TestObserversSeeEveryRecordAsItIsMade(t *testing.T) {
	w := sim.NewWorld(sim.Config{Nodes: 3, Seed: 1}, newPinger(10*time.Millisecond))
	before := w.Trace().Count()
	var seen []sim.Record
	w.Observe(func(r sim.Record) { seen = append(seen, r) })
	require.NoError(t, w.RunFor(time.Second))
	all := w.Trace().Records()[before:]
	require.Equal(t, len(all), len(seen))
	for i := range all {
		require.Equal(t, all[i], seen[i], "record %d", i)
	}
}
