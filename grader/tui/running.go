package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/grade"
	"github.com/distlings/distlings/grader/run"
)

// runSession is one call of grade.Test on its own goroutine. Its events and
// its end come to the program as messages, so the UI never waits for it.
type runSession struct {
	id     int
	cancel context.CancelFunc
	events chan run.Event
	done   chan runDoneMsg // room for one: the goroutine never waits to end
}

// Messages from a run. id tells a stopped run's late messages from the
// current run's.
type (
	runEventMsg struct {
		id int
		ev run.Event
	}
	runDoneMsg struct {
		id      int
		outcome *grade.Outcome
		err     error
	}
)

// startRun stops any run in progress and runs parts of the open lab.
func (m *model) startRun(parts []int) tea.Cmd {
	m.stopRun()
	lab := m.lab.lab
	m.c.lastRunID++
	ctx, cancel := context.WithCancel(m.c.ctx)
	s := &runSession{id: m.c.lastRunID, cancel: cancel, events: make(chan run.Event, 64), done: make(chan runDoneMsg, 1)}
	m.session = s
	m.c.runs.Add(1)
	go func() {
		defer m.c.runs.Done()
		out, err := m.c.g.Test(ctx, lab, grade.TestOptions{Parts: parts, Events: func(e run.Event) {
			// A stopped run's events have no reader any more: drop them
			// rather than hold up the runner that is killing its processes.
			select {
			case s.events <- e:
			case <-ctx.Done():
			}
		}})
		s.done <- runDoneMsg{id: s.id, outcome: out, err: err}
	}()
	m.state = stateRun
	m.showHelp = false
	return tea.Batch(m.run.start(lab, parts), s.wait())
}

// wait delivers the run's next event, or its end. Events are queued before
// the end is sent, so taking queued events first shows every one of them.
func (s *runSession) wait() tea.Cmd {
	return func() tea.Msg {
		select {
		case e := <-s.events:
			return runEventMsg{s.id, e}
		default:
		}
		select {
		case e := <-s.events:
			return runEventMsg{s.id, e}
		case d := <-s.done:
			return d
		}
	}
}

// stopRun cancels the run in progress. grade.Test kills its test processes
// and returns; shutdown waits for that.
func (m *model) stopRun() {
	if m.session != nil {
		m.session.cancel()
		m.session = nil
	}
}

func (m *model) runEvent(msg runEventMsg) tea.Cmd {
	if m.session == nil || msg.id != m.session.id {
		return nil // from a run that was stopped
	}
	m.run.event(msg.ev)
	return m.session.wait()
}

func (m *model) runDone(msg runDoneMsg) tea.Cmd {
	if m.session == nil || msg.id != m.session.id {
		return nil
	}
	m.session.cancel() // releases the context; the run is over anyway
	m.session = nil
	if msg.err != nil {
		m.state = stateLab
		m.lab.message = "Could not run the tests: " + oneLine(msg.err.Error())
		return m.lab.reload()
	}
	m.results.set(msg.outcome)
	m.state = stateResults
	return m.lab.reload()
}

// runModel shows a run as it goes: the build, then each part.
type runModel struct {
	c       *common
	lab     *catalog.Lab
	parts   []*catalog.Part
	live    map[int]*partLive // by part number
	build   *run.Build        // nil while building
	builtSo map[bool]run.BuildProgress
	started time.Time
	spin    spinner.Model
}

// partLive is what is known of a part while the run goes on.
type partLive struct {
	running bool
	tests   int // finished so far
	done    *run.PartResult
}

func (r *runModel) start(lab *catalog.Lab, numbers []int) tea.Cmd {
	parts, err := grade.PartsByNumber(lab, numbers)
	if err != nil {
		parts = lab.Parts // cannot happen: the numbers come from the lab screen
	}
	*r = runModel{c: r.c, lab: lab, parts: parts, live: map[int]*partLive{}, started: r.c.now(),
		spin: spinner.New(spinner.WithSpinner(spinner.Dot), spinner.WithStyle(r.c.st.spinner))}
	for _, p := range parts {
		r.live[p.Number] = &partLive{}
	}
	return r.spin.Tick
}

func (r *runModel) event(e run.Event) {
	switch e.Kind {
	case run.BuildProgressed:
		if r.builtSo == nil {
			r.builtSo = map[bool]run.BuildProgress{}
		}
		r.builtSo[e.Progress.Race] = *e.Progress
	case run.BuildDone:
		r.build = e.Build
	case run.PartStarted:
		if l := r.live[e.Part.Number]; l != nil {
			l.running = true
		}
	case run.TestDone:
		if l := r.live[e.Part.Number]; l != nil {
			l.tests++
		}
	case run.PartDone:
		if l := r.live[e.Part.Number]; l != nil {
			l.running, l.done = false, e.Done
		}
	}
}

// buildProgress says how far a slow build has come, and that a first
// build takes longer.
func (r *runModel) buildProgress() string {
	progress := run.Describe(r.builtSo)
	if progress == "" {
		return ""
	}
	return " " + progress + "\n" + r.c.st.dim.Render("  "+run.FirstBuildNote)
}

// update keeps the spinner turning; each turn also redraws the elapsed time.
func (r *runModel) update(msg tea.Msg) tea.Cmd {
	if _, ok := msg.(spinner.TickMsg); !ok {
		return nil
	}
	var cmd tea.Cmd
	r.spin, cmd = r.spin.Update(msg)
	return cmd
}

func (r *runModel) viewFrame(watching string) string {
	st, w := r.c.st, r.c.width
	what := "every part"
	if len(r.parts) == 1 && len(r.lab.Parts) > 1 {
		what = fmt.Sprintf("part %d", r.parts[0].Number)
	}
	elapsed := r.c.now().Sub(r.started).Round(100 * time.Millisecond)
	head := st.title.Render(fmt.Sprintf("lab %02d %s", r.lab.Number, r.lab.Slug)) + "  " + r.lab.Title + "\n" +
		st.dim.Render(fmt.Sprintf("running %s · %s", what, elapsed)) + "\n"

	var body strings.Builder
	switch {
	case r.build == nil:
		fmt.Fprintf(&body, "%s building the tests…%s\n\n", r.spin.View(), r.buildProgress())
	case r.build.OK:
		fmt.Fprintf(&body, "%s built in %s\n\n", st.good.Render("✓"), r.build.Elapsed.Round(100*time.Millisecond))
	default:
		fmt.Fprintf(&body, "%s the lab does not compile; the results will show where\n\n", st.bad.Render("✗"))
	}
	for _, p := range r.parts {
		l := r.live[p.Number]
		var state, detail string
		switch {
		case l.done != nil:
			state = partStatus(st, l.done.Status)
			detail = fmt.Sprintf("%d/%d tests passed · %s", l.done.Passing(), len(p.Tests), l.done.Elapsed.Round(10*time.Millisecond))
		case l.running:
			state = r.spin.View()
			detail = fmt.Sprintf("%d/%d tests done", l.tests, len(p.Tests))
		default:
			state = st.dim.Render("·")
			detail = st.dim.Render("waiting")
		}
		line := fmt.Sprintf("  %s %s %s  %s", pad(state, 8), pad(fmt.Sprintf("part %d", p.Number), 7), pad(cut(p.Title, 32), 32), detail)
		body.WriteString(cut(line, w) + "\n")
	}
	status := "Press esc to stop. Nothing is recorded for a stopped run."
	return r.c.screen(head, body.String(), r.c.footer(stateRun, status, watching))
}

// partStatus names how a part's run ended, as the plain output does.
func partStatus(st *styles, s run.PartStatus) string {
	switch s {
	case run.Passed:
		return st.good.Render("PASS")
	case run.Failed:
		return st.bad.Render("FAIL")
	case run.Crashed:
		return st.bad.Render("CRASH")
	case run.TimedOut:
		return st.bad.Render("TIMEOUT")
	case run.BuildFailed:
		return st.bad.Render("NO BUILD")
	}
	return st.dim.Render(s.String())
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", " ") }
