// Package textout prints the grader's results as plain text that reads well
// in a terminal, a pipe and a CI log. Colour is used only on a terminal and
// never when NO_COLOR is set.
package textout

import (
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// Printer writes to one output.
type Printer struct {
	w  io.Writer
	st styles
}

type styles struct {
	title, dim, good, bad, warn, code lipgloss.Style
}

// New returns a printer for w. Whether to colour is decided from w itself:
// a terminal gets colour unless NO_COLOR is set; anything else gets none.
func New(w io.Writer) *Printer {
	r := lipgloss.NewRenderer(w)
	return &Printer{w: w, st: styles{
		title: r.NewStyle().Bold(true),
		dim:   r.NewStyle().Faint(true),
		good:  r.NewStyle().Foreground(lipgloss.Color("2")).Bold(true),
		bad:   r.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
		warn:  r.NewStyle().Foreground(lipgloss.Color("3")).Bold(true),
		code:  r.NewStyle().Foreground(lipgloss.Color("6")),
	}}
}

func (p *Printer) printf(format string, args ...any) { fmt.Fprintf(p.w, format, args...) }

// Notices prints things the learner should know that are not results.
func (p *Printer) Notices(notices []string) {
	for _, n := range notices {
		p.printf("%s %s\n", p.st.warn.Render("note:"), n)
	}
}

// Error prints one clear line for a problem that stopped a command.
func (p *Printer) Error(err error) {
	msg := err.Error()
	first, rest, _ := strings.Cut(msg, "\n")
	p.printf("%s %s\n", p.st.bad.Render("grader:"), first)
	if rest != "" {
		p.printf("%s\n", rest)
	}
}

// pad right-aligns nothing and left-pads to width by visible length, so
// colour codes do not upset columns.
func pad(s string, width int) string {
	if n := lipgloss.Width(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}

// cut shortens s to width runes, with an ellipsis.
func cut(s string, width int) string {
	r := []rune(s)
	if len(r) <= width {
		return s
	}
	return string(r[:width-1]) + "…"
}

// indent prefixes every line.
func indent(lines []string, prefix string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(strings.TrimRight(prefix+l, " \t"))
		b.WriteByte('\n')
	}
	return b.String()
}
