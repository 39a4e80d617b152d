// Package textout prints the grader's results as plain text that reads well
// in a terminal, a pipe and a CI log. Colour is used only on a terminal that
// takes escape codes, and never when NO_COLOR is set.
package textout

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Printer writes to one output.
type Printer struct {
	w    io.Writer
	st   styles
	dumb bool // a terminal that takes no escape codes: print as to a pipe
}

type styles struct {
	title, dim, good, bad, warn, code lipgloss.Style
}

// New returns a printer for w. Whether to colour is decided from w itself:
// a terminal gets colour unless NO_COLOR is set or it is a dumb terminal;
// anything else gets none.
func New(w io.Writer) *Printer {
	r := lipgloss.NewRenderer(w)
	dumb := DumbTerminal()
	if dumb {
		// Even over CLICOLOR_FORCE: such a terminal shows the codes as text.
		r.SetColorProfile(termenv.Ascii)
	}
	return &Printer{w: w, dumb: dumb, st: styles{
		title: r.NewStyle().Bold(true),
		dim:   r.NewStyle().Faint(true),
		good:  r.NewStyle().Foreground(lipgloss.Color("2")).Bold(true),
		bad:   r.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
		warn:  r.NewStyle().Foreground(lipgloss.Color("3")).Bold(true),
		code:  r.NewStyle().Foreground(lipgloss.Color("6")),
	}}
}

// DumbTerminal reports whether the terminal the grader runs in, if any,
// cannot take escape codes, so that output must be what a pipe would get:
// TERM=dumb (Emacs' shell, some editors' consoles), or no TERM at all on
// Unix, where every capable terminal sets one. Windows consoles set none.
func DumbTerminal() bool {
	term, set := os.LookupEnv("TERM")
	return dumbTerm(term, set, runtime.GOOS)
}

func dumbTerm(term string, set bool, goos string) bool {
	if !set || term == "" {
		return goos != "windows"
	}
	return term == "dumb"
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
	return strings.TrimRight(string(r[:width-1]), " ") + "…"
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
