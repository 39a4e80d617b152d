package lockstep

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// Together runs rounds in which each of callers goroutines calls
// body(caller, round) at the same moment, released by a spinning barrier.
// It is how a test catches two steps a few instructions apart that should
// have been one, without the race detector: one round rarely lands a
// caller between them, tens of thousands do. It returns how many rounds
// really ran in parallel, with no caller that had to yield to let the
// others arrive (on one CPU, none can).
func Together(callers, rounds int, body func(caller, round int)) (parallel int) {
	arrived := make([]atomic.Int32, rounds)
	yielded := make([]atomic.Bool, rounds)
	// Fresh goroutines every chunk: callers that once had to yield can end
	// up taking turns on one CPU, and new goroutines spread out again.
	const chunk = 500
	for first := 0; first < rounds; first += chunk {
		var wg sync.WaitGroup
		for c := range callers {
			wg.Go(func() {
				for r := first; r < min(first+chunk, rounds); r++ {
					arrived[r].Add(1)
					for spins := 0; arrived[r].Load() < int32(callers); spins++ {
						if spins > 1000 {
							yielded[r].Store(true)
							runtime.Gosched() // more callers than running CPUs
						}
					}
					body(c, r)
				}
			})
		}
		wg.Wait()
	}
	for r := range yielded {
		if !yielded[r].Load() {
			parallel++
		}
	}
	return parallel
}

// ParallelRounds is how many rounds of Together a test wants to have run
// in parallel. A loaded machine gives them slowly, so a test runs batch
// after batch until it has them, up to batches() of them.
const ParallelRounds = 30000

// batches is how many batches a test may run to get ParallelRounds. One
// is enough on one CPU, where no round runs in parallel, and under the race
// detector, which sees a missing lock in any round. On a busy machine a
// batch may run few rounds in parallel: a batch takes about 0.1 s, and a
// test waits up to half a minute for them before it trusts a pass.
func batches() int {
	if RaceDetector || runtime.GOMAXPROCS(0) < 2 {
		return 1
	}
	return 300
}

// InBatches runs batch, which reports how many of its rounds ran in
// parallel and whether it found nothing wrong, until ParallelRounds rounds
// have run in parallel, batches() batches have run, or one batch found the
// mistake. It says when too few rounds ran in parallel to trust a pass.
func InBatches(t *testing.T, batch func() (parallel int, ok bool)) {
	t.Helper()
	parallel := 0
	for range batches() {
		n, ok := batch()
		if !ok {
			return
		}
		if parallel += n; parallel >= ParallelRounds {
			return
		}
	}
	if !RaceDetector {
		t.Logf("only %d rounds ran with every caller on a CPU at once (wanted %d): on this machine a missing lock here may go unseen; the race detector still sees it", parallel, ParallelRounds)
	}
}
