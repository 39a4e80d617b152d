package sim

import (
	"fmt"
	"strings"
)

// State is what a test shows of a node in timelines and diagrams: its
// role, term, vote and log length, as far as the algorithm has them (a
// field left zero is not shown).
type State struct {
	Role string
	Term uint64
	Vote NodeID
	Log  int
}

func (s State) String() string {
	var parts []string
	if s.Role != "" {
		parts = append(parts, s.Role)
	}
	if s.Term != 0 {
		parts = append(parts, fmt.Sprintf("term %d", s.Term))
	}
	if s.Vote != 0 {
		parts = append(parts, "voted for "+s.Vote.String())
	}
	if s.Log != 0 {
		parts = append(parts, fmt.Sprintf("log %d", s.Log))
	}
	return strings.Join(parts, ", ")
}

// TrackState records a node's State in the trace whenever it changes: f
// is asked after each of the node's handlers returns, while the World
// keeps its whole trace (a replay of one seed, a shrunk run). A sweep's
// runs keep a short ring instead and never ask, so f may take its time.
func (w *World) TrackState(f func(NodeID) State) {
	if w.trace.limit < FullTrace {
		return
	}
	w.tracker = f
	for _, s := range w.nodes {
		if s.node != nil {
			w.handle(s.id, "TrackState", func() {}) // records the state as it is
		}
	}
}

// noteState records the node's state, if it changed.
func (w *World) noteState(s *slot) {
	st := w.tracker(s.id)
	if st == s.state {
		return
	}
	s.state = st
	w.note(KindState, s.id, 0, 0, st, "")
}
