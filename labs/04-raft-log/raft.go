// Package raftlog is the second half of Raft: a replicated log, written as
// event handlers that run on the simulator (labs/internal/sim).
//
// You write log.go. The election is given, in election.go: the reference
// node of lab 03 (without pre-vote), with a few calls into log.go where
// the election needs the log. This file and messages.go hold what you
// build on: the configuration, the roles, the timers, the entries, the
// messages of Figure 2 and the durable HardState.
package raftlog

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/distlings/distlings/labs/internal/sim"
)

// Config is the timing of the cluster. Every election timeout lies in
// [ElectionTimeoutMin, ElectionTimeoutMax); the leader sends AppendEntries
// every HeartbeatInterval, well inside the minimum election timeout.
type Config struct {
	ElectionTimeoutMin time.Duration // default 150ms
	ElectionTimeoutMax time.Duration // default 300ms
	HeartbeatInterval  time.Duration // default 50ms
	// SnapshotEvery turns on part 4: once this many entries have been
	// applied since the last snapshot, the node takes a new one from its
	// service and drops the log up to it. 0 means never.
	SnapshotEvery int
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

// ApplyMsg is one committed entry, handed to the service that runs on the
// node, in log order.
type ApplyMsg struct {
	Index   uint64
	Term    uint64
	Command []byte
}

// Service is what runs on a node on top of the log: a key-value store, a
// counter, anything that changes only by applying commands in order. Its
// methods run inside the node's handlers: they must not call the node
// back.
type Service interface {
	// Apply applies one committed entry.
	Apply(ApplyMsg)
	// Snapshot returns the service's state as of the last entry it
	// applied (part 4).
	Snapshot() []byte
	// Restore replaces the service's state with that of a snapshot
	// (part 4). A node that starts from a snapshot calls it before any
	// Apply.
	Restore(snapshot []byte)
}

// ApplyFunc is a Service that only applies entries, with no state to
// snapshot: enough until part 4.
type ApplyFunc func(ApplyMsg)

func (f ApplyFunc) Apply(m ApplyMsg)  { f(m) }
func (ApplyFunc) Snapshot() []byte    { return nil }
func (ApplyFunc) Restore(data []byte) {}

// NewNode returns a node that hands each committed entry to svc, once,
// in order.
func NewNode(cfg Config, svc Service) *Node {
	if svc == nil {
		svc = ApplyFunc(func(ApplyMsg) {})
	}
	return &Node{cfg: cfg.WithDefaults(), svc: svc, apply: svc.Apply}
}

// New returns the constructor the simulator calls for each node, and
// again for each restart: a fresh Node that knows nothing but its Config
// until Start reads its Storage. service gives each incarnation of each
// node a fresh service, which starts empty.
func New(cfg Config, service func(id sim.NodeID) Service) func(id sim.NodeID) sim.Node {
	return func(id sim.NodeID) sim.Node {
		var svc Service
		if service != nil {
			svc = service(id)
		}
		return NewNode(cfg, svc)
	}
}

// Role is what a node is doing.
type Role int

// The roles of Raft (§5.1).
const (
	Follower Role = iota
	Candidate
	Leader
)

func (r Role) String() string {
	switch r {
	case Follower:
		return "follower"
	case Candidate:
		return "candidate"
	case Leader:
		return "leader"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// The values of the node's timers, handed back to HandleTimer.
type (
	electionTimeout struct{} // no word from a leader in time: start an election
	heartbeatTick   struct{} // a leader's time to send AppendEntries
)

func (electionTimeout) String() string { return "electionTimeout" }
func (heartbeatTick) String() string   { return "heartbeatTick" }

// HardState is the node's current term and whom it voted for in that term
// (Figure 2, "Persistent state on all servers"; the log is saved apart,
// with SaveLog).
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

const logKey = "raft/log"

// SaveLog writes the whole log to storage, in one write: durable when it
// returns, and never half written.
func SaveLog(s sim.Storage, log []Entry) {
	data, err := json.Marshal(log)
	if err != nil {
		panic(err) // numbers and bytes always encode
	}
	s.Put(logKey, data)
}

// LoadLog reads what SaveLog last wrote; a node that never saved a log has
// an empty one.
func LoadLog(s sim.Storage) []Entry {
	var log []Entry
	if data, ok := s.Get(logKey); ok {
		if err := json.Unmarshal(data, &log); err != nil {
			panic(fmt.Sprintf("raft: damaged log: %v", err))
		}
	}
	return log
}

// Snapshot is the service's state as of entry Index, of term Term: it
// stands for the whole log up to there (part 4).
type Snapshot struct {
	Index uint64
	Term  uint64
	Data  []byte
}

const snapshotKey = "raft/snapshot"

// SaveSnapshot writes snap to storage, in one write, durable when it
// returns.
func SaveSnapshot(s sim.Storage, snap Snapshot) {
	data, err := json.Marshal(snap)
	if err != nil {
		panic(err)
	}
	s.Put(snapshotKey, data)
}

// LoadSnapshot reads what SaveSnapshot last wrote; Index 0 means none.
func LoadSnapshot(s sim.Storage) Snapshot {
	var snap Snapshot
	if data, ok := s.Get(snapshotKey); ok {
		if err := json.Unmarshal(data, &snap); err != nil {
			panic(fmt.Sprintf("raft: damaged snapshot: %v", err))
		}
	}
	return snap
}
