package sim

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

func items(n int) []item {
	out := make([]item, n)
	for i := range out {
		out[i] = item{fault: Fault{Kind: FaultLoss, N: uint32(i)}}
		if i%10 == 0 {
			out[i].fault.Kind = FaultCrash
		}
	}
	return out
}

// needs fails when every one of the faults numbered want is kept.
func needs(runs *int, want ...uint32) func([]item) bool {
	return func(kept []item) bool {
		*runs++
		for _, w := range want {
			if !slices.ContainsFunc(kept, func(it item) bool { return it.fault.N == w }) {
				return false
			}
		}
		return true
	}
}

func numbers(kept []item) []uint32 {
	var out []uint32
	for _, it := range kept {
		out = append(out, it.fault.N)
	}
	return out
}

func TestMinimizeFindsTheFaultsThatMatter(t *testing.T) {
	for _, want := range [][]uint32{{42}, {17, 93}, {20, 40, 41}, {0, 1, 2, 3, 4}} {
		runs := 0
		got := minimize(items(300), needs(&runs, want...), func() bool { return false })
		assert.Equal(t, want, numbers(got))
		// About k·log(n) runs to get down, and for more than two faults a few
		// more ways down, each from the start.
		assert.Less(t, runs, 100*len(want)+60, "%d runs for %v", runs, want)
	}
}

func TestMinimizeWithNoFaultNeeded(t *testing.T) {
	runs := 0
	assert.Empty(t, minimize(items(50), needs(&runs), func() bool { return false }))
	assert.Equal(t, 1, runs, "a run that fails with no fault at all is found at once")
}

func TestMinimizeStopsAtItsBudget(t *testing.T) {
	runs := 0
	got := minimize(items(300), needs(&runs, 17, 93), func() bool { return runs >= 5 })
	assert.LessOrEqual(t, runs, 6)
	assert.Subset(t, numbers(got), []uint32{17, 93}, "what it returns still fails")
	assert.Greater(t, len(got), 2)
}

func TestTheRuleOfAFailureIsWhatItBroke(t *testing.T) {
	testify := "\n\tError Trace:\t/w/labs/internal/sim/shrink.go:152\n\t\t\t\t/w/labs/03/liveness_test.go:96\n\tError:      \tShould be true\n\tTest:       \tTestX/seed_1\n\tMessages:   \tthe leader was lost with nothing failing: n1 down\n"
	assert.Equal(t, "the leader was lost with nothing failing: n1 down", firstLine(testify))
	assert.Equal(t, "Should be true", firstLine("\n\tError Trace:\tx.go:1\n\tError:      \tShould be true\n"))
	assert.Equal(t, "a leader did not happen", firstLine("a leader did not happen\nat the deadline:\n..."))

	rule, about := ruleOf(&Failure{Kind: "invariant", Invariant: "at most one leader per term", Message: "two leaders in term 3"}, nil)
	assert.Equal(t, "invariant at most one leader per term", rule)
	assert.Equal(t, `invariant "at most one leader per term"`, about)
	a, _ := ruleOf(&Failure{Kind: "panic", Message: "HandleMessage panicked: index out of range [5] with length 3"}, nil)
	b, _ := ruleOf(&Failure{Kind: "panic", Message: "HandleMessage panicked: index out of range [7] with length 2"}, nil)
	assert.Equal(t, a, b, "the same panic at another index is the same rule")
}
