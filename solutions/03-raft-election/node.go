//go:build solution

package raft

// Leader election, as in etcd-io/raft: the rules every role shares (terms)
// run first, in HandleMessage; then the message goes to the step function
// of the node's role. becomeFollower, becomeCandidate and becomeLeader are
// the only places a role changes.

import (
	"time"

	"github.com/distlings/distlings/labs/internal/sim"
)

// Node is one Raft node's election state.
type Node struct {
	cfg Config
	env sim.Env

	// Persistent state (Figure 2), saved with SaveHardState before any
	// message that depends on it is sent.
	term     uint64
	votedFor sim.NodeID

	// Volatile state, lost in a crash.
	role   Role
	leader sim.NodeID          // the leader of term, if known
	votes  map[sim.NodeID]bool // votes (or pre-votes) received in this election

	electionTimer  sim.TimerID
	heartbeatTimer sim.TimerID
	// heardFromLeader is when the last heartbeat of a live leader came
	// in; a node that heard one within the minimum election timeout
	// refuses pre-votes (part 4).
	heardFromLeader time.Duration
	heardAny        bool
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

// Start boots the node as a follower in the term it last saved.
func (n *Node) Start(env sim.Env) {
	n.env = env
	hs := LoadHardState(env.Storage())
	n.term, n.votedFor = hs.Term, hs.VotedFor
	n.role = Follower
	n.resetElectionTimer()
}

// HandleMessage applies the rules on terms that every role shares, then
// hands the message to the role's step function.
func (n *Node) HandleMessage(from sim.NodeID, msg sim.Message) {
	term, ok := termOf(msg)
	if !ok {
		n.env.Logf("ignored %v from %v: not a Raft message", sim.Describe(msg), from)
		return
	}
	switch {
	case term > n.term:
		if rv, ok := msg.(RequestVote); ok && rv.PreVote {
			break // a pre-vote changes nothing at the receiver (§9.6)
		}
		if r, ok := msg.(RequestVoteReply); ok && r.PreVote && r.VoteGranted {
			break // a granted pre-vote carries the term asked for, not a newer one
		}
		// Any newer term makes a node a follower of that term (§5.1). A
		// heartbeat also names the leader.
		leader := sim.NodeID(0)
		if ae, ok := msg.(AppendEntries); ok {
			leader = ae.Leader
		}
		n.becomeFollower(term, leader)
	case term < n.term:
		// A stale message: answer requests with the current term so the
		// sender learns it is behind; drop stale replies (§5.1).
		switch m := msg.(type) {
		case RequestVote:
			n.env.Send(from, RequestVoteReply{Term: n.term, PreVote: m.PreVote})
		case AppendEntries:
			n.env.Send(from, AppendEntriesReply{Term: n.term})
		}
		return
	}
	switch n.role {
	case Follower:
		n.stepFollower(from, msg)
	case PreCandidate, Candidate:
		n.stepCandidate(from, msg)
	case Leader:
		n.stepLeader(from, msg)
	}
}

func (n *Node) stepFollower(from sim.NodeID, msg sim.Message) {
	switch m := msg.(type) {
	case RequestVote:
		n.handleRequestVote(from, m)
	case AppendEntries:
		n.handleHeartbeat(from, m)
	}
}

// stepCandidate serves pre-candidates and candidates: both count votes.
func (n *Node) stepCandidate(from sim.NodeID, msg sim.Message) {
	switch m := msg.(type) {
	case RequestVote:
		n.handleRequestVote(from, m)
	case AppendEntries:
		// A leader of this term exists: stop campaigning (§5.2).
		n.becomeFollower(m.Term, m.Leader)
		n.handleHeartbeat(from, m)
	case RequestVoteReply:
		if m.PreVote != (n.role == PreCandidate) {
			return // an answer to an earlier stage of the election
		}
		if m.PreVote && m.Term != n.term+1 {
			return // a pre-vote for another round
		}
		if !m.VoteGranted {
			return
		}
		n.votes[from] = true
		if !n.hasMajority() {
			return
		}
		if n.role == PreCandidate {
			n.becomeCandidate()
		} else {
			n.becomeLeader()
		}
	}
}

func (n *Node) stepLeader(from sim.NodeID, msg sim.Message) {
	switch m := msg.(type) {
	case RequestVote:
		n.handleRequestVote(from, m) // refused: a leader voted for itself
	case AppendEntries:
		// Two leaders in one term cannot happen; if it did, say so.
		n.env.Logf("BUG: heartbeat from %v, another leader of term %d", from, m.Term)
	}
	// AppendEntriesReply: nothing to do until lab 04; a newer term in it
	// has already made this node a follower.
}

// handleRequestVote grants a vote at most once per term (§5.2), saving the
// vote before answering, and answers pre-votes without changing anything.
func (n *Node) handleRequestVote(from sim.NodeID, m RequestVote) {
	if m.PreVote {
		// Refuse while a leader is known to be alive: a node that was cut
		// off must not unseat a healthy leader when it comes back (§9.6).
		leaderAlive := n.role == Leader ||
			(n.heardAny && n.env.Now()-n.heardFromLeader < n.cfg.ElectionTimeoutMin)
		granted := m.Term > n.term && !leaderAlive
		term := n.term
		if granted {
			term = m.Term
		}
		n.env.Send(from, RequestVoteReply{Term: term, VoteGranted: granted, PreVote: true})
		return
	}
	granted := n.votedFor == 0 || n.votedFor == m.Candidate
	if granted {
		n.votedFor = m.Candidate
		n.save()
		// A node that grants a vote gives that candidate a full timeout to
		// win before standing itself (Figure 2, rules for followers). A
		// pre-candidate gives up its campaign too: pre-votes still on
		// their way would make it stand against the node it voted for.
		if n.role == PreCandidate {
			n.becomeFollower(n.term, 0)
		} else {
			n.resetElectionTimer()
		}
	}
	n.env.Send(from, RequestVoteReply{Term: n.term, VoteGranted: granted})
}

func (n *Node) handleHeartbeat(from sim.NodeID, m AppendEntries) {
	n.leader = m.Leader
	n.heardFromLeader, n.heardAny = n.env.Now(), true
	n.resetElectionTimer()
	n.env.Send(from, AppendEntriesReply{Term: n.term, Success: true})
}

// HandleTimer starts an election when the election timer fires, and sends
// heartbeats when the leader's timer does.
func (n *Node) HandleTimer(t sim.Timer) {
	switch t.(type) {
	case electionTimeout:
		n.electionTimer = 0
		if n.role == Leader {
			return // a leader has no election timer; this one is stale
		}
		// Followers and candidates alike: a candidate whose election
		// timed out (a split vote) tries again in a new term (§5.2).
		if n.cfg.PreVote {
			n.becomePreCandidate()
		} else {
			n.becomeCandidate()
		}
	case heartbeatTick:
		n.heartbeatTimer = 0
		if n.role == Leader {
			n.broadcastHeartbeat()
			n.heartbeatTimer = n.env.SetTimer(n.cfg.HeartbeatInterval, heartbeatTick{})
		}
	}
}

func (n *Node) becomeFollower(term uint64, leader sim.NodeID) {
	if term > n.term {
		n.term, n.votedFor = term, 0
		n.save()
	}
	if n.role != Follower {
		n.env.Logf("%v → follower in term %d", n.role, n.term)
	}
	n.role, n.leader, n.votes = Follower, leader, nil
	n.stopHeartbeats()
	n.resetElectionTimer()
}

// becomePreCandidate asks the others whether they would vote for this
// node in the next term, without raising its own.
func (n *Node) becomePreCandidate() {
	n.role, n.leader = PreCandidate, 0
	n.votes = map[sim.NodeID]bool{n.env.ID(): true}
	n.env.Logf("pre-candidate for term %d", n.term+1)
	n.resetElectionTimer()
	if n.hasMajority() {
		n.becomeCandidate()
		return
	}
	for _, p := range n.env.Peers() {
		n.env.Send(p, RequestVote{Term: n.term + 1, Candidate: n.env.ID(), PreVote: true})
	}
}

// becomeCandidate starts an election: a new term, a vote for itself,
// saved before any RequestVote leaves (§5.2).
func (n *Node) becomeCandidate() {
	n.term++
	n.votedFor = n.env.ID()
	n.save()
	n.role, n.leader = Candidate, 0
	n.votes = map[sim.NodeID]bool{n.env.ID(): true}
	n.env.Logf("candidate in term %d", n.term)
	n.resetElectionTimer()
	if n.hasMajority() {
		n.becomeLeader() // a cluster of one
		return
	}
	for _, p := range n.env.Peers() {
		n.env.Send(p, RequestVote{Term: n.term, Candidate: n.env.ID()})
	}
}

// becomeLeader takes office: heartbeats at once and then every interval,
// and no election timer while it leads.
func (n *Node) becomeLeader() {
	n.role, n.leader, n.votes = Leader, n.env.ID(), nil
	n.env.Logf("leader of term %d", n.term)
	if n.electionTimer != 0 {
		n.env.CancelTimer(n.electionTimer)
		n.electionTimer = 0
	}
	n.broadcastHeartbeat()
	n.heartbeatTimer = n.env.SetTimer(n.cfg.HeartbeatInterval, heartbeatTick{})
}

func (n *Node) broadcastHeartbeat() {
	for _, p := range n.env.Peers() {
		n.env.Send(p, AppendEntries{Term: n.term, Leader: n.env.ID()})
	}
}

func (n *Node) stopHeartbeats() {
	if n.heartbeatTimer != 0 {
		n.env.CancelTimer(n.heartbeatTimer)
		n.heartbeatTimer = 0
	}
}

// resetElectionTimer sets a new election timer with a random timeout, so
// that nodes rarely time out together and split the vote (§5.2).
func (n *Node) resetElectionTimer() {
	if n.electionTimer != 0 {
		n.env.CancelTimer(n.electionTimer)
	}
	spread := n.cfg.ElectionTimeoutMax - n.cfg.ElectionTimeoutMin
	timeout := n.cfg.ElectionTimeoutMin
	if spread > 0 {
		timeout += time.Duration(n.env.Rand().Int64N(int64(spread)))
	}
	n.electionTimer = n.env.SetTimer(timeout, electionTimeout{})
}

func (n *Node) hasMajority() bool {
	return len(n.votes) > (len(n.env.Peers())+1)/2
}

func (n *Node) save() {
	SaveHardState(n.env.Storage(), HardState{Term: n.term, VotedFor: n.votedFor})
}
