package main

import (
	"fmt"
	"time"
)

// setup builds every lab's tests once, so that the first `grader test` of
// each takes seconds: a lab's first build compiles its dependencies
// (etcd, for lab 01), which takes minutes on a small machine.
func (c *cli) setup(args []string) int {
	g, labs, code := c.namedLabs("setup", args)
	if labs == nil {
		return code
	}
	start := time.Now()
	failed := 0
	code = exitOK // a broken lab is bad input; a failure of the grader's own outranks it
	for _, lab := range labs {
		if lab.Err != nil {
			c.errOut.Error(fmt.Errorf("lab %s cannot be used: %w", lab.ID(), lab.Err))
			failed++
			code = max(code, exitUsage)
			continue
		}
		stream := c.out.Stream(lab, false, isTerminal(c.stdout))
		b, err := g.Prepare(c.ctx, lab, stream.Event)
		stream.Close()
		switch {
		case err != nil:
			failed++
			code = max(code, c.stopped(err))
		case c.ctx.Err() != nil:
			fmt.Fprintln(c.stderr, "grader: stopped")
			return exitFail
		case !b.OK:
			// A stub that does not compile is the learner's to fix; the
			// dependencies were still compiled on the way.
			fmt.Fprintf(c.stdout, "lab %s does not compile yet (grader test %02d shows where); its dependencies are ready\n\n", lab.ID(), lab.Number)
		default:
			fmt.Fprintf(c.stdout, "ready\n\n")
		}
	}
	fmt.Fprintf(c.stdout, "setup: %d lab(s) built in %s; grader test LAB now starts in seconds\n", len(labs)-failed, time.Since(start).Round(time.Second))
	return code
}
