package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/distlings/distlings/grader/grade"
	"github.com/distlings/distlings/grader/run"
	"github.com/distlings/distlings/grader/textout"
)

// resultsModel shows what a run found: each part, and the failing tests'
// output in full, in a viewport the learner scrolls and jumps through.
type resultsModel struct {
	c        *common
	outcome  *grade.Outcome
	vp       viewport.Model
	failures []int    // the content line where each failure starts
	traces   []string // the trace each failure names, if any
	at       int      // the failure last jumped to; -1 before any jump
}

func newResults(c *common) resultsModel {
	vp := viewport.New(defaultWidth, defaultHeight)
	vp.KeyMap = c.keys.viewportKeys()
	vp.Style = c.st.renderer.NewStyle()
	return resultsModel{c: c, vp: vp, at: -1}
}

// set shows a new outcome from the top.
func (r *resultsModel) set(o *grade.Outcome) {
	r.outcome, r.at = o, -1
	r.resize()
	r.vp.GotoTop()
}

// resize lays the content out again for the terminal's width: long lines
// are wrapped, so nothing of a failure is hidden past the right edge.
func (r *resultsModel) resize() {
	r.vp.Width = r.c.width
	if r.outcome == nil {
		return
	}
	content, failures, traces := renderOutcome(r.c.st, r.outcome, r.c.width)
	r.failures, r.traces = failures, traces
	r.vp.SetContent(content)
}

func (r *resultsModel) key(msg tea.KeyMsg) tea.Cmd {
	k := r.c.keys
	switch {
	case key.Matches(msg, k.Back):
		return r.c.ask(backToLabMsg{})
	case key.Matches(msg, k.NextFailure):
		r.jump(+1)
	case key.Matches(msg, k.PrevFailure):
		r.jump(-1)
	case key.Matches(msg, k.Timeline):
		if path := r.trace(); path != "" {
			return r.c.ask(openTimelineMsg{path: path})
		}
	case key.Matches(msg, k.Top):
		r.vp.GotoTop()
	case key.Matches(msg, k.Bottom):
		r.vp.GotoBottom()
	default:
		var cmd tea.Cmd
		r.vp, cmd = r.vp.Update(msg)
		return cmd
	}
	return nil
}

// trace is the trace of the failure jumped to, or else of the first
// failure that has one.
func (r *resultsModel) trace() string {
	if r.at >= 0 && r.at < len(r.traces) && r.traces[r.at] != "" {
		return r.traces[r.at]
	}
	for _, t := range r.traces {
		if t != "" {
			return t
		}
	}
	return ""
}

// jump scrolls to the next or previous failure, wrapping around.
func (r *resultsModel) jump(by int) {
	n := len(r.failures)
	if n == 0 {
		return
	}
	if r.at < 0 && by < 0 {
		r.at = 0
	}
	r.at = ((r.at+by)%n + n) % n
	r.vp.SetYOffset(r.failures[r.at])
}

func (r *resultsModel) viewFrame(watching string) string {
	st, o := r.c.st, r.outcome
	lab := o.Lab
	passed, earned, total := 0, 0, 0
	for _, p := range o.Parts {
		total += p.Part.Points
		if p.Status == run.Passed {
			passed++
			earned += p.Part.Points
		}
	}
	summary := fmt.Sprintf("%d of %d parts passed · %d/%d points from the parts that ran · %s",
		passed, len(o.Parts), earned, total, o.Elapsed.Round(100*time.Millisecond))
	if !o.Build.OK {
		summary = st.bad.Render("BUILD FAILED") + " the lab does not compile, so no part could run"
	}
	head := st.title.Render(fmt.Sprintf("lab %02d %s", lab.Number, lab.Slug)) + "  " + lab.Title + "\n" +
		cut(summary, r.c.width) + "\n"

	status := "1 failure: n jumps to it"
	switch {
	case len(r.failures) == 0:
		status = "Every part that ran passes."
	case r.at >= 0:
		status = fmt.Sprintf("failure %d of %d", r.at+1, len(r.failures))
	case len(r.failures) > 1:
		status = fmt.Sprintf("%d failures: n jumps to the first", len(r.failures))
	}
	if r.trace() != "" {
		status += " · t steps through the failing run"
	}
	// The viewport takes the room the header and footer leave. The scroll
	// position, added below, depends on that room, and is too short to
	// change the footer's height.
	r.vp.Height = r.c.viewportHeight(head, r.c.footer(stateResults, status, watching))
	if r.vp.TotalLineCount() > r.vp.Height {
		status += fmt.Sprintf(" · %.f%%", r.vp.ScrollPercent()*100)
	}
	return head + "\n" + r.vp.View() + "\n" + r.c.footer(stateResults, status, watching)
}

// renderOutcome lays a run out as lines: the build, then every part, each
// failing test with what it printed. It returns where each failure starts.
// Output is tidied as on the command line (testify's repeated fields go)
// but never shortened: the viewport scrolls, and a simulator's timeline and
// its "replay with" line are what a learner needs whole.
func renderOutcome(st *styles, o *grade.Outcome, width int) (string, []int, []string) {
	var lines []string
	var failures []int
	var traces []string
	add := func(indent int, ls ...string) {
		pre := strings.Repeat(" ", indent)
		for _, l := range ls {
			lines = append(lines, wrap(strings.TrimRight(pre+l, " "), width)...)
		}
	}
	for _, n := range o.Notices {
		add(0, st.warn.Render("note:")+" "+n)
	}
	if !o.Build.OK {
		failures, traces = append(failures, len(lines)), append(traces, "")
		add(0, st.bad.Render("BUILD FAILED")+" fix these and run again:")
		add(2, o.Build.Output...)
		add(0, "")
	} else {
		race := "race detector " + o.RaceSummary()
		add(0, st.dim.Render(fmt.Sprintf("built in %s, %s", o.Build.Elapsed.Round(100*time.Millisecond), race)), "")
	}
	for _, p := range o.Parts {
		points := 0
		if p.Status == run.Passed {
			points = p.Part.Points
		}
		if p.Status != run.Passed && p.Status != run.BuildFailed && len(p.Failing()) == 0 {
			failures, traces = append(failures, len(lines)), append(traces, "") // crashed before any test
		}
		// Columns: 9 status, 8 "part N", the title, 17 points and time.
		titleWidth := max(width-9-8-17, 10)
		add(0, fmt.Sprintf("%s %s %s%s", pad(partStatus(st, p.Status), 8), pad(fmt.Sprintf("part %d", p.Part.Number), 7),
			pad(cut(p.Part.Title, titleWidth), titleWidth),
			st.dim.Render(fmt.Sprintf("%7s  %8s", fmt.Sprintf("%d/%d", points, p.Part.Points), p.Elapsed.Round(10*time.Millisecond)))))
		if p.Note != "" {
			add(4, p.Note)
		}
		if p.Status == run.BuildFailed {
			continue
		}
		for _, t := range p.Tests {
			if t.Status == run.TestPassed {
				continue
			}
			failures, traces = append(failures, len(lines)), append(traces, traceIn(t.Output))
			add(4, st.bad.Render("✗")+" "+t.Name+" "+st.dim.Render("("+t.Status.String()+")"))
			add(8, textout.Tidy(t.Output)...)
			if t.Truncated {
				add(8, st.dim.Render("… the rest of this test's output was cut: it printed too much"))
			}
		}
		if len(p.Output) > 0 && p.Status != run.Passed {
			add(4, st.dim.Render("the test process printed:"))
			add(6, p.Output...)
		}
	}
	return strings.Join(lines, "\n"), failures, traces
}
