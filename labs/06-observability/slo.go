package observability

// An availability objective and its alert: part 5. You write this file.
//
// The API the tests use (keep these names and signatures):
//
//	(Objective).Budget() float64
//	ErrorRatio(samples []Sample, at time.Time, window time.Duration) (float64, bool)
//	(Objective).BurnRate(samples []Sample, at time.Time, window time.Duration) float64
//	(Objective).BudgetLeft(samples []Sample, at time.Time) float64
//	(Objective).Page(samples []Sample, at time.Time) bool
//
// A service level objective says how good is good enough: "99.9 % of
// checkouts succeed, over 30 days". What it leaves over, 0.1 % of the
// requests, is the error budget: the failures the shop may spend on
// deploys, experiments and bad luck. The alert that wakes someone up is
// not "an error happened" but "the budget is burning too fast".
//
// The numbers come from Prometheus counters, scraped over time: each
// Sample is one scrape of http_requests_total (all of it, and its 5xx),
// counted since the process started.

import "time"

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
func (o Objective) Budget() float64 {
	// TODO(part 5)
	return 0
}

// ErrorRatio is the share of the requests served in the window that ends
// at at (window long) that failed. samples are in time order, one every
// scrape. It is false when the window saw no requests.
func ErrorRatio(samples []Sample, at time.Time, window time.Duration) (float64, bool) {
	// TODO(part 5)
	return 0, false
}

// BurnRate is how fast the window that ends at at spent the budget: 1 is
// the speed that spends exactly all of it by the end of o.Window, 10 ten
// times that. It is 0 for a window that saw no requests.
func (o Objective) BurnRate(samples []Sample, at time.Time, window time.Duration) float64 {
	// TODO(part 5)
	return 0
}

// BudgetLeft is the share of the budget still left at at, over the
// objective's window: 1 untouched, 0 all spent, below 0 overspent.
func (o Objective) BudgetLeft(samples []Sample, at time.Time) float64 {
	// TODO(part 5)
	return 1
}

// Page says whether the samples, evaluated at at, should wake someone up.
//
// It pages for a burn that, kept up, would spend 2 % of the month's
// budget within an hour, or 5 % within six hours, and it must say so
// within minutes of a total outage. It does not page for a short spike
// the budget can take, or for a burn the budget can carry to the end of
// the month, and it stops paging soon after the errors stop.
func (o Objective) Page(samples []Sample, at time.Time) bool {
	// TODO(part 5)
	return false
}
