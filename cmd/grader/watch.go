package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/grade"
	"github.com/distlings/distlings/grader/watch"
)

const watchHelp = `
Runs the lab's tests once, as grader test does, then again each time you
save one of its Go files or its lab.toml, until you press Ctrl-C. Every run
records your progress. Saves made during a run are not lost: the lab runs
once more when that run ends.

Flags:
  -no-race      do not use the race detector, even if the lab asks for it
  -debounce D   wait this long after a save for more saves before running,
                so a "save all" runs the lab once (default 200ms; e.g. 1s)

Exit status: 0 when stopped with Ctrl-C, 2 for bad usage (an unknown lab,
a broken manifest), 3 when watching could not go on.
`

func (c *cli) watch(args []string) int {
	fs := c.flags("watch")
	noRace := fs.Bool("no-race", false, "do not use the race detector")
	// Long enough to catch an editor's "save all" or a formatter rewriting
	// the file just saved, short enough to feel immediate.
	debounce := fs.Duration("debounce", 200*time.Millisecond, "wait this long after a save for more saves")
	pos, err := parse(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(pos) == 0 {
		return c.usageError("watch", "name a lab, e.g. grader watch 01")
	}
	if *debounce < 0 {
		return c.usageError("watch", "-debounce cannot be negative")
	}
	g, lab, code := c.openLab(pos[0])
	if lab == nil {
		return code
	}
	parts, err := partNumbers(pos[1:])
	if err != nil {
		return c.usageError("watch", "%v", err)
	}
	// Caught now rather than on every run, so a typo does not leave the
	// learner watching an error.
	if _, err := grade.PartsByNumber(lab, parts); err != nil {
		return c.stopped(err)
	}

	// Watching starts before the first run so that a save made while it
	// runs is not missed.
	w, err := watch.New(lab.Dir, *debounce, watch.LabFiles)
	if err != nil {
		return c.stopped(err)
	}
	defer w.Close()

	opts := grade.TestOptions{Parts: parts, NoRace: *noRace}
	c.runTests(g, lab, opts, false)
	errs := w.Errors()
	for {
		if c.ctx.Err() != nil {
			return exitOK
		}
		fmt.Fprintf(c.stdout, "\nwatching %s for saves (Ctrl-C to stop)\n", lab.RelDir)
		// One run at a time, in this goroutine: saves made during a run
		// wait in the watcher as a single batch, so they cause one more
		// run after it, not one run each.
		select {
		case <-c.ctx.Done():
			return exitOK
		case err, ok := <-errs:
			if !ok {
				errs = nil // closed with Changes, which says so below
				continue
			}
			c.errOut.Error(err)
		case files, ok := <-w.Changes():
			if !ok {
				c.errOut.Error(fmt.Errorf("stopped watching %s", lab.RelDir))
				return exitGrader
			}
			fmt.Fprintf(c.stdout, "\nchanged: %s\n\n", strings.Join(files, ", "))
			if slices.Contains(files, catalog.ManifestFile) {
				// The parts, their tests or the stubs may have changed.
				g2, lab2, _ := c.openLab(pos[0])
				if lab2 == nil {
					continue // openLab said why; the next save may fix it
				}
				g, lab = g2, lab2
			}
			c.runTests(g, lab, opts, false)
		}
	}
}
