//go:build solution

package raftlog

// The key-value store on top of the log (6.5840's lab 4, on the
// simulator). Every server applies every committed command to its copy of
// the data; the leader answers a clerk once the clerk's entry is applied.
// A retried request is applied once: each server remembers, per clerk, the
// last request it applied and its answer, and that table is part of the
// state, in the snapshot too.

import (
	"encoding/json"

	"github.com/distlings/distlings/labs/internal/sim"
)

// store is a server's state.
type store struct {
	Data map[string]string
	Last map[sim.NodeID]lastReply // per clerk: the last request applied

	// waiting is the clerks whose requests this server proposed, by log
	// index: answered when that index is applied.
	waiting map[uint64]ClientRequest
	from    map[uint64]sim.NodeID
}

type lastReply struct {
	Seq   int
	Value string
}

func (s *Server) init() {
	if s.Data == nil {
		s.Data, s.Last = map[string]string{}, map[sim.NodeID]lastReply{}
	}
	if s.waiting == nil {
		s.waiting, s.from = map[uint64]ClientRequest{}, map[uint64]sim.NodeID{}
	}
}

// handleRequest answers a request already applied at once; otherwise a
// leader proposes it, and others send the clerk on. A Get goes through the
// log as well: a leader answering from its own copy may have been deposed
// without knowing it, and its copy may be stale.
func (s *Server) handleRequest(from sim.NodeID, m ClientRequest) {
	s.init()
	if last, ok := s.Last[m.Client]; ok && last.Seq == m.Seq && s.raft.Role() == Leader {
		s.env.Send(from, ClientReply{Client: m.Client, Seq: m.Seq, Value: last.Value})
		return
	}
	index, _, ok := s.raft.Propose(EncodeCommand(Command{Client: m.Client, Seq: m.Seq, Op: m.Op}))
	if !ok {
		s.env.Send(from, ClientReply{Client: m.Client, Seq: m.Seq, WrongLeader: true, Leader: s.raft.Leader()})
		return
	}
	s.waiting[index], s.from[index] = m, from
}

// Apply applies a committed command once per clerk and sequence number,
// and answers the clerk waiting for that index, if any.
func (s *Server) Apply(m ApplyMsg) {
	s.init()
	cmd, err := DecodeCommand(m.Command)
	if err != nil {
		return // not a command of this store
	}
	if last := s.Last[cmd.Client]; cmd.Seq > last.Seq {
		value := ""
		switch cmd.Op.Kind {
		case Get:
			value = s.Data[cmd.Op.Key]
		case Put:
			s.Data[cmd.Op.Key] = cmd.Op.Value
		case Append:
			s.Data[cmd.Op.Key] += cmd.Op.Value
		}
		s.Last[cmd.Client] = lastReply{Seq: cmd.Seq, Value: value}
	}
	w, ok := s.waiting[m.Index]
	if !ok {
		return
	}
	delete(s.waiting, m.Index)
	to := s.from[m.Index]
	delete(s.from, m.Index)
	if w.Client != cmd.Client || w.Seq != cmd.Seq {
		// Another leader's entry took this index: the request was lost.
		s.env.Send(to, ClientReply{Client: w.Client, Seq: w.Seq, WrongLeader: true, Leader: s.raft.Leader()})
		return
	}
	reply := ClientReply{Client: w.Client, Seq: w.Seq}
	if last := s.Last[w.Client]; last.Seq == w.Seq {
		reply.Value = last.Value
	}
	s.env.Send(to, reply)
}

// Value returns the server's copy of key's value.
func (s *Server) Value(key string) string { return s.Data[key] }

// Snapshot is the data and the table of last requests: without the table,
// a server restored from a snapshot would apply a retried request again.
func (s *Server) Snapshot() []byte {
	s.init()
	data, err := json.Marshal(struct {
		Data map[string]string
		Last map[sim.NodeID]lastReply
	}{s.Data, s.Last})
	if err != nil {
		panic(err)
	}
	return data
}

// Restore replaces the data and the table with a snapshot's.
func (s *Server) Restore(snapshot []byte) {
	var st struct {
		Data map[string]string
		Last map[sim.NodeID]lastReply
	}
	if err := json.Unmarshal(snapshot, &st); err != nil {
		return
	}
	s.Data, s.Last = st.Data, st.Last
	s.init()
}

// clerkState is the clerk's operation in flight.
type clerkState struct {
	seq    int
	op     Op
	done   func(string)
	leader sim.NodeID // where to try first
	timer  sim.TimerID
}

// Do sends op to the server the clerk believes leads.
func (c *Clerk) Do(op Op, done func(value string)) {
	c.seq++
	c.op, c.done = op, done
	if c.leader == 0 {
		c.leader = 1
	}
	c.send()
}

func (c *Clerk) send() {
	c.env.Send(c.leader, ClientRequest{Client: c.env.ID(), Seq: c.seq, Op: c.op})
	if c.timer != 0 {
		c.env.CancelTimer(c.timer)
	}
	c.timer = c.env.SetTimer(RetryAfter, retryTick{Seq: c.seq})
}

// handleReply finishes the operation, or tries where the server says.
func (c *Clerk) handleReply(from sim.NodeID, m ClientReply) {
	if m.Seq != c.seq || c.done == nil {
		return // the answer to an earlier attempt of a finished operation
	}
	if m.WrongLeader {
		c.leader = m.Leader
		if c.leader == 0 || c.leader == from {
			c.leader = c.next(from)
		}
		c.send()
		return
	}
	c.env.CancelTimer(c.timer)
	c.timer = 0
	done := c.done
	c.done = nil
	done(m.Value)
}

// handleRetry tries the next server when an attempt had no answer.
func (c *Clerk) handleRetry(t retryTick) {
	if t.Seq != c.seq || c.done == nil {
		return
	}
	c.timer = 0
	c.leader = c.next(c.leader)
	c.send()
}

func (c *Clerk) next(after sim.NodeID) sim.NodeID {
	return after%sim.NodeID(c.servers) + 1
}
