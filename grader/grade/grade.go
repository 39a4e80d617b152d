// Package grade is what the grader does for a learner: run a lab's parts and
// record the outcome, say where they stand and what to do next, show hints,
// and put a lab back as shipped. The command line and the TUI both sit on it.
package grade

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/progress"
	"github.com/distlings/distlings/grader/run"
)

// Grader works on one workbook.
type Grader struct {
	Workbook *catalog.Workbook
	Catalog  *catalog.Catalog
	Progress *progress.Store
	Now      func() time.Time

	toolOnce sync.Once
	tool     *run.Toolchain
	toolErr  error
}

// Open finds the workbook that holds dir and reads its labs.
func Open(dir string) (*Grader, error) {
	w, err := catalog.FindWorkbook(dir)
	if err != nil {
		return nil, err
	}
	c, err := catalog.Load(w)
	if err != nil {
		return nil, err
	}
	return &Grader{Workbook: w, Catalog: c, Progress: progress.NewStore(w.StateDir()), Now: time.Now}, nil
}

// Toolchain finds the Go toolchain once, when a command first needs it:
// reading status never does.
func (g *Grader) Toolchain(ctx context.Context) (*run.Toolchain, error) {
	g.toolOnce.Do(func() { g.tool, g.toolErr = run.FindToolchain(ctx) })
	return g.tool, g.toolErr
}

// FilesHash identifies the learner's code in a lab: every non-test Go file
// of its folder. Progress stores it to tell when a passed part was changed.
func FilesHash(lab *catalog.Lab) (string, error) {
	matches, err := filepath.Glob(filepath.Join(lab.Dir, "*.go"))
	if err != nil {
		return "", err
	}
	sort.Strings(matches)
	h := sha256.New()
	for _, m := range matches {
		if strings.HasSuffix(m, "_test.go") {
			continue
		}
		data, err := os.ReadFile(m)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(m), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// PartsByNumber picks parts of a lab by number; none means all of them.
func PartsByNumber(lab *catalog.Lab, numbers []int) ([]*catalog.Part, error) {
	if len(numbers) == 0 {
		return lab.Parts, nil
	}
	var parts []*catalog.Part
	for _, n := range numbers {
		p := lab.Part(n)
		if p == nil {
			return nil, fmt.Errorf("lab %s has parts 1 to %d; there is no part %d", lab.ID(), len(lab.Parts), n)
		}
		parts = append(parts, p)
	}
	return parts, nil
}
