package tui

import (
	"regexp"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

// styles is every style the TUI draws with. They are all made from one
// renderer, the one for the program's output, so its colour profile decides
// for all of them: NO_COLOR or a terminal without colour gets plain text,
// and nothing asks the terminal for its background colour behind our back
// (lipgloss's adaptive colours would, mid-program).
type styles struct {
	renderer *lipgloss.Renderer
	colour   bool // false: the profile is plain ASCII, e.g. NO_COLOR
	// darkBackground picks the guide's colours; it is asked of the
	// terminal once, before the program starts.
	darkBackground bool

	title, dim, good, bad, warn lipgloss.Style
	selected                    lipgloss.Style // the row under the cursor
	barDone, barLeft            lipgloss.Style
	box                         lipgloss.Style // hints and confirmations
	status                      lipgloss.Style // the line above the keys
	section                     lipgloss.Style // headings in the full help
	spinner                     lipgloss.Style

	help help.Model
}

func newStyles(r *lipgloss.Renderer) *styles {
	s := &styles{renderer: r, colour: r.ColorProfile() != termenv.Ascii}
	// Plain ANSI colours (0-15) follow the learner's terminal theme, so they
	// read on dark and light backgrounds alike.
	fg := func(c string) lipgloss.Style { return r.NewStyle().Foreground(lipgloss.Color(c)) }
	s.title = r.NewStyle().Bold(true)
	s.dim = r.NewStyle().Faint(true)
	s.good = fg("2").Bold(true)
	s.bad = fg("1").Bold(true)
	s.warn = fg("3").Bold(true)
	s.selected = r.NewStyle().Bold(true)
	s.barDone = fg("2")
	s.barLeft = r.NewStyle().Faint(true)
	s.box = r.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(lipgloss.Color("6")).Padding(0, 1)
	s.status = fg("6")
	s.section = r.NewStyle().Bold(true).Underline(true)
	s.spinner = fg("6")

	h := help.New()
	key, desc, sep := fg("6"), r.NewStyle().Faint(true), r.NewStyle().Faint(true)
	h.Styles = help.Styles{
		Ellipsis: sep, ShortKey: key, ShortDesc: desc, ShortSeparator: sep,
		FullKey: key, FullDesc: desc, FullSeparator: sep,
	}
	h.ShortSeparator = " · "
	s.help = h
	return s
}

// bar draws a progress bar of width cells. Block characters carry the
// meaning on their own, so it still reads without colour.
func (s *styles) bar(done, total, width int) string {
	if width <= 0 {
		return ""
	}
	n := 0
	if total > 0 {
		n = done * width / total
	}
	return s.barDone.Render(strings.Repeat("█", n)) + s.barLeft.Render(strings.Repeat("░", width-n))
}

// pad fills s with spaces to width visible cells; colour codes do not count.
func pad(s string, width int) string {
	if n := lipgloss.Width(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}

// cut shortens s to width cells, with an ellipsis.
func cut(s string, width int) string {
	if width <= 0 {
		return ""
	}
	return ansi.Truncate(s, width, "…")
}

// fit makes a frame exactly fit the terminal: long lines are cut and lines
// past the bottom are dropped, so a frame never scrolls the alt screen.
func fit(frame string, width, height int) string {
	lines := strings.Split(frame, "\n")
	if len(lines) > height {
		lines = lines[:height]
	}
	for i, l := range lines {
		if lipgloss.Width(l) > width {
			lines[i] = ansi.Truncate(l, width, "")
		}
	}
	return strings.Join(lines, "\n")
}

// gaps are runs of spaces inside a line: between a command and the "(or: …)"
// after it, or between the columns of a timeline.
var gaps = regexp.MustCompile(`  +`)

// wrap breaks a line too long for width, indenting the continuation lines so
// they read as part of the line above. Lines that fit are left exactly as
// they are, so a timeline keeps its columns. A long line breaks first at its
// gaps, so a command such as a "replay" line stays whole on a line of its
// own when it can, and only then between words.
func wrap(line string, width int) []string {
	if width < 20 || lipgloss.Width(line) <= width {
		return []string{line}
	}
	body := strings.TrimLeft(line, " ")
	indent := line[:len(line)-len(body)]
	cont := strings.Repeat(" ", min(len(indent)+2, width/2))

	var joined []string
	cur, prefix, last := "", indent, 0
	add := func(gap, text string) {
		switch {
		case cur == "":
			cur = prefix + text
		case lipgloss.Width(cur+gap+text) <= width:
			cur += gap + text
		default:
			joined = append(joined, cur)
			cur = cont + text
		}
	}
	gap := ""
	for _, g := range gaps.FindAllStringIndex(body, -1) {
		add(gap, body[last:g[0]])
		gap, last = body[g[0]:g[1]], g[1]
	}
	add(gap, body[last:])
	joined = append(joined, cur)

	var out []string
	for i, l := range joined {
		if lipgloss.Width(l) <= width {
			out = append(out, l)
			continue
		}
		lead := cont
		if i == 0 {
			lead = indent
		}
		for j, w := range strings.Split(ansi.Wrap(strings.TrimLeft(l, " "), width-len(cont), ""), "\n") {
			if j > 0 {
				lead = cont
			}
			out = append(out, lead+strings.TrimLeft(w, " "))
		}
	}
	return out
}
