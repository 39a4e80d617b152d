package verify

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const solution = "//go:build solution\n\npackage demo\n\nfunc Add(a, b int) int { return a + b }\n\nfunc Sub(a, b int) int { return a - b }\n"

// addDiff changes Add in the solution above; it is a plain unified diff, so
// its file names keep their a/ and b/ prefixes.
const addDiff = `--- a/demo.go
+++ b/demo.go
@@ -2,6 +2,6 @@
 
 package demo
 
-func Add(a, b int) int { return a + b }
+func Add(a, b int) int { return a + a }
 
 func Sub(a, b int) int { return a - b }
`

const addWrong = "package demo\n\nfunc Add(a, b int) int { return a + a }\n\nfunc Sub(a, b int) int { return a - b }\n"

// solutionDir makes a solutions/01-demo folder holding demo.go and the given
// wrong/NAME.patch files.
func solutionDir(t *testing.T, patches map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "solutions", "01-demo")
	writeFile(t, filepath.Join(dir, "demo.go"), solution)
	for name, text := range patches {
		writeFile(t, filepath.Join(dir, "wrong", name), text)
	}
	return dir
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
}

// loadOne loads the only fixture of a solution folder holding patch.
func loadOne(t *testing.T, patch string) (*Wrong, string) {
	t.Helper()
	dir := solutionDir(t, map[string]string{"w.patch": patch})
	wrongs, err := LoadWrong(dir)
	require.NoError(t, err)
	require.Len(t, wrongs, 1)
	return wrongs[0], dir
}

// loadErr is the error LoadWrong gives for a folder holding only patch.
func loadErr(t *testing.T, patch string) error {
	t.Helper()
	wrongs, err := LoadWrong(solutionDir(t, map[string]string{"w.patch": patch}))
	require.Error(t, err)
	assert.Nil(t, wrongs)
	assert.Contains(t, err.Error(), "w.patch: ")
	return err
}

// applyOne applies w and returns the patched text of name.
func applyOne(t *testing.T, w *Wrong, solDir, name string) string {
	t.Helper()
	out, err := w.Apply(solDir, t.TempDir())
	require.NoError(t, err)
	require.Contains(t, out, name)
	data, err := os.ReadFile(out[name])
	require.NoError(t, err)
	return string(data)
}

func TestLoadWrongReadsHeadersWithContinuationLines(t *testing.T) {
	w, dir := loadOne(t, "Mistake: doubles the first operand\n"+
		"  instead of adding\n\tthe second\n"+
		"Part: 2\n"+
		"Caught-By: TestAdds,\n  TestAddsNegative TestAddsZero\n"+
		"\n"+addDiff)
	assert.Equal(t, "w", w.Name)
	assert.Equal(t, filepath.Join(dir, "wrong", "w.patch"), w.Path)
	assert.Equal(t, "doubles the first operand instead of adding the second", w.Mistake)
	assert.Equal(t, 2, w.Part)
	assert.Equal(t, []string{"TestAdds", "TestAddsNegative", "TestAddsZero"}, w.CaughtBy)
}

func TestLoadWrongWithoutCaughtByMeansAnyTestOfThePart(t *testing.T) {
	w, _ := loadOne(t, "Mistake: m\nPart: 1\n\n"+addDiff)
	assert.Empty(t, w.CaughtBy)
}

func TestLoadWrongReadsRaceDetector(t *testing.T) {
	w, _ := loadOne(t, "Mistake: m\nPart: 1\nRace-Detector: on\n\n"+addDiff)
	assert.True(t, w.Race)
	for _, hdr := range []string{"", "Race-Detector: off\n"} {
		w, _ = loadOne(t, "Mistake: m\nPart: 1\n"+hdr+"\n"+addDiff)
		assert.False(t, w.Race, "%q: a fixture is caught without the race detector", hdr)
	}
	err := loadErr(t, "Mistake: m\nPart: 1\nRace-Detector: yes\n\n"+addDiff)
	assert.Contains(t, err.Error(), `Race-Detector: "yes": on or off`)
}

func TestLoadWrongReadsEveryPatchInNameOrder(t *testing.T) {
	dir := solutionDir(t, map[string]string{
		"zeta.patch":  "Mistake: z\nPart: 1\n\n" + addDiff,
		"alpha.patch": "Mistake: a\nPart: 1\n\n" + addDiff,
		"notes.txt":   "not a fixture",
	})
	wrongs, err := LoadWrong(dir)
	require.NoError(t, err)
	require.Len(t, wrongs, 2)
	assert.Equal(t, "alpha", wrongs[0].Name)
	assert.Equal(t, "zeta", wrongs[1].Name)
}

func TestLoadWrongOfAFolderWithoutFixturesIsEmpty(t *testing.T) {
	wrongs, err := LoadWrong(solutionDir(t, nil))
	require.NoError(t, err)
	assert.Empty(t, wrongs)
}

func TestLoadWrongWithoutMistakeIsAnError(t *testing.T) {
	for _, patch := range []string{
		"Part: 1\n\n" + addDiff,
		"Mistake:   \nPart: 1\n\n" + addDiff,
		addDiff, // no headers at all
	} {
		err := loadErr(t, patch)
		assert.Contains(t, err.Error(), "no Mistake: header saying what the learner got wrong")
	}
}

func TestLoadWrongWithABadPartIsAnError(t *testing.T) {
	for _, part := range []string{"", "Part: two\n", "Part: 0\n", "Part: -1\n", "Part: 1.5\n", "Part: 1, 2\n"} {
		err := loadErr(t, "Mistake: m\n"+part+"\n"+addDiff)
		assert.Contains(t, err.Error(), "Part: header must be the number of the part that catches it", "%q", part)
	}
}

func TestLoadWrongWithoutADiffIsAnError(t *testing.T) {
	err := loadErr(t, "Mistake: m\nPart: 1\n")
	assert.Contains(t, err.Error(), "no diff after the headers")
}

func TestLoadWrongWithAMalformedHeaderIsAnError(t *testing.T) {
	err := loadErr(t, "Mistake: m\nthis line is no header\nPart: 1\n\n"+addDiff)
	assert.Contains(t, err.Error(), "headers: ")
}

func TestApplyStripsTheABPrefixesOfAPlainUnifiedDiff(t *testing.T) {
	w, dir := loadOne(t, "Mistake: m\nPart: 1\n\n"+addDiff)
	out, err := w.Apply(dir, t.TempDir())
	require.NoError(t, err)
	assert.Equal(t, []string{"demo.go"}, keys(out))
	got := applyOne(t, w, dir, "demo.go")
	assert.Equal(t, "//go:build solution\n\n"+addWrong, got)
}

func TestApplyTakesGitDiffNamesAsTheyAre(t *testing.T) {
	w, dir := loadOne(t, "Mistake: m\nPart: 1\n\ndiff --git a/demo.go b/demo.go\nindex 1111111..2222222 100644\n"+addDiff)
	assert.Equal(t, "//go:build solution\n\n"+addWrong, applyOne(t, w, dir, "demo.go"))
}

func TestApplyKeepsAFolderNamedBInAGitDiff(t *testing.T) {
	diff := "diff --git a/b/demo.go b/b/demo.go\nindex 1111111..2222222 100644\n" +
		strings.NewReplacer("a/demo.go", "a/b/demo.go", "b/demo.go", "b/b/demo.go").Replace(addDiff)
	w, _ := loadOne(t, "Mistake: m\nPart: 1\n\n"+diff)
	_, err := w.Apply(t.TempDir(), t.TempDir())
	require.Error(t, err, "the solution has no b/demo.go")
	assert.Contains(t, err.Error(), "changes b/demo.go", "git diffs name files without prefixes: b/ is a folder here")
}

func TestCaughtByIsSplitOnCommasAndAnySpace(t *testing.T) {
	w, _ := loadOne(t, "Mistake: m\nPart: 1\nCaught-By: TestA,TestB\tTestC  TestD\n\n"+addDiff)
	assert.Equal(t, []string{"TestA", "TestB", "TestC", "TestD"}, w.CaughtBy)
}

func TestApplyAcceptsADiffWithoutPrefixes(t *testing.T) {
	w, dir := loadOne(t, "Mistake: m\nPart: 1\n\n"+strings.NewReplacer("a/demo.go", "demo.go", "b/demo.go", "demo.go").Replace(addDiff))
	assert.Equal(t, "//go:build solution\n\n"+addWrong, applyOne(t, w, dir, "demo.go"))
}

func TestApplyMayAddANewFile(t *testing.T) {
	w, dir := loadOne(t, "Mistake: m\nPart: 1\n\n"+addDiff+
		"--- /dev/null\n+++ b/extra.go\n@@ -0,0 +1,3 @@\n+//go:build solution\n+\n+package demo\n")
	out, err := w.Apply(dir, t.TempDir())
	require.NoError(t, err)
	assert.Equal(t, []string{"demo.go", "extra.go"}, keys(out))
	assert.Equal(t, "//go:build solution\n\npackage demo\n", applyOne(t, w, dir, "extra.go"))
	assert.NoFileExists(t, filepath.Join(dir, "extra.go"), "the solution folder is left alone")
}

func TestApplyWritesPatchedFilesIntoTheGivenFolderOnly(t *testing.T) {
	w, dir := loadOne(t, "Mistake: m\nPart: 1\n\n"+addDiff)
	tmp := t.TempDir()
	out, err := w.Apply(dir, tmp)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(tmp, "w.demo.go"), out["demo.go"])
	data, err := os.ReadFile(filepath.Join(dir, "demo.go"))
	require.NoError(t, err)
	assert.Equal(t, solution, string(data), "the solution is not patched in place")
}

func TestApplyRefusesAPatchThatDeletesAFile(t *testing.T) {
	deletes := "--- a/demo.go\n+++ /dev/null\n@@ -1,7 +0,0 @@\n" + prefixLines("-", solution)
	for name, diff := range map[string]string{
		"plain": deletes,
		"git":   "diff --git a/demo.go b/demo.go\ndeleted file mode 100644\nindex 1111111..0000000\n" + deletes,
	} {
		w, dir := loadOne(t, "Mistake: m\nPart: 1\n\n"+diff)
		_, err := w.Apply(dir, t.TempDir())
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "w.patch: a fixture may change or add files, not delete, rename or copy them", name)
	}
}

func TestApplyReportsAPatchThatNoLongerApplies(t *testing.T) {
	w, dir := loadOne(t, "Mistake: m\nPart: 1\n\n"+addDiff)
	writeFile(t, filepath.Join(dir, "demo.go"), strings.Replace(solution, "return a + b", "return b + a", 1))
	_, err := w.Apply(dir, t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "w.patch no longer applies to demo.go (was the solution changed?)")
}

func TestApplyFindsAChangeThatMovedAFewLines(t *testing.T) {
	w, dir := loadOne(t, "Mistake: m\nPart: 1\n\n"+addDiff)
	grown := strings.Replace(solution, "//go:build solution\n", "//go:build solution\n// Three lines added\n// above the change,\n// which moves down.\n", 1)
	writeFile(t, filepath.Join(dir, "demo.go"), grown)
	assert.Equal(t, strings.Replace(grown, "return a + b }", "return a + a }", 1), applyOne(t, w, dir, "demo.go"),
		"the change is made where its lines now are, 3 lines down")
	assert.True(t, w.Offset, "and the fixture says it should be remade")

	w, dir = loadOne(t, "Mistake: m\nPart: 1\n\n"+addDiff)
	applyOne(t, w, dir, "demo.go")
	assert.False(t, w.Offset, "a patch that applies where it says has no offset")
}

func TestApplyReportsAFileTheSolutionLacks(t *testing.T) {
	w, dir := loadOne(t, "Mistake: m\nPart: 1\n\n"+strings.ReplaceAll(addDiff, "demo.go", "other.go"))
	_, err := w.Apply(dir, t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "w.patch changes other.go, which the solution does not have")
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func prefixLines(prefix, text string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(strings.TrimSuffix(text, "\n"), "\n") {
		b.WriteString(prefix + l)
	}
	return b.String() + "\n"
}
