package grade_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/tools/txtar"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/grade"
	"github.com/distlings/distlings/grader/progress"
	"github.com/distlings/distlings/grader/shipped"
)

// fixture is a workbook of two labs: 01-demo with two parts (three hints for
// the first, one for the second) and 02-more with two stubs and one part.
const fixture = `
-- go.mod --
module example.com/wb

go 1.26
-- labs/01-demo/lab.toml --
title = "Demo"
stubs = ["demo.go"]

[[part]]
title = "Adds"
points = 10
tests = ["TestAdds"]
hints = ["Think about adding.", "The operator is +.", "return a + b"]

[[part]]
title = "Subtracts"
points = 5
tests = ["TestSubtracts"]
hints = ["Use -."]
-- labs/01-demo/demo.go --
package demo

func Add(a, b int) int { return 0 }

func Sub(a, b int) int { return 0 }
-- labs/01-demo/demo_test.go --
package demo

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
-- labs/01-demo/notes.md --
# Notes
-- labs/02-more/lab.toml --
title = "More"
stubs = ["more.go", "twice.go"]

[[part]]
title = "Doubles"
points = 20
tests = ["TestDouble"]
hints = ["Multiply by two."]
-- labs/02-more/more.go --
package more

func Double(a int) int { return 0 }
-- labs/02-more/twice.go --
package more

func Twice(a int) int { return 0 }
-- labs/02-more/more_test.go --
package more

import "testing"

func TestDouble(t *testing.T) {
	if Double(2) != 4 {
		t.Error("Double(2) != 4")
	}
}
`

// clock is the time every test grader reads.
var clock = time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

// newGrader unpacks the fixture, plus any extra txtar files, into a fresh
// workbook and opens it with a fixed clock.
func newGrader(t *testing.T, extra string) *grade.Grader {
	t.Helper()
	root := t.TempDir()
	for _, f := range txtar.Parse([]byte(fixture + extra)).Files {
		writeFile(t, filepath.Join(root, f.Name), string(f.Data))
	}
	return reopen(t, root)
}

// reopen opens the workbook at root as a new grader would.
func reopen(t *testing.T, root string) *grade.Grader {
	t.Helper()
	g, err := grade.Open(root)
	require.NoError(t, err)
	g.Now = func() time.Time { return clock }
	return g
}

func findLab(t *testing.T, g *grade.Grader, name string) *catalog.Lab {
	t.Helper()
	lab, err := g.Catalog.Find(name, g.Workbook.Root)
	require.NoError(t, err)
	require.NoError(t, lab.Err)
	return lab
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(data)
}

// record stores a run of a part as Test would, with the lab's current hash.
func record(t *testing.T, g *grade.Grader, lab *catalog.Lab, part int, passed bool) {
	t.Helper()
	hash := hashOf(t, g, lab)
	_, err := g.Progress.Update(func(b *progress.Book) {
		b.Lab(lab.Name).Record(part, passed, clock, hash)
	})
	require.NoError(t, err)
}

func hashOf(t *testing.T, g *grade.Grader, lab *catalog.Lab) string {
	t.Helper()
	h, err := g.FilesHash(lab)
	require.NoError(t, err)
	return h
}

// ship records the lab and the module as shipped, as a release has them.
func ship(t *testing.T, g *grade.Grader, lab *catalog.Lab) {
	t.Helper()
	require.NoError(t, shipped.Write(g.Workbook, lab))
	require.NoError(t, shipped.WriteModule(g.Workbook))
}

func TestFilesHashIsStableShortHex(t *testing.T) {
	g := newGrader(t, "")
	lab := findLab(t, g, "01")
	h := hashOf(t, g, lab)
	assert.Regexp(t, `^[0-9a-f]{16}$`, h)
	assert.Equal(t, h, hashOf(t, g, lab))
}

func TestFilesHashCoversTheStubsGraded(t *testing.T) {
	g := newGrader(t, "")
	lab := findLab(t, g, "01")
	ship(t, g, lab)
	before := hashOf(t, g, lab)
	writeFile(t, filepath.Join(lab.Dir, "demo.go"), "package demo\n\nfunc Add(a, b int) int { return a + b }\n")
	assert.NotEqual(t, before, hashOf(t, g, lab), "editing the stub")
}

func TestFilesHashIgnoresWhatIsNotGraded(t *testing.T) {
	g := newGrader(t, "")
	lab := findLab(t, g, "01")
	ship(t, g, lab)
	before := hashOf(t, g, lab)

	// Tests are graded as shipped, and extra files are not compiled: a
	// change to either cannot change a result, so it keeps the hash.
	writeFile(t, filepath.Join(lab.Dir, "demo_test.go"), "package demo\n\n// edited\n")
	writeFile(t, filepath.Join(lab.Dir, "extra_test.go"), "package demo\n")
	writeFile(t, filepath.Join(lab.Dir, "zz.go"), "package demo\n")
	writeFile(t, filepath.Join(lab.Dir, "notes.md"), "# edited notes\n")
	writeFile(t, filepath.Join(lab.Dir, "lab.toml"), readFile(t, filepath.Join(lab.Dir, "lab.toml"))+"\n# comment\n")
	assert.Equal(t, before, hashOf(t, g, lab))
}

func TestFilesHashWithoutAShippedCopyCoversEveryGoFile(t *testing.T) {
	g := newGrader(t, "")
	lab := findLab(t, g, "01")
	before := hashOf(t, g, lab)
	writeFile(t, filepath.Join(lab.Dir, "zz_test.go"), "package demo\n")
	assert.NotEqual(t, before, hashOf(t, g, lab), "an in-place build compiles every Go file")
}

func TestFilesHashTellsApartContentMovedBetweenFiles(t *testing.T) {
	g := newGrader(t, "")
	lab := findLab(t, g, "01")
	writeFile(t, filepath.Join(lab.Dir, "a.go"), "package demo\n\nconst X = 1\n")
	writeFile(t, filepath.Join(lab.Dir, "b.go"), "package demo\n")
	first := hashOf(t, g, lab)
	writeFile(t, filepath.Join(lab.Dir, "a.go"), "package demo\n")
	writeFile(t, filepath.Join(lab.Dir, "b.go"), "package demo\n\nconst X = 1\n")
	assert.NotEqual(t, first, hashOf(t, g, lab))
}

func TestPartsByNumberPicksPartsInTheOrderAsked(t *testing.T) {
	g := newGrader(t, "")
	lab := findLab(t, g, "01")

	all, err := grade.PartsByNumber(lab, nil)
	require.NoError(t, err)
	assert.Equal(t, lab.Parts, all)

	picked, err := grade.PartsByNumber(lab, []int{2, 1})
	require.NoError(t, err)
	require.Len(t, picked, 2)
	assert.Equal(t, 2, picked[0].Number)
	assert.Equal(t, 1, picked[1].Number)
}

func TestPartsByNumberRejectsAPartOutOfRange(t *testing.T) {
	g := newGrader(t, "")
	lab := findLab(t, g, "01")
	for _, n := range []int{0, 3, -1} {
		_, err := grade.PartsByNumber(lab, []int{1, n})
		require.Error(t, err, "part %d", n)
		assert.Contains(t, err.Error(), "lab 01 demo has parts 1 to 2; there is no part")
		assert.ErrorAs(t, err, new(*grade.NoSuchPartError))
	}
}

func TestPartStateNamesAndWhichStatesEarnPoints(t *testing.T) {
	cases := []struct {
		state grade.PartState
		name  string
		earns bool
	}{
		{grade.NotRun, "not run", false},
		{grade.Passed, "passed", true},
		{grade.Changed, "changed since it passed", false},
		{grade.Failing, "failing", false},
	}
	for _, c := range cases {
		assert.Equal(t, c.name, c.state.String())
		assert.Equal(t, c.earns, c.state.Earns(), c.name)
	}
}

func TestABuildCopyHoldsExactlyTheGradedFiles(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "elsewhere.go")
	writeFile(t, target, "package lenient\n")
	writeFile(t, filepath.Join(dir, "stale.go"), "package old\n")
	require.NoError(t, os.Symlink(target, filepath.Join(dir, "a_test.go")))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "b.go"), 0o755))

	files := map[string][]byte{"a_test.go": []byte("package a\n"), "b.go": []byte("package b\n")}
	require.NoError(t, grade.SyncFiles(dir, files))
	for name, want := range files {
		fi, err := os.Lstat(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.True(t, fi.Mode().IsRegular(), "%s is a regular file, not a link or folder", name)
		assert.Equal(t, string(want), readFile(t, filepath.Join(dir, name)))
	}
	assert.NoFileExists(t, filepath.Join(dir, "stale.go"))
	assert.Equal(t, "package lenient\n", readFile(t, target), "a link is replaced, not written through")
}
