package shipped

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/google/renameio/v2"
	"golang.org/x/tools/txtar"

	"github.com/distlings/distlings/grader/catalog"
)

// ModuleName is the archive of what every lab's build needs besides the
// lab itself: go.mod, go.sum and the kits under labs/ (labs/internal and
// the like), so that an edited simulator or go.mod cannot change a grade.
const ModuleName = "module.txtar"

// ModulePath is the module archive of a workbook.
func ModulePath(w *catalog.Workbook) string {
	return filepath.Join(w.LabsDir(), Dir, ModuleName)
}

const moduleHeader = `What every lab's build needs besides the lab, as shipped: go.mod, go.sum
and the kits under labs/. grader test builds from these. Written by
"grader ship"; do not edit.
`

// ModuleFiles returns the shipped module files by path from the workbook
// root, with forward slashes.
func ModuleFiles(w *catalog.Workbook) (map[string][]byte, error) {
	return readArchive(w, ModulePath(w))
}

// ModuleOnDisk returns go.mod, go.sum and every non-test Go file under
// labs/ outside the lab folders, as they are now.
func ModuleOnDisk(w *catalog.Workbook) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, name := range []string{"go.mod", "go.sum"} {
		data, ok, err := ReadSource(filepath.Join(w.Root, name))
		if err != nil {
			return nil, err
		}
		if ok {
			files[name] = data
		}
	}
	err := filepath.WalkDir(w.LabsDir(), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != w.LabsDir() && (isLabFolder(w, path) || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || IsTest(path) {
			return nil
		}
		data, ok, err := ReadSource(path)
		if ok {
			files[w.Rel(path)] = data
		}
		return err
	})
	return files, err
}

// isLabFolder reports whether path is a lab's folder, labs/NN-name.
func isLabFolder(w *catalog.Workbook, path string) bool {
	return filepath.Dir(path) == w.LabsDir() && labFolder.MatchString(filepath.Base(path))
}

var labFolder = regexp.MustCompile(`^\d{2}-`)

// WriteModule records the module files as they are now.
func WriteModule(w *catalog.Workbook) error {
	files, err := ModuleOnDisk(w)
	if err != nil {
		return err
	}
	return writeArchive(ModulePath(w), moduleHeader, files, "the module files")
}

// ModuleStale lists how the module files on disk differ from the archive.
func ModuleStale(w *catalog.Workbook) ([]string, error) {
	shipped, err := ModuleFiles(w)
	if err != nil {
		return nil, err
	}
	disk, err := ModuleOnDisk(w)
	if err != nil {
		return nil, err
	}
	return Diff(shipped, disk), nil
}

// writeArchive writes files as a txtar archive, refusing what txtar cannot
// hold exactly.
func writeArchive(path, comment string, files map[string][]byte, what string) error {
	ar := &txtar.Archive{Comment: []byte(comment)}
	for _, name := range sortedNames(files) {
		ar.Files = append(ar.Files, txtar.File{Name: name, Data: files[name]})
	}
	data := txtar.Format(ar)
	back := txtar.Parse(data)
	if len(back.Files) != len(files) {
		return fmt.Errorf("cannot ship %s: a file has a line of the form \"-- name --\", which the shipped archive cannot hold", what)
	}
	for _, f := range back.Files {
		if !bytes.Equal(f.Data, files[f.Name]) {
			return fmt.Errorf("cannot ship %s: it must end with a newline and have no line of the form \"-- name --\" (gofmt fixes the first)", f.Name)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return renameio.WriteFile(path, data, 0o644)
}

// Diff says, one line per file, how disk differs from shipped.
func Diff(shipped, disk map[string][]byte) []string {
	var diffs []string
	for _, name := range sortedNames(disk) {
		old, ok := shipped[name]
		switch {
		case !ok:
			diffs = append(diffs, name+" is not in the shipped copy")
		case !bytes.Equal(old, disk[name]):
			diffs = append(diffs, name+" differs from the shipped copy")
		}
	}
	for _, name := range sortedNames(shipped) {
		if _, ok := disk[name]; !ok {
			diffs = append(diffs, name+" is shipped but missing on disk")
		}
	}
	return diffs
}
