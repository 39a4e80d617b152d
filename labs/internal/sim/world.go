package sim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"time"
)

// Config describes a simulated cluster.
type Config struct {
	Nodes   int    // how many nodes, numbered 1 to Nodes
	Seed    uint64 // decides every random choice of the run
	Network Network
	// TraceLimit is how many trace records are kept in memory (the latest
	// ones); 0 means FullTrace for a World. A Cluster keeps a short ring
	// instead, unless the test replays one seed (see NewCluster).
	TraceLimit int
}

// maxEventsAtOneInstant stops a run whose time cannot advance, e.g. a node
// that sets a zero-delay timer from its own timer, forever.
const maxEventsAtOneInstant = 100_000

// World is a simulated cluster: nodes, network, virtual time and the
// trace. Tests normally use it through a Cluster, which adds invariants,
// failure reports and the testing.TB plumbing.
type World struct {
	cfg     Config
	newNode func(NodeID) Node
	now     time.Duration
	seq     uint64
	queue   eventQueue
	nodes   []*slot
	ids     []NodeID
	links   links
	trace   *Trace
	nextTID TimerID
	types   typeCache
	sent    []uint32 // messages sent on each link, by from×(nodes+1)+to
	faults  []Fault  // the faults met so far
	plan    *plan    // the faults to meet instead of random ones; nil for random
	sources int      // ScheduleFaults calls so far
	tracker func(NodeID) State

	invariants []invariant
	observers  []func(Record)
	failure    *Failure
	current    event // the event being handled, for failure reports
	inEvent    bool
	sameTime   int // events handled since time last advanced
	handled    uint64
	handling   handling // for the watchdog of hung handlers
}

type invariant struct {
	name  string
	check func() error
}

// slot is one node of the cluster across its incarnations.
type slot struct {
	id      NodeID
	node    Node // nil while crashed
	env     *env
	epoch   uint64 // incarnation, from 1
	storage *memStorage
	timers  map[TimerID]struct{} // pending timers of this incarnation
	state   State                // last recorded, for TrackState
}

// NewWorld makes a cluster and starts its nodes at time zero, in order.
func NewWorld(cfg Config, newNode func(NodeID) Node) *World {
	return newWorld(cfg, newNode, nil)
}

// newWorld makes a World whose trace reuses ring, if it has room.
func newWorld(cfg Config, newNode func(NodeID) Node, ring []Record) *World {
	if cfg.Nodes < 1 {
		panic(fmt.Sprintf("sim: a cluster needs at least one node, got %d", cfg.Nodes))
	}
	w := &World{
		cfg:     cfg,
		newNode: newNode,
		trace:   newTrace(cfg.TraceLimit, ring),
	}
	w.cfg.Network = cfg.Network.withDefaults()
	w.sent = make([]uint32, (cfg.Nodes+1)*(cfg.Nodes+1))
	for i := range cfg.Nodes {
		w.nodes = append(w.nodes, &slot{id: NodeID(i + 1), storage: newMemStorage()})
		w.ids = append(w.ids, NodeID(i+1))
	}
	for _, s := range w.nodes {
		w.boot(s, KindStart)
	}
	return w
}

// Now is the virtual time.
func (w *World) Now() time.Duration { return w.now }

// Seed is the seed the run was made from.
func (w *World) Seed() uint64 { return w.cfg.Seed }

// IDs returns every node's id, in order. The slice is the World's own,
// shared by every call so that invariants checked after every event
// allocate nothing: read it, never change it.
func (w *World) IDs() []NodeID { return w.ids[:len(w.ids):len(w.ids)] }

// Node returns the running incarnation of a node, or nil while it is crashed.
func (w *World) Node(id NodeID) Node { return w.slot(id, "Node").node }

// Up reports whether a node is running.
func (w *World) Up(id NodeID) bool { return w.slot(id, "Up").node != nil }

// Storage returns a node's durable storage, to inspect it.
func (w *World) Storage(id NodeID) Storage { return w.slot(id, "Storage").storage }

// Trace returns the run's trace.
func (w *World) Trace() *Trace { return w.trace }

// Failure returns what stopped the run, or nil.
func (w *World) Failure() *Failure { return w.failure }

// Handled is the number of events handled so far.
func (w *World) Handled() uint64 { return w.handled }

// AddInvariant registers a check that runs after every event; the first
// that returns an error stops the run there.
func (w *World) AddInvariant(name string, check func() error) {
	w.invariants = append(w.invariants, invariant{name, check})
}

func (w *World) slot(id NodeID, op string) *slot {
	if id < 1 || int(id) > len(w.nodes) {
		panic(fmt.Sprintf("sim: %s(%v): no such node; the cluster has n1 to n%d", op, id, len(w.nodes)))
	}
	return w.nodes[id-1]
}

// note records an event of the network or a node, written straight into
// the trace: the hot path, millions of times a run.
func (w *World) note(kind Kind, node, peer NodeID, n uint32, msg Message, text string) {
	kept := w.trace.next()
	*kept = Record{Seq: w.trace.count, At: w.now, Kind: kind, Node: node, Peer: peer, N: n, Msg: msg, Text: text}
	for _, f := range w.observers {
		f(*kept)
	}
}

// record records an event of the test or the world, as note does.
func (w *World) record(r Record) { w.note(r.Kind, r.Node, r.Peer, r.N, r.Msg, r.Text) }

// Observe calls f with every record of the trace from now on, as it is
// made: a way for tests to watch the messages that pass, e.g. every vote
// granted, without scanning the trace. f must not change the world.
func (w *World) Observe(f func(Record)) { w.observers = append(w.observers, f) }

func (w *World) schedule(e *event) {
	w.seq++
	e.seq = w.seq
	w.queue.push(e)
}

// boot starts a fresh incarnation of a node.
func (w *World) boot(s *slot, kind Kind) {
	s.epoch++
	s.timers = map[TimerID]struct{}{}
	s.env = &env{w: w, s: s, epoch: s.epoch, rand: rand.New(w.nodeSource(s.id, s.epoch))}
	s.node = w.newNode(s.id)
	if s.node == nil {
		panic(fmt.Sprintf("sim: the node constructor returned nil for %v", s.id))
	}
	text := ""
	if s.epoch > 1 {
		text = fmt.Sprintf("incarnation %d", s.epoch)
	}
	w.record(Record{Kind: kind, Node: s.id, Text: text})
	w.handle(s.id, "Start", func() { s.node.Start(s.env) })
}

// Crash stops a node now: it loses its memory and its pending timers, and
// messages to it are lost until it restarts. Its Storage survives.
func (w *World) Crash(id NodeID) {
	s := w.slot(id, "Crash")
	if s.node == nil {
		return
	}
	s.node, s.timers = nil, nil
	s.env.dead = true
	s.state = State{}
	w.record(Record{Kind: KindCrash, Node: id})
}

// Restart brings a crashed node back: a new value from the constructor,
// started with the same Storage.
func (w *World) Restart(id NodeID) {
	s := w.slot(id, "Restart")
	if s.node != nil {
		return
	}
	w.boot(s, KindRestart)
}

// At schedules f at virtual time at (or now, if that is past); the trace
// shows it as an action with the given name.
func (w *World) At(at time.Duration, name string, f func()) {
	w.schedule(&event{at: max(at, w.now), kind: evAction, act: &action{name: name, f: f}})
}

// atQuietly is At for the simulator's own steps, such as the start of a
// scheduled fault: what they do is in the trace, the step itself is not.
func (w *World) atQuietly(at time.Duration, name string, f func()) {
	w.schedule(&event{at: max(at, w.now), kind: evAction, act: &action{name: name, f: f, quiet: true}})
}

// Step handles the next event. It returns false when there is none left or
// the run has failed.
func (w *World) Step() bool {
	if w.failure != nil || w.queue.len() == 0 {
		return false
	}
	w.queue.popInto(&w.current)
	e := &w.current
	if e.at > w.now {
		w.now, w.sameTime = e.at, 0
	}
	w.sameTime++
	if w.sameTime > maxEventsAtOneInstant {
		w.fail(&Failure{Kind: "stuck", At: w.now, Message: fmt.Sprintf(
			"virtual time stopped at %v: %d events happened at that one instant (a timer set with no delay from its own handler?)",
			w.now, maxEventsAtOneInstant)})
		return false
	}
	w.inEvent = true
	switch e.kind {
	case evDeliver:
		w.deliver(e)
	case evTimer:
		w.fire(e)
	case evAction:
		if !e.act.quiet {
			w.record(Record{Kind: KindAction, Text: e.act.name})
		}
		w.handle(0, "action "+e.act.name, e.act.f)
	}
	w.inEvent = false
	w.handled++
	if w.failure == nil && len(w.invariants) > 0 {
		w.checkInvariants()
	}
	return w.failure == nil
}

// RunFor handles every event of the next d of virtual time. It returns the
// failure that stopped the run, if any.
func (w *World) RunFor(d time.Duration) error {
	defer w.handling.idle()
	end := w.now + d
	for w.failure == nil && w.queue.len() > 0 && w.queue.peekAt() <= end {
		w.Step()
	}
	if w.failure != nil {
		return w.failure
	}
	w.now = end
	return nil
}

// RunUntil handles events until done returns true (it is checked after
// every event) or virtual time passes deadline. It reports whether done
// became true; err is the failure that stopped the run, if any.
func (w *World) RunUntil(done func() bool, deadline time.Duration) (bool, error) {
	defer w.handling.idle()
	if done() {
		return true, nil
	}
	for w.failure == nil && w.queue.len() > 0 && w.queue.peekAt() <= deadline {
		w.Step()
		if w.failure == nil && done() {
			return true, nil
		}
	}
	if w.failure != nil {
		return false, w.failure
	}
	w.now = max(w.now, deadline)
	return false, nil
}

func (w *World) deliver(e *event) {
	s := w.nodes[e.node-1]
	switch {
	case s.node == nil:
		w.note(KindDrop, e.node, e.from, e.n, e.payload, e.node.String()+" is down")
		return
	case w.links.cut(e.from, e.node):
		w.note(KindDrop, e.node, e.from, e.n, e.payload, "partition")
		return
	}
	w.note(KindDeliver, e.node, e.from, e.n, e.payload, "")
	w.handling.payload, w.handling.from = e.payload, e.from
	w.handle(e.node, "HandleMessage", func() { s.node.HandleMessage(e.from, e.payload) })
}

func (w *World) fire(e *event) {
	s := w.nodes[e.node-1]
	if s.node == nil || s.epoch != e.epoch {
		return // set by an incarnation that crashed
	}
	if _, pending := s.timers[e.timer]; !pending {
		return // cancelled
	}
	delete(s.timers, e.timer)
	w.note(KindTimer, e.node, 0, 0, e.payload, "")
	w.handling.payload, w.handling.from = e.payload, 0
	w.handle(e.node, "HandleTimer", func() { s.node.HandleTimer(e.payload) })
}

// handle runs node or test code, turning a panic into the run's failure.
func (w *World) handle(node NodeID, what string, f func()) {
	w.handling.enter(node, w.now, what)
	defer func() {
		if v := recover(); v != nil {
			if bad, ok := v.(misuse); ok {
				w.fail(&Failure{Kind: "misuse", At: w.now, Node: node, Message: string(bad), Event: w.describeCurrent(what)})
				return
			}
			w.fail(&Failure{Kind: "panic", At: w.now, Node: node, Event: w.describeCurrent(what),
				Message: fmt.Sprintf("%s panicked: %v", what, v), Stack: string(debug.Stack())})
		}
	}()
	f()
	if w.tracker != nil && node != 0 {
		if s := w.nodes[node-1]; s.node != nil {
			w.noteState(s)
		}
	}
}

func (w *World) describeCurrent(what string) string {
	if !w.inEvent {
		return what
	}
	e := &w.current
	switch e.kind {
	case evDeliver:
		return fmt.Sprintf("%v handling %s from %v", e.node, Describe(e.payload), e.from)
	case evTimer:
		return fmt.Sprintf("%v handling timer %s", e.node, Describe(e.payload))
	case evAction:
		return "the test's action " + e.act.name
	}
	return what
}

// checkInvariants runs after the event in w.current was handled.
func (w *World) checkInvariants() {
	for _, inv := range w.invariants {
		if err := inv.check(); err != nil {
			w.inEvent = true
			w.fail(&Failure{Kind: "invariant", At: w.now, Invariant: inv.name, Message: err.Error(),
				Event: w.describeCurrent("")})
			w.inEvent = false
			return
		}
	}
}

func (w *World) fail(f *Failure) {
	if w.failure != nil {
		return
	}
	f.EventSeq = w.trace.Count()
	w.failure = f
	first, _, _ := strings.Cut(f.Message, "\n") // the timeline keeps one line per event
	w.record(Record{Kind: KindFailure, Node: f.Node, Text: first})
}

// Failure is what stopped a run: a node's panic, a broken invariant, a
// misuse of the Env, or virtual time that could not advance.
type Failure struct {
	Kind      string // "panic", "invariant", "misuse", "stuck"
	At        time.Duration
	Node      NodeID // the node whose code failed, if any
	Invariant string // the broken invariant's name
	Event     string // the event being handled
	EventSeq  uint64 // the trace record the failure follows
	Message   string
	Stack     string // for a panic
}

func (f *Failure) Error() string {
	var b strings.Builder
	switch f.Kind {
	case "invariant":
		fmt.Fprintf(&b, "invariant %q broken at %s, after %s: %s", f.Invariant, strings.TrimSpace(FormatTime(f.At)), f.Event, f.Message)
	default:
		fmt.Fprintf(&b, "%s at %s", f.Message, strings.TrimSpace(FormatTime(f.At)))
		if f.Event != "" {
			fmt.Fprintf(&b, ", %s", f.Event)
		}
	}
	return b.String()
}

// AsFailure returns the run's Failure inside err, if it is one.
func AsFailure(err error) (*Failure, bool) {
	var f *Failure
	ok := errors.As(err, &f)
	return f, ok
}

// misuse is a panic raised by Env on wrong use, reported as such.
type misuse string
