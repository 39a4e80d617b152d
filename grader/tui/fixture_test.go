package tui

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/grade"
	"github.com/distlings/distlings/grader/progress"
	"github.com/distlings/distlings/grader/shipped"
)

// The fixture workbook: a small lab like the command line's tests use, a
// second lab not started, and a broken one.
var demoFiles = map[string]string{
	"go.mod": "module example.com/wb\n\ngo 1.26\n",
	"labs/01-demo/lab.toml": `title = "Demo"
tagline = "Two small functions, one part each"
stubs = ["demo.go"]

[[part]]
title = "Adds"
points = 10
tests = ["TestAdds"]
hints = ["Use +.", "a + b"]

[[part]]
title = "Subtracts"
points = 10
tests = ["TestSubtracts"]
hints = ["Use -."]
`,
	"labs/01-demo/demo.go": "package demo\n\nfunc Add(a, b int) int { return 0 }\n\nfunc Sub(a, b int) int { return 0 }\n",
	"labs/01-demo/demo_test.go": `package demo

import "testing"

func TestAdds(t *testing.T) {
	if got := Add(2, 3); got != 5 {
		t.Errorf("Add(2, 3) = %d, want 5", got)
	}
}

func TestSubtracts(t *testing.T) {
	if got := Sub(5, 3); got != 2 {
		t.Errorf("Sub(5, 3) = %d, want 2", got)
	}
}
`,
	"labs/01-demo/README.md": "# Demo\n\nAdd and subtract, **carefully**.\n\n## Common mistakes\n\n- Swapping the operands of `Sub`.\n",
	"labs/02-queue/lab.toml": `title = "A queue that never loses a message"
stubs = ["queue.go"]

[[part]]
title = "Push and pop"
points = 10
tests = ["TestPushPop"]
hints = ["A slice will do."]

[[part]]
title = "Acknowledgements"
points = 15
tests = ["TestAck"]
hints = ["Keep what is in flight."]

[[part]]
title = "Redelivery after a timeout"
points = 25
tests = ["TestRedeliver"]
hints = ["Remember when it was sent."]
`,
	"labs/02-queue/queue.go":      "package queue\n",
	"labs/02-queue/queue_test.go": "package queue\n",
	"labs/03-broken/lab.toml":     "title = \"Broken\"\nstubs = [\"nope.go\"]\n",
}

// writeFiles lays files out under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(data), 0o644))
	}
}

// workbook makes a workbook of files and opens it.
func workbook(t testing.TB, files map[string]string) *grade.Grader {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	g, err := grade.Open(dir)
	require.NoError(t, err)
	g.Now = func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }
	// Shipped, as a release is: graded runs build from the shipped copy.
	for _, lab := range g.Catalog.Labs {
		if lab.Err == nil {
			require.NoError(t, shipped.Write(g.Workbook, lab))
		}
	}
	require.NoError(t, shipped.WriteModule(g.Workbook))
	return g
}

// demoWorkbook is the fixture with part 1 of the demo lab passed and the
// demo lab shipped, so reset has something to restore.
func demoWorkbook(t testing.TB) *grade.Grader {
	t.Helper()
	g := workbook(t, demoFiles)
	lab := findLab(t, g, "01")
	pass(t, g, lab, 1)
	return g
}

// pass records parts of a lab as passed with the files as they are.
func pass(t testing.TB, g *grade.Grader, lab *catalog.Lab, parts ...int) {
	t.Helper()
	hash, err := g.FilesHash(lab)
	require.NoError(t, err)
	_, err = g.Progress.Update(func(b *progress.Book) {
		for _, p := range parts {
			b.Lab(lab.Name).Record(p, true, g.Now(), hash)
		}
	})
	require.NoError(t, err)
}

func findLab(t testing.TB, g *grade.Grader, name string) *catalog.Lab {
	t.Helper()
	lab, err := g.Catalog.Find(name, g.Workbook.Root)
	require.NoError(t, err)
	return lab
}

// plainStyles draws without colour, as with NO_COLOR, so snapshots are text.
func plainStyles() *styles {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return newStyles(r)
}

// newTestModel is the root model with a fixed clock and an empty
// environment (no $EDITOR, no GLAMOUR_STYLE).
func newTestModel(t testing.TB, g *grade.Grader) *model {
	t.Helper()
	m := newModel(context.Background(), g, plainStyles())
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	m.c.now = func() time.Time { return start }
	m.c.getenv = func(string) string { return "" }
	return m
}

// start runs m in a test program of 80x24. The program is stopped when the
// test ends, and shutdown waits for any test run to be gone.
func start(t *testing.T, m *model) *teatest.TestModel {
	t.Helper()
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	t.Cleanup(func() {
		_ = tm.Quit()
		tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
		m.shutdown()
	})
	return tm
}

// finish quits the program and returns the model once it has stopped, so
// the test may read it without racing the program.
func finish(t *testing.T, tm *teatest.TestModel) *model {
	t.Helper()
	_ = tm.Quit()
	return tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*model)
}

// waitFor waits until the program has drawn every one of texts.
func waitFor(t *testing.T, tm *teatest.TestModel, within time.Duration, texts ...string) {
	t.Helper()
	var seen bytes.Buffer
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		seen.Write(b)
		for _, s := range texts {
			if !bytes.Contains(seen.Bytes(), []byte(s)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(within), teatest.WithCheckInterval(10*time.Millisecond))
}

// press sends keys by name, as key.Binding knows them.
func press(tm *teatest.TestModel, keys ...string) {
	for _, k := range keys {
		tm.Send(keyMsg(k))
	}
}

func keyMsg(k string) tea.KeyMsg {
	switch k {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEscape}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// manyLabs is a workbook of n labs of three parts, half of them with parts
// passed, for timing the first frame.
func manyLabs(t testing.TB, n int) *grade.Grader {
	t.Helper()
	files := map[string]string{"go.mod": "module example.com/wb\n\ngo 1.26\n"}
	for i := 1; i <= n; i++ {
		dir := fmt.Sprintf("labs/%02d-lab%d/", i, i)
		var toml strings.Builder
		fmt.Fprintf(&toml, "title = \"Lab number %d\"\nstubs = [\"lab.go\"]\n", i)
		for p := 1; p <= 3; p++ {
			fmt.Fprintf(&toml, "\n[[part]]\ntitle = \"Part %d\"\npoints = 10\ntests = [\"TestPart%d\"]\nhints = [\"Think.\"]\n", p, p)
		}
		files[dir+"lab.toml"] = toml.String()
		files[dir+"lab.go"] = fmt.Sprintf("package lab%d\n\n// Answer is the answer.\nfunc Answer() int { return %d }\n", i, i)
		files[dir+"lab_test.go"] = fmt.Sprintf("package lab%d\n", i)
	}
	g := workbook(t, files)
	for i, lab := range g.Catalog.Labs {
		if i%2 == 0 {
			pass(t, g, lab, 1, 2)
		}
	}
	return g
}
