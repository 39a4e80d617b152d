package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distlings/distlings/labs/internal/seeds"
)

// TimelineLength is how many of the last events a failure report shows.
const TimelineLength = 40

// RingTrace is how many records a Cluster keeps while it sweeps seeds: a
// passing run needs none, and a failing one is replayed from its seed to
// write its whole trace. Keeping every record of every seed cost more
// time than the simulation itself.
const RingTrace = 8192

// Cluster is a World bound to a test: whatever stops the run fails the test
// with a report of what broke, at which virtual time and event, the last
// events, the seed and how to replay it, and where the full trace was
// written.
type Cluster struct {
	*World
	t       testing.TB
	run     *runState // the sweep's run this cluster is part of, if any
	verdict string    // what Fatal was given, in a line; "" until it is called
}

var rings sync.Pool // of *[]Record with room for RingTrace records

// NewCluster starts a simulated cluster for a test. A Config without a
// Seed takes the test's seed (package seeds); either way, a failure prints
// the command that replays it. A Config without a TraceLimit keeps the
// last RingTrace records, or the whole run when one seed is replayed
// (-seed or DISTLINGS_SEED); once a test has passed, the next cluster
// reuses its ring.
func NewCluster(t testing.TB, cfg Config, newNode func(NodeID) Node) *Cluster {
	t.Helper()
	if cfg.Seed == 0 {
		cfg.Seed = seeds.For(t)
	} else {
		seeds.Use(t, cfg.Seed)
	}
	rs := runOf(t)
	var ring []Record
	if cfg.TraceLimit == 0 && !seeds.Replaying() && (rs == nil || !rs.full) {
		cfg.TraceLimit = RingTrace
		// A sweep makes hundreds of clusters one after another: each takes
		// the ring the last one left.
		if p, ok := rings.Get().(*[]Record); ok {
			ring = *p
		} else {
			ring = make([]Record, 0, RingTrace)
		}
	}
	c := &Cluster{World: newWorld(cfg, newNode, ring), t: t, run: rs}
	onHang := Hung
	if rs != nil {
		if rs.plan != nil {
			c.ReplayFaults(rs.plan[len(rs.clusters)])
		}
		rs.clusters = append(rs.clusters, c)
		if rs.probe != nil {
			onHang = rs.probe.hang
		}
	}
	t.Cleanup(c.watch(HangLimit, onHang))
	if ring != nil {
		t.Cleanup(func() {
			if t.Failed() {
				return // its trace may still be read
			}
			kept := c.Trace().release()
			rings.Put(&kept)
		})
	}
	c.check()
	return c
}

// Invariant registers a rule checked after every event. The first event
// after which check returns an error stops the run, and the test fails
// pointing at that event.
func (c *Cluster) Invariant(name string, check func() error) {
	c.AddInvariant(name, check)
	c.check()
}

// Run runs the cluster for d of virtual time.
func (c *Cluster) Run(d time.Duration) {
	c.t.Helper()
	if err := c.RunFor(d); err != nil {
		c.Fatal(err)
	}
}

// RunUntil runs until done returns true, failing the test if the virtual
// time reaches the deadline first; what says what was awaited ("a leader
// is elected") for the failure message.
func (c *Cluster) RunUntil(what string, deadline time.Duration, done func() bool) {
	c.t.Helper()
	start := c.Now()
	ok, err := c.World.RunUntil(done, c.Now()+deadline)
	if err != nil {
		c.Fatal(err)
	}
	if !ok {
		c.Fatal(fmt.Errorf("%s did not happen within %v of virtual time (from %s to %s)",
			what, deadline, strings.TrimSpace(FormatTime(start)), strings.TrimSpace(FormatTime(c.Now()))))
	}
}

// Step handles one event, failing the test if it breaks something.
func (c *Cluster) Step() bool {
	c.t.Helper()
	more := c.World.Step()
	c.handling.idle()
	c.check()
	return more
}

func (c *Cluster) check() {
	c.t.Helper()
	if f := c.Failure(); f != nil {
		c.Fatal(f)
	}
}

// Fatal fails the test with err and the run's report: the last events of
// the timeline, and the path of the full trace.
func (c *Cluster) Fatal(err error) {
	c.t.Helper()
	c.verdict = firstLine(err.Error())
	if rs := c.run; rs != nil {
		if rs.failure == nil {
			rs.failure = err
		}
		if rs.probe != nil {
			c.t.Fatal(err.Error()) // a run to shrink: only the verdict counts
		}
	}
	c.t.Fatal(c.Report(err))
}

// Report is what a failing test prints: the error, its stack if a node
// panicked, the timeline of the last events and where the full trace is.
func (c *Cluster) Report(err error) string {
	var b strings.Builder
	b.WriteString(err.Error())
	b.WriteString("\n")
	if f, ok := AsFailure(err); ok && f.Stack != "" {
		b.WriteString("\n" + indent(trimStack(f.Stack), "    ") + "\n")
	}
	last := c.Trace().Last(TimelineLength)
	fmt.Fprintf(&b, "\nthe last %d of %d events (virtual time, node, event):\n", len(last), c.Trace().Count())
	b.WriteString(Timeline(last))
	files, werr := c.writeRun(c.t.Name(), c.Seed(), "", nil)
	switch {
	case werr != nil:
		fmt.Fprintf(&b, "the full trace could not be written: %v\n", werr)
	case c.Trace().Dropped() == 0:
		fmt.Fprintf(&b, "full trace: %s\ndiagram: %s\n", files.trace, files.diagram)
	default:
		fmt.Fprintf(&b, "trace of the last %d events: %s\ndiagram of them: %s\n(the run replays exactly from its seed, and a replay of one seed writes every event: add -seed %d)\n",
			len(c.Trace().Records()), files.trace, files.diagram, c.Seed())
	}
	return b.String()
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// runFiles are the files a failing run leaves: its trace as JSON lines,
// its space-time diagram, and, for a shrunk run, the faults to replay.
type runFiles struct{ trace, diagram, faults string }

// writeRun writes the run's files to .grader/traces in the workbook (or
// the system's temporary folder outside one), named after the test, the
// seed and what the run is ("shrunk"). faults, if not nil, are the faults
// to write for a replay.
func (c *Cluster) writeRun(test string, seed uint64, what string, faults []item) (runFiles, error) {
	dir := filepath.Join(os.TempDir(), "distlings-traces")
	if root := moduleRoot(); root != "" {
		dir = filepath.Join(root, ".grader", "traces")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return runFiles{}, err
	}
	base := filepath.Join(dir, fmt.Sprintf("%s-seed-%d", unsafeName.ReplaceAllString(test, "_"), seed))
	if what != "" {
		base += "-" + what
	}
	files := runFiles{trace: base + ".jsonl", diagram: base + ".html"}
	records := c.Trace().Records()
	if err := writeFile(files.trace, func(w io.Writer) error { return WriteJSON(w, records) }); err != nil {
		return files, err
	}
	title := fmt.Sprintf("%s, seed %d", test, seed)
	if what != "" {
		title += " (" + what + ")"
	}
	if err := writeFile(files.diagram, func(w io.Writer) error {
		return WriteDiagram(w, Diagram{Title: title, Nodes: c.IDs(), Records: records, Faults: c.faults,
			Dropped: c.Trace().Dropped(), Failure: c.Failure(), Verdict: c.verdict})
	}); err != nil {
		return files, err
	}
	if faults != nil {
		files.faults = base + ".faults.json"
		ff := FaultsFile{Test: test, Seed: seed, Faults: planOf(faults)}
		data, err := json.Marshal(ff)
		if err != nil {
			return files, err
		}
		if err := os.WriteFile(files.faults, append(data, '\n'), 0o644); err != nil {
			return files, err
		}
	}
	return files, nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// trimStack keeps the frames of the node's code: the recovery machinery of
// the simulator and the runtime's panic frames are noise to the learner.
func trimStack(stack string) string {
	lines := strings.Split(strings.TrimSpace(stack), "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "goroutine ") || strings.Contains(l, "runtime/debug.Stack") ||
			strings.HasPrefix(l, "panic(") || strings.HasPrefix(l, "runtime.") ||
			strings.Contains(l, "labs/internal/sim.(*World)") || strings.Contains(l, "labs/internal/sim.(*Cluster)") {
			if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\t") {
				i++ // and its file:line
			}
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
