package sim

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/distlings/distlings/labs/internal/seeds"
)

// A shrink looks first at the failing seed itself. A run is chaotic: take
// out a fault that changed what a node did and every later event moves,
// so a failure that a long chain of faults led to may need every link of
// that chain on its seed. When the failing seed keeps more than fewEnough
// faults after one way down, the shrink looks at the seeds after it, the
// ones the sweep would have run next, for a run that breaks the same rule
// with fewer (see later).
const (
	fewEnough     = 5
	quietSeeds    = 10      // later seeds tried with no fault at all
	fewSeeds      = 100     // later seeds tried with only a few of their faults
	enoughFailed  = 16      // later runs that failed with all their faults, to shrink the smallest first
	shareForLater = 3.0 / 4 // of what is left after the first way down, for the later seeds
	shareForScan  = 1.0 / 3 // of what is left then, to look for failed runs past the fewSeeds
	shareOfOne    = 1.0 / 8 // of what is left, for the shrink of one later run
)

// shrinker is one shrink of a failed run: the check, the rule a smaller
// run must still break, and the budget they share.
type shrinker struct {
	t     *testing.T
	check func(testing.TB, uint64)
	rule  string
	b     *budget
	hung  string // what a run that hung was doing; nothing more is tried

	ranLater map[uint64]bool // the later seeds run with their own faults: did they fail the same way?
}

// laterFailedWords says how the later seeds' runs went, for a report that
// found none smaller.
func (s *shrinker) laterFailedWords() string {
	failed := 0
	for _, f := range s.ranLater {
		if f {
			failed++
		}
	}
	if failed == 0 {
		return "none failed the same way, so this failure is rare, and its faults a chain to read from the start"
	}
	return fmt.Sprintf("%d failed the same way, none with fewer faults", failed)
}

// own runs a later seed with its own random faults.
func (s *shrinker) own(seed uint64) outcome {
	o := s.run(seed, nil)
	if s.ranLater == nil {
		s.ranLater = map[uint64]bool{}
	}
	s.ranLater[seed] = s.sameRule(o)
	return o
}

// found is a failing run a shrink found: its seed and its faults.
type found struct {
	seed   uint64
	faults []item
}

// run runs the check once more on seed with only the planned faults, or
// with the seed's own random faults if plan is nil.
func (s *shrinker) run(seed uint64, plan map[int][]Fault) outcome {
	s.b.runs++
	o := runCheck(s.t, s.check, seed, plan, false)
	if o.hung != "" {
		s.hung = o.hung
	}
	return o
}

// stop reports whether nothing more should be tried, within limit.
func (s *shrinker) stop(limit func() bool) bool { return s.hung != "" || limit() }

// sameRule reports whether a run failed as the first one did.
func (s *shrinker) sameRule(o outcome) bool { return o.failed && o.rule == s.rule }

// failsOn is the test minimize asks: does seed still fail the same way with
// only these faults?
func (s *shrinker) failsOn(seed uint64, limit func() bool) func([]item) bool {
	return func(items []item) bool {
		if s.stop(limit) {
			return false
		}
		return s.sameRule(s.run(seed, planOf(items)))
	}
}

// minimize shrinks the faults of a run of seed that failed the same way.
func (s *shrinker) minimize(seed uint64, faults []item, limit func() bool) found {
	return found{seed, orNone(minimize(faults, s.failsOn(seed, limit), limit))}
}

// orNone is faults, never nil: a faults file with no fault replays a run
// with none.
func orNone(faults []item) []item {
	if faults == nil {
		return []item{}
	}
	return faults
}

// down shrinks the failed run of seed: one way down first; if that leaves
// more than fewEnough faults, the later seeds, within most of what is
// left of the budget; then other ways down on seed itself. It returns the
// smallest run found and, if that is a later seed's, the number of faults
// seed itself still needed (else -1).
func (s *shrinker) down(seed uint64, all []item) (found, int) {
	fails := s.failsOn(seed, s.b.spent)
	start, best := firstWayDown(all, fails, s.b.spent)
	var other found
	elsewhere := false
	if len(best) > fewEnough {
		other, elsewhere = s.later(seed, len(best), s.b.share(shareForLater))
		if elsewhere && len(other.faults) <= fewEnough {
			return other, len(best)
		}
	}
	best = otherWaysDown(start, best, fails, s.b.spent)
	if elsewhere && len(other.faults) < len(best) {
		return other, len(best)
	}
	return found{seed, orNone(best)}, -1
}

// later looks at the seeds after seed for a run that breaks the same rule
// with fewer faults than best, and returns the smallest it finds, or false.
// It looks in passes, cheapest first: runs with no fault at all; runs with
// only the first or the last few of their own faults; the runs that failed
// the same way with all their own faults, fewest faults first; then, on
// further seeds, runs with some of their faults. Each of the last two is
// shrunk within a share of the budget, so that one long shrink does not
// keep it from the others.
func (s *shrinker) later(seed uint64, best int, limit func() bool) (found, bool) {
	for i := uint64(1); i <= quietSeeds && !s.stop(limit); i++ {
		if s.sameRule(s.run(seed+i, map[int][]Fault{})) {
			return found{seed + i, []item{}}, true
		}
	}
	failed, few := s.scan(seed, limit)
	if few != nil {
		return *few, true
	}
	l := &laterRuns{s: s, limit: limit, best: best}
	slices.SortStableFunc(failed, func(a, b found) int { return cmp.Compare(len(a.faults), len(b.faults)) })
	for _, f := range failed {
		if l.enough() {
			return l.smallest, l.ok
		}
		l.shrink(f)
	}
	// Further seeds with some of their faults; those whose own run failed
	// the same way were shrunk above.
	for i := uint64(fewSeeds + 1); !l.enough(); i++ {
		if next := seed + i; !s.ranLater[next] {
			for _, faults := range some(next, faultsOf(s.own(next).rs)) {
				if !s.stop(limit) && s.sameRule(s.run(next, planOf(faults))) {
					l.shrink(found{next, faults})
					break
				}
			}
		}
	}
	return l.smallest, l.ok
}

// scan runs the seeds after seed with their own faults and returns those
// that failed the same way. The first fewSeeds are also run with only the
// first or the last few of their faults: if one of those fails, it is
// shrunk and returned as few. Further seeds are run only until enough have
// failed, or their share of the budget is spent.
func (s *shrinker) scan(seed uint64, limit func() bool) (failed []found, few *found) {
	past := s.b.share(shareForScan)
	for i := uint64(1); !s.stop(limit) && (i <= fewSeeds || len(failed) < enoughFailed && !past()); i++ {
		o := s.own(seed + i)
		all := faultsOf(o.rs)
		if s.sameRule(o) {
			failed = append(failed, found{seed + i, all})
		}
		if i > fewSeeds {
			continue
		}
		for _, faults := range firstAndLast(all) {
			if !s.stop(limit) && s.sameRule(s.run(seed+i, planOf(faults))) {
				f := s.minimize(seed+i, faults, limit)
				return nil, &f
			}
		}
	}
	return failed, nil
}

// laterRuns keeps the smallest failing run that later has shrunk.
type laterRuns struct {
	s        *shrinker
	limit    func() bool
	best     int // the fewest faults found so far, on any seed
	smallest found
	ok       bool
}

// enough reports whether the search can end: a run few enough, or the
// budget spent.
func (l *laterRuns) enough() bool { return l.best <= fewEnough || l.s.stop(l.limit) }

// shrink shrinks a later run within a share of the budget, and keeps it if
// it is the smallest yet.
func (l *laterRuns) shrink(f found) {
	share := l.s.b.share(shareOfOne)
	f = l.s.minimize(f.seed, f.faults, func() bool { return l.limit() || share() })
	if len(f.faults) < l.best {
		l.smallest, l.best, l.ok = f, len(f.faults), true
	}
}

// firstAndLast is the first n and the last n of a run's faults, for n up
// to fewEnough, fewest first: a failure early in a run needs only the
// faults before it, and one at the end may need only the last.
func firstAndLast(all []item) [][]item {
	byTime := slices.Clone(all)
	slices.SortStableFunc(byTime, func(a, b item) int { return cmp.Compare(a.fault.At, b.fault.At) })
	var sets [][]item
	for n := 1; n <= fewEnough && n <= len(all); n++ {
		sets = append(sets, byTime[:n], byTime[len(byTime)-n:])
	}
	return sets
}

// some is more of a run's faults to try on their own, fewest first: only
// the timed ones, only those on messages, an eighth, a quarter and half of
// them drawn at random, then all. Each is a run of its own, since a run
// with some faults taken out goes another way; one with fewer faults that
// still fails is quicker to shrink, and may shrink further.
func some(seed uint64, all []item) [][]item {
	timed, messages := byKind(all)
	sets := [][]item{timed, messages}
	draw := rand.New(rand.NewPCG(seed, 0xfe3e))
	for _, keep := range []float64{1.0 / 8, 1.0 / 4, 1.0 / 2} {
		var share []item
		for _, it := range all {
			if draw.Float64() < keep {
				share = append(share, it)
			}
		}
		sets = append(sets, share)
	}
	sets = slices.DeleteFunc(sets, func(set []item) bool { return len(set) == 0 || len(set) == len(all) })
	slices.SortStableFunc(sets, func(a, b []item) int { return cmp.Compare(len(a), len(b)) })
	return append(sets, all)
}

// renamed is the name test would have on another seed of its sweep.
func renamed(test string, from, to uint64) string {
	suffix := seeds.SubtestName(from)
	if !strings.HasSuffix(test, suffix) {
		return test
	}
	return strings.TrimSuffix(test, suffix) + seeds.SubtestName(to)
}
