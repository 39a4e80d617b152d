package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/grade"
)

// homeModel is the first screen: every lab, the score, and what to do next.
type homeModel struct {
	c         *common
	ov        *grade.Overview
	cursor    int // index into shown()
	offset    int // first row drawn when the labs do not fit
	filter    string
	filtering bool // typing the filter: letters are text, not keys
	message   string
}

// overviewMsg carries a fresh reading of progress.
type overviewMsg struct{ ov *grade.Overview }

func newHome(c *common, ov *grade.Overview) homeModel {
	h := homeModel{c: c}
	h.set(ov)
	// Start on the lab to work on, so enter is all it takes.
	if ov.Next != nil {
		for i, v := range h.shown() {
			if v.Lab == ov.Next.Lab {
				h.cursor = i
			}
		}
	}
	return h
}

// set shows a new overview, keeping the cursor on the same lab.
func (h *homeModel) set(ov *grade.Overview) {
	var at string
	if shown := h.shown(); h.cursor < len(shown) {
		at = shown[h.cursor].Lab.Name
	}
	h.ov = ov
	for i, v := range h.shown() {
		if v.Lab.Name == at {
			h.cursor = i
		}
	}
	h.clamp()
}

// reload reads progress again; it never runs tests.
func (h *homeModel) reload() tea.Cmd {
	g := h.c.g
	return func() tea.Msg { return overviewMsg{g.Overview()} }
}

// view is the overview's reading of one lab.
func (h *homeModel) view(lab *catalog.Lab) *grade.LabView {
	for _, v := range h.ov.Labs {
		if v.Lab == lab {
			return v
		}
	}
	return nil
}

// shown is the labs that match the filter.
func (h *homeModel) shown() []*grade.LabView {
	if h.ov == nil {
		return nil
	}
	if h.filter == "" {
		return h.ov.Labs
	}
	f := strings.ToLower(h.filter)
	var out []*grade.LabView
	for _, v := range h.ov.Labs {
		title := ""
		if v.Lab.Manifest != nil {
			title = v.Lab.Title
		}
		if strings.Contains(strings.ToLower(fmt.Sprintf("%02d %s %s", v.Lab.Number, v.Lab.Slug, title)), f) {
			out = append(out, v)
		}
	}
	return out
}

func (h *homeModel) clamp() {
	h.cursor = max(0, min(h.cursor, len(h.shown())-1))
}

func (h *homeModel) key(msg tea.KeyMsg) tea.Cmd {
	k := h.c.keys
	h.message = ""
	if h.filtering {
		switch {
		case key.Matches(msg, k.FilterDone):
			h.filtering = false
		case key.Matches(msg, k.FilterClear):
			h.filter, h.filtering = "", false
		case key.Matches(msg, k.FilterDelete):
			if r := []rune(h.filter); len(r) > 0 {
				h.filter = string(r[:len(r)-1])
			}
		case msg.Type == tea.KeyRunes || msg.Type == tea.KeySpace:
			h.filter += string(msg.Runes)
		}
		h.clamp()
		return nil
	}
	switch {
	case key.Matches(msg, k.Up):
		h.cursor--
	case key.Matches(msg, k.Down):
		h.cursor++
	case key.Matches(msg, k.Filter):
		h.filtering = true
	case key.Matches(msg, k.Back):
		h.filter = ""
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case key.Matches(msg, k.Open):
		shown := h.shown()
		if len(shown) == 0 {
			return nil
		}
		lab := shown[h.cursor].Lab
		if lab.Err != nil {
			h.message = fmt.Sprintf("Lab %02d cannot be opened: %v", lab.Number, lab.Err)
			return nil
		}
		return h.c.ask(openLabMsg{lab})
	}
	h.clamp()
	return nil
}

func (h *homeModel) viewFrame() string {
	st, w := h.c.st, h.c.width
	ov := h.ov
	parts, passed := 0, 0
	for _, v := range ov.Labs {
		parts += len(v.Parts)
		passed += v.Passed()
	}
	var head strings.Builder
	fmt.Fprintf(&head, "%s  %d/%d points · %d of %d parts passed\n", st.title.Render("distlings"), ov.Earned, ov.Total, passed, parts)
	for _, n := range ov.Notices {
		fmt.Fprintf(&head, "%s %s\n", st.warn.Render("note:"), cut(n, w-6))
	}

	next := h.nextView()
	status := h.message
	switch {
	case h.filtering:
		status = fmt.Sprintf("filter: %s▏ (enter keeps it, esc clears it)", h.filter)
	case h.filter != "":
		status = fmt.Sprintf("filter: %s (esc clears it)", h.filter)
	}
	footer := h.c.footer(stateHome, status, "")

	// The rows scroll to keep the cursor in sight when the labs do not fit;
	// what to do next stays right under them.
	room := max(h.c.height-lines(head.String())-lines(next)-lines(footer)-1, 1)
	shown := h.shown()
	if h.cursor < h.offset {
		h.offset = h.cursor
	}
	if h.cursor >= h.offset+room {
		h.offset = h.cursor - room + 1
	}
	h.offset = max(0, min(h.offset, len(shown)-room))
	var body strings.Builder
	if len(shown) == 0 {
		fmt.Fprintf(&body, "  no lab matches %q\n", h.filter)
	}
	for i := h.offset; i < len(shown) && i < h.offset+room; i++ {
		body.WriteString(h.row(shown[i], i == h.cursor) + "\n")
	}
	return h.c.screen(head.String(), body.String()+"\n"+next, footer)
}

// row is one lab: cursor, mark, number, title, parts, points and a bar.
func (h *homeModel) row(v *grade.LabView, selected bool) string {
	st, w := h.c.st, h.c.width
	cursor := "  "
	if selected {
		cursor = st.selected.Render("▸ ")
	}
	lab := v.Lab
	if lab.Err != nil {
		return cursor + st.bad.Render("✗ ") + fmt.Sprintf("%02d %s  ", lab.Number, lab.Slug) +
			st.bad.Render(cut("broken: "+strings.ReplaceAll(lab.Err.Error(), "\n", " "), max(w-len(lab.Slug)-11, 10)))
	}
	mark := "  "
	switch {
	case v.Done():
		mark = st.good.Render("✓ ")
	case h.ov.Next != nil && h.ov.Next.Lab == lab:
		mark = st.warn.Render("→ ")
	}
	// Fixed columns: 2 cursor, 2 mark, 3 number, 11 parts, 13 points and,
	// when there is room, a 12-cell bar. The title takes what is left.
	const fixed, barCells = 2 + 2 + 3 + 11 + 13, 10
	bar := ""
	if w-fixed-(barCells+2) >= 20 {
		bar = "  " + st.bar(v.Earned, lab.Points(), barCells)
	}
	// A lab that passed parts before its files changed says so at the end
	// of its title: those passes may no longer hold.
	changed := ""
	if v.Changed() {
		changed = "  " + st.warn.Render("changed")
	}
	titleWidth := w - fixed - lipgloss.Width(bar) - lipgloss.Width(changed)
	title := pad(cut(lab.Title, titleWidth), titleWidth)
	if selected {
		title = st.selected.Render(title)
	}
	title += changed
	return fmt.Sprintf("%s%s%02d %s%11s%13s%s", cursor, mark, lab.Number, title,
		fmt.Sprintf("%d/%d parts", v.Passed(), len(v.Parts)),
		fmt.Sprintf("%d/%d pts", v.Earned, lab.Points()), bar)
}

// nextView says which part to do next and how.
func (h *homeModel) nextView() string {
	st, n := h.c.st, h.ov.Next
	if n == nil {
		return st.good.Render("Done:") + " every part of every lab passes. Well done."
	}
	what := fmt.Sprintf("work on lab %02d part %d, %q", n.Lab.Number, n.Part.Number, n.Part.Title)
	if n.Rerun {
		what = fmt.Sprintf("run lab %02d part %d again, %q\n      %s", n.Lab.Number, n.Part.Number, n.Part.Title,
			st.warn.Render("its files "+grade.Changed.String()))
	}
	return fmt.Sprintf("%s %s\n      edit %s/%s, then open the lab and run the part",
		st.title.Render("Next:"), what, n.Lab.RelDir, n.Part.File)
}
