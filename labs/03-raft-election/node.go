package raft

// Leader election. You write this file.
//
// The API the tests use (keep these names and signatures):
//
//	New(cfg Config) func(sim.NodeID) sim.Node   // in raft.go, done
//	(*Node).Start(env sim.Env)                  // boot, and again after each restart
//	(*Node).HandleMessage(from sim.NodeID, msg sim.Message)
//	(*Node).HandleTimer(t sim.Timer)
//	(*Node).Role() Role                         // done
//	(*Node).Term() uint64                       // done
//	(*Node).VotedFor() sim.NodeID               // done
//	(*Node).Leader() sim.NodeID                 // done
//
// You will build, in order:
//
//	Part 1  timeouts and voting: a cluster with no leader elects one and
//	        keeps it, and a vote binds a node even across a crash
//	Part 2  terms: messages from older and newer terms, on a network that
//	        loses, duplicates and reorders, with crashes and partitions
//	Part 3  liveness: a new leader soon, whenever a majority can talk
//	Part 4  pre-vote (stretch): a node that cannot win disrupts nobody
//
// The shape is that of etcd-io/raft: HandleMessage first does what every
// role does alike, in one place, then hands the message to the step
// function of the node's role. Roles change only in becomeFollower,
// becomeCandidate and becomeLeader.
//
// The article this workbook grew from starts its election like this:
//
//	public void onElectionTimeout() {
//	    if (state == NodeState.FOLLOWER) {
//	        startLeaderElection();
//	    }
//	}
//
// It makes a fair first draft of HandleTimer's election timeout, and the
// tests have something to say about it.
//
// Run `grader test 03` (or `go test ./labs/03-raft-election/`) after each
// part. Log what your node decides with n.env.Logf: the lines show in the
// timeline of a failing test.

import (
	"github.com/distlings/distlings/labs/internal/sim"
)

// Node is one Raft node's election state. Add the fields you need.
type Node struct {
	cfg Config
	env sim.Env

	// Persistent state (Figure 2): what the node must not forget in a
	// crash. Only env.Storage() survives one (SaveHardState).
	term     uint64
	votedFor sim.NodeID

	// Volatile state, lost in a crash.
	role   Role
	leader sim.NodeID // the leader of term, if known

	// TODO(part 1): whatever else the node must keep track of.
}

// Role returns the node's role.
func (n *Node) Role() Role { return n.role }

// Term returns the node's current term.
func (n *Node) Term() uint64 { return n.term }

// VotedFor returns whom the node voted for in its current term, or 0.
func (n *Node) VotedFor() sim.NodeID { return n.votedFor }

// Leader returns the leader of the current term as far as the node knows,
// or 0.
func (n *Node) Leader() sim.NodeID { return n.leader }

// Start boots the node: after a crash too, on a fresh Node. Everything it
// knew is gone except what is in env.Storage().
func (n *Node) Start(env sim.Env) {
	n.env = env
	// TODO(part 1): boot as a follower (§5.2).
}

// HandleMessage is called for every message that reaches the node.
func (n *Node) HandleMessage(from sim.NodeID, msg sim.Message) {
	// What every role does alike comes first, in one place.
	// termOf(msg) gives the message's term.
	// TODO(part 1): a message of a newer term than the node's (§5.1).
	// TODO(part 2): messages of other terms than the node's (§5.1).

	switch n.role {
	case Follower:
		n.stepFollower(from, msg)
	case PreCandidate, Candidate:
		n.stepCandidate(from, msg)
	case Leader:
		n.stepLeader(from, msg)
	}
}

// stepFollower handles a message in the follower role.
func (n *Node) stepFollower(from sim.NodeID, msg sim.Message) {
	// TODO(part 1): RequestVote and AppendEntries (§5.2, Figure 2).
}

// stepCandidate handles a message while campaigning.
func (n *Node) stepCandidate(from sim.NodeID, msg sim.Message) {
	// TODO(part 1): the answers to its RequestVotes, and whatever else
	// reaches a candidate (§5.2).
}

// stepLeader handles a message in the leader role.
func (n *Node) stepLeader(from sim.NodeID, msg sim.Message) {
	// TODO(part 1): whatever reaches a leader (§5.2).
}

// HandleTimer is called when a timer set with n.env.SetTimer fires, with
// the value given then: electionTimeout{} or heartbeatTick{}.
func (n *Node) HandleTimer(t sim.Timer) {
	// TODO(part 1): electionTimeout and heartbeatTick.
	// TODO(part 4): with n.cfg.PreVote, a pre-vote comes first.
}

// becomeFollower makes the node a follower in term, following leader, or
// nobody yet if leader is 0.
func (n *Node) becomeFollower(term uint64, leader sim.NodeID) {
	// TODO(part 1)
}

// becomeCandidate stands for election in a new term (§5.2).
func (n *Node) becomeCandidate() {
	// TODO(part 1)
}

// becomeLeader takes office (§5.2).
func (n *Node) becomeLeader() {
	// TODO(part 1)
}

// resetElectionTimer starts the node's election timeout over, from now.
func (n *Node) resetElectionTimer() {
	// TODO(part 1)
}
