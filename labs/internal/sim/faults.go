package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// Faults is a random schedule of crashes, partitions and one-way cuts,
// drawn from the run's seed. Every Every (give or take half), one fault
// starts: a crash of a random node, a partition that splits the cluster
// in two, or a cut of one link in one direction. Each lasts between
// MinDown and MaxDown, then the node restarts or the network heals.
type Faults struct {
	Every            time.Duration
	MinDown, MaxDown time.Duration
	Crashes          bool
	Partitions       bool
	Cuts             bool // one-way cuts: n2 may hear n1 while n1 does not hear n2
	// MaxCrashed bounds how many nodes are down at once; 0 means a
	// minority, so that a majority can always make progress.
	MaxCrashed int
	// Until stops starting faults at this virtual time (0: never stop).
	Until time.Duration
}

// ScheduleFaults starts a random fault schedule. The schedule is drawn
// from the seed and the number of this call alone, never from what the
// cluster does, so that each fault is the same whichever others happen:
// a crash that would take down more than MaxCrashed nodes, or a node that
// is down already, is skipped, not replaced. In a replayed run (a faults
// file, or a run being shrunk) only the planned faults of this call start.
func (w *World) ScheduleFaults(f Faults) {
	if f.Every <= 0 || f.MaxDown < f.MinDown || (!f.Crashes && !f.Partitions && !f.Cuts) {
		panic(fmt.Sprintf("sim: a fault schedule needs Every > 0, MinDown <= MaxDown and some kind of fault: %+v", f))
	}
	if f.MaxCrashed == 0 {
		f.MaxCrashed = (len(w.nodes) - 1) / 2
	}
	source, start := w.sources, w.now
	w.sources++
	if w.plan != nil {
		w.nextPlanned(w.plan.timed[source], start, f.MaxCrashed)
		return
	}
	g := &faultDraws{f: f, w: w, source: source, start: start,
		rng: rand.New(rand.NewPCG(w.cfg.Seed, 0xfa17_0000+uint64(source))), downUntil: map[NodeID]time.Duration{}}
	for _, k := range []struct {
		on   bool
		kind FaultKind
	}{{f.Crashes, FaultCrash}, {f.Partitions, FaultPartition}, {f.Cuts, FaultCut}} {
		if k.on {
			g.kinds = append(g.kinds, k.kind)
		}
	}
	g.next(start)
}

// faultDraws draws one ScheduleFaults call's faults, one after another.
type faultDraws struct {
	f         Faults
	w         *World
	rng       *rand.Rand
	source    int
	start     time.Duration
	kinds     []FaultKind              // the kinds it may draw
	downUntil map[NodeID]time.Duration // the schedule's own crashes, applied or not
}

func (g *faultDraws) next(after time.Duration) {
	f := g.f
	at := after + f.Every/2 + time.Duration(g.rng.Int64N(int64(f.Every)+1))
	if f.Until > 0 && at > f.Until {
		return
	}
	fault := g.draw(at)
	g.w.atQuietly(at, "fault: "+fault.Kind.String(), func() {
		g.w.startFault(fault, f.MaxCrashed)
		g.next(at)
	})
}

// nextPlanned starts the planned faults of one ScheduleFaults call one
// after another, each scheduling the next as a random schedule does, so
// that a run replayed with all of its own faults is the same run.
func (w *World) nextPlanned(planned []Fault, start time.Duration, maxCrashed int) {
	if len(planned) == 0 {
		return
	}
	f := planned[0]
	w.atQuietly(start+f.After, "fault: "+f.Kind.String(), func() {
		w.startFault(f, maxCrashed)
		w.nextPlanned(planned[1:], start, maxCrashed)
	})
}

// draw decides the fault that starts at at, from the schedule's own
// random numbers and its own past crashes.
func (g *faultDraws) draw(at time.Duration) Fault {
	f := g.f
	kind := g.kinds[g.rng.IntN(len(g.kinds))]
	down := f.MinDown + time.Duration(g.rng.Int64N(int64(f.MaxDown-f.MinDown)+1))
	fault := Fault{Kind: kind, At: at, For: down, Source: g.source, After: at - g.start}
	ids := slices.Clone(g.w.IDs())
	switch kind {
	case FaultCrash:
		var up []NodeID
		for _, id := range ids {
			if g.downUntil[id] <= at {
				up = append(up, id)
			}
		}
		if len(up) == 0 {
			up = ids
		}
		fault.Node = up[g.rng.IntN(len(up))]
		g.downUntil[fault.Node] = at + down
	case FaultPartition:
		g.rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		cut := 1 + g.rng.IntN(max(1, len(ids)-1))
		a, b := slices.Clone(ids[:cut]), slices.Clone(ids[cut:])
		slices.Sort(a)
		slices.Sort(b)
		fault.Groups = [][]NodeID{a, b}
	case FaultCut:
		size := len(ids)
		fault.Node = NodeID(1 + g.rng.IntN(size))
		fault.Peer = NodeID(1 + g.rng.IntN(max(1, size-1)))
		if fault.Peer >= fault.Node {
			fault.Peer++
		}
	}
	return fault
}

// startFault applies a timed fault now, and schedules its end, unless it
// cannot happen as drawn: then it is skipped, and the run has no such
// fault.
func (w *World) startFault(f Fault, maxCrashed int) {
	f.At = w.now
	switch f.Kind {
	case FaultCrash:
		down := 0
		for _, s := range w.nodes {
			if s.node == nil {
				down++
			}
		}
		if !w.Up(f.Node) || down >= maxCrashed {
			return
		}
		w.fault(f)
		w.Crash(f.Node)
		w.atQuietly(w.now+f.For, "restart", func() { w.Restart(f.Node) })
	case FaultPartition:
		if len(w.nodes) < 2 || len(f.Groups) < 2 || len(f.Groups[0]) == 0 || len(f.Groups[1]) == 0 {
			return
		}
		w.fault(f)
		w.Partition(f.Groups...)
		w.atQuietly(w.now+f.For, "heal", w.Heal)
	case FaultCut:
		if len(w.nodes) < 2 || f.Node == f.Peer {
			return
		}
		w.fault(f)
		w.Cut(f.Node, f.Peer)
		w.atQuietly(w.now+f.For, "heal", w.Heal)
	}
}
