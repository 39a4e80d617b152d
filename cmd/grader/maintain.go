package main

import (
	"fmt"
	"time"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/grade"
	"github.com/distlings/distlings/grader/shipped"
	"github.com/distlings/distlings/grader/verify"
)

// labsOrAll resolves lab names, or every lab when none is named.
func (c *cli) labsOrAll(g *grade.Grader, names []string) ([]*catalog.Lab, int) {
	if len(names) == 0 {
		return g.Catalog.Labs, exitOK
	}
	var labs []*catalog.Lab
	for _, n := range names {
		lab, err := g.Catalog.Find(n, c.cwd)
		if err != nil {
			return nil, c.stopped(err)
		}
		labs = append(labs, lab)
	}
	return labs, exitOK
}

func (c *cli) verify(args []string) int {
	fs := c.flags("verify")
	noRace := fs.Bool("no-race", false, "do not use the race detector")
	jobs := fs.Int("j", 2, "builds and runs at once")
	pos, err := parse(fs, args)
	if err != nil {
		return exitUsage
	}
	g, code := c.open()
	if g == nil {
		return code
	}
	if !g.Workbook.HasSolutions() {
		c.errOut.Error(fmt.Errorf("this copy of the workbook has no solutions/ folder (a student release), so there is nothing to verify against"))
		return exitUsage
	}
	labs, code := c.labsOrAll(g, pos)
	if labs == nil {
		return code
	}
	tool, err := g.Toolchain(c.ctx)
	if err != nil {
		return c.stopped(err)
	}
	race := !*noRace
	if race && !tool.CanRace {
		c.out.Notices([]string{"the race detector needs cgo and a C compiler (gcc or clang); verifying without it"})
		race = false
	}
	v := &verify.Verifier{Workbook: g.Workbook, Tool: tool, Options: verify.Options{Race: race, Parallel: *jobs, Done: c.out.Check}}
	start := time.Now()
	failed := 0
	for _, lab := range labs {
		fmt.Fprintf(c.stdout, "lab %s\n", lab.ID())
		for _, check := range v.Lab(c.ctx, lab) {
			if !check.OK {
				failed++
			}
		}
	}
	mode := "with the race detector (wrong solutions without it)"
	if !race {
		mode = "without the race detector"
	}
	if failed > 0 {
		fmt.Fprintf(c.stdout, "\nverify: %d check(s) failed in %d lab(s), %s (%s)\n", failed, len(labs), mode, time.Since(start).Round(time.Second))
		return exitFail
	}
	fmt.Fprintf(c.stdout, "\nverify: every check passed for %d lab(s), %s (%s)\n", len(labs), mode, time.Since(start).Round(time.Second))
	return exitOK
}

// namedLabs reads a command's arguments as lab names (every lab when
// none), for the commands that take nothing else.
func (c *cli) namedLabs(command string, args []string) (*grade.Grader, []*catalog.Lab, int) {
	pos, err := parse(c.flags(command), args)
	if err != nil {
		return nil, nil, exitUsage
	}
	g, code := c.open()
	if g == nil {
		return nil, nil, code
	}
	labs, code := c.labsOrAll(g, pos)
	return g, labs, code
}

func (c *cli) ship(args []string) int {
	g, labs, code := c.namedLabs("ship", args)
	if labs == nil {
		return code
	}
	for _, lab := range labs {
		if lab.Err != nil {
			c.errOut.Error(fmt.Errorf("lab %s: %w", lab.ID(), lab.Err))
			return exitUsage
		}
		if err := shipped.Write(g.Workbook, lab); err != nil {
			return c.stopped(fmt.Errorf("lab %s: %w", lab.ID(), err))
		}
		fmt.Fprintf(c.stdout, "wrote %s\n", g.Workbook.Rel(shipped.Path(g.Workbook, lab)))
	}
	if err := shipped.WriteModule(g.Workbook); err != nil {
		return c.stopped(err)
	}
	fmt.Fprintf(c.stdout, "wrote %s\n", g.Workbook.Rel(shipped.ModulePath(g.Workbook)))
	return exitOK
}
