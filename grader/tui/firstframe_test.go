package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/grader/grade"
)

// The home screen must be up within 200 ms of starting the grader: it reads
// progress and hashes the files of labs with passed parts, and runs nothing.

const labsForTiming = 50

// firstFrame is what Run does before the learner sees anything: make the
// model, then draw it at the terminal's size.
func firstFrame(g *grade.Grader) string {
	m := newModel(context.Background(), g, plainStyles())
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	return m.View()
}

func TestFirstFrameIsFast(t *testing.T) {
	g := manyLabs(t, labsForTiming)
	root := g.Workbook.Root

	// Best of a few, so a busy machine's hiccup does not fail the test;
	// the bound is on what the code costs, not on the scheduler.
	best, bestWithOpen := time.Hour, time.Hour
	var frame string
	for range 5 {
		start := time.Now()
		g, err := grade.Open(root)
		require.NoError(t, err)
		opened := time.Now()
		frame = firstFrame(g)
		best = min(best, time.Since(opened))
		bestWithOpen = min(bestWithOpen, time.Since(start))
	}
	t.Logf("first frame with %d labs: %s from model creation, %s including grade.Open", labsForTiming, best, bestWithOpen)
	assert.Less(t, bestWithOpen, 200*time.Millisecond)
	assert.Contains(t, frame, "lab", "the frame is the home screen")
	assert.Contains(t, frame, "Next: work on lab 01 part 3")
	assert.Equal(t, 24, strings.Count(frame, "\n")+1)
}

func BenchmarkFirstFrame(b *testing.B) {
	g := manyLabs(b, labsForTiming)
	b.ResetTimer()
	for b.Loop() {
		firstFrame(g)
	}
}

func BenchmarkFirstFrameWithOpen(b *testing.B) {
	root := manyLabs(b, labsForTiming).Workbook.Root
	b.ResetTimer()
	for b.Loop() {
		g, err := grade.Open(root)
		if err != nil {
			b.Fatal(err)
		}
		firstFrame(g)
	}
}
