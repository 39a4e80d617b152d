package raftlog

// Part 5's frame, given: a key-value server that runs a Raft node, a clerk
// (the client library) that talks to the servers, the messages between
// them, and the commands the servers put in the log. You write what they
// do, in kv.go.

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/distlings/distlings/labs/internal/sim"
)

// OpKind is what an operation does.
type OpKind int

// The operations of the store.
const (
	Get OpKind = iota
	Put
	Append
)

func (k OpKind) String() string {
	switch k {
	case Get:
		return "get"
	case Put:
		return "put"
	case Append:
		return "append"
	}
	return fmt.Sprintf("OpKind(%d)", int(k))
}

// Op is one operation on the store. Get returns the key's value, "" if it
// has none; Put sets it; Append adds Value at its end.
type Op struct {
	Kind  OpKind
	Key   string
	Value string
}

func (o Op) String() string {
	if o.Kind == Get {
		return fmt.Sprintf("get(%q)", o.Key)
	}
	return fmt.Sprintf("%v(%q, %q)", o.Kind, o.Key, o.Value)
}

// ClientRequest is a clerk's request to a server. Seq is the clerk's to
// number its requests with.
type ClientRequest struct {
	Client sim.NodeID
	Seq    int
	Op     Op
}

// ClientReply answers a ClientRequest. WrongLeader means "not done, and
// not here": the clerk tries elsewhere, at Leader if the server knows one.
type ClientReply struct {
	Client      sim.NodeID
	Seq         int
	WrongLeader bool
	Leader      sim.NodeID
	Value       string // Get's
}

func (m ClientRequest) String() string {
	return fmt.Sprintf("ClientRequest{%v #%d %v}", m.Client, m.Seq, m.Op)
}

func (m ClientReply) String() string {
	if m.WrongLeader {
		return fmt.Sprintf("ClientReply{%v #%d, wrong leader, try %v}", m.Client, m.Seq, m.Leader)
	}
	return fmt.Sprintf("ClientReply{%v #%d ok %q}", m.Client, m.Seq, m.Value)
}

// Command is what a server puts in the log for one request.
type Command struct {
	Client sim.NodeID
	Seq    int
	Op     Op
}

// EncodeCommand and DecodeCommand turn a Command into log bytes and back.
func EncodeCommand(c Command) []byte {
	data, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return data
}

func DecodeCommand(data []byte) (Command, error) {
	var c Command
	err := json.Unmarshal(data, &c)
	return c, err
}

// Server is one key-value server: a Raft node, and the store on top of it
// as the node's Service.
type Server struct {
	cfg     Config
	env     sim.Env
	servers int // the servers are n1 … n<servers>; the other nodes are clerks
	raft    *Node

	store // yours: kv.go
}

// NewServers returns the constructor of a cluster whose first servers
// nodes are key-value servers and whose other nodes are clerks.
func NewServers(cfg Config, servers int) func(id sim.NodeID) sim.Node {
	return func(id sim.NodeID) sim.Node {
		if int(id) <= servers {
			return &Server{cfg: cfg, servers: servers}
		}
		return &Clerk{servers: servers}
	}
}

// Raft returns the server's Raft node.
func (s *Server) Raft() *Node { return s.raft }

// Start boots the server and its Raft node, whose peers are the other
// servers only.
func (s *Server) Start(env sim.Env) {
	s.env = env
	s.raft = NewNode(s.cfg, s)
	s.raft.Start(serversOnly{Env: env, servers: s.servers})
}

// HandleMessage passes Raft's messages to the node and handles clerks'.
func (s *Server) HandleMessage(from sim.NodeID, msg sim.Message) {
	if m, ok := msg.(ClientRequest); ok {
		s.handleRequest(from, m)
		return
	}
	s.raft.HandleMessage(from, msg)
}

// HandleTimer passes the node's timers to it.
func (s *Server) HandleTimer(t sim.Timer) { s.raft.HandleTimer(t) }

// serversOnly is a server's Env as its Raft node sees it: its peers are
// the other servers, not the clerks.
type serversOnly struct {
	sim.Env
	servers int
}

func (e serversOnly) Peers() []sim.NodeID {
	var peers []sim.NodeID
	for i := 1; i <= e.servers; i++ {
		if sim.NodeID(i) != e.ID() {
			peers = append(peers, sim.NodeID(i))
		}
	}
	return peers
}

// Clerk is a client of the store, one operation at a time: Do starts one,
// and done hears its result once it has taken effect.
type Clerk struct {
	env     sim.Env
	servers int

	clerkState // yours: kv.go
}

// retryTick is the clerk's timer: an attempt has had no answer in time.
type retryTick struct{ Seq int }

func (t retryTick) String() string { return fmt.Sprintf("retryTick{#%d}", t.Seq) }

// RetryAfter is how long a clerk waits for an answer before it tries
// another server.
const RetryAfter = 100 * time.Millisecond

func (c *Clerk) Start(env sim.Env) { c.env = env }

func (c *Clerk) HandleMessage(from sim.NodeID, msg sim.Message) {
	if m, ok := msg.(ClientReply); ok {
		c.handleReply(from, m)
	}
}

func (c *Clerk) HandleTimer(t sim.Timer) {
	if r, ok := t.(retryTick); ok {
		c.handleRetry(r)
	}
}
