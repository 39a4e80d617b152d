// Package raft is leader election from the Raft consensus algorithm,
// written as event handlers that run on the simulator (labs/internal/sim).
//
// You write node.go. This file and messages.go hold what you build on:
// the configuration, the roles, the timers, and the durable state with the
// functions that save and load it. Read docs/simulator.md for how your node
// runs and how to read a failing test's timeline.
package raft

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/distlings/distlings/labs/internal/sim"
)

// Config is the timing of the election. Every election timeout lies in
// [ElectionTimeoutMin, ElectionTimeoutMax); the leader sends heartbeats
// every HeartbeatInterval, well inside the minimum election timeout so
// that followers never time out while it lives.
type Config struct {
	ElectionTimeoutMin time.Duration // default 150ms
	ElectionTimeoutMax time.Duration // default 300ms
	HeartbeatInterval  time.Duration // default 50ms
	// PreVote turns on part 4: a node whose election timer fires first
	// asks whether it could win, without raising its term.
	PreVote bool
}

// WithDefaults fills in the zero fields.
func (c Config) WithDefaults() Config {
	if c.ElectionTimeoutMin == 0 {
		c.ElectionTimeoutMin = 150 * time.Millisecond
	}
	if c.ElectionTimeoutMax == 0 {
		c.ElectionTimeoutMax = 2 * c.ElectionTimeoutMin
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = c.ElectionTimeoutMin / 3
	}
	return c
}

// New returns the constructor the simulator calls for each node, and again
// for each restart: a fresh Node that knows nothing but its Config until
// Start reads its Storage.
func New(cfg Config) func(id sim.NodeID) sim.Node {
	cfg = cfg.WithDefaults()
	return func(sim.NodeID) sim.Node { return &Node{cfg: cfg} }
}

// Role is what a node is doing in the election.
type Role int

// The roles of Raft (§5.1), and the pre-candidate of part 4.
const (
	Follower Role = iota
	PreCandidate
	Candidate
	Leader
)

func (r Role) String() string {
	switch r {
	case Follower:
		return "follower"
	case PreCandidate:
		return "pre-candidate"
	case Candidate:
		return "candidate"
	case Leader:
		return "leader"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// The values of the node's timers, handed back to HandleTimer.
type (
	electionTimeout struct{} // no heartbeat came in time: start an election
	heartbeatTick   struct{} // a leader's time to send heartbeats
)

func (electionTimeout) String() string { return "electionTimeout" }
func (heartbeatTick) String() string   { return "heartbeatTick" }

// HardState is what a node must not forget in a crash (Figure 2,
// "Persistent state on all servers"): its current term and whom it voted
// for in that term. Without it, a node that restarts could vote twice in
// one term, and two leaders could be elected.
type HardState struct {
	Term     uint64
	VotedFor sim.NodeID // 0: no vote in Term
}

const hardStateKey = "raft/hardstate"

// SaveHardState writes hs to storage. The write is durable when it
// returns.
func SaveHardState(s sim.Storage, hs HardState) {
	data, err := json.Marshal(hs)
	if err != nil {
		panic(err) // two integers always encode
	}
	s.Put(hardStateKey, data)
}

// LoadHardState reads what SaveHardState last wrote; a node that never
// saved anything is in term 0 with no vote.
func LoadHardState(s sim.Storage) HardState {
	var hs HardState
	if data, ok := s.Get(hardStateKey); ok {
		if err := json.Unmarshal(data, &hs); err != nil {
			panic(fmt.Sprintf("raft: damaged hard state %q: %v", data, err))
		}
	}
	return hs
}
