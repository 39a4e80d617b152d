// Package sim is a deterministic discrete-event simulator for distributed
// algorithms, and the contract between the Raft labs and their tests.
//
// A node is a set of event handlers: it starts, it receives a message, a
// timer it set fires. It never starts goroutines, takes locks, sleeps or
// reads the clock; it acts only through its Env. The simulator owns time,
// the network and failures, and one seed decides all of them: the same seed
// gives the same run, event for event, on any machine, and ten virtual
// minutes take milliseconds.
//
// The same Node runs unchanged on real goroutines, timers and loopback TCP
// with package live.
package sim

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// NodeID names a node. Clusters number their nodes from 1.
type NodeID int

func (id NodeID) String() string { return fmt.Sprintf("n%d", int(id)) }

// Message is what nodes send each other: plain data, usually a struct whose
// fields are all exported. A message crosses the network by value: what the
// receiver gets is a copy, so a sender that changes its variable after Send
// changes nothing that arrives. Messages may hold slices, maps and pointers
// to plain data; never funcs or channels.
type Message any

// Timer is what a node wants handed back when a timer fires, e.g. a value
// of type electionTimeout{}. Its value is the node's to choose.
type Timer any

// TimerID identifies a timer that was set, to cancel it.
type TimerID uint64

// Node is an algorithm under test, written as event handlers.
type Node interface {
	// Start is called when the node boots, and again after every restart,
	// on a fresh value from the cluster's constructor: whatever the node
	// must remember across a crash it keeps in env.Storage().
	Start(env Env)
	// HandleMessage is called for each message that reaches the node.
	HandleMessage(from NodeID, msg Message)
	// HandleTimer is called when a timer set with Env.SetTimer fires.
	HandleTimer(timer Timer)
}

// Env is everything a node may use to act on the world.
type Env interface {
	ID() NodeID
	// Peers returns the other nodes of the cluster, in order.
	Peers() []NodeID
	// Now is the time since the run began: virtual in the simulator.
	Now() time.Duration
	// Send sends msg to a peer. It may be delayed, duplicated, reordered
	// or lost, as the network decides; the sender is never told.
	Send(to NodeID, msg Message)
	// SetTimer arranges for HandleTimer(t) after the given delay.
	SetTimer(after time.Duration, t Timer) TimerID
	// CancelTimer stops a timer that has not fired; a fired or unknown
	// timer is ignored.
	CancelTimer(id TimerID)
	// Rand is the node's own random source, derived from the run's seed.
	Rand() *rand.Rand
	// Storage is the node's durable storage: the only state that
	// survives a crash.
	Storage() Storage
	// Logf adds a line to the run's trace, shown on failure.
	Logf(format string, args ...any)
}

// Storage is a node's durable key-value storage. A Put is on disk when it
// returns. Values are copied in and out.
type Storage interface {
	Get(key string) (value []byte, ok bool)
	Put(key string, value []byte)
	Delete(key string)
}
