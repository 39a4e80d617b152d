package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/renameio/v2"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/grade"
	"github.com/distlings/distlings/grader/report"
	labrun "github.com/distlings/distlings/grader/run"
	"github.com/distlings/distlings/grader/textout"
)

const reportHelp = `
Runs the labs (every lab without LAB), as grader test does, and writes
their results as a report: for a person (text, markdown), for a CI test
view (junit), for Gradescope (gradescope: its results.json), or as JSON
(json: the schema distlings.report/v1, described in docs/instructors.md).
The runs' progress goes to stderr, the report to stdout or to FILE.

With -last, nothing runs: the report is of each lab's last run, as kept
by grader test (the learner's own record, which they can edit: never a
grade).

Flags:
  -last         report the last runs instead of running the labs
  -format F     text, json, junit, gradescope or markdown (default text)
  -o FILE       write the report to FILE instead of stdout
  -summary FILE also add a Markdown summary at the end of FILE
                (e.g. $GITHUB_STEP_SUMMARY)
  -no-race      do not use the race detector

Exit status: 0 when the report is written, whatever the tests did (its
content says); 2 for bad usage; 3 when the grader itself failed.
`

const gradeHelp = `
Grades a student's copy of the workbook from this one, the instructor's:
each lab's stub files are taken from DIR and built with this copy's
shipped tests, kits and manifests; nothing else from DIR is compiled, and
neither copy's progress file is read or written. Every file of the
student's lab folders that differs from this copy, or is not in it, is
listed in the report as a warning, with stub code flagged for review.

Flags: as for grader report (-format, -o, -summary, -no-race).

Exit status: 0 when the report is written; 2 for bad usage (DIR is not a
copy of the workbook); 3 when the grader itself failed.
`

// reportFlags are the flags report and grade share.
type reportFlags struct {
	format, out string
	summary     string
	last        bool
	noRace      bool
	student     string
}

func (c *cli) report(args []string) int { return c.writeReport("report", args) }

func (c *cli) grade(args []string) int { return c.writeReport("grade", args) }

func (c *cli) writeReport(name string, args []string) int {
	fs := c.flags(name)
	var f reportFlags
	fs.StringVar(&f.format, "format", "text", "text, json, junit, gradescope or markdown")
	fs.StringVar(&f.out, "o", "", "write the report to this file instead of stdout")
	fs.BoolVar(&f.noRace, "no-race", false, "do not use the race detector")
	fs.StringVar(&f.summary, "summary", "", "also add a Markdown summary to this file, e.g. $GITHUB_STEP_SUMMARY")
	if name == "report" {
		fs.BoolVar(&f.last, "last", false, "report the labs' last runs instead of running them")
	}
	if name == "grade" {
		fs.StringVar(&f.student, "student", "", "the student's copy of the workbook")
	}
	pos, err := parse(fs, args)
	if err != nil {
		return exitUsage
	}
	if !slices.Contains(report.Formats, f.format) {
		return c.usageError(name, "-format %s: the formats are %s", f.format, strings.Join(report.Formats, ", "))
	}
	if name == "grade" {
		if f.student == "" {
			return c.usageError(name, "name the student's copy, e.g. grader grade -student ../alice")
		}
		if f.student, err = studentRoot(f.student); err != nil {
			return c.usageError(name, "%v", err)
		}
	}
	g, code := c.open()
	if g == nil {
		return code
	}
	labs := g.Catalog.Labs
	if len(pos) > 0 {
		labs = nil
		for _, lname := range pos {
			lab, code := c.lab(g, lname)
			if lab == nil {
				return code
			}
			labs = append(labs, lab)
		}
	}
	if f.last {
		r, code := c.lastReport(g, labs, len(pos) > 0)
		if r == nil {
			return code
		}
		return c.emit(r, f)
	}
	var results []*labrun.Result
	var warnings [][]string
	for _, lab := range labs {
		if lab.Err != nil {
			c.errOut.Error(fmt.Errorf("lab %s cannot be used: %w", lab.ID(), lab.Err))
			return exitUsage
		}
		res, notes, ok := c.reportRun(g, lab, f)
		if !ok {
			return exitGrader
		}
		if c.ctx.Err() != nil {
			fmt.Fprintln(c.stderr, "grader: stopped; no report written")
			return exitFail
		}
		results, warnings = append(results, res), append(warnings, notes)
	}
	r := report.New(results)
	for i := range r.Labs {
		r.Labs[i].Warnings = warnings[i]
	}
	if f.student != "" {
		r.Warnings = copyWarnings(g.Workbook.Root, f.student)
	}
	return c.emit(r, f)
}

// lastReport puts together the labs' last runs. Without named labs, the
// labs never run are left out; a named lab never run is an error.
func (c *cli) lastReport(g *grade.Grader, labs []*catalog.Lab, named bool) (*report.Report, int) {
	r := &report.Report{Schema: report.Schema, Labs: []report.Lab{},
		Warnings: []string{"the labs' last runs, as kept in .grader/last/, not run now: the learner's own record, not a grade"}}
	for _, lab := range labs {
		last, ok, err := g.Last(lab)
		if err != nil {
			c.errOut.Error(err)
			return nil, exitUsage
		}
		if !ok {
			if named {
				c.errOut.Error(fmt.Errorf("lab %s has not run yet: run grader test %02d first, or leave out -last", lab.ID(), lab.Number))
				return nil, exitUsage
			}
			continue
		}
		r.Labs = append(r.Labs, last.Labs...)
		r.Score, r.Max = r.Score+last.Score, r.Max+last.Max
	}
	return r, exitOK
}

// emit writes the report where the flags say.
func (c *cli) emit(r *report.Report, f reportFlags) int {
	if f.summary != "" {
		if err := appendSummary(r, f.summary); err != nil {
			c.errOut.Error(fmt.Errorf("the summary could not be written: %w", err))
			return exitGrader
		}
	}
	var b bytes.Buffer
	if err := r.WriteTo(&b, f.format); err != nil {
		c.errOut.Error(err)
		return exitGrader
	}
	if f.out == "" {
		if _, err := c.stdout.Write(b.Bytes()); err != nil {
			return exitGrader
		}
		return exitOK
	}
	// renameio writes a temporary file and renames it over the report:
	// a failed write leaves what was there.
	if err := renameio.WriteFile(f.out, b.Bytes(), 0o644); err != nil {
		c.errOut.Error(fmt.Errorf("the report could not be written: %w", err))
		return exitGrader
	}
	fmt.Fprintf(c.stderr, "wrote %s (%s)\n", f.out, f.format)
	return exitOK
}

// reportRun runs one lab, its progress on stderr, and returns its result
// and what an instructor should look at; ok is false when the grader
// itself failed, and it has said why.
func (c *cli) reportRun(g *grade.Grader, lab *catalog.Lab, f reportFlags) (res *labrun.Result, notes []string, ok bool) {
	opts := grade.TestOptions{NoRace: f.noRace}
	if f.student != "" {
		dir := filepath.Join(f.student, filepath.FromSlash(lab.RelDir))
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			// The other labs still grade; this one earns nothing.
			return notGraded(lab, fmt.Sprintf("the student's copy has no %s folder", lab.RelDir)), nil, true
		}
		notes = labWarnings(lab, g.Workbook.Root, f.student)
		lab, opts.NoRecord = grade.Student(lab, f.student), true
	}
	stream := textout.New(c.stderr).Stream(lab, false, isTerminal(c.stderr))
	opts.Events = stream.Event
	o, err := g.Test(c.ctx, lab, opts)
	if err != nil && f.student != "" && isInputError(err) == false && lab.Err == nil {
		// Something of the student's could not be read: this lab earns
		// nothing, and the others still grade.
		stream.Close()
		if _, terr := g.Toolchain(c.ctx); terr == nil {
			return notGraded(lab, "could not be graded: "+err.Error()), notes, true
		}
	}
	if err != nil {
		stream.Close()
		c.stopped(err)
		return nil, nil, false
	}
	stream.Finish(o)
	return o.Result, append(notes, o.Notices...), true
}

// notGraded is the result of a lab that could not be built at all.
func notGraded(lab *catalog.Lab, why string) *labrun.Result {
	res := &labrun.Result{Lab: lab, Build: labrun.Build{Output: []string{why}}}
	for _, p := range lab.Parts {
		res.Parts = append(res.Parts, &labrun.PartResult{Part: p, Status: labrun.BuildFailed})
	}
	return res
}

// studentRoot checks that dir is a copy of the workbook and returns it
// absolute.
func studentRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(filepath.Join(abs, "labs"))
	if err != nil || !st.IsDir() {
		return "", fmt.Errorf("-student %s: not a copy of the workbook (it has no labs folder)", dir)
	}
	return abs, nil
}

// labWarnings lists the files of the student's lab folder, other than its
// Go files (which grading reviews itself), that differ from this copy's or
// are not in it: a changed lab.toml changes no points, and says so.
func labWarnings(lab *catalog.Lab, root, student string) []string {
	var out []string
	dir := filepath.Join(student, filepath.FromSlash(lab.RelDir))
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".go") && filepath.Dir(path) == dir {
			return nil
		}
		rel, _ := filepath.Rel(student, path)
		if w := compare(root, student, rel); w != "" {
			out = append(out, w)
		}
		return nil
	})
	return out
}

// copyWarnings is what concerns the student's whole copy.
func copyWarnings(root, student string) []string {
	var out []string
	if _, err := os.Stat(filepath.Join(student, ".grader", "progress.json")); err == nil {
		out = append(out, ".grader/progress.json is the student's own record: it was not read, and no score comes from it")
	}
	shippedDir := filepath.Join(student, "labs", ".shipped")
	_ = filepath.WalkDir(shippedDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(student, path)
		if w := compare(root, student, rel); w != "" {
			out = append(out, w+" (graded with this copy's)")
		}
		return nil
	})
	return out
}

// compare says how the student's file rel differs from this copy's, or
// "" if it does not.
func compare(root, student, rel string) string {
	theirs, err := os.ReadFile(filepath.Join(student, rel))
	if err != nil {
		return filepath.ToSlash(rel) + " could not be read: " + err.Error()
	}
	ours, err := os.ReadFile(filepath.Join(root, rel))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return filepath.ToSlash(rel) + " is not in the release"
	case err != nil:
		return ""
	case !bytes.Equal(ours, theirs):
		return filepath.ToSlash(rel) + " differs from the release"
	}
	return ""
}

// appendSummary adds the Markdown summary at the end of path, as GitHub
// Actions' step summary wants.
func appendSummary(r *report.Report, path string) error {
	var b bytes.Buffer
	if err := r.WriteTo(&b, "markdown"); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
