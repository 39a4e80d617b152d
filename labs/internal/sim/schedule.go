package sim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// FaultKind is what a fault does.
type FaultKind uint8

// The faults of a run. Crashes, partitions and cuts come from
// ScheduleFaults and last a while; losses, duplicates and delays are what
// the Network did to single messages. A test's own Crash, Partition or Cut
// calls are the scenario it sets up, not faults of the run.
const (
	FaultCrash     FaultKind = iota + 1 // Node is down from At for For
	FaultPartition                      // Groups cannot reach each other from At for For
	FaultCut                            // Node's messages to Peer are lost from At for For
	FaultLoss                           // message N from Node to Peer is lost
	FaultDuplicate                      // message N from Node to Peer arrives twice
	FaultDelay                          // message N from Node to Peer is held back by For
)

var faultNames = [...]string{FaultCrash: "crash", FaultPartition: "partition", FaultCut: "cut",
	FaultLoss: "loss", FaultDuplicate: "duplicate", FaultDelay: "delay"}

func (k FaultKind) String() string {
	if int(k) < len(faultNames) && faultNames[k] != "" {
		return faultNames[k]
	}
	return fmt.Sprintf("fault(%d)", int(k))
}

func (k FaultKind) onMessage() bool { return k >= FaultLoss }

// Fault is one fault of a run.
type Fault struct {
	Kind FaultKind
	// At is when the fault began: when a crash, partition or cut started,
	// or when the message was sent.
	At  time.Duration
	For time.Duration // how long it lasted, or how long a message was held
	// Node is the node that crashed, the cut link's or the message's
	// sender; Peer is the cut link's or the message's receiver.
	Node, Peer NodeID
	N          uint32     // the message's number on its link, from 1
	Groups     [][]NodeID // the sides of a partition
	// Source numbers the ScheduleFaults call that made a timed fault, in
	// the order the test made them, and After is how long after that call
	// the fault began: a shrunk run replays the fault at the same distance
	// from the same call.
	Source int
	After  time.Duration
	// Message is the message a fault struck, to describe it.
	Message Message
}

// String says what the fault did, in words, with its virtual time.
func (f Fault) String() string {
	at := FormatTime(f.At)
	switch f.Kind {
	case FaultCrash:
		return fmt.Sprintf("%s  %v crashed, and restarted %s later", at, f.Node, short(f.For))
	case FaultPartition:
		return fmt.Sprintf("%s  partition %s, healed %s later", at, sides(f.Groups), short(f.For))
	case FaultCut:
		return fmt.Sprintf("%s  link %v → %v cut one way, healed %s later", at, f.Node, f.Peer, short(f.For))
	}
	what := "message"
	if f.Message != nil {
		what = Describe(f.Message)
	}
	link := fmt.Sprintf("%s  %v → %v %s (message %d on the link)", at, f.Node, f.Peer, what, f.N)
	switch f.Kind {
	case FaultLoss:
		return link + " lost"
	case FaultDuplicate:
		return link + " delivered twice"
	case FaultDelay:
		return link + fmt.Sprintf(" held back %s", short(f.For))
	}
	return link + " " + f.Kind.String()
}

func short(d time.Duration) string { return strings.TrimSpace(FormatTime(d)) }

// msgKey names one message of a run: its link and its number on it.
type msgKey struct {
	from, to NodeID
	n        uint32
}

// plan is the faults a replayed run may have, instead of the random ones:
// a message meets its fault only if the plan names it, and ScheduleFaults
// starts only the planned crashes, partitions and cuts.
type plan struct {
	messages map[msgKey]uint8 // 1 << FaultKind of each planned message fault
	timed    map[int][]Fault  // by Source
}

func newPlan(faults []Fault) *plan {
	p := &plan{messages: map[msgKey]uint8{}, timed: map[int][]Fault{}}
	for _, f := range faults {
		if f.Kind.onMessage() {
			k := msgKey{f.Node, f.Peer, f.N}
			p.messages[k] |= 1 << f.Kind
		} else {
			p.timed[f.Source] = append(p.timed[f.Source], f)
		}
	}
	for _, fs := range p.timed {
		slices.SortStableFunc(fs, func(a, b Fault) int { return cmp.Compare(a.After, b.After) })
	}
	return p
}

func (p *plan) has(from, to NodeID, n uint32, kind FaultKind) bool {
	return p.messages[msgKey{from, to, n}]&(1<<kind) != 0
}

// Faults returns the faults the run has had so far, in the order they
// began.
func (w *World) Faults() []Fault { return slices.Clone(w.faults) }

// ReplayFaults makes the World meet only the given faults from now on, in
// place of the random ones its seed would draw.
func (w *World) ReplayFaults(faults []Fault) { w.plan = newPlan(faults) }

// faultJSON is a fault as a line of a faults file. Times are written as Go
// durations ("1.25s"), nodes as numbers.
type faultJSON struct {
	Cluster int        `json:"cluster,omitempty"`
	Kind    string     `json:"kind"`
	At      string     `json:"at"`
	For     string     `json:"for,omitempty"`
	Node    NodeID     `json:"node,omitempty"`
	Peer    NodeID     `json:"peer,omitempty"`
	N       uint32     `json:"message,omitempty"`
	Groups  [][]NodeID `json:"groups,omitempty"`
	Source  int        `json:"source,omitempty"`
	After   string     `json:"after,omitempty"`
	What    string     `json:"what"` // the fault in words, for the reader
}

func (f Fault) toJSON(cluster int) faultJSON {
	j := faultJSON{Cluster: cluster, Kind: f.Kind.String(), At: f.At.String(), Node: f.Node, Peer: f.Peer,
		N: f.N, Groups: f.Groups, Source: f.Source, What: strings.TrimSpace(f.String())}
	if f.For != 0 {
		j.For = f.For.String()
	}
	if !f.Kind.onMessage() {
		j.After = f.After.String()
	}
	return j
}

func (j faultJSON) fault() (Fault, error) {
	f := Fault{Node: j.Node, Peer: j.Peer, N: j.N, Groups: j.Groups, Source: j.Source}
	for k, name := range faultNames {
		if name != "" && name == j.Kind {
			f.Kind = FaultKind(k)
		}
	}
	if f.Kind == 0 {
		return f, fmt.Errorf("unknown kind %q (want one of crash, partition, cut, loss, duplicate, delay)", j.Kind)
	}
	var err error
	for _, d := range []struct {
		text string
		into *time.Duration
	}{{j.At, &f.At}, {j.For, &f.For}, {j.After, &f.After}} {
		if d.text == "" {
			continue
		}
		if *d.into, err = time.ParseDuration(d.text); err != nil {
			return f, fmt.Errorf("%q is not a duration: %v", d.text, err)
		}
	}
	if f.Kind.onMessage() && (f.Node == 0 || f.Peer == 0 || f.N == 0) {
		return f, fmt.Errorf("a %s names its message by node, peer and message number, all from 1", f.Kind)
	}
	if f.Kind == FaultCrash && f.Node == 0 {
		return f, fmt.Errorf("a crash names its node")
	}
	return f, nil
}

// FaultsFile is a shrunk run written down: the test, its seed and the
// faults to replay, by cluster (0 for the test's first cluster).
type FaultsFile struct {
	Test   string
	Seed   uint64
	Faults map[int][]Fault
}

type faultsFileJSON struct {
	About  string      `json:"about"`
	Test   string      `json:"test"`
	Seed   uint64      `json:"seed"`
	Faults []faultJSON `json:"faults"`
}

// MarshalJSON writes the file people read and replay.
func (ff FaultsFile) MarshalJSON() ([]byte, error) {
	out := faultsFileJSON{Test: ff.Test, Seed: ff.Seed, Faults: []faultJSON{},
		About: "the faults of one run, replayed in place of the random ones: -seed with -faults (or DISTLINGS_FAULTS) names this file"}
	clusters := make([]int, 0, len(ff.Faults))
	for c := range ff.Faults {
		clusters = append(clusters, c)
	}
	slices.Sort(clusters)
	for _, c := range clusters {
		for _, f := range ff.Faults[c] {
			out.Faults = append(out.Faults, f.toJSON(c))
		}
	}
	return json.MarshalIndent(out, "", "  ")
}

// UnmarshalJSON reads a faults file, saying which fault is wrong.
func (ff *FaultsFile) UnmarshalJSON(data []byte) error {
	var in faultsFileJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	if in.Test == "" || in.Seed == 0 {
		return fmt.Errorf("a faults file names its test and its seed")
	}
	*ff = FaultsFile{Test: in.Test, Seed: in.Seed, Faults: map[int][]Fault{}}
	for i, j := range in.Faults {
		f, err := j.fault()
		if err != nil {
			return fmt.Errorf("fault %d: %v", i+1, err)
		}
		ff.Faults[j.Cluster] = append(ff.Faults[j.Cluster], f)
	}
	return nil
}
