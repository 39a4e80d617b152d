//go:build solution

package observability

// An availability objective and its alert: part 5, the reference solution.

import (
	"sort"
	"time"
)

// Objective is an availability objective.
type Objective struct {
	Target float64       // the share of requests that must succeed: 0.999
	Window time.Duration // over how long: 30 days
}

// Sample is one scrape of a service's two counters.
type Sample struct {
	At       time.Time
	Requests float64 // requests served since the process started
	Errors   float64 // of those, the ones that failed
}

// Budget is the share of requests allowed to fail.
func (o Objective) Budget() float64 { return 1 - o.Target }

// increase is how much the counters grew over (at-window, at], as
// Prometheus's increase() counts it: a counter that drops has restarted
// from zero, so what it shows after the drop is all new.
func increase(samples []Sample, at time.Time, window time.Duration) (requests, errors float64) {
	from := at.Add(-window)
	// The first sample after at, and the last one at or before from: the
	// window's counting starts from that one.
	end := sort.Search(len(samples), func(i int) bool { return samples[i].At.After(at) })
	start := sort.Search(len(samples), func(i int) bool { return samples[i].At.After(from) }) - 1
	if start < 0 {
		start = 0
	}
	for i := start + 1; i < end; i++ {
		requests += grew(samples[i-1].Requests, samples[i].Requests)
		errors += grew(samples[i-1].Errors, samples[i].Errors)
	}
	return requests, errors
}

func grew(before, after float64) float64 {
	if after < before {
		return after // the process restarted, and its counters with it
	}
	return after - before
}

// ErrorRatio is the share of the requests served in the window that ends
// at at (window long) that failed. It is false when the window saw no
// requests.
func ErrorRatio(samples []Sample, at time.Time, window time.Duration) (float64, bool) {
	requests, errors := increase(samples, at, window)
	if requests == 0 {
		return 0, false
	}
	return errors / requests, true
}

// BurnRate is how fast the window that ends at at spent the budget: 1 is
// the speed that spends exactly all of it by the end of o.Window.
func (o Objective) BurnRate(samples []Sample, at time.Time, window time.Duration) float64 {
	ratio, ok := ErrorRatio(samples, at, window)
	if !ok {
		return 0
	}
	return ratio / o.Budget()
}

// BudgetLeft is the share of the budget still left at at, over the
// objective's window.
func (o Objective) BudgetLeft(samples []Sample, at time.Time) float64 {
	requests, errors := increase(samples, at, o.Window)
	if requests == 0 {
		return 1
	}
	return 1 - errors/(o.Budget()*requests)
}

// Page is the multiwindow, multi-burn-rate alert of Google's SRE
// workbook. A burn that spends a share s of the budget within a window w
// has a burn rate of s × o.Window / w: 2 % in an hour is 14.4 for 30
// days, 5 % in six hours is 6. Each long window comes with a short one, a
// twelfth of it, that must burn as fast: the long one keeps a short spike
// from paging, the short one lets the page stop minutes after the errors
// do, rather than an hour later.
func (o Objective) Page(samples []Sample, at time.Time) bool {
	for _, a := range []struct {
		share float64
		long  time.Duration
	}{{0.02, time.Hour}, {0.05, 6 * time.Hour}} {
		rate := a.share * float64(o.Window) / float64(a.long)
		if o.BurnRate(samples, at, a.long) > rate && o.BurnRate(samples, at, a.long/12) > rate {
			return true
		}
	}
	return false
}
