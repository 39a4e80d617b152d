// Package nodetest drives one simulator node by hand, as etcd-io/raft's
// paper tests do: an Env that records everything the node does, in order,
// so that a test can check exactly what it sent, which timers it set and
// what it wrote to its storage, and can crash it between any two of those
// steps.
package nodetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/distlings/distlings/labs/internal/sim"
)

// Kind is what a node did through its Env.
type Kind int

// The things a node can do that a test checks.
const (
	Send Kind = iota
	Put
	Delete
	SetTimer
	CancelTimer
)

// Did is one thing a node did.
type Did struct {
	Kind  Kind
	To    sim.NodeID  // Send
	Msg   sim.Message // Send: a copy, as the network would carry it
	Key   string      // Put, Delete
	Value []byte      // Put
	Timer sim.Timer   // SetTimer
	ID    sim.TimerID // SetTimer, CancelTimer
	At    time.Duration
}

func (d Did) String() string {
	switch d.Kind {
	case Send:
		return fmt.Sprintf("send %s to %v", sim.Describe(d.Msg), d.To)
	case Put:
		return fmt.Sprintf("write %q (%d bytes)", d.Key, len(d.Value))
	case Delete:
		return fmt.Sprintf("delete %q", d.Key)
	case SetTimer:
		return fmt.Sprintf("set timer %s for %v", sim.Describe(d.Timer), d.At)
	}
	return fmt.Sprintf("cancel timer %d", d.ID)
}

// Pending is a timer that was set and has not fired or been cancelled.
type Pending struct {
	ID    sim.TimerID
	At    time.Duration
	Value sim.Timer
}

// Env is the whole world of one node under test. Its zero value is not
// ready: use NewEnv.
type Env struct {
	id      sim.NodeID
	size    int
	now     time.Duration
	rand    *rand.Rand
	storage *Storage
	timers  []Pending
	nextID  sim.TimerID
	log     []Did
	lines   []string

	crashOnSend      bool
	crashAfterWrites int
	writes           int
	down             bool
}

// NewEnv returns the world of node id in a cluster of size nodes, with a
// random source drawn from seed and empty storage.
func NewEnv(id sim.NodeID, size int, seed uint64) *Env {
	e := &Env{id: id, size: size, rand: rand.New(rand.NewPCG(seed, uint64(id)))}
	e.storage = &Storage{env: e, data: map[string][]byte{}}
	return e
}

func (e *Env) ID() sim.NodeID { return e.id }

func (e *Env) Peers() []sim.NodeID {
	var peers []sim.NodeID
	for i := 1; i <= e.size; i++ {
		if sim.NodeID(i) != e.id {
			peers = append(peers, sim.NodeID(i))
		}
	}
	return peers
}

func (e *Env) Now() time.Duration { return e.now }

// Send records a copy of msg: the node may change its own values after
// sending, as it may on a real network.
func (e *Env) Send(to sim.NodeID, msg sim.Message) {
	if e.down {
		return
	}
	copied, err := sim.CopyMessage(msg)
	if err != nil {
		panic(fmt.Sprintf("%v sent a message that cannot cross a network: %v", e.id, err))
	}
	e.log = append(e.log, Did{Kind: Send, To: to, Msg: copied, At: e.now})
	if e.crashOnSend {
		e.down = true
	}
}

func (e *Env) SetTimer(after time.Duration, t sim.Timer) sim.TimerID {
	e.nextID++
	if !e.down {
		e.timers = append(e.timers, Pending{ID: e.nextID, At: e.now + after, Value: t})
		e.log = append(e.log, Did{Kind: SetTimer, Timer: t, ID: e.nextID, At: e.now + after})
	}
	return e.nextID
}

func (e *Env) CancelTimer(id sim.TimerID) {
	if e.down {
		return
	}
	e.timers = slices.DeleteFunc(e.timers, func(p Pending) bool { return p.ID == id })
	e.log = append(e.log, Did{Kind: CancelTimer, ID: id, At: e.now})
}

func (e *Env) Rand() *rand.Rand     { return e.rand }
func (e *Env) Storage() sim.Storage { return e.storage }
func (e *Env) Logf(format string, args ...any) {
	e.lines = append(e.lines, fmt.Sprintf(format, args...))
}

// Take returns what the node did since the last Take.
func (e *Env) Take() []Did {
	log := e.log
	e.log = nil
	return log
}

// Lines returns what the node logged with Logf.
func (e *Env) Lines() []string { return e.lines }

// Advance moves the clock forward without firing anything.
func (e *Env) Advance(d time.Duration) { e.now += d }

// Timers returns the pending timers, in the order they were set.
func (e *Env) Timers() []Pending { return slices.Clone(e.timers) }

// TimerLike returns the first pending timer whose value has the type of v.
func (e *Env) TimerLike(v sim.Timer) (Pending, bool) {
	for _, p := range e.timers {
		if fmt.Sprintf("%T", p.Value) == fmt.Sprintf("%T", v) {
			return p, true
		}
	}
	return Pending{}, false
}

// Fire moves the clock to p and removes p from the pending timers; the
// caller then hands p.Value to the node's HandleTimer.
func (e *Env) Fire(p Pending) {
	e.now = max(e.now, p.At)
	e.timers = slices.DeleteFunc(e.timers, func(q Pending) bool { return q.ID == p.ID })
}

// CrashOnSend makes the node lose power the moment its next message
// leaves: nothing it does after that reaches the network or the storage.
func (e *Env) CrashOnSend() { e.crashOnSend = true }

// CrashAfterWrites makes the node lose power the moment its k-th write
// from now is on disk, before whatever it does next.
func (e *Env) CrashAfterWrites(k int) { e.crashAfterWrites, e.writes = k, 0 }

// Down reports whether the node has lost power.
func (e *Env) Down() bool { return e.down }

// Reboot turns the power back on for a fresh incarnation: the storage is
// kept; the pending timers and the record of what was done are not.
func (e *Env) Reboot() {
	e.crashOnSend, e.crashAfterWrites, e.writes, e.down = false, 0, 0, false
	e.timers, e.log = nil, nil
}

// Storage is durable storage that records each write in its Env's log.
type Storage struct {
	env  *Env
	data map[string][]byte
}

func (s *Storage) Get(key string) ([]byte, bool) {
	v, ok := s.data[key]
	if !ok {
		return nil, false
	}
	return slices.Clone(v), true
}

func (s *Storage) Put(key string, value []byte) {
	if s.env.down {
		return // the machine is off: the write never happens
	}
	s.data[key] = slices.Clone(value)
	s.env.log = append(s.env.log, Did{Kind: Put, Key: key, Value: slices.Clone(value), At: s.env.now})
	s.wrote()
}

func (s *Storage) Delete(key string) {
	if s.env.down {
		return
	}
	delete(s.data, key)
	s.env.log = append(s.env.log, Did{Kind: Delete, Key: key, At: s.env.now})
	s.wrote()
}

func (s *Storage) wrote() {
	if s.env.crashAfterWrites > 0 {
		s.env.writes++
		if s.env.writes == s.env.crashAfterWrites {
			s.env.down = true
		}
	}
}

// Sent returns the messages in log, by receiver.
func Sent(log []Did) map[sim.NodeID][]sim.Message {
	out := map[sim.NodeID][]sim.Message{}
	for _, d := range log {
		if d.Kind == Send {
			out[d.To] = append(out[d.To], d.Msg)
		}
	}
	return out
}

// List writes messages in their own words, comma-separated.
func List(msgs []sim.Message) string {
	if len(msgs) == 0 {
		return "nothing"
	}
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		parts[i] = sim.Describe(m)
	}
	return strings.Join(parts, ", ")
}

// Describe writes a log one step per indented line.
func Describe(log []Did) string {
	if len(log) == 0 {
		return "    (nothing)"
	}
	lines := make([]string, len(log))
	for i, d := range log {
		lines[i] = "    " + d.String()
	}
	return strings.Join(lines, "\n")
}
