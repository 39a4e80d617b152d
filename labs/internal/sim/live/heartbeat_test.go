package live_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/sim"
	"github.com/distlings/distlings/labs/internal/sim/heartbeat"
	"github.com/distlings/distlings/labs/internal/sim/live"
)

// A brisk pace keeps the tests short; the waits below are on conditions,
// so a slow machine makes them slower, not flaky.
var hbConfig = heartbeat.Config{Interval: 20 * time.Millisecond, Timeout: 100 * time.Millisecond}

func startHeartbeats(t *testing.T, sink *logSink) *live.Cluster {
	t.Helper()
	c, err := live.Start(3, heartbeat.New(hbConfig), live.Config{Seed: 1, Log: sink.log})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func suspects(t *testing.T, c *live.Cluster, id sim.NodeID) []sim.NodeID {
	return inspect(t, c, id, (*heartbeat.Node).Suspects)
}

func peer(t *testing.T, c *live.Cluster, id, of sim.NodeID) heartbeat.PeerState {
	return inspect(t, c, id, func(n *heartbeat.Node) heartbeat.PeerState { return n.Peer(of) })
}

// hearsAll reports whether node id has heard every other node and suspects
// none.
func hearsAll(t *testing.T, c *live.Cluster, id sim.NodeID) bool {
	for _, p := range c.IDs() {
		if p != id && !peer(t, c, id, p).Heard {
			return false
		}
	}
	return len(suspects(t, c, id)) == 0
}

func TestHeartbeatClusterHearsEveryone(t *testing.T) {
	c := startHeartbeats(t, newLogSink(t))
	for _, id := range c.IDs() {
		eventually(t, id.String()+" hears everyone", func() bool { return hearsAll(t, c, id) })
		assert.Equal(t, uint64(1), inspect(t, c, id, (*heartbeat.Node).Incarnation))
	}
}

func TestStoppedNodeIsSuspectedAndRestartedNodeIsBack(t *testing.T) {
	sink := newLogSink(t)
	c := startHeartbeats(t, sink)
	for _, id := range c.IDs() {
		eventually(t, id.String()+" hears everyone", func() bool { return hearsAll(t, c, id) })
	}

	c.Stop(3)
	assert.Nil(t, c.Node(3))
	assert.ErrorIs(t, c.Do(3, func(sim.Node) {}), live.ErrStopped)
	for _, id := range []sim.NodeID{1, 2} {
		eventually(t, id.String()+" suspects n3 alone", func() bool {
			return assert.ObjectsAreEqual([]sim.NodeID{3}, suspects(t, c, id))
		})
	}

	addr := c.Addr(3)
	require.NoError(t, c.Restart(3))
	t.Logf("n3 listened on %v, now on %v", addr, c.Addr(3))
	assert.Equal(t, uint64(2), inspect(t, c, 3, (*heartbeat.Node).Incarnation), "the counter in Storage survived the crash")
	for _, id := range c.IDs() {
		eventually(t, id.String()+" hears everyone again", func() bool { return hearsAll(t, c, id) })
	}
	assert.Equal(t, uint64(2), peer(t, c, 1, 3).Incarnation, "n3's heartbeats carry its new incarnation")

	log := strings.Join(sink.all(), "\n")
	for _, want := range []string{"n1: suspect n3", "n2: suspect n3", "n3: live: stopped",
		"n3: started, incarnation 2", "n1: n3 is back", "n2: n3 is back"} {
		assert.Contains(t, log, want)
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	c, err := live.Start(3, heartbeat.New(hbConfig), live.Config{})
	require.NoError(t, err)
	for _, id := range c.IDs() {
		eventually(t, id.String()+" hears everyone", func() bool { return hearsAll(t, c, id) })
	}
	c.Stop(2) // a stopped node and a restarted one leave nothing behind either
	require.NoError(t, c.Restart(3))
	eventually(t, "n1 suspects n2", func() bool { return len(suspects(t, c, 1)) == 1 })

	c.Close()
	c.Close() // twice is harmless
	assert.ErrorIs(t, c.Restart(1), live.ErrClosed)
	// Close has waited for the cluster's goroutines. Only the timers' own
	// short-lived goroutines may still be returning.
	eventually(t, "the goroutines are back to the baseline", func() bool {
		return runtime.NumGoroutine() <= before
	})
}
