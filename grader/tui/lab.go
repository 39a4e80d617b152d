package tui

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/grade"
)

// labModel is one lab: its parts and where the learner stands on each, and
// the actions on them.
type labModel struct {
	c          *common
	lab        *catalog.Lab
	view       *grade.LabView
	cursor     int         // index into view.Parts
	hint       *grade.Hint // shown in a box until the cursor moves
	message    string      // news: a reset, a stopped run, a problem
	notices    []string
	confirming bool // waiting for y or n before a reset
}

// Results of work done off the UI goroutine.
type (
	labViewMsg struct {
		view    *grade.LabView
		notices []string
	}
	hintMsg struct {
		hint    *grade.Hint
		notices []string
		err     error
	}
	resetMsg struct {
		reset *grade.Reset
		err   error
	}
	editorDoneMsg struct{ err error }
)

// open shows a lab, starting on the first part that has not passed.
func (l *labModel) open(lab *catalog.Lab, view *grade.LabView) tea.Cmd {
	*l = labModel{c: l.c, lab: lab, view: view}
	if view == nil {
		return l.reload()
	}
	for i, pv := range view.Parts {
		if pv.State != grade.Passed {
			l.cursor = i
			break
		}
	}
	return nil
}

// reload reads the lab's progress again, after a run, a reset or an edit.
func (l *labModel) reload() tea.Cmd {
	g, lab := l.c.g, l.lab
	return func() tea.Msg {
		v, notices := g.LabView(lab)
		return labViewMsg{v, notices}
	}
}

// part is the part under the cursor.
func (l *labModel) part() *catalog.Part {
	if l.view == nil || len(l.view.Parts) == 0 {
		return nil
	}
	return l.view.Parts[l.cursor].Part
}

func (l *labModel) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case labViewMsg:
		if l.lab != nil && msg.view.Lab == l.lab {
			l.view, l.notices = msg.view, msg.notices
			l.cursor = min(l.cursor, max(len(l.view.Parts)-1, 0))
		}
	case hintMsg:
		l.notices = msg.notices
		if msg.err != nil {
			l.message = msg.err.Error()
			return nil
		}
		l.hint = msg.hint
	case resetMsg:
		switch {
		case msg.err != nil:
			l.message = "Reset failed: " + msg.err.Error()
		case len(msg.reset.Restored) == 0:
			l.message = "The lab already matches its shipped stubs; nothing to reset."
		case msg.reset.Backup != "":
			l.message = fmt.Sprintf("Put back %s as shipped. Your versions are in %s.",
				strings.Join(msg.reset.Restored, ", "), msg.reset.Backup)
		default:
			l.message = fmt.Sprintf("Put back %s as shipped.", strings.Join(msg.reset.Restored, ", "))
		}
		return l.reload()
	case editorDoneMsg:
		if msg.err != nil {
			l.message = "The editor ended with an error: " + msg.err.Error()
		}
		return l.reload()
	}
	return nil
}

func (l *labModel) key(msg tea.KeyMsg) tea.Cmd {
	k := l.c.keys
	if l.confirming {
		switch {
		case key.Matches(msg, k.Yes):
			l.confirming = false
			g, lab := l.c.g, l.lab
			return func() tea.Msg {
				r, err := g.Reset(lab)
				return resetMsg{r, err}
			}
		case key.Matches(msg, k.No):
			l.confirming = false
			l.message = "Nothing was reset."
		}
		return nil
	}
	l.message = ""
	p := l.part()
	switch {
	case key.Matches(msg, k.Up):
		l.move(-1)
	case key.Matches(msg, k.Down):
		l.move(+1)
	case key.Matches(msg, k.CloseHint) && l.hint != nil:
		l.hint = nil
	case key.Matches(msg, k.Back):
		return l.c.ask(goHomeMsg{})
	case key.Matches(msg, k.RunAll):
		return l.c.ask(startRunMsg{})
	case p == nil:
		return nil // every action below is about a part
	case key.Matches(msg, k.RunPart):
		return func() tea.Msg { return startRunMsg{[]int{p.Number}} }
	case key.Matches(msg, k.Watch):
		return l.c.ask(toggleWatchMsg{})
	case key.Matches(msg, k.WatchPart):
		return func() tea.Msg { return toggleWatchMsg{[]int{p.Number}} }
	case key.Matches(msg, k.Hint):
		g, lab := l.c.g, l.lab
		return func() tea.Msg {
			h, notices, err := g.NextHint(lab, p.Number)
			return hintMsg{h, notices, err}
		}
	case key.Matches(msg, k.Guide):
		return l.c.ask(openGuideMsg{})
	case key.Matches(msg, k.Edit):
		return l.edit(p)
	case key.Matches(msg, k.Reset):
		l.confirming = true
	}
	return nil
}

func (l *labModel) move(by int) {
	if l.view == nil {
		return
	}
	n := max(0, min(l.cursor+by, len(l.view.Parts)-1))
	if n != l.cursor {
		l.cursor, l.hint = n, nil // a hint is about the part it was asked for
	}
}

// edit opens the part's stub file in the learner's editor, which takes the
// terminal until it exits.
func (l *labModel) edit(p *catalog.Part) tea.Cmd {
	path := filepath.Join(l.lab.Dir, p.File)
	editor := strings.Fields(l.c.getenv("EDITOR"))
	if len(editor) == 0 {
		l.message = fmt.Sprintf("$EDITOR is not set: open %s/%s in your editor, or set it (export EDITOR=nano, or vim, or \"code -w\") and press e again.", l.lab.RelDir, p.File)
		return nil
	}
	cmd := exec.Command(editor[0], append(editor[1:], path)...)
	return tea.ExecProcess(cmd, func(err error) tea.Msg { return editorDoneMsg{err} })
}

func (l *labModel) viewFrame(watching string) string {
	st, w := l.c.st, l.c.width
	lab := l.lab
	var head strings.Builder
	earned := ""
	if l.view != nil {
		earned = fmt.Sprintf("%d/%d pts", l.view.Earned, lab.Points())
	}
	title := st.title.Render(fmt.Sprintf("lab %02d %s", lab.Number, lab.Slug)) + "  " + lab.Title
	head.WriteString(pad(cut(title, w-len(earned)-1), w-len(earned)) + earned + "\n")
	if lab.Tagline != "" {
		head.WriteString(st.dim.Render(cut(lab.Tagline, w)) + "\n")
	}

	var body strings.Builder
	for _, n := range l.notices {
		fmt.Fprintf(&body, "%s %s\n", st.warn.Render("note:"), n)
	}
	if l.view != nil {
		for i, pv := range l.view.Parts {
			body.WriteString(l.row(pv, i == l.cursor) + "\n")
		}
	}
	if p := l.part(); p != nil {
		fmt.Fprintf(&body, "\n%s\n", st.dim.Render(cut(fmt.Sprintf("  part %d is written in %s/%s", p.Number, lab.RelDir, p.File), w)))
	}
	switch {
	case l.confirming:
		body.WriteString("\n" + st.box.Width(min(w-2, 76)).Render(fmt.Sprintf(
			"Put back the shipped stubs of lab %02d (%s)?\nYour files are copied to .grader/backups first.\n\n%s",
			lab.Number, strings.Join(lab.Stubs, ", "), st.title.Render("y")+" reset · "+st.title.Render("n")+" keep my files")))
	case l.hint != nil:
		body.WriteString("\n" + l.hintBox(l.hint))
	}

	hint := l.hint != nil && !l.confirming
	return l.c.screen(head.String(), body.String(), l.c.footerWith(l.c.keys.labShort(watching != "", hint), l.message, watching))
}

// row is one part: cursor, state, number, title, points.
func (l *labModel) row(pv grade.PartView, selected bool) string {
	st, w := l.c.st, l.c.width
	cursor := "  "
	if selected {
		cursor = st.selected.Render("▸ ")
	}
	state := map[grade.PartState]string{
		grade.Passed:  st.good.Render("PASS"),
		grade.Changed: st.warn.Render("CHANGED"),
		grade.Failing: st.bad.Render("FAIL"),
		grade.NotRun:  st.dim.Render("not run"),
	}[pv.State]
	points := fmt.Sprintf("%d pts", pv.Part.Points)
	// Columns: 2 cursor, 9 state, 8 "part N", the title, 1 space, points.
	titleWidth := w - 2 - 9 - 8 - 1 - len(points)
	title := pad(cut(pv.Part.Title, titleWidth), titleWidth)
	if selected {
		title = st.selected.Render(title)
	}
	line := fmt.Sprintf("%s%s %s %s %s", cursor, pad(state, 8), pad(fmt.Sprintf("part %d", pv.Part.Number), 7), title, points)
	if pv.State == grade.Changed && selected {
		line += "\n" + st.warn.Render("           "+grade.Changed.String()+": run it again")
	}
	return line
}

// hintBox draws a hint the way the guide would say it: in a box, wrapped.
func (l *labModel) hintBox(h *grade.Hint) string {
	st := l.c.st
	more := fmt.Sprintf("h again for the next hint (%d more)", len(h.Part.Hints)-h.Number)
	if h.Last {
		more = "That was the last hint. Next, read the failing test: its name and message say what it checks"
	}
	text := fmt.Sprintf("%s\n\n%s\n\n%s",
		st.title.Render(fmt.Sprintf("Hint %d of %d · part %d, %s", h.Number, len(h.Part.Hints), h.Part.Number, h.Part.Title)),
		strings.TrimSpace(h.Text), st.dim.Render(more))
	return st.box.Width(min(l.c.width-2, 78)).Render(text)
}
