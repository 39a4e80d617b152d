// Package grade is what the grader does for a learner: run a lab's parts and
// record the outcome, say where they stand and what to do next, show hints,
// and put a lab back as shipped. The command line and the TUI both sit on it.
package grade

import (
	"context"
	"fmt"
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

// PartsByNumber picks parts of a lab by number; none means all of them.
func PartsByNumber(lab *catalog.Lab, numbers []int) ([]*catalog.Part, error) {
	if len(numbers) == 0 {
		return lab.Parts, nil
	}
	var parts []*catalog.Part
	for _, n := range numbers {
		p := lab.Part(n)
		if p == nil {
			return nil, &NoSuchPartError{Lab: lab, Part: n}
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// NoSuchPartError is a part number the lab does not have: the learner's
// typo, which the command line reports as bad usage.
type NoSuchPartError struct {
	Lab  *catalog.Lab
	Part int
}

func (e *NoSuchPartError) Error() string {
	return fmt.Sprintf("lab %s has parts 1 to %d; there is no part %d", e.Lab.ID(), len(e.Lab.Parts), e.Part)
}
