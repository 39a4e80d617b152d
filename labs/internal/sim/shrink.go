package sim

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distlings/distlings/labs/internal/seeds"
)

// The budget of one shrink: it stops at whichever comes first, and
// reports the smallest failing run it found by then. ShrinkTotal bounds
// the time all the shrinks of one test process take together, so that a
// lab whose every cluster test fails reports within half a minute more.
var (
	ShrinkRuns  = 8000
	ShrinkTime  = 10 * time.Second
	ShrinkTotal = 30 * time.Second
)

// shrunkFor is the time the process's shrinks have taken so far.
var shrunkFor struct {
	sync.Mutex
	d time.Duration
}

func shrinkTimeUsed() time.Duration {
	shrunkFor.Lock()
	defer shrunkFor.Unlock()
	return shrunkFor.d
}

var (
	shrinkFlag = flag.Bool("shrink", true, "when a seed fails, look for the fewest of its faults that still fail the same way (or DISTLINGS_SHRINK=off)")
	faultsFlag = flag.String("faults", "", "replay the faults in this file (written by a shrink) in place of the seed's random ones; with -seed (or DISTLINGS_FAULTS)")
)

// shrinking reports whether failing sweeps are shrunk.
func shrinking() bool {
	switch strings.ToLower(os.Getenv("DISTLINGS_SHRINK")) {
	case "0", "off", "false", "no":
		return false
	}
	return *shrinkFlag
}

// runState is one run of a test's check: the clusters it made, the faults
// they must replay instead of random ones, and what stopped it.
type runState struct {
	plan     map[int][]Fault // by cluster, in the order the check makes them; nil: random faults
	full     bool            // keep every trace record
	probe    *probe          // set when the check runs again to shrink
	clusters []*Cluster
	failure  error // what a cluster's Fatal was given first
}

var runs sync.Map // testing.TB → *runState

func runOf(t testing.TB) *runState {
	if rs, ok := runs.Load(t); ok {
		return rs.(*runState)
	}
	plan := plannedFor(t)
	if plan == nil {
		return nil
	}
	rs := &runState{plan: plan}
	runs.Store(t, rs)
	t.Cleanup(func() { runs.Delete(t) })
	return rs
}

// Sweep runs check once per seed, as seeds.Sweep does, each seed in a
// subtest. When a seed fails, the check runs again with fewer of that
// run's faults: the crashes, partitions and cuts of ScheduleFaults and the
// network's losses, duplicates and delays. It keeps each smaller set that
// still fails the same way (the same broken invariant, or the same
// failing line of the test) until no single fault can go, or the budget
// is spent. If that leaves more than a few, it looks at the seeds after
// the failing one for a run that fails the same way with fewer. It
// reports the faults left, the shrunk run's trace and diagram, and the
// command that replays it. -shrink=false (or
// DISTLINGS_SHRINK=off) turns it off.
func Sweep(t *testing.T, count int, check func(t testing.TB, seed uint64)) {
	t.Helper()
	seeds.Sweep(t, count, func(t *testing.T, seed uint64) {
		rs := &runState{plan: plannedFor(t)}
		runs.Store(t, rs)
		t.Cleanup(func() {
			runs.Delete(t)
			if t.Failed() && rs.plan == nil && len(rs.clusters) > 0 && shrinking() {
				shrink(t, rs, check, seed)
			}
		})
		check(t, seed)
	})
}

// faultsFile is the faults file asked for with -faults or DISTLINGS_FAULTS,
// read once.
var faultsFile = sync.OnceValues(func() (*FaultsFile, error) {
	path := *faultsFlag
	if path == "" {
		path = os.Getenv("DISTLINGS_FAULTS")
	}
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ff FaultsFile
	if err := json.Unmarshal(data, &ff); err != nil {
		return nil, fmt.Errorf("%s is not a faults file: %v", path, err)
	}
	return &ff, nil
})

// plannedFor is the faults the faults file plans for this test, by
// cluster, or nil if no file was given or it is another test's. A file
// that cannot be read fails the test, since the run it asks for cannot
// happen.
func plannedFor(t testing.TB) map[int][]Fault {
	ff, err := faultsFile()
	if err != nil {
		t.Fatalf("-faults: %v", err)
	}
	if ff != nil && !seeds.Replaying() {
		t.Fatalf("-faults replays one seed's run: give its seed too, -seed %d", ff.Seed)
	}
	if ff == nil || ff.Test != t.Name() {
		return nil
	}
	return ff.Faults
}

// outcome is how one run of a check ended.
type outcome struct {
	failed bool
	rule   string // the same for two failures of the same rule
	about  string // the rule in words, for the report
	rs     *runState
	hung   string
}

// runCheck runs check once more, quietly, with only the planned faults.
func runCheck(t testing.TB, check func(testing.TB, uint64), seed uint64, plan map[int][]Fault, full bool) outcome {
	p := newProbe(t)
	rs := &runState{plan: plan, full: full, probe: p}
	runs.Store(p, rs)
	defer runs.Delete(p)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if v := recover(); v != nil {
				p.note(fmt.Sprintf("the test panicked: %v", v))
			}
		}()
		check(p, seed)
	}()
	select {
	case <-done:
	case what := <-p.hung:
		// The handler's goroutine cannot be stopped; it spins until the
		// test binary exits. Nothing more is tried.
		return outcome{hung: what}
	}
	p.runCleanups()
	o := outcome{failed: p.Failed() && !p.skipped, rs: rs}
	if o.failed {
		o.rule, o.about = ruleOf(rs.failure, p)
	}
	return o
}

var digits = regexp.MustCompile(`[0-9]+`)

// ruleOf names what a failing run broke: an invariant, a kind of panic, or
// else the line of the test that failed.
func ruleOf(err error, p *probe) (rule, about string) {
	if f, ok := AsFailure(err); ok {
		switch f.Kind {
		case "invariant":
			return "invariant " + f.Invariant, fmt.Sprintf("invariant %q", f.Invariant)
		case "stuck":
			return "stuck", "virtual time stopped"
		}
		first, _, _ := strings.Cut(f.Message, "\n")
		return f.Kind + " " + digits.ReplaceAllString(first, "#"), first
	}
	var message, site string
	if p != nil {
		message, site = p.failure()
	}
	if err != nil {
		message = err.Error()
	}
	first := firstLine(message)
	if site == "" {
		return "failure " + digits.ReplaceAllString(first, "#"), first
	}
	return "failure at " + site, fmt.Sprintf("%s, at %s", first, site)
}

// firstLine is the line of a failure message that says what broke: a
// testify failure's "Messages:" (the test's own words), else its "Error:",
// else the message's first line.
func firstLine(message string) string {
	pick := ""
	for _, field := range []string{"Messages:", "Error:"} {
		if _, rest, ok := strings.Cut(message, field); ok && pick == "" {
			pick = rest
		}
	}
	if pick == "" {
		pick = message
	}
	for _, line := range strings.Split(pick, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			if len(line) > 120 {
				line = line[:117] + "..."
			}
			return line
		}
	}
	return "the test failed"
}

// budget counts the runs and the time a shrink has used.
type budget struct {
	start  time.Time
	before time.Duration // what earlier shrinks of the process used
	runs   int
}

func newBudget() *budget { return &budget{start: time.Now(), before: shrinkTimeUsed()} }

func (b *budget) spent() bool {
	return b.runs >= ShrinkRuns || time.Since(b.start) >= b.limit()
}

// share is a limit for the next part of the shrink: a fraction of the
// runs and the time left, or the budget's end.
func (b *budget) share(fraction float64) func() bool {
	runs, took := b.runs, time.Since(b.start)
	runsLeft, timeLeft := float64(ShrinkRuns-runs), b.limit()-took
	return func() bool {
		return b.spent() || float64(b.runs-runs) >= fraction*runsLeft || time.Since(b.start)-took >= time.Duration(fraction*float64(timeLeft))
	}
}

// limit is the time this shrink may take.
func (b *budget) limit() time.Duration { return min(ShrinkTime, ShrinkTotal-b.before) }

// done adds the shrink's time to the process's.
func (b *budget) done() {
	shrunkFor.Lock()
	defer shrunkFor.Unlock()
	shrunkFor.d += time.Since(b.start)
}

func (b *budget) String() string {
	return fmt.Sprintf("%d runs in %.1fs; the budget is %d runs or %v", b.runs, time.Since(b.start).Seconds(), ShrinkRuns, b.limit().Round(100*time.Millisecond))
}

// item is one fault of one of the run's clusters.
type item struct {
	cluster int
	fault   Fault
}

func planOf(items []item) map[int][]Fault {
	plan := map[int][]Fault{}
	for _, it := range items {
		plan[it.cluster] = append(plan[it.cluster], it.fault)
	}
	return plan
}

func faultsOf(rs *runState) []item {
	var items []item
	for i, c := range rs.clusters {
		for _, f := range c.faults {
			items = append(items, item{i, f})
		}
	}
	return items
}

// shrink looks for the fewest faults of a failed run that still fail it
// the same way, and logs what it found to t.
func shrink(t *testing.T, rs *runState, check func(testing.TB, uint64), seed uint64) {
	all := faultsOf(rs)
	if len(all) == 0 {
		return // a run with no faults has none to take out
	}
	b := newBudget()
	if b.spent() {
		t.Logf("shrinking skipped: the shrinks of this run's earlier tests used its %v; replay this seed alone (below) to shrink it", ShrinkTotal)
		return
	}
	defer b.done()
	s := &shrinker{t: t, check: check, b: b}
	// The run again with all its faults, planned: it must fail as it did,
	// and says which rule the smaller runs must still break.
	first := s.run(seed, planOf(all))
	switch {
	case first.hung != "":
		t.Logf("shrinking stopped: replaying the run hung: %s", first.hung)
		return
	case !first.failed:
		t.Logf("shrinking stopped: the run did not fail again when its %d faults were replayed, which the simulator promises; please report it", len(all))
		return
	}
	if f, ok := AsFailure(rs.failure); ok {
		if rule, _ := ruleOf(f, nil); rule != first.rule {
			t.Logf("shrinking stopped: replaying the run's %d faults failed in another way (%s); please report it", len(all), first.about)
			return
		}
	}
	s.rule = first.rule
	best, here := s.down(seed, all)
	last := runCheck(t, check, best.seed, planOf(best.faults), true)
	t.Log(s.report(seed, best.seed, len(all), here, last))
}

// report says what the shrink found, and writes the shrunk run: a
// run of seed, the failing seed or, when here is not -1, a later one where
// fewer faults break the same rule than the here on the failing seed.
func (sh *shrinker) report(failed, seed uint64, before, here int, last outcome) string {
	t, b, hung, about := sh.t, sh.b, sh.hung, last.about
	var s strings.Builder
	stopped := ""
	switch {
	case hung != "":
		stopped = "; it stopped early, when a smaller run hung: " + hung
	case b.spent():
		stopped = "; it stopped at its budget, so fewer faults may still fail"
	}
	if !last.failed {
		fmt.Fprintf(&s, "shrinking: the run failed with %s, but the smallest run found did not fail again (%s)%s", countFaults(before), b, stopped)
		return s.String()
	}
	kept := orNone(faultsOf(last.rs))
	fmt.Fprintf(&s, "shrinking: the run failed with %s; ", countFaults(before))
	run, with := "the run", "it still fails the same way ("+about+") with"
	if here >= 0 {
		fmt.Fprintf(&s, "on its seed the fewest found that still fail the same way (%s) were %d, but a later seed, %d, ", about, here, seed)
		run, with = "that run", "fails that way with"
	}
	switch len(kept) {
	case 0:
		if here < 0 {
			with += " none of them"
		} else {
			with += " no fault at all"
		}
		fmt.Fprintf(&s, "%s: no crash, partition or lost message is needed, so read %s from its start.\n", with, run)
	default:
		fmt.Fprintf(&s, "%s %s:\n", with, plural(len(kept), "this one", "these "+strconv.Itoa(len(kept))))
		for _, it := range kept {
			prefix := "    "
			if len(last.rs.clusters) > 1 {
				prefix = fmt.Sprintf("    cluster %d: ", it.cluster+1)
			}
			fmt.Fprintf(&s, "%s%s\n", prefix, it.fault)
		}
	}
	if here < 0 && len(kept) > fewEnough && len(sh.ranLater) > 0 {
		fmt.Fprintf(&s, "(the %d seeds after this one were run too: %s)\n", len(sh.ranLater), sh.laterFailedWords())
	}
	fmt.Fprintf(&s, "(found in %s%s)\n", b, stopped)
	c := last.rs.failing()
	if c == nil {
		return s.String()
	}
	if c.verdict == "" {
		c.verdict = about // failed in the test's own code, not through the cluster
	}
	test := renamed(t.Name(), failed, seed)
	files, err := c.writeRun(test, seed, "shrunk", kept)
	if err != nil {
		fmt.Fprintf(&s, "the shrunk run could not be written: %v\n", err)
		return s.String()
	}
	name := "the shrunk run"
	if seed != failed {
		name += fmt.Sprintf(" (seed %d)", seed)
	}
	fmt.Fprintf(&s, "%s: trace %s\n    diagram %s\nreplay it with:\n%s", name, files.trace, files.diagram, replayFaults(test, seed, files.faults))
	return s.String()
}

func countFaults(n int) string { return strconv.Itoa(n) + plural(n, " fault", " faults") }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// failing is the cluster whose Fatal stopped the run, or the last one.
func (rs *runState) failing() *Cluster {
	for _, c := range rs.clusters {
		if c.verdict != "" {
			return c
		}
	}
	if n := len(rs.clusters); n > 0 {
		return rs.clusters[n-1]
	}
	return nil
}

// replayFaults is the commands that replay a shrunk run: the test's own
// subtest, its seed and the faults file.
func replayFaults(test string, seed uint64, file string) string {
	lines := strings.Split(seeds.Replay(test, seed), "\n")
	parts := strings.Split(test, "/")
	if len(parts) > 2 {
		// Run only this subtest of the test (the seed picks the seed_N
		// level), not its siblings with the same seed.
		var anchored []string
		for _, p := range parts[:len(parts)-1] {
			anchored = append(anchored, "^"+regexp.QuoteMeta(p)+"$")
		}
		pattern := strings.Join(anchored, "/")
		top := "'^" + regexp.QuoteMeta(parts[0]) + "$'"
		for i := range lines {
			lines[i] = strings.Replace(lines[i], top, "'"+pattern+"'", 1)
		}
	}
	for i := range lines {
		lines[i] += " -faults " + file
	}
	return strings.Join(lines, "\n")
}
