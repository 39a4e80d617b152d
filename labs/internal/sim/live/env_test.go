package live_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/sim"
	"github.com/distlings/distlings/labs/internal/sim/live"
)

// probe is a node that does nothing by itself: the tests act through its
// env inside Cluster.Do, and read what it received.
type probe struct {
	env   sim.Env
	first uint64 // its first random number
	got   []received
	fired []sim.Timer
}

type received struct {
	from sim.NodeID
	msg  sim.Message
}

func (p *probe) Start(env sim.Env) {
	p.env = env
	p.first = env.Rand().Uint64()
}

func (p *probe) HandleMessage(from sim.NodeID, msg sim.Message) {
	p.got = append(p.got, received{from, msg})
}

func (p *probe) HandleTimer(t sim.Timer) { p.fired = append(p.fired, t) }

func startProbes(t *testing.T, n int, cfg live.Config) *live.Cluster {
	t.Helper()
	c, err := live.Start(n, func(sim.NodeID) sim.Node { return &probe{} }, cfg)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// on runs f with node id's probe, on the node's goroutine.
func on(t *testing.T, c *live.Cluster, id sim.NodeID, f func(p *probe)) {
	t.Helper()
	require.NoError(t, c.Do(id, func(n sim.Node) { f(n.(*probe)) }))
}

func gotCount(t *testing.T, c *live.Cluster, id sim.NodeID) int {
	return inspect(t, c, id, func(p *probe) int { return len(p.got) })
}

type note struct {
	Items []int
	Tags  map[string]string
	Next  *note
}

func TestMessageArrivesAsACopy(t *testing.T) {
	c := startProbes(t, 2, live.Config{})
	on(t, c, 1, func(p *probe) {
		msg := note{Items: []int{1, 2}, Tags: map[string]string{"a": "b"}, Next: &note{Items: []int{3}}}
		p.env.Send(2, msg)
		msg.Items[0] = 99 // after Send: must not travel
		msg.Tags["a"] = "changed"
		msg.Next.Items[0] = 99

		ptr := &note{Items: []int{4}}
		p.env.Send(2, ptr)
		ptr.Items[0] = 99
	})
	eventually(t, "n2 gets both messages", func() bool { return gotCount(t, c, 2) == 2 })

	got := inspect(t, c, 2, func(p *probe) []received { return p.got })
	want := []received{
		{1, note{Items: []int{1, 2}, Tags: map[string]string{"a": "b"}, Next: &note{Items: []int{3}}}},
		{1, &note{Items: []int{4}}}, // a pointer arrives as a pointer
	}
	assert.Equal(t, want, got, "what arrives is the message as it was at Send")
}

func TestSendToUnknownNodePanics(t *testing.T) {
	c := startProbes(t, 2, live.Config{})
	msg := panicValue(func() {
		_ = c.Do(1, func(n sim.Node) { n.(*probe).env.Send(9, note{}) })
	})
	assert.Equal(t, "live: n1 sent live_test.note to n9, which is not in the cluster (its nodes are n1 to n2)", msg)

	// The panic was raised in the caller of Do; the node runs on.
	on(t, c, 1, func(p *probe) { p.env.Send(2, note{}) })
	eventually(t, "n2 gets a message", func() bool { return gotCount(t, c, 2) == 1 })
}

func TestSendOfMessageThatCannotTravelPanics(t *testing.T) {
	type secret struct{ x int }
	c := startProbes(t, 2, live.Config{})
	msg := panicValue(func() {
		_ = c.Do(1, func(n sim.Node) { n.(*probe).env.Send(2, secret{x: 1}) })
	})
	assert.Contains(t, msg, "live: n1 sent a message that cannot cross a network")
	assert.Contains(t, msg, "live_test.secret.x is unexported", "the simulator's rules: a node behaves the same in both")

	msg = panicValue(func() {
		_ = c.Do(1, func(n sim.Node) { n.(*probe).env.Send(2, nil) })
	})
	assert.Equal(t, "live: n1 sent a nil message to n2", msg)
}

func TestTimerInThePastPanics(t *testing.T) {
	c := startProbes(t, 1, live.Config{})
	msg := panicValue(func() {
		_ = c.Do(1, func(n sim.Node) { n.(*probe).env.SetTimer(-time.Second, "late") })
	})
	assert.Equal(t, "live: n1 set timer late to fire -1s from now, in the past", msg)
}

func TestCancelledTimerNeverFires(t *testing.T) {
	c := startProbes(t, 1, live.Config{})
	on(t, c, 1, func(p *probe) {
		p.env.SetTimer(10*time.Millisecond, "a")
		b := p.env.SetTimer(20*time.Millisecond, "b")
		p.env.SetTimer(40*time.Millisecond, "c")
		p.env.CancelTimer(b)
		p.env.CancelTimer(b)    // twice is harmless
		p.env.CancelTimer(1000) // so is an unknown id
	})
	eventually(t, "c fires", func() bool { return len(inspect(t, c, 1, func(p *probe) []sim.Timer { return p.fired })) == 2 })
	assert.Equal(t, []sim.Timer{"a", "c"}, inspect(t, c, 1, func(p *probe) []sim.Timer { return p.fired }))
}

func TestTimerOfACrashedNodeDoesNotFireAfterRestart(t *testing.T) {
	c := startProbes(t, 1, live.Config{})
	on(t, c, 1, func(p *probe) { p.env.SetTimer(20*time.Millisecond, "old") })
	c.Stop(1)
	require.NoError(t, c.Restart(1))
	on(t, c, 1, func(p *probe) { p.env.SetTimer(60*time.Millisecond, "new") })
	fired := func() []sim.Timer { return inspect(t, c, 1, func(p *probe) []sim.Timer { return p.fired }) }
	eventually(t, "the new timer fires", func() bool { return len(fired()) > 0 })
	assert.Equal(t, []sim.Timer{"new"}, fired())
}

func TestEnvIdentityRandomnessAndTime(t *testing.T) {
	first := func(c *live.Cluster, id sim.NodeID) uint64 {
		return inspect(t, c, id, func(p *probe) uint64 { return p.first })
	}
	a := startProbes(t, 3, live.Config{Seed: 7})
	b := startProbes(t, 3, live.Config{Seed: 7})
	assert.Equal(t, first(a, 1), first(b, 1), "the same seed gives the same numbers")
	assert.NotEqual(t, first(a, 1), first(a, 2), "each node has its own source")
	old := first(a, 1)
	require.NoError(t, a.Restart(1))
	assert.NotEqual(t, old, first(a, 1), "each start has its own source")

	on(t, a, 2, func(p *probe) {
		assert.Equal(t, sim.NodeID(2), p.env.ID())
		assert.Equal(t, []sim.NodeID{1, 3}, p.env.Peers())
		t0 := p.env.Now()
		assert.Positive(t, t0)
		assert.Less(t, t0, time.Minute)
	})
}

func TestLogLinesCarryTimeAndNode(t *testing.T) {
	sink := newLogSink(t)
	c := startProbes(t, 2, live.Config{Log: sink.log})
	on(t, c, 2, func(p *probe) { p.env.Logf("hello %d", 42) })
	assert.Regexp(t, regexp.MustCompile(`^ *\d+\.\d{3}s n2: hello 42$`), sink.all()[0])
}

func TestStoppedAndUnknownNodes(t *testing.T) {
	c := startProbes(t, 2, live.Config{})
	on(t, c, 1, func(p *probe) { p.env.Send(2, note{}) })
	eventually(t, "n2 gets a message", func() bool { return gotCount(t, c, 2) == 1 })

	c.Stop(2)
	c.Stop(2) // stopping a stopped node does nothing
	assert.Nil(t, c.Node(2))
	assert.ErrorIs(t, c.Do(2, func(sim.Node) { t.Error("f ran on a stopped node") }), live.ErrStopped)

	require.NoError(t, c.Restart(2))
	assert.Equal(t, 0, gotCount(t, c, 2), "a restarted node starts with empty memory")
	assert.PanicsWithValue(t, "live: no node n3 in the cluster (its nodes are n1 to n2)", func() { c.Stop(3) })
}
