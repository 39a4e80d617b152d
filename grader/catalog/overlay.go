package catalog

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// SolutionOverlay is go build's -overlay file that puts each file of
// solutions/LAB in place of labs/LAB's file of the same name, so that a
// command can be built on the reference solution without touching the
// learner's files. The go command wants absolute paths, from anywhere.
func SolutionOverlay(root, labDir string) ([]byte, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	solDir := filepath.Join(root, "solutions", labDir)
	if _, err := os.Stat(solDir); err != nil {
		return nil, fmt.Errorf("this copy of the workbook has no reference solution (no %s)", filepath.Join("solutions", labDir))
	}
	files, err := filepath.Glob(filepath.Join(solDir, "*.go"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s has no .go files", filepath.Join("solutions", labDir))
	}
	replace := map[string]string{}
	for _, f := range files {
		replace[filepath.Join(root, "labs", labDir, filepath.Base(f))] = f
	}
	return json.MarshalIndent(struct{ Replace map[string]string }{replace}, "", "\t")
}
