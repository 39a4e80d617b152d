package tui

import (
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/watch"
)

// watchDebounce is how long the folder must be quiet after a save before
// the lab runs: editors write a file in several steps.
const watchDebounce = 300 * time.Millisecond

// watchSession re-runs the open lab, or one part of it, on every save.
type watchSession struct {
	id    int
	w     *watch.Watcher
	lab   *catalog.Lab
	parts []int  // none means every part
	last  string // what the last batch changed, or a problem the watcher met
}

// Messages from the watcher.
type (
	watchBatchMsg struct {
		id    int
		files []string
	}
	watchErrMsg struct {
		id  int
		err error
	}
)

// toggleWatch starts watching, or stops if already watching.
func (m *model) toggleWatch(parts []int) tea.Cmd {
	if m.watch != nil {
		m.stopWatching()
		m.lab.message = "Stopped watching."
		return nil
	}
	return m.startWatching(parts)
}

func (m *model) startWatching(parts []int) tea.Cmd {
	lab := m.lab.lab
	w, err := watch.New(lab.Dir, watchDebounce, watch.LabFiles)
	if err != nil {
		m.lab.message = "Cannot watch the lab's files: " + oneLine(err.Error())
		return nil
	}
	m.c.lastWatchID++
	m.watch = &watchSession{id: m.c.lastWatchID, w: w, lab: lab, parts: parts}
	// Run once now, so the learner sees where they stand before the first
	// save.
	return tea.Batch(m.watch.next(), m.startRun(parts))
}

// stopWatching closes the watcher; its waiting command then ends.
func (m *model) stopWatching() {
	if m.watch != nil {
		_ = m.watch.w.Close() // nothing to tell the learner: watching has stopped either way
		m.watch = nil
	}
}

// next delivers the watcher's next batch or problem. Close closes both
// channels, so this never outlives the watcher.
func (s *watchSession) next() tea.Cmd {
	return func() tea.Msg {
		select {
		case files, ok := <-s.w.Changes():
			if ok {
				return watchBatchMsg{s.id, files}
			}
		case err, ok := <-s.w.Errors():
			if ok {
				return watchErrMsg{s.id, err}
			}
		}
		return nil
	}
}

// watchBatch runs the lab again: a run in progress tested files that have
// changed since, so it gives way to the new one.
func (m *model) watchBatch(msg watchBatchMsg) tea.Cmd {
	if m.watch == nil || msg.id != m.watch.id {
		return nil
	}
	m.watch.last = "saved " + strings.Join(msg.files, ", ")
	return tea.Batch(m.watch.next(), m.startRun(m.watch.parts))
}

func (m *model) watchErr(msg watchErrMsg) tea.Cmd {
	if m.watch == nil || msg.id != m.watch.id {
		return nil
	}
	m.watch.last = oneLine(msg.err.Error())
	return m.watch.next()
}

// watchStatus is the status line while watching; empty when not.
func (m *model) watchStatus() string {
	if m.watch == nil {
		return ""
	}
	what := "every part"
	if len(m.watch.parts) == 1 {
		what = fmt.Sprintf("part %d", m.watch.parts[0])
	}
	s := fmt.Sprintf("watching %s: each save runs %s", m.watch.lab.RelDir, what)
	if m.watch.last != "" {
		s += " · " + m.watch.last
	}
	return s
}
