package raftlog

import (
	"fmt"
	"testing"
	"time"
)

// Part 1, whole clusters: commands proposed at the leader reach every
// node, in one order, over a network that loses, duplicates and reorders.
func TestClusterAgreesOnEveryCommand(t *testing.T) {
	sweep(t, func(t testing.TB, seed uint64) {
		size := 3 + 2*int(seed%2) // 3 and 5 nodes, seed by seed
		c := newCluster(t, size, seed, faulty)
		for i := 1; i <= 12; i++ {
			c.one(fmt.Sprintf("cmd-%d", i), size, 10*time.Second)
		}
		c.requireSameApplied()
	})
}
