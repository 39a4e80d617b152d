// Package verify proves that a lab can teach: every test fails on the shipped
// stub, every test passes on the reference solution, and every
// wrong-solution fixture is caught by the part it names. Solutions are
// compiled in place of the stubs with go build -overlay, so the tests exist
// once, in labs/.
package verify

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/run"
	"github.com/distlings/distlings/grader/scratch"
	"github.com/distlings/distlings/grader/shipped"
)

// Tag is the build tag every solution file carries, so that solutions never
// take part in a normal build of the workbook.
const Tag = "solution"

// Options tune a verification.
type Options struct {
	Race bool
	// Parallel is how many builds and runs go at once; 0 means 2.
	Parallel int
	// Done is called with each check as soon as it and every check before
	// it have finished, so output comes in a stable order.
	Done func(*Check)
}

// Check is one claim about a lab and whether it holds.
type Check struct {
	Lab      *catalog.Lab
	Name     string // "manifest", "stub", "solution", "wrong/NAME"
	OK       bool
	Summary  string   // one line either way
	Problems []string // what is wrong, one line each
	Elapsed  time.Duration
}

// Verifier checks labs of one workbook.
type Verifier struct {
	Workbook *catalog.Workbook
	Tool     *run.Toolchain
	Options  Options
	bins     *run.Binaries // of the lab being verified
}

// Lab runs every check of a lab.
func (v *Verifier) Lab(ctx context.Context, lab *catalog.Lab) []*Check {
	emit := v.inOrder()
	first := &Check{Lab: lab, Name: "manifest"}
	if lab.Err != nil {
		first.Problems = []string{lab.Err.Error()}
		emit.finish(emit.add(first))
		return emit.checks
	}
	solDir := filepath.Join(v.Workbook.SolutionsDir(), lab.Name)
	wrongs, problems := v.static(lab, solDir)
	first.Problems = problems
	first.OK = len(problems) == 0
	if first.OK {
		first.Summary = fmt.Sprintf("%d parts, %d points, %d tests; shipped copy up to date; %d wrong solutions", len(lab.Parts), lab.Points(), countTests(lab), len(wrongs))
	}
	emit.finish(emit.add(first))
	if !first.OK {
		return emit.checks
	}

	tmp, err := scratch.MkdirTemp("verify-")
	if err != nil {
		c := emit.add(&Check{Lab: lab, Name: "setup", Problems: []string{err.Error()}})
		emit.finish(c)
		return emit.checks
	}
	defer os.RemoveAll(tmp)

	v = &Verifier{Workbook: v.Workbook, Tool: v.Tool, Options: v.Options, bins: run.NewBinaries(tmp)}
	solution, err := v.solutionOverlay(lab, solDir, nil)
	type job struct {
		check *Check
		do    func(*Check)
	}
	jobs := []job{{emit.add(&Check{Lab: lab, Name: "stub"}), func(c *Check) { v.stub(ctx, lab, c) }}}
	solCheck := emit.add(&Check{Lab: lab, Name: "solution"})
	jobs = append(jobs, job{solCheck, func(c *Check) {
		if err != nil {
			c.Problems = []string{err.Error()}
			return
		}
		v.solution(ctx, lab, solution, c)
	}})
	for _, w := range wrongs {
		jobs = append(jobs, job{emit.add(&Check{Lab: lab, Name: "wrong/" + w.Name}), func(c *Check) {
			v.wrong(ctx, lab, solDir, tmp, w, c)
		}})
	}

	jobs = append(jobs, job{emit.add(&Check{Lab: lab, Name: "coverage"}), func(c *Check) { coverage(lab, wrongs, c) }})

	workers := v.Options.Parallel
	if workers <= 0 {
		workers = 2
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			start := time.Now()
			j.do(j.check)
			j.check.OK = len(j.check.Problems) == 0
			j.check.Elapsed = time.Since(start)
			emit.finish(j.check)
		}()
	}
	wg.Wait()
	return emit.checks
}

// coverage checks that every part has a wrong solution to catch: a part
// no mistake has been tried on has tests nobody has seen fail for a reason.
func coverage(lab *catalog.Lab, wrongs []*Wrong, c *Check) {
	for _, p := range lab.Parts {
		if !slices.ContainsFunc(wrongs, func(w *Wrong) bool { return w.Part == p.Number }) {
			c.Problems = append(c.Problems, fmt.Sprintf("part %d has no wrong solution: add solutions/%s/wrong/NAME.patch with a mistake its tests must catch", p.Number, lab.Name))
		}
	}
	if len(c.Problems) == 0 {
		c.Summary = "every part has a wrong solution to catch"
	}
}

// static checks what needs no build: solution files, fixtures, shipped copy.
func (v *Verifier) static(lab *catalog.Lab, solDir string) ([]*Wrong, []string) {
	var problems []string
	for _, stub := range lab.Stubs {
		data, err := os.ReadFile(filepath.Join(solDir, stub))
		if err != nil {
			problems = append(problems, fmt.Sprintf("stub %s has no solution: %s is missing", stub, v.Workbook.Rel(filepath.Join(solDir, stub))))
			continue
		}
		if !hasSolutionTag(data) {
			problems = append(problems, fmt.Sprintf("%s must start with //go:build %s, or it breaks go build ./...", v.Workbook.Rel(filepath.Join(solDir, stub)), Tag))
		}
	}
	wrongs, err := LoadWrong(solDir)
	if err != nil {
		problems = append(problems, err.Error())
	}
	for _, w := range wrongs {
		if lab.Part(w.Part) == nil {
			problems = append(problems, fmt.Sprintf("wrong/%s: Part: %d, but the lab has parts 1 to %d", w.Name, w.Part, len(lab.Parts)))
			continue
		}
		for _, t := range w.CaughtBy {
			if !contains(lab.Part(w.Part).Tests, t) {
				problems = append(problems, fmt.Sprintf("wrong/%s: Caught-By: %s is not a test of part %d", w.Name, t, w.Part))
			}
		}
	}
	stale, err := shipped.Stale(v.Workbook, lab)
	if err != nil {
		problems = append(problems, err.Error()+"; run: grader ship "+lab.Slug)
	} else if len(stale) > 0 {
		problems = append(problems, fmt.Sprintf("%s is out of date (%s); run: grader ship %s",
			v.Workbook.Rel(shipped.Path(v.Workbook, lab)), strings.Join(stale, "; "), lab.Slug))
	}
	// The kits and go.mod are graded as shipped too.
	if stale, err := shipped.ModuleStale(v.Workbook); err != nil {
		problems = append(problems, err.Error()+"; run: grader ship")
	} else if len(stale) > 0 {
		problems = append(problems, fmt.Sprintf("%s is out of date (%s); run: grader ship",
			v.Workbook.Rel(shipped.ModulePath(v.Workbook)), strings.Join(stale, "; ")))
	}
	return wrongs, problems
}

func hasSolutionTag(data []byte) bool {
	first, _, _ := bytes.Cut(data, []byte("\n"))
	return strings.TrimSpace(string(first)) == "//go:build "+Tag
}

// solutionOverlay maps each stub to its solution file, adds any extra file
// of the solution, and applies patched files over them.
func (v *Verifier) solutionOverlay(lab *catalog.Lab, solDir string, patched map[string]string) (map[string]string, error) {
	matches, err := filepath.Glob(filepath.Join(solDir, "*.go"))
	if err != nil {
		return nil, err
	}
	overlay := map[string]string{}
	for _, m := range matches {
		overlay[filepath.Join(lab.Dir, filepath.Base(m))] = m
	}
	for name, file := range patched {
		overlay[filepath.Join(lab.Dir, name)] = file
	}
	if len(overlay) == 0 {
		return nil, fmt.Errorf("%s has no solution files", v.Workbook.Rel(solDir))
	}
	return overlay, nil
}

func (v *Verifier) runLab(ctx context.Context, lab *catalog.Lab, overlay map[string]string, parts []*catalog.Part, args ...string) (*run.Result, error) {
	return v.runLabRace(ctx, lab, overlay, parts, !v.Options.Race, args...)
}

// runLabRace is runLab with the race detector turned off when raceOff.
func (v *Verifier) runLabRace(ctx context.Context, lab *catalog.Lab, overlay map[string]string, parts []*catalog.Part, raceOff bool, args ...string) (*run.Result, error) {
	// A failing seed is not shrunk: verify needs only the verdict.
	spec := &run.Spec{Root: v.Workbook.Root, Lab: lab, Parts: parts, Overlay: overlay, Args: args, Binaries: v.bins,
		Race: v.Tool.Race(raceOff), Env: []string{"DISTLINGS_SHRINK=off"}}
	if overlay != nil {
		spec.Tags = []string{Tag}
	}
	return v.Tool.Run(ctx, spec)
}

// stub: every test of every part must fail on the shipped stub, and fail
// cleanly: a stub that panics or hangs teaches nothing.
func (v *Verifier) stub(ctx context.Context, lab *catalog.Lab, c *Check) {
	res, err := v.runLab(ctx, lab, nil, nil)
	if err != nil {
		c.Problems = append(c.Problems, err.Error())
		return
	}
	if !res.Build.OK {
		c.Problems = append(c.Problems, "the stub does not build: "+firstLine(res.Build.Output))
		return
	}
	c.Problems = append(c.Problems, mapping(lab, res.Defined)...)
	n := 0
	for _, p := range res.Parts {
		for _, t := range p.Tests {
			n++
			switch t.Status {
			case run.TestFailed:
			case run.TestPassed:
				c.Problems = append(c.Problems, fmt.Sprintf("part %d: %s passes on the stub; a test that passes before any work is done cannot tell right from wrong", p.Part.Number, t.Name))
			case run.TestNotFound:
				// reported by mapping
			default:
				c.Problems = append(c.Problems, fmt.Sprintf("part %d: %s %s on the stub (%s); a stub must fail with a readable message", p.Part.Number, t.Name, t.Status, p.Note))
			}
		}
	}
	if len(c.Problems) == 0 {
		c.Summary = fmt.Sprintf("all %d tests fail on the stub", n)
	}
}

// solution: every test of every part must pass on the reference solution.
func (v *Verifier) solution(ctx context.Context, lab *catalog.Lab, overlay map[string]string, c *Check) {
	res, err := v.runLab(ctx, lab, overlay, nil)
	if err != nil {
		c.Problems = append(c.Problems, err.Error())
		return
	}
	if !res.Build.OK {
		c.Problems = append(c.Problems, "the solution does not build: "+firstLine(res.Build.Output))
		return
	}
	n := 0
	for _, p := range res.Parts {
		for _, t := range p.Tests {
			n++
			if t.Status != run.TestPassed {
				why := p.Note
				if why == "" {
					why = firstLine(t.Output)
				}
				c.Problems = append(c.Problems, fmt.Sprintf("part %d: %s %s on the solution: %s", p.Part.Number, t.Name, t.Status, why))
			}
		}
	}
	if len(c.Problems) == 0 {
		c.Summary = fmt.Sprintf("all %d tests pass on the solution", n)
	}
}

// wrong: the fixture's part must fail, and so must each test it names,
// without the race detector unless the fixture asks for it.
func (v *Verifier) wrong(ctx context.Context, lab *catalog.Lab, solDir, tmp string, w *Wrong, c *Check) {
	patched, err := w.Apply(solDir, tmp)
	if err != nil {
		c.Problems = append(c.Problems, err.Error())
		return
	}
	overlay, err := v.solutionOverlay(lab, solDir, patched)
	if err != nil {
		c.Problems = append(c.Problems, err.Error())
		return
	}
	part := lab.Part(w.Part)
	// The tests the fixture names go first, and a sweep stops at its first
	// failing seed: a caught mistake costs seconds. A fixture that names no
	// test runs its part until the first test fails.
	var args []string
	if len(w.CaughtBy) > 0 {
		named := *part
		named.Tests = w.CaughtBy
		part = &named
	} else {
		args = []string{"-test.failfast"}
	}
	res, err := v.runLabRace(ctx, lab, overlay, []*catalog.Part{part}, !v.Options.Race || !w.Race, args...)
	if err != nil {
		c.Problems = append(c.Problems, err.Error())
		return
	}
	if !res.Build.OK {
		c.Problems = append(c.Problems, "the fixture does not build, so it proves nothing: "+firstLine(res.Build.Output))
		return
	}
	p := res.Parts[0]
	if p.Status == run.Passed {
		if len(w.CaughtBy) > 0 {
			c.Problems = append(c.Problems, fmt.Sprintf("%s pass on it; they should catch: %s", strings.Join(w.CaughtBy, ", "), w.Mistake))
		} else {
			c.Problems = append(c.Problems, fmt.Sprintf("part %d passes on it; its tests do not catch: %s", w.Part, w.Mistake))
		}
		return
	}
	var caught []string
	for _, t := range p.Tests {
		if t.Status != run.TestPassed && t.Status != run.TestNotRun {
			caught = append(caught, t.Name)
		}
	}
	for _, name := range w.CaughtBy {
		if !contains(caught, name) {
			c.Problems = append(c.Problems, fmt.Sprintf("%s passes on it; it should catch: %s", name, w.Mistake))
		}
	}
	c.Summary = fmt.Sprintf("caught by part %d: %s", w.Part, strings.Join(caught, ", "))
	if w.Race && v.Options.Race {
		c.Summary += " with the race detector"
	}
	if w.Offset {
		c.Summary += " (the patch applies at an offset: remake it against the solution)"
	}
	if p.Status != run.Failed {
		c.Summary += " (" + p.Status.String() + ")"
	}
}

// mapping checks that each test the binary defines grades exactly one part.
func mapping(lab *catalog.Lab, defined []string) []string {
	owner := map[string]int{}
	for _, p := range lab.Parts {
		for _, t := range p.Tests {
			owner[t] = p.Number
		}
	}
	var problems []string
	sort.Strings(defined)
	for _, t := range defined {
		if owner[t] == 0 {
			problems = append(problems, fmt.Sprintf("%s is in no part of lab.toml, so it grades nothing", t))
		}
		delete(owner, t)
	}
	for t, n := range owner {
		problems = append(problems, fmt.Sprintf("part %d: lab.toml names %s, which the tests do not define", n, t))
	}
	sort.Strings(problems)
	return problems
}

func countTests(lab *catalog.Lab) int {
	n := 0
	for _, p := range lab.Parts {
		n += len(p.Tests)
	}
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func firstLine(lines []string) string {
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return "(no output)"
}

// ordered hands checks to Options.Done in the order they were added, each
// as soon as it and all before it have finished.
type ordered struct {
	mu     sync.Mutex
	checks []*Check
	done   map[*Check]bool
	next   int
	report func(*Check)
}

func (v *Verifier) inOrder() *ordered {
	return &ordered{done: map[*Check]bool{}, report: v.Options.Done}
}

func (o *ordered) add(c *Check) *Check {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.checks = append(o.checks, c)
	return c
}

func (o *ordered) finish(c *Check) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.done[c] = true
	for o.next < len(o.checks) && o.done[o.checks[o.next]] {
		if o.report != nil {
			o.report(o.checks[o.next])
		}
		o.next++
	}
}
