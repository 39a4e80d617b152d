package catalog_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/grader/catalog"
)

// writeFiles creates files (slash-separated paths) under root.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	}
}

func labManifest(title string) string {
	return `title = "` + title + `"
stubs = ["lab.go"]

[[part]]
title = "Only part"
points = 1
tests = ["TestIt"]
hints = ["try"]
`
}

// newWorkbook makes a workbook with the given labs (folder name → title) and
// loads its catalog.
func newWorkbook(t *testing.T, labs ...string) *catalog.Catalog {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{"go.mod": "module example.com/wb\n\ngo 1.26\n"}
	for _, name := range labs {
		files["labs/"+name+"/lab.toml"] = labManifest(strings.ToUpper(name[3:4]) + name[4:])
		files["labs/"+name+"/lab.go"] = "package lab\n"
	}
	writeFiles(t, root, files)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "labs"), 0o755))
	w, err := catalog.FindWorkbook(root)
	require.NoError(t, err)
	c, err := catalog.Load(w)
	require.NoError(t, err)
	return c
}

func TestFindWorkbookWalksUpFromSubfolder(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"go.mod":                   "module example.com/wb\n",
		"labs/01-alpha/deep/x.txt": "",
		// A go.mod without labs/ beside it is not the workbook.
		"labs/01-alpha/go.mod": "module example.com/nested\n",
	})
	w, err := catalog.FindWorkbook(filepath.Join(root, "labs", "01-alpha", "deep"))
	require.NoError(t, err)
	assert.Equal(t, root, w.Root)
	assert.Equal(t, "example.com/wb", w.Module)
	assert.Equal(t, filepath.Join(root, "labs"), w.LabsDir())
	assert.Equal(t, filepath.Join(root, ".grader"), w.StateDir())
	assert.Equal(t, "labs/01-alpha/lab.toml", w.Rel(filepath.Join(root, "labs", "01-alpha", "lab.toml")))
	assert.False(t, w.HasSolutions())

	require.NoError(t, os.Mkdir(filepath.Join(root, "solutions"), 0o755))
	assert.True(t, w.HasSolutions())
}

func TestFindWorkbookOutsideWorkbookFails(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"go.mod": "module example.com/nolabs\n"})
	_, err := catalog.FindWorkbook(dir)
	require.ErrorIs(t, err, catalog.ErrNoWorkbook)
}

func TestFindWorkbookRejectsGoModWithoutModule(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"go.mod": "go 1.26\n", "labs/.keep": ""})
	_, err := catalog.FindWorkbook(root)
	require.Error(t, err)
	assert.NotErrorIs(t, err, catalog.ErrNoWorkbook)
	assert.Contains(t, err.Error(), "no module line")
}

func TestLoadListsLabFoldersInOrderAndIgnoresOthers(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"go.mod":                     "module example.com/wb\n",
		"labs/02-two-words/lab.go":   "package lab\n",
		"labs/02-two-words/lab.toml": labManifest("Two"),
		"labs/01-one/lab.go":         "package lab\n",
		"labs/01-one/lab.toml":       labManifest("One"),
		"labs/03-broken/lab.toml":    "title = \"Broken\"\n",
		"labs/04-nomanifest/lab.go":  "package lab\n",
		"labs/internal/kit.go":       "package internal\n",
		"labs/.shipped/01-one.txtar": "",
		"labs/5-short/lab.toml":      labManifest("Short"),
		"labs/06-Upper/lab.toml":     labManifest("Upper"),
		"labs/07-trailing-/lab.toml": labManifest("Trailing"),
		"labs/08-file":               "not a folder",
	})
	w, err := catalog.FindWorkbook(root)
	require.NoError(t, err)
	c, err := catalog.Load(w)
	require.NoError(t, err)
	assert.Same(t, w, c.Workbook)

	var ids []string
	for _, l := range c.Labs {
		ids = append(ids, l.ID())
	}
	assert.Equal(t, []string{"01 one", "02 two-words", "03 broken", "04 nomanifest"}, ids)

	one := c.Labs[0]
	assert.Equal(t, 1, one.Number)
	assert.Equal(t, "one", one.Slug)
	assert.Equal(t, "01-one", one.Name)
	assert.Equal(t, filepath.Join(root, "labs", "01-one"), one.Dir)
	assert.Equal(t, "labs/01-one", one.RelDir)
	assert.Equal(t, "example.com/wb/labs/01-one", one.ImportPath)
	require.NoError(t, one.Err)
	require.NotNil(t, one.Manifest)
	assert.Equal(t, "One", one.Title)
}

func TestLabWithBrokenManifestIsListedWithErr(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"go.mod":                    "module example.com/wb\n",
		"labs/01-good/lab.go":       "package lab\n",
		"labs/01-good/lab.toml":     labManifest("Good"),
		"labs/02-broken/lab.toml":   "title = \"Broken\"\n",
		"labs/03-nomanifest/lab.go": "package lab\n",
	})
	w, err := catalog.FindWorkbook(root)
	require.NoError(t, err)
	c, err := catalog.Load(w)
	require.NoError(t, err)
	require.Len(t, c.Labs, 3)

	assert.NoError(t, c.Labs[0].Err)

	broken := c.Labs[1]
	assert.Nil(t, broken.Manifest)
	var merr *catalog.ManifestError
	require.ErrorAs(t, broken.Err, &merr)
	assert.Equal(t, "labs/02-broken/lab.toml", merr.File)
	assert.Equal(t, "stubs", merr.Field)

	missing := c.Labs[2]
	assert.Nil(t, missing.Manifest)
	require.ErrorAs(t, missing.Err, &merr)
	assert.Equal(t, "labs/03-nomanifest/lab.toml", merr.File)
	assert.Contains(t, merr.Msg, "missing")
}

func TestLabNumberUsedTwiceIsAnError(t *testing.T) {
	c := newWorkbook(t, "01-alpha", "01-beta", "02-gamma")
	require.Len(t, c.Labs, 3)
	assert.NoError(t, c.Labs[0].Err)
	assert.Equal(t, "alpha", c.Labs[0].Slug)

	dup := c.Labs[1]
	assert.Equal(t, "beta", dup.Slug)
	assert.Nil(t, dup.Manifest)
	var merr *catalog.ManifestError
	require.ErrorAs(t, dup.Err, &merr)
	assert.Equal(t, "labs/01-beta", merr.File)
	assert.Contains(t, merr.Msg, "also used by labs/01-alpha")
}

func TestLoadWithoutLabsFolderFails(t *testing.T) {
	_, err := catalog.Load(&catalog.Workbook{Root: t.TempDir(), Module: "example.com/wb"})
	require.Error(t, err)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestFindAcceptsNumberNameAndFolder(t *testing.T) {
	c := newWorkbook(t, "01-alpha", "02-also", "03-beta", "12-gamma")
	root := c.Workbook.Root
	alphaDir := filepath.Join(root, "labs", "01-alpha")
	require.NoError(t, os.Mkdir(filepath.Join(alphaDir, "sub"), 0o755))

	cases := []struct {
		name, cwd, want string
	}{
		{"1", root, "01-alpha"},
		{"01", root, "01-alpha"},
		{" 3 ", root, "03-beta"},
		{"12", root, "12-gamma"},
		{"alpha", root, "01-alpha"},
		{"ALPHA", root, "01-alpha"},
		{"01-alpha", root, "01-alpha"},
		{"01-alpha/", root, "01-alpha"},
		{"alp", root, "01-alpha"},
		{"als", root, "02-also"},
		{"b", root, "03-beta"},
		{"labs/03-beta", root, "03-beta"},
		{"labs/03-beta/", root, "03-beta"},
		{"./labs/12-gamma", root, "12-gamma"},
		{"03-beta", alphaDir, "03-beta"},
		{".", alphaDir, "01-alpha"},
		{"..", filepath.Join(alphaDir, "sub"), "01-alpha"},
		{"../02-also", alphaDir, "02-also"},
		{filepath.Join(root, "labs", "12-gamma"), t.TempDir(), "12-gamma"},
	}
	for _, tc := range cases {
		lab, err := c.Find(tc.name, tc.cwd)
		if assert.NoError(t, err, "Find(%q)", tc.name) {
			assert.Equal(t, tc.want, lab.Name, "Find(%q)", tc.name)
		}
	}
}

func TestUnknownLabErrorListsTheLabs(t *testing.T) {
	c := newWorkbook(t, "01-alpha", "02-also", "03-beta")
	root := c.Workbook.Root
	for _, name := range []string{"", "  ", "4", "0", "zeta", "al", "labs/04-delta", ".", "/nowhere/01-alpha"} {
		lab, err := c.Find(name, root)
		assert.Nil(t, lab, "Find(%q)", name)
		var unknown *catalog.UnknownLabError
		if assert.ErrorAs(t, err, &unknown, "Find(%q)", name) {
			assert.Equal(t, name, unknown.Name)
			assert.Equal(t, c.Labs, unknown.Labs)
		}
	}

	_, err := c.Find("zeta", root)
	msg := err.Error()
	assert.True(t, strings.HasPrefix(msg, `no lab "zeta". The labs are:`), msg)
	assert.Contains(t, msg, "\n  01  alpha")
	assert.Contains(t, msg, "Alpha")
	assert.Contains(t, msg, "\n  03  beta")
}

func TestUnknownLabErrorWithNoLabsSaysSo(t *testing.T) {
	c := newWorkbook(t)
	_, err := c.Find("1", c.Workbook.Root)
	var unknown *catalog.UnknownLabError
	require.True(t, errors.As(err, &unknown))
	assert.Contains(t, err.Error(), "(none: labs/ has no NN-name folders)")
}

func TestUnknownLabErrorListsBrokenLabWithoutTitle(t *testing.T) {
	err := &catalog.UnknownLabError{Name: "x", Labs: []*catalog.Lab{{Number: 2, Slug: "broken", Err: errors.New("bad")}}}
	assert.Contains(t, err.Error(), "\n  02  broken")
}
