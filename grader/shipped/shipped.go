// Package shipped keeps each lab's Go files as they were shipped, in
// labs/.shipped/NN-name.txtar. `grader reset` restores stubs from it, and
// `grader test` compiles the shipped tests (not the copies on disk, which a
// learner may have edited) against the learner's files. Maintainers rewrite
// the archives with `grader ship`; `grader verify` fails when one is stale.
package shipped

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/tools/txtar"

	"github.com/distlings/distlings/grader/catalog"
)

// Dir is the archives' folder inside labs/. Go tooling ignores folders that
// start with a dot, so the archives never build as a package.
const Dir = ".shipped"

// ErrNoArchive means the lab has no shipped archive yet.
var ErrNoArchive = errors.New("no shipped copy of the lab")

// Path is the archive of a lab.
func Path(w *catalog.Workbook, lab *catalog.Lab) string {
	return filepath.Join(w.LabsDir(), Dir, lab.Name+".txtar")
}

const header = `The Go files of %s as shipped. grader reset restores stubs from here and
grader test compiles these tests against your files. Written by "grader ship";
do not edit.
`

// Files returns the shipped Go files of a lab by file name.
func Files(w *catalog.Workbook, lab *catalog.Lab) (map[string][]byte, error) {
	return readArchive(w, Path(w, lab))
}

// readArchive returns the files of an archive by name.
func readArchive(w *catalog.Workbook, path string) (map[string][]byte, error) {
	ar, err := txtar.ParseFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s is missing", ErrNoArchive, w.Rel(path))
	}
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, f := range ar.Files {
		files[f.Name] = f.Data
	}
	return files, nil
}

// OnDisk returns the lab's Go files as they are now. A name that is not a
// regular file of at most MaxFileBytes (a pipe, a link to /dev/zero, a
// folder) is left out: reading it could block or never end.
func OnDisk(lab *catalog.Lab) (map[string][]byte, error) {
	entries, err := os.ReadDir(lab.Dir)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		data, ok, err := ReadSource(filepath.Join(lab.Dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if ok {
			files[e.Name()] = data
		}
	}
	return files, nil
}

// MaxFileBytes bounds a source file the grader reads from a lab folder.
const MaxFileBytes = 4 << 20

// ReadSource reads a source file if it is a regular file (a link to one is
// followed) of at most MaxFileBytes; ok is false, with no error, if not.
func ReadSource(path string) (data []byte, ok bool, err error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > MaxFileBytes {
		return nil, false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	data, err = io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil || len(data) > MaxFileBytes {
		return nil, false, err
	}
	return data, true, nil
}

// Write records the lab's Go files as they are now as its shipped copy.
// A lab with a testdata folder cannot be shipped: the archive holds Go
// files only, and graded runs must not read what a learner can edit.
func Write(w *catalog.Workbook, lab *catalog.Lab) error {
	if fi, err := os.Stat(filepath.Join(lab.Dir, "testdata")); err == nil && fi.IsDir() {
		return fmt.Errorf("cannot ship %s: it has a testdata folder, which the shipped copy cannot hold; put test data in a _test.go file", lab.RelDir)
	}
	files, err := OnDisk(lab)
	if err != nil {
		return err
	}
	return writeArchive(Path(w, lab), fmt.Sprintf(header, lab.RelDir), files, lab.RelDir)
}

// Stale lists how the lab's files on disk differ from its shipped copy, one
// line per file. Maintainers call it; in a learner's copy stubs differ by design.
func Stale(w *catalog.Workbook, lab *catalog.Lab) ([]string, error) {
	shipped, err := Files(w, lab)
	if err != nil {
		return nil, err
	}
	disk, err := OnDisk(lab)
	if err != nil {
		return nil, err
	}
	return Diff(shipped, disk), nil
}

// IsTest reports whether a file name is a test file.
func IsTest(name string) bool { return strings.HasSuffix(name, "_test.go") }

func sortedNames(m map[string][]byte) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
