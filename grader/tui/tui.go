// Package tui is the grader's terminal interface: a home screen with every
// lab, a lab screen with its parts, live progress while tests run, the
// failures in a scrollable view, the lab's guide, and hints.
//
// It only draws and reacts. What a run, a hint or a reset does is decided by
// package grade, which the command line uses too, so both always agree.
//
// The shape follows glow and soft-serve: one root model holds a state and a
// concrete model per screen; every key is declared once in keys.go and every
// style once in styles.go.
package tui

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/grade"
)

// Run shows the TUI on out, reading keys from in, until the learner quits or
// ctx ends. Test runs still going when it ends are stopped, and Run returns
// only once their processes are gone. An ended ctx is not an error: whoever
// ended it asked for the stop.
func Run(ctx context.Context, g *grade.Grader, in io.Reader, out io.Writer) error {
	st := newStyles(lipgloss.NewRenderer(out))
	if st.colour {
		// Asked now, before the program owns the terminal's input, where
		// the answer would arrive as stray key presses.
		st.darkBackground = st.renderer.HasDarkBackground()
	}
	m := newModel(ctx, g, st)
	defer m.shutdown()
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out), tea.WithAltScreen())
	_, err := p.Run()
	switch {
	case errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil:
		return nil
	case errors.Is(err, tea.ErrProgramPanic):
		// The program has restored the terminal and printed what happened.
		return errors.New("internal error: the full-screen view crashed (what it said is above); please report it")
	}
	return err
}

// state is which screen is showing.
type state int

const (
	stateHome state = iota
	stateLab
	stateRun
	stateResults
	stateGuide
	stateTimeline
)

// Sizes used until the terminal says its own, and the smallest we lay out
// for: a smaller terminal shows the top left of a frame this size.
const (
	defaultWidth, defaultHeight = 80, 24
	minWidth, minHeight         = 40, 10
	maxStatusLines              = 3
)

// common is what every screen shares.
type common struct {
	ctx  context.Context // ends with the program; every run derives from it
	stop context.CancelFunc
	g    *grade.Grader
	st   *styles
	keys keyMap

	width, height int
	now           func() time.Time    // the running screen's clock; tests fix it
	getenv        func(string) string // $EDITOR; tests set it without touching the process

	asks        []tea.Msg      // requests from the screens to the root; see ask
	runs        sync.WaitGroup // test runs not yet finished, so shutdown can wait for them
	lastRunID   int            // numbers runs; only the UI goroutine touches it
	lastWatchID int            // numbers watchers, likewise
}

// model is the root of the TUI.
type model struct {
	c        *common
	state    state
	showHelp bool
	home     homeModel
	lab      labModel
	run      runModel
	results  resultsModel
	guide    guideModel
	timeline timelineModel
	session  *runSession   // the run in progress; nil when none
	watch    *watchSession // nil when not watching

	termWidth, termHeight int // the terminal's real size, which frames are cut to
}

// newModel makes the root model and reads where the learner stands, so the
// first frame is complete. It never runs tests.
func newModel(ctx context.Context, g *grade.Grader, st *styles) *model {
	ctx, stop := context.WithCancel(ctx)
	c := &common{ctx: ctx, stop: stop, g: g, st: st, keys: newKeyMap(),
		width: defaultWidth, height: defaultHeight, now: time.Now, getenv: os.Getenv}
	m := &model{c: c, termWidth: defaultWidth, termHeight: defaultHeight}
	m.home = newHome(c, g.Overview())
	m.lab = labModel{c: c}
	m.run = runModel{c: c}
	m.results = newResults(c)
	m.guide = newGuide(c)
	m.timeline = timelineModel{c: c}
	return m
}

// shutdown stops whatever is still going and waits for test processes to be
// gone, so nothing outlives the TUI.
func (m *model) shutdown() {
	m.stopWatching()
	m.c.stop()
	m.c.runs.Wait()
}

// ask passes a request from a screen to the root, which handles it as soon
// as the screen has returned. It returns no command, for use in return
// statements.
func (c *common) ask(msg tea.Msg) tea.Cmd {
	c.asks = append(c.asks, msg)
	return nil
}

// Requests from the screens to the root. Screens ask; the root decides which
// screen shows.
type (
	openLabMsg      struct{ lab *catalog.Lab }
	goHomeMsg       struct{}
	backToLabMsg    struct{}
	startRunMsg     struct{ parts []int } // of the open lab; none means all
	toggleWatchMsg  struct{ parts []int } // likewise
	openGuideMsg    struct{}
	openTimelineMsg struct{ path string }
)

// Init starts nothing: the home screen is already read, and tests run only
// when asked.
func (m *model) Init() tea.Cmd { return nil }

// Update routes a message to the root or to the screen that is showing.
func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.termWidth, m.termHeight = msg.Width, msg.Height
		m.c.width, m.c.height = max(msg.Width, minWidth), max(msg.Height, minHeight)
		m.results.resize()
		return m, m.guide.resize()
	case tea.KeyMsg:
		cmds := []tea.Cmd{m.key(msg)}
		// Requests a screen made while handling the key are handled now,
		// before the next key: a learner typing ahead (enter, then r) means
		// the next key for the screen the first one opened.
		for len(m.c.asks) > 0 {
			ask := m.c.asks[0]
			m.c.asks = m.c.asks[1:]
			_, cmd := m.Update(ask)
			cmds = append(cmds, cmd)
		}
		return m, tea.Batch(cmds...)
	case openLabMsg:
		m.state = stateLab
		return m, m.lab.open(msg.lab, m.home.view(msg.lab))
	case goHomeMsg:
		m.stopWatching()
		m.state = stateHome
		return m, m.home.reload()
	case backToLabMsg:
		m.state = stateLab
		return m, m.lab.reload()
	case startRunMsg:
		return m, m.startRun(msg.parts)
	case toggleWatchMsg:
		return m, m.toggleWatch(msg.parts)
	case openGuideMsg:
		m.state = stateGuide
		return m, m.guide.open(m.lab.lab)
	case openTimelineMsg:
		m.state = stateTimeline
		m.timeline.open(msg.path)
		return m, nil
	case backToResultsMsg:
		m.state = stateResults
		return m, nil
	case runEventMsg:
		return m, m.runEvent(msg)
	case runDoneMsg:
		return m, m.runDone(msg)
	case watchBatchMsg:
		return m, m.watchBatch(msg)
	case watchErrMsg:
		return m, m.watchErr(msg)
	case overviewMsg:
		m.home.set(msg.ov)
		return m, nil
	case labViewMsg, hintMsg, resetMsg, editorDoneMsg:
		return m, m.lab.update(msg)
	case guideMsg:
		return m, m.guide.update(msg)
	}
	// Anything else (spinner ticks) belongs to the screen showing.
	switch m.state {
	case stateRun:
		return m, m.run.update(msg)
	}
	return m, nil
}

// key handles the keys that work whatever the screen, then hands the key to
// the screen.
func (m *model) key(msg tea.KeyMsg) tea.Cmd {
	k := m.c.keys
	switch {
	case m.state == stateRun && key.Matches(msg, k.Stop):
		// Even ctrl+c stops the run first, as in a shell: the learner gets
		// back to the lab, and no test process is left behind.
		m.showHelp = false
		m.stopRun()
		m.state = stateLab
		m.lab.message = "Stopped. Nothing was recorded for that run."
		return m.lab.reload()
	case key.Matches(msg, k.ForceQuit):
		return tea.Quit
	case m.showHelp:
		if key.Matches(msg, k.Help, k.Back, k.Quit) {
			m.showHelp = false
		}
		return nil
	case m.state == stateHome && m.home.filtering:
		return m.home.key(msg) // typed text, not commands
	case m.state == stateLab && m.lab.confirming:
		return m.lab.key(msg) // y or n, nothing else
	case key.Matches(msg, k.Help):
		m.showHelp = true
		return nil
	}
	switch m.state {
	case stateHome:
		return m.home.key(msg)
	case stateLab:
		return m.lab.key(msg)
	case stateResults:
		return m.results.key(msg)
	case stateGuide:
		return m.guide.key(msg)
	case stateTimeline:
		return m.timeline.key(msg)
	}
	return nil
}

// View draws the screen that is showing, cut to the terminal's size.
func (m *model) View() string {
	var frame string
	switch {
	case m.showHelp:
		frame = m.helpView()
	case m.state == stateHome:
		frame = m.home.viewFrame()
	case m.state == stateLab:
		frame = m.lab.viewFrame(m.watchStatus())
	case m.state == stateRun:
		frame = m.run.viewFrame(m.watchStatus())
	case m.state == stateResults:
		frame = m.results.viewFrame(m.watchStatus())
	case m.state == stateGuide:
		frame = m.guide.viewFrame()
	case m.state == stateTimeline:
		frame = m.timeline.viewFrame()
	}
	return fit(frame, m.termWidth, m.termHeight)
}

// footer is the last lines of every screen: what watch mode is doing if it
// is on, a status line if there is news, then the keys.
func (c *common) footer(s state, status, watching string) string {
	return c.footerWith(c.keys.short(s, watching != ""), status, watching)
}

// footerWith is a footer with the given key bar, for a screen whose keys
// depend on more than its state.
func (c *common) footerWith(keys []key.Binding, status, watching string) string {
	h := c.st.help
	h.Width = c.width
	var b strings.Builder
	if watching != "" {
		b.WriteString(c.st.status.Render(cut(watching, c.width)) + "\n")
	}
	// News is wrapped, not cut: it often ends with what to do.
	for i, l := range strings.Split(ansi.Wordwrap(status, c.width, ""), "\n") {
		if status != "" && i < maxStatusLines {
			b.WriteString(c.st.status.Render(cut(l, c.width)) + "\n")
		}
	}
	b.WriteString(h.ShortHelpView(keys))
	return b.String()
}

// viewportHeight is the room a scrolling screen has between its header and
// its footer, with a blank line after the header.
func (c *common) viewportHeight(header, footer string) int {
	return max(c.height-lines(header)-lines(footer), 1)
}

// screen lays out a header, a body and a footer in the terminal's height:
// the body is padded or cut so the footer stays on the last lines.
func (c *common) screen(header, body, footer string) string {
	room := c.height - lines(header) - lines(footer)
	b := strings.Split(strings.TrimRight(body, "\n"), "\n")
	if len(b) > room {
		b = b[:max(room, 0)]
	}
	for len(b) < room {
		b = append(b, "")
	}
	return header + "\n" + strings.Join(b, "\n") + "\n" + footer
}

func lines(s string) int { return strings.Count(s, "\n") + 1 }
