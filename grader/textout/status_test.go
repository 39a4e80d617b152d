package textout

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/grade"
	"github.com/distlings/distlings/grader/run"
)

// statusLab is a lab of n parts, each in the given state.
func statusLab(number int, slug, title string, states ...grade.PartState) *grade.LabView {
	m := &catalog.Manifest{Title: title}
	v := &grade.LabView{}
	for i, st := range states {
		p := &catalog.Part{Number: i + 1, Title: fmt.Sprintf("Part number %d of the lab", i+1), Points: 15, File: "node.go"}
		m.Parts = append(m.Parts, p)
		v.Parts = append(v.Parts, grade.PartView{Part: p, State: st})
		if st.Earns() {
			v.Earned += p.Points
		}
	}
	name := fmt.Sprintf("%02d-%s", number, slug)
	v.Lab = &catalog.Lab{Number: number, Slug: slug, Name: name, RelDir: "labs/" + name, Manifest: m}
	return v
}

// The plain status is read in terminals of 80 columns and in CI logs: no
// line may wrap, whatever the labs are called and whatever changed.
func TestStatusFitsIn80Columns(t *testing.T) {
	done := statusLab(1, "idempotency", "Idempotency", grade.Passed, grade.Passed)
	changed := statusLab(2, "circuit-breaker", "A circuit breaker that stops hammering a failing dependency",
		grade.Passed, grade.Changed, grade.Failing)
	changed.Lab.Parts[1].Title = "Generations, so that late results from before the breaker opened do not count"
	long := statusLab(3, "raft-log-replication-and-compaction", "Raft: replicating and compacting the log",
		grade.NotRun, grade.NotRun, grade.NotRun, grade.NotRun, grade.NotRun, grade.NotRun,
		grade.NotRun, grade.NotRun, grade.NotRun, grade.NotRun, grade.NotRun, grade.NotRun)
	ov := &grade.Overview{Labs: []*grade.LabView{done, changed, long}, Earned: 60, Total: 285,
		Next: &grade.Next{Lab: changed.Lab, Part: changed.Lab.Parts[1], Rerun: true}}

	var out bytes.Buffer
	New(&out).Status(ov)
	got := out.String()
	for _, l := range strings.Split(got, "\n") {
		assert.LessOrEqual(t, utf8.RuneCountInString(l), 80, "line wider than 80 columns:\n%s", l)
	}
	assert.Contains(t, got, "→ 02 circuit-breaker  A circuit breaker that stops…  1/3 parts    15/45 pts\n"+
		"     changed since it passed: run grader test 02 again\n", "the change is said on a line of its own")
	assert.Equal(t, 1, strings.Count(got, "changed since it passed: run grader test"), "only the changed lab says so")
	assert.Contains(t, got, "Next: run lab 02 part 2 again, \"Generations, so that late results from before…\"\n"+
		"      its files changed since it passed\n")
	assert.Contains(t, got, "03 raft-log-replication-and-compaction Raft: repl… 0/12 parts    0/180 pts")
}

// TERM=dumb is a terminal that shows escape codes as text (Emacs' shell, an
// editor's console): it gets what a pipe gets, even when colour is forced.
func TestADumbTerminalGetsNoEscapeCodes(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	t.Setenv("CLICOLOR_FORCE", "1")
	lab := streamLab()
	render := func() string {
		var out syncBuffer
		s := New(&out).Stream(lab, false, true)
		s.Event(run.Event{Kind: run.BuildStarted})
		s.Event(run.Event{Kind: run.BuildProgressed, Progress: &run.BuildProgress{Compiled: 3, Total: 9}})
		s.Event(run.Event{Kind: run.BuildDone, Build: &run.Build{OK: true}})
		s.Finish(&grade.Outcome{Result: &run.Result{Lab: lab, Build: run.Build{OK: true}}})
		return out.String()
	}

	t.Setenv("TERM", "xterm-256color")
	require.Contains(t, render(), "\x1b[", "a capable terminal gets colour and the redrawn status line")

	t.Setenv("TERM", "dumb")
	got := render()
	assert.NotContains(t, got, "\x1b", "no colour")
	assert.NotContains(t, got, "\r", "no status line redrawn in place")
	assert.Contains(t, got, "lab 01 demo  Demo\n")
}

func TestWhichTerminalsAreDumb(t *testing.T) {
	for _, tc := range []struct {
		term string
		set  bool
		goos string
		dumb bool
	}{
		{"dumb", true, "linux", true},
		{"dumb", true, "windows", true},
		{"xterm-256color", true, "linux", false},
		{"", false, "linux", true}, // every capable Unix terminal sets TERM
		{"", true, "darwin", true},
		{"", false, "windows", false}, // Windows consoles set none
	} {
		assert.Equal(t, tc.dumb, dumbTerm(tc.term, tc.set, tc.goos), "TERM=%q (set: %v) on %s", tc.term, tc.set, tc.goos)
	}
}
