package sim

import (
	"cmp"
	"math/rand/v2"
	"slices"
)

// minimize drops faults while the run still fails: first all the message
// faults or all the timed ones at once, then halves, quarters and so on,
// down to single faults (delta debugging, Zeller's ddmin, by complements).
// A few faults left, it tries harder: only the latest of them, then every
// pair taken out, since a change early in a run changes all that follows
// and one fault may stand in for another; and with more than two left, it
// tries a few other ways down from the start and keeps the smallest set.
// What it returns fails, and, unless the budget ran out, fails no more
// once any one (or, when few, any two) of its faults are taken out.
func minimize(items []item, fails func([]item) bool, spent func() bool) []item {
	start, best := firstWayDown(items, fails, spent)
	return otherWaysDown(start, best, fails, spent)
}

// firstWayDown is the first way down: from all the faults, or only the
// timed or only the message ones if that fails too, to a set no single
// fault can leave. It returns where it started and where it ended.
func firstWayDown(items []item, fails func([]item) bool, spent func() bool) (start, best []item) {
	if len(items) == 0 || fails(nil) {
		return nil, nil
	}
	timed, messages := byKind(items)
	start = items
	for _, part := range [][]item{timed, messages} {
		if len(part) > 0 && len(part) < len(items) && fails(part) {
			start = part
			break
		}
	}
	return start, harder(ddmin(start, fails, spent, false), fails, spent)
}

// byKind splits faults into the timed ones (crashes, partitions, cuts)
// and those on messages.
func byKind(items []item) (timed, messages []item) {
	for _, it := range items {
		if it.fault.Kind.onMessage() {
			messages = append(messages, it)
		} else {
			timed = append(timed, it)
		}
	}
	return timed, messages
}

// otherWaysDown goes down from start in other ways (the latest chunks
// first, then the faults in other orders), which may end elsewhere, and
// smaller, and returns the smallest set found, sorted by time.
func otherWaysDown(start, best []item, fails func([]item) bool, spent func() bool) []item {
	order := rand.New(rand.NewPCG(uint64(len(start)), 0x5412))
	for try := 0; try < otherWays && len(best) > 2 && !spent(); try++ {
		from := start
		if try > 0 {
			from = slices.Clone(start)
			order.Shuffle(len(from), func(i, j int) { from[i], from[j] = from[j], from[i] })
		}
		other := harder(ddmin(from, fails, spent, try == 0), fails, spent)
		if len(other) < len(best) && !spent() {
			best = other
		}
	}
	slices.SortStableFunc(best, func(a, b item) int { return cmp.Compare(a.fault.At, b.fault.At) })
	return best
}

// otherWays is how many more ways down a shrink tries once it has a set
// no single fault can leave, budget permitting.
const otherWays = 4

// harder goes on from a set where no single fault can go: it keeps only
// the latest faults, or takes out a pair, then shrinks again.
func harder(items []item, fails func([]item) bool, spent func() bool) []item {
	for len(items) > 1 && len(items) <= fewFaults && !spent() {
		smaller := latest(items, fails, spent)
		if smaller == nil {
			smaller = withoutAPair(items, fails, spent)
		}
		if smaller == nil {
			break
		}
		items = ddmin(smaller, fails, spent, false)
	}
	return items
}

// fewFaults is how many faults are few enough to try every pair of.
const fewFaults = 12

// ddmin takes out chunks of faults, ever smaller, while the run still
// fails, down to single faults; backwards tries the latest chunks first.
func ddmin(items []item, fails func([]item) bool, spent func() bool, backwards bool) []item {
	chunks := 2
	for len(items) > 1 && !spent() {
		size := (len(items) + chunks - 1) / chunks
		reduced := false
		for c := range chunks {
			if backwards {
				c = chunks - 1 - c
			}
			start, end := c*size, min((c+1)*size, len(items))
			if start >= end {
				continue
			}
			if rest := without(items, start, end); fails(rest) {
				items, reduced = rest, true
				chunks = max(chunks-1, 2)
				break
			}
		}
		if !reduced {
			if chunks >= len(items) {
				break
			}
			chunks = min(2*chunks, len(items))
		}
	}
	return items
}

// latest keeps only the latest faults, as few as still fail, or returns
// nil if every fault is needed.
func latest(items []item, fails func([]item) bool, spent func() bool) []item {
	for from := len(items) - 1; from > 0 && !spent(); from-- {
		if fails(items[from:]) {
			return items[from:]
		}
	}
	return nil
}

// withoutAPair takes out two faults at once, or returns nil if no pair
// can go.
func withoutAPair(items []item, fails func([]item) bool, spent func() bool) []item {
	for i := range items {
		for j := i + 1; j < len(items) && !spent(); j++ {
			if rest := without(without(items, j, j+1), i, i+1); fails(rest) {
				return rest
			}
		}
	}
	return nil
}

// without is items less those from start to end, in a new slice.
func without(items []item, start, end int) []item {
	return append(append([]item{}, items[:start]...), items[end:]...)
}
