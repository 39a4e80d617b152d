package grade

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/progress"
	"github.com/distlings/distlings/grader/run"
	"github.com/distlings/distlings/grader/shipped"
)

// TestOptions tune a test run.
type TestOptions struct {
	Parts  []int    // part numbers; none means all
	NoRace bool     // skip the race detector even where the lab asks for it
	Args   []string // passed to the test binary, e.g. -seed=7
	Events func(run.Event)
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

	overlayDir, err := os.MkdirTemp("", "distlings-shipped-")
	if err != nil {
		return nil, fmt.Errorf("make a temporary folder: %w", err)
	}
	defer os.RemoveAll(overlayDir)
	overlay, notices, err := g.shippedOverlay(lab, overlayDir)
	if err != nil {
		return nil, err
	}
	out.Notices = append(out.Notices, notices...)
	for _, n := range notices {
		notice(n)
	}

	hash, err := FilesHash(lab)
	if err != nil {
		return nil, fmt.Errorf("read lab %s: %w", lab.ID(), err)
	}
	res, err := tool.Run(ctx, &run.Spec{
		Root: g.Workbook.Root, Lab: lab, Parts: parts, Overlay: overlay,
		Race: tool.Race(opts.NoRace), Args: opts.Args, Events: opts.Events,
	})
	if err != nil {
		return nil, err
	}
	out.Result = res
	if ctx.Err() != nil {
		return out, nil // a cancelled run says nothing about the code
	}
	now := g.Now()
	warn, err := g.Progress.Update(func(b *progress.Book) {
		rec := b.Lab(lab.Name)
		for _, p := range res.Parts {
			rec.Record(p.Part.Number, p.Status == run.Passed, now, hash)
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
	dir, err := os.MkdirTemp("", "distlings-shipped-")
	if err != nil {
		return run.Build{}, fmt.Errorf("make a temporary folder: %w", err)
	}
	defer os.RemoveAll(dir)
	overlay, _, err := g.shippedOverlay(lab, dir)
	if err != nil {
		return run.Build{}, err
	}
	return tool.Prepare(ctx, &run.Spec{Root: g.Workbook.Root, Lab: lab, Overlay: overlay, Race: tool.Race(false), Events: events})
}

// shippedOverlay makes the build use the shipped copy of every file the
// learner is not meant to edit (the tests and the lab's own helpers), so an
// edited test can neither break nor raise a grade. Files are written to dir.
func (g *Grader) shippedOverlay(lab *catalog.Lab, dir string) (map[string]string, []string, error) {
	files, err := shipped.Files(g.Workbook, lab)
	if errors.Is(err, shipped.ErrNoArchive) {
		return nil, []string{err.Error() + "; grading against the tests on disk"}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("lab %s: %w", lab.ID(), err)
	}
	stub := map[string]bool{}
	for _, s := range lab.Stubs {
		stub[s] = true
	}
	overlay := map[string]string{}
	var notices []string
	for name, data := range files {
		if stub[name] {
			continue
		}
		target := filepath.Join(lab.Dir, name)
		current, err := os.ReadFile(target)
		if err == nil && bytes.Equal(current, data) {
			continue
		}
		replacement := filepath.Join(dir, name)
		if err := os.WriteFile(replacement, data, 0o644); err != nil {
			return nil, nil, err
		}
		overlay[target] = replacement
		what := "differs from the shipped copy"
		if err != nil {
			what = "is missing"
		}
		notices = append(notices, fmt.Sprintf("%s/%s %s; graded with the shipped one", lab.RelDir, name, what))
	}
	return overlay, notices, nil
}
