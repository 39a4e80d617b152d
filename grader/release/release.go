// Package release writes a student release of the workbook: everything a
// student works with, and nothing that gives the labs away.
package release

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/distlings/distlings/grader/catalog"
)

// Left out of a release: the reference solutions and their wrong
// variants, the maintainers' CI, and the grader's state.
var leftOut = []string{"solutions", ".ci", ".grader", ".git"}

// Note is the section a release's README gains.
const Note = `
## This is a student release

This copy has no reference solutions. Everything you need works here:
` + "`grader status`, `grader test`, `grader hint`, `grader reset` and `grader watch`" + `,
` + "`go test`" + ` per lab, and ` + "`raftrun`" + ` on your own nodes. What needs the
maintainers' copy says so: ` + "`grader verify`" + ` and ` + "`raftrun -solution`" + `.
`

// Write writes a release of w into dest, which must not exist yet or be
// an empty folder: a release never overwrites anything.
func Write(w *catalog.Workbook, dest string) (files int, err error) {
	dest, err = filepath.Abs(dest)
	if err != nil {
		return 0, err
	}
	if entries, err := os.ReadDir(dest); err == nil && len(entries) > 0 {
		return 0, fmt.Errorf("%s is not empty: a release goes into a new folder", dest)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	if inside(dest, w.Root) {
		return 0, fmt.Errorf("%s is inside the workbook: put the release somewhere else", dest)
	}
	names, err := sourceFiles(w.Root)
	if err != nil {
		return 0, err
	}
	for _, rel := range names {
		if left(rel) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(w.Root, rel))
		if errors.Is(err, fs.ErrNotExist) {
			continue // tracked, and deleted since
		}
		if err != nil {
			return files, err
		}
		if rel == "README.md" {
			data = append(bytes.TrimRight(data, "\n"), []byte("\n"+Note)...)
		}
		info, err := os.Stat(filepath.Join(w.Root, rel))
		if err != nil {
			return files, err
		}
		target := filepath.Join(dest, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return files, err
		}
		if err := os.WriteFile(target, data, info.Mode().Perm()); err != nil {
			return files, err
		}
		files++
	}
	return files, nil
}

// sourceFiles lists the workbook's files: those git tracks in a git
// checkout, else every regular file.
func sourceFiles(root string) ([]string, error) {
	if _, err := os.Stat(filepath.Join(root, ".git")); err == nil {
		out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
		if err == nil {
			var names []string
			for _, n := range strings.Split(string(out), "\x00") {
				if n != "" {
					names = append(names, filepath.FromSlash(n))
				}
			}
			return names, nil
		}
	}
	var names []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel != "." && left(rel) {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			names = append(names, rel)
		}
		return nil
	})
	return names, err
}

func left(rel string) bool {
	rel = filepath.ToSlash(rel)
	for _, l := range leftOut {
		if rel == l || strings.HasPrefix(rel, l+"/") {
			return true
		}
	}
	return false
}

func inside(path, root string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
