package seeds

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// Shared returns a generator seeded like Rand that notices when two
// goroutines use it at the same time. A *rand.Rand is not safe for
// concurrent use: two goroutines that draw at once can both get the same
// number and leave its state torn. The race detector sees that only where
// cgo is on; Shared shows it anywhere, on any number of CPUs, by yielding
// inside every draw so that a goroutine not kept out by a lock walks in.
// (Its own state is guarded, so what it reports is the caller's missing
// lock, not a race of its own.)
func Shared(t testing.TB) (*rand.Rand, *Overlaps) {
	t.Helper()
	seed := For(t)
	src := &watchedSource{pcg: rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)}
	return rand.New(src), &src.overlaps
}

// Overlaps counts the draws that began while another was in progress.
type Overlaps struct{ n atomic.Int64 }

// Count is how many draws overlapped another.
func (o *Overlaps) Count() int64 { return o.n.Load() }

type watchedSource struct {
	inside   atomic.Int32
	overlaps Overlaps

	mu  sync.Mutex
	pcg *rand.PCG
}

func (s *watchedSource) Uint64() uint64 {
	if s.inside.Add(1) > 1 {
		s.overlaps.n.Add(1)
	}
	runtime.Gosched()
	s.mu.Lock()
	v := s.pcg.Uint64()
	s.mu.Unlock()
	s.inside.Add(-1)
	return v
}
