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
//	Part 1  timeouts and voting: a randomized election timer, candidates,
//	        one vote per term saved before replying, a majority makes a
//	        leader, heartbeats keep it, a candidate follows the leader of
//	        its term
//	Part 2  terms: a newer term makes any node a follower, replies
//	        included, and a deposed leader stops its heartbeats; stale
//	        messages are refused; stale votes are not counted
//	Part 3  liveness: a candidate whose election times out tries again
//	Part 4  pre-vote (stretch): ask before raising the term
//
// The shape is that of etcd-io/raft: HandleMessage first applies the rules
// on terms that every role shares, in one place, then hands the message to
// the step function of the node's role. Roles change only in
// becomeFollower, becomeCandidate and becomeLeader.
//
// The article this workbook grew from starts like this:
//
//	public void onElectionTimeout() {
//	    if (state == NodeState.FOLLOWER) {
//	        startLeaderElection();
//	    }
//	}
//
// which is right for part 1 and wrong by part 3: find out why.
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

	// Persistent state (Figure 2): save it with SaveHardState before
	// sending anything that depends on it.
	term     uint64
	votedFor sim.NodeID

	// Volatile state, lost in a crash.
	role   Role
	leader sim.NodeID // the leader of term, if known

	// TODO(part 1): the votes of an election, the timers you set (keep
	// their ids to cancel them), and whatever else you need.
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
	// TODO(part 1): load the term and vote (LoadHardState), start as a
	// follower, and set the election timer.
}

// HandleMessage is called for every message that reaches the node.
func (n *Node) HandleMessage(from sim.NodeID, msg sim.Message) {
	// The rules every role shares come first, in one place (§5.1).
	// termOf(msg) gives the message's term.
	// TODO(part 1): a request (RequestVote, AppendEntries) with a newer
	// term than the node's makes it a follower of that term
	// (becomeFollower).
	// TODO(part 2): the same for replies, in every role. A request with
	// an older term is refused, and the reply carries this node's term;
	// an older reply is dropped.

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
	// TODO(part 1): answer RequestVote (one vote per term, saved before
	// the reply); a heartbeat (AppendEntries) from the leader resets the
	// election timer and is answered.
}

// stepCandidate handles a message while campaigning.
func (n *Node) stepCandidate(from sim.NodeID, msg sim.Message) {
	// TODO(part 1): count the votes granted; a majority of the cluster,
	// this node included, makes it leader. A heartbeat from a leader of
	// the same term means the election is lost: become its follower.
}

// stepLeader handles a message in the leader role.
func (n *Node) stepLeader(from sim.NodeID, msg sim.Message) {
	// TODO(part 1): a leader refuses votes in its own term (it voted for
	// itself).
}

// HandleTimer is called when a timer set with n.env.SetTimer fires, with
// the value given then: electionTimeout{} or heartbeatTick{}.
func (n *Node) HandleTimer(t sim.Timer) {
	// TODO(part 1): when the election timer fires, start an election;
	// when the leader's heartbeat timer fires, send heartbeats and set it
	// again.
	// TODO(part 3): what should a candidate do when its election timer
	// fires?
	// TODO(part 4): with n.cfg.PreVote, run a pre-vote first.
}

// becomeFollower makes the node a follower of term (saving the new term,
// with no vote, if it is newer), following leader if known.
func (n *Node) becomeFollower(term uint64, leader sim.NodeID) {
	// TODO(part 1): save a newer term with no vote, take the follower
	// role and the leader, and set the election timer.
	// TODO(part 2): a leader that becomes a follower sends no more
	// heartbeats.
}

// becomeCandidate starts an election in a new term: vote for yourself,
// save, reset the election timer, ask every peer for its vote.
func (n *Node) becomeCandidate() {
	// TODO(part 1)
}

// becomeLeader takes office: heartbeats to every peer at once and every
// HeartbeatInterval after, and no election timer while leading.
func (n *Node) becomeLeader() {
	// TODO(part 1)
}

// resetElectionTimer cancels the election timer and sets a new one, with a
// timeout drawn at random from [cfg.ElectionTimeoutMin,
// cfg.ElectionTimeoutMax) with n.env.Rand().
func (n *Node) resetElectionTimer() {
	// TODO(part 1): why random? Read §5.2 on split votes.
}
