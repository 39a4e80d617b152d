package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// helpView is the full help: every key, in two columns of titled groups.
// It covers the whole screen, so it reads the same whatever is under it.
func (m *model) helpView() string {
	st, k := m.c.st, m.c.keys
	left, right := k.full()
	colWidth := m.c.width / 2
	column := func(sections []helpSection) string {
		var b strings.Builder
		for i, s := range sections {
			if i > 0 {
				b.WriteString("\n")
			}
			b.WriteString(st.section.Render(s.title) + "\n")
			for _, bind := range s.keys {
				h := bind.Help()
				line := fmt.Sprintf("  %s %s", pad(st.help.Styles.FullKey.Render(h.Key), 8), h.Desc)
				b.WriteString(cut(line, colWidth-1) + "\n")
			}
		}
		return strings.TrimRight(b.String(), "\n")
	}
	l := st.renderer.NewStyle().Width(colWidth).Render(column(left))
	body := lipgloss.JoinHorizontal(lipgloss.Top, l, column(right))
	head := st.title.Render("Keys")
	return m.c.screen(head, "\n"+body, st.dim.Render("? or esc closes this"))
}
