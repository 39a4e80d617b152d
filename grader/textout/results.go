package textout

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/grade"
	"github.com/distlings/distlings/grader/run"
	"github.com/distlings/distlings/grader/verify"
)

// shownLines is how much of a failing test's output is printed unless the
// learner asks for all of it.
const shownLines = 40

// Outcome prints a graded run after the fact, as a Stream would have
// printed it: the build, then each part with its failing tests and what
// they said. verbose also lists passing tests and prints output in full.
func (p *Printer) Outcome(o *grade.Outcome, verbose bool) {
	s := p.Stream(o.Lab, verbose, false)
	for _, n := range o.Notices {
		s.Event(run.Event{Kind: run.Notice, Text: n})
	}
	s.Event(run.Event{Kind: run.BuildStarted})
	s.Event(run.Event{Kind: run.BuildDone, Build: &o.Build})
	for _, pr := range o.Parts {
		s.Event(run.Event{Kind: run.PartDone, Part: pr.Part, Done: pr})
	}
	s.Finish(o)
}

func (p *Printer) part(pr *run.PartResult, verbose bool) {
	status := map[run.PartStatus]string{
		run.Passed:   p.st.good.Render("PASS"),
		run.Failed:   p.st.bad.Render("FAIL"),
		run.Crashed:  p.st.bad.Render("CRASH"),
		run.TimedOut: p.st.bad.Render("TIMEOUT"),
	}[pr.Status]
	if status == "" {
		status = p.st.dim.Render(pr.Status.String())
	}
	points := pr.Part.Points
	if pr.Status != run.Passed {
		points = 0
	}
	p.printf("%s part %d  %s %s\n", pad(status, 8), pr.Part.Number, pad(cut(pr.Part.Title, 46), 46),
		p.st.dim.Render(fmt.Sprintf("%d/%d  %s", points, pr.Part.Points, pr.Elapsed.Round(10*time.Millisecond))))
	if pr.Note != "" {
		p.printf("         %s\n", pr.Note)
	}
	if passed := pr.Passing(); pr.Status != run.Passed && passed > 0 && !verbose {
		// Only failures are listed: say that the rest passed.
		p.printf("         %s\n", p.st.dim.Render(fmt.Sprintf("%d of %d tests pass; the others:", passed, len(pr.Tests))))
	}
	for _, t := range pr.Tests {
		if t.Status == run.TestPassed {
			if verbose {
				p.printf("         %s %s\n", p.st.good.Render("✓"), t.Name)
			}
			continue
		}
		p.printf("         %s %s %s\n", p.st.bad.Render("✗"), t.Name, p.st.dim.Render("("+t.Status.String()+")"))
		out := Tidy(t.Output)
		if !verbose {
			out = headAndTail(out, shownLines)
		}
		p.printf("%s", indent(out, "             "))
	}
	if len(pr.Output) > 0 && pr.Status != run.Passed {
		out := pr.Output
		if !verbose {
			out = headAndTail(out, shownLines)
		}
		p.printf("%s", indent(out, "         | "))
	}
}

// headAndTail shortens long output to its first and last lines: what went
// wrong is usually said at the start (the first failed check) or at the end
// (after a flood of logging).
func headAndTail(lines []string, n int) []string {
	if len(lines) <= n {
		return lines
	}
	head, tail := n*2/3, n-n*2/3
	out := append([]string(nil), lines[:head]...)
	out = append(out, fmt.Sprintf("… %d more lines: add -v to see them", len(lines)-head-tail))
	return append(out, lines[len(lines)-tail:]...)
}

// testify prints a failure as aligned fields: "\tLabel:   \tvalue", and
// "\t         \tmore" for each further line of the same field.
var (
	testifyField    = regexp.MustCompile(`^\s*\t([A-Z][A-Za-z ]*):\s*\t`)
	testifyMoreLine = regexp.MustCompile(`^\s*\t\s*\t`)
)

// Tidy makes a test's output easier to read: the common indentation goes,
// and testify's "Error Trace:" and "Test:" fields, which repeat what the
// grader already shows, are dropped with their continuation lines.
func Tidy(lines []string) []string {
	var out []string
	skipping := false
	for _, l := range lines {
		if m := testifyField.FindStringSubmatch(l); m != nil {
			skipping = m[1] == "Error Trace" || m[1] == "Test"
		} else if !testifyMoreLine.MatchString(l) {
			skipping = false
		}
		if skipping {
			continue
		}
		out = append(out, strings.ReplaceAll(l, "\t", "    "))
	}
	return dedent(out)
}

func dedent(lines []string) []string {
	common := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " "))
		if common < 0 || n < common {
			common = n
		}
	}
	if common <= 0 {
		return lines
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l) >= common {
			out[i] = l[common:]
		} else {
			out[i] = strings.TrimLeft(l, " ")
		}
	}
	return out
}

// Hint prints a hint.
func (p *Printer) Hint(h *grade.Hint) {
	p.printf("%s  part %d, %q: hint %d of %d\n\n", p.st.title.Render(fmt.Sprintf("lab %02d %s", h.Lab.Number, h.Lab.Slug)),
		h.Part.Number, h.Part.Title, h.Number, len(h.Part.Hints))
	// Hints are written as one line per paragraph; wrap them to read.
	p.printf("%s\n", indent(strings.Split(ansi.Wordwrap(strings.TrimSpace(h.Text), 76, ""), "\n"), "  "))
	if h.Last {
		p.printf("%s\n", p.st.dim.Render(fmt.Sprintf("That is the last hint. Next, read the failing test in %s: its name and message say what it checks.", h.Lab.RelDir)))
	} else {
		p.printf("%s\n", p.st.dim.Render(fmt.Sprintf("Run the same command again for the next hint (%d more).", len(h.Part.Hints)-h.Number)))
	}
}

// NoHint says why there is no hint: every part of the lab passes.
func (p *Printer) NoHint(lab *catalog.Lab) {
	p.printf("%s  every part passes, so there is no hint to give.\n", p.st.title.Render(fmt.Sprintf("lab %02d %s", lab.Number, lab.Slug)))
	p.printf("%s\n", p.st.dim.Render(fmt.Sprintf("To see a part's hints again, name it: grader hint %02d 1", lab.Number)))
}

// Reset prints what a reset did.
func (p *Printer) Reset(labID string, r *grade.Reset) {
	if len(r.Restored) == 0 {
		p.printf("lab %s already matches its shipped stubs; nothing to reset.\n", labID)
		return
	}
	p.printf("Put back as shipped:\n")
	for _, f := range r.Restored {
		p.printf("  %s\n", f)
	}
	if r.Backup != "" {
		p.printf("Your versions are saved in %s\n", r.Backup)
	}
}

// Check prints one verification check.
func (p *Printer) Check(c *verify.Check) {
	status := p.st.good.Render("ok")
	if !c.OK {
		status = p.st.bad.Render("FAIL")
	}
	elapsed := ""
	if c.Elapsed >= 50*time.Millisecond {
		elapsed = p.st.dim.Render(" " + c.Elapsed.Round(100*time.Millisecond).String())
	}
	p.printf("  %s %s %s%s\n", pad(status, 5), pad(c.Name, 28), c.Summary, elapsed)
	for _, prob := range c.Problems {
		p.printf("        %s %s\n", p.st.bad.Render("✗"), prob)
	}
}
