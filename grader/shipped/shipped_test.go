package shipped_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/tools/txtar"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/shipped"
)

const manifest = `title = "Alpha"
stubs = ["alpha.go"]

[[part]]
title = "Only part"
points = 1
tests = ["TestAlpha"]
hints = ["try"]
`

// newLab makes a workbook holding one lab, labs/01-alpha, with a stub, its
// test, and files that are not the lab's Go files.
func newLab(t *testing.T) (*catalog.Workbook, *catalog.Lab) {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"go.mod":                        "module example.com/wb\n",
		"labs/01-alpha/lab.toml":        manifest,
		"labs/01-alpha/alpha.go":        "package alpha\n\nfunc Alpha() int { return 0 }\n",
		"labs/01-alpha/alpha_test.go":   "package alpha\n\nimport \"testing\"\n\nfunc TestAlpha(t *testing.T) {}\n",
		"labs/01-alpha/notes.md":        "# not Go\n",
		"labs/01-alpha/helper/extra.go": "package helper\n",
	}
	for name, text := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	}
	w, err := catalog.FindWorkbook(root)
	require.NoError(t, err)
	c, err := catalog.Load(w)
	require.NoError(t, err)
	require.Len(t, c.Labs, 1)
	require.NoError(t, c.Labs[0].Err)
	return w, c.Labs[0]
}

func writeLabFile(t *testing.T, lab *catalog.Lab, name, text string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(lab.Dir, name), []byte(text), 0o644))
}

func TestPathIsInsideDotShipped(t *testing.T) {
	w, lab := newLab(t)
	assert.Equal(t, filepath.Join(w.Root, "labs", ".shipped", "01-alpha.txtar"), shipped.Path(w, lab))
}

func TestOnDiskReadsOnlyTheLabsGoFiles(t *testing.T) {
	_, lab := newLab(t)
	files, err := shipped.OnDisk(lab)
	require.NoError(t, err)
	assert.Len(t, files, 2)
	assert.Contains(t, files, "alpha.go")
	assert.Contains(t, files, "alpha_test.go")
	assert.Equal(t, "package alpha\n\nfunc Alpha() int { return 0 }\n", string(files["alpha.go"]))
}

func TestWriteThenFilesRoundTripsOnDisk(t *testing.T) {
	w, lab := newLab(t)
	require.NoError(t, shipped.Write(w, lab))

	onDisk, err := shipped.OnDisk(lab)
	require.NoError(t, err)
	files, err := shipped.Files(w, lab)
	require.NoError(t, err)
	assert.Equal(t, onDisk, files)

	ar, err := txtar.ParseFile(shipped.Path(w, lab))
	require.NoError(t, err)
	assert.Contains(t, string(ar.Comment), "The Go files of labs/01-alpha as shipped")
	var names []string
	for _, f := range ar.Files {
		names = append(names, f.Name)
	}
	assert.Equal(t, []string{"alpha.go", "alpha_test.go"}, names, "files are archived in name order")

	stale, err := shipped.Stale(w, lab)
	require.NoError(t, err)
	assert.Empty(t, stale, "a lab just shipped is not stale")
}

func TestWriteIsRepeatableAndLeavesNoTemporaryFiles(t *testing.T) {
	w, lab := newLab(t)
	require.NoError(t, shipped.Write(w, lab))
	first, err := os.ReadFile(shipped.Path(w, lab))
	require.NoError(t, err)
	require.NoError(t, shipped.Write(w, lab))
	second, err := os.ReadFile(shipped.Path(w, lab))
	require.NoError(t, err)
	assert.Equal(t, first, second, "the same files give the same archive")

	entries, err := os.ReadDir(filepath.Dir(shipped.Path(w, lab)))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "01-alpha.txtar", entries[0].Name())
}

func TestMissingArchiveIsErrNoArchive(t *testing.T) {
	w, lab := newLab(t)

	files, err := shipped.Files(w, lab)
	assert.Nil(t, files)
	require.ErrorIs(t, err, shipped.ErrNoArchive)
	assert.Contains(t, err.Error(), "labs/.shipped/01-alpha.txtar is missing")

	_, err = shipped.Stale(w, lab)
	require.ErrorIs(t, err, shipped.ErrNoArchive)
}

func TestStaleDetectsChangedNewAndMissingFiles(t *testing.T) {
	w, lab := newLab(t)
	require.NoError(t, shipped.Write(w, lab))

	writeLabFile(t, lab, "alpha.go", "package alpha\n\nfunc Alpha() int { return 1 }\n")
	stale, err := shipped.Stale(w, lab)
	require.NoError(t, err)
	assert.Equal(t, []string{"alpha.go differs from the shipped copy"}, stale)

	writeLabFile(t, lab, "beta.go", "package alpha\n")
	require.NoError(t, os.Remove(filepath.Join(lab.Dir, "alpha_test.go")))
	writeLabFile(t, lab, "notes.md", "edits to non-Go files do not matter\n")
	stale, err = shipped.Stale(w, lab)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"alpha.go differs from the shipped copy",
		"beta.go is not in the shipped copy",
		"alpha_test.go is shipped but missing on disk",
	}, stale)

	// The shipped copy itself is untouched by the edits.
	files, err := shipped.Files(w, lab)
	require.NoError(t, err)
	assert.Contains(t, string(files["alpha.go"]), "return 0")
	assert.Contains(t, files, "alpha_test.go")
	assert.NotContains(t, files, "beta.go")

	// Shipping again makes the lab current.
	require.NoError(t, shipped.Write(w, lab))
	stale, err = shipped.Stale(w, lab)
	require.NoError(t, err)
	assert.Empty(t, stale)
}

func TestStaleNoticesEvenAOneByteChange(t *testing.T) {
	w, lab := newLab(t)
	require.NoError(t, shipped.Write(w, lab))
	data, err := os.ReadFile(filepath.Join(lab.Dir, "alpha_test.go"))
	require.NoError(t, err)
	writeLabFile(t, lab, "alpha_test.go", strings.Replace(string(data), "{}", "{ }", 1))

	stale, err := shipped.Stale(w, lab)
	require.NoError(t, err)
	assert.Equal(t, []string{"alpha_test.go differs from the shipped copy"}, stale)
}

func TestIsTestRecognisesTestFiles(t *testing.T) {
	assert.True(t, shipped.IsTest("alpha_test.go"))
	assert.False(t, shipped.IsTest("alpha.go"))
	assert.False(t, shipped.IsTest("test.go"))
	assert.False(t, shipped.IsTest("alpha_test.go.orig"))
}

func TestWriteRefusesFilesTheArchiveCannotHoldExactly(t *testing.T) {
	for name, content := range map[string]string{
		"no final newline":  "package alpha\n\nfunc F() {}",
		"txtar header line": "package alpha\n\nconst fixture = `\n-- other.go --\n`\n",
	} {
		t.Run(name, func(t *testing.T) {
			w, lab := newLab(t)
			writeLabFile(t, lab, "odd.go", content)
			err := shipped.Write(w, lab)
			require.Error(t, err, "a copy that reads back differently must not be shipped")
			assert.Contains(t, err.Error(), "cannot ship")
			assert.NoFileExists(t, shipped.Path(w, lab))
		})
	}
}

func TestOnDiskWorksInAFolderWithGlobCharacters(t *testing.T) {
	_, lab := newLab(t)
	odd := filepath.Join(t.TempDir(), "wb[1]*?")
	require.NoError(t, os.Rename(lab.Dir, odd))
	lab.Dir = odd
	files, err := shipped.OnDisk(lab)
	require.NoError(t, err)
	assert.Contains(t, files, "alpha.go")
}

func TestALabWithTestdataIsNotShipped(t *testing.T) {
	w, lab := newLab(t)
	require.NoError(t, os.MkdirAll(filepath.Join(lab.Dir, "testdata"), 0o755))
	err := shipped.Write(w, lab)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "has a testdata folder")
}
