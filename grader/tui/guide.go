package tui

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/glamour"
	gstyles "github.com/charmbracelet/glamour/styles"
	"github.com/muesli/termenv"

	"github.com/distlings/distlings/grader/catalog"
)

// guideModel shows a lab's README.md, rendered for the terminal.
type guideModel struct {
	c     *common
	lab   *catalog.Lab
	vp    viewport.Model
	width int // the width the content was rendered for; 0 while rendering
	err   error
}

// guideMsg carries a rendered guide. Rendering happens off the UI
// goroutine: glamour and its syntax highlighter take a moment to start.
type guideMsg struct {
	lab   *catalog.Lab
	width int
	text  string
	err   error
}

func newGuide(c *common) guideModel {
	vp := viewport.New(defaultWidth, defaultHeight)
	vp.KeyMap = c.keys.viewportKeys()
	vp.Style = c.st.renderer.NewStyle()
	return guideModel{c: c, vp: vp}
}

func (g *guideModel) open(lab *catalog.Lab) tea.Cmd {
	g.lab, g.width, g.err = lab, 0, nil
	g.vp.SetContent("")
	return g.render()
}

// resize renders the guide again when the width changed: glamour wraps
// paragraphs itself, so the text must be laid out for the new width.
func (g *guideModel) resize() tea.Cmd {
	g.vp.Width = g.c.width
	if g.lab == nil || g.width == 0 || g.width == g.c.width {
		return nil // not shown, still rendering (update catches up), or unchanged
	}
	return g.render()
}

func (g *guideModel) render() tea.Cmd {
	lab, width, style := g.lab, g.c.width, g.style()
	profile := g.c.st.renderer.ColorProfile()
	return func() tea.Msg {
		text, err := renderGuide(filepath.Join(lab.Dir, "README.md"), width, style, profile)
		return guideMsg{lab: lab, width: width, text: text, err: err}
	}
}

// style picks glamour's look: the learner's GLAMOUR_STYLE if set, plain
// when there is no colour, otherwise dark or light after the terminal's
// background, which Run asked before the program started.
func (g *guideModel) style() string {
	if s := g.c.getenv("GLAMOUR_STYLE"); s != "" && s != gstyles.AutoStyle {
		return s
	}
	switch {
	case !g.c.st.colour:
		return gstyles.NoTTYStyle
	case g.c.st.darkBackground:
		return gstyles.DarkStyle
	}
	return gstyles.LightStyle
}

func (g *guideModel) update(msg tea.Msg) tea.Cmd {
	m, ok := msg.(guideMsg)
	switch {
	case !ok || m.lab != g.lab:
		return nil // the learner left for another lab meanwhile
	case m.width != g.c.width:
		return g.render() // the terminal was resized while it rendered
	}
	g.width, g.err = m.width, m.err
	offset := g.vp.YOffset
	g.vp.SetContent(m.text)
	g.vp.SetYOffset(offset)
	return nil
}

func (g *guideModel) key(msg tea.KeyMsg) tea.Cmd {
	k := g.c.keys
	switch {
	case key.Matches(msg, k.Back):
		return g.c.ask(backToLabMsg{})
	case key.Matches(msg, k.Top):
		g.vp.GotoTop()
	case key.Matches(msg, k.Bottom):
		g.vp.GotoBottom()
	default:
		var cmd tea.Cmd
		g.vp, cmd = g.vp.Update(msg)
		return cmd
	}
	return nil
}

func (g *guideModel) viewFrame() string {
	st := g.c.st
	head := st.title.Render(fmt.Sprintf("lab %02d %s", g.lab.Number, g.lab.Slug)) + "  the guide\n" +
		st.dim.Render(cut(g.lab.RelDir+"/README.md", g.c.width)) + "\n"
	if g.err != nil || g.width == 0 {
		body := "rendering the guide…"
		if g.err != nil {
			body = st.bad.Render(oneLine(g.err.Error()))
		}
		return g.c.screen(head, body, g.c.footer(stateGuide, "", ""))
	}
	// The scroll position depends on the viewport's height, which depends
	// on the footer's; a percentage is always one line.
	g.vp.Height = g.c.viewportHeight(head, g.c.footer(stateGuide, "100%", ""))
	footer := g.c.footer(stateGuide, fmt.Sprintf("%.f%%", g.vp.ScrollPercent()*100), "")
	return head + "\n" + g.vp.View() + "\n" + footer
}

// renderGuide reads a guide and renders it for a terminal of the given width.
func renderGuide(path string, width int, style string, profile termenv.Profile) (string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", errors.New("this lab has no guide yet (no README.md in its folder)")
	}
	if err != nil {
		return "", fmt.Errorf("read the guide: %w", err)
	}
	r, err := glamour.NewTermRenderer(glamour.WithStylePath(style), glamour.WithColorProfile(profile),
		glamour.WithWordWrap(max(width-4, 20)))
	if err != nil {
		return "", fmt.Errorf("render the guide: %w", err)
	}
	out, err := r.Render(string(data))
	if err != nil {
		return "", fmt.Errorf("render the guide: %w", err)
	}
	return out, nil
}
