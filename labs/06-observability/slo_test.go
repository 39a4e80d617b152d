package observability

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// month is the shop's availability objective: 99.9 % of requests succeed
// over 30 days.
var month = Objective{Target: 0.999, Window: 30 * 24 * time.Hour}

// scrape is how often the generated series are sampled.
const scrapeEvery = 30 * time.Second

var epoch = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// traffic generates the samples of a service serving perScrape requests
// every scrape for d, a share errShare(t) of them failing at time t since
// the start. restartAt, if not zero, restarts the process there: its
// counters begin again from zero.
func traffic(d time.Duration, perScrape float64, errShare func(t time.Duration) float64, restartAt time.Duration) []Sample {
	var out []Sample
	var req, errs float64
	for t := time.Duration(0); t <= d; t += scrapeEvery {
		if restartAt != 0 && t == restartAt {
			req, errs = 0, 0
		}
		if t > 0 {
			req += perScrape
			errs += math.Round(perScrape * errShare(t))
		}
		out = append(out, Sample{At: epoch.Add(t), Requests: req, Errors: errs})
	}
	return out
}

// healthyThen is errors at share from start on, and none before.
func healthyThen(start time.Duration, share float64) func(time.Duration) float64 {
	return func(t time.Duration) float64 {
		if t > start {
			return share
		}
		return 0
	}
}

// pages evaluates Page every minute from `from` to `to`, and returns the
// times (since the start) it paged at.
func pages(o Objective, samples []Sample, from, to time.Duration) []time.Duration {
	var out []time.Duration
	for t := from; t <= to; t += time.Minute {
		if o.Page(samples, epoch.Add(t)) {
			out = append(out, t)
		}
	}
	return out
}

func TestTheBudgetIsWhatTheObjectiveLeavesOver(t *testing.T) {
	assert.InDelta(t, 0.001, month.Budget(), 1e-12, "99.9 %% must succeed: 0.1 %% may fail")
	assert.InDelta(t, 0.05, Objective{Target: 0.95, Window: time.Hour}.Budget(), 1e-12, "95 %% must succeed: 5 %% may fail")
}

func TestErrorRatioCountsOnlyItsWindow(t *testing.T) {
	// An hour without errors, then an hour at 1 %.
	s := traffic(2*time.Hour, 1000, healthyThen(time.Hour, 0.01), 0)
	end := epoch.Add(2 * time.Hour)
	for _, tc := range []struct {
		window time.Duration
		want   float64
	}{{5 * time.Minute, 0.01}, {time.Hour, 0.01}, {2 * time.Hour, 0.005}} {
		got, ok := ErrorRatio(s, end, tc.window)
		require.True(t, ok, "the last %v saw requests", tc.window)
		assert.InDelta(t, tc.want, got, 1e-9,
			"an hour without errors, then an hour at 1 %%: over the last %v, %v of the requests failed, not %v. Count only what the counters grew by within the window", tc.window, tc.want, got)
	}
	got, _ := ErrorRatio(s, epoch.Add(time.Hour), time.Hour)
	assert.InDelta(t, 0, got, 1e-9, "evaluated at the end of the first hour, the last hour had no errors: samples after `at` are not in its window")
	assert.InDelta(t, 10, month.BurnRate(s, end, time.Hour), 1e-9,
		"1 %% of requests failing, against a budget of 0.1 %%, spends it 10 times as fast as the objective allows: a burn rate of 10")
}

func TestErrorRatioSurvivesACounterReset(t *testing.T) {
	// 2 % of requests fail in the first hour, none in the second, and the
	// service restarts in between.
	s := traffic(2*time.Hour, 1000, func(t time.Duration) float64 {
		if t <= time.Hour {
			return 0.02
		}
		return 0
	}, time.Hour+scrapeEvery)
	got, ok := ErrorRatio(s, epoch.Add(2*time.Hour), 2*time.Hour)
	require.True(t, ok)
	assert.InDelta(t, 0.01, got, 1e-9,
		"the service restarted an hour in, and its counters began again from 0; 2 %% of requests failed before, none after, so 1 %% over the two hours, but ErrorRatio says %v. A counter that drops has restarted: what it shows after the drop is all new (Prometheus's increase() counts it so)", got)
}

func TestNoRequestsAreNoErrors(t *testing.T) {
	s := traffic(2*time.Hour, 1000, healthyThen(time.Hour, 1), 0)
	idle := append(s, Sample{At: epoch.Add(3 * time.Hour), Requests: s[len(s)-1].Requests, Errors: s[len(s)-1].Errors})
	at := idle[len(idle)-1].At
	_, ok := ErrorRatio(idle, at, 30*time.Minute)
	assert.False(t, ok, "no request was served in the last 30 minutes: there is no error ratio to speak of, and ErrorRatio says so")
	assert.Equal(t, 0.0, month.BurnRate(idle, at, 30*time.Minute), "a window without requests burned nothing (and 0/0 is not a burn rate)")
	ratio, ok := ErrorRatio(s, epoch.Add(2*time.Hour), time.Hour)
	assert.True(t, ok, "the last hour saw requests")
	assert.InDelta(t, 1, ratio, 1e-9, "every request of the last hour failed")
}

func TestBudgetLeftCountsTheObjectivesWindow(t *testing.T) {
	// 31 days: a bad first day at 1 %, then thirty at 0.05 %.
	var s []Sample
	var req, errs float64
	for t := time.Duration(0); t <= 31*24*time.Hour; t += time.Minute {
		if t > 0 {
			req += 1000
			if t <= 24*time.Hour {
				errs += 10
			} else {
				errs += 0.5
			}
		}
		s = append(s, Sample{At: epoch.Add(t), Requests: req, Errors: errs})
	}
	left := month.BudgetLeft(s, epoch.Add(31*24*time.Hour))
	assert.InDelta(t, 0.5, left, 1e-6,
		"over the 30 days the objective covers, 0.05 %% of requests failed: half the budget is left, not %v. The bad first day is more than 30 days ago, and no longer counts", left)
	assert.Less(t, month.BudgetLeft(s, epoch.Add(24*time.Hour)), 0.0, "after the first day, at 1 %% errors, the budget is overspent: below 0")
}

func TestATotalOutagePagesWithinMinutes(t *testing.T) {
	start := 8 * time.Hour
	s := traffic(10*time.Hour, 1000, healthyThen(start, 1), 0)
	assert.Empty(t, pages(month, s, time.Hour, start), "the service was healthy, and it paged")
	got := pages(month, s, start, 10*time.Hour)
	require.NotEmpty(t, got, "every request has failed for two hours, and Page never paged")
	assert.LessOrEqual(t, got[0]-start, 2*time.Minute,
		"every request fails from 8:00 on, and the first page came at +%v: at that speed the month's budget is gone in 43 minutes, so a page must come within 2", got[0]-start)
}

func TestAFastBurnPagesWithinTheHour(t *testing.T) {
	start := 8 * time.Hour
	s := traffic(10*time.Hour, 1000, healthyThen(start, 0.02), 0)
	got := pages(month, s, start, 10*time.Hour)
	require.NotEmpty(t, got, "2 %% of requests have failed for two hours (a burn rate of 20: the month's budget gone in a day and a half), and Page never paged")
	assert.LessOrEqual(t, got[0]-start, 45*time.Minute,
		"a burn rate of 20 from 8:00, and the first page came at +%v: by then it had spent %.0f %% of the month's budget; it spends 2 %% in 43 minutes, and must page by then", got[0]-start, 100*float64(got[0]-start)*20/float64(month.Window))
}

func TestASlowBurnPagesWithinSixHours(t *testing.T) {
	start := 6 * time.Hour
	s := traffic(14*time.Hour, 1000, healthyThen(start, 0.007), 0)
	got := pages(month, s, start, 14*time.Hour)
	require.NotEmpty(t, got, "0.7 %% of requests have failed for eight hours (a burn rate of 7: the budget gone in four days), and Page never paged")
	assert.LessOrEqual(t, got[0]-start, 6*time.Hour,
		"a burn rate of 7 from 6:00, and the first page came at +%v: a burn that spends 5 %% of the budget in six hours must page within them", got[0]-start)
}

func TestAShortSpikeDoesNotPage(t *testing.T) {
	// One 30-second outage in a day: 1.2 % of the month's budget.
	spike := 12 * time.Hour
	s := traffic(24*time.Hour, 1000, func(t time.Duration) float64 {
		if t > spike && t <= spike+scrapeEvery {
			return 1
		}
		return 0
	}, 0)
	got := pages(month, s, 6*time.Hour, 24*time.Hour)
	assert.Empty(t, got,
		"one 30-second outage in a day spent about 1 %% of the month's budget, and Page paged at %v: a short window alone sees every spike as a disaster. Someone woken for what the budget can take soon stops trusting the pager",
		fmtTimes(got))
	require.NotEmpty(t, pages(month, traffic(3*time.Hour, 1000, healthyThen(time.Hour, 1), 0), time.Hour, 3*time.Hour), "an outage of two hours pages")
}

func TestABurnTheMonthCanCarryDoesNotPage(t *testing.T) {
	s := traffic(3*24*time.Hour, 1000, func(time.Duration) float64 { return 0.002 }, 0)
	got := pages(month, s, 6*time.Hour, 3*24*time.Hour)
	assert.Empty(t, got,
		"0.2 %% of requests fail, a burn rate of 2: at that speed the budget lasts 15 days, time enough for a ticket in working hours, and Page paged at %v. A page is for what cannot wait",
		fmtTimes(got))
	require.NotEmpty(t, pages(month, traffic(3*time.Hour, 1000, healthyThen(time.Hour, 1), 0), time.Hour, 3*time.Hour), "an outage of two hours pages")
}

func TestPagingStopsSoonAfterTheErrorsStop(t *testing.T) {
	start, end := 8*time.Hour, 8*time.Hour+20*time.Minute
	s := traffic(12*time.Hour, 1000, func(t time.Duration) float64 {
		if t > start && t <= end {
			return 1
		}
		return 0
	}, 0)
	got := pages(month, s, start, 12*time.Hour)
	require.NotEmpty(t, got, "a 20-minute total outage spent half the month's budget, and Page never paged")
	last := got[len(got)-1]
	assert.LessOrEqual(t, last-end, 35*time.Minute,
		"the outage ended at 8:20, and Page still paged %v later: a window of hours remembers it for hours, but whoever was paged fixed it long ago. A page must stop within half an hour of the errors", last-end)
}

func fmtTimes(ts []time.Duration) string {
	if len(ts) > 3 {
		return fmt.Sprintf("%v ... (%d times)", ts[:3], len(ts))
	}
	return fmt.Sprint(ts)
}
