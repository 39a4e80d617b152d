package grade

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/google/renameio/v2"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/progress"
	"github.com/distlings/distlings/grader/report"
	"github.com/distlings/distlings/grader/run"
)

// TestOptions tune a test run.
type TestOptions struct {
	Parts  []int    // part numbers; none means all
	NoRace bool     // skip the race detector even where the lab asks for it
	Args   []string // passed to the test binary, e.g. -seed=7
	Env    []string // added to the test processes' environment
	// Replay says the run replays one seed, or a shrunk run's faults: it
	// tests less than the shipped sweep does, so nothing is recorded.
	Replay bool
	Events func(run.Event)
	// NoRecord leaves the progress file alone: for grading a copy that is
	// not this workbook's (see Student).
	NoRecord bool
}

// Outcome is a graded run: the results and what the learner should know
// about how they were obtained.
type Outcome struct {
	*run.Result
	Notices []string
}

// RaceSummary says where the race detector ran: "on", "off", or "on for
// parts 2, 5" when the lab's parts differ.
func (o *Outcome) RaceSummary() string {
	var on []string
	for _, p := range o.Parts {
		if p.Race {
			on = append(on, strconv.Itoa(p.Part.Number))
		}
	}
	switch len(on) {
	case 0:
		return "off"
	case len(o.Parts):
		return "on"
	case 1:
		return "on for part " + on[0]
	}
	return "on for parts " + strings.Join(on, ", ")
}

// Test runs parts of a lab against the shipped tests and records the outcome
// in the learner's progress. An error means the run could not happen at all
// (a broken manifest, no Go toolchain); failing tests are in the Outcome.
func (g *Grader) Test(ctx context.Context, lab *catalog.Lab, opts TestOptions) (*Outcome, error) {
	if lab.Err != nil {
		return nil, lab.Err
	}
	parts, err := PartsByNumber(lab, opts.Parts)
	if err != nil {
		return nil, err
	}
	tool, err := g.Toolchain(ctx)
	if err != nil {
		return nil, err
	}
	out := &Outcome{}
	wantsRace := slices.ContainsFunc(parts, func(p *catalog.Part) bool { return p.Race })
	if wantsRace && !opts.NoRace && !tool.CanRace {
		out.Notices = append(out.Notices, "the race detector needs cgo and a C compiler (gcc or clang); running without it")
	}
	notice := func(text string) {
		if opts.Events != nil {
			opts.Events(run.Event{Kind: run.Notice, Text: text})
		}
	}
	for _, n := range out.Notices {
		notice(n)
	}

	gr, err := g.prepareGraded(lab)
	if err != nil {
		return nil, err
	}
	defer gr.release()
	out.Notices = append(out.Notices, gr.notices...)
	for _, n := range gr.notices {
		notice(n)
	}
	spec := gr.spec
	spec.Parts, spec.Race, spec.Args, spec.Env = parts, tool.Race(opts.NoRace), opts.Args, opts.Env
	if opts.Events != nil {
		spec.Events = func(e run.Event) {
			if e.Kind == run.PartDone {
				gr.explain(e.Done) // before the part is shown
			}
			opts.Events(e)
		}
	}
	res, err := tool.Run(ctx, spec)
	if err != nil {
		return nil, err
	}
	if opts.Events == nil {
		for _, p := range res.Parts {
			gr.explain(p)
		}
	}
	out.Result = res
	if opts.Replay && !opts.NoRecord && ctx.Err() == nil {
		out.Notices = append(out.Notices, "a replay of one seed is not recorded: run the lab without -seed or -faults to record its parts")
	}
	if ctx.Err() != nil || gr.inPlace || opts.NoRecord || opts.Replay {
		// A cancelled run says nothing about the code; a run without the
		// shipped tests says nothing a grade can rest on.
		return out, nil
	}
	if err := g.saveLast(lab, res); err != nil {
		out.Notices = append(out.Notices, "the results could not be kept for grader report -last: "+err.Error())
	}
	now := g.Now()
	warn, err := g.Progress.Update(func(b *progress.Book) {
		rec := b.Lab(lab.Name)
		for _, p := range res.Parts {
			rec.Record(p.Part.Number, p.Status == run.Passed, now, gr.hash)
		}
	})
	out.Notices = append(out.Notices, warn...)
	if err != nil {
		out.Notices = append(out.Notices, err.Error()+" (the results above still stand)")
	}
	return out, nil
}

// Prepare builds a lab's tests as Test would, without running them, so
// that the first Test of the lab does not wait for its dependencies to
// compile. It records nothing.
func (g *Grader) Prepare(ctx context.Context, lab *catalog.Lab, events func(run.Event)) (run.Build, error) {
	if lab.Err != nil {
		return run.Build{}, lab.Err
	}
	tool, err := g.Toolchain(ctx)
	if err != nil {
		return run.Build{}, err
	}
	gr, err := g.prepareGraded(lab)
	if err != nil {
		return run.Build{}, err
	}
	defer gr.release()
	gr.spec.Race, gr.spec.Events = tool.Race(false), events
	return tool.Prepare(ctx, gr.spec)
}

// Student is lab as it is in a student's copy of the workbook at root:
// graded with this workbook's shipped tests, kits and manifest, and
// nothing from the student's copy but the lab's stub files, which are
// read from there. Run it with TestOptions.NoRecord.
func Student(lab *catalog.Lab, root string) *catalog.Lab {
	copied := *lab
	copied.Dir = filepath.Join(root, filepath.FromSlash(lab.RelDir))
	return &copied
}

// LastDir holds the last run of each lab, as a JSON report, for grader
// report -last: the learner's own summary, which they can edit, so never a
// grade.
func (g *Grader) LastDir() string { return filepath.Join(g.Workbook.StateDir(), "last") }

// saveLast keeps res as the lab's last run.
func (g *Grader) saveLast(lab *catalog.Lab, res *run.Result) error {
	var b bytes.Buffer
	if err := report.New([]*run.Result{res}).WriteTo(&b, "json"); err != nil {
		return err
	}
	if err := os.MkdirAll(g.LastDir(), 0o755); err != nil {
		return err
	}
	return renameio.WriteFile(filepath.Join(g.LastDir(), lab.Name+".json"), b.Bytes(), 0o644)
}

// Last reads the lab's last run, as saved by Test; ok is false if there
// is none.
func (g *Grader) Last(lab *catalog.Lab) (r *report.Report, ok bool, err error) {
	data, err := os.ReadFile(filepath.Join(g.LastDir(), lab.Name+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	r = &report.Report{}
	if err := json.Unmarshal(data, r); err != nil || r.Schema != report.Schema {
		return nil, false, fmt.Errorf("%s is damaged; run grader test %02d again", filepath.Join(".grader", "last", lab.Name+".json"), lab.Number)
	}
	return r, true, nil
}
