package sim

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Network is how the simulated network treats messages. Every choice it
// makes comes from the run's seed.
type Network struct {
	// Each message takes a latency drawn uniformly from
	// [MinLatency, MaxLatency]; 0 and 0 mean 1ms to 5ms.
	MinLatency, MaxLatency time.Duration
	Loss                   float64 // chance that a message is lost
	Duplicate              float64 // chance that a message is delivered twice
	// Reorder is the chance that a message is held back by up to
	// ReorderDelay more (0 means 10 × MaxLatency), so that messages sent
	// after it overtake it.
	Reorder      float64
	ReorderDelay time.Duration
}

func (n Network) withDefaults() Network {
	if n.MinLatency == 0 && n.MaxLatency == 0 {
		n.MinLatency, n.MaxLatency = time.Millisecond, 5*time.Millisecond
	}
	if n.MaxLatency < n.MinLatency {
		panic(fmt.Sprintf("sim: Network.MaxLatency %v is below MinLatency %v", n.MaxLatency, n.MinLatency))
	}
	if n.ReorderDelay == 0 {
		n.ReorderDelay = 10 * n.MaxLatency
	}
	for _, p := range []float64{n.Loss, n.Duplicate, n.Reorder} {
		if p < 0 || p > 1 {
			panic(fmt.Sprintf("sim: Network chances must be between 0 and 1, got %v", p))
		}
	}
	return n
}

// SetNetwork changes how the network treats messages sent from now on.
func (w *World) SetNetwork(n Network) { w.cfg.Network = n.withDefaults() }

// send puts a message on the network. A message is lost if its link is
// cut when it is sent or when it arrives. What else befalls it is its fate
// (fates.go), or, in a replayed run, what the plan says.
func (w *World) send(from, to NodeID, msg Message) {
	n := w.nextOnLink(from, to)
	if w.links.cut(from, to) {
		w.note(KindSend, from, to, n, msg, "")
		w.note(KindDrop, to, from, n, msg, "partition")
		return
	}
	f := w.fateOf(from, to, n)
	if p := w.plan; p != nil {
		f.lose, f.dup, f.delayed = p.has(from, to, n, FaultLoss), p.has(from, to, n, FaultDuplicate), p.has(from, to, n, FaultDelay)
	}
	if f.lose {
		w.fault(Fault{Kind: FaultLoss, At: w.now, Node: from, Peer: to, N: n, Message: msg})
		w.note(KindSend, from, to, n, msg, "")
		w.note(KindDrop, to, from, n, msg, "the network lost it")
		return
	}
	if f.dup {
		w.fault(Fault{Kind: FaultDuplicate, At: w.now, Node: from, Peer: to, N: n, Message: msg})
		w.note(KindDuplicate, from, to, n, msg, "")
		// The receiver may change the first copy: the second is its own.
		twin, _ := w.types.copy(msg)
		w.schedule(&event{at: w.now + w.twinLatency(f), kind: evDeliver, node: to, from: from, n: n, payload: twin, dup: true})
	} else {
		w.note(KindSend, from, to, n, msg, "")
	}
	var held time.Duration
	if f.delayed {
		held = w.delay(f)
		w.fault(Fault{Kind: FaultDelay, At: w.now, For: held, Node: from, Peer: to, N: n, Message: msg})
	}
	w.schedule(&event{at: w.now + f.latency + held, kind: evDeliver, node: to, from: from, n: n, payload: msg})
}

// fault notes a fault the run met.
func (w *World) fault(f Fault) { w.faults = append(w.faults, f) }

// links is the state of the network's links: which direction of which
// pair of nodes is cut. The zero value is a fully connected network.
type links struct {
	group  map[NodeID]int // partition group of each node; nil when none
	oneWay map[[2]NodeID]bool
}

func (l *links) cut(from, to NodeID) bool {
	if l.group != nil && l.group[from] != l.group[to] {
		return true
	}
	return l.oneWay[[2]NodeID{from, to}]
}

// Partition splits the network into groups that cannot reach each other.
// Nodes not named in any group form one more group together.
func (w *World) Partition(groups ...[]NodeID) {
	w.links.group = map[NodeID]int{}
	named := map[NodeID]bool{}
	for i, g := range groups {
		for _, id := range g {
			w.slot(id, "Partition")
			if named[id] {
				panic(fmt.Sprintf("sim: Partition: %v is in two groups", id))
			}
			named[id] = true
			w.links.group[id] = i + 1
		}
	}
	var rest []NodeID
	for _, s := range w.nodes {
		if !named[s.id] {
			rest = append(rest, s.id)
		}
	}
	if len(rest) > 0 {
		groups = append(groups[:len(groups):len(groups)], rest) // not into the caller's array
	}
	w.record(Record{Kind: KindNetwork, Text: "partition " + sides(groups)})
}

// sides renders the groups of a partition: "{n1 n2} | {n3 n4 n5}".
func sides(groups [][]NodeID) string {
	out := make([]string, len(groups))
	for i, g := range groups {
		names := make([]string, len(g))
		for j, id := range g {
			names[j] = id.String()
		}
		out[i] = "{" + strings.Join(names, " ") + "}"
	}
	return strings.Join(out, " | ")
}

// Cut stops messages from one node to another; the other direction still
// works.
func (w *World) Cut(from, to NodeID) {
	w.slot(from, "Cut")
	w.slot(to, "Cut")
	if w.links.oneWay == nil {
		w.links.oneWay = map[[2]NodeID]bool{}
	}
	w.links.oneWay[[2]NodeID{from, to}] = true
	w.record(Record{Kind: KindNetwork, Text: fmt.Sprintf("cut %v → %v", from, to)})
}

// Heal ends every partition and cut.
func (w *World) Heal() {
	w.links = links{}
	w.record(Record{Kind: KindNetwork, Text: "heal"})
}

// Connected reports whether messages from one node currently reach another.
func (w *World) Connected(from, to NodeID) bool { return !w.links.cut(from, to) }

// Groups returns the nodes that can reach each other both ways, as groups,
// ignoring one-way cuts.
func (w *World) Groups() [][]NodeID {
	byGroup := map[int][]NodeID{}
	for _, s := range w.nodes {
		byGroup[w.links.group[s.id]] = append(byGroup[w.links.group[s.id]], s.id)
	}
	keys := make([]int, 0, len(byGroup))
	for k := range byGroup {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var out [][]NodeID
	for _, k := range keys {
		out = append(out, byGroup[k])
	}
	return out
}
