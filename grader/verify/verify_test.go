package verify

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/tools/txtar"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/run"
	"github.com/distlings/distlings/grader/shipped"
)

// fixture is a lab that verifies: two parts, a solution, and a wrong
// solution for each part (the same workbook as cmd/grader's verify script).
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
hints = ["Use +."]

[[part]]
title = "Subtracts"
points = 10
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
-- solutions/01-demo/demo.go --
//go:build solution

package demo

func Add(a, b int) int { return a + b }

func Sub(a, b int) int { return a - b }
-- solutions/01-demo/wrong/doubles.patch --
Mistake: doubles the first operand instead of adding the second
Part: 1

--- a/demo.go
+++ b/demo.go
@@ -2,6 +2,6 @@
 
 package demo
 
-func Add(a, b int) int { return a + b }
+func Add(a, b int) int { return a + a }
 
 func Sub(a, b int) int { return a - b }
-- solutions/01-demo/wrong/swapped.patch --
Mistake: subtracts the wrong way round
Part: 2
Caught-By: TestSubtracts

--- a/demo.go
+++ b/demo.go
@@ -4,4 +4,4 @@
 
 func Add(a, b int) int { return a + b }
 
-func Sub(a, b int) int { return a - b }
+func Sub(a, b int) int { return b - a }
`

// newVerifier unpacks the fixture, ships its lab, and returns a verifier
// without a toolchain: only checks that build need one.
func newVerifier(t *testing.T) (*Verifier, *catalog.Lab) {
	t.Helper()
	return newVerifierOf(t, fixture)
}

// newVerifierOf is newVerifier of another workbook, in txtar.
func newVerifierOf(t *testing.T, workbook string) (*Verifier, *catalog.Lab) {
	t.Helper()
	root := t.TempDir()
	for _, f := range txtar.Parse([]byte(workbook)).Files {
		writeFile(t, filepath.Join(root, f.Name), string(f.Data))
	}
	w, err := catalog.FindWorkbook(root)
	require.NoError(t, err)
	c, err := catalog.Load(w)
	require.NoError(t, err)
	require.Len(t, c.Labs, 1)
	require.NoError(t, c.Labs[0].Err)
	require.NoError(t, shipped.Write(w, c.Labs[0]))
	require.NoError(t, shipped.WriteModule(w))
	return &Verifier{Workbook: w}, c.Labs[0]
}

func solDir(v *Verifier, lab *catalog.Lab) string {
	return filepath.Join(v.Workbook.SolutionsDir(), lab.Name)
}

func TestStaticChecksOfAGoodLabFindNothing(t *testing.T) {
	v, lab := newVerifier(t)
	wrongs, problems := v.static(lab, solDir(v, lab))
	assert.Empty(t, problems)
	require.Len(t, wrongs, 2)
	assert.Equal(t, "doubles", wrongs[0].Name)
	assert.Equal(t, "swapped", wrongs[1].Name)
}

// Each case breaks the good lab in one way that needs no build to see.
func TestLabStopsAtAStaticProblemBeforeBuilding(t *testing.T) {
	cases := map[string]struct {
		breakIt func(t *testing.T, v *Verifier, lab *catalog.Lab)
		problem string
	}{
		"solution without the tag": {
			func(t *testing.T, v *Verifier, lab *catalog.Lab) {
				writeFile(t, filepath.Join(solDir(v, lab), "demo.go"), "package demo\n")
			},
			"solutions/01-demo/demo.go must start with //go:build solution, or it breaks go build ./...",
		},
		"stub without a solution": {
			func(t *testing.T, v *Verifier, lab *catalog.Lab) {
				require.NoError(t, os.Remove(filepath.Join(solDir(v, lab), "demo.go")))
			},
			"stub demo.go has no solution: solutions/01-demo/demo.go is missing",
		},
		"wrong solution for a part the lab lacks": {
			func(t *testing.T, v *Verifier, lab *catalog.Lab) {
				writeFile(t, filepath.Join(solDir(v, lab), "wrong", "far.patch"), "Mistake: m\nPart: 3\n\n"+addDiff)
			},
			"wrong/far: Part: 3, but the lab has parts 1 to 2",
		},
		"Caught-By names a test of another part": {
			func(t *testing.T, v *Verifier, lab *catalog.Lab) {
				writeFile(t, filepath.Join(solDir(v, lab), "wrong", "misnamed.patch"), "Mistake: m\nPart: 1\nCaught-By: TestAdds, TestSubtracts\n\n"+addDiff)
			},
			"wrong/misnamed: Caught-By: TestSubtracts is not a test of part 1",
		},
		"unreadable wrong solution": {
			func(t *testing.T, v *Verifier, lab *catalog.Lab) {
				writeFile(t, filepath.Join(solDir(v, lab), "wrong", "bare.patch"), "Part: 1\n\n"+addDiff)
			},
			"solutions/01-demo/wrong/bare.patch: no Mistake: header saying what the learner got wrong",
		},
		"stale shipped copy": {
			func(t *testing.T, v *Verifier, lab *catalog.Lab) {
				writeFile(t, filepath.Join(lab.Dir, "demo.go"), "package demo\n")
			},
			"labs/.shipped/01-demo.txtar is out of date (demo.go differs from the shipped copy); run: grader ship demo",
		},
		"no shipped copy": {
			func(t *testing.T, v *Verifier, lab *catalog.Lab) {
				require.NoError(t, os.Remove(shipped.Path(v.Workbook, lab)))
			},
			"no shipped copy of the lab: labs/.shipped/01-demo.txtar is missing; run: grader ship demo",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			v, lab := newVerifier(t)
			c.breakIt(t, v, lab)
			// Guard: with no static problem Lab would go on to build, and
			// this verifier has no toolchain.
			_, problems := v.static(lab, solDir(v, lab))
			require.NotEmpty(t, problems)

			var reported []*Check
			v.Options.Done = func(c *Check) { reported = append(reported, c) }
			checks := v.Lab(context.Background(), lab)
			require.Len(t, checks, 1)
			assert.Equal(t, checks, reported)
			assert.Equal(t, "manifest", checks[0].Name)
			assert.False(t, checks[0].OK)
			assert.Empty(t, checks[0].Summary)
			assert.True(t, slices.ContainsFunc(checks[0].Problems, func(p string) bool { return strings.Contains(p, c.problem) }),
				"%q in %q", c.problem, checks[0].Problems)
		})
	}
}

func TestLabOfABrokenManifestReportsItsError(t *testing.T) {
	v, lab := newVerifier(t)
	broken := &catalog.Lab{Number: lab.Number, Slug: lab.Slug, Name: lab.Name, Err: &catalog.ManifestError{File: "labs/01-demo/lab.toml", Msg: "broken"}}
	checks := v.Lab(context.Background(), broken)
	require.Len(t, checks, 1)
	assert.Equal(t, "manifest", checks[0].Name)
	assert.False(t, checks[0].OK)
	assert.Equal(t, []string{"labs/01-demo/lab.toml: broken"}, checks[0].Problems)
}

func TestCoverageNeedsAWrongSolutionForEveryPart(t *testing.T) {
	lab := &catalog.Lab{Name: "01-demo", Manifest: &catalog.Manifest{Parts: []*catalog.Part{{Number: 1}, {Number: 2}, {Number: 3}}}}
	c := &Check{}
	coverage(lab, []*Wrong{{Name: "x", Part: 2}, {Name: "y", Part: 2}}, c)
	assert.Equal(t, []string{
		"part 1 has no wrong solution: add solutions/01-demo/wrong/NAME.patch with a mistake its tests must catch",
		"part 3 has no wrong solution: add solutions/01-demo/wrong/NAME.patch with a mistake its tests must catch",
	}, c.Problems)
	assert.Empty(t, c.Summary)

	c = &Check{}
	coverage(lab, nil, c)
	assert.Len(t, c.Problems, 3, "no wrong solutions at all")
}

func TestCoverageHoldsWhenEveryPartHasAWrongSolution(t *testing.T) {
	v, lab := newVerifier(t)
	wrongs, err := LoadWrong(solDir(v, lab))
	require.NoError(t, err)
	c := &Check{}
	coverage(lab, wrongs, c)
	assert.Empty(t, c.Problems)
	assert.Equal(t, "every part has a wrong solution to catch", c.Summary)
}

func TestMappingReportsTestsInNoPartAndNamesNoTestDefines(t *testing.T) {
	lab := &catalog.Lab{Manifest: &catalog.Manifest{Parts: []*catalog.Part{
		{Number: 1, Tests: []string{"TestA", "TestGone"}},
		{Number: 2, Tests: []string{"TestB"}},
	}}}
	assert.Empty(t, mapping(lab, []string{"TestB", "TestA", "TestGone"}))
	assert.Equal(t, []string{
		"TestOrphan is in no part of lab.toml, so it grades nothing",
		"part 1: lab.toml names TestGone, which the tests do not define",
	}, mapping(lab, []string{"TestOrphan", "TestB", "TestA"}))
}

func TestHasSolutionTagWantsTheTagOnTheFirstLine(t *testing.T) {
	assert.True(t, hasSolutionTag([]byte("//go:build solution\n\npackage demo\n")))
	assert.True(t, hasSolutionTag([]byte("//go:build solution\r\n\r\npackage demo\r\n")))
	assert.False(t, hasSolutionTag([]byte("package demo\n")))
	assert.False(t, hasSolutionTag([]byte("// Copyright\n//go:build solution\n\npackage demo\n")))
	assert.False(t, hasSolutionTag([]byte("//go:build solution && linux\n\npackage demo\n")))
}

func TestChecksAreReportedInOrderOnceEveryEarlierOneFinished(t *testing.T) {
	var reported []string
	v := &Verifier{Options: Options{Done: func(c *Check) { reported = append(reported, c.Name) }}}
	o := v.inOrder()
	a, b, c := o.add(&Check{Name: "a"}), o.add(&Check{Name: "b"}), o.add(&Check{Name: "c"})
	o.finish(c)
	o.finish(b)
	assert.Empty(t, reported, "a is still running")
	o.finish(a)
	assert.Equal(t, []string{"a", "b", "c"}, reported)
}

// The one case that builds: the testscripts in cmd/grader cover the rest.
func TestLabRunsEveryCheckOfAGoodLab(t *testing.T) {
	v, lab := buildingVerifier(t, fixture)

	var reported []*Check
	v.Options.Done = func(c *Check) { reported = append(reported, c) }
	checks := v.Lab(context.Background(), lab)
	assert.Equal(t, checks, reported, "reported in order, each once")

	want := [][2]string{
		{"manifest", "2 parts, 20 points, 2 tests; shipped copy up to date; 2 wrong solutions"},
		{"stub", "all 2 tests fail on the stub"},
		{"solution", "all 2 tests pass on the solution"},
		{"wrong/doubles", "caught by part 1: TestAdds"},
		{"wrong/swapped", "caught by part 2: TestSubtracts"},
		{"coverage", "every part has a wrong solution to catch"},
	}
	require.Len(t, checks, len(want))
	for i, c := range checks {
		assert.Equal(t, want[i], [2]string{c.Name, c.Summary})
		assert.True(t, c.OK, "%s: %v", c.Name, c.Problems)
	}
}

// raceFixture makes the demo lab run under the race detector and adds two
// fixtures whose Add is wrong only without it: one says Race-Detector: on.
func raceFixture() string {
	const breakWithoutRace = `
--- a/demo.go
+++ b/demo.go
@@ -4,4 +4,4 @@
 
-func Add(a, b int) int { return a + b }
+func Add(a, b int) int { return a + b + offByWithoutRace }
 
 func Sub(a, b int) int { return a - b }
--- /dev/null
+++ b/offby_race.go
@@ -0,0 +1,5 @@
+//go:build race
+
+package demo
+
+const offByWithoutRace = 0
--- /dev/null
+++ b/offby_norace.go
@@ -0,0 +1,5 @@
+//go:build !race
+
+package demo
+
+const offByWithoutRace = 1
`
	return strings.Replace(fixture, "title = \"Demo\"\n", "title = \"Demo\"\nrace = true\nrace_reason = \"a test of the verifier\"\n", 1) +
		"-- solutions/01-demo/wrong/racy-off.patch --\nMistake: wrong without the race detector only\nPart: 1\n" + breakWithoutRace +
		"-- solutions/01-demo/wrong/racy-on.patch --\nMistake: wrong without the race detector only\nPart: 1\nRace-Detector: on\n" + breakWithoutRace
}

func TestWrongSolutionsRunWithoutTheRaceDetectorUnlessTheyAsk(t *testing.T) {
	v, lab := buildingVerifier(t, raceFixture())
	v.Options.Race = true
	checks := v.Lab(context.Background(), lab)
	byName := map[string]*Check{}
	for _, c := range checks {
		byName[c.Name] = c
	}
	off := byName["wrong/racy-off"]
	require.NotNil(t, off)
	assert.True(t, off.OK, "%v", off.Problems)
	assert.Equal(t, "caught by part 1: TestAdds", off.Summary, "run without the race detector, where Add is wrong")
	on := byName["wrong/racy-on"]
	require.NotNil(t, on)
	if v.Tool.CanRace {
		assert.False(t, on.OK, "under the race detector the fixture is right, so the part passes on it")
		assert.Contains(t, strings.Join(on.Problems, "\n"), "part 1 passes on it")
	} else {
		assert.True(t, on.OK, "without cgo every run is without the race detector: %v", on.Problems)
	}
}

// buildingVerifier is newVerifierOf with the local toolchain, for the tests
// that build and run a lab's tests (skipped with -short).
func buildingVerifier(t *testing.T, workbook string) (*Verifier, *catalog.Lab) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs a lab's tests")
	}
	t.Setenv("GOTOOLCHAIN", "local")
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOFLAGS", "-mod=mod")
	tool, err := run.FindToolchain(context.Background())
	require.NoError(t, err)
	v, lab := newVerifierOf(t, workbook)
	v.Tool = tool
	return v, lab
}
