package sim

import (
	"fmt"
	"slices"
	"time"
)

// Faults is a random schedule of crashes and partitions, drawn from the
// run's seed. Every Every (give or take half), one fault starts: a crash
// of a random running node, or a partition that splits the cluster in two.
// Each lasts between MinDown and MaxDown, then the node restarts or the
// network heals.
type Faults struct {
	Every            time.Duration
	MinDown, MaxDown time.Duration
	Crashes          bool
	Partitions       bool
	// MaxCrashed bounds how many nodes are down at once; 0 means a
	// minority, so that a majority can always make progress.
	MaxCrashed int
	// Until stops starting faults at this virtual time (0: never stop).
	Until time.Duration
}

// ScheduleFaults starts a random fault schedule.
func (w *World) ScheduleFaults(f Faults) {
	if f.Every <= 0 || f.MaxDown < f.MinDown || (!f.Crashes && !f.Partitions) {
		panic(fmt.Sprintf("sim: a fault schedule needs Every > 0, MinDown <= MaxDown and some kind of fault: %+v", f))
	}
	if f.MaxCrashed == 0 {
		f.MaxCrashed = (len(w.nodes) - 1) / 2
	}
	w.nextFault(f)
}

func (w *World) nextFault(f Faults) {
	at := w.now + f.Every/2 + time.Duration(w.rng.Int64N(int64(f.Every)+1))
	if f.Until > 0 && at > f.Until {
		return
	}
	w.At(at, "random fault", func() {
		w.startFault(f)
		w.nextFault(f)
	})
}

func (w *World) downFor(f Faults) time.Duration {
	return f.MinDown + time.Duration(w.rng.Int64N(int64(f.MaxDown-f.MinDown)+1))
}

func (w *World) startFault(f Faults) {
	crash := f.Crashes && (!f.Partitions || w.rng.IntN(2) == 0)
	if crash {
		var up []NodeID
		down := 0
		for _, s := range w.nodes {
			if s.node != nil {
				up = append(up, s.id)
			} else {
				down++
			}
		}
		if down < f.MaxCrashed && len(up) > 0 {
			id := up[w.rng.IntN(len(up))]
			w.Crash(id)
			w.At(w.now+w.downFor(f), fmt.Sprintf("restart %v", id), func() { w.Restart(id) })
			return
		}
		if !f.Partitions {
			return
		}
	}
	// Split the nodes in two random groups, both non-empty.
	ids := w.IDs()
	if len(ids) < 2 {
		return
	}
	w.rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	cut := 1 + w.rng.IntN(len(ids)-1)
	a, b := ids[:cut], ids[cut:]
	slices.Sort(a)
	slices.Sort(b)
	w.Partition(a, b)
	w.At(w.now+w.downFor(f), "heal", w.Heal)
}
