package grade_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/tools/txtar"

	"github.com/distlings/distlings/grader/grade"
	"github.com/distlings/distlings/grader/shipped"
)

const (
	demoStub   = "package demo\n\nfunc Add(a, b int) int { return 0 }\n\nfunc Sub(a, b int) int { return 0 }\n"
	demoEdited = "package demo\n\nfunc Add(a, b int) int { return a + b }\n\nfunc Sub(a, b int) int { return 0 }\n"
	twiceStub  = "package more\n\nfunc Twice(a int) int { return 0 }\n"
)

// backupTime names the backup folder of a reset at clock.
const backupTime = "20260304-050607.890"

// shippedGrader is a grader whose labs were shipped as the fixture has them.
func shippedGrader(t *testing.T) *grade.Grader {
	t.Helper()
	g := newGrader(t, "")
	for _, lab := range g.Catalog.Labs {
		require.NoError(t, shipped.Write(g.Workbook, lab))
	}
	require.NoError(t, shipped.WriteModule(g.Workbook))
	return g
}

func TestResetRestoresTheShippedStubAndBacksUpTheLearnersFile(t *testing.T) {
	g := shippedGrader(t)
	lab := findLab(t, g, "01")
	writeFile(t, filepath.Join(lab.Dir, "demo.go"), demoEdited)
	writeFile(t, filepath.Join(lab.Dir, "extra.go"), "package demo\n\nfunc helper() {}\n")

	res, err := g.Reset(lab)
	require.NoError(t, err)
	assert.Equal(t, []string{"labs/01-demo/demo.go"}, res.Restored)
	assert.Equal(t, ".grader/backups/01-demo/"+backupTime, res.Backup)

	assert.Equal(t, demoStub, readFile(t, filepath.Join(lab.Dir, "demo.go")))
	backup := filepath.Join(g.Workbook.Root, filepath.FromSlash(res.Backup))
	assert.Equal(t, demoEdited, readFile(t, filepath.Join(backup, "demo.go")))
	assert.Equal(t, "package demo\n\nfunc helper() {}\n", readFile(t, filepath.Join(lab.Dir, "extra.go")),
		"files the learner added are left alone")
	entries, err := os.ReadDir(backup)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "only the replaced stub is backed up")
}

func TestResetOfALabThatMatchesItsStubsRestoresNothing(t *testing.T) {
	g := shippedGrader(t)
	lab := findLab(t, g, "01")
	// Tests and notes are no stubs: changing them gives reset nothing to do.
	writeFile(t, filepath.Join(lab.Dir, "demo_test.go"), "package demo\n")

	res, err := g.Reset(lab)
	require.NoError(t, err)
	assert.Empty(t, res.Restored)
	assert.Empty(t, res.Backup)
	assert.NoDirExists(t, filepath.Join(g.Workbook.StateDir(), "backups"))

	writeFile(t, filepath.Join(lab.Dir, "demo.go"), demoEdited)
	_, err = g.Reset(lab)
	require.NoError(t, err)
	res, err = g.Reset(lab)
	require.NoError(t, err)
	assert.Empty(t, res.Restored, "a second reset has nothing to do")
	assert.Empty(t, res.Backup)
}

func TestResetRestoresOnlyTheStubsThatChanged(t *testing.T) {
	g := shippedGrader(t)
	lab := findLab(t, g, "02")
	writeFile(t, filepath.Join(lab.Dir, "twice.go"), "package more\n\nfunc Twice(a int) int { return 2 * a }\n")

	res, err := g.Reset(lab)
	require.NoError(t, err)
	assert.Equal(t, []string{"labs/02-more/twice.go"}, res.Restored)
	assert.Equal(t, ".grader/backups/02-more/"+backupTime, res.Backup)
	assert.Equal(t, twiceStub, readFile(t, filepath.Join(lab.Dir, "twice.go")))

	backup := filepath.Join(g.Workbook.Root, filepath.FromSlash(res.Backup))
	assert.FileExists(t, filepath.Join(backup, "twice.go"))
	assert.NoFileExists(t, filepath.Join(backup, "more.go"))
}

func TestResetPutsBackADeletedStub(t *testing.T) {
	g := shippedGrader(t)
	lab := findLab(t, g, "01")
	require.NoError(t, os.Remove(filepath.Join(lab.Dir, "demo.go")))

	res, err := g.Reset(lab)
	require.NoError(t, err)
	assert.Equal(t, []string{"labs/01-demo/demo.go"}, res.Restored)
	assert.Equal(t, demoStub, readFile(t, filepath.Join(lab.Dir, "demo.go")))
	assert.Empty(t, res.Backup, "there was no learner's version to keep")
	assert.NoDirExists(t, filepath.Join(g.Workbook.StateDir(), "backups"))
}

func TestTwoResetsAtTheSameInstantKeepBothBackups(t *testing.T) {
	g := shippedGrader(t) // its clock does not move
	lab := findLab(t, g, "01")
	var backups []string
	for _, version := range []string{demoEdited, demoEdited + "\n// again\n"} {
		writeFile(t, filepath.Join(lab.Dir, "demo.go"), version)
		res, err := g.Reset(lab)
		require.NoError(t, err)
		backups = append(backups, res.Backup)
		assert.Equal(t, version, readFile(t, filepath.Join(g.Workbook.Root, filepath.FromSlash(res.Backup), "demo.go")))
	}
	assert.NotEqual(t, backups[0], backups[1], "a second backup must not write over the first")
}

func TestResetWithoutAShippedCopyFailsAndChangesNothing(t *testing.T) {
	g := newGrader(t, "")
	lab := findLab(t, g, "01")
	writeFile(t, filepath.Join(lab.Dir, "demo.go"), demoEdited)

	_, err := g.Reset(lab)
	require.ErrorIs(t, err, shipped.ErrNoArchive)
	assert.Contains(t, err.Error(), "cannot reset lab 01 demo")
	assert.Equal(t, demoEdited, readFile(t, filepath.Join(lab.Dir, "demo.go")))
}

func TestResetWhenTheShippedCopyLacksAStubFails(t *testing.T) {
	g := newGrader(t, "")
	lab := findLab(t, g, "01")
	ar := &txtar.Archive{Files: []txtar.File{{Name: "demo_test.go", Data: []byte("package demo\n")}}}
	writeFile(t, shipped.Path(g.Workbook, lab), string(txtar.Format(ar)))
	writeFile(t, filepath.Join(lab.Dir, "demo.go"), demoEdited)

	_, err := g.Reset(lab)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot reset lab 01 demo: the shipped copy has no demo.go")
	assert.Equal(t, demoEdited, readFile(t, filepath.Join(lab.Dir, "demo.go")))
	assert.NoDirExists(t, filepath.Join(g.Workbook.StateDir(), "backups"))
}

func TestResetOfABrokenLabIsItsManifestError(t *testing.T) {
	g := newGrader(t, "-- labs/00-broken/lab.toml --\ntitle = \"\"\n")
	broken := g.Catalog.Labs[0]
	require.Error(t, broken.Err)
	_, err := g.Reset(broken)
	assert.Equal(t, broken.Err, err)
}
