package live_test

import (
	"fmt"
	"time"

	"github.com/distlings/distlings/labs/internal/sim"
	"github.com/distlings/distlings/labs/internal/sim/heartbeat"
	"github.com/distlings/distlings/labs/internal/sim/live"
)

// A crash loses a node's memory but not its Storage: the heartbeat node
// counts its starts there.
func Example() {
	c, err := live.Start(3, heartbeat.New(heartbeat.Config{Interval: 100 * time.Millisecond}), live.Config{Seed: 1})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	c.Stop(3)
	if err := c.Restart(3); err != nil {
		panic(err)
	}
	// Node state is read on the node's own goroutine.
	_ = c.Do(3, func(n sim.Node) {
		fmt.Println("n3 incarnation", n.(*heartbeat.Node).Incarnation())
	})
	// Output: n3 incarnation 2
}
