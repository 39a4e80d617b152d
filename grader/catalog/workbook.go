// Package catalog finds the workbook on disk and reads its labs: the folder
// layout, each lab's manifest (lab.toml), and how a learner names a lab on the
// command line.
package catalog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/modfile"
)

// Workbook is a checkout of the workbook: a Go module with a labs/ folder.
type Workbook struct {
	Root   string // absolute path of the module root
	Module string // module path from go.mod
}

// ErrNoWorkbook is returned by FindWorkbook when no folder above the start
// holds a go.mod next to a labs/ folder.
var ErrNoWorkbook = errors.New("not inside a distlings workbook")

// FindWorkbook walks up from dir to the first folder that has both a go.mod
// and a labs/ folder, so the grader works from any subfolder of the workbook.
func FindWorkbook(dir string) (*Workbook, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	for d := abs; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && isDir(filepath.Join(d, "labs")) {
			module := modfile.ModulePath(data)
			if module == "" {
				return nil, fmt.Errorf("%s: no module line", filepath.Join(d, "go.mod"))
			}
			return &Workbook{Root: d, Module: module}, nil
		}
		if filepath.Dir(d) == d {
			return nil, fmt.Errorf("%w: no folder above %s has a go.mod next to a labs/ folder", ErrNoWorkbook, abs)
		}
	}
}

// LabsDir is where the labs live.
func (w *Workbook) LabsDir() string { return filepath.Join(w.Root, "labs") }

// SolutionsDir is where reference solutions live. A student release has none.
func (w *Workbook) SolutionsDir() string { return filepath.Join(w.Root, "solutions") }

// StateDir holds the grader's own files: progress, backups. It is ignored by git.
func (w *Workbook) StateDir() string { return filepath.Join(w.Root, ".grader") }

// Rel returns path relative to the workbook root, for messages.
func (w *Workbook) Rel(path string) string {
	if rel, err := filepath.Rel(w.Root, path); err == nil {
		return filepath.ToSlash(rel)
	}
	return path
}

// HasSolutions reports whether this copy of the workbook ships solutions.
func (w *Workbook) HasSolutions() bool { return isDir(w.SolutionsDir()) }

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
