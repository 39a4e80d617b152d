// Package jitter judges, for lab tests, whether the retries of many clients
// look like exponential backoff with full jitter: before retry n, a wait
// drawn uniformly from [0, min(max, base·2ⁿ)).
//
// With a few hundred clients the statistics are tight enough to catch the
// usual mistakes (no jitter, half jitter, no cap, no doubling) and loose
// enough that a correct client passes on every seed.
package jitter

import (
	"fmt"
	"strings"
	"time"
)

// Bound is the largest wait allowed before retry n+1 (n from 0).
func Bound(n int, base, max time.Duration) time.Duration {
	return min(max, base<<n)
}

// Judge checks waits, where waits[n] holds every client's wait before
// retry n+1. For each retry the waits must stay below the bound, average
// about half of it (within 40 % to 60 %), and about a quarter of them
// (15 % to 35 %) must be below a quarter of it, as a uniform draw does. It
// reports whether they all hold, and a table, one line per retry, for the
// failure message.
func Judge(waits [][]time.Duration, base, max time.Duration) (ok bool, table string) {
	var b strings.Builder
	fmt.Fprintf(&b, "    retry  bound    mean wait (want about half the bound)\n")
	ok = true
	for n, ws := range waits {
		bound := Bound(n, base, max)
		if len(ws) == 0 {
			fmt.Fprintf(&b, "    %5d  %-7v  no waits\n", n+1, bound)
			ok = false
			continue
		}
		var sum time.Duration
		below := 0
		for _, w := range ws {
			sum += w
			if w < bound/4 {
				below++
			}
			ok = ok && w < bound
		}
		mean := sum / time.Duration(len(ws))
		share := float64(below) / float64(len(ws))
		ok = ok && mean >= bound*2/5 && mean <= bound*3/5 && share >= 0.15 && share <= 0.35
		fmt.Fprintf(&b, "    %5d  %-7v  %v (%.0f%% of waits below a quarter of the bound, want about 25%%)\n",
			n+1, bound, mean.Round(time.Millisecond), 100*share)
	}
	return ok, b.String()
}

// Busiest returns the window of the given width (aligned to multiples of
// it) that holds the most of times, and how many it holds; ties go to the
// earliest window.
func Busiest(times []time.Duration, width time.Duration) (start time.Duration, count int) {
	windows := map[time.Duration]int{}
	for _, at := range times {
		windows[at.Truncate(width)]++
	}
	for at, n := range windows {
		if n > count || (n == count && at < start) {
			start, count = at, n
		}
	}
	return start, count
}
