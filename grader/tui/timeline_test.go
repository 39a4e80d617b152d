package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A shrunk run's trace, as the simulator writes it.
const shrunkTrace = `{"seq":1,"at_ns":0,"at":"0.000s","kind":"start","node":"n1"}
{"seq":2,"at_ns":0,"at":"0.000s","kind":"start","node":"n2"}
{"seq":3,"at_ns":0,"at":"0.000s","kind":"state","node":"n1","msg":"follower","state":{"role":"follower"}}
{"seq":4,"at_ns":0,"at":"0.000s","kind":"state","node":"n2","msg":"follower","state":{"role":"follower"}}
{"seq":5,"at_ns":162000000,"at":"0.162s","kind":"timer","node":"n1","msg":"electionTimeout{}"}
{"seq":6,"at_ns":162000000,"at":"0.162s","kind":"state","node":"n1","msg":"candidate, term 1, voted for n1","state":{"role":"candidate","term":1,"vote":"n1"}}
{"seq":7,"at_ns":162000000,"at":"0.162s","kind":"duplicate","node":"n1","peer":"n2","msg":"RequestVote{term 1, candidate n1}","n":1}
{"seq":8,"at_ns":170000000,"at":"0.170s","kind":"crash","node":"n2"}
{"seq":9,"at_ns":177000000,"at":"0.177s","kind":"failure","text":"two leaders in term 1"}
`

func keyPress(m *model, keys ...string) {
	for _, k := range keys {
		msg := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		switch k {
		case "esc":
			msg = tea.KeyMsg{Type: tea.KeyEsc}
		case "up":
			msg = tea.KeyMsg{Type: tea.KeyUp}
		}
		m.Update(msg)
	}
}

func TestTimelineStepsThroughTheFailingRun(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "TestX_seed_1-seed-1-shrunk.jsonl")
	require.NoError(t, os.WriteFile(trace, []byte(shrunkTrace), 0o644))

	g := demoWorkbook(t)
	m := newTestModel(t, g)
	lab := findLab(t, g, "01")
	o := failingOutcome(lab)
	o.Parts[1].Tests[0].Output = append(o.Parts[1].Tests[0].Output,
		"full trace: "+filepath.Join(dir, "TestX_seed_1-seed-1.jsonl"),
		"the shrunk run: trace "+trace)
	m.lab.open(lab, m.home.view(lab))
	m.results.set(o)
	m.state = stateResults
	assert.Contains(t, m.View(), "t steps through the failing run")

	keyPress(m, "t")
	require.Equal(t, stateTimeline, m.state)
	view := m.View()
	assert.Contains(t, view, "TestX_seed_1-seed-1-shrunk.jsonl", "the shrunk run's trace is the one opened")
	assert.Contains(t, view, "event 9 of 9, at 0.177s", "it opens at the failure")
	assert.Contains(t, view, "n2   down")

	keyPress(m, "[")
	view = m.View()
	assert.Contains(t, view, "event 8 of 9", "[ goes back to the last fault: the crash")
	keyPress(m, "[")
	view = m.View()
	assert.Contains(t, view, "event 7 of 9", "then the duplicated RequestVote")
	assert.Contains(t, view, "n1   candidate, term 1, voted for n1", "each node's state at that event")
	assert.Contains(t, view, "n2   follower")

	keyPress(m, "<")
	assert.Contains(t, m.View(), "event 1 of 9")
	keyPress(m, "]")
	assert.Contains(t, m.View(), "event 7 of 9", "] goes on to the next fault")
	keyPress(m, "i")
	assert.Contains(t, m.View(), "event 9 of 9", "i jumps to the broken rule")
	keyPress(m, "up")
	assert.Contains(t, m.View(), "event 8 of 9")

	keyPress(m, "esc")
	assert.Equal(t, stateResults, m.state, "esc goes back to the results")
}

func TestTimelineSaysWhenTheTraceCannotBeRead(t *testing.T) {
	m := newTestModel(t, demoWorkbook(t))
	m.timeline.open(filepath.Join(t.TempDir(), "gone.jsonl"))
	m.state = stateTimeline
	assert.Contains(t, m.View(), "The trace could not be read")

	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte("not json\n"), 0o644))
	m.timeline.open(bad)
	assert.True(t, strings.Contains(m.View(), "line 1 is not a trace event"))
}
