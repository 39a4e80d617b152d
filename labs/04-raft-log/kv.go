package raftlog

// The key-value store on top of the log: part 5. You write this file.
//
// The API the tests use (kvnode.go has the frame, done):
//
//	NewServers(cfg, servers) func(sim.NodeID) sim.Node
//	(*Server).Apply, Snapshot, Restore   // the Service of its Raft node
//	(*Server).Value(key string) string  // what the server's copy holds
//	(*Server).Raft() *Node
//	(*Clerk).Do(op Op, done func(value string))
//
// Servers take clerks' requests and put them in the log; every server
// applies every committed command to its own copy of the store. A clerk
// sends its request to the server it believes leads, and tries the others
// until one says it is done.

import (
	"github.com/distlings/distlings/labs/internal/sim"
)

// store is a server's state. Add the fields you need.
type store struct {
	// TODO(part 5)
}

// handleRequest is a server's answer to a clerk's request.
func (s *Server) handleRequest(from sim.NodeID, m ClientRequest) {
	// TODO(part 5)
	s.env.Send(from, ClientReply{Client: m.Client, Seq: m.Seq, WrongLeader: true})
}

// Apply applies one committed entry to the store: the Service of the
// server's Raft node.
func (s *Server) Apply(m ApplyMsg) {
	// TODO(part 5)
}

// Value returns what the server's copy of the store holds for key, ""
// for nothing. The tests read the store with it.
func (s *Server) Value(key string) string {
	// TODO(part 5)
	return ""
}

// Snapshot returns the server's state as of the last entry it applied.
func (s *Server) Snapshot() []byte {
	// TODO(part 5)
	return nil
}

// Restore replaces the server's state with a snapshot's.
func (s *Server) Restore(snapshot []byte) {
	// TODO(part 5)
}

// clerkState is what a clerk keeps. Add the fields you need.
type clerkState struct {
	// TODO(part 5)
}

// Do starts op, which done hears the result of (Get's value; "" for the
// others) once it has taken effect. A clerk does one operation at a time:
// the tests call Do again only after done.
func (c *Clerk) Do(op Op, done func(value string)) {
	// TODO(part 5)
}

// handleReply is a clerk's side of a server's answer.
func (c *Clerk) handleReply(from sim.NodeID, m ClientReply) {
	// TODO(part 5)
}

// handleRetry is called RetryAfter after the clerk sets its timer with
// c.env.SetTimer(RetryAfter, retryTick{Seq: …}).
func (c *Clerk) handleRetry(t retryTick) {
	// TODO(part 5)
}
